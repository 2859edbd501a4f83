"""Bundles (联想搭配): association rules over orders — which products a hero carries.

The article: once a product becomes a hero (爆款), use it to pull other products along with
matching bundles. A rule *A → B* says how often orders with A also hold B:

* ``support``    = orders with both A and B / all orders;
* ``confidence`` = orders with both / orders with A  (P(B | A));
* ``lift``       = confidence / (orders with B / all orders)  (> 1: A makes B more likely).

Counting is a vectorised self-join of each order's distinct products on the order: in numpy,
each order of k distinct products yields its k(k−1)/2 pairs through ``np.repeat`` offsets (no
Python loop over orders), and pairs are counted by one sort of 64-bit pair codes
(``bench/bench_basket.py`` times a million order lines).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core import codes

__all__ = ["association_rules", "bundle_summary", "order_items", "pair_counts"]

RULE_COLUMNS = [
    "antecedent",
    "consequent",
    "orders_both",
    "orders_antecedent",
    "orders_consequent",
    "support",
    "confidence",
    "lift",
]


def _sorted_counts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of an int array and how often each occurs, by one sort (faster than
    ``np.unique`` on large int64 arrays in numpy 2.x, which may take a slow hash path)."""
    s = np.sort(a, kind="stable")
    if len(s) == 0:
        return s, np.zeros(0, np.int64)
    start = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return s[start], np.diff(np.r_[start, len(s)])


def order_items(
    orders: pd.DataFrame, as_of=None, days: int | None = None
) -> tuple[pd.DataFrame, pd.Index, int]:
    """Distinct (order, product) pairs of the purchase lines, as integer codes.

    Parameters
    ----------
    orders : canonical orders.
    as_of, days : keep only orders in the ``days`` days ending on ``as_of`` (both optional).

    Returns
    -------
    (pandas.DataFrame, pandas.Index, int)
        ``order`` and ``item`` int64 codes (sorted by order then item); the product ids (item
        code → product_id); the number of orders. Fully refunded lines still count: the buyer
        chose the products together; return lines (credit notes) and non-merchandise lines
        (postage, fees) do not.
    """
    s = codes.sales_lines(orders)  # the shared, remembered lines and their id codes
    orders_code = codes.line_codes(s, "order_id")[0]
    buy = ~s["is_return"].to_numpy()  # a credit note is no basket
    s = s[["product_id", "day"]]
    if as_of is not None:
        end = pd.Timestamp(as_of).normalize()
        keep = s["day"] <= end
        if days is not None:
            keep &= s["day"] > end - pd.Timedelta(days=days)
        buy = buy & keep.to_numpy()
    if not buy.all():
        s, orders_code = s[buy], orders_code[buy]
    # numbered in order of first appearance, as factorizing the ids themselves would
    o_codes, o_uni = pd.factorize(orders_code, sort=False)
    i_codes, i_uni = pd.factorize(s["product_id"], sort=True)
    n_items = np.int64(max(len(i_uni), 1))
    key, _ = _sorted_counts(o_codes.astype(np.int64) * n_items + i_codes)
    out = pd.DataFrame({"order": key // n_items, "item": key % n_items})
    return out, pd.Index(i_uni), len(o_uni)


def pair_counts(order: np.ndarray, item: np.ndarray, max_items: int = 50) -> pd.DataFrame:
    """Orders holding each unordered pair of items.

    Parameters
    ----------
    order, item : int arrays sorted by order then item, without duplicate (order, item).
    max_items : orders with more distinct items are left out (wholesale baskets would add
        k² pairs and say little about what goes with what).

    Returns
    -------
    pandas.DataFrame
        ``a, b`` (item codes, a < b) and ``n`` (orders holding both).
    """
    order = np.asarray(order, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    if len(order) == 0:
        return pd.DataFrame({"a": [], "b": [], "n": []}, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, order[1:] != order[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    ok = (sizes >= 2) & (sizes <= max_items)
    starts, sizes = starts[ok], sizes[ok]
    # each line pairs with the lines after it in its order: (k-1-p) partners at position p
    total_lines = sizes.sum()
    order_of_line = np.repeat(np.arange(len(starts)), sizes)
    pos = np.arange(total_lines) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    line_idx = np.repeat(starts, sizes) + pos
    partners = sizes[order_of_line] - 1 - pos
    first = np.repeat(line_idx, partners)
    offset = np.arange(partners.sum()) - np.repeat(np.cumsum(partners) - partners, partners)
    second = first + 1 + offset
    a, b = item[first], item[second]
    n_items = np.int64(item.max() + 1)
    codes, counts = _sorted_counts(a * n_items + b)
    return pd.DataFrame({"a": codes // n_items, "b": codes % n_items, "n": counts})


def association_rules(
    orders: pd.DataFrame,
    as_of=None,
    days: int | None = None,
    min_orders: int = 5,
    min_confidence: float = 0.0,
    antecedents=None,
    max_items: int = 50,
) -> pd.DataFrame:
    """Association rules A → B between products over the shop's orders.

    Parameters
    ----------
    orders : canonical orders (purchase lines are used: :func:`helpers.core.codes.sales_lines`).
    as_of, days : the window of orders (default: all).
    min_orders : keep pairs bought together in at least this many orders.
    min_confidence : keep rules at least this confident.
    antecedents : product ids whose rules are wanted (e.g. the heroes); None: all.
    max_items : see :func:`pair_counts`.

    Returns
    -------
    pandas.DataFrame
        ``antecedent, consequent`` (product ids), ``orders_both, orders_antecedent,
        orders_consequent, support, confidence, lift``; sorted by antecedent order of
        ``antecedents`` (or id), then lift and orders_both (descending), then consequent.
    """
    oi, items, n_orders = order_items(orders, as_of=as_of, days=days)
    if n_orders == 0:
        return pd.DataFrame(columns=RULE_COLUMNS)
    per_item = np.bincount(oi["item"].to_numpy(), minlength=len(items))
    pc = pair_counts(oi["order"].to_numpy(), oi["item"].to_numpy(), max_items=max_items)
    pc = pc[pc["n"] >= min_orders]
    ant = np.r_[pc["a"].to_numpy(), pc["b"].to_numpy()]
    con = np.r_[pc["b"].to_numpy(), pc["a"].to_numpy()]
    both = np.r_[pc["n"].to_numpy(), pc["n"].to_numpy()].astype(float)
    n_a, n_c = per_item[ant].astype(float), per_item[con].astype(float)
    r = pd.DataFrame(
        {
            "antecedent": items[ant].to_numpy() if len(ant) else np.array([], dtype=object),
            "consequent": items[con].to_numpy() if len(con) else np.array([], dtype=object),
            "orders_both": both.astype(np.int64),
            "orders_antecedent": n_a.astype(np.int64),
            "orders_consequent": n_c.astype(np.int64),
            "support": both / n_orders,
            "confidence": both / n_a if len(ant) else np.array([], dtype=float),
            "lift": both * n_orders / (n_a * n_c) if len(ant) else np.array([], dtype=float),
        }
    )
    r = r[r["confidence"] >= min_confidence]
    if antecedents is not None:
        wanted = pd.Index(list(antecedents))
        r = r[r["antecedent"].isin(wanted)]
        r = r.assign(_o=wanted.get_indexer(r["antecedent"]))
    else:
        r = r.assign(_o=0)
    r = r.sort_values(
        ["_o", "antecedent", "lift", "orders_both", "consequent"],
        ascending=[True, True, False, False, True],
        kind="stable",
    )
    return r.drop(columns="_o").reset_index(drop=True)


def bundle_summary(rules: pd.DataFrame, min_lift: float = 1.0) -> dict:
    """Headline numbers of :func:`association_rules`: ``n_rules``, ``n_lifting`` (rules with
    lift above ``min_lift``), the strongest rule by lift (``antecedent``, ``consequent``,
    ``confidence``, ``lift``, ``orders_both``; None when there is none) and
    ``n_antecedents`` (products with at least one lifting rule)."""
    up = rules[rules["lift"] > min_lift]
    out = {
        "n_rules": len(rules),
        "n_lifting": len(up),
        "n_antecedents": int(up["antecedent"].nunique()),
        "antecedent": None,
        "consequent": None,
        "confidence": float("nan"),
        "lift": float("nan"),
        "orders_both": 0,
    }
    if len(up):
        top = up.sort_values(
            ["lift", "orders_both", "antecedent", "consequent"],
            ascending=[False, False, True, True],
            kind="stable",
        ).iloc[0]
        out |= {
            "antecedent": top["antecedent"],
            "consequent": top["consequent"],
            "confidence": float(top["confidence"]),
            "lift": float(top["lift"]),
            "orders_both": int(top["orders_both"]),
        }
    return out
