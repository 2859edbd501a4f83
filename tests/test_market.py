"""Market positioning (helpers.analysis.market): size arithmetic, growth range, forecast, opportunity,
price bands and crowd, each against a hand calculation."""

import math

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import market


def rates(click=0.2, conv=0.03, aov=80.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"value": [click, conv, aov], "source": ["traffic", "shop.yaml", "orders"]},
        index=["click_rate", "conversion_rate", "order_value"],
    )


def order_lines(rows) -> pd.DataFrame:
    """rows: (order_id, customer_id, time, amount, status, province, device, unit_price)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "customer_id",
            "order_time",
            "paid_amount",
            "status",
            "province",
            "device",
            "unit_price",
        ],
    )
    df["order_time"] = pd.to_datetime(df["order_time"])
    df["line_id"] = "1"
    df["product_id"] = "P"
    df["quantity"] = 1
    df["refund_amount"] = 0.0
    df["city"] = None
    return df


def test_market_size_arithmetic_and_sources():
    kw = pd.DataFrame(
        {
            "keyword": ["A", "A", "B"],
            "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
            "group": ["G", "G", None],
            "search_volume": [1000.0, 2000.0, 500.0],
            "click_rate": [0.1, 0.05, np.nan],
            "conversion_rate": [0.02, np.nan, 0.04],
            "avg_price": [100.0, 50.0, np.nan],
            "online_products": [np.nan] * 3,
        }
    )
    s = market.market_size(kw, rates()).set_index(["keyword", "month"])
    # 1000 × 0.1 × 0.02 × 100; A-02: 2000 × 0.05 × 0.03 (fallback) × 50;
    # B-01 (mid-month date → its month): 500 × 0.2 (fallback) × 0.04 × 80 (fallback)
    assert s["market_size"].tolist() == pytest.approx([200.0, 150.0, 320.0])
    assert s["buyers"].tolist() == pytest.approx([2.0, 3.0, 4.0])
    b = s.loc[("B", pd.Timestamp("2024-01-01"))]
    assert b["group"] == "B"  # no group: the keyword is its own group
    assert (b["click_rate_source"], b["conversion_rate_source"], b["order_value_source"]) == (
        "traffic",
        "keywords",
        "orders",
    )
    assert s.loc[("A", pd.Timestamp("2024-02-01")), "conversion_rate_source"] == "shop.yaml"
    assert market.market_size(kw, rates(), as_of="2024-01-31")["month"].nunique() == 1


def test_fallback_rates_from_traffic_orders_and_yaml():
    traffic = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02"]),
            "product_id": [None, None, "P1"],  # product rows are ignored when shop rows exist
            "impressions": [1000, 3000, 10],
            "clicks": [50, 150, 10],
            "visitors": [100, 300, 10],
            "buyers": [3, 9, 10],
        }
    )
    orders = order_lines(
        [
            ("o1", "c1", "2024-01-01 10:00", 100.0, "paid", "x", "pc", 100.0),
            ("o2", "c2", "2024-01-02 10:00", 300.0, "paid", "x", "pc", 300.0),
            ("o3", "c2", "2024-01-02 11:00", 999.0, "cancelled", "x", "pc", 999.0),
        ]
    )
    r = market.fallback_rates(
        orders, traffic, {"click_rate": 0.07, "conversion_rate": 0.02, "avg_order_value": None}
    )
    assert r.loc["click_rate", "value"] == pytest.approx(200 / 4000)
    assert r.loc["conversion_rate", "value"] == pytest.approx(12 / 400)
    assert r.loc["order_value", "value"] == pytest.approx(200.0)
    assert r["source"].tolist() == ["traffic", "traffic", "orders"]
    y = market.fallback_rates(
        orders, None, {"click_rate": 0.07, "conversion_rate": 0.02, "avg_order_value": 150}
    )
    assert y["value"].tolist() == pytest.approx([0.07, 0.02, 150.0])
    assert set(y["source"]) == {"shop.yaml"}


def test_growth_range_arithmetic():
    g = market.growth_range([0.1, 0.2, 0.3, np.nan])
    assert g["growth_mean"] == pytest.approx(0.2)
    assert g["growth_std"] == pytest.approx(0.1)
    assert (g["growth_low"], g["growth_high"]) == pytest.approx((0.1, 0.3))
    assert g["growth_n"] == 3
    one = market.growth_range([0.05])
    assert one["growth_low"] == one["growth_high"] == pytest.approx(0.05)
    assert math.isnan(one["growth_std"])
    assert math.isnan(market.growth_range([])["growth_mean"])


def flat_keywords() -> pd.DataFrame:
    """One keyword whose market = search volume: 100 a month in 2023; 2024 quarters
    110, 120, 130, 140 a month. A second keyword only in 2024 (no like-for-like pair)."""
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    vol = [100.0] * 12 + [110.0] * 3 + [120.0] * 3 + [130.0] * 3 + [140.0] * 3
    a = pd.DataFrame({"keyword": "A", "month": months, "group": "G", "search_volume": vol})
    b = pd.DataFrame({"keyword": "B", "month": months[12:], "group": "G", "search_volume": 1000.0})
    kw = pd.concat([a, b], ignore_index=True)
    return kw.assign(click_rate=1.0, conversion_rate=1.0, avg_price=1.0, online_products=np.nan)


def test_quarterly_growth_is_like_for_like():
    s = market.market_size(flat_keywords(), rates())
    g = market.quarterly_growth(s, "group")
    assert g["period"].tolist() == ["FY2024-Q1", "FY2024-Q2", "FY2024-Q3", "FY2024-Q4"]
    assert g["growth"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])  # B never counts
    assert g["prev"].tolist() == pytest.approx([300.0] * 4)


def test_forecast_mean_plus_mean_growth_with_range():
    s = market.market_size(flat_keywords(), rates())
    fc = market.forecast(s, "keyword").set_index("key")
    a = fc.loc["A"]
    std = np.std([0.1, 0.2, 0.3, 0.4], ddof=1)
    assert a["years"] == 2 and a["last_fy"] == "FY2024"
    assert a["market_last_year"] == pytest.approx(1500.0)
    assert a["market_mean"] == pytest.approx(1350.0)
    assert a["growth_mean"] == pytest.approx(0.25)
    assert a["market_next"] == pytest.approx(1350 * 1.25)
    assert a["market_next_low"] == pytest.approx(1350 * (1.25 - std))
    assert a["market_next_high"] == pytest.approx(1350 * (1.25 + std))
    assert a["market_next_from_last"] == pytest.approx(1500 * 1.25)
    # B: one year, no growth observation → no growth, range collapses to the mean
    b = fc.loc["B"]
    assert b["growth_n"] == 0 and b["market_next"] == pytest.approx(12000.0)
    tot = fc.loc[market.TOTAL]
    assert tot["market_last_year"] == pytest.approx(13500.0)
    assert tot["growth_mean"] == pytest.approx(0.25)
    art = market.market_forecast(flat_keywords(), None, None, {}, 1)
    assert art["growth_mean"] == pytest.approx(0.25) and art["source"] == "keywords"
    assert art["market_next_year"] == pytest.approx((1200 + 13500) / 2 * 1.25)


def test_forecast_with_fiscal_year_starting_in_april():
    s = market.market_size(flat_keywords()[lambda d: d["keyword"] == "A"], rates(), start_month=4)
    fc = market.forecast(s, "keyword", total=False).iloc[0]
    # FY2023 = Apr 2023 – Mar 2024 is the only complete year: 9 × 100 + 3 × 110
    assert fc["years"] == 1 and fc["last_fy"] == "FY2023"
    assert fc["market_last_year"] == pytest.approx(1230.0)
    assert fc["growth_mean"] == pytest.approx(0.25)  # same four YoY quarters
    assert fc["market_next"] == pytest.approx(1230 * 1.25)


def test_opportunity_ranks_size_times_growth_over_competition():
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    rows = []
    for k, v23, v24, comp in (("A", 100, 120, 100), ("B", 500, 550, 1000), ("C", 300, 270, 10)):
        for m in months:
            rows.append(
                {
                    "keyword": k,
                    "month": m,
                    "group": "G",
                    "search_volume": float(v23 if m.year == 2023 else v24),
                    "click_rate": 1.0,
                    "conversion_rate": 1.0,
                    "avg_price": 1.0,
                    "online_products": float(comp),
                }
            )
    s = market.market_size(pd.DataFrame(rows), rates())
    op = market.opportunity(s, market.forecast(s, "keyword", total=False))
    # A: 1440 × 0.2 / 100 = 2.88; B: 6600 × 0.1 / 1000 = 0.66; C: 3240 × -0.1 / 10 = -32.4
    assert op["keyword"].tolist() == ["A", "B", "C"]
    assert op["opportunity"].tolist() == pytest.approx([2.88, 0.66, -32.4])
    assert op["opportunity_index"].tolist() == pytest.approx(
        [100, 0.66 / 2.88 * 100, -32.4 / 2.88 * 100]
    )
    assert op["rank"].tolist() == [1, 2, 3]


def test_shop_growth_from_complete_quarters():
    days = pd.date_range("2023-01-01", "2024-12-31", freq="D")
    amt = np.where(days.year == 2023, 100.0, 110.0)
    orders = order_lines(
        [(f"o{i}", "c", d, a, "paid", "x", "pc", a) for i, (d, a) in enumerate(zip(days, amt))]
    )
    g = market.shop_growth(orders, 1)
    q1 = 110 * 91 / (100 * 90) - 1  # 2024 is a leap year
    assert g["growth_n"] == 4
    assert g["growth_mean"] == pytest.approx((q1 + 0.3) / 4)
    art = market.market_forecast(None, orders, None, {}, 1)
    assert art["source"] == "shop" and art["market_next_year"] is None
    assert art["growth_mean"] == pytest.approx((q1 + 0.3) / 4)


def test_nice_edges_and_labels():
    assert market.nice_edges(np.linspace(39, 899, 1000)) == [100, 200, 500]
    assert market.band_labels([50, 100]) == ["<50", "50–100", "≥100"]


def test_price_bands_shop_against_market():
    orders = order_lines(
        [
            ("o1", "c1", "2024-06-01", 30.0, "paid", "x", "pc", 30.0),
            ("o2", "c1", "2024-06-02", 160.0, "paid", "x", "pc", 80.0),
            ("o3", "c2", "2024-06-03", 250.0, "paid", "x", "pc", 250.0),
            ("o4", "c2", "2024-06-03", 500.0, "cancelled", "x", "pc", 500.0),
        ]
    )
    sized = pd.DataFrame(
        {
            "keyword": ["k1", "k2", "k3"],
            "month": pd.to_datetime(["2024-05-01"] * 3),
            "order_value": [90.0, 300.0, 150.0],
            "market_size": [100.0, 300.0, 999.0],
            "order_value_source": ["keywords", "keywords", "orders"],  # k3 has no own price
        }
    )
    pb = market.price_bands(orders, sized, edges=[50, 100, 200])
    assert pb["band"].tolist() == ["<50", "50–100", "100–200", "≥200"]
    assert pb["shop_sales"].tolist() == pytest.approx([30, 160, 0, 250])
    assert pb["shop_share"].tolist() == pytest.approx([30 / 440, 160 / 440, 0, 250 / 440])
    assert pb["market_share"].tolist() == pytest.approx([0, 0.25, 0, 0.75])
    assert pb["share_gap"].iloc[3] == pytest.approx(0.75 - 250 / 440)
    alone = market.price_bands(orders, None, edges=[50, 100, 200])
    assert alone["market_share"].isna().all()


def test_crowd_profile_and_core_crowd():
    orders = order_lines(
        [
            ("o0", "c1", "2022-12-01", 100.0, "paid", "广东省", "mobile", 100.0),
            ("o1", "c1", "2024-03-01", 100.0, "paid", "广东省", "mobile", 100.0),
            ("o2", "c2", "2024-05-01", 50.0, "paid", "浙江省", "pc", 50.0),
            ("o3", "c2", "2024-06-01", 150.0, "paid", "浙江省", "mobile", 150.0),
            ("o4", "c3", "2024-07-01", 300.0, "paid", None, "mobile", 300.0),
        ]
    )
    cp = market.crowd_profile(orders, as_of="2024-12-31", window_days=365, value_edges=[100])
    t = cp.table.set_index(["dimension", "value"])
    assert t.loc[("customer_type", "new"), "buyers"] == 2  # c2, c3 first bought in the window
    assert t.loc[("customer_type", "returning"), "sales"] == 100.0
    assert t.loc[("customer_type", "new"), "sales_share"] == pytest.approx(500 / 600)
    assert t.loc[("province", "unknown"), "sales"] == 300.0
    assert t.loc[("device", "mobile"), "orders"] == 3
    assert t.loc[("device", "mobile"), "sales_share"] == pytest.approx(550 / 600)
    assert t.loc[("order_value_band", "<100"), "orders"] == 1
    assert t.loc[("order_value_band", "≥100"), "order_share"] == pytest.approx(0.75)
    assert cp.dimensions == ["province", "device", "customer_type", "order_value_band"]
    core = cp.core
    assert core["device"] == "mobile" and core["device_share"] == pytest.approx(550 / 600)
    assert core["regions"] == "浙江省、广东省"  # unknown is not a region
    assert core["region_share"] == pytest.approx(300 / 600)
    assert core["band"] == "≥100" and core["band_share"] == pytest.approx(0.75)
    assert core["returning_share"] == pytest.approx(100 / 600)
    # history from 2023-06-01 only: the 12-month look-back before the window is not covered,
    # so the new/returning split is left out rather than guessed
    late = orders.assign(
        order_time=orders["order_time"].replace(
            pd.Timestamp("2022-12-01"), pd.Timestamp("2023-06-01")
        )
    )
    cp = market.crowd_profile(late, as_of="2024-12-31", window_days=365, value_edges=[100])
    assert "customer_type" not in cp.dimensions and "returning_share" not in cp.core


def test_analyse_in_one_call():
    v = market.analyse(
        flat_keywords(),
        None,
        None,
        {"click_rate": 0.05, "conversion_rate": 0.03, "avg_order_value": None},
    )
    assert v.artifact["growth_mean"] == pytest.approx(0.25)
    assert v.artifact["market_last_year"] == pytest.approx(13500.0)
    p = v.periods.set_index(["level", "by", "key", "period"])["market_size"]
    assert p[("year", "keyword", "A", "FY2024")] == pytest.approx(1500.0)
    assert p[("quarter", "group", "G", "FY2024-Q4")] == pytest.approx(3 * 140 + 3 * 1000)
    assert v.keywords["keyword"].tolist() == ["A", "B"]  # B has no growth: opportunity 0
    assert v.sources["click_rate"] == {"keywords": 1.0}
