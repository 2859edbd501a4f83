"""Optimisation review (notebook 06): hand calculations and effects planted in generated data."""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from helpers.analysis import promotions as pr
from helpers.analysis import review as rv
from helpers.core import calendar as cal
from helpers.datasets import sample
from helpers.deliver import workbooks

# --------------------------------------------------------------------------------------------
# the driver tree


def test_lmdi_parts_add_up_exactly_by_hand():
    prev = pd.DataFrame({"visitors": [1000.0], "conversion": [0.02], "order_value": [100.0]})
    cur = pd.DataFrame({"visitors": [1500.0], "conversion": [0.02], "order_value": [120.0]})
    r = rv.lmdi(prev, cur, ["visitors", "conversion", "order_value"]).iloc[0]
    # S0 = 2000, S1 = 3600; part_k = ΔS × ln(x1/x0) / ln(S1/S0)
    assert (r["sales_prev"], r["sales_cur"], r["change"]) == pytest.approx((2000, 3600, 1600))
    assert r["visitors"] == pytest.approx(1600 * math.log(1.5) / math.log(1.8))  # 1103.70
    assert r["conversion"] == 0.0
    assert r["order_value"] == pytest.approx(1600 * math.log(1.2) / math.log(1.8))  # 496.30
    assert r["visitors"] + r["conversion"] + r["order_value"] == pytest.approx(1600, abs=1e-9)


def test_lmdi_new_and_gone_keys_go_to_entry_exit():
    prev = pd.DataFrame({"key": ["a", "b"], "units": [10.0, 5.0], "price": [2.0, 4.0]})
    cur = pd.DataFrame({"key": ["a", "c"], "units": [20.0, 3.0], "price": [2.0, 5.0]})
    r = rv.lmdi(prev, cur, ["units", "price"], key="key").set_index("key")
    assert r.loc["a", "units"] == pytest.approx(20.0) and r.loc["a", "price"] == 0.0
    assert r.loc["b", "entry_exit"] == pytest.approx(-20.0)
    assert r.loc["c", "entry_exit"] == pytest.approx(15.0)
    parts = r[["units", "price", "entry_exit"]].sum(axis=1)
    assert parts.to_numpy() == pytest.approx(r["change"].to_numpy(), abs=1e-12)


def test_driver_tree_on_a_hand_made_funnel():
    f = pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=4),
            "visitors": [100.0, 100.0, 150.0, 150.0],
            "buyers": [2, 2, 3, 3],
            "net_sales": [200.0, 200.0, 360.0, 360.0],
            "visitors_estimated": False,
        }
    )
    tree, info = rv.driver_tree(f, "2025-01-04", days=2, compare="prev")
    assert (info["sales_prev"], info["sales_cur"], info["change"]) == pytest.approx((400, 720, 320))
    t = tree.set_index("factor")
    assert t.loc["visitors", "contribution"] == pytest.approx(320 * math.log(1.5) / math.log(1.8))
    assert t.loc["order_value", "contribution"] == pytest.approx(
        320 * math.log(1.2) / math.log(1.8)
    )
    assert t["contribution"].sum() == pytest.approx(320, abs=1e-9)
    assert info["main"] == "visitors" and t.loc["conversion", "change_pct"] == pytest.approx(0.0)


@pytest.fixture(scope="module")
def shop():
    """A generated shop big enough for daily statistics (about 25 buyers a day in 2025)."""
    t = sample.generate(5, sample.SampleSize(n_customers=6000, n_products=60))
    end = pr.complete_through(t["orders"], "2025-12-31")
    return t, end


def test_drilldowns_add_up_to_the_shop_change(shop):
    t, end = shop
    f = pr.daily_funnel(t["orders"], t["traffic"], end=end)
    _, info = rv.driver_tree(f, end, 28)
    for by in ("channel", "product", "segment"):
        d = rv.drilldown(t["orders"], end, by, t["traffic"], top=5)
        factors = [
            c
            for c in d.columns
            if c not in ("key", "title", "sales_prev", "sales_cur", "change", "main")
        ]
        assert d["change"].sum() == pytest.approx(info["change"], abs=1e-6), by
        assert d[factors].sum(axis=1).to_numpy() == pytest.approx(d["change"].to_numpy(), abs=1e-6)


# --------------------------------------------------------------------------------------------
# planted effects


def _drop_orders(orders, day, share, seed=0):
    """Remove ``share`` of the orders placed on ``day`` (all their lines)."""
    d = orders["order_time"].dt.normalize() == pd.Timestamp(day)
    ids = orders.loc[d, "order_id"].unique()
    rng = np.random.default_rng(seed)
    gone = rng.choice(ids, size=int(round(share * len(ids))), replace=False)
    return orders[~orders["order_id"].isin(gone)]


def test_planted_anomaly_is_found_with_its_size_and_driver(shop):
    t, end = shop
    day = pd.Timestamp("2025-04-16")  # an ordinary Wednesday: no node, no holiday
    before = pr.daily_funnel(t["orders"], t["traffic"], end=end)
    planted = _drop_orders(t["orders"], day, 0.8)
    f = pr.daily_funnel(planted, t["traffic"], end=end)
    flagged, daily = rv.anomalies(f)
    base, _ = rv.anomalies(before)
    assert day not in set(base["date"])
    hit = flagged[flagged["date"] == day]
    assert len(hit) == 1
    row = hit.iloc[0]
    true_size = (
        f.set_index("date").loc[day, "net_sales"] / before.set_index("date").loc[day, "net_sales"]
        - 1
    )
    assert true_size == pytest.approx(-0.8, abs=0.1)
    assert row["change"] == pytest.approx(true_size, abs=0.15)
    assert row["z"] < -3.5
    # visitors did not move (the traffic table is untouched): conversion fell
    assert row["driver"] == "conversion"
    assert row["visitors_change"] == pytest.approx(0, abs=0.35)


def _add_orders(orders, start, end, share, seed=0):
    """Duplicate ``share`` of the orders in [start, end] under new ids (a campaign's extra)."""
    day = orders["order_time"].dt.normalize()
    inside = orders[(day >= start) & (day <= end) & (orders["status"] != "pending")]
    ids = inside["order_id"].unique()
    rng = np.random.default_rng(seed)
    pick = rng.choice(ids, size=int(round(share * len(ids))), replace=False)
    extra = inside[inside["order_id"].isin(pick)].copy()
    extra["order_id"] = "X" + extra["order_id"]
    extra["line_id"] = "X" + extra["line_id"]
    return pd.concat([orders, extra], ignore_index=True), extra


def test_planted_campaign_lift_is_found_with_its_size(shop):
    t, end = shop
    # two ordinary weeks (no node, no holiday): a 14-day total is steady enough (sd ~ 10%)
    s, e = pd.Timestamp("2025-04-14"), pd.Timestamp("2025-04-27")
    assert cal.festival_days(s, e)["node"].isna().all()
    windows = pd.concat(
        [
            rv.campaign_windows(t["campaigns"], "2024-01-01", end),
            pd.DataFrame(
                {
                    "campaign_id": ["P"],
                    "name": ["planted"],
                    "type": ["other"],
                    "start": [s],
                    "end": [e],
                    "spend": [1000.0],
                }
            ),
        ],
        ignore_index=True,
    )
    f0 = pr.daily_funnel(t["orders"], t["traffic"], end=end)
    orders, extra = _add_orders(t["orders"], s, e, 0.5)
    f1 = pr.daily_funnel(orders, t["traffic"], end=end)
    l0 = rv.campaign_lift(windows, f0).set_index("campaign_id")
    l1 = rv.campaign_lift(windows, f1).set_index("campaign_id")
    added = float(
        (extra["paid_amount"] - extra["refund_amount"])[
            extra["status"].isin(["paid", "partially_refunded", "refunded"])
        ].sum()
    )
    # the window is not used to fit the baseline, so the baseline does not move and the
    # increment grows by exactly what was planted
    assert l1.loc["P", "baseline"] == pytest.approx(l0.loc["P", "baseline"])
    assert l1.loc["P", "incremental"] - l0.loc["P", "incremental"] == pytest.approx(added)
    assert l0.loc["P", "lift"] == pytest.approx(0.0, abs=0.2)  # ordinary weeks
    assert l1.loc["P", "lift"] == pytest.approx(0.5, abs=0.2)
    assert l1.loc["P", "lift"] - l0.loc["P", "lift"] == pytest.approx(0.5, abs=0.12)
    assert l1.loc["P", "iroas"] == pytest.approx(l1.loc["P", "incremental"] / 1000.0)
    # the real festival campaigns lift sales well above their baseline
    fest = l0[l0["type"] == "festival"]
    assert (fest["lift"] > 0.2).all()


# --------------------------------------------------------------------------------------------
# target tracking


def _targets(fy=2025, per_day=1.0):
    d = cal.fiscal_days(fy, 1)[["date", "fy", "half", "quarter", "month", "week"]]
    return d.assign(target_sales=per_day)


def test_actual_vs_target_by_hand():
    daily = pd.DataFrame({"date": pd.date_range("2025-01-01", "2025-01-10"), "net_sales": 2.0})
    out = rv.actual_vs_target(daily, _targets(), "2025-01-10")
    m = out["month"].iloc[0]
    assert m["period"] == "FY2025-M01 (2025-01)"
    assert (m["target"], m["target_to_date"], m["actual"]) == (31.0, 10.0, 20.0)
    assert m["attainment"] == 2.0 and not m["complete"]
    w = out["week"].iloc[0]  # 48-week scheme: week 1 = Jan 1-7
    assert (w["target"], w["actual"], bool(w["complete"])) == (7.0, 14.0, True)
    y = out["year"].iloc[0]
    assert (y["target"], y["target_to_date"], y["gap"]) == (365.0, 10.0, 10.0)
    assert len(out["day"]) == 365


def test_pacing_by_hand():
    t = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=10), "target_sales": 100.0})
    daily = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=4), "net_sales": 120.0})
    path, p = rv.pacing(daily, t, "2025-01-04")
    assert (p["ytd_actual"], p["ytd_target"], p["days_left"]) == (480.0, 400.0, 6)
    assert p["attainment"] == pytest.approx(1.2)
    assert p["projected_at_pace"] == pytest.approx(480 + 600 * 1.2)
    assert p["projected_flat"] == pytest.approx(1200.0)
    assert p["required_daily"] == pytest.approx(520 / 6)
    assert p["required_vs_plan"] == pytest.approx(520 / 600 - 1)
    assert path["projected"].tolist() == pytest.approx([1200.0] * 4)


# --------------------------------------------------------------------------------------------
# summary tables


def test_customer_summary_new_and_returning():
    o = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4"],
            "customer_id": ["a", "b", "a", "c"],
            "order_time": pd.to_datetime(["2025-01-05", "2025-01-09", "2025-02-01", "2025-02-03"]),
            "status": "paid",
            "quantity": 1,
            "paid_amount": [100.0, 50.0, 80.0, 20.0],
            "refund_amount": 0.0,
        }
    )
    # the data starts 2025-01-05: with the default 12-month look-back no month's split is known
    cs = rv.customer_summary(o, "2025-02-28").set_index(pd.Index(["jan", "feb"]))
    assert cs["buyers"].tolist() == [2, 2] and cs["new_buyers"].isna().all()
    # with no look-back, January (which starts before the data) is still unknown; February not
    cs = rv.customer_summary(o, "2025-02-28", lookback_months=0).set_index(pd.Index(["jan", "feb"]))
    assert cs.loc["jan", "buyers"] == 2 and pd.isna(cs.loc["jan", "new_buyers"])
    assert cs.loc["feb", ["buyers", "new_buyers", "returning_buyers"]].tolist() == [2, 1, 1]
    assert cs.loc["feb", "sales_returning"] == 80.0 and cs.loc["feb", "sales_new"] == 20.0
    assert cs.loc["feb", "returning_share"] == 0.5


def test_operations_summary_weekly_identity():
    f = pd.DataFrame(
        {
            "date": pd.date_range("2025-01-06", periods=14),
            "visitors": 100.0,
            "buyers": 2,
            "orders": 2,
            "units": 3,
            "paid_amount": 210.0,
            "refunds": 10.0,
            "net_sales": 200.0,
        }
    )
    w = rv.operations_summary(f, "W")
    assert len(w) == 2 and w["date"].iloc[0] == pd.Timestamp("2025-01-06")
    r = w.iloc[0]
    assert (r["visitors"], r["buyers"], r["net_sales"]) == (700.0, 14, 1400.0)
    assert r["conversion"] == pytest.approx(0.02) and r["order_value"] == pytest.approx(100.0)
    assert r["refund_rate"] == pytest.approx(10 / 210)


def test_ads_keywords_verdicts_and_waste():
    ads = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-06-01", "2025-06-02", "2025-06-01"]),
            "keyword": ["a", "a", "b"],
            "product_id": None,
            "impressions": [500, 500, 1000],
            "clicks": [25, 25, 100],
            "spend": [50.0, 50.0, 100.0],
            "orders": [2, 3, 4],
            "revenue": [200.0, 300.0, 200.0],
        }
    )
    t, s = rv.ads_keywords(ads, "2025-06-30", 90, gross_margin=0.35)
    a, b = t.set_index("keyword").loc["a"], t.set_index("keyword").loc["b"]
    assert (a["ctr"], a["cpc"], a["conversion"], a["roas"]) == pytest.approx((0.05, 2.0, 0.1, 5.0))
    assert a["verdict"] == "grow"  # 5 >= 1.5 × 1/0.35
    assert b["verdict"] == "cut" and b["ad_profit"] == pytest.approx(0.35 * 200 - 100)
    assert s["wasted"] == pytest.approx(30.0) and s["wasted_share"] == pytest.approx(0.15)
    assert s["roas"] == pytest.approx(3.5) and s["breakeven_roas"] == pytest.approx(1 / 0.35)


def test_issue_log_counts_and_ageing():
    issues = pd.DataFrame(
        {
            "issue_id": ["I1", "I2", "I3", "I4"],
            "date": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-06-20", "2025-06-25"]),
            "area": ["goals", "goals", "execution", "promotion"],
            "owner": ["运营", "运营", "美工", "推广"],
            "status": ["open", "closed", "in_progress", "open"],
            "due_date": pd.to_datetime(["2025-01-10", "2025-06-10", "2025-07-10", "2025-06-28"]),
            "closed_date": pd.to_datetime([None, "2025-06-05", None, None]),
            "description": ["a", "b", "c", "d"],
        }
    )
    by, ol = rv.issue_log(issues, "2025-06-30")
    g = by.set_index("area")
    assert g.loc["goals", ["issues", "open", "overdue", "closed"]].tolist() == [2, 1, 1, 1]
    assert g.loc["goals", "days_to_close"] == 4.0 and g.loc["goals", "age_90_plus"] == 1
    assert g.loc["execution", ["open", "overdue", "age_8_30"]].tolist() == [1, 0, 1]
    assert g.loc["promotion", ["overdue", "age_0_7"]].tolist() == [1, 1]
    assert g.loc["analysis", "issues"] == 0
    assert ol["issue_id"].tolist() == ["I1", "I3", "I4"]
    assert ol.set_index("issue_id").loc["I1", "overdue_days"] == 171


def test_complaint_themes_find_what_rose():
    rows = []
    for m, n_bad in (("2025-01", 1), ("2025-02", 1), ("2025-03", 1), ("2025-04", 6)):
        for i in range(10):
            bad = i < n_bad
            rows.append(
                {
                    "review_id": f"{m}-{i}",
                    "date": pd.Timestamp(f"{m}-10"),
                    "rating": 2.0 if bad else 5.0,
                    "text": "尺码偏小，不满意"
                    if bad and m == "2025-04"
                    else ("物流太慢" if bad else "质量很好"),
                }
            )
    r = pd.DataFrame(rows)
    themes, info = rv.complaint_themes(r, "2025-04-30")
    assert info["month"] == "2025-04"
    assert info["rating"] == pytest.approx((6 * 2 + 4 * 5) / 10)
    assert info["rating_before"] == pytest.approx((2 + 9 * 5) / 10)
    assert themes["change"].iloc[0] == pytest.approx(60.0)
    assert "偏小" in "".join(themes["term"].head(3))
    assert all(t not in ("质量很好", "质量好") for t in themes["term"])


# --------------------------------------------------------------------------------------------
# the workbook


def test_drill_extremes_cases():
    d = pd.DataFrame({"key": ["a", "b", "drill_rest"], "change": [5.0, -3.0, -9.0]})
    e = rv.drill_extremes(d)
    assert (e["up"]["key"], e["down"]["key"], e["case"]) == ("a", "b", "mixed")
    e = rv.drill_extremes(d.assign(change=[5.0, 1.0, -9.0]))
    assert (e["up"]["key"], e["down"]["key"], e["case"]) == ("a", "b", "all_up")


def test_workbook_sheets_specs_and_readback(tmp_path):
    month = pd.DataFrame(
        {
            "period": ["M01", "M02"],
            "target": [90.0, 130.0],
            "target_to_date": [90.0, 130.0],
            "actual": [100.0, 120.0],
            "gap": [10.0, -10.0],
            "attainment": [1.11, 0.92],
        }
    )
    issues = pd.DataFrame({"area": ["goals"], "open": [2], "overdue": [1]})
    specs = rv.workbook_sheets({"avt_month": month, "issues": issues, "ads": None}, str.upper)
    assert [s["name"] for s in specs] == ["H06_AVT_MONTH", "H06_ISSUES_SHEET"]
    assert specs[0]["chart"] == {
        "type": "column",
        "x": "PERIOD",
        "y": ["ACTUAL"],
        "line": ["TARGET"],
        "title": "H06_AVT_MONTH",
    }
    assert specs[0]["pct"] == ["ATTAINMENT"] and "GAP" in specs[0]["money"]
    wb = openpyxl.load_workbook(workbooks.write_review_xlsx(tmp_path / "r.xlsx", specs))
    assert [len(ws._charts) for ws in wb] == [0, 1, 1]  # the contents sheet first


def test_review_workbook_has_native_charts(tmp_path):
    df = pd.DataFrame(
        {
            "月份": ["2025-01", "2025-02"],
            "实际": [100.0, 120.0],
            "目标": [90.0, 130.0],
            "完成率": [1.11, 0.92],
        }
    )
    path = workbooks.write_review_xlsx(
        tmp_path / "review.xlsx",
        [
            {
                "name": "实际与目标",
                "df": df,
                "chart": {
                    "type": "column",
                    "x": "月份",
                    "y": ["实际"],
                    "line": ["目标"],
                    "title": "t",
                },
                "money": ["实际", "目标"],
                "pct": ["完成率"],
            },
            {
                "name": "趋势",
                "df": df,
                "chart": {"type": "line", "x": "月份", "y": ["实际", "目标"]},
            },
            {"name": "无图", "df": df},
        ],
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["目录", "实际与目标", "趋势", "无图"]
    assert len(wb["实际与目标"]._charts) == 1 and len(wb["趋势"]._charts) == 1
    assert len(wb["无图"]._charts) == 0
    ws = wb["实际与目标"]
    assert [c.value for c in ws[1]] == ["月份", "实际", "目标", "完成率"]
    assert ws["B3"].value == 120.0 and ws.auto_filter.ref == "A1:D3"
    chart = wb["趋势"]._charts[0]
    assert len(chart.series) == 2
