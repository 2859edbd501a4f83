"""The portfolio's key figures of one shop: last-12-month sales KPIs and sales against target.

Net sales, orders, customers and average order value use :mod:`helpers.core.codes`'
definitions over the 12 months ending at ``shop.as_of``; the refund rate is
:func:`helpers.analysis.health.refund_rate` over the same window. The target half reads
notebook 02's targets (handed in by the caller: this module reads no file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis import health
from helpers.core import codes

__all__ = ["sales_kpis", "target_kpis"]


def sales_kpis(shop) -> tuple[dict, pd.Series]:
    """The sales half of the portfolio KPIs, and net sales by day (all the target half needs,
    so a caller can let go of the shop in between)."""
    orders = shop.orders
    end = shop.as_of.normalize() + pd.Timedelta(days=1)
    start = end - pd.DateOffset(months=12)  # midnight: "day in window" is "time in window"
    s = codes.sales_lines(orders)  # the notebooks' own, remembered: no copy of the window
    win = ((s["day"] >= start) & (s["day"] < end)).to_numpy()
    net = float(s["net"].to_numpy()[win].sum())
    back = s["is_return"].to_numpy()
    buy = win & ~back  # orders and buyers: purchase lines only
    n_orders = _distinct(codes.line_codes(s, "order_id")[0][buy])
    cust = _distinct(codes.line_codes(s)[0][buy]) if shop.has_customers else None
    gross = float(s["net"].to_numpy()[buy].sum())
    returned = 0.0 - float(s["net"].to_numpy()[win & back].sum())  # 0.0, never -0.0
    t = orders["order_time"]
    rows = ((t >= start) & (t < end)).to_numpy()
    refund = (
        health.refund_rate(orders.loc[rows, ["status", "paid_amount", "refund_amount"]])
        if rows.any()
        else None
    )
    out = {
        "net_sales_12m": round(net, 2),
        "orders_12m": n_orders,
        "customers_12m": cust,
        "aov_12m": round(net / n_orders, 2) if n_orders else None,
        "refund_rate_12m": None if refund is None or refund != refund else round(refund, 6),
        "return_rate_12m": round(returned / gross, 6) if gross > 0 else None,
        "target_fy": None,
        "target_annual": None,
        "last_year_actual": None,
        "target_growth": None,
        "target_to_date": None,
        "actual_to_date": None,
        "attainment": None,
    }
    daily = s.loc[(s["day"] < end).to_numpy()].groupby("day")["net"].sum()
    return out, daily


def _distinct(codes: np.ndarray) -> int:
    """Distinct non-missing integer codes (``nunique`` of the ids they stand for)."""
    codes = codes[codes >= 0]
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


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
