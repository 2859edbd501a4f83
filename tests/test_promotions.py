"""Promotion plan (notebook 05): every number checked against a hand calculation."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from helpers.analysis import promotions as pr
from helpers.deliver import workbooks
from helpers.present import narrative


def _orders(rows):
    """Canonical-enough orders from (order_id, day, product_id, qty, paid, refund, status, cust)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "order_time",
            "product_id",
            "quantity",
            "paid_amount",
            "refund_amount",
            "status",
            "customer_id",
        ],
    )
    df["order_time"] = pd.to_datetime(df["order_time"])
    df["line_id"] = df["order_id"] + "-1"
    df["title"] = "商品" + df["product_id"]
    df["unit_price"] = df["paid_amount"] / df["quantity"]
    df["channel"] = "search"
    return df


# --------------------------------------------------------------------------------------------
# funnel


def test_daily_funnel_counts_and_identity():
    o = _orders(
        [
            ("o1", "2025-01-01 10:00", "p1", 1, 100.0, 0.0, "paid", "c1"),
            ("o2", "2025-01-01 11:00", "p1", 2, 200.0, 50.0, "partially_refunded", "c1"),
            ("o3", "2025-01-01 12:00", "p2", 1, 80.0, 0.0, "cancelled", "c2"),
            ("o4", "2025-01-03 12:00", "p2", 1, 80.0, 0.0, "paid", "c2"),
        ]
    )
    traffic = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-03"]),
            "product_id": [None, None, None],
            "channel": ["search", "live", "search"],
            "visitors": [30, 20, 40],
        }
    )
    f = pr.daily_funnel(o, traffic)
    assert f["date"].dt.strftime("%d").tolist() == ["01", "02", "03"]
    # day 1: one buyer (c1) with two orders, net 100 + 150; the cancelled order is no sale
    assert f.loc[0, ["visitors", "buyers", "orders", "units"]].tolist() == [50, 1, 2, 3]
    assert f.loc[0, "net_sales"] == pytest.approx(250.0)
    assert f.loc[0, "refunds"] == pytest.approx(50.0)
    # day 2 has no traffic row: visitors = buyers / pooled conversion (2 buyers / 90 visitors)
    assert f.loc[1, "visitors"] == 0 and bool(f.loc[1, "visitors_estimated"])
    s = f["visitors"] * (f["buyers"] / f["visitors"]) * (f["net_sales"] / f["buyers"])
    assert s[f["buyers"] > 0].to_numpy() == pytest.approx(
        f["net_sales"][f["buyers"] > 0].to_numpy()
    )


def test_daily_funnel_without_traffic_uses_assumed_conversion():
    o = _orders(
        [
            ("o1", "2025-01-01", "p1", 1, 100.0, 0.0, "paid", "c1"),
            ("o2", "2025-01-01", "p1", 1, 100.0, 0.0, "paid", "c2"),
        ]
    )
    f = pr.daily_funnel(o, None, conversion_rate=0.04)
    assert f.loc[0, "visitors"] == pytest.approx(50.0)  # 2 buyers / 4%
    assert f["visitors_estimated"].all()


def test_complete_through_skips_trailing_pending_days():
    o = _orders(
        [
            ("o1", "2025-01-01", "p1", 1, 100.0, 0.0, "paid", "c1"),
            ("o2", "2025-01-02", "p1", 1, 100.0, 0.0, "pending", "c2"),
            ("o3", "2025-01-03", "p1", 1, 100.0, 0.0, "pending", "c3"),
        ]
    )
    assert pr.complete_through(o, "2025-01-03") == pd.Timestamp("2025-01-01")
    o.loc[2, "status"] = "paid"
    assert pr.complete_through(o, "2025-01-03") == pd.Timestamp("2025-01-03")


# --------------------------------------------------------------------------------------------
# calendar and forecast


def test_campaign_calendar_repeats_own_campaigns_and_takes_shop_dates_for_nodes():
    camps = pd.DataFrame(
        {
            "campaign_id": ["CL24", "D11"],
            "name": ["2024 换季清仓", "双11大促"],
            "type": ["clearance", "festival"],
            "start": pd.to_datetime(["2024-08-15", "2025-10-25"]),
            "end": pd.to_datetime(["2024-08-25", "2025-11-11"]),
            "product_ids": ["", "p1;p2"],
            "budget": [3000.0, 20000.0],
            "spend": [2600.0, np.nan],
        }
    )
    plan = pr.campaign_calendar(2025, 1, "2024-12-31", camps)
    rep = plan[plan["source"] == "repeat"].iloc[0]
    assert rep["name_zh"] == "2025 换季清仓"
    assert (rep["start"], rep["end"]) == (pd.Timestamp("2025-08-15"), pd.Timestamp("2025-08-25"))
    d11 = plan[plan["series"] == "double11"].iloc[0]
    assert d11["source"] == "shop" and d11["launch"] == pd.Timestamp("2025-10-25")
    assert d11["product_ids"] == "p1;p2" and d11["days"] == 18
    assert plan["launch"].is_monotonic_increasing
    # campaigns over by as_of are not planned
    late = pr.campaign_calendar(2025, 1, "2025-11-30", camps)
    assert set(late["series"]) == {"double12"}


def _flat_funnel(start, end, windows_boost):
    days = pd.date_range(start, end, freq="D")
    f = pd.DataFrame(
        {
            "date": days,
            "visitors": 100.0,
            "buyers": 2,
            "net_sales": 200.0,
            "visitors_estimated": False,
        }
    )
    for s, e, b, sales in windows_boost:
        m = (f["date"] >= s) & (f["date"] <= e)
        f.loc[m, "buyers"] = b
        f.loc[m, "net_sales"] = sales
    return f


def test_forecast_is_visitors_times_conversion_times_order_value():
    # two past windows of series "x": 2024 (2 buyers, 200 a day) and 2025 (4 buyers, 480 a day)
    f = _flat_funnel(
        "2023-12-01",
        "2025-11-30",
        [("2024-06-01", "2024-06-02", 2, 200.0), ("2025-06-01", "2025-06-02", 4, 480.0)],
    )
    hist = pd.DataFrame(
        {
            "series": ["x", "x"],
            "launch": pd.to_datetime(["2024-06-01", "2025-06-01"]),
            "end": pd.to_datetime(["2024-06-02", "2025-06-02"]),
        }
    )
    plan = pd.DataFrame(
        {
            "campaign_id": ["c"],
            "series": ["x"],
            "launch": [pd.Timestamp("2026-06-01")],
            "end": [pd.Timestamp("2026-06-02")],
            "days": [2],
            "weight": [1.0],
        }
    )
    targets = pd.DataFrame(
        {"date": pd.date_range("2026-01-01", "2026-12-31"), "target_sales": 100.0}
    )
    fc = pr.forecast_campaigns(plan, hist, f, "2025-11-30", targets, n_boot=200, seed=1)
    r = fc.iloc[0]
    # visitors are flat (growth 1): 100 a day × 2 days; conversion (2+2+4+4)/400; value 1360/12
    assert fc.attrs["visitor_growth"] == pytest.approx(1.0)
    assert r["visitors"] == pytest.approx(200.0)
    assert r["conversion"] == pytest.approx(0.03)
    assert r["order_value"] == pytest.approx(1360 / 12)
    assert r["expected_sales"] == pytest.approx(680.0)
    assert r["sales_low"] <= 680.0 <= r["sales_high"]
    assert r["target_sales"] == pytest.approx(200.0) and r["vs_target"] == pytest.approx(2.4)
    again = pr.forecast_campaigns(plan, hist, f, "2025-11-30", targets, n_boot=200, seed=1)
    assert again["sales_low"].iloc[0] == r["sales_low"]  # seeded


def test_forecast_without_history_uses_recent_level_times_prior_weight():
    f = _flat_funnel("2025-01-01", "2025-11-30", [])
    plan = pd.DataFrame(
        {
            "campaign_id": ["c"],
            "series": ["new"],
            "launch": [pd.Timestamp("2026-03-01")],
            "end": [pd.Timestamp("2026-03-03")],
            "days": [3],
            "weight": [1.5],
        }
    )
    hist = pd.DataFrame({"series": [], "launch": pd.to_datetime([]), "end": pd.to_datetime([])})
    r = pr.forecast_campaigns(plan, hist, f, "2025-11-30", n_boot=50).iloc[0]
    assert r["basis"] == "prior"
    assert r["expected_sales"] == pytest.approx(200.0 * 1.5 * 3)  # 200 a day × weight × days


def test_fallback_targets_is_last_year_same_day_times_ambition():
    o = _orders(
        [
            ("o1", "2024-03-01", "p1", 1, 100.0, 0.0, "paid", "c1"),
            ("o2", "2024-02-29", "p1", 1, 40.0, 0.0, "paid", "c1"),
        ]
    )
    t = pr.fallback_targets(o, 2025, 1, 0.15)
    assert len(t) == 365
    assert t.set_index("date").loc["2025-03-01", "target_sales"] == pytest.approx(115.0)
    assert t["target_sales"].sum() == pytest.approx(115.0)  # 29 Feb has no day in 2025


# --------------------------------------------------------------------------------------------
# heroes and stock


def _recent_orders(as_of="2026-01-01", days=90, pid="p1", price=50.0):
    end = pd.Timestamp(as_of)
    rows = [
        (f"o{i}", end - pd.Timedelta(days=i), pid, 1, price, 0.0, "paid", f"c{i}")
        for i in range(days)
    ]
    return _orders(rows)


def test_hero_group_takes_hot_first_then_top_sellers():
    o = pd.concat(
        [
            _recent_orders(pid="p1", price=50.0),
            _recent_orders(pid="p2", price=30.0).assign(order_id=lambda d: "b" + d["order_id"]),
            _recent_orders(pid="p3", price=10.0).assign(order_id=lambda d: "c" + d["order_id"]),
        ]
    )
    watch = pd.DataFrame({"product_id": ["p3"], "flag": [True], "watch_rank": [1.0]})
    h = pr.hero_group(o, "2026-01-01", hot_watchlist=watch, n=2, n_hot=1)
    assert h["product_id"].tolist() == ["p3", "p1"]
    assert h["reason"].tolist() == ["hot", "top"]
    assert h["share"].tolist() == pytest.approx([900 / 8100, 4500 / 8100])
    # 03 marked its evidence thin (few orders or days on sale): the hero says so
    thin = pr.hero_group(o, "2026-01-01", hot_watchlist=watch.assign(evidence="thin"), n=2, n_hot=1)
    assert thin["reason"].tolist() == ["hot_thin", "top"]


def test_clearance_candidates_cover_and_markdown():
    o = _recent_orders(days=9)  # p1: 9 units in 90 days = 0.1 a day
    products = pd.DataFrame(
        {
            "product_id": ["p1", "p2", "p3"],
            "title": ["a", "b", "c"],
            "price": [100.0, 100.0, 100.0],
            "cost": [40.0, np.nan, 40.0],
            "stock": [40, 5, 0],
        }
    )
    c = pr.clearance_candidates(o, products, "2026-01-01", gross_margin=0.3)
    # p1: 40 / 0.1 = 400 days of cover -> 30% off; p2 never sold: infinite cover (NaN)
    assert c["product_id"].tolist() == ["p1", "p2"]
    assert c["cover_days"].iloc[0] == pytest.approx(400.0) and np.isnan(c["cover_days"].iloc[1])
    assert c["stock_value"].tolist() == pytest.approx([1600.0, 350.0])
    assert c["markdown"].tolist() == [0.3, 0.3]


# --------------------------------------------------------------------------------------------
# marketing levers

BASKETS = [80, 90, 95, 100, 150, 160, 180, 190, 195, 250]


def test_threshold_curve_by_hand():
    c = pr.threshold_curve(
        BASKETS, [100, 200], band=0.2, take_up=0.5, discount_rate=0.1, gross_margin=0.35
    )
    # X=100: band [80, 100) holds 80, 90, 95; 7 baskets already >= 100; Y = 10
    # X=200: band [160, 200) holds 160, 180, 190, 195; only 250 qualifies; Y = 20
    assert c["near"].tolist() == [3, 4]
    assert c["lifted"].tolist() == pytest.approx([1.5, 2.0])
    assert c["extra_sales"].tolist() == pytest.approx([17.5, 37.5])
    assert c["qualifying"].tolist() == [7, 1]
    assert c["save_y"].tolist() == [10.0, 20.0]
    assert c["cost"].tolist() == pytest.approx([85.0, 60.0])
    assert c["cost_per_extra"].tolist() == pytest.approx([85 / 17.5, 1.6])
    assert c["margin_effect"].tolist() == pytest.approx([0.35 * 17.5 - 85, 0.35 * 37.5 - 60])


def test_threshold_suggestion_lifts_most_baskets():
    curve, best = pr.threshold_suggestion(BASKETS, [100, 200], band=0.2, take_up=0.5)
    assert best["spend_x"] == 200 and best["save_y"] == 20
    assert best["efficient_threshold"] == 200
    assert best["median_basket"] == pytest.approx(155.0)


def test_free_shipping_threshold_best_margin_effect():
    _, best = pr.free_shipping_threshold(BASKETS, 8.0, [100, 200], band=0.2, take_up=0.5)
    # cost 8 × (qualifying + lifted): 68 at 100, 24 at 200
    assert best["spend_x"] == 200
    assert best["margin_effect"] == pytest.approx(0.35 * 37.5 - 24)


def test_new_customer_offer_entry_products_and_repeat():
    o = _orders(
        [
            ("o1", "2025-06-01", "p1", 1, 100.0, 0.0, "paid", "c1"),
            ("o2", "2025-06-20", "p2", 1, 60.0, 0.0, "paid", "c1"),  # c1 returns within 90 days
            ("o3", "2025-06-05", "p1", 1, 200.0, 0.0, "paid", "c2"),
            ("o4", "2025-07-01", "p2", 1, 300.0, 0.0, "paid", "c3"),
        ]
    )
    entry, s = pr.new_customer_offer(o, "2025-12-31")
    assert entry["product_id"].tolist() == ["p1", "p2"]
    assert entry["entry_customers"].tolist() == [2, 1]
    assert entry["repeat_rate"].tolist() == pytest.approx([0.5, 0.0])
    assert s["new_customers"] == 3 and s["repeat_rate"] == pytest.approx(1 / 3)
    assert s["first_order_median"] == pytest.approx(200.0)
    assert (s["coupon_threshold"], s["coupon"]) == (200.0, 10.0)


def test_new_customer_offer_first_order_ties_go_to_the_lower_order_id():
    # c1's two orders share a time: the first is the lower order id (o1: p1), unsorted ids
    o = _orders(
        [
            ("o2", "2025-06-01", "p2", 1, 60.0, 0.0, "paid", "c1"),
            ("o1", "2025-06-01", "p1", 1, 100.0, 0.0, "paid", "c1"),
            ("o3", "2025-06-05", "p2", 1, 200.0, 0.0, "paid", None),  # no customer: left out
        ]
    )
    entry, s = pr.new_customer_offer(o, "2025-12-31")
    assert entry["product_id"].tolist() == ["p1"]
    assert s["new_customers"] == 1 and s["repeat_rate"] == 1.0
    assert s["first_order_median"] == 100.0


# --------------------------------------------------------------------------------------------
# execution plan

TEMPLATES = {
    "roles": {
        "ops": {"zh": "运营", "en": "Operations"},
        "service": {"zh": "客服", "en": "Customer service"},
        "warehouse": {"zh": "仓储", "en": "Warehouse"},
    },
    "major_weight": 2.0,
    "templates": {
        "default": {
            "tasks": [
                {"role": "ops", "start": -60, "due": -50, "zh": "定目标", "en": "Set goal"},
                {
                    "role": "service",
                    "start": 0,
                    "due_anchor": "end",
                    "due": 0,
                    "zh": "值守",
                    "en": "Staff",
                },
                {
                    "role": "warehouse",
                    "anchor": "end",
                    "start": 0,
                    "due": 3,
                    "zh": "发货",
                    "en": "Dispatch",
                },
            ]
        },
    },
}


def _one_campaign():
    return pd.DataFrame(
        {
            "campaign_id": ["2026-double11"],
            "name_zh": ["双11"],
            "name_en": ["Double 11"],
            "type": ["festival"],
            "weight": [3.0],
            "launch": [pd.Timestamp("2026-10-20")],
            "start": [pd.Timestamp("2026-11-01")],
            "peak": [pd.Timestamp("2026-11-11")],
            "end": [pd.Timestamp("2026-11-11")],
        }
    )


def test_execution_plan_dates_counted_back_from_the_node():
    t = narrative.in_language(
        pr.execution_plan(_one_campaign(), "2026-08-25", {"运营": "张三"}, TEMPLATES), "zh"
    )
    by = t.set_index("task")
    # launch 2026-10-20 - 60 days = 2026-08-21, - 50 days = 2026-08-31
    assert (by.loc["定目标", "start"], by.loc["定目标", "due"]) == (
        pd.Timestamp("2026-08-21"),
        pd.Timestamp("2026-08-31"),
    )
    assert by.loc["定目标", "days"] == 11 and by.loc["定目标", "status"] == "start_now"
    assert by.loc["定目标", "owner"] == "张三" and by.loc["值守", "owner"] == "客服"
    assert (by.loc["值守", "start"], by.loc["值守", "due"]) == (
        pd.Timestamp("2026-10-20"),
        pd.Timestamp("2026-11-11"),
    )
    assert (by.loc["发货", "start"], by.loc["发货", "due"]) == (
        pd.Timestamp("2026-11-11"),
        pd.Timestamp("2026-11-14"),
    )
    assert t["due"].is_monotonic_increasing
    late = narrative.in_language(
        pr.execution_plan(_one_campaign(), "2026-09-01", None, TEMPLATES), "en"
    )
    assert late.set_index("task").loc["Set goal", "status"] == "late"
    assert late.set_index("task").loc["Set goal", "owner"] == "Operations"


def test_execution_plan_adds_reorders_and_uses_the_major_template():
    reorders = pd.DataFrame(
        {
            "campaign_id": ["2026-double11"],
            "product_id": ["p1"],
            "title": ["连衣裙"],
            "reorder_qty": [120.0],
            "status": ["reorder"],
            "latest_order_date": [pd.Timestamp("2026-09-20")],
        }
    )
    t = narrative.in_language(
        pr.execution_plan(_one_campaign(), "2026-08-01", reorders=reorders), "zh"
    )
    r = t[t["task"].str.contains("连衣裙")].iloc[0]
    assert r["due"] == pd.Timestamp("2026-09-20") and r["role_key"] == "warehouse"
    assert "120" in r["task"]
    # the default file's major_festival template (weight 3 >= 2) starts 60 days before launch
    assert t["start"].min() == pd.Timestamp("2026-08-21")


def test_templates_file_is_valid():
    t = pr.load_templates()
    assert set(t["roles"]) == set(pr.ROLES)
    assert {"major_festival", "festival", "clearance", "default"} <= set(t["templates"])


def test_write_plan_xlsx_reads_back(tmp_path):
    t = narrative.in_language(
        pr.execution_plan(_one_campaign(), "2026-09-01", None, TEMPLATES), "zh"
    )
    path = workbooks.write_plan_xlsx(
        tmp_path / "execution_plan.xlsx",
        t.drop(columns="role_key"),
        labels={"task": "任务", "due": "截止"},
        campaigns=_one_campaign(),
        status_labels={"late": "已逾期"},
    )
    wb = openpyxl.load_workbook(path)
    ws = wb["execution plan"]
    head = [c.value for c in ws[1]]
    assert "任务" in head and "截止" in head
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(head))}{len(t) + 1}"
    due = ws.cell(row=2, column=head.index("截止") + 1)
    assert due.value == t["due"].iloc[0].to_pydatetime() and due.number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["C"].width > 8
    status = openpyxl.utils.get_column_letter(head.index("状态") + 1)  # the catalogue's header
    assert "已逾期" in [c.value for c in ws[status]]
    assert "campaign_id" not in head  # the internal id is left out; the campaign's name is there
    assert "campaigns" in wb.sheetnames


def test_plan_covers_the_rest_of_the_current_fiscal_year():
    # a plan made on 2025-12-31 for FY2026 starting in April still prepares January's nodes
    plan = pr.campaign_calendar(2026, 4, "2025-12-31")
    ids = plan["campaign_id"].tolist()
    assert ids[0] == "2026-nianhuo" and "2027-nianhuo" in ids
    assert plan["peak"].max() <= pd.Timestamp("2027-03-31")
    o = _orders(
        [
            ("o1", "2024-06-01", "p1", 1, 100.0, 0.0, "paid", "c1"),
            ("o2", "2025-06-01", "p1", 1, 100.0, 0.0, "paid", "c1"),
        ]
    )
    t, _ = pr.plan_targets(o, 2026, 4, "2025-12-31", 0.15)
    assert t["date"].min() == pd.Timestamp("2026-01-01")
    assert t["date"].max() == pd.Timestamp("2027-03-31")
    assert t["date"].is_unique and len(t) == 365 + 90
