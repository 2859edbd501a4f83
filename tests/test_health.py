import pandas as pd
import pytest

from helpers.analysis import health
from helpers.core import codes


def orders(rows):
    cols = [
        "order_id",
        "line_id",
        "customer_id",
        "order_time",
        "status",
        "quantity",
        "paid_amount",
        "refund_amount",
    ]
    df = pd.DataFrame(rows, columns=cols)
    df["order_time"] = pd.to_datetime(df["order_time"])
    return df


ORD = orders(
    [
        ("A", "1", "c1", "2025-01-01 10:00", "paid", 1, 100.0, 0.0),
        ("A", "2", "c1", "2025-01-01 10:00", "partially_refunded", 2, 50.0, 20.0),
        ("B", "1", "c2", "2025-01-02 09:00", "refunded", 1, 80.0, 80.0),
        ("C", "1", "c3", "2025-01-06 12:00", "cancelled", 1, 0.0, 0.0),
        ("D", "1", "c1", "2025-01-06 18:00", "pending", 1, 30.0, 0.0),
    ]
)


def test_daily_gaps_finds_the_three_empty_days():
    gaps = health.daily_gaps(ORD)
    assert gaps.to_dict("records") == [
        {"start": pd.Timestamp("2025-01-03"), "end": pd.Timestamp("2025-01-05"), "days": 3}
    ]


def test_status_shares_by_order():
    s = health.status_shares(ORD).set_index("status")
    # order A has a paid and a partially refunded line: the order counts as partially refunded
    assert s.loc["partially_refunded", "orders"] == 1
    assert s.loc["partially_refunded", "paid_amount"] == 150.0
    assert s.loc["refunded", "refund_amount"] == 80.0
    assert s["orders"].sum() == 4
    assert s.loc["cancelled", "order_share"] == pytest.approx(0.25)


def test_refund_rate():
    # refunds 20 + 80 over paid 100 + 50 + 80 + 30 (cancelled excluded)
    assert health.refund_rate(ORD) == pytest.approx(100 / 260)


def test_net_sales_definition():
    s = codes.sales_lines(ORD)
    assert list(s["order_id"]) == ["A", "A", "B"]  # pending and cancelled are not sales
    assert s["net"].sum() == pytest.approx(100 + 30 + 0)
    d = codes.daily_sales(ORD)
    assert len(d) == 2 and d["net_sales"].tolist() == [130.0, 0.0]
    assert codes.order_values(ORD).to_dict() == {"A": 130.0, "B": 0.0}
