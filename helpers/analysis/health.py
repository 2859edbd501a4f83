"""Data health: what was loaded, row accounting, date coverage and gaps, refunds, duplicates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.codes import (
    any_filled,
    distinct_in_groups,
    distinct_per_group,
    factorize,
    line_codes,
    nunique_by,
    order_codes,
)
from helpers.load.shop import DATE_COLUMNS, Shop

__all__ = [
    "table_overview",
    "daily_gaps",
    "status_shares",
    "refund_rate",
    "reject_reasons",
    "OPTIONAL_ORDER_COLUMNS",
    "missing_columns",
    "monthly_orders",
    "UNPAID_STATUSES",
    "monthly_sales",
    "unpaid_tail",
    "missing_customer_ids",
    "lookback",
]


def table_overview(shop: Shop) -> pd.DataFrame:
    """Per canonical table: rows kept, first and last date, columns filled."""
    rows = []
    for name, df in shop.tables.items():
        col = DATE_COLUMNS.get(name) or ("month" if name == "keywords" else None)
        col = col or ("start" if name == "campaigns" else "date" if "date" in df else None)
        visible = [c for c in df.columns if not c.startswith("_")]
        rows.append(
            {
                "table": name,
                "rows": len(df),
                "first": df[col].min() if col and len(df) else pd.NaT,
                "last": df[col].max() if col and len(df) else pd.NaT,
                "filled_columns": int(sum(any_filled(df[c]) for c in visible)),
                "columns": len(visible),
            }
        )
    return pd.DataFrame(rows)


def daily_gaps(orders: pd.DataFrame, min_days: int = 2) -> pd.DataFrame:
    """Runs of consecutive days without any order (at least ``min_days`` long)."""
    days = orders["order_time"].dt.normalize()
    full = pd.date_range(days.min(), days.max(), freq="D")
    empty = ~full.isin(days.unique())
    if not empty.any():
        return pd.DataFrame(columns=["start", "end", "days"])
    run = (empty != pd.Series(empty).shift(fill_value=False).to_numpy()).cumsum()
    g = pd.DataFrame({"date": full, "run": run})[empty].groupby("run")["date"]
    out = pd.DataFrame({"start": g.min(), "end": g.max()})
    out["days"] = (out["end"] - out["start"]).dt.days + 1
    return out[out["days"] >= min_days].reset_index(drop=True)


def status_shares(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders and amounts by status: the refund and cancellation shares.

    An order's status is its lines' status when they agree; ``refunded`` wins over
    ``partially_refunded`` wins over ``paid`` when lines differ.
    """
    rank = {
        "cancelled": 5,
        "pending": 4,
        "refunded": 3,
        "partially_refunded": 2,
        "paid": 1,
        "returned": 0,  # a credit note's own lines; a purchase order keeps its status
    }
    names = sorted(rank)  # the order grouping on the names gives
    # integer codes throughout: order ids numbered in order of appearance, each line's status
    # by its rank, each order's worst rank by its name's place in ``names``
    order = order_codes(orders)
    status, seen = factorize(orders["status"])
    known = pd.Series(seen, dtype=object).map(rank).to_numpy(dtype=float)
    lines = pd.DataFrame(
        {
            "_r": np.append(known, np.nan)[status],  # -1 (no status): no rank
            "paid_amount": orders["paid_amount"].to_numpy(),
            "refund_amount": orders["refund_amount"].to_numpy(),
        }
    )[order >= 0]
    by_order = lines.groupby(order[order >= 0])
    worst = by_order["_r"].max().map({rank[n]: float(i) for i, n in enumerate(names)})
    t = (
        by_order[["paid_amount", "refund_amount"]]
        .sum()
        .assign(_s=worst)
        .groupby("_s")
        .agg(
            orders=("paid_amount", "size"),
            paid_amount=("paid_amount", "sum"),
            refund_amount=("refund_amount", "sum"),
        )
    )
    t.index = pd.Index(names, name="status")[t.index.astype(int)]
    t["order_share"] = t["orders"] / t["orders"].sum()
    t = t.reindex([s for s in rank if s in t.index][::-1])
    return t.reset_index()


def refund_rate(orders: pd.DataFrame) -> float:
    """Refunded amount as a share of the amount paid (cancelled orders and return lines
    excluded: credit notes are measured by :mod:`helpers.analysis.returns`)."""
    paid = orders.loc[~orders["status"].isin(["cancelled", "returned"]), "paid_amount"].sum()
    return float(orders["refund_amount"].sum() / paid) if paid else float("nan")


def reject_reasons(shop: Shop) -> pd.DataFrame:
    """Rejected rows counted by file and reason (the rows themselves are in shop.rejects)."""
    r = shop.rejects
    if r.empty:
        return pd.DataFrame(columns=["file", "reason", "rows"])
    reason = r["reason"].str.replace(r"\d+", "N", regex=True).str.slice(0, 80)
    return (
        r.assign(reason=reason)
        .groupby(["file", "reason"], sort=True)
        .size()
        .rename("rows")
        .reset_index()
        .sort_values(["rows", "file"], ascending=[False, True], kind="stable")
    )


# orders columns whose absence turns analyses off (the catalogue key h00_off_<column> says which)
OPTIONAL_ORDER_COLUMNS = ("customer_id", "product_id", "province", "channel")


def missing_columns(orders: pd.DataFrame) -> list[str]:
    """Orders columns of :data:`OPTIONAL_ORDER_COLUMNS` the export lacks: absent, all empty,
    or (``product_id``) only the placeholder product of an export without products."""
    from helpers.core.schema import NO_PRODUCT

    out = []
    for c in OPTIONAL_ORDER_COLUMNS:
        s = orders[c] if c in orders else pd.Series(dtype=object)
        filled = s.notna()
        if c == "product_id":
            filled &= s != NO_PRODUCT
        if not bool(filled.any()):
            out.append(c)
    return out


def monthly_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders, lines and net sales per calendar month."""
    m = orders["order_time"].dt.to_period("M").dt.to_timestamp()
    net = orders["paid_amount"] - orders["refund_amount"]
    df = pd.DataFrame({"month": m, "order_id": orders["order_id"], "net": net})
    g = df.groupby("month")
    out = pd.DataFrame(
        {
            "orders": nunique_by(df, "month", "order_id"),
            "lines": g.size(),
            "net_sales": g["net"].sum(),
        }
    )
    return out.reset_index()


# --- sales apart from unpaid orders (the metric layer's definitions) --------------------------

UNPAID_STATUSES = ("pending",)


def monthly_sales(orders: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month: sales as the metric layer counts them (``orders``: paid, not fully
    refunded; ``net_sales`` over :func:`helpers.core.codes.sales_lines`) and, apart, the unpaid
    orders (status pending) and their amount, which are not sales."""
    from helpers.core.codes import sales_lines

    s = sales_lines(orders)
    live = s["status"].to_numpy() != "refunded"
    if "is_return" in s.columns:
        live &= ~s["is_return"].fillna(False).to_numpy(dtype=bool)
    g = s["net"].groupby(s["day"].dt.to_period("M").dt.to_timestamp())
    live_orders = np.where(live, line_codes(s, "order_id")[0], -1)  # order ids' shared codes
    out = pd.DataFrame({"orders": distinct_in_groups(g, live_orders), "net_sales": g.sum()})
    unpaid = orders.loc[orders["status"].isin(UNPAID_STATUSES).to_numpy()]
    um = unpaid["order_time"].dt.to_period("M").dt.to_timestamp()
    u = pd.DataFrame({"month": um, "order_id": unpaid["order_id"], "amt": unpaid["paid_amount"]})
    t = orders["order_time"].dropna()
    if len(t):  # every month from the first order to the last, whatever its status
        first, last = t.min().to_period("M"), t.max().to_period("M")
        out = out.reindex(pd.period_range(first, last, freq="M").to_timestamp())
    out["unpaid_orders"] = nunique_by(u, "month", "order_id") if len(u) else 0
    out["unpaid_amount"] = u.groupby("month")["amt"].sum() if len(u) else 0.0
    out = out.fillna(0).sort_index()
    out["orders"] = out["orders"].astype("int64")
    out["unpaid_orders"] = out["unpaid_orders"].astype("int64")
    out.index.name = "month"
    return out.reset_index()


def unpaid_tail(orders: pd.DataFrame) -> dict:
    """The last days of the data that hold only unpaid orders (no sale): ``days`` (0 when the
    last day has a sale), ``start``, ``end`` (days), ``orders`` and ``amount`` unpaid in them,
    and ``last_sale`` (the last day with a sale)."""
    from helpers.core.codes import sales_lines

    s = sales_lines(orders)
    last_sale = s["day"].max() if len(s) else pd.NaT
    last = orders["order_time"].max().normalize() if len(orders) else pd.NaT
    out = {"days": 0, "start": None, "end": None, "orders": 0, "amount": 0.0}
    out["last_sale"] = last_sale
    if pd.isna(last) or (not pd.isna(last_sale) and last_sale >= last):
        return out
    after = orders["order_time"] >= (last_sale + pd.Timedelta(days=1) if len(s) else last)
    tail = orders.loc[after.to_numpy() & orders["status"].isin(UNPAID_STATUSES).to_numpy()]
    if not len(tail):
        return out
    start = tail["order_time"].min().normalize()
    out.update(
        days=int((last - start).days) + 1,
        start=start,
        end=last,
        orders=int(tail["order_id"].nunique()),
        amount=float(tail["paid_amount"].sum()),
    )
    return out


def missing_customer_ids(orders: pd.DataFrame) -> dict:
    """Sales without a buyer id: ``orders`` and ``net`` (money) without one, their shares of
    all sales orders and of net sales (orders counted as the metric layer counts them)."""
    from helpers.core.codes import sales_lines

    s = sales_lines(orders)
    live = s["status"].to_numpy() != "refunded"
    if "is_return" in s.columns:
        live &= ~s["is_return"].fillna(False).to_numpy(dtype=bool)
    none = (
        s["customer_id"].isna().to_numpy() if "customer_id" in s.columns else np.ones(len(s), bool)
    )
    codes = line_codes(s, "order_id")[0]  # the order ids' codes, shared by every helper
    one = np.zeros(len(s), np.intp)
    all_orders = int(distinct_per_group(one, np.where(live, codes, -1), 1)[0])
    no_id = int(distinct_per_group(one, np.where(live & none, codes, -1), 1)[0])
    net_all = float(s["net"].sum())
    net_none = float(s.loc[none, "net"].sum())
    return {
        "orders": int(no_id),
        "order_share": no_id / all_orders if all_orders else 0.0,
        "net": net_none,
        "net_share": net_none / net_all if net_all else 0.0,
    }


def lookback(orders: pd.DataFrame, as_of, months: int = 12) -> dict:
    """How far back the data goes: ``data_start`` (first day of any order), ``months``
    covered up to ``as_of``, and ``split_from``: the first day from which a period's
    new/returning split is known (``data_start`` + the look-back); None without orders."""
    from helpers.core.metrics import data_start

    start = data_start(orders)
    if start is None:
        return {"data_start": None, "months": 0, "split_from": None}
    end = pd.Timestamp(as_of).normalize()
    covered = (end.year - start.year) * 12 + end.month - start.month + (end.day >= start.day)
    return {
        "data_start": start,
        "months": int(max(covered, 0)),
        "split_from": start + pd.DateOffset(months=months),
    }
