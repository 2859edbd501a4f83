"""No invented traffic: without a traffic table, visitors (buyers ÷ an assumed conversion)
are neither shown nor used; forecasts and driver trees run on orders / buyers and value."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import promotions, review


def funnel(days: int, buyers, sales, estimated: bool = True) -> pd.DataFrame:
    d = pd.date_range("2024-01-01", periods=days, freq="D")
    b = np.asarray(buyers, dtype=np.int64)
    return pd.DataFrame(
        {
            "date": d,
            "visitors": b / 0.03,
            "buyers": b,
            "orders": b,
            "units": b,
            "paid_amount": np.asarray(sales, float),
            "refunds": 0.0,
            "net_sales": np.asarray(sales, float),
            "visitors_estimated": estimated,
        }
    )


def test_driver_tree_without_traffic_is_buyers_times_order_value():
    # 14 days before: 10 buyers/day, ¥1,000/day; 14 days after: 12 buyers/day, ¥1,320/day
    f = funnel(28, [10] * 14 + [12] * 14, [1000.0] * 14 + [1320.0] * 14)
    tree, info = review.driver_tree(f, f["date"].iloc[-1], days=14, compare="prev")
    assert info["no_traffic"] and not info["estimated"]
    assert tree["factor"].tolist() == ["buyers", "order_value"]
    s0, s1 = 14_000.0, 18_480.0
    lm = (s1 - s0) / math.log(s1 / s0)  # LMDI weight
    assert tree["contribution"].tolist() == pytest.approx(
        [lm * math.log(168 / 140), lm * math.log(110 / 100)]
    )
    assert tree["contribution"].sum() == pytest.approx(s1 - s0)


def test_driver_tree_with_traffic_keeps_three_factors():
    f = funnel(28, [10] * 28, [1000.0] * 28, estimated=False)
    tree, info = review.driver_tree(f, f["date"].iloc[-1], days=14, compare="prev")
    assert tree["factor"].tolist() == ["visitors", "conversion", "order_value"]
    assert not info["no_traffic"]


def test_forecast_without_traffic_runs_on_orders(small_shop_dir):
    from helpers.load.shop import load_shop

    shop = load_shop(small_shop_dir)
    fy = promotions.plan_fiscal_year(shop.as_of, 1)
    fc, _, f = promotions.plan_campaigns(shop.orders, fy, 1, shop.as_of, n_boot=50)
    assert f["visitors_estimated"].all() and not fc.attrs["traffic_measured"]
    assert fc["visitors"].isna().all() and fc["conversion"].isna().all()
    assert fc["expected_sales"].to_numpy() == pytest.approx(
        (fc["expected_orders"] * fc["order_value"]).to_numpy()
    )
    prior = fc[fc["basis"] == "prior"]
    if len(prior):  # the last 90 days' orders per day × the node's weight × its days
        as_of = shop.as_of.normalize()
        recent = f[(f["date"] > as_of - pd.Timedelta(days=90)) & (f["date"] <= as_of)]
        want = recent["orders"].mean() * prior["weight"] * prior["days"]
        assert prior["expected_orders"].to_numpy() == pytest.approx(want.to_numpy())
        per_order = recent["net_sales"].sum() / recent["orders"].sum()
        assert prior["order_value"].to_numpy() == pytest.approx(per_order)
