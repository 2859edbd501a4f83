"""The one stock model 03 and 05 share: sell-through rate, safety stock, lead time."""

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import products as P
from helpers.analysis import promotions as M

AS_OF = pd.Timestamp("2026-01-01")


def d(n: int) -> pd.Timestamp:
    return AS_OF + pd.Timedelta(days=n)


def test_sell_through_rate_and_spread_count_quiet_days_as_zero():
    days = [
        AS_OF - pd.Timedelta(days=k) for k in range(28) if k % 2 == 0
    ]  # 2 units every other day
    daily = pd.DataFrame({"product_id": "A", "day": days, "units": 2.0, "net": 20.0})
    cat = pd.DataFrame({"product_id": ["A", "B"]})
    st = P.sell_through(daily, cat, AS_OF, 28).set_index("product_id")
    assert st.loc["A", "rate"] == pytest.approx(1.0)  # 28 units / 28 days
    # sample sd of 14 twos and 14 zeros: sqrt((56 - 28 x 1) / 27)
    assert st.loc["A", "sd"] == pytest.approx(np.sqrt(28 / 27))
    assert st.loc["B", "rate"] == 0 and st.loc["B", "sd"] == 0


def _plan(stock: float):
    items = pd.DataFrame(
        {
            "product_id": ["P1"],
            "title": ["t"],
            "stock": [stock],
            "rate": [1.0],
            "sd": [2.0],
            "lead_time_days": [16.0],
        }
    )
    events = pd.DataFrame(
        {
            "event": ["E2", "E1"],  # given out of order: the model sorts by end
            "launch": [d(30), d(10)],
            "end": [d(31), d(14)],
            "uplift": [2.0, 3.0],
        }
    )
    return P.reorder_plan(items, events, AS_OF, service_level=0.975, receive_buffer_days=3)


def test_reorder_plan_hand_checked():
    p = _plan(30.0)
    # safety = 1.95996 x 2 x sqrt(16) = 15.68
    assert p["safety_stock"].iloc[0] == pytest.approx(1.959964 * 8, abs=1e-4)
    assert p["event"].tolist() == ["E1", "E2"]
    # E1: 14 days x 1 + (3 - 1) x 5 days + 15.68 = 39.68 -> 40; E2: 31 + 10 + (2 - 1) x 2 + 15.68
    assert p["need"].tolist() == [40, 59]
    assert p["event_units"].tolist() == pytest.approx([15, 4])
    # 30 in stock: 10 for E1, then 29 - 10 = 19 more for E2
    assert p["reorder_qty"].tolist() == [10, 19]
    # latest order date = launch - 3 days in transit buffer - 16 days lead time
    assert p["latest_order_date"].tolist() == [d(-9), d(11)]
    assert p["status"].tolist() == ["too_late", "reorder"]
    assert _plan(100.0)["reorder_qty"].tolist() == [0, 0]


def test_hero_summary_reads_the_first_reorder_and_its_date():
    rows = _plan(30.0)
    check = M.hero_stock(rows, pd.DataFrame({"product_id": ["P1"]}))
    s = M.stock_summary(check).iloc[0]
    assert s["first_campaign"] == "E1" and s["first_reorder_qty"] == 10
    assert s["first_order_by"] == d(-9)
    assert (s["reorder_qty"], s["reorders"], s["status"]) == (29, 2, "too_late")
    assert s["campaign_units"] == pytest.approx(19)


def test_03_table_and_05_rows_agree_on_the_same_events():
    """03's per-product row (first reorder) equals 05's first hero row for that product."""
    units = {"S1": [1] * 28, "S2": [2, 0] * 14}
    rows = []
    for p, us in units.items():
        for k, u in enumerate(us):
            if u:
                rows.append((p, AS_OF - pd.Timedelta(days=k), 10.0 * u, u, u, np.nan))
    daily = pd.DataFrame(rows, columns=["product_id", "day", "net", "units", "orders", "cogs"])
    cat = pd.DataFrame(
        {
            "product_id": ["S1", "S2"],
            "title": ["a", "b"],
            "role": None,
            "stock": [20.0, 25.0],
            "lead_time_days": [10.0, np.nan],
        }
    )
    events = pd.DataFrame(
        {
            "campaign_id": ["2026-38", "2026-shop"],
            "series": ["38", "shop:x"],
            "launch": [d(55), d(20)],
            "end": [d(66), d(25)],
            "weight": [1.3, 1.0],
        }
    )
    kw = dict(default_lead_days=21, service_level=0.95, receive_buffer_days=3)
    st, _ = P.stock_risk(daily, cat, AS_OF, None, 120, 28, events=events, **kw)
    plan = P.festival_stock_plan(daily, cat, AS_OF, events, None, 28, **kw)
    summ = M.stock_summary(M.hero_stock(plan, cat)).set_index("product_id")
    st = st.set_index("product_id")
    for p in ("S1", "S2"):
        assert st.loc[p, "shortfall"] == summ.loc[p, "first_reorder_qty"]
        assert st.loc[p, "reorder_by"] == summ.loc[p, "first_order_by"]
        assert st.loc[p, "node"] == summ.loc[p, "first_campaign"]
    # S1: rate 1, sd 0 -> no safety stock; the shop campaign (weight 1) ends d25: need 25 > 20
    assert st.loc["S1", "node"] == "2026-shop" and st.loc["S1", "shortfall"] == 5
    assert st.loc["S1", "reorder_by"] == d(20 - 10 - 3)
