"""The shared definitions: purchase lines, net sales, order values, and the sales-lines memo."""

import gc

import pandas as pd
import pytest

from helpers import metrics


@pytest.fixture
def orders():
    return pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o3", "o4"],
            "customer_id": ["c1", "c1", "c2", "c1", "c3"],
            "order_time": pd.to_datetime(
                [
                    "2025-01-01 10:00",
                    "2025-01-01 10:00",
                    "2025-01-01 23:59",
                    "2025-01-02 08:00",
                    "2025-01-02 09:30",
                ]
            ),
            "status": ["paid", "refunded", "partially_refunded", "cancelled", "paid"],
            "quantity": [1, 2, 1, 1, 3],
            "paid_amount": [100.0, 50.0, 80.0, 70.0, 30.0],
            "refund_amount": [0.0, 50.0, 20.0, 0.0, 0.0],
        }
    )


def test_sales_lines_net_and_day(orders):
    s = metrics.sales_lines(orders)
    assert s["order_id"].tolist() == ["o1", "o1", "o2", "o4"]  # the cancelled line is no sale
    assert s["net"].tolist() == [100.0, 0.0, 60.0, 30.0]
    assert s["day"].dt.day.tolist() == [1, 1, 1, 2]


def test_order_values_and_daily_sales(orders):
    assert metrics.order_values(orders).to_dict() == {"o1": 100.0, "o2": 60.0, "o4": 30.0}
    d = metrics.daily_sales(orders, "2024-12-31", "2025-01-03")
    assert d["net_sales"].tolist() == [0.0, 160.0, 30.0, 0.0]
    assert d["orders"].tolist() == [0, 2, 1, 0]
    assert d["buyers"].tolist() == [0, 2, 1, 0]
    assert d["units"].tolist() == [0, 4, 3, 0]


def test_memo_serves_the_same_lines_and_callers_cannot_change_them(orders):
    first = metrics.sales_lines(orders)
    first["net"] = -1.0  # a caller scribbling on its copy
    first["extra"] = 1
    again = metrics.sales_lines(orders)
    assert id(orders) in metrics._MEMO
    assert again["net"].tolist() == [100.0, 0.0, 60.0, 30.0]
    assert "extra" not in again.columns


def test_memo_sees_a_replaced_column(orders):
    assert len(metrics.sales_lines(orders)) == 4
    orders["status"] = "cancelled"
    assert metrics.sales_lines(orders).empty
    orders["status"] = "paid"
    orders["refund_amount"] = 1.0
    assert metrics.sales_lines(orders)["net"].tolist() == [99.0, 49.0, 79.0, 69.0, 29.0]
    orders.loc[0, "status"] = "cancelled"  # edited in place, not replaced
    orders.loc[4, "paid_amount"] = 11.0
    assert metrics.sales_lines(orders)["net"].tolist() == [49.0, 79.0, 69.0, 10.0]


def test_memo_forgets_a_collected_frame(orders):
    frame = orders.copy()
    metrics.sales_lines(frame)
    key = id(frame)
    assert key in metrics._MEMO
    del frame
    gc.collect()
    assert key not in metrics._MEMO
