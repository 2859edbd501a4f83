"""The notebook kit: what every notebook's first cell and its display calls use.

``ctx = nb.open_shop(shop_dir, out_dir, as_of, lang)`` loads the shop, applies the chart
style and returns a :class:`Context` whose methods show computed results in the report
language. Nothing here computes an analysis.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.core import metrics
from helpers.load import artifacts
from helpers.load.shop import Shop, load_shop
from helpers.present import charts, narrative

__all__ = ["Context", "ShopNotLoaded", "open_shop"]


@dataclass
class Context:
    shop: Shop
    out_dir: Path
    lang: str
    page: str | None = None  # the notebook's name: where its stated facts are recorded
    own_labels: tuple[str, frozenset] = ("", frozenset())  # (prefix, columns): see columns()

    @property
    def cur(self) -> str:
        return self.shop.config.currency

    def _key(self, key: str) -> str:
        """``key@west`` for a shop outside the CN market when the catalogue has it: Western
        retail terms (BFCM, peak season) instead of the Chinese platforms' vocabulary."""
        if f"{key}@west" not in narrative.catalogue():
            return key
        calendar = getattr(self.shop.config, "calendar", None)  # None: a CN shop
        return f"{key}@west" if calendar is not None and not calendar.is_cn else key

    def say(self, key: str, **values) -> None:
        """Show a catalogue message (Markdown) filled with computed values."""
        narrative.show(narrative.say(self._key(key), self.lang, **values))

    def text(self, key: str, **values) -> str:
        return narrative.say(self._key(key), self.lang, **values)

    def label(self, key: str) -> str:
        return narrative.label(self._key(key), self.lang)

    def money(self, x) -> str:
        return narrative.money(x, self.cur, self.lang)

    def md(self, text) -> str:
        """Shop or config text (a title, a name) made safe inside Markdown and HTML."""
        return narrative.esc(str(text).replace("'", "’"))

    @staticmethod
    def short(text, n: int = 14) -> str:
        """A title cut to ``n`` characters for chart labels."""
        text = str(text)
        return text if len(text) <= n else text[: n - 1] + "…"

    def lab(self, key, prefix: str = "") -> str:
        """A value's label: ``prefix + key`` when the catalogue has it, else ``key``'s own;
        ``–`` for a missing value."""
        if key is None or key != key:
            return "–"
        full = prefix + str(key)
        return self.label(full) if full in narrative.catalogue() else self.label(str(key))

    def labels(self, values: pd.Series, prefix: str = "") -> pd.Series:
        """Codes (a stage, a status, a segment …) as labels in the report language."""
        return values.map(lambda v: "–" if v is None or v != v else self.lab(v, prefix))

    def row_name(self, row, prefix: str = "", titled: bool = False) -> str:
        """A drill-down row's name (escaped): its product title when ``titled`` and it has
        one, else its key's label."""
        title = row.get("title") if titled else None
        return narrative.esc(title if isinstance(title, str) else self.lab(row["key"], prefix))

    def columns(self, df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        """The columns to show, renamed to the page's own label keys (``prefix + column``)
        for the columns the page declared in ``own_labels = (prefix, columns)``."""
        prefix, own = self.own_labels
        return df[cols].rename(columns={c: f"{prefix}{c}" for c in cols if c in own})

    def event_labels(self, names: pd.Series, holiday: pd.Series, phases: pd.Series) -> pd.Series:
        """Calendar events as the pages name them: ``name（节假日）`` for a public holiday,
        else ``name · phase`` (``phases``: catalogue keys of the phase)."""
        left, right = ("（", "）") if self.lang == "zh" else (" (", ")")
        hol = self.label("tg_holiday")
        out = [
            f"{n}{left}{hol}{right}" if h else f"{n} · {self.label(ph)}"
            for n, h, ph in zip(names.astype(str), holiday.to_numpy(dtype=bool), phases)
        ]
        return pd.Series(out, index=names.index)

    @staticmethod
    def change(x) -> str:
        """A relative change as a signed percentage (``+12%``); ``–`` when unknown."""
        return "–" if x is None or x != x else f"{x:+.0%}"

    def value(self, metric: str, period, segment: str = "all") -> metrics.Value:
        """A metric of the metric layer (:mod:`helpers.core.metrics`) for this shop, not recorded:
        for choosing which sentence to show; state the figure with :meth:`fact`."""
        return metrics.compute_for_shop(metric, self.shop, period, segment)

    def fact(self, metric: str, period, segment: str = "all", digits: int | None = None) -> str:
        """State a metric of the metric layer in the text: the formatted figure (or "not
        known — …"), recorded in ``artifacts/facts.json`` under this page."""
        v = self.value(metric, period, segment)
        record = {**v.fact(), "page": self.page or "", **_dates(v, self.shop)}
        artifacts.add_fact(self.out_dir, record)
        return self.format_value(v, digits)

    def period_text(self, period) -> str:
        """The days a period of the metric layer covers, ``2025-01-01 – 2025-12-31``."""
        w = metrics.window(
            period, as_of=self.shop.as_of, start_month=self.shop.config.fiscal_year_start_month
        )
        return f"{w.start.date()} – {(w.end - pd.Timedelta(days=1)).date()}"

    def values_table(self, periods, ids=None) -> pd.DataFrame:
        """Metrics (rows; all of the layer's, or ``ids``) by period (columns), formatted, not
        known ones saying why: for a table, not recorded as facts."""
        ids = list(ids or metrics.METRICS)
        rows = []
        for i in ids:
            row = {"metric_name": metrics.METRICS[i].name(self.lang)}
            for p in periods:
                row[str(p)] = self.format_value(self.value(i, p), short=True)
            rows.append(row)
        return pd.DataFrame(rows)

    def format_value(self, v: metrics.Value, digits: int | None = None, short=False) -> str:
        """A :class:`helpers.core.metrics.Value` in the report language (``short``: a not-known
        value as one word, for table cells)."""
        if not v.known:
            if short:
                return self.text("fact_unknown_short")
            if v.reason == "lookback":
                return self.text(
                    "fact_unknown_lookback",
                    start=v.data_start.date(),
                    needed=v.needed_from.date(),
                )
            return self.text(f"fact_unknown_{v.reason}")
        unit = metrics.METRICS[v.metric].unit
        if unit == "money":
            if abs(v.value) < 100 and v.value:  # UV value and the like: cents matter
                return self.money(0)[:-1] + f"{v.value:.2f}"
            return self.money(v.value)
        if unit == "ratio":
            return narrative.pct(v.value, 1 if digits is None else digits)
        if unit == "ratio_plain":
            return narrative.num(v.value, 2 if digits is None else digits)
        return narrative.num(v.value, digits or 0)

    def missing(self, table: str, what: str) -> bool:
        """True (and one line shown) when ``table`` is absent: the section is skipped.

        ``customer_id`` / ``product_id``: the orders carry no buyer id / no product column.
        """
        if table == "customer_id":
            if self.shop.has_customers:
                return False
            narrative.show(narrative.say("needs_buyer_id", self.lang, what=what))
            return True
        if table == "product_id":  # orders without a product column: the placeholder product
            if self.shop.has_products:
                return False
            narrative.show(narrative.say("needs_product_id", self.lang, what=what))
            return True
        if self.shop.has(table):
            return False
        narrative.show(narrative.say("not_available", self.lang, table=table, what=what))
        return True

    def table(
        self,
        df: pd.DataFrame,
        money: list[str] = (),
        pct: list[str] = (),
        ints: list[str] = (),
        dec: dict[str, int] | None = None,
        values: list[str] = (),
        rows: int = 20,
        index: bool = False,
    ) -> None:
        """Display a computed table with formatted numbers and translated column names."""
        from IPython.display import HTML, display

        out = df.head(rows).copy()
        for c in money:
            out[c] = out[c].map(self.money)
        for c in pct:
            out[c] = out[c].map(narrative.pct)
        for c in ints:
            out[c] = out[c].map(narrative.num)
        for c in values:  # canonical codes (status, role, channel …) in the report language
            out[c] = out[c].map(
                lambda v: (
                    narrative.label(self._key(_value_key(v)), self.lang) if pd.notna(v) else None
                )
            )
        for c, d in (dec or {}).items():
            out[c] = out[c].map(lambda v, d=d: narrative.num(v, d))
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = out[c].dt.strftime("%Y-%m-%d")
        out = out.astype(object).where(out.notna(), "–")  # None/NaN/NaT read "–"
        out = out.rename(columns=lambda c: narrative.label(self._key(str(c)), self.lang))
        if index:
            out.index = out.index.map(lambda v: narrative.label(self._key(str(v)), self.lang))
        display(HTML(out.to_html(index=index, escape=True, na_rep="–", border=0)))

    def save(self, name: str, obj, sheet: str | None = None) -> None:
        """Hand a result to later notebooks and the Excel report."""
        artifacts.save(self.out_dir, name, obj, sheet=sheet and self.label(sheet))

    def load(self, name: str):
        """An earlier notebook's saved table or dict (None when absent). In a run that
        started this notebook before those it loads from had ended, waits until the one
        saving ``name`` has saved it for good (:func:`helpers.load.artifacts.wait_for`)."""
        artifacts.wait_for(self.out_dir, self.page, name)
        return artifacts.load(self.out_dir, name)


class ShopNotLoaded(Exception):
    """The shop could not be loaded: the notebook stops after its one-line message.

    IPython shows an exception's ``_render_traceback_()`` instead of its traceback, so the
    cell's output is the loader's one line and nothing else (no ``SystemExit``, no
    traceback, no "To exit" warning); Run All and papermill stop there, and the runner
    reports the line alone (:func:`helpers.run.runner._failure`).
    """

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def _dates(v: metrics.Value, shop: Shop) -> dict:
    """The days a fact covers (``from``, ``to`` inclusive), so that two period names for
    the same days (2025 and FY2025 with a January fiscal start) are compared too."""
    w = metrics.window(
        v.period,
        as_of=shop.as_of,
        start_month=shop.config.fiscal_year_start_month,
        data_start=v.data_start,
    )
    last = w.end - pd.Timedelta(days=1)
    return {"from": str(w.start.date()), "to": str(last.date())}


def _value_key(v) -> str:
    return "paid_status" if v == "paid" else str(v)


def open_shop(
    shop_dir: str, out_dir: str, as_of: str | None, lang: str, page: str | None = None
) -> Context:
    """Load the shop (a bad input shows one line and stops the notebook: :class:`ShopNotLoaded`),
    style the charts.

    ``page`` (the notebook's name) is where :meth:`Context.fact` records the figures the
    page states; the page's earlier records are cleared, so a re-run does not add twice."""
    from helpers.core.errors import LoadError

    warnings.filterwarnings("ignore", category=FutureWarning)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    charts.use_style(lang)
    try:
        shop = load_shop(shop_dir, as_of=as_of or None)
    except LoadError as e:
        raise ShopNotLoaded(str(e)) from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if page:
        artifacts.clear_facts(out, page)
    return Context(shop, out, lang, page)
