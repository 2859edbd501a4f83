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

from . import artifacts, charts, measures, narrative
from .data import Shop, load_shop


@dataclass
class Context:
    shop: Shop
    out_dir: Path
    lang: str
    page: str | None = None  # the notebook's name: where its stated facts are recorded

    @property
    def cur(self) -> str:
        return self.shop.config.currency

    def say(self, key: str, **values) -> None:
        """Show a catalogue message (Markdown) filled with computed values."""
        narrative.show(narrative.say(key, self.lang, **values))

    def text(self, key: str, **values) -> str:
        return narrative.say(key, self.lang, **values)

    def label(self, key: str) -> str:
        return narrative.label(key, self.lang)

    def money(self, x) -> str:
        return narrative.money(x, self.cur, self.lang)

    def value(self, metric: str, period, segment: str = "all") -> measures.Value:
        """A metric of the metric layer (:mod:`helpers.measures`) for this shop, not recorded:
        for choosing which sentence to show; state the figure with :meth:`fact`."""
        return measures.compute_for_shop(metric, self.shop, period, segment)

    def fact(self, metric: str, period, segment: str = "all", digits: int | None = None) -> str:
        """State a metric of the metric layer in the text: the formatted figure (or "not
        known — …"), recorded in ``artifacts/facts.json`` under this page."""
        v = self.value(metric, period, segment)
        record = {**v.fact(), "page": self.page or "", **_dates(v, self.shop)}
        artifacts.add_fact(self.out_dir, record)
        return self.format_value(v, digits)

    def values_table(self, periods, ids=None) -> pd.DataFrame:
        """Metrics (rows; all of the layer's, or ``ids``) by period (columns), formatted, not
        known ones saying why: for a table, not recorded as facts."""
        ids = list(ids or measures.METRICS)
        rows = []
        for i in ids:
            row = {"metric_name": measures.METRICS[i].name(self.lang)}
            for p in periods:
                row[str(p)] = self.format_value(self.value(i, p), short=True)
            rows.append(row)
        return pd.DataFrame(rows)

    def format_value(self, v: measures.Value, digits: int | None = None, short=False) -> str:
        """A :class:`helpers.measures.Value` in the report language (``short``: a not-known
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
        unit = measures.METRICS[v.metric].unit
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
        """True (and one line shown) when ``table`` is absent: the section is skipped."""
        if table == "customer_id":
            if self.shop.has_customers:
                return False
            narrative.show(narrative.say("needs_buyer_id", self.lang, what=what))
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
                lambda v: narrative.label(_value_key(v), self.lang) if pd.notna(v) else None
            )
        for c, d in (dec or {}).items():
            out[c] = out[c].map(lambda v, d=d: narrative.num(v, d))
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = out[c].dt.strftime("%Y-%m-%d")
        out = out.rename(columns=lambda c: narrative.label(str(c), self.lang))
        if index:
            out.index = out.index.map(lambda v: narrative.label(str(v), self.lang))
        display(HTML(out.to_html(index=index, escape=True, na_rep="–", border=0)))

    def save(self, name: str, obj, sheet: str | None = None) -> None:
        """Hand a result to later notebooks and the Excel report."""
        artifacts.save(self.out_dir, name, obj, sheet=sheet and self.label(sheet))

    def load(self, name: str):
        return artifacts.load(self.out_dir, name)


def _dates(v: measures.Value, shop: Shop) -> dict:
    """The days a fact covers (``from``, ``to`` inclusive), so that two period names for
    the same days (2025 and FY2025 with a January fiscal start) are compared too."""
    w = measures.window(
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
    """Load the shop (a bad input shows one line and stops the notebook), style the charts.

    ``page`` (the notebook's name) is where :meth:`Context.fact` records the figures the
    page states; the page's earlier records are cleared, so a re-run does not add twice."""
    from .errors import LoadError

    warnings.filterwarnings("ignore", category=FutureWarning)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    charts.use_style(lang)
    try:
        shop = load_shop(shop_dir, as_of=as_of or None)
    except LoadError as e:
        narrative.show(f"**{narrative.esc(e)}**")
        raise SystemExit(2) from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if page:
        artifacts.clear_facts(out, page)
    return Context(shop, out, lang, page)
