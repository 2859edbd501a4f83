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

from . import artifacts, charts, narrative
from .data import Shop, load_shop


@dataclass
class Context:
    shop: Shop
    out_dir: Path
    lang: str

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


class ShopNotLoaded(Exception):
    """The shop could not be loaded: the notebook stops after its one-line message.

    IPython shows an exception's ``_render_traceback_()`` instead of its traceback, so the
    cell's output is the loader's one line and nothing else (no ``SystemExit``, no
    traceback, no "To exit" warning); Run All and papermill stop there, and the runner
    reports the line alone (:func:`helpers.runner._failure`).
    """

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def _value_key(v) -> str:
    return "paid_status" if v == "paid" else str(v)


def open_shop(shop_dir: str, out_dir: str, as_of: str | None, lang: str) -> Context:
    """Load the shop (a bad input shows one line and stops the notebook: :class:`ShopNotLoaded`),
    style the charts."""
    from .errors import LoadError

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
    return Context(shop, out, lang)
