"""Product analysis: numbers checked by hand on small tables, and the planted 爆款 backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import products as P
from helpers.datasets import sample

AS_OF = pd.Timestamp("2025-06-30")


def _orders(rows) -> pd.DataFrame:
    """Order lines from (order, product, qty, paid, refund, status[, day])."""
    out = []
    for i, r in enumerate(rows):
        o, p, q, paid, refund, status = r[:6]
        day = r[6] if len(r) > 6 else AS_OF - pd.Timedelta(days=10)
        out.append(
            {
                "order_id": o,
                "line_id": f"{o}-{i}",
                "customer_id": f"c{o}",
                "order_time": pd.Timestamp(day) + pd.Timedelta(hours=12),
                "status": status,
                "product_id": p,
                "title": f"title {p}",
                "quantity": q,
                "unit_price": paid / q,
                "paid_amount": float(paid),
                "refund_amount": float(refund),
            }
        )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# Pareto / ABC


@pytest.fixture()
def abc_tables():
    orders = _orders(
        [
            ("o1", "P1", 1, 40, 0, "paid"),
            ("o1", "P2", 1, 30, 0, "paid"),
            ("o2", "P1", 1, 20, 10, "partially_refunded"),  # net 10, half the goods kept
            ("o3", "P3", 2, 10, 0, "paid"),
            ("o4", "P4", 1, 6, 0, "paid"),
            ("o4", "P5", 1, 4, 0, "paid"),
            ("o5", "P2", 1, 25, 25, "refunded"),  # nets to 0, costs nothing
            ("o6", "P3", 1, 99, 0, "cancelled"),  # not a sale
            ("o7", "P1", 1, 500, 0, "paid", "2024-01-01"),  # outside the 365-day window
        ]
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "cost": [30.0, 10.0, 2.0, 1.0, np.nan, 5.0],
            "price": [40.0, 30.0, 5.0, 6.0, 4.0, 9.0],
        }
    )
    cat = P.product_catalogue(orders, products, AS_OF)
    daily = P.daily_product_sales(orders, cat)
    return P.abc_analysis(daily, cat, AS_OF, days=365)


def test_abc_classes_and_share_by_hand(abc_tables):
    t = abc_tables.set_index("product_id")
    # net sales: P1 40 + (20 - 10) = 50, P2 30 (+ refunded 0), P3 10, P4 6, P5 4, P6 0
    assert t["net_sales"].to_dict() == {"P1": 50, "P2": 30, "P3": 10, "P4": 6, "P5": 4, "P6": 0}
    assert t["units"].to_dict() == {"P1": 2, "P2": 1, "P3": 2, "P4": 1, "P5": 1, "P6": 0}
    # cumulative share before each: P1 0, P2 .5, P3 .8, P4 .9, P5 .96 -> A A B B C, P6 C
    assert list(abc_tables["abc"]) == ["A", "A", "B", "B", "C", "C"]
    assert list(abc_tables["cum_share"]) == pytest.approx([0.5, 0.8, 0.9, 0.96, 1.0, 1.0])
    s = P.abc_summary(abc_tables)
    assert s["n_products"] == 6 and s["n_a"] == 2
    assert s["share_a"] == pytest.approx(2 / 6)  # a third of the products make 80% of sales
    assert s["sales_a"] == pytest.approx(0.8)
    assert s["top20_share"] == pytest.approx(0.8)  # ceil(0.2 * 6) = 2 products
    assert s["zero_sales"] == 1 and s["n_c"] == 2


def test_abc_by_gross_profit_by_hand(abc_tables):
    t = abc_tables.set_index("product_id")
    # P1: 50 - (30 + 30 * 10/20) = 5; P2: 30 - 10 = 20; P3: 10 - 2*2 = 6; P4: 6 - 1 = 5; P6: 0
    gp = t["gross_profit"]
    assert gp[["P1", "P2", "P3", "P4", "P6"]].tolist() == pytest.approx([5, 20, 6, 5, 0])
    assert np.isnan(gp["P5"]) and t.loc["P5", "abc_gp"] is None
    # by profit: P2 20, P3 6, P1 5, P4 5, P6 0 of 36; before: 0, .556, .722, .861 -> A A A B C
    assert t["abc_gp"][["P2", "P3", "P1", "P4", "P6"]].tolist() == ["A", "A", "A", "B", "C"]
    s = P.abc_summary(abc_tables)
    assert s["n_cost"] == 5 and s["n_a_gp"] == 3 and s["share_a_gp"] == pytest.approx(0.6)
    assert s["gross_profit"] == pytest.approx(36)
    assert s["margin"] == pytest.approx(36 / 96)
    assert s["a_both"] == 2 and s["a_sales_not_profit"] == 0


# --------------------------------------------------------------------------------------------
# roles


def test_role_behaviour_and_mix_by_hand():
    t = pd.DataFrame(
        {
            "product_id": list("TPICXQZ"),
            "role": ["traffic", "profit", "image", "custom", "traffic", "image", None],
            "net_sales": [2000, 4000, 1800, 300, 500, 4500, 0],
            "units": [100, 40, 2, 1, 10, 30, 0],
            "price": [20, 100, 900, 300, 50, 150, 80],
            "margin": [0.1, 0.5, 0.6, 0.5, 0.2, 0.55, np.nan],
        }
    )
    # over the 6 sold: units median 20; price P90 600, P75 262.5; margin median 0.5;
    # net median 1900
    b = P.role_behaviour(t).set_index("product_id")
    assert b["behaviour_role"].to_dict() == {
        "T": "traffic",  # 100 units >= 20, margin 0.1 below the median
        "P": "profit",  # net 4000 >= 1900, margin 0.5 >= 0.5
        "I": "image",  # price 900 >= 600, 2 units <= 20
        "C": "custom",  # price 300 >= 262.5 (but < 600), 1 unit <= 20
        "X": "tail",  # 10 units, cheap, small sales
        "Q": "profit",
        "Z": "tail",  # no sales
    }
    assert b["role_match"].to_dict() == {
        "T": True,
        "P": True,
        "I": True,
        "C": True,
        "X": False,
        "Q": False,
        "Z": None,
    }
    mix = P.role_mix(b.reset_index(), {"traffic": 2, "profit": 6, "image": 1, "custom": 1})
    m = mix.set_index("role")
    assert m["products"].to_dict() == {"traffic": 2, "profit": 1, "image": 2, "custom": 1}
    assert m["product_share"]["traffic"] == pytest.approx(2 / 6)  # Z has no role
    assert m["target_share"].tolist() == pytest.approx([0.2, 0.6, 0.1, 0.1])  # normalised
    assert m["mix_gap"]["profit"] == pytest.approx(1 / 6 - 0.6)
    assert m["behaving"].to_dict() == {"traffic": 1, "profit": 1, "image": 1, "custom": 1}
    assert m["sales_share"]["image"] == pytest.approx(6300 / 13100)
    rs = P.role_summary(b.reset_index(), mix)
    assert (rs["n_assigned"], rs["n_match"], rs["n_tail"]) == (6, 4, 2)
    assert rs["match_share"] == pytest.approx(4 / 6)
    assert rs["gap_role"] == "profit" and rs["gap"] == pytest.approx(1 / 6 - 0.6)


# --------------------------------------------------------------------------------------------
# funnel


def test_funnel_diagnosis_picks_the_fix():
    rows = {  # impressions, clicks, visitors, add_to_cart, buyers, category
        "n1": (10000, 500, 500, 50, 25, "x"),
        "n2": (10000, 500, 500, 50, 25, "x"),
        "n3": (10000, 500, 500, 50, 25, "x"),
        "lowclick": (20000, 400, 400, 40, 20, "x"),  # ctr .02 = 0.4 x norm
        "detail": (10000, 600, 600, 24, 12, "x"),  # cart .04 = 0.4 x norm
        "checkout": (10000, 500, 500, 60, 6, "x"),  # pay .1 = 0.2 x norm
        "fine": (10000, 450, 450, 40, 20, "x"),  # ctr 0.9, cart 0.89 of norm: ok
        "both": (10000, 350, 350, 10, 5, "x"),  # ctr 0.7, cart 0.29: the worst decides
        "tiny": (100, 5, 5, 1, 0, "x"),  # under 100 visitors
        "y1": (10000, 300, 300, 30, 15, "y"),  # alone in y: judged by the shop norm
    }
    f = pd.DataFrame(
        [(k, *v) for k, v in rows.items()],
        columns=[
            "product_id",
            "impressions",
            "clicks",
            "visitors",
            "add_to_cart",
            "buyers",
            "category",
        ],
    )
    d = P.diagnose_funnel(f, min_visitors=100, tolerance=0.75).set_index("product_id")
    assert d["stage"].to_dict() == {
        "n1": "ok",
        "n2": "ok",
        "n3": "ok",
        "lowclick": "click",
        "detail": "detail",
        "checkout": "checkout",
        "fine": "ok",
        "both": "detail",
        "tiny": "low_traffic",
        "y1": "click",
    }
    assert d.loc["n1", "ctr_norm"] == pytest.approx(0.05)
    assert d.loc["n1", "cart_rate_norm"] == pytest.approx(0.1)
    assert d.loc["n1", "pay_rate_norm"] == pytest.approx(0.5)
    assert d.loc["lowclick", "ctr_vs_norm"] == pytest.approx(0.4)
    assert d.loc["checkout", "pay_rate_vs_norm"] == pytest.approx(0.2)
    assert d.loc["y1", "norm_from"] == "shop" and d.loc["n1", "norm_from"] == "category"
    assert d.loc["y1", "ctr_vs_norm"] == pytest.approx(0.6)
    assert d.loc["detail", "conversion"] == pytest.approx(12 / 600)


def test_product_funnel_uses_product_rows_only():
    days = pd.date_range(AS_OF - pd.Timedelta(days=9), AS_OF)
    prod = pd.DataFrame(
        {
            "date": days,
            "product_id": "A",
            "channel": None,
            "impressions": 1000,
            "clicks": 50,
            "visitors": 40,
            "add_to_cart": 4,
            "buyers": 2,
        }
    )
    shop = prod.assign(product_id=None, channel="search", visitors=10**6)
    old = prod.assign(date=prod["date"] - pd.Timedelta(days=60))  # outside the window
    cat = pd.DataFrame({"product_id": ["A"], "title": ["a"], "category": ["x"]})
    f = P.product_funnel(pd.concat([prod, shop, old]), cat, AS_OF, days=28, min_visitors=100)
    assert f.loc[0, "visitors"] == 400 and f.loc[0, "impressions"] == 10000
    assert f.loc[0, "stage"] == "ok"  # alone: it is its own norm


# --------------------------------------------------------------------------------------------
# life cycle


def test_lifecycle_on_hand_made_trajectories():
    # blocks: column 0 = most recent quarter; stages follow the product's own sales
    traj = {
        "new": [50, 0, 0, 0],
        "rising": [200, 100, 20, 0],  # doubled quarter on quarter
        "mature": [100, 95, 105, 100],
        "falling": [70, 100, 120, 110],  # -30% quarter on quarter
        "fading": [55, 62, 100, 120],  # -11% only, but under half of its 120 peak
        "bounce": [40, 10, 200, 300],  # far below its peak but growing: not declining
        "gone": [0, 10, 50, 40],
    }
    sales = pd.DataFrame.from_dict(traj, orient="index")
    shop = np.array([2000, 1000, 1000, 1000])
    age = np.array([30, 400, 400, 400, 400, 400, 400])
    lc = P.classify_lifecycle(sales, shop, age)
    assert lc["lifecycle"].to_dict() == {
        "new": "new",
        "rising": "rising",
        "mature": "mature",
        "falling": "declining",
        "fading": "declining",
        "bounce": "rising",
        "gone": "inactive",
    }
    assert lc.loc["fading", "peak_ratio"] == pytest.approx(55 / 120)
    # no product is declining while it sold more than the quarter before
    assert (lc.loc[lc["lifecycle"] == "declining", "trend"] < 1).all()
    # too few orders to call a trend: 3 + 2 orders < 10
    thin = P.classify_lifecycle(
        pd.DataFrame({0: [30], 1: [20]}),
        np.array([1000, 1000]),
        np.array([400]),
        block_orders=np.array([[3, 2]]),
    )
    assert thin["lifecycle"].iloc[0] == "thin"
    assert lc.loc["rising", "trend"] == pytest.approx(2.0)
    # with order counts, a +50% share move on 8 -> 12 orders is chance: z = 4/sqrt(20) < 2
    flat = np.array([1000, 1000])
    few = pd.DataFrame({0: [12], 1: [8]}, index=["noisy"])
    lc2 = P.classify_lifecycle(few, flat, np.array([400]), block_orders=np.array([[12, 8]]))
    assert lc2.loc["noisy", "lifecycle"] == "mature"
    more = pd.DataFrame({0: [32], 1: [16]}, index=["real"])  # z = 16/sqrt(48) = 2.3
    lc3 = P.classify_lifecycle(more, flat, np.array([400]), block_orders=np.array([[32, 16]]))
    assert lc3.loc["real", "lifecycle"] == "rising"


def test_long_seller_needs_two_years_of_steady_sales():
    days = pd.date_range(AS_OF - pd.Timedelta(days=729), AS_OF)
    rows = []
    for p, start, net in (("steady", 0, 10.0), ("young", 400, 5.0)):
        for d in days[start:]:
            rows.append((p, d, net, 1, 1, np.nan))
    daily = pd.DataFrame(rows, columns=["product_id", "day", "net", "units", "orders", "cogs"])
    cat = pd.DataFrame(
        {
            "product_id": ["steady", "young"],
            "title": ["s", "y"],
            "role": [None, None],
            "start_date": [days[0], days[400]],
        }
    )
    lc = P.lifecycle(daily, cat, AS_OF).set_index("product_id")
    assert lc["years_selling"].to_dict() == {"steady": 2, "young": 1}
    assert lc["long_seller"].to_dict() == {"steady": True, "young": False}
    assert lc.loc["steady", "lifecycle"] == "mature"


# --------------------------------------------------------------------------------------------
# stock cover


def _daily_units(spec: dict[str, list[float]]) -> pd.DataFrame:
    """Daily table: product -> units on each of the last len(list) days (ending AS_OF)."""
    rows = []
    for p, units in spec.items():
        for k, u in enumerate(units[::-1]):
            if u:
                rows.append((p, AS_OF - pd.Timedelta(days=k), 10.0 * u, u, u, np.nan))
    return pd.DataFrame(rows, columns=["product_id", "day", "net", "units", "orders", "cogs"])


def test_stock_cover_and_festival_risk_arithmetic():
    daily = _daily_units({"S1": [1] * 28, "S2": [2] * 28, "S4": [1] * 28})
    cat = pd.DataFrame(
        {
            "product_id": ["S1", "S2", "S3", "S4"],
            "title": list("abcd"),
            "role": None,
            "stock": [30.0, 40.0, 5.0, 30.0],
            "lead_time_days": [10.0, 30.0, 7.0, 40.0],
        }
    )
    d = lambda n: AS_OF + pd.Timedelta(days=n)  # noqa: E731
    nodes = pd.DataFrame(
        {
            "key": ["n1", "n2"],
            "start": [d(20), d(40)],
            "end": [d(22), d(45)],
            "presale_start": [pd.NaT, d(35)],
        }
    )
    s = P.stock_cover(daily, cat, AS_OF, nodes, {"n1": 3.0, "n2": 2.0}).set_index("product_id")
    assert s.loc["S1", "velocity"] == pytest.approx(1.0)
    assert s.loc["S1", "cover_days"] == pytest.approx(30.0)
    assert s.loc["S1", "stockout_date"] == d(30)
    # S1, n1: 1 x 22 days + 1 x (3 - 1) x 3 festival days = 28 <= 30: fine;
    # n2: 1 x 45 + n1's extra 1 x 2 x 3 + 1 x (2 - 1) x 11 days (pre-sale from d35) = 62
    # -> short 32, order by d35 - 10
    assert s.loc["S1", "node"] == "n2"
    assert s.loc["S1", "need_to_node"] == pytest.approx(62)
    assert s.loc["S1", "shortfall"] == pytest.approx(32)
    assert s.loc["S1", "reorder_by"] == d(25)
    assert s.loc["S1", "status"] == "node_risk"
    # S2, n1: 2 x 22 + 2 x 2 x 3 = 56 vs 40 -> short 16; order by d20 - 30 days: too late
    assert s.loc["S2", "node"] == "n1" and s.loc["S2", "shortfall"] == pytest.approx(16)
    assert s.loc["S2", "reorder_by"] == d(-10) and s.loc["S2", "status"] == "node_late"
    assert s.loc["S3", "status"] == "no_sales" and np.isinf(s.loc["S3", "cover_days"])
    # S4, n2: 62 needed vs 30 -> short 32, order by d35 - 40 days: late too; bigger gap first
    assert s.loc["S4", "status"] == "node_late" and s.loc["S4", "shortfall"] == pytest.approx(32)
    assert list(s.index) == ["S4", "S2", "S1", "S3"]
    # without nodes: S2 (20 days of cover, lead 30) and S4 (30 days, lead 40) run out before a
    # restock ordered today lands; S1 (30 days, lead 10) is fine
    s0 = P.stock_cover(daily, cat, AS_OF, nodes.iloc[:0]).set_index("product_id")
    assert s0["status"].to_dict() == {
        "S1": "ok",
        "S2": "low_cover",
        "S3": "no_sales",
        "S4": "low_cover",
    }


def test_velocity_leaves_out_festival_days():
    units = [1] * 28
    units[-7:] = [4] * 7  # a festival week at the end: 3 extra a day
    daily = _daily_units({"F": units})
    cat = pd.DataFrame(
        {
            "product_id": ["F"],
            "title": ["f"],
            "role": None,
            "stock": [10.0],
            "lead_time_days": [5.0],
        }
    )
    fest = pd.date_range(AS_OF - pd.Timedelta(days=6), AS_OF)
    no = pd.DataFrame(columns=["key", "start", "end", "presale_start"])
    plain = P.stock_cover(daily, cat, AS_OF, no)
    calm = P.stock_cover(daily, cat, AS_OF, no, festive_days=fest)
    assert plain.loc[0, "velocity"] == pytest.approx(49 / 28)
    assert calm.loc[0, "velocity"] == pytest.approx(21 / 21)


# --------------------------------------------------------------------------------------------
# price bands


def test_price_bands_by_hand():
    t = pd.DataFrame(
        {
            "price": [30, 60, 90, 120, 500],
            "net_sales": [100.0, 200.0, 0.0, 300.0, 400.0],
            "units": [4, 4, 0, 3, 1],
            "gross_profit": [10.0, 50.0, 0.0, np.nan, 200.0],
        }
    )
    b = P.price_bands(t, edges=[50, 100])
    assert b["band"].tolist() == ["0–50", "50–100", "≥100"]
    assert b["products"].tolist() == [1, 2, 2]
    assert b["net_sales"].tolist() == [100, 200, 700]
    assert b["sales_share"].tolist() == pytest.approx([0.1, 0.2, 0.7])
    assert b["margin"].tolist() == pytest.approx([0.1, 0.25, 0.5])  # 200 / 400: cost-known only
    assert P._nice(137) == 150 and P._nice(79) == 80 and P._nice(1234) == 1000


# --------------------------------------------------------------------------------------------
# 爆款 tendency


def test_hot_tendency_flags_the_accelerating_young_product():
    days = pd.date_range(AS_OF - pd.Timedelta(days=83), AS_OF)
    ramp = np.clip(np.arange(len(days)) - (len(days) - 42), 0, None) * 800 / 42
    series = {f"top{i}": np.full(len(days), 1000.0) for i in range(10)}
    series |= {f"flat{i}": np.full(len(days), 100.0) for i in range(8)}
    series |= {"young": ramp, "old": ramp}
    daily = pd.concat(
        [
            pd.DataFrame(
                {"product_id": p, "day": days, "net": v, "units": 1, "orders": 1, "cogs": np.nan}
            )
            for p, v in series.items()
        ]
    )
    cat = pd.DataFrame(
        {"product_id": list(series), "title": list(series), "category": None, "role": None}
    )
    cat["start_date"] = AS_OF - pd.Timedelta(days=1000)
    cat.loc[cat["product_id"] == "young", "start_date"] = AS_OF - pd.Timedelta(days=45)
    h = P.hot_tendency(daily, cat, AS_OF).set_index("product_id")
    assert h["flag"].sum() == 1 and h.loc["young", "flag"]
    assert h.loc["young", "watch_rank"] == 1
    assert not h.loc["old", "flag"]  # same curve, but not young: not an early tendency
    assert not h.loc["top0", "flag"] and h.loc["top0", "is_top"]
    assert h.loc["young", "hot_score"] > 1 and not h.loc["flat0", "flag"]


@pytest.fixture(scope="module")
def demo_tables():
    return sample.generate(7)


def test_hot_backtest_flags_planted_hits_weeks_ahead(demo_tables):
    t = demo_tables
    cat = P.product_catalogue(t["orders"], t["products"])
    daily = P.daily_product_sales(t["orders"], cat)
    bt = P.hot_backtest(daily, cat, "2024-03-03", "2025-12-31")  # every Sunday
    hot = set(t["truth"].loc[t["truth"]["hot"], "product_id"])
    planted = bt[bt["product_id"].isin(hot)].set_index("product_id")
    assert len(planted) == len(hot) == 4
    assert planted["hit"].all()
    # on the weekly watch list before their trailing-30-day sales reach the top 10: 34, 21,
    # 42 and 12 days ahead (the minimum evidence of 5 orders in 4 weeks and 28 days on sale
    # costs the last one two weeks: 26 days without it) ...
    assert planted["lead_days"].tolist() == [34, 21, 42, 12]
    # ... and no later than the calendar month in which they first rank top 10 begins
    month_lead = (planted["entry_month"] - planted["first_flag"]).dt.days
    assert month_lead.min() >= 0
    # the watch list is short and mostly right: 14 of 18 flagged became top sellers (without
    # the minimum evidence 14 of 21)
    flagged = bt[bt["first_flag"].notna()]
    assert len(flagged) == 18 and flagged["hit"].sum() == 14


def test_orders_only_shop_runs_end_to_end(small_tables):
    """A shop with orders only (Shopify-like): every analysis runs and sales add up."""
    from helpers.core import codes

    orders = small_tables["orders"]
    as_of = orders["order_time"].max().normalize()
    cat = P.product_catalogue(orders, None, as_of)
    assert cat["role"].isna().all() and cat["cost"].isna().all()
    assert (cat["price"] > 0).all() and cat["title"].notna().all()
    daily = P.daily_product_sales(orders, cat)
    assert daily["net"].sum() == pytest.approx(codes.sales_lines(orders)["net"].sum())
    assert (
        daily["orders"].sum()
        == codes.sales_lines(orders)[["order_id", "product_id"]].drop_duplicates().shape[0]
    )
    abc = P.abc_analysis(daily, cat, as_of, days=10_000)
    assert abc["net_sales"].sum() == pytest.approx(daily["net"].sum())
    assert abc["gross_profit"].isna().all() and abc["abc_gp"].isna().all()
    assert "n_a_gp" not in P.abc_summary(abc)
    beh = P.role_behaviour(abc)
    mix = P.role_mix(beh, {"traffic": 0.2, "profit": 0.6, "image": 0.1, "custom": 0.1})
    assert (mix["basis"] == "behaviour").all()
    assert mix["products"].sum() + (beh["behaviour_role"] == "tail").sum() == len(beh)
    assert mix["product_share"].sum() == pytest.approx(1.0)
    lc = P.lifecycle(daily, cat, as_of)
    assert set(lc["lifecycle"]) <= set(P.LIFECYCLE_STAGES)
    hot = P.hot_tendency(daily, cat, as_of)
    assert len(hot) == len(cat) and "conversion" not in hot.columns
    bands = P.price_bands(abc)
    assert bands["products"].sum() == len(abc)
    scores = P.product_scores(beh, lc, hot)
    assert len(scores) == len(cat) and scores["stock_cover_days"].isna().all()
