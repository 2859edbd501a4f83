"""The metric layer: every figure a page states is defined here, once.

A metric has an id, a name and a one-line definition in zh and en (in the message catalogue,
keys ``metric_<id>`` and ``metric_<id>_def``), a unit and a function computing it for a
period (a :class:`Window`: calendar year, fiscal year, month, the last 12 months ending at
``as_of``, or the whole history) and a segment (``all``, ``new``, ``returning``).

Definitions (all over :func:`helpers.core.codes.sales_lines`, the purchase lines):

* **net sales** = sum of ``net`` (paid − refunded; return / credit-note lines carry a negative
  ``net`` and so reduce it);
* a **live line** is a purchase line that is not a return (``is_return`` False; a table
  without that column has none) and is not fully refunded (status ``refunded``);
* **orders** = distinct orders with a live line (paid, not fully refunded); **buyers** =
  distinct customers with a live line; **units** = quantity on live lines;
* a buyer is **new** in a period when their first live line ever (in the data) falls in it,
  **returning** when it falls before. That is only known when the data covers a look-back
  (default 12 months) before the period starts; otherwise the value says "not known — data
  starts on …" (:class:`Value` with ``known`` False) instead of calling everyone new.

Analyses stay pure: DataFrames and plain values in, :class:`Value` out; words come from the
catalogue through :func:`Metric.name` / :func:`Metric.definition` / :func:`glossary`.

Above 600 lines: the metric layer is one table of definitions by design (one module, one place to read every definition).
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.core import codes

__all__ = [
    "LOOKBACK_MONTHS",
    "SEGMENTS",
    "Window",
    "year",
    "fiscal_year",
    "month",
    "last_12m",
    "to_date",
    "last_full_year",
    "year_periods",
    "window",
    "Value",
    "Lines",
    "lines",
    "Metric",
    "METRICS",
    "ALIASES",
    "shop_visitors",
    "compute",
    "compute_for_shop",
    "data_start",
    "split_from",
    "censor_split",
    "canonical",
    "clashes",
    "glossary_table",
    "glossary",
]

LOOKBACK_MONTHS = 12
SEGMENTS = ("all", "new", "returning")


# --- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Days ``start`` (midnight, included) to ``end`` (midnight, excluded), named by ``key``."""

    start: pd.Timestamp
    end: pd.Timestamp
    key: str

    def __post_init__(self):
        if not self.end > self.start:
            raise ValueError(f"empty window {self.key}: {self.start} to {self.end}")


def year(y: int) -> Window:
    """Calendar year ``y`` (key ``"2025"``)."""
    return Window(pd.Timestamp(int(y), 1, 1), pd.Timestamp(int(y) + 1, 1, 1), str(int(y)))


def fiscal_year(fy: int, start_month: int) -> Window:
    """Fiscal year ``fy`` (named by the calendar year it starts in; key ``"FY2025"``)."""
    from helpers.core.calendar import fiscal_year_bounds

    first, last = fiscal_year_bounds(int(fy), start_month)
    return Window(first, last + pd.Timedelta(days=1), f"FY{int(fy)}")


def month(m) -> Window:
    """Calendar month of ``m`` (a date or ``"2025-11"``; key ``"2025-11"``)."""
    start = pd.Timestamp(m).to_period("M").to_timestamp()
    return Window(start, start + pd.DateOffset(months=1), start.strftime("%Y-%m"))


def last_12m(as_of) -> Window:
    """The 12 months ending at ``as_of`` (included; key ``"last_12m"``)."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    return Window(end - pd.DateOffset(months=12), end, "last_12m")


def to_date(data_start, as_of) -> Window:
    """All the history up to ``as_of`` (key ``"to_date"``)."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    return Window(pd.Timestamp(data_start).normalize(), end, "to_date")


def last_full_year(as_of) -> int:
    """The last calendar year that has ended by ``as_of`` (``as_of``'s own year when it is
    31 December)."""
    t = pd.Timestamp(as_of)
    return t.year if (t.month, t.day) == (12, 31) else t.year - 1


def year_periods(orders: pd.DataFrame, as_of) -> list[str]:
    """The calendar years the data touches up to ``as_of``, then ``last_12m``."""
    start = data_start(orders)
    last = pd.Timestamp(as_of).year
    first = last if start is None else min(start.year, last)
    return [str(y) for y in range(first, last + 1)] + ["last_12m"]


_KEY = re.compile(r"^(?:(\d{4})|FY(\d{4})|(\d{4}-\d{2})|last_12m|to_date)$")


def window(key, as_of=None, start_month: int = 1, data_start=None) -> Window:
    """The window named ``key`` (``"2025"``, ``"FY2026"``, ``"2025-11"``, ``"last_12m"``,
    ``"to_date"``); a :class:`Window` or an int year is taken as is."""
    if isinstance(key, Window):
        return key
    if isinstance(key, int | np.integer):
        return year(int(key))
    m = _KEY.match(str(key))
    if not m:
        raise ValueError(f"unknown period {key!r}: use 2025, FY2025, 2025-11, last_12m, to_date")
    if m.group(1):
        return year(int(m.group(1)))
    if m.group(2):
        return fiscal_year(int(m.group(2)), start_month)
    if m.group(3):
        return month(m.group(3))
    if as_of is None:
        raise ValueError(f"period {key} needs as_of")
    if key == "last_12m":
        return last_12m(as_of)
    if data_start is None:
        raise ValueError("period to_date needs the data's first day")
    return to_date(data_start, as_of)


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A metric's value for a period and segment, or why it is not known.

    ``reason`` when not known: ``"lookback"`` (the data starts on ``data_start``, less than
    the look-back before the period), ``"no_customers"`` (no buyer ids), ``"no_traffic"``
    (no shop-level traffic rows), ``"empty"`` (a ratio over nothing: no sales in the period).
    """

    metric: str
    period: str
    segment: str
    value: float | None
    known: bool = True
    reason: str | None = None
    data_start: pd.Timestamp | None = None
    needed_from: pd.Timestamp | None = None

    def __float__(self) -> float:
        return float("nan") if self.value is None else float(self.value)

    def fact(self) -> dict:
        """The record :mod:`facts` keeps (a rounded value, or None when not known)."""
        v = None if not self.known or self.value is None else _round(self.value)
        return {"metric": self.metric, "period": self.period, "segment": self.segment, "value": v}


def _round(v: float) -> float:
    v = float(v)
    return v if math.isnan(v) else round(v, 6) if abs(v) < 10 else round(v, 2)


# --- the lines, once per orders frame ---------------------------------------------------------


@dataclass
class Lines:
    """Per sales line: day (int ns), net, paid, quantity, live flag, order and customer codes;
    per customer code: the day of their first live line (int ns; max int when none)."""

    day: np.ndarray
    net: np.ndarray
    paid: np.ndarray
    qty: np.ndarray
    live: np.ndarray
    is_return: np.ndarray
    order: np.ndarray
    cust: np.ndarray
    first: np.ndarray
    data_start: pd.Timestamp | None
    has_customers: bool
    extra: dict = field(default_factory=dict)


_LINES: dict[int, tuple] = {}
_NEVER = np.iinfo(np.int64).max


def lines(orders: pd.DataFrame) -> Lines:
    """The arrays every metric reads, computed once per orders frame (remembered while the
    frame lives)."""
    key = id(orders)
    hit = _LINES.get(key)
    if hit is not None and hit[0]() is orders and hit[1] == len(orders):
        return hit[2]
    s = codes.sales_lines(orders)
    n = len(s)
    day = s["day"].to_numpy().astype("datetime64[ns]").view(np.int64)
    ret = (
        s["is_return"].fillna(False).to_numpy(dtype=bool)
        if "is_return" in s.columns
        else np.zeros(n, bool)
    )
    live = ~ret & (s["status"].to_numpy() != "refunded")
    order = np.asarray(codes.line_codes(s, "order_id")[0])
    has_c = "customer_id" in s.columns and n > 0 and codes.any_filled(s["customer_id"])
    cust = np.asarray(codes.line_codes(s)[0]) if has_c else np.full(n, -1, np.intp)
    ncust = int(cust.max(initial=-1)) + 1
    first = np.full(ncust, _NEVER, np.int64)
    ok = live & (cust >= 0)
    np.minimum.at(first, cust[ok], day[ok])
    t = orders["order_time"] if "order_time" in orders.columns and len(orders) else None
    start = t.min().normalize() if t is not None and t.notna().any() else None
    out = Lines(
        day=day,
        net=s["net"].to_numpy(dtype=float),
        paid=s["paid_amount"].to_numpy(dtype=float),
        qty=(
            pd.to_numeric(s["quantity"], errors="coerce").fillna(0).to_numpy(dtype=float)
            if "quantity" in s.columns
            else np.zeros(n)
        ),
        live=live,
        is_return=ret,
        order=order,
        cust=cust,
        first=first,
        data_start=start,
        has_customers=bool(has_c),
    )
    try:
        ref = weakref.ref(orders, lambda _, k=key: _LINES.pop(k, None))
    except TypeError:
        return out
    _LINES[key] = (ref, len(orders), out)
    return out


def _ns(ts: pd.Timestamp) -> int:
    return int(pd.Timestamp(ts).to_datetime64().astype("datetime64[ns]").view(np.int64))


def _distinct(codes: np.ndarray) -> int:
    """Distinct non-negative codes (a bincount: np.unique sorts, ~100x slower at 10M)."""
    codes = codes[codes >= 0]
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


# --- the metrics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One metric: id, unit (``money``, ``count`` or ``ratio``), what it needs (``customers``
    when it splits buyers; ``traffic``), whether it takes the new/returning segments, and the
    function of (lines, window mask, segment mask, context) computing it."""

    id: str
    unit: str
    compute: Callable
    needs: tuple[str, ...] = ()
    segmented: bool = True
    split: bool = False  # always needs the new/returning split (known only with a look-back)

    def name(self, lang: str = "zh") -> str:
        from helpers.core.catalogue import label

        return label(f"metric_{self.id}", lang)

    def definition(self, lang: str = "zh") -> str:
        from helpers.core.catalogue import label

        return label(f"metric_{self.id}_def", lang)


def _net(L, w, seg, ctx):
    return float(L.net[w & seg].sum())


def _gross(L, w, seg, ctx):
    return float(L.paid[w & seg & ~L.is_return].sum())


def _refunds(L, w, seg, ctx):
    return _gross(L, w, seg, ctx) - _net(L, w, seg, ctx)


def _refund_rate(L, w, seg, ctx):
    g = _gross(L, w, seg, ctx)
    return None if not g else (g - _net(L, w, seg, ctx)) / g


def _returns(L, w, seg, ctx):
    """Money of the return lines (credit notes) in the window, as a positive amount."""
    return 0.0 - float(L.net[w & seg & L.is_return].sum())  # 0.0, never -0.0


def _return_rate(L, w, seg, ctx):
    g = _gross(L, w, seg, ctx)
    return None if not g else _returns(L, w, seg, ctx) / g


def _orders(L, w, seg, ctx):
    return _distinct(L.order[w & seg & L.live])


def _buyers(L, w, seg, ctx):
    return _distinct(L.cust[w & seg & L.live])


def _units(L, w, seg, ctx):
    return float(L.qty[w & seg & L.live].sum())


def _per_buyer(L, w, seg, ctx):
    b = _buyers(L, w, seg, ctx)
    return None if not b else _net(L, w, seg, ctx) / b


def _per_order(L, w, seg, ctx):
    o = _orders(L, w, seg, ctx)
    return None if not o else _net(L, w, seg, ctx) / o


def _units_per_order(L, w, seg, ctx):
    o = _orders(L, w, seg, ctx)
    return None if not o else _units(L, w, seg, ctx) / o


def _repurchase(L, w, seg, ctx):
    m = w & seg & L.live & (L.cust >= 0) & (L.order >= 0)
    if not m.any():
        return None
    o, c = L.order[m], L.cust[m]
    cust_of = np.full(int(o.max()) + 1, -1, np.int64)
    cust_of[o] = c  # an order has one buyer
    per = np.bincount(cust_of[cust_of >= 0])  # orders per buyer
    per = per[per > 0]
    return float((per >= 2).sum() / len(per))


def _new(L, w, seg, ctx):
    return _buyers(L, w, seg & ctx["new"], ctx)


def _returning(L, w, seg, ctx):
    return _buyers(L, w, seg & ctx["returning"], ctx)


def _returning_share(L, w, seg, ctx):
    n, r = _new(L, w, seg, ctx), _returning(L, w, seg, ctx)
    return None if not n + r else r / (n + r)


def _new_share(L, w, seg, ctx):
    r = _returning_share(L, w, seg, ctx)
    return None if r is None else 1.0 - r


def _returning_sales_share(L, w, seg, ctx):
    n, r = _net(L, w, seg & ctx["new"], ctx), _net(L, w, seg & ctx["returning"], ctx)
    return None if not n + r else r / (n + r)


def _new_sales_share(L, w, seg, ctx):
    r = _returning_sales_share(L, w, seg, ctx)
    return None if r is None else 1.0 - r


def _visitors(L, w, seg, ctx):
    return ctx["visitors"]


def _conversion(L, w, seg, ctx):
    v = ctx["visitors"]
    return None if not v else _buyers(L, w, seg, ctx) / v


def _uv_value(L, w, seg, ctx):
    v = ctx["visitors"]
    return None if not v else _net(L, w, seg, ctx) / v


_C, _T = ("customers",), ("traffic",)
METRICS: dict[str, Metric] = {
    m.id: m
    for m in (
        Metric("net_sales", "money", _net),
        Metric("gross_sales", "money", _gross),
        Metric("refunds", "money", _refunds),
        Metric("refund_rate", "ratio", _refund_rate),
        Metric("returns", "money", _returns),
        Metric("return_rate", "ratio", _return_rate),
        Metric("orders", "count", _orders),
        Metric("units", "count", _units),
        Metric("aov", "money", _per_order),
        Metric("units_per_order", "ratio_plain", _units_per_order),
        Metric("buyers", "count", _buyers, _C),
        Metric("revenue_per_buyer", "money", _per_buyer, _C),
        Metric("repurchase_rate", "ratio", _repurchase, _C),
        Metric("new_buyers", "count", _new, _C, segmented=False, split=True),
        Metric("returning_buyers", "count", _returning, _C, segmented=False, split=True),
        Metric("returning_buyer_share", "ratio", _returning_share, _C, False, True),
        Metric("new_buyer_share", "ratio", _new_share, _C, False, True),
        Metric("returning_sales_share", "ratio", _returning_sales_share, _C, False, True),
        Metric("new_sales_share", "ratio", _new_sales_share, _C, False, True),
        Metric("visitors", "count", _visitors, _T, segmented=False),
        Metric("conversion_rate", "ratio", _conversion, _C + _T, segmented=False),
        Metric("uv_value", "money", _uv_value, _T, segmented=False),
    )
}
# the same quantity under two names: facts compare them as one
ALIASES = {
    ("buyers", "new"): ("new_buyers", "all"),
    ("buyers", "returning"): ("returning_buyers", "all"),
}


def shop_visitors(traffic: pd.DataFrame | None, win: Window) -> float | None:
    """Visitors of the whole shop in ``win`` (rows without a product id); None without them."""
    if traffic is None or not len(traffic) or "visitors" not in traffic.columns:
        return None
    t = traffic
    if "product_id" in t.columns:
        t = t[t["product_id"].isna().to_numpy()]
    if not len(t):
        return None
    d = t["date"]
    return float(t.loc[((d >= win.start) & (d < win.end)).to_numpy(), "visitors"].sum())


def compute(
    metric_id: str,
    orders: pd.DataFrame,
    period,
    segment: str = "all",
    *,
    as_of=None,
    start_month: int = 1,
    traffic: pd.DataFrame | None = None,
    lookback_months: int = LOOKBACK_MONTHS,
) -> Value:
    """``metric_id`` for ``period`` (a :class:`Window` or its key) and ``segment``."""
    m = METRICS.get(metric_id)
    if m is None:
        raise KeyError(f"unknown metric {metric_id!r}; known: {', '.join(METRICS)}")
    if segment not in SEGMENTS or (segment != "all" and not m.segmented):
        raise ValueError(f"metric {metric_id} has no segment {segment!r}")
    L = lines(orders)
    win = window(period, as_of=as_of, start_month=start_month, data_start=L.data_start)
    out = dict(metric=metric_id, period=win.key, segment=segment, data_start=L.data_start)
    if "customers" in m.needs or segment != "all":
        if not L.has_customers:
            return Value(value=None, known=False, reason="no_customers", **out)
    needed = win.start - pd.DateOffset(months=lookback_months)
    if (m.split or segment != "all") and (L.data_start is None or L.data_start > needed):
        return Value(value=None, known=False, reason="lookback", needed_from=needed, **out)
    ctx: dict = {}
    if "traffic" in m.needs:
        ctx["visitors"] = shop_visitors(traffic, win)
        if ctx["visitors"] is None:
            return Value(value=None, known=False, reason="no_traffic", **out)
    w = (L.day >= _ns(win.start)) & (L.day < _ns(win.end))
    if m.split or segment != "all":
        first = np.append(L.first, _NEVER)[L.cust]  # -1 (no id): never
        ctx["new"] = (first >= _ns(win.start)) & (first < _NEVER) & (L.cust >= 0)
        ctx["returning"] = (first < _ns(win.start)) & (L.cust >= 0)
    seg = np.ones(len(L.day), bool) if segment == "all" else ctx[segment]
    v = m.compute(L, w, seg, ctx)
    if v is None:
        return Value(value=None, known=False, reason="empty", **out)
    return Value(value=float(v), **out)


def compute_for_shop(metric_id: str, shop, period, segment: str = "all", **kw) -> Value:
    """:func:`compute` with the shop's orders, traffic, as_of and fiscal start month."""
    config, table = getattr(shop, "config", None), getattr(shop, "table", None)
    return compute(
        metric_id,
        shop.orders,
        period,
        segment,
        as_of=shop.as_of,
        start_month=getattr(config, "fiscal_year_start_month", 1),
        traffic=table("traffic") if table is not None else None,
        **kw,
    )


def data_start(orders: pd.DataFrame) -> pd.Timestamp | None:
    """The first day the order data covers (any status)."""
    return lines(orders).data_start


def split_from(orders: pd.DataFrame, lookback_months: int = LOOKBACK_MONTHS):
    """The first day from which a period's new/returning split is known (the data's first day
    plus the look-back); None without orders."""
    start = data_start(orders)
    return None if start is None else start + pd.DateOffset(months=lookback_months)


def censor_split(table: pd.DataFrame, month_col: str, columns, known_from) -> pd.DataFrame:
    """``table`` with the new/returning ``columns`` blanked (NaN) in the rows whose period
    starts before ``known_from``: there everyone would look new."""
    if known_from is None or not len(table):
        return table
    out = table.copy()
    early = (pd.to_datetime(out[month_col]) < pd.Timestamp(known_from)).to_numpy()
    if early.any():
        for c in columns:
            out[c] = out[c].astype(float)
            out.loc[early, c] = np.nan
    return out


# --- facts: what the pages state --------------------------------------------------------------


def canonical(metric: str, segment: str) -> tuple[str, str]:
    """The (metric, segment) a fact is compared under (aliases folded)."""
    return ALIASES.get((metric, segment), (metric, segment))


def clashes(facts: list[dict], tol: float = 1e-6) -> pd.DataFrame:
    """Facts stating the same (metric, period, segment) with different values (one row per
    fact involved, with its page); empty when the report is consistent.

    Aliases are folded (:data:`ALIASES`); facts that carry the days they cover (``from``,
    ``to``) are also compared across period names for the same days (``2025`` and
    ``FY2025`` when the fiscal year starts in January). Values equal within a relative
    ``tol`` agree; a not-known value clashes with a known one."""
    cols = ["metric", "period", "segment", "value", "page"]
    if not facts:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(facts).reindex(columns=cols + ["from", "to"])
    keys = [canonical(m, s) for m, s in zip(df["metric"], df["segment"])]
    by_name = [f"{m}|{s}|{p}" for (m, s), p in zip(keys, df["period"])]
    by_days = [
        f"{m}|{s}|{a}|{b}" if isinstance(a, str) and isinstance(b, str) else f"-{i}"
        for i, ((m, s), a, b) in enumerate(zip(keys, df["from"], df["to"]))
    ]
    bad: set[int] = set()
    for key in (by_name, by_days):
        for _, idx in pd.Series(range(len(df))).groupby(key, sort=True):
            vals = df["value"].iloc[idx.to_numpy()].tolist()
            known = [float(v) for v in vals if v is not None and not pd.isna(v)]
            mixed = bool(known) and len(known) != len(vals)
            top = max((abs(x) for x in known), default=0.0)
            if mixed or (known and max(known) - min(known) > tol * max(1.0, top)):
                bad.update(idx.tolist())
    return df.iloc[sorted(bad)][cols].reset_index(drop=True)


# --- glossary ---------------------------------------------------------------------------------


def glossary_table() -> pd.DataFrame:
    """The glossary in both languages: id, unit, names and definitions in zh and en."""
    zh, en = glossary("zh"), glossary("en")
    return pd.DataFrame(
        {
            "metric_id": zh["metric_id"],
            "unit": [METRICS[i].unit for i in zh["metric_id"]],
            "name_zh": zh["metric_name"],
            "name_en": en["metric_name"],
            "definition_zh": zh["metric_definition"],
            "definition_en": en["metric_definition"],
        }
    )


def glossary(lang: str = "zh", ids=None) -> pd.DataFrame:
    """Every metric (or those in ``ids``) with its name, definition and unit in ``lang``."""
    from helpers.core.catalogue import label

    rows = [
        {
            "metric_id": m.id,
            "metric_name": m.name(lang),
            "metric_definition": m.definition(lang),
            "metric_unit": label(f"unit_{m.unit}", lang),
        }
        for m in METRICS.values()
        if ids is None or m.id in set(ids)
    ]
    return pd.DataFrame(rows)
