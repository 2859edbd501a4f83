"""Data health: what was loaded, row accounting, date coverage and gaps, refunds, duplicates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.codes import any_filled, factorize, nunique_by
from helpers.load.shop import DATE_COLUMNS, Shop


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
    order, _ = factorize(orders["order_id"])
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
