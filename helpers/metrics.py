"""The few definitions every analysis shares, so that "sales" means one thing everywhere.

* A **purchase line** is an order line with status paid, partially_refunded or refunded
  (the money moved); pending and cancelled lines are not sales.
* **Net sales** of a line = paid_amount - refund_amount (a fully refunded line nets to 0).
* An **order** is an order_id; its value (客单价 numerator) is the sum of its lines' net sales.
"""

from __future__ import annotations

import pandas as pd

SALE_STATUSES = ("paid", "partially_refunded", "refunded")


def sales_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """Purchase lines with a ``net`` column (net sales) and a ``day`` column (midnight)."""
    s = orders[orders["status"].isin(SALE_STATUSES)]
    return s.assign(net=s["paid_amount"] - s["refund_amount"], day=s["order_time"].dt.normalize())


def daily_sales(orders: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """Per day: net sales, orders, buyers, units; every day in [start, end] present (0s)."""
    s = sales_lines(orders)
    g = s.groupby("day")
    out = pd.DataFrame(
        {
            "net_sales": g["net"].sum(),
            "orders": g["order_id"].nunique(),
            "buyers": g["customer_id"].nunique(),
            "units": g["quantity"].sum(),
        }
    )
    start = pd.Timestamp(start) if start is not None else s["day"].min()
    end = pd.Timestamp(end) if end is not None else s["day"].max()
    out = out.reindex(pd.date_range(start, end, freq="D"), fill_value=0)
    out.index.name = "date"
    return out.reset_index()


def order_values(orders: pd.DataFrame) -> pd.Series:
    """Net value of each order (index order_id): the basket-value distribution, 客单价 base."""
    s = sales_lines(orders)
    return s.groupby("order_id")["net"].sum()
