"""The advice follows from the figures: 满减 by cost per extra sale, 折, themes, titles, DSR."""

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import promotions as M
from helpers.analysis import review as rv
from helpers.present.narrative import titled, zhe

# 10 baskets at 90 (just under 100), 100 at 200, 4 at 250 (just under 300)
BASKETS = [90.0] * 10 + [200.0] * 100 + [250.0] * 4


def test_threshold_chosen_by_cost_per_extra_sale_not_by_baskets_lifted():
    curve, best = M.threshold_suggestion(
        BASKETS, [100, 300], band=0.2, take_up=0.5, discount_rate=0.1, gross_margin=0.35
    )
    c = curve.set_index("spend_x")
    # X=100: 5 of 10 top up (+50); 104 already qualify; cost 10 x 109 = 1,090 -> 21.8 per 1
    assert c.loc[100, "lifted"] == 5 and c.loc[100, "extra_sales"] == pytest.approx(50)
    assert c.loc[100, "cost_per_extra"] == pytest.approx(21.8)
    # X=300: 2 of 4 top up (+100); none qualify; cost 30 x 2 = 60 -> 0.6 per 1
    assert c.loc[300, "cost_per_extra"] == pytest.approx(0.6)
    # the suggestion is the row with the lowest cost per extra sale, though it lifts fewer
    assert best["spend_x"] == 300 and best["save_y"] == 30
    # margin effect 0.35 x 100 - 60 = -25: no standing offer
    assert best["margin_effect"] == pytest.approx(-25) and best["lever"] == "campaign_only"
    _, rich = M.threshold_suggestion(BASKETS, [100, 300], 0.2, 0.5, 0.1, gross_margin=0.7)
    assert rich["margin_effect"] == pytest.approx(10) and rich["lever"] == "standing"


def test_free_shipping_reports_the_cost_below_the_threshold():
    _, ship = M.free_shipping_threshold(BASKETS, 8.0, [100, 300], band=0.2, take_up=0.5)
    # X=300: 0.35 x 100 - 8 x 2 = +19 beats X=100: 0.35 x 50 - 8 x 109 = -854.5
    assert ship["spend_x"] == 300 and ship["margin_effect"] == pytest.approx(19)
    assert ship["lever"] == "threshold_pays"
    assert ship["below"] == 114 and ship["below_cost"] == pytest.approx(912)


def test_discounts_read_in_zhe():
    assert [zhe(d) for d in (0.2, 0.3, 0.25, 0.05)] == ["8折", "7折", "7.5折", "9.5折"]
    assert zhe(0.2, "en") == "20% off" and zhe(float("nan")) == "–"


def test_clearance_markdown_is_the_discount_off():
    # 30% off from a year of cover reads 7折, 20% off reads 8折
    assert zhe(0.3) == "7折" and zhe(0.2) == "8折"


def test_shared_titles_get_their_id():
    assert titled(["裙", "裙", "衫"], ["p1", "p2", "p3"]) == ["裙 (p1)", "裙 (p2)", "衫"]


def test_a_complaint_is_one_theme_not_two():
    rows, i = [], 0
    for m, (hi, lo) in {
        "2025-08": (20, 2),
        "2025-09": (20, 2),
        "2025-10": (20, 2),
        "2025-11": (10, 8),
    }.items():
        for _ in range(hi):
            rows.append((f"r{i}", pd.Timestamp(f"{m}-10"), 5, "质量很好，喜欢"))
            i += 1
        for _ in range(lo):
            txt = "物流太慢，等了一周" if m == "2025-11" else "颜色不对"
            rows.append((f"r{i}", pd.Timestamp(f"{m}-12"), 2, txt))
            i += 1
    r = pd.DataFrame(rows, columns=["review_id", "date", "rating", "text"])
    themes, info = rv.complaint_themes(r, "2025-11-30")
    t = themes.set_index("term")
    assert "物流太慢" in t.index and "物流" not in t.index and "太慢" not in t.index
    # 8 low reviews of 18 in the month: 44.4 per 100, none before
    assert t.loc["物流太慢", "docs"] == 8
    assert t.loc["物流太慢", "per_100"] == pytest.approx(800 / 18)
    assert info["month"] == "2025-11"


def test_dsr_summary_weights_by_reviews_and_names_the_drag():
    trend = pd.DataFrame(
        {
            "month": pd.date_range("2025-06-01", periods=6, freq="MS"),
            "reviews": [10, 10, 10, 10, 30, 10],
            "dsr_item": [4.8] * 6,
            "dsr_service": [4.7, 4.7, 4.7, 4.8, 4.8, 4.8],
            "dsr_shipping": [4.8, 4.8, 4.8, 4.6, 4.4, 4.6],
        }
    )
    s = rv.dsr_summary(trend)
    # shipping, last 3 months weighted: (4.6x10 + 4.4x30 + 4.6x10) / 50 = 4.48
    assert s["dsr_shipping_now"] == pytest.approx(4.48)
    assert s["dsr_shipping_change"] == pytest.approx(4.48 - 4.8)
    assert s["dsr_service_change"] == pytest.approx(0.1)
    assert s["weakest"] == "dsr_shipping" and s["falling"] == "dsr_shipping"
    # a move of a hundredth is noise, not a fall
    calm = trend.assign(dsr_shipping=[4.8, 4.8, 4.8, 4.79, 4.79, 4.79])
    assert rv.dsr_summary(calm)["falling"] is None
    assert (
        rv.dsr_summary(trend.assign(dsr_item=np.nan, dsr_service=np.nan, dsr_shipping=np.nan))[
            "weakest"
        ]
        is None
    )


def test_hot_product_needs_minimum_orders_and_days_and_says_when_thin():
    from helpers.analysis import products as P

    as_of = pd.Timestamp("2026-01-01")
    days = pd.date_range(as_of - pd.Timedelta(days=69), as_of)
    rows = [(f"S{p:02d}", d, 100.0, 1, 1, np.nan) for p in range(12) for d in days]
    # a riser: 2, 4, 6 ... a day over the last 6 weeks, one order a day (28 in 4 weeks)
    rows += [("HOT", d, 2.0 * (k + 1), 1, 1, np.nan) for k, d in enumerate(days[-42:])]
    # one order of 1,000 yesterday, 5 days on sale (the Shopify sample's hero #1)
    rows += [("ONE", as_of - pd.Timedelta(days=1), 1000.0, 1, 1, np.nan)]
    daily = pd.DataFrame(rows, columns=["product_id", "day", "net", "units", "orders", "cogs"])
    cat = pd.DataFrame(
        {
            "product_id": [f"S{p:02d}" for p in range(12)] + ["HOT", "ONE"],
            "title": "t",
            "category": "c",
            "role": None,
            "start_date": [days[0]] * 12 + [days[-42], as_of - pd.Timedelta(days=5)],
        }
    )
    loose = P.hot_tendency(daily, cat, as_of, min_orders=0, min_days=0).set_index("product_id")
    assert loose.loc["ONE", "flag"] and loose.loc["HOT", "flag"]  # sales alone flag both
    h = P.hot_tendency(daily, cat, as_of).set_index("product_id")  # 5 orders, 28 days
    assert h.loc["ONE", "orders_4w"] == 1 and h.loc["ONE", "age_days"] == 5
    assert not h.loc["ONE", "flag"] and h.loc["ONE", "evidence"] == "short"
    # 28 orders (over twice 5) but 41 days on sale (under twice 28): flagged, evidence thin
    assert h.loc["HOT", "flag"] and h.loc["HOT", "orders_4w"] == 28
    assert h.loc["HOT", "evidence"] == "thin"


def test_complaint_themes_map_to_the_rating_they_drag():
    terms = pd.Series(["物流太慢", "客服态度差", "色差", "Late delivery", "掉色"])
    assert rv.theme_dimension(terms).tolist() == [
        "dsr_shipping",
        "dsr_service",
        "dsr_item",
        "dsr_shipping",
        "dsr_item",
    ]
