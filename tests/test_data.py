import pandas as pd
import pytest

from helpers.core.errors import LoadError
from helpers.load.shop import load_report, load_shop


def test_load_accounts_for_every_row(small_shop_dir):
    shop = load_shop(small_shop_dir)
    rep = load_report(shop)
    assert (rep["read"] == rep["kept"] + rep["rejected"]).all()
    orders_csv = pd.read_csv(small_shop_dir / "orders.csv")
    assert rep.set_index("file").loc["orders.csv", "read"] == len(orders_csv)
    assert set(shop.tables) == {
        "orders",
        "products",
        "traffic",
        "ads",
        "keywords",
        "campaigns",
        "reviews",
        "issues",
    }


def test_buyer_ids_are_pseudonymised_and_pii_dropped(small_shop_dir, small_tables):
    shop = load_shop(small_shop_dir)
    raw = pd.read_csv(small_shop_dir / "orders.csv", dtype=str)
    assert not set(shop.orders["customer_id"]) & set(raw["customer_id"])
    assert shop.orders["customer_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert "buyer_phone" not in shop.orders.columns
    text = shop.orders.astype(str).to_csv() + shop.rejects.to_csv()
    for phone in small_tables["pii"]["phone"].head(50):
        assert phone not in text
    # same buyer, same id; stable across loads
    again = load_shop(small_shop_dir, cache=False)
    assert again.orders["customer_id"].tolist() == shop.orders["customer_id"].tolist()


@pytest.mark.parametrize("as_of", [None, "2025-06-30"])
def test_orders_hold_their_sales_lines_first_in_file_order(small_shop_dir, as_of):
    import numpy as np

    from helpers.core.codes import sales_lines, sales_mask

    o = load_shop(small_shop_dir, as_of=as_of).orders
    keep = sales_mask(o)
    k = int(keep.sum())
    assert 0 < k < len(o) and keep[:k].all()  # the sample has cancelled and pending lines
    for part in (o.iloc[:k], o.iloc[k:]):  # each part in the export's order
        assert part.groupby("_source_file")["_source_row"].is_monotonic_increasing.all()
    lines = sales_lines(o)
    assert len(lines) == k and np.shares_memory(
        lines["paid_amount"].to_numpy(), o["paid_amount"].to_numpy()
    )


def test_as_of_cuts_and_counts(small_shop_dir):
    full = load_shop(small_shop_dir)
    cut = load_shop(small_shop_dir, as_of="2025-06-30")
    assert cut.as_of == pd.Timestamp("2025-06-30")
    assert cut.orders["order_time"].max() < pd.Timestamp("2025-07-01")
    assert len(cut.orders) + cut.after_as_of["orders"] == len(full.orders)
    assert full.as_of == full.orders["order_time"].max().normalize()
    # one time unit whether as_of is given or not: a kernel that loads the shop itself and one
    # given the kernel server's compute the same dates (a stock-out date's dtype included)
    same_day = load_shop(small_shop_dir, as_of=str(full.as_of.date()))
    unit = full.orders["order_time"].dt.unit
    assert full.as_of.unit == cut.as_of.unit == same_day.as_of.unit == unit
    assert same_day.as_of == full.as_of


def test_cache_gives_the_same_tables_and_is_invalidated(small_shop_dir, tmp_path, monkeypatch):
    import shutil

    shop_dir = tmp_path / "copy"
    shutil.copytree(small_shop_dir, shop_dir)
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path / "cache"))
    first = load_shop(shop_dir)
    from helpers.load import shop as loader

    parse = loader._parse
    monkeypatch.setattr(loader, "_parse", lambda cfg: pytest.fail("parsed: the cache not read"))
    second = load_shop(shop_dir)  # from the cache (a cache that cannot be read is parsed)
    monkeypatch.setattr(loader, "_parse", parse)
    for t in first.tables:
        pd.testing.assert_frame_equal(first.tables[t], second.tables[t], check_dtype=False)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    orders = (shop_dir / "orders.csv").read_text(encoding="utf-8").splitlines()
    (shop_dir / "orders.csv").write_text("\n".join(orders[:-5]) + "\n", encoding="utf-8")
    third = load_shop(shop_dir)
    assert len(third.orders) + 5 == len(first.orders) + first.after_as_of.get("orders", 0) - (
        third.after_as_of.get("orders", 0)
    ) or len(third.orders) < len(first.orders)
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_validation_failures_become_rejects(small_shop_dir, tmp_path):
    import shutil

    d = tmp_path / "bad"
    shutil.copytree(small_shop_dir, d)
    p = pd.read_csv(d / "products.csv", dtype=str)
    p.loc[3, "role"] = "hero"  # not one of traffic/profit/image/custom
    p.to_csv(d / "products.csv", index=False)
    shop = load_shop(d, cache=False)
    rej = shop.rejects[shop.rejects["table"] == "products"]
    assert len(rej) == 1
    assert int(rej["row"].iloc[0]) == 5  # header is line 1, so data row 3 (0-based) is line 5
    assert "role" in rej["reason"].iloc[0] or rej["column"].iloc[0] == "role"
    assert "role=hero" in rej["values"].iloc[0]
    rep = shop.report.set_index("file").loc["products.csv"]
    assert (rep["read"], rep["kept"], rep["rejected"]) == (len(p), len(p) - 1, 1)


def test_missing_orders_is_one_line(tmp_path):
    (tmp_path / "shop.yaml").write_text("name: x\n")
    with pytest.raises(LoadError) as e:
        load_shop(tmp_path)
    assert "no orders file" in str(e.value) and "\n" not in str(e.value)


def test_pandera_contract_rejects_rows_directly():
    from helpers.core import schema
    from helpers.load.shop import _validate

    df = schema.conform(
        pd.DataFrame(
            {
                "product_id": ["1", "2", "3"],
                "price": [10.0, -5.0, 3.0],
                "role": ["traffic", "profit", "villain"],
                "_source_file": "p.csv",
                "_source_row": [2, 3, 4],
            }
        ),
        "products",
    )
    kept, rej = _validate(df, "products")
    assert kept["product_id"].tolist() == ["1"]
    assert rej["row"].tolist() == [3, 4]
    assert rej["column"].tolist() == ["price", "role"]


def test_preloaded_shop_is_handed_out_only_while_it_is_the_same(
    small_shop_dir, tmp_path, monkeypatch
):
    """What the kernel server loads once: the same folder, inputs and as_of get it back."""
    import shutil
    import time

    from helpers.load import shop as data

    shop_dir = tmp_path / "copy"
    shutil.copytree(small_shop_dir, shop_dir)
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_PRELOADED", {})
    assert data.preload(shop_dir) is None  # not in the cache yet: nothing preloaded
    first = load_shop(shop_dir)
    time.sleep(3.5)  # cache stamps need settled files
    pre = data.preload(shop_dir)
    assert pre is not None and pre is not first
    assert load_shop(shop_dir) is pre
    assert load_shop(shop_dir, as_of=str(pre.as_of.date())) is pre
    earlier = load_shop(shop_dir, as_of=str((pre.as_of - pd.Timedelta(days=30)).date()))
    assert earlier is not pre and len(earlier.orders) < len(pre.orders)
    orders = (shop_dir / "orders.csv").read_text(encoding="utf-8").splitlines()
    (shop_dir / "orders.csv").write_text("\n".join(orders[:-5]) + "\n", encoding="utf-8")
    assert load_shop(shop_dir) is not pre  # inputs changed: read afresh


@pytest.mark.parametrize("one_read_bytes", [0, 16 << 20], ids=["column-at-a-time", "at-once"])
def test_cached_ids_that_repeat_share_one_string_per_value(tmp_path, monkeypatch, one_read_bytes):
    """A cached id column that repeats (an order's lines, a buyer's orders) is read back with
    one str per distinct value; a unique id keeps one per cell; values and None are as stored;
    whether the file is read a column at a time (a large file) or at once (a small one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.load import shop as loader
    from helpers.load.shop import _read_table

    monkeypatch.setattr(loader, "_ONE_READ_BYTES", one_read_bytes)

    n = 120_000  # more than the 100k rows the repeat test samples
    order = [f"o{i // 3:06d}" for i in range(n)]  # three lines an order
    buyer = [None if i % 7 == 0 else f"b{i % 500}" for i in range(n)]
    line = [f"l{i}" for i in range(n)]  # unique
    pq.write_table(
        pa.table({"order_id": order, "customer_id": buyer, "line_id": line}), tmp_path / "o.pq"
    )
    df = _read_table(tmp_path / "o.pq", "orders", [])
    assert df["order_id"].tolist() == order and df["customer_id"].tolist() == buyer
    assert df["line_id"].tolist() == line and df["order_id"].dtype == object
    assert len({id(v) for v in df["order_id"]}) == n // 3
    assert len({id(v) for v in df["customer_id"] if v is not None}) == 500
    assert sum(v is None for v in df["customer_id"]) == len(range(0, n, 7))
    assert len({id(v) for v in df["line_id"]}) == n


def test_repeated_keys_are_found_by_their_hashes():
    """The validation's uniqueness test: a repeated (order, line) pair is always found; a
    pair that is unique is not reported, even where each column repeats on its own."""
    from helpers.load.shop import _maybe_repeated

    df = pd.DataFrame(
        {"order_id": ["o1", "o1", "o2", "o2", "o3"], "line_id": ["1", "2", "1", "2", "1"]}
    )
    assert _maybe_repeated(df, ["order_id", "line_id"]) is False
    assert _maybe_repeated(df, ["order_id"]) is True
    twice = pd.concat([df, df.iloc[[3]]], ignore_index=True)
    assert _maybe_repeated(twice, ["order_id", "line_id"]) is True
    # the same text split differently between the two columns is a different key
    split = pd.DataFrame({"order_id": ["o1", "o"], "line_id": ["1", "11"]})
    assert _maybe_repeated(split, ["order_id", "line_id"]) is False
    # hashed two rows at a time: a repeat across the slices is found, and only a repeat
    for rows in (1, 2):
        assert _maybe_repeated(df, ["order_id", "line_id"], rows=rows) is False
        assert _maybe_repeated(twice, ["order_id", "line_id"], rows=rows) is True


def test_cache_tables_are_written_in_slices_and_read_back_equal(tmp_path):
    """The Parquet cache's sliced writer (convert one slice while the last is written) gives
    the table back cell for cell, a text column empty in the first slice included."""
    import numpy as np
    import pyarrow.parquet as pq

    from helpers.load.shop import _to_parquet

    n = 25
    df = pd.DataFrame(
        {
            "order_id": [f"o{i // 2}" for i in range(n)],
            "qty": np.arange(n, dtype=np.int64),
            "paid": np.arange(n) * 1.5,
            "t": pd.date_range("2026-01-01", periods=n, freq="h"),
            "sku": [None] * 12 + [f"s{i}" for i in range(12, n)],
        }
    )
    df["sku"] = df["sku"].astype(object)
    _to_parquet(df, tmp_path / "a.parquet", rows=10)  # three slices; sku null in the first
    assert pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups == 3
    back = pq.read_table(tmp_path / "a.parquet").to_pandas()
    assert back["order_id"].tolist() == df["order_id"].tolist()
    assert back["sku"][:12].isna().all()
    assert back["sku"].tolist()[12:] == df["sku"][12:].tolist()
    assert (back["qty"].to_numpy() == df["qty"].to_numpy()).all()
    assert (back["paid"].to_numpy() == df["paid"].to_numpy()).all()
    assert (back["t"].to_numpy() == df["t"].to_numpy()).all()
    full = df.assign(sku=[f"s{i}" for i in range(n)])
    _to_parquet(full, tmp_path / "b.parquet", rows=10)
    assert pq.ParquetFile(tmp_path / "b.parquet").metadata.num_row_groups == 3
    assert pq.read_table(tmp_path / "b.parquet").to_pandas()["sku"].tolist() == full["sku"].tolist()


def test_order_counts_on_shared_codes_match_plain_pandas(small_shop_dir):
    """Data health's and returns' order counts (on the loaded shop's shared id codes, the
    sales lines a slice of its orders) against plain pandas groupbys of the same table."""
    from helpers.analysis import health, returns

    o = load_shop(small_shop_dir).orders
    plain = o[o["status"].isin(["paid", "partially_refunded", "refunded", "returned"])]
    plain = plain[plain["line_type"] != "non_merchandise"]
    live = plain[(plain["status"] != "refunded") & (plain["status"] != "returned")]
    month = live["order_time"].dt.to_period("M").dt.to_timestamp()
    want = live.groupby(month)["order_id"].nunique()
    got = health.monthly_sales(o).set_index("month")["orders"]
    assert (got[got > 0] == want).all() and got.sum() == want.sum() > 0
    assert (
        health.missing_customer_ids(o)["orders"]
        == live.loc[live["customer_id"].isna(), "order_id"].nunique()
    )
    shares = health.status_shares(o)
    assert shares["orders"].sum() == o["order_id"].nunique()
    assert shares["paid_amount"].sum() == pytest.approx(o["paid_amount"].sum())
    bought = plain[plain["status"] != "returned"]
    assert returns.return_summary(o)["orders"] == bought["order_id"].nunique()
