"""The shared definitions: purchase lines, net sales, order values, and the sales-lines memo."""

import gc

import numpy as np
import pandas as pd
import pytest

from helpers.core import codes as idcodes


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
    ).astype({"order_id": object, "customer_id": object, "status": object})  # as in a Shop


def test_sales_lines_net_and_day(orders):
    s = idcodes.sales_lines(orders)
    assert s["order_id"].tolist() == ["o1", "o1", "o2", "o4"]  # the cancelled line is no sale
    assert s["net"].tolist() == [100.0, 0.0, 60.0, 30.0]
    assert s["day"].dt.day.tolist() == [1, 1, 1, 2]


def test_sales_lines_first_are_a_view_and_the_same_lines(orders):
    from helpers.load.shop import _sales_lines_first

    first = _sales_lines_first(orders.copy())
    assert first["status"].tolist() == [
        "paid",
        "refunded",
        "partially_refunded",
        "paid",
        "cancelled",
    ]
    assert first["order_id"].tolist() == ["o1", "o1", "o2", "o4", "o3"]  # each part in file order
    assert (first.dtypes == orders.dtypes).all()
    lines, before = idcodes.sales_lines(first), idcodes.sales_lines(orders)
    for c in ("order_id", "paid_amount", "order_time"):  # shared with the orders, not copied
        assert np.shares_memory(lines[c].to_numpy(), first[c].to_numpy())
        assert not np.shares_memory(before[c].to_numpy(), orders[c].to_numpy())
    pd.testing.assert_frame_equal(lines.reset_index(drop=True), before.reset_index(drop=True))
    assert _sales_lines_first(first) is first  # already so: nothing moves


def test_order_values_and_daily_sales(orders):
    assert idcodes.order_values(orders).to_dict() == {"o1": 100.0, "o2": 60.0, "o4": 30.0}
    d = idcodes.daily_sales(orders, "2024-12-31", "2025-01-03")
    assert d["net_sales"].tolist() == [0.0, 160.0, 30.0, 0.0]
    assert d["orders"].tolist() == [0, 2, 1, 0]
    assert d["buyers"].tolist() == [0, 2, 1, 0]
    assert d["units"].tolist() == [0, 4, 3, 0]


def test_memo_serves_the_same_lines_and_callers_cannot_change_them(orders):
    first = idcodes.sales_lines(orders)
    first["net"] = -1.0  # a caller scribbling on its copy
    first["extra"] = 1
    again = idcodes.sales_lines(orders)
    assert id(orders) in idcodes.SALES_LINES
    assert again["net"].tolist() == [100.0, 0.0, 60.0, 30.0]
    assert "extra" not in again.columns


def test_memo_sees_a_replaced_column(orders):
    assert len(idcodes.sales_lines(orders)) == 4
    orders["status"] = "cancelled"
    assert idcodes.sales_lines(orders).empty
    orders["status"] = "paid"
    orders["refund_amount"] = 1.0
    assert idcodes.sales_lines(orders)["net"].tolist() == [99.0, 49.0, 79.0, 69.0, 29.0]
    orders.loc[0, "status"] = "cancelled"  # edited in place, not replaced
    orders.loc[4, "paid_amount"] = 11.0
    assert idcodes.sales_lines(orders)["net"].tolist() == [49.0, 79.0, 69.0, 10.0]
    orders["customer_id"] = pd.Series(["c9"] * 5, dtype=object)  # a column it only carries
    assert idcodes.sales_lines(orders)["customer_id"].tolist() == ["c9"] * 4


def test_memo_for_extension_dtypes_sees_edits_in_place(orders):
    text = orders.astype({"status": "str"})
    assert idcodes.sales_lines(text)["net"].tolist() == [100.0, 0.0, 60.0, 30.0]
    assert id(text) in idcodes.SALES_LINES
    assert idcodes._fingerprint(text)[0] == idcodes.SALES_LINES.get(id(text))[1]
    text.loc[4, "status"] = "cancelled"  # copy-on-write: a new array, so a new identity
    assert idcodes.sales_lines(text)["net"].tolist() == [100.0, 0.0, 60.0]


def test_memo_forgets_a_collected_frame(orders):
    frame = orders.copy()
    idcodes.sales_lines(frame)
    key = id(frame)
    assert key in idcodes.SALES_LINES
    del frame
    gc.collect()
    assert key not in idcodes.SALES_LINES


@pytest.mark.parametrize(
    "values",
    [
        ["b", "a", "b", None, "c", "a"],  # text, unsorted, a missing value
        ["a", "a", "b", "c", "c"],  # sorted text
        ["x"],
        [None],
        [3, 1, 3, 2],  # not text
        ["b", 1, "b"],  # mixed
        [np.nan, "a", np.nan],
    ],
)
@pytest.mark.parametrize("sort", [False, True])
def test_factorize_matches_pandas(values, sort):
    arr = np.array(values, dtype=object)
    codes, uniques = idcodes.factorize(pd.Series(arr, dtype=object), sort=sort)
    want_codes, want_uniques = pd.factorize(arr, sort=sort)
    assert codes.tolist() == want_codes.tolist()
    assert list(uniques) == list(want_uniques)


def test_factorize_matches_pandas_on_random_text():
    rng = np.random.default_rng(3)
    words = np.array(["b", "a", "中", "é", "ab", "", "Z", "a\x00"], dtype=object)
    for values in (
        words[rng.integers(0, len(words), 200)],
        np.array(["x", None, "y", np.nan, "x"], dtype=object),
        np.array([3, 1, 3, None], dtype=object),
        np.array([], dtype=object),
    ):
        for sort in (False, True):
            want_codes, want_uniques = pd.factorize(values, sort=sort)
            for rows in (1 << 20, 7, 1):  # text encoded whole, or in slices then unified
                codes, uniques = idcodes.factorize(values, sort=sort, slice_rows=rows)
                np.testing.assert_array_equal(codes, want_codes)
                assert list(uniques) == list(want_uniques)


def test_line_codes_are_remembered_for_the_array_and_match_factorize(orders):
    s = idcodes.sales_lines(orders)
    codes, ids = idcodes.line_codes(s)
    assert codes.tolist() == [0, 0, 1, 2] and ids.tolist() == ["c1", "c2", "c3"]
    again = idcodes.line_codes(idcodes.sales_lines(orders))  # another copy, the same array
    assert again[0] is codes and not codes.flags.writeable
    fresh = idcodes.line_codes(s.assign(customer_id=["c9", "c1", "c1", "c2"]))
    assert fresh[0].tolist() == [2, 0, 0, 1]


def test_nunique_by_counts_distinct_values_per_group():
    df = pd.DataFrame({"m": [1, 1, 2, 2, 2], "o": ["a", "a", "b", None, "c"]})
    got = idcodes.nunique_by(df, "m", "o")
    assert got.to_dict() == df.groupby("m")["o"].nunique().to_dict() == {1: 1, 2: 2}


def test_distinct_per_group_skips_missing_codes():
    group = np.array([0, 0, 0, 1, 1, -1, 2])
    value = np.array([5, 5, 7, -1, 3, 9, 0])
    # group 0: {5, 7}; group 1: {3} (-1 is missing); group 2: {0}; group 3: none
    assert idcodes.distinct_per_group(group, value, 4).tolist() == [2, 1, 1, 0]


def test_subset_codes_renumber_as_factorizing_the_rows_would():
    ids = np.array(["c", "a", None, "b", "a", "c", "d"], dtype=object)
    codes, _ = idcodes.factorize(ids, sort=True)  # a=0 b=1 c=2 d=3, None=-1
    rows = np.array([True, False, True, False, True, True, False])  # c, None, a, c
    # by first appearance: c=0, a=1; sorted: a=0, c=1; the missing id stays -1
    assert idcodes.subset_codes(codes[rows]).tolist() == [0, -1, 1, 0]
    assert idcodes.subset_codes(codes[rows], sort=True).tolist() == [1, -1, 0, 1]
    for sort in (False, True):
        assert (
            idcodes.subset_codes(codes[rows], sort=sort).tolist()
            == pd.factorize(ids[rows], sort=sort)[0].tolist()
        )


def test_order_codes_number_orders_as_factorize_does():
    from helpers.load.shop import _sales_lines_first

    rng = np.random.default_rng(3)
    n = 400
    ids = rng.choice([f"o{i:03d}" for i in range(120)], n)  # an order's lines in any status
    orders = pd.DataFrame(
        {
            "order_id": pd.Series(ids, dtype=object),
            "status": pd.Series(
                rng.choice(["paid", "cancelled", "pending", "refunded", "returned"], n),
                dtype=object,
            ),
            "line_type": pd.Series(
                rng.choice(["merchandise", "merchandise", "non_merchandise"], n), dtype=object
            ),
            "paid_amount": rng.random(n),
            "refund_amount": 0.0,
            "order_time": pd.Timestamp("2025-01-01"),
        }
    )
    orders.loc[rng.choice(n, 30), "order_id"] = "only-cancelled"  # an id of no sales line
    first = _sales_lines_first(orders.copy())  # it empties the frame it is given
    assert not idcodes.sales_mask(first).all()
    want = idcodes.factorize(first["order_id"])[0]
    np.testing.assert_array_equal(idcodes.order_codes(first), want)
    np.testing.assert_array_equal(
        idcodes.order_codes(orders), idcodes.factorize(orders["order_id"])[0]
    )


def test_distinct_in_groups_is_nunique_and_skips_missing_keys():
    df = pd.DataFrame(
        {"k": ["b", "a", None, "b", "a", "b"], "v": ["x", "y", "z", "x", "y", "w"]}
    ).astype(object)
    g = df.groupby("k", sort=True)
    got = idcodes.distinct_in_groups(g, idcodes.factorize(df["v"])[0])
    assert got.to_dict() == {"a": 1, "b": 2}  # the row without a key counts nowhere
    pd.testing.assert_series_equal(got, g["v"].nunique(), check_names=False)


def test_per_orders_remembers_a_derived_table_until_a_read_column_moves(orders):
    calls = []

    def compute():
        calls.append(1)
        s = idcodes.sales_lines(orders)
        return s.groupby("customer_id", sort=True)["net"].sum().rename("net").reset_index()

    def get():
        return idcodes.per_orders(orders, ("by_buyer", None), compute)

    first = get()
    assert first["net"].tolist() == [100.0, 60.0, 30.0]  # c1: 100 + 0 (refunded; o3 cancelled)
    first.loc[0, "net"] = -1.0  # a caller scribbling on its copy
    again = get()
    assert len(calls) == 1 and (id(orders), "by_buyer", None) in idcodes.PER_ORDERS
    assert again["net"].tolist() == [100.0, 60.0, 30.0]
    orders["customer_id"] = pd.Series(["c9"] * 5, dtype=object)  # a column replaced: anew
    assert get()["customer_id"].tolist() == ["c9"] and len(calls) == 2
    assert get()["net"].tolist() == [190.0] and len(calls) == 2  # then remembered again
    orders.loc[0, "paid_amount"] = 40.0  # edited in place: anew
    assert get()["net"].tolist() == [130.0] and len(calls) == 3
    idcodes.clear_caches()
    assert len(idcodes.PER_ORDERS) == 0
    get()
    assert len(calls) == 4
