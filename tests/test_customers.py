"""Customer analysis: every expected number below is worked out by hand in the comments."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import customers as C
from helpers.deliver import workbooks


def _orders(rows) -> pd.DataFrame:
    """Order lines from (customer, order_id, time, paid, refund, status) tuples."""
    df = pd.DataFrame(
        rows,
        columns=["customer_id", "order_id", "order_time", "paid_amount", "refund_amount", "status"],
    )
    df["order_time"] = pd.to_datetime(df["order_time"], format="ISO8601")
    df["line_id"] = df["order_id"] + "-" + (df.groupby("order_id").cumcount() + 1).astype(str)
    df["product_id"] = "p1"
    df["quantity"] = 1
    df["unit_price"] = df["paid_amount"]
    return df


def _buys(rows) -> pd.DataFrame:
    """Paid one-line orders from (customer, date, amount); order ids numbered in row order."""
    return _orders([(c, f"o{i}", t, amt, 0.0, "paid") for i, (c, t, amt) in enumerate(rows)])


def _rfm(recency, frequency, monetary, ids=None) -> pd.DataFrame:
    ids = ids or [f"c{i}" for i in range(len(recency))]
    df = pd.DataFrame(
        {"recency_days": recency, "frequency": frequency, "monetary": monetary},
        index=pd.Index(ids, name="customer_id"),
    )
    n = len(df)
    df["sales_rank"] = df["monetary"].rank(ascending=False, method="first").astype(int)
    df["top"] = df["sales_rank"] <= max(1, int(np.ceil(0.2 * n)))
    return df


# --- customer orders and the RFM table ---------------------------------------------------


def test_customer_orders_keeps_purchase_orders_of_identified_buyers():
    o = _orders(
        [
            ("a", "o1", "2025-01-01 10:00", 100.0, 0.0, "paid"),  # two lines: 100 + 50
            ("a", "o1", "2025-01-01 10:05", 50.0, 0.0, "paid"),
            ("a", "o2", "2025-01-05 09:00", 80.0, 30.0, "partially_refunded"),  # nets 50
            ("a", "o3", "2025-01-06 09:00", 80.0, 80.0, "refunded"),  # nets 0: no purchase
            ("a", "o4", "2025-01-07 09:00", 0.0, 0.0, "cancelled"),
            ("b", "o5", "2025-01-08 09:00", 60.0, 0.0, "pending"),
            (None, "o6", "2025-01-02 09:00", 70.0, 0.0, "paid"),  # no buyer id
            ("b", "o7", "2025-01-03 23:59", 20.0, 0.0, "paid"),
            ("b", "o8", "2025-02-01 00:00", 20.0, 0.0, "paid"),  # after as_of
        ]
    )
    co = C.customer_orders(o, as_of="2025-01-31")
    assert co["order_id"].tolist() == ["o1", "o2", "o7"]
    assert co["net"].tolist() == [150.0, 50.0, 20.0]
    assert co["order_time"].iloc[0] == pd.Timestamp("2025-01-01 10:00")
    # day numbers since 1970-01-01 and month index year*12 + month - 1
    assert co["day"].iloc[0] == (pd.Timestamp("2025-01-01") - pd.Timestamp("1970-01-01")).days
    assert co["month"].tolist() == [2025 * 12] * 3


def test_rfm_table_by_hand():
    co = C.customer_orders(
        _buys(
            [
                ("b", "2025-03-01", 100.0),
                ("a", "2025-01-10", 40.0),
                ("a", "2025-03-30 23:00", 60.0),  # a: last day Mar 30, 2 orders, 100
                ("c", "2025-02-01", 30.0),
                ("d", "2025-03-31", 100.0),  # ties a and b on 100
                ("e", "2025-01-01", 5.0),
            ]
        )
    )
    rfm = C.rfm_table(co, as_of="2025-03-31")
    # float noise never splits a tie: 0.1 + 0.2 totals exactly 0.3
    tie = C.rfm_table(
        C.customer_orders(
            _buys([("x", "2025-01-01", 0.1), ("x", "2025-01-02", 0.2), ("y", "2025-01-01", 0.3)])
        )
    )
    assert tie["monetary"].tolist() == [0.3, 0.3] and C.score_rf(tie)["m_score"].tolist() == [1, 1]
    assert rfm.index.tolist() == ["a", "b", "c", "d", "e"]
    assert rfm["recency_days"].tolist() == [1, 30, 58, 0, 89]
    assert rfm["frequency"].tolist() == [2, 1, 1, 1, 1]
    assert rfm["monetary"].tolist() == [100.0, 100.0, 30.0, 100.0, 5.0]
    assert rfm["sales_rank"].tolist() == [1, 2, 4, 3, 5]  # ties on 100 by customer id
    assert rfm["top"].tolist() == [True, False, False, False, False]  # ceil(0.2 * 5) = 1
    assert rfm.loc["a", "first_purchase"] == pd.Timestamp("2025-01-10")


# --- Pareto -------------------------------------------------------------------------------


def test_pareto_reaches_80_percent_exactly_at_the_boundary():
    rfm = _rfm([0] * 5, [1] * 5, [5.0, 50.0, 10.0, 30.0, 5.0])
    curve, s = C.customer_pareto(rfm)
    # sorted 50, 30, 10, 5, 5 (total 100): the top 2 make exactly 80
    assert s["n_target"] == 2 and s["share_target"] == pytest.approx(0.4)
    assert s["n_top"] == 1 and s["top_sales_share"] == pytest.approx(0.5)
    c = curve.set_index("customers_pct")
    assert c.loc[0.2, "customers"] == 1 and c.loc[0.2, "sales_share"] == pytest.approx(0.5)
    assert c.loc[0.5, "customers"] == 3 and c.loc[0.5, "sales_share"] == pytest.approx(0.9)
    assert c.loc[1.0, "sales_share"] == pytest.approx(1.0) and len(curve) == 101


def test_pareto_just_below_80_needs_one_more_customer():
    _, s = C.customer_pareto(_rfm([0] * 3, [1] * 3, [40.0, 39.0, 21.0]))
    assert s["n_target"] == 3 and s["share_target"] == 1.0  # 40 + 39 = 79 < 80
    _, s = C.customer_pareto(_rfm([0] * 10, [1] * 10, [10.0] * 10))
    assert s["n_target"] == 8  # equal customers: 80% of customers for 80% of sales


# --- scheme 1: the Chinese 8-class RFM -----------------------------------------------------


def test_rfm8_rules_and_boundaries_with_stated_thresholds():
    thr = {"recency": 30, "frequency": 3, "monetary": 500.0}
    cases = {  # customer: (recency, frequency, monetary, expected class)
        "iv": (10, 5, 900.0, "important_value"),
        "id": (10, 1, 900.0, "important_develop"),
        "ik": (90, 5, 900.0, "important_keep"),
        "ir": (90, 1, 900.0, "important_retain"),
        "gv": (10, 5, 100.0, "general_value"),
        "gd": (10, 1, 100.0, "general_develop"),
        "gk": (90, 5, 100.0, "general_keep"),
        "gr": (90, 1, 100.0, "general_retain"),
        "at": (30, 3, 500.0, "important_value"),  # exactly at every threshold: all high
        "r31": (31, 3, 500.0, "important_keep"),  # one day past R: R low
        "f2": (30, 2, 500.0, "important_develop"),  # one order short of F: F low
        "m499": (30, 3, 499.99, "general_value"),  # a cent short of M: M low
    }
    rfm = _rfm(*zip(*[v[:3] for v in cases.values()]), ids=list(cases))
    classes, table = C.classify_rfm8(rfm, thr)
    assert classes["rfm8"].to_dict() == {k: v[3] for k, v in cases.items()}
    assert classes.loc["at", ["r_high", "f_high", "m_high"]].tolist() == [True, True, True]
    assert table["cutoff"].tolist() == [30.0, 3.0, 500.0]
    assert table["high_when"].tolist() == ["<=", ">=", ">="]


def test_rfm8_default_threshold_is_the_mean():
    # recency mean (0+10+20+30+40)/5 = 20, frequency mean 10/5 = 2, monetary mean 300
    rfm = _rfm([0, 10, 20, 30, 40], [1, 2, 2, 1, 4], [100.0, 200.0, 300.0, 400.0, 500.0])
    classes, table = C.classify_rfm8(rfm)
    assert table["cutoff"].tolist() == [20.0, 2.0, 300.0]
    assert classes["rfm8"].tolist() == [
        "general_develop",  # R 0 <= 20 high, F 1 < 2 low, M 100 < 300 low
        "general_value",  # R high, F 2 >= 2 high, M low
        "important_value",  # R 20 = mean: high; F 2 high; M 300 = mean: high
        "important_retain",  # R 30 low, F low, M 400 high
        "important_keep",  # R 40 low, F 4 high, M high
    ]
    _, med = C.classify_rfm8(rfm, "median")
    assert med["cutoff"].tolist() == [20.0, 2.0, 300.0]
    with pytest.raises(ValueError):
        C.classify_rfm8(rfm, "mode")


def test_rfm8_rule_table_is_the_issue_s():
    r = C.RFM8_RULES.set_index("zh")[["r_high", "f_high", "m_high"]]
    expected = {
        "重要价值客户": (1, 1, 1),
        "重要发展客户": (1, 0, 1),
        "重要保持客户": (0, 1, 1),
        "重要挽留客户": (0, 0, 1),
        "一般价值客户": (1, 1, 0),
        "一般发展客户": (1, 0, 0),
        "一般保持客户": (0, 1, 0),
        "一般挽留客户": (0, 0, 0),
    }
    assert {k: tuple(int(x) for x in v) for k, v in r.iterrows()} == expected


# --- scheme 2: R/F scores and the 10 segments ----------------------------------------------


def test_quintile_scores_by_hand_and_ties():
    # 10 distinct values: strictly-worse counts 0..9 -> 1 + 5w // 10 = 1,1,2,2,3,3,4,4,5,5
    assert C.quintile_score(np.arange(1, 11)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # ties share a score: six 1s (w=0) -> 1; two 2s (w=6) -> 4; 3 (w=8) -> 5; 5 (w=9) -> 5
    f = [1, 1, 1, 1, 1, 1, 2, 2, 3, 5]
    assert C.quintile_score(f).tolist() == [1] * 6 + [4, 4, 5, 5]
    # recency: lower is better; w counts the customers with a strictly larger recency
    assert C.quintile_score([0, 0, 10, 50, 50], higher_is_better=False).tolist() == [4, 4, 3, 1, 1]
    # boundary: exactly 20% strictly worse gives 2, just under gives 1
    assert C.quintile_score([1, 2, 2, 2, 2]).tolist() == [1, 2, 2, 2, 2]
    assert C.quintile_score([1, 2, 2, 2, 2, 2]).tolist() == [1] * 6  # 1/6 < 20%


def test_rf_segments_read_off_the_grid():
    rfm = _rfm([0, 10, 20, 30, 40], [1, 2, 3, 4, 5], [1.0] * 5)  # R 5..1 with F 1..5
    s = C.score_rf(rfm)
    assert s["r_score"].tolist() == [5, 4, 3, 2, 1] and s["f_score"].tolist() == [1, 2, 3, 4, 5]
    assert s["segment"].tolist() == [
        "new_customers",
        "potential_loyalists",
        "need_attention",
        "at_risk",
        "cant_lose",
    ]
    rfm = _rfm([40, 30, 20, 10, 0], [1, 2, 3, 4, 5], [1.0] * 5)  # R 1..5 with F 1..5
    assert C.score_rf(rfm)["segment"].tolist() == [
        "hibernating",
        "hibernating",
        "need_attention",
        "loyal",
        "champions",
    ]
    counts = C.rf_grid_counts(C.score_rf(rfm))
    assert counts.loc[5, 5] == 1 and counts.loc[1, 1] == 1 and counts.to_numpy().sum() == 5


def test_rf_grid_is_the_published_segment_map():
    published = {  # the widely used regex map on "R score, F score"
        r"[1-2][1-2]": "hibernating",
        r"[1-2][3-4]": "at_risk",
        r"[1-2]5": "cant_lose",
        r"3[1-2]": "about_to_sleep",
        r"33": "need_attention",
        r"[3-4][4-5]": "loyal",
        r"41": "promising",
        r"51": "new_customers",
        r"[4-5][2-3]": "potential_loyalists",
        r"5[4-5]": "champions",
    }
    for r in range(1, 6):
        for f in range(1, 6):
            hits = [v for k, v in published.items() if re.fullmatch(k, f"{r}{f}")]
            assert [C.RF_GRID.loc[r, f]] == hits, (r, f)
    assert sorted(C.SEGMENT_ORDER) == sorted(set(published.values()))


def test_segment_summary_by_hand():
    rfm = _rfm([0, 5, 50, 60], [3, 1, 1, 2], [300.0, 100.0, 50.0, 50.0])
    seg = pd.Series(["x", "y", "y", "x"], index=rfm.index)
    t = C.segment_summary(rfm, seg, ["x", "y", "z"], {"x": "guide", "y": "develop", "z": "let_go"})
    x, y, z = (t.iloc[i] for i in range(3))
    assert (x["customers"], x["sales"], x["sales_share"]) == (2, 350.0, 0.7)
    assert x["customer_share"] == 0.5 and x["recency_days"] == 30.0 and x["frequency"] == 2.5
    assert x["top_share"] == 0.5  # top = ceil(0.2 * 4) = 1 customer: c0, in x
    assert (y["customers"], y["sales"], y["monetary"], y["top_share"]) == (2, 150.0, 75.0, 0.0)
    assert (z["customers"], z["sales"], z["tier"]) == (0, 0.0, "let_go")


# --- over time ----------------------------------------------------------------------------

LADDER = [
    ("A", "2025-01-05", 10.0),
    ("B", "2025-01-20", 20.0),
    ("A", "2025-02-03", 30.0),
    ("C", "2025-02-10", 40.0),
    ("A", "2025-03-01", 50.0),
    ("A", "2025-03-02", 60.0),
    ("B", "2025-03-15", 70.0),
]


def test_member_ladder_counts():
    co = C.customer_orders(_buys(LADDER))
    lad = C.member_ladder(co, as_of="2025-04-15", repeat_orders=2, fan_orders=4)
    # Jan: A, B new. Feb: A 2nd order -> repeat; C new. Mar: A 3rd+4th -> fan; B 2nd -> repeat.
    assert lad["month"].dt.strftime("%Y-%m").tolist() == [
        "2025-01",
        "2025-02",
        "2025-03",
        "2025-04",
    ]
    assert lad["new_members"].tolist() == [2, 2, 1, 1]
    assert lad["repeat_members"].tolist() == [0, 1, 1, 1]
    assert lad["fans"].tolist() == [0, 0, 1, 1]
    assert lad["members"].tolist() == [2, 3, 3, 3]
    assert lad["joined"].tolist() == [2, 1, 0, 0]
    assert lad["to_repeat"].tolist() == [0, 1, 1, 0]
    assert lad["to_fan"].tolist() == [0, 0, 1, 0]
    assert lad["repeat_share"].iloc[-1] == pytest.approx(2 / 3)
    # with a fan threshold of 3, A is a fan from its 3rd order (March) too
    assert C.member_ladder(co, "2025-04-15", 2, 3)["fans"].tolist() == [0, 0, 1, 1]
    assert C.member_stage([1, 2, 3, 4, 9]).tolist() == ["new", "repeat", "repeat", "fan", "fan"]
    with pytest.raises(ValueError):
        C.member_ladder(co, None, 3, 3)


def test_new_vs_returning_per_month():
    co = C.customer_orders(_buys(LADDER))
    nv = C.new_vs_returning(co, as_of="2025-04-15")
    # Jan: A, B new. Feb: A returning, C new. Mar: A (2 orders) and B returning. Apr: nobody.
    assert nv["new_customers"].tolist() == [2, 1, 0, 0]
    assert nv["returning_customers"].tolist() == [0, 1, 2, 0]
    assert nv["new_sales"].tolist() == [30.0, 40.0, 0.0, 0.0]
    assert nv["returning_sales"].tolist() == [0.0, 30.0, 180.0, 0.0]
    assert nv["returning_share"].tolist()[:3] == [0.0, 0.5, 1.0]
    assert np.isnan(nv["returning_share"].iloc[3])
    s = C.returning_summary(nv, months=3)  # Feb-Apr: 1 new + 3 returning buyer-months
    assert s["new_customers"] == 1 and s["returning_share"] == 0.75
    assert s["returning_sales_share"] == pytest.approx(210 / 250)


def test_cohort_retention_three_cohorts():
    co = C.customer_orders(
        _buys(
            [
                ("a", "2025-01-03", 1.0),
                ("b", "2025-01-09", 1.0),
                ("c", "2025-01-15", 1.0),
                ("d", "2025-01-31", 1.0),  # Jan cohort: a, b, c, d
                ("a", "2025-02-01", 1.0),
                ("a", "2025-02-20", 1.0),
                ("b", "2025-02-28", 1.0),
                ("a", "2025-03-10", 1.0),  # Jan cohort: Feb a, b (2 of 4); Mar a (1 of 4)
                ("e", "2025-02-02", 1.0),
                ("f", "2025-02-05", 1.0),  # Feb cohort: e, f
                ("e", "2025-03-30", 1.0),  # Feb cohort: Mar e (1 of 2)
                ("g", "2025-03-31", 1.0),  # Mar cohort: g
            ]
        )
    )
    coh = C.cohort_retention(co, as_of="2025-03-31", max_age=3)
    assert coh.index.strftime("%Y-%m").tolist() == ["2025-01", "2025-02", "2025-03"]
    assert coh["customers"].tolist() == [4, 2, 1]
    expected = [[1.0, 0.5, 0.25, np.nan], [1.0, 0.5, np.nan, np.nan], [1.0] + [np.nan] * 3]
    np.testing.assert_allclose(coh[[0, 1, 2, 3]].to_numpy(), expected)
    curve = C.retention_curve(coh).set_index("age")
    assert curve["cohorts"].tolist() == [2, 1, 0] and curve["customers"].tolist() == [6, 4, 0]
    assert curve.loc[1, "retention"] == pytest.approx((0.5 * 4 + 0.5 * 2) / 6)
    assert curve.loc[2, "retention"] == 0.25 and np.isnan(curve.loc[3, "retention"])


def test_repurchase_intervals_by_hand():
    co = C.customer_orders(
        _buys(
            [
                ("a", "2025-01-01 09:00", 1.0),
                ("a", "2025-01-01 18:00", 1.0),  # one day
                ("a", "2025-01-11", 1.0),
                ("a", "2025-02-10", 1.0),  # gaps 10, 30
                ("b", "2025-01-05", 1.0),
                ("b", "2025-03-06", 1.0),  # gap 60
                ("c", "2025-01-07", 1.0),
            ]
        )
    )
    table, s = C.repurchase_intervals(co)
    assert table.set_index("interval")["intervals"].to_dict() == {
        "1–7": 0,
        "8–14": 1,
        "15–30": 1,
        "31–60": 1,
        "61–90": 0,
        "91–180": 0,
        "181–365": 0,
        "366+": 0,
    }
    assert table["cum_share"].iloc[-1] == pytest.approx(1.0)
    assert s["intervals"] == 3 and s["repeat_customers"] == 2
    # sorted 10, 30, 60: median 30, p25 = 10 + 0.5 * 20 = 20, p75 = 30 + 0.5 * 30 = 45
    assert (s["median"], s["p25"], s["p75"]) == (30.0, 20.0, 45.0)
    assert s["first_median"] == 35.0  # first gaps: a 10, b 60
    assert s["within_30"] == pytest.approx(2 / 3) and s["mean"] == pytest.approx(100 / 3)


# --- exports and the sample shop -----------------------------------------------------------


def test_export_segments_writes_only_ids_and_no_formulas(tmp_path):
    import openpyxl

    rfm = _rfm([0, 10, 400], [5, 1, 1], [900.0, 50.0, 20.0], ids=["=1+2", "id2", "id3"])
    seg = C.customer_segments(rfm, C.classify_rfm8(rfm)[0], C.score_rf(rfm))
    index = workbooks.export_segments(seg, tmp_path, sheet_names={"top": "前20% top"})
    assert index["list"].iloc[0] == "top" and len(index) == 1 + 10 + 8
    top = pd.read_csv(tmp_path / "segments" / "top.csv", dtype=str)
    assert top.columns.tolist() == ["customer_id"] and top["customer_id"].tolist() == ["=1+2"]
    assert index["customers"].sum() == 1 + 3 + 3  # top + each scheme covers everyone once
    wb = openpyxl.load_workbook(tmp_path / "segments.xlsx")
    assert wb.sheetnames[:2] == ["lists", "前20% top"]
    cell = wb["前20% top"]["A2"]
    assert cell.value == "=1+2" and cell.data_type == "s"  # a string, never a formula


def test_export_segments_over_the_excel_cap_lists_the_csvs_only(tmp_path, monkeypatch):
    import openpyxl

    rfm = _rfm([0, 10, 400], [5, 1, 1], [900.0, 50.0, 20.0], ids=["a", "b", "c"])
    seg = C.customer_segments(rfm, C.classify_rfm8(rfm)[0], C.score_rf(rfm))
    monkeypatch.setattr(workbooks, "EXCEL_MAX_IDS", 6)  # the lists hold 1 + 3 + 3 = 7 ids
    index = workbooks.export_segments(seg, tmp_path)
    assert index["sheet"].isna().all() and index["customers"].sum() == 7
    assert openpyxl.load_workbook(tmp_path / "segments.xlsx").sheetnames == ["lists"]
    every = pd.concat(pd.read_csv(tmp_path / f, dtype=str) for f in index["file"])
    assert len(every) == 7  # every id is still written, to the CSVs


def test_sample_shop_planted_pareto_and_rfm_match_a_plain_pandas_version(small_tables):
    orders = small_tables["orders"]
    as_of = pd.Timestamp("2025-12-31")
    rfm = C.rfm_table(C.customer_orders(orders, as_of), as_of)
    _, s = C.customer_pareto(rfm)
    assert 0.2 < s["share_target"] < 0.55  # BG/NBD buyers: a minority makes 80% of sales
    # a plain groupby/apply RFM on the same lines gives the same numbers and classes
    lines = orders[orders["status"].isin(["paid", "partially_refunded", "refunded"])]
    lines = lines[lines["customer_id"].notna()]
    per_order = (
        lines.assign(net=lines["paid_amount"] - lines["refund_amount"])
        .groupby(["customer_id", "order_id"])
        .agg(t=("order_time", "min"), net=("net", "sum"))
    )
    per_order = per_order[per_order["net"] > 0.005].reset_index()
    plain = per_order.groupby("customer_id").apply(
        lambda g: pd.Series(
            {
                "recency_days": (as_of - g["t"].max().normalize()).days,
                "frequency": len(g),
                "monetary": g["net"].sum(),
            }
        ),
        include_groups=False,
    )
    assert plain.index.tolist() == rfm.index.tolist()
    np.testing.assert_array_equal(plain["recency_days"], rfm["recency_days"])
    np.testing.assert_array_equal(plain["frequency"], rfm["frequency"])
    np.testing.assert_allclose(plain["monetary"], rfm["monetary"])
    means = plain.mean()
    hi = pd.DataFrame(
        {
            "r": plain["recency_days"] <= means["recency_days"],
            "f": plain["frequency"] >= means["frequency"],
            "m": plain["monetary"] >= means["monetary"],
        }
    )
    names = {tuple(r[1:4]): r[0] for r in C.RFM8_RULES.itertuples(index=False)}
    plain8 = hi.apply(lambda r: names[(r["r"], r["f"], r["m"])], axis=1)
    assert (plain8 == C.classify_rfm8(rfm)[0]["rfm8"]).all()
    r = plain["recency_days"].rank(method="min", ascending=False)
    f = plain["frequency"].rank(method="min")
    n = len(plain)
    assert ((r - 1) * 5 // n + 1).astype(int).tolist() == C.score_rf(rfm)["r_score"].tolist()
    assert ((f - 1) * 5 // n + 1).astype(int).tolist() == C.score_rf(rfm)["f_score"].tolist()


def test_forward_value_wraps_clv(small_tables):
    from helpers.analysis import clv

    orders = small_tables["orders"]
    table, params, s = C.forward_value(orders, "2025-12-31", horizon_days=90)
    ref, ref_params = clv.score_customers(orders, "2025-12-31", horizon_days=90)
    pd.testing.assert_frame_equal(table, ref)
    assert params == ref_params
    assert s["spend"] == pytest.approx(ref["clv"].sum())
    rep = ref[ref["frequency"] > 0]
    assert s["repeat_customers"] == len(rep) and s["lapsed"] == int((rep["p_alive"] < 0.5).sum())
    top = ref["clv"].nlargest(int(np.ceil(0.2 * len(ref))))
    assert s["top_clv_share"] == pytest.approx(top.sum() / ref["clv"].sum())


def test_no_buyer_ids_gives_no_customers():
    o = _buys([(None, "2025-01-01", 10.0), (None, "2025-01-02", 20.0)])
    co = C.customer_orders(o)
    assert co.empty and list(co.columns) == [
        "customer_id",
        "order_id",
        "order_time",
        "day",
        "month",
        "net",
    ]
    assert C.rfm_table(co).empty


def test_segment_value_by_hand():
    seg = pd.DataFrame(
        {
            "segment": ["x", "x", "y", "y"],
            "repeat_purchases": [2.0, 0.0, 0.0, np.nan],
            "p_alive": [0.5, 1.0, 1.0, np.nan],
            "expected_purchases": [1.0, 0.5, 0.2, np.nan],
            "clv": [100.0, 50.0, 50.0, np.nan],  # the 4th customer was not scored
        }
    )
    v = C.segment_value(seg, "segment", ["x", "y", "z"]).set_index("segment")
    assert v["customers"].tolist() == [2, 2, 0]
    assert v.loc["x", "p_alive"] == 0.5  # repeat buyers only: a one-time buyer's 1.0 says nothing
    assert np.isnan(v.loc["y", "p_alive"]) and np.isnan(v.loc["z", "p_alive"])
    assert v["expected_purchases"].tolist() == pytest.approx([1.5, 0.2, 0.0])
    assert v["clv"].tolist() == [150.0, 50.0, 0.0] and v["clv_share"].tolist() == [0.75, 0.25, 0]
    assert v.loc["x", "clv_per_customer"] == 75.0 and np.isnan(v.loc["z", "clv_per_customer"])


def test_messages_pair_zh_and_en_with_the_same_placeholders():
    import string

    import yaml

    from helpers.present import narrative

    f = narrative.MESSAGES_DIR / "04_customer_analysis.yaml"
    msgs = yaml.safe_load(f.read_text(encoding="utf-8"))
    fields = {}
    for key, entry in msgs.items():
        assert set(entry) == {"zh", "en"}, key  # a stray comma in a flow map adds keys
        for lang in ("zh", "en"):
            fields[lang] = {x[1] for x in string.Formatter().parse(entry[lang]) if x[1]}
        assert fields["zh"] == fields["en"], key
    needed = [f"seg_{k}" for k in C.SEGMENT_ORDER] + [f"act_{k}" for k in C.SEGMENT_ORDER]
    needed += [f"rfm8_{k}" for k in C.RFM8_ORDER] + [f"act_rfm8_{k}" for k in C.RFM8_ORDER]
    needed += [f"tier_{t}" for t in C.TIERS]
    assert not [k for k in needed if k not in msgs]


def test_customer_orders_are_remembered_per_day_and_equal_plain_pandas():
    from helpers.core import codes as idcodes

    o = _orders(
        [
            ("a", "o1", "2025-01-01 10:00", 100.0, 0.0, "paid"),
            ("a", "o1", "2025-01-01 10:05", 50.0, 0.0, "paid"),
            ("b", "o2", "2025-01-05 09:00", 80.0, 30.0, "partially_refunded"),
            (None, "o3", "2025-01-06 09:00", 70.0, 0.0, "paid"),
            ("a", "o4", "2025-01-31 23:59", 40.0, 0.0, "paid"),
            ("b", "o5", "2025-02-01 00:00", 20.0, 0.0, "paid"),
        ]
    )
    o = o.astype({c: object for c in o.columns if o[c].dtype == "str"})  # text as a Shop holds it
    idcodes.clear_caches()
    late = C.customer_orders(o, as_of="2025-01-31 08:00")  # the day counts, not the hour
    assert C.customer_orders(o, as_of="2025-01-31") is not late
    pd.testing.assert_frame_equal(C.customer_orders(o, as_of="2025-01-31"), late)
    assert len(idcodes.PER_ORDERS) == 1
    # plain pandas: identified buyers' paid orders up to the day, net of refunds
    keep = o["customer_id"].notna() & (o["order_time"] < "2025-02-01")
    want = (
        o[keep]
        .assign(net=lambda d: d["paid_amount"] - d["refund_amount"])
        .groupby(["customer_id", "order_id"], sort=True)
        .agg(order_time=("order_time", "min"), net=("net", "sum"))
        .reset_index()
    )
    assert late["order_id"].tolist() == want["order_id"].tolist() == ["o1", "o4", "o2"]
    assert late["net"].tolist() == want["net"].tolist() == [150.0, 40.0, 50.0]
    everything = C.customer_orders(o)  # no day: a second entry, with o5
    assert everything["order_id"].tolist() == ["o1", "o4", "o2", "o5"]
    assert len(idcodes.PER_ORDERS) == 2
