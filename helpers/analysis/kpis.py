"""The portfolio's key figures of one shop: last-12-month sales KPIs and sales against target.

Every sales figure is the metric layer's (:mod:`helpers.core.metrics`) for ``last_12m``, so
the front page and ``run.json`` state what the pages state. The target half reads notebook
02's targets, handed in by the caller: this module reads no file.
"""

from __future__ import annotations

import pandas as pd

from helpers.core import codes, metrics

__all__ = ["sales_kpis", "target_kpis"]


def sales_kpis(shop) -> tuple[dict, pd.Series]:
    """The sales half of the portfolio KPIs, and net sales by day (all the target half needs,
    so a caller can let go of the shop in between).

    Net sales, orders (paid, not fully refunded), buyers, average order value (per order),
    revenue per buyer, the refund and return rate and the return rate (money) over the 12
    months ending at ``shop.as_of``."""

    def kpi(metric: str, digits: int | None = None, period="last_12m"):
        v = metrics.compute_for_shop(metric, shop, period)
        if not v.known or v.value is None:
            return None
        return int(v.value) if digits is None else round(v.value, digits)

    end = shop.as_of.normalize() + pd.Timedelta(days=1)
    s = codes.sales_lines(shop.orders)  # the notebooks' own, remembered: no copy
    out = {
        "net_sales_12m": kpi("net_sales", 2),
        "orders_12m": kpi("orders"),
        "customers_12m": kpi("buyers") if shop.has_customers else None,
        "aov_12m": kpi("aov", 2),
        "revenue_per_buyer_12m": kpi("revenue_per_buyer", 2) if shop.has_customers else None,
        "repurchase_rate_12m": kpi("repurchase_rate", 6) if shop.has_customers else None,
        "refund_rate_12m": kpi("refund_rate", 6),
        "return_rate_12m": kpi("return_rate", 6),
        "target_fy": None,
        "target_annual": None,
        "last_year_actual": None,
        "target_growth": None,
        "target_to_date": None,
        "actual_to_date": None,
        "attainment": None,
    }
    out.update(_year_earlier(shop, kpi))
    if out["net_sales_12m"] is None:
        out["net_sales_12m"] = 0.0
    if out["orders_12m"] is None:
        out["orders_12m"] = 0
    daily = s.loc[(s["day"] < end).to_numpy()].groupby("day")["net"].sum()
    return out, daily


PREV = ("net_sales", "orders", "buyers", "aov", "revenue_per_buyer", "repurchase_rate")


def _year_earlier(shop, kpi) -> dict:
    """The same figures for the 12 months before the last 12 (the front page's comparison),
    None when the data starts more than a week after that window does (not comparable)."""
    now = metrics.last_12m(shop.as_of)
    prev = metrics.Window(now.start - pd.DateOffset(months=12), now.start, "prev_12m")
    names = {"buyers": "customers"}
    first = shop.orders["order_time"].min() if len(shop.orders) else None
    comparable = first is not None and first <= prev.start + pd.Timedelta(days=7)
    out = {}
    for m in (*PREV, "refund_rate"):
        key = f"{names.get(m, m)}_prev12m"
        needs_buyers = m in ("buyers", "revenue_per_buyer", "repurchase_rate")
        if not comparable or (needs_buyers and not shop.has_customers):
            out[key] = None
        else:
            out[key] = kpi(m, None if m in ("orders", "buyers") else 6 if "rate" in m else 2, prev)
    if not out.get("orders_prev12m"):  # nothing sold then: no comparison at all
        out = dict.fromkeys(out)
    return out


def target_kpis(out: dict, daily_net: pd.Series, meta, daily, as_of) -> dict:
    """The target half of the portfolio KPIs: ``out`` completed from 02's ``targets_meta``
    (dict) and ``targets_daily`` (``date, target_sales``) artifacts, either None when absent."""
    out = dict(out)
    if isinstance(meta, dict):
        out["target_fy"] = None if meta.get("fy") is None else str(meta["fy"])
        if meta.get("annual_target") is not None:
            out["target_annual"] = round(float(meta["annual_target"]), 2)
        if meta.get("last_year_actual") is not None:
            out["last_year_actual"] = round(float(meta["last_year_actual"]), 2)
        if meta.get("growth") is not None:
            out["target_growth"] = round(float(meta["growth"]), 6)
    if isinstance(daily, pd.DataFrame) and len(daily) and {"date", "target_sales"} <= set(daily):
        dates = pd.to_datetime(daily["date"])
        if out["target_annual"] is None:
            out["target_annual"] = round(float(daily["target_sales"].sum()), 2)
        upto = dates <= pd.Timestamp(as_of).normalize()
        if upto.any():
            first = dates.min()
            tgt = float(daily.loc[upto, "target_sales"].sum())
            act = float(daily_net[daily_net.index >= first].sum())
            out["target_to_date"] = round(tgt, 2)
            out["actual_to_date"] = round(act, 2)
            out["attainment"] = round(act / tgt, 6) if tgt else None
    return out
