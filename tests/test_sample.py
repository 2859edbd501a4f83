import numpy as np
import pandas as pd

from helpers.core import calendar as cal
from helpers.datasets import sample


def test_deterministic(small_tables):
    again = sample.generate(3, sample.SampleSize(n_customers=600, n_products=40))
    pd.testing.assert_frame_equal(small_tables["orders"], again["orders"])


def test_shape_of_a_real_shop(small_tables):
    o = small_tables["orders"]
    assert o["order_time"].min() >= pd.Timestamp("2024-01-01")
    assert o["order_time"].max() <= pd.Timestamp("2026-01-01")
    assert set(o["status"]) <= {"paid", "refunded", "partially_refunded", "cancelled", "pending"}
    assert (o["refund_amount"] <= o["paid_amount"] + 1e-9).all()
    assert o[["order_id", "line_id"]].duplicated().sum() == 0
    assert set(small_tables["products"]["role"]) == {"traffic", "profit", "image", "custom"}


def test_about_a_fifth_of_customers_bring_most_sales():
    t = sample.generate(5, sample.SampleSize(n_customers=3000, n_products=60))
    o = t["orders"]
    net = (o["paid_amount"] - o["refund_amount"]).groupby(o["customer_id"]).sum()
    net = np.sort(net.to_numpy())[::-1]
    top20 = net[: len(net) // 5].sum() / net.sum()
    assert 0.5 < top20 < 0.85


def test_double11_is_the_peak_day():
    t = sample.generate(5, sample.SampleSize(n_customers=3000, n_products=60))
    o = t["orders"]
    daily = o.groupby(o["order_time"].dt.normalize())["order_id"].nunique()
    for y in (2024, 2025):
        peak = cal.festival_nodes(f"{y}-11-01", f"{y}-11-30")
        d11 = peak.loc[peak["key"] == "double11", "peak"].iloc[0]
        year = daily[daily.index.year == y]
        assert year.idxmax() == d11


def test_sample_starts_mid_year():
    t = sample.generate(1, sample.SampleSize(n_customers=200, n_products=20, start="2024-03-15"))
    assert t["orders"]["order_time"].min() >= pd.Timestamp("2024-03-15")
