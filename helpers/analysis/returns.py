"""Returns, cancellations (credit notes) and non-merchandise money, measured.

Definitions (merchandise lines only, as :func:`helpers.core.codes.sales_lines` gives them):

* **gross sales**: net of the purchase lines (``is_return`` False), i.e. before credit notes;
  **returns**: minus the net of the return lines (a positive amount); **net sales** =
  gross sales − returns.
* **order return rate**: return documents (distinct order ids of return lines, i.e. credit
  notes) as a share of all documents (purchase orders + credit notes), the share of invoices
  that are credit notes; **unit return rate**: units returned ÷ units sold; **money return
  rate**: returns ÷ gross sales. A return counts in the month it happened.
* A return is **larger than anything sold** when its units exceed the units of that product
  sold before it to the same customer (to anyone, when the line has no customer).

Layer: analysis (pure: DataFrames in and out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.codes import distinct_in_groups, line_codes, sales_lines
from helpers.load import lines as line_rules

__all__ = [
    "return_summary",
    "monthly_returns",
    "product_returns",
    "over_returns",
    "non_merchandise_totals",
    "net_after_returns",
    "product_lines",
]


def _split(orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = sales_lines(orders)
    back = s["is_return"].to_numpy()
    if not back.any():  # no credit notes: the sales lines themselves, not a copy of them
        return s, s.iloc[:0]
    return s[~back], s[back]


def _rates(buy: pd.DataFrame, back: pd.DataFrame, by: str | None) -> pd.DataFrame:
    def agg(df: pd.DataFrame, sign: float) -> pd.DataFrame:
        g = df.groupby(by, sort=True) if by else df.assign(_all=0).groupby("_all")
        return pd.DataFrame(
            {  # orders on the order ids' codes, shared with every helper
                "orders": distinct_in_groups(g, line_codes(df, "order_id")[0]),
                "units": g["quantity"].sum() * sign + 0,  # + 0: never -0.0
                "money": g["net"].sum() * sign + 0.0,
            }
        )

    b, r = agg(buy, 1.0), agg(back, -1.0)
    out = b.add_suffix("_sold").join(r.add_suffix("_returned"), how="outer").fillna(0)
    out = out.rename(
        columns={
            "orders_sold": "orders",
            "orders_returned": "return_orders",
            "money_sold": "gross_sales",
            "money_returned": "returns",
        }
    )
    out["net_sales"] = out["gross_sales"] - out["returns"]
    docs = out["orders"] + out["return_orders"]
    out["order_return_rate"] = (out["return_orders"] / docs.where(docs > 0)).astype(float)
    out["unit_return_rate"] = (
        out["units_returned"] / out["units_sold"].where(out["units_sold"] > 0)
    ).astype(float)
    out["money_return_rate"] = (
        out["returns"] / out["gross_sales"].where(out["gross_sales"] > 0)
    ).astype(float)
    for c in ("orders", "return_orders", "units_sold", "units_returned"):
        out[c] = out[c].astype(np.int64)
    return out


def return_summary(orders: pd.DataFrame) -> dict:
    """Shop totals: gross sales, returns, net sales, the three return rates, return lines
    matched / unmatched to an original order (all merchandise)."""
    buy, back = _split(orders)
    t = _rates(buy, back, None).iloc[0].to_dict()
    matched = back["return_of"].notna() if "return_of" in back else pd.Series(False)
    t.update(
        return_lines=len(back),
        matched_lines=int(matched.sum()),
        unmatched_lines=int(len(back) - matched.sum()),
        unmatched_returns=float(-back.loc[~matched.to_numpy(), "net"].sum()) if len(back) else 0.0,
    )
    return t


def monthly_returns(orders: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month: orders, credit notes, units and money sold and returned, the
    three return rates (a return in the month it happened)."""
    buy, back = _split(orders)
    buy = buy.assign(month=buy["day"].dt.to_period("M").dt.to_timestamp())
    back = back.assign(month=back["day"].dt.to_period("M").dt.to_timestamp())
    return _rates(buy, back, "month").reset_index()


def product_returns(orders: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Per product: units and money sold and returned and the return rates, the most
    returned money first (ties: product id); ``top`` rows when given."""
    buy, back = _split(orders)
    out = _rates(buy, back, "product_id")
    named = ["product_id", "title"]
    titles = pd.concat([buy[named], back[named]]).dropna().drop_duplicates("product_id")
    out = out.join(titles.set_index("product_id")["title"])
    out = out[out["units_returned"] > 0].reset_index()
    out = out.sort_values(["returns", "product_id"], ascending=[False, True], kind="stable")
    cols = [
        "product_id",
        "title",
        "units_sold",
        "units_returned",
        "unit_return_rate",
        "gross_sales",
        "returns",
        "money_return_rate",
    ]
    out = out[cols].reset_index(drop=True)
    return out.head(top) if top else out


def over_returns(orders: pd.DataFrame) -> pd.DataFrame:
    """Return lines larger than anything sold before them: more units than that customer
    bought of the product up to the return (anyone, for a line without customer).

    Columns: order_id, product_id, order_time, units_returned, units_sold_before.
    """
    buy, back = _split(orders)
    cols = ["order_id", "product_id", "order_time", "units_returned", "units_sold_before"]
    if back.empty:
        return pd.DataFrame(columns=cols)
    cust = back["customer_id"].notna().to_numpy()
    found = []
    for keys, b, sub in (
        (["customer_id", "product_id"], buy[buy["customer_id"].notna()], back[cust]),
        (["product_id"], buy, back[~cust]),
    ):
        if sub.empty:
            continue
        sold = b.sort_values("order_time", kind="stable")[[*keys, "order_time", "quantity"]]
        sold = sold.assign(units_sold_before=sold.groupby(keys)["quantity"].cumsum())
        left = sub[[*keys, "order_id", "order_time", "quantity"]].sort_values(
            "order_time", kind="stable"
        )
        got = pd.merge_asof(
            left,
            sold.drop(columns="quantity"),
            on="order_time",
            by=keys,
            direction="backward",
        )
        got["units_sold_before"] = got["units_sold_before"].fillna(0).astype(np.int64)
        got["units_returned"] = -got["quantity"]
        found.append(got[got["units_returned"] > got["units_sold_before"]])
    if not found:
        return pd.DataFrame(columns=cols)
    out = pd.concat(found, ignore_index=True)[cols]
    return out.sort_values(["order_time", "order_id"], kind="stable").reset_index(drop=True)


def non_merchandise_totals(orders: pd.DataFrame, non_merchandise: dict | None = None):
    """Money of non-merchandise lines by kind (postage, fees, adjustments, discounts,
    samples, gift_cards, other): lines, amount charged (positive lines), amount credited
    (negative lines), net. Lines of every status but cancelled and pending."""
    cols = ["kind", "lines", "charged", "credited", "net"]
    if "line_type" not in orders:
        return pd.DataFrame(columns=cols)
    nm = orders[
        (orders["line_type"] == "non_merchandise").to_numpy()
        & ~orders["status"].isin(["cancelled", "pending"]).to_numpy()
    ]
    if nm.empty:
        return pd.DataFrame(columns=cols)
    kind = line_rules.charge_kind(nm, non_merchandise).fillna(line_rules.OTHER_KIND)
    net = nm["paid_amount"] - nm["refund_amount"]
    df = pd.DataFrame({"kind": kind, "net": net})
    g = df.groupby("kind", sort=False)
    out = pd.DataFrame(
        {
            "lines": g.size(),
            "charged": g["net"].agg(lambda v: v[v > 0].sum()),
            "credited": g["net"].agg(lambda v: -v[v < 0].sum()),
            "net": g["net"].sum(),
        }
    )
    order = list(dict.fromkeys([*line_rules.rules(non_merchandise), line_rules.OTHER_KIND]))
    out = out.reindex([k for k in order if k in out.index])
    return out.rename_axis("kind").reset_index()[cols]


def net_after_returns(
    lines: pd.DataFrame, use: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per sales line, its net with the matched returns moved onto the purchase they return.

    A return line matched (``return_of``) to an order among ``lines`` adds its (negative)
    net to that order's line of the same product (else the order's first line) and keeps 0
    itself; unmatched returns keep their own net. For customer value (CLV, RFM), where a
    return lowers what the buyer spent, not the day it came back. ``use``: only the return
    lines where it is True are moved (those up to the analysis date).

    Returns
    -------
    (net, touched)
        ``net`` float array aligned with ``lines``; ``touched`` True on purchase lines that
        received a return (a line netting to nothing was returned in full).
    """
    net = lines["net"].to_numpy(np.float64).copy()
    touched = np.zeros(len(lines), dtype=bool)
    back = lines["is_return"].to_numpy()
    if not back.any() or "return_of" not in lines:
        return net, touched
    move = back & lines["return_of"].notna().to_numpy()
    bidx = np.flatnonzero(move if use is None else move & use)
    if not len(bidx):
        return net, touched
    buy = np.flatnonzero(~back)
    oid = lines["order_id"].to_numpy()
    pid = lines["product_id"].to_numpy()
    same = pd.Series(buy, index=pd.MultiIndex.from_arrays([oid[buy], pid[buy]]))
    same = same[~same.index.duplicated()]
    first = pd.Series(buy, index=oid[buy])
    first = first[~first.index.duplicated()]
    ref = lines["return_of"].to_numpy()[bidx]
    target = same.reindex(pd.MultiIndex.from_arrays([ref, pid[bidx]])).to_numpy(np.float64)
    fallback = first.reindex(ref).to_numpy(np.float64)
    target = np.where(np.isnan(target), fallback, target)
    ok = ~np.isnan(target)
    to = target[ok].astype(np.intp)
    np.add.at(net, to, net[bidx[ok]])
    net[bidx[ok]] = 0.0
    touched[to] = True
    return net, touched


def product_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Sales lines as a product's sales count them: purchases and the returns matched to an
    original order (``return_of``); an unmatched return reduces the shop's net sales only."""
    back = lines["is_return"].to_numpy()
    if not back.any():
        return lines
    matched = lines["return_of"].notna().to_numpy() if "return_of" in lines else ~back
    return lines[~back | matched]
