"""Association rules: support, confidence and lift checked by hand on five orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import basket


def _orders(baskets: dict[str, list[str]], status: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for o, items in baskets.items():
        for i, p in enumerate(items):
            rows.append(
                {
                    "order_id": o,
                    "line_id": f"{o}-{i}",
                    "order_time": pd.Timestamp("2025-03-01 10:00"),
                    "status": (status or {}).get(o, "paid"),
                    "product_id": p,
                    "quantity": 1,
                    "unit_price": 10.0,
                    "paid_amount": 10.0,
                    "refund_amount": 0.0,
                }
            )
    return pd.DataFrame(rows)


FIVE = {
    "o1": ["A", "B"],
    "o2": ["A", "B", "C", "A"],  # A twice (two SKUs): one order with A
    "o3": ["A", "C"],
    "o4": ["B"],
    "o5": ["A", "B", "D"],
    "o6": ["A", "C"],  # cancelled: not an order
}


@pytest.fixture()
def rules():
    r = basket.association_rules(_orders(FIVE, {"o6": "cancelled"}), min_orders=1)
    return r.set_index(["antecedent", "consequent"])


def test_rules_match_hand_calculation(rules):
    # 5 orders; A in 4, B in 4, C in 2, D in 1; AB 3, AC 2, BC 1, AD 1, BD 1
    assert len(rules) == 10  # 5 pairs, both directions
    ab = rules.loc[("A", "B")]
    assert ab["orders_both"] == 3 and ab["orders_antecedent"] == 4
    assert ab["support"] == pytest.approx(3 / 5)
    assert ab["confidence"] == pytest.approx(3 / 4)
    assert ab["lift"] == pytest.approx(0.75 / (4 / 5))  # 0.9375
    ca = rules.loc[("C", "A")]
    assert (ca["support"], ca["confidence"], ca["lift"]) == pytest.approx((0.4, 1.0, 1.25))
    ac = rules.loc[("A", "C")]
    assert (ac["confidence"], ac["lift"]) == pytest.approx((0.5, 1.25))
    bc = rules.loc[("B", "C")]
    assert (bc["support"], bc["confidence"], bc["lift"]) == pytest.approx((0.2, 0.25, 0.625))
    assert rules.loc[("D", "B"), "lift"] == pytest.approx(1.25)
    assert ("C", "D") not in rules.index


def test_filters_and_order():
    o = _orders(FIVE, {"o6": "cancelled"})
    r = basket.association_rules(o, min_orders=2)
    assert set(zip(r["antecedent"], r["consequent"])) == {
        ("A", "B"),
        ("B", "A"),
        ("A", "C"),
        ("C", "A"),
    }
    h = basket.association_rules(o, min_orders=1, antecedents=["B", "A"])
    assert list(h["antecedent"].unique()) == ["B", "A"]  # in the order asked
    assert list(h.loc[h["antecedent"] == "A", "consequent"]) == ["C", "D", "B"]  # by lift
    c = basket.association_rules(o, min_orders=1, min_confidence=0.9)
    assert set(zip(c["antecedent"], c["consequent"])) == {("C", "A"), ("D", "A"), ("D", "B")}


def test_pair_counts_match_a_brute_force_count():
    rng = np.random.default_rng(0)
    n = 4000
    order = np.sort(rng.integers(0, 900, n))
    item = rng.integers(0, 30, n)
    df = pd.DataFrame({"order": order, "item": item}).drop_duplicates()
    df = df.sort_values(["order", "item"]).reset_index(drop=True)
    pc = basket.pair_counts(df["order"].to_numpy(), df["item"].to_numpy())
    got = {(a, b): n for a, b, n in pc.itertuples(index=False)}
    want: dict[tuple[int, int], int] = {}
    for _, g in df.groupby("order")["item"]:
        its = sorted(g)
        for i in range(len(its)):
            for j in range(i + 1, len(its)):
                want[(its[i], its[j])] = want.get((its[i], its[j]), 0) + 1
    assert got == want


def test_empty_and_single_item_orders():
    assert basket.association_rules(_orders({"o1": ["A"], "o2": ["B"]})).empty
