"""Target setting (helpers.analysis.targets): the year, the split to the cent, the learned seasonality,
product and customer goals, each against a hand calculation or a planted effect."""

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import targets
from helpers.core import calendar as cal


def flat_seasonality() -> targets.Seasonality:
    return targets.Seasonality(
        month=pd.Series(1.0, index=range(1, 13)),
        weekday=pd.Series(1.0, index=range(7)),
        events=pd.DataFrame(
            columns=["event", "kind", "node", "phase", "uplift", "days", "years", "source"]
        ),
        trend=0.0,
        levels=pd.DataFrame(),
        start=pd.Timestamp("2024-01-01"),
        end=pd.Timestamp("2024-12-31"),
    )


def planted_daily(start="2023-01-01", end="2024-12-31", trend=0.2, seed=5):
    """Daily sales with known month, weekday, festival and holiday effects."""
    days = pd.date_range(start, end, freq="D")
    month = np.array([0.9, 0.7, 1.0, 1.1, 1.0, 1.0, 0.9, 0.9, 1.0, 1.1, 1.2, 1.2])
    weekday = np.array([0.95, 0.95, 1.0, 1.0, 1.0, 1.05, 1.05])
    ev = targets.event_calendar(days[0], days[-1])
    t = (days - days[0]).days.to_numpy() / 365.25
    uplift = {"618:main": 2.0, "618:presale": 1.3, "double11:day": 5.0, "double11:main": 1.8}
    node = ev["node_event"].map(uplift).fillna(1.0).to_numpy()
    hol = np.where(ev["holiday"].to_numpy() == "春节", 0.5, 1.0)
    rng = np.random.default_rng(seed)
    sales = (
        10000
        * (1 + trend) ** t
        * month[days.month - 1]
        * weekday[days.day_of_week]
        * node
        * hol
        * rng.lognormal(0, 0.05, len(days))
    )
    return pd.DataFrame({"date": days, "net_sales": sales}), month, weekday


def test_target_fiscal_year_rule():
    assert targets.target_fiscal_year("2025-12-31", 1) == 2026
    assert targets.target_fiscal_year("2025-12-31", 4) == 2026  # FY2025 runs to March 2026
    assert targets.target_fiscal_year("2025-03-31", 4) == 2025
    assert targets.target_fiscal_year("2025-06-30", 7) == 2025


def daily_flat(start, end, value=10.0):
    days = pd.date_range(start, end, freq="D")
    return pd.DataFrame({"date": days, "net_sales": value})


def test_last_year_actual_complete_and_partial():
    d = daily_flat("2024-01-01", "2025-12-31")
    a = targets.last_year_actual(d, "2025-12-31", 1)
    assert (a["fy"], a["actual"], a["partial"]) == (2025, 3650.0, False)
    b = targets.last_year_actual(d, "2025-12-31", 4)  # Apr 2024 – Mar 2025
    assert (b["fy"], b["actual"], b["start"]) == (2024, 3650.0, pd.Timestamp("2024-04-01"))
    c = targets.last_year_actual(d, "2025-12-31", 7)  # FY2025 (Jul 25 – Jun 26) still running
    assert (c["fy"], c["actual"]) == (2024, 3650.0)
    p = targets.last_year_actual(daily_flat("2024-07-01", "2025-03-31"), "2025-03-31", 1)
    # FY2024 has 184 days of data out of 366: scaled up by days
    assert p["fy"] == 2024 and p["partial"] and p["days_with_data"] == 184
    assert p["actual"] == pytest.approx(1840 * 366 / 184)


def test_annual_target_arithmetic():
    g = {"growth_mean": 0.1, "growth_low": 0.05, "growth_high": 0.15}
    a = targets.annual_target(1000.0, g, 0.15)
    assert (a["annual_target"], a["target_low"], a["target_high"]) == (1250.0, 1200.0, 1300.0)
    assert a["growth"] == pytest.approx(0.25)
    two = targets.annual_target(1000.0, g, 0.15, years_ahead=2)
    assert two["annual_target"] == 1375.0  # 1000 × 1.1 × 1.25


NO_NODES = [
    {"key": k, "enabled": False}
    for k in ("nianhuo", "38", "520", "618", "qixi", "99", "double11", "double12")
]


def test_running_year_carries_last_year_over():
    d = pd.concat(
        [
            daily_flat("2024-01-01", "2024-12-31", 10.0),
            daily_flat("2025-01-01", "2025-06-30", 12.0),
        ],
        ignore_index=True,
    )
    run = targets.running_growth(d, "2025-06-30", 1)
    assert (run["fy"], run["days"]) == (2025, 181)
    assert run["growth"] == pytest.approx(0.2)  # 12 × 181 against 10 × 181
    assert targets.target_fiscal_year("2025-06-30", 1) == 2026
    g = {"growth_mean": 0.1, "growth_low": 0.05, "growth_high": 0.15}
    a = targets.annual_target(3660.0, g, 0.15, years_ahead=2, between=run["growth"])
    assert a["annual_target"] == round(3660 * 1.2 * 1.25)
    assert a["target_year_growth"] == pytest.approx(0.25) and a["between"] == pytest.approx(0.2)
    # the running year has a day without data a year earlier: unknown, market growth used
    gap = targets.running_growth(d[d["date"] != "2024-03-01"], "2025-06-30", 1)
    assert np.isnan(gap["growth"])
    b = targets.annual_target(1000.0, g, 0.15, years_ahead=2, between=gap["growth"])
    assert b["annual_target"] == 1375.0


def test_flat_split_is_one_unit_a_day():
    w = targets.day_weights(2026, 1, flat_seasonality(), "48", NO_NODES, growth=0.0)
    assert set(w["weight"].round(12)) == {1.0}
    d = targets.decompose(365.0, w, "48")
    assert (d["target_cents"] == 100).all()
    weeks = targets.targets_by_level(d, "week")
    assert len(weeks) == 48
    assert weeks["target_sales"].iloc[3] == pytest.approx(10.0)  # Jan 22-31: ten days


@pytest.fixture(scope="module")
def learned() -> targets.Seasonality:
    return targets.learn_seasonality(planted_daily()[0])


@pytest.mark.parametrize("start_month", [1, 4, 7, 10])
@pytest.mark.parametrize("scheme", ["48", "iso"])
def test_decomposition_sums_exactly_at_every_level(learned, start_month, scheme):
    w = targets.day_weights(2026, start_month, learned, scheme, growth=0.1)
    annual = 1234567.89
    d = targets.decompose(annual, w, scheme)
    assert len(d) == 365 and d["target_cents"].sum() == 123456789
    levels = ["half", "quarter", "month"] + (["week"] if scheme == "48" else [])
    parent_keys: list[str] = []
    parent = pd.Series([123456789], index=[0])
    for level in levels:
        keys = parent_keys + [level]
        got = d.groupby(keys)["target_cents"].sum()
        wsum = d.groupby(keys)["weight"].sum()
        # each level is the exact largest-remainder split of its parent by its weights
        for pkey, sub in wsum.groupby(level=parent_keys) if parent_keys else [(0, wsum)]:
            exp = cal.split_cents(int(parent.loc[pkey]), sub.to_numpy())
            assert got.loc[sub.index].tolist() == exp.tolist()
        assert got.sum() == 123456789
        parent, parent_keys = got, keys
    for level in ("year", "half", "quarter", "month", "week", "day"):
        t = targets.targets_by_level(d, level)
        assert round(t["target_sales"].sum() * 100) == 123456789, level
    if scheme == "iso":  # weeks are sums of days: they cover the year exactly
        wk = targets.targets_by_level(d, "week")
        assert wk["days"].sum() == 365
    days, weekly = targets.report_layouts(d)
    assert days["target_ytd"].iloc[-1] == pytest.approx(annual)
    assert weekly["target_ytd"].iloc[-1] == pytest.approx(annual)


def test_seasonality_learner_recovers_planted_effects(learned):
    _, month, weekday = planted_daily()
    s = learned
    up = s.events.set_index("event")["uplift"]
    assert up["618:main"] == pytest.approx(2.0, rel=0.05)
    assert up["618:presale"] == pytest.approx(1.3, rel=0.05)
    assert up["double11:day"] == pytest.approx(5.0, rel=0.1)
    assert up["double11:main"] == pytest.approx(1.8, rel=0.05)
    assert up["holiday:春节"] == pytest.approx(0.5, rel=0.08)
    assert up["38:main"] == pytest.approx(1.0, rel=0.08)  # nothing planted: no uplift
    assert s.weekday.to_numpy() == pytest.approx(weekday / weekday.mean(), rel=0.03)
    assert s.month.to_numpy() == pytest.approx(month / month.mean(), rel=0.05)
    assert s.trend == pytest.approx(0.2, abs=0.04)


def test_thin_history_is_shrunk_toward_the_prior():
    hist, _, _ = planted_daily("2024-01-01", "2024-12-31", trend=0.0)
    big = targets.learn_seasonality(hist.assign(orders=hist["net_sales"] / 100))
    # the same money in a thousandth of the orders: far less evidence per day
    small = targets.learn_seasonality(hist.assign(orders=hist["net_sales"] / 100_000))
    e = big.events.set_index("event").loc["618:main"]
    v = 100.0  # sales per order on ordinary days
    assert e["uplift"] == pytest.approx((e["sales"] + 5 * v * e["prior"]) / (e["expected"] + 5 * v))
    assert e["prior"] == 2.5 and e["raw"] == pytest.approx(2.0, rel=0.05)
    assert abs(e["uplift"] - e["raw"]) < 0.01  # thousands of orders: the data wins
    t = small.events.set_index("event").loc["618:main"]
    assert t["raw"] == pytest.approx(e["raw"])
    assert t["uplift"] == pytest.approx(
        (t["sales"] + 5 * 100_000 * 2.5) / (t["expected"] + 5 * 100_000)
    )
    assert t["uplift"] - t["raw"] > 0.1 and t["uplift"] < 2.5


def test_prior_weight_when_history_lacks_the_node():
    hist, _, _ = planted_daily("2024-01-01", "2024-06-30", trend=0.0)
    s = targets.learn_seasonality(hist)
    ef = targets.event_factors(s, "2025-01-01", "2025-12-31").set_index("event")
    assert ef.loc["double11:main", "source"] == "prior"
    assert ef.loc["double11:main", "uplift"] == 3.0  # festivals.yaml weight
    assert ef.loc["double11:presale", "uplift"] == 1.0
    assert ef.loc["618:main", "source"] == "learned"
    assert ef.loc["618:main", "uplift"] == pytest.approx(2.0, rel=0.06)
    # a slider sets the main uplift; pre-sale and node day move in proportion
    set_ = targets.event_factors(s, "2025-01-01", "2025-12-31", node_weights={"618": 3.0})
    set_ = set_.set_index("event")
    assert set_.loc["618:main", "uplift"] == pytest.approx(3.0)
    ratio = 3.0 / ef.loc["618:main", "uplift"]
    assert set_.loc["618:presale", "uplift"] == pytest.approx(
        ef.loc["618:presale", "uplift"] * ratio
    )


def test_event_calendar_phases():
    ev = targets.event_calendar("2025-01-01", "2025-12-31").set_index("date")
    assert ev.loc["2025-11-11", "node_event"] == "double11:day"
    assert ev.loc["2025-11-10", "node_event"] == "double11:main"
    assert ev.loc["2025-10-25", "node_event"] == "double11:presale"
    assert ev.loc["2025-01-29", "holiday_event"] == "holiday:春节"
    assert ev.loc["2025-07-15", "node_event"] is None


def test_targets_by_level_against_last_year():
    w = targets.day_weights(2026, 1, flat_seasonality(), "48", NO_NODES, growth=0.0)
    d = targets.decompose(365.0 * 12, w, "48")
    ly = daily_flat("2025-01-01", "2025-12-31", 10.0)
    m = targets.targets_by_level(d, "month", ly, 2025, 1, "48")
    assert m["last_year"].iloc[1] == pytest.approx(280.0)  # February 2025
    assert m["target_sales"].iloc[1] == pytest.approx(336.0)
    assert m["growth"].tolist() == pytest.approx([0.2] * 12)


def orders_table(rows) -> pd.DataFrame:
    """rows: (order_id, customer_id, day, product_id, net)."""
    df = pd.DataFrame(
        rows, columns=["order_id", "customer_id", "order_time", "product_id", "paid_amount"]
    )
    df["order_time"] = pd.to_datetime(df["order_time"])
    df["status"] = "paid"
    df["refund_amount"] = 0.0
    df["quantity"] = 1
    return df


def test_product_goals_pareto_and_role_mix():
    o = orders_table(
        [
            ("o1", "c", "2025-01-01", "A", 50.0),
            ("o2", "c", "2025-01-02", "B", 30.0),
            ("o3", "c", "2025-01-03", "C", 10.0),
            ("o4", "c", "2025-01-04", "D", 10.0),
        ]
    )
    products = pd.DataFrame(
        {"product_id": list("ABCDE"), "role": ["traffic", "profit", "profit", "image", "profit"]}
    )
    mix = {"traffic": 2, "profit": 6, "image": 1, "custom": 1}
    pg = targets.product_goals(o, products, mix)
    assert (pg.n_sold, pg.n_80, pg.share_80) == (4, 2, 0.5)
    assert pg.sales_top20 == pytest.approx(0.5)
    r = pg.roles.set_index("role")
    assert r["target_share"].tolist() == pytest.approx([0.2, 0.6, 0.1, 0.1])
    assert r["products"].tolist() == [1, 3, 1, 0]
    assert r["count_share"].tolist() == pytest.approx([0.2, 0.6, 0.2, 0.0])
    assert r["sales_share"].tolist() == pytest.approx([0.5, 0.4, 0.1, 0.0])
    assert r.loc["profit", "gap_sales"] == pytest.approx(0.2)
    none = targets.product_goals(o, None, mix)
    assert none.roles is None and none.roles_missing == "products"


def test_customer_goals_by_hand():
    o = orders_table(
        [
            ("a0", "c1", "2023-05-01", "P", 100.0),
            ("a1", "c1", "2024-01-10", "P", 100.0),
            ("a2", "c1", "2024-01-20", "P", 100.0),
            ("a3", "c1", "2024-03-05", "P", 100.0),
            ("b1", "c2", "2024-01-15", "P", 200.0),
            ("b2", "c2", "2024-02-10", "P", 200.0),
            ("c1", "c3", "2024-01-25", "P", 50.0),
        ]
    )
    days = cal.fiscal_days(2025, 1)
    cents = np.zeros(len(days), dtype=np.int64)
    cents[0] = 90000  # 900.00 in January
    dt = days.assign(target_cents=cents, target_sales=cents / 100)
    cg = targets.customer_goals(o, dt, "2024-01-01", "2024-12-31", 1, 2, 4, 0.02)
    now = cg.now.set_index("customer_type")
    assert now.loc["new", "buyers"] == 2 and now.loc["new", "sales"] == 450.0
    assert now.loc["returning", "orders"] == 3
    assert cg.new_share == pytest.approx(2 / 3) and cg.repeat_rate == pytest.approx(1 / 3)
    lad = cg.ladder.set_index("rung")["customers"]
    assert lad.tolist() == [1, 1, 1]  # c3 new member, c2 repeat member, c1 fan
    jan = cg.monthly.iloc[0]
    # January 2024: 4 orders, 450 sales, 3 buyers (2 new), c1 reached its 2nd order
    assert jan["target_orders"] == 8  # 900 / 112.5
    assert jan["target_buyers"] == 6  # 8 / (4/3)
    assert jan["target_repeat_rate"] == pytest.approx(1 / 3 + 0.02)
    assert (jan["target_returning"], jan["target_new"]) == (2, 4)
    assert jan["new_repeat_members"] == 2  # 1 × (2 / 1)
    assert (jan["members_new"], jan["members_repeat"], jan["members_fan"]) == (3, 3, 1)
