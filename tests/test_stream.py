"""Order exports read in row batches (helpers.load.adapters.stream) give what the whole-file
reader gives: the same lines, rejects with the same reasons, the same counts and notes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers.load.adapters as adapters
from helpers.core import schema
from helpers.core.errors import LoadError
from helpers.load.shop import fill_cache, load_shop

_spec = importlib.util.spec_from_file_location(
    "make_corpus", Path(__file__).parent / "hostile" / "make_corpus.py"
)
mc = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("make_corpus", mc)
_spec.loader.exec_module(mc)


@pytest.fixture
def streamed(monkeypatch) -> list[str]:
    """Formats read by the batch reader during the test (tiny batches from any size)."""
    used: list[str] = []
    real = adapters.read_streamed

    def spy(*a, **k):
        got = real(*a, **k)
        if got is not None:
            used.append(got.format)
        return got

    monkeypatch.setattr(adapters, "read_streamed", spy)
    monkeypatch.setenv("PLAYBOOK_CACHE", "off")
    return used


def _outcome(shop_dir: Path, monkeypatch, stream: bool, rows: int = 3):
    monkeypatch.setenv("PLAYBOOK_STREAM_BYTES", "0" if stream else str(1 << 60))
    monkeypatch.setenv("PLAYBOOK_BATCH_ROWS", str(rows))
    try:
        return load_shop(shop_dir)
    except LoadError as err:
        return f"{type(err).__name__}: {err}"


def _assert_same(a, b) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    assert a.tables.keys() == b.tables.keys()
    for t in a.tables:
        pd.testing.assert_frame_equal(a.tables[t], b.tables[t], obj=t)
    pd.testing.assert_frame_equal(a.rejects, b.rejects, obj="rejects")
    pd.testing.assert_frame_equal(a.report, b.report, obj="report")
    assert a.notes == b.notes
    assert a.after_as_of == b.after_as_of
    assert a.as_of == b.as_of


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return mc.build(tmp_path_factory.mktemp("hostile-stream"))


def test_hostile_corpus_streamed_equals_whole(corpus, monkeypatch, streamed):
    """Every hostile case, at batches of 2 and 3 records: same shop or same one-line error."""
    for name in sorted(corpus):
        before = len(streamed)
        whole = _outcome(corpus[name], monkeypatch, stream=False)
        assert len(streamed) == before, name
        for rows in (2, 3):
            got = _outcome(corpus[name], monkeypatch, stream=True, rows=rows)
            try:
                _assert_same(whole, got)
            except AssertionError as err:
                raise AssertionError(f"{name} at {rows} rows a batch: {err}") from None
    # the batch reader did the reading in most cases, in each of its formats
    assert len(streamed) >= 40
    assert {"canonical", "generic", "shopify_orders"} <= set(streamed)


HEAD = mc.HEADER
GOOD = "{o},{l},{c},2024-03-0{d} 10:00:00,2024-03-0{d} 10:05:00,paid,{p},{p}-S,衬衫,{q},50.00,{a},0"


def _row(o, line, c, d=1, p="P1", q=1) -> str:
    return GOOD.format(o=o, l=line, c=c, d=d, p=p, q=q, a=f"{50 * q:.2f}")


def _cross_batch_shop(tmp_path: Path) -> Path:
    """Records (header = record 1) in batches of 3 records: [1-3] [4-6] [7-9] [10-12] …"""
    rows = [
        _row(2001, 1, "alice"),  # 2  order 2001: lines in batches 1 and 2
        _row(2002, 1, "bob", 2),  # 3  order 2002 line 1; its id repeated in batch 3
        _row(2003, 1, "carol", 3),  # 4  order 2003 and its exact duplicate (batch 2)
        _row(2003, 1, "carol", 3),  # 5  → "duplicate of row 4"
        _row(2001, 2, "alice", 1, "P2"),  # 6
        _row(2002, 1, "bob", 2, "P3"),  # 7  line 1 of order 2002 again, another product
        _row(2004, 1, "dave", 4, q=0),  # 8  zero quantity: order 2004 is rejected …
        _row(2005, 1, "erin", 5),  # 9
        _row(2004, 2, "dave", 4),  # 10 … with its second line, a batch later
        "",  # 11 blank
        "合计" + "," * 12,  # 12 a summary row
        _row(2007, 1, "gus", 7, q=3),  # 13
    ]
    d = tmp_path / "cross"
    d.mkdir()
    (d / "orders.csv").write_text(HEAD + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (d / "shop.yaml").write_text("name: cross\nsalt: s\n", encoding="utf-8")
    return d


def test_orders_across_batches_hand_checked(tmp_path, monkeypatch, streamed):
    shop_dir = _cross_batch_shop(tmp_path)
    whole = _outcome(shop_dir, monkeypatch, stream=False)
    got = _outcome(shop_dir, monkeypatch, stream=True, rows=3)
    assert streamed == ["canonical"]
    _assert_same(whole, got)
    o = got.orders
    # kept: 2001 (2 lines), 2002's first line 1, 2003 once, 2005, 2007 — in file order
    assert o["order_id"].tolist() == ["2001", "2002", "2003", "2001", "2005", "2007"]
    assert o["_source_row"].tolist() == [2, 3, 4, 6, 9, 13]
    assert o["paid_amount"].sum() == pytest.approx(50 * 5 + 150)
    rej = got.rejects.set_index("row")["reason"]
    assert rej.to_dict() == {
        5: "duplicate of row 4",
        7: "order 2002 line 1 already at orders.csv row 3",
        8: "zero quantity",
        10: "order 2004 incomplete: orders.csv row 8 rejected",
        11: "blank row",
        12: "summary row (合计)",
    }
    rep = got.report.set_index("file").loc["orders.csv"]
    assert (rep["read"], rep["kept"], rep["rejected"]) == (12, 6, 6)


def test_streamed_only_where_exact(tmp_path, corpus, monkeypatch, streamed):
    """XLSX, a row with more cells than the header (Arrow reads only rectangular text) and
    order ids in scientific notation (checked against every order) are read whole."""
    names = {n for n, files, _ in mc.CASES if any(str(f).endswith(".xlsx") for f in files)}
    assert names
    for name in sorted(names):
        _outcome(corpus[name], monkeypatch, stream=True)
    sci = tmp_path / "sci"
    sci.mkdir()
    rows = [_row(2001, 1, "a"), _row("5.12346E+18", 1, "b"), _row(2003, 1, "c")]
    (sci / "orders.csv").write_text(HEAD + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (sci / "shop.yaml").write_text("name: sci\nsalt: s\n", encoding="utf-8")
    shop = _outcome(sci, monkeypatch, stream=True, rows=2)
    assert len(shop.orders) == 2
    ragged = tmp_path / "ragged"
    ragged.mkdir()
    rows = [_row(2001, 1, "a"), _row(2002, 1, "b") + ",extra", _row(2003, 1, "c")]
    (ragged / "orders.csv").write_text(HEAD + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (ragged / "shop.yaml").write_text("name: ragged\nsalt: s\n", encoding="utf-8")
    shop = _outcome(ragged, monkeypatch, stream=True, rows=2)
    assert shop.report["read"].sum() == 3
    assert streamed == []


def test_text_objects_share_one_string_per_value():
    cells = [v if v is None else v[:1] + v[1:] for v in ["paid", "refunded", None] * 50_000]
    s = pd.Series(cells, dtype=object)  # a new str object per cell, equal values
    assert s.iloc[0] is not s.iloc[3]
    t = schema.text_objects(s, sample=1000)
    assert t.dtype == object and t.tolist() == cells
    assert t.iloc[0] is t.iloc[3] and t.iloc[1] is t.iloc[4] and t.iloc[2] is None
    few = schema.text_objects(pd.Series(["a", "b", np.nan]))
    assert few.tolist() == ["a", "b", None]
    # already shared (as the batch reader gives it): kept, its missing cells made None
    again = schema.text_objects(t.where(t.notna(), np.nan), sample=1000)
    assert again.tolist() == cells and again.iloc[0] is t.iloc[0] and again.iloc[2] is None


def test_fill_cache_parses_in_a_child_and_words_its_error(small_shop_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path / "cache"))
    assert fill_cache(small_shop_dir) is True
    assert any((tmp_path / "cache").rglob("meta.json"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "shop.yaml").write_text("name: bad\nsalt: s\n", encoding="utf-8")
    (bad / "orders.csv").write_text("order_id,amount\n1,2\n", encoding="utf-8")
    with pytest.raises(LoadError) as err:
        fill_cache(bad)
    assert "orders.csv" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv("PLAYBOOK_CACHE", "off")
    assert fill_cache(small_shop_dir) is False


def test_batches_are_read_one_ahead_in_order_errors_where_taken():
    from helpers.load.adapters.stream import _ahead

    made, closed = [], []

    def items(fail_at=None):
        try:
            for i in range(6):
                if i == fail_at:
                    raise ValueError("bad batch")
                made.append(i)
                yield i
        finally:
            closed.append(True)

    seen = [(x, len(made)) for x in _ahead(items())]
    assert [x for x, _ in seen] == list(range(6))
    assert max(m - (x + 1) for x, m in seen) <= 1  # never more than one batch ahead
    made.clear()
    got = []
    with pytest.raises(ValueError, match="bad batch"):
        for x in _ahead(items(fail_at=3)):
            got.append(x)
    assert got == [0, 1, 2]
    closed.clear()
    for _ in _ahead(items()):
        break  # the caller stops early: the file's reader is closed, no thread left running
    assert closed == [True]


def test_lines_back_in_file_order_copy_only_what_moves():
    """The straddlers' lines are put back by slicing the runs already in order (``run`` or
    longer) and taking the rest: the same table as a full take, and an encoded text column
    still gives one ``str`` per distinct value across the slices."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from helpers.load.adapters.stream import _reordered

    status = ["paid", "refunded", "paid", "closed"] * 5
    table = pa.table(
        {
            "row": pa.array(range(20)),
            "status": pc.dictionary_encode(pa.chunked_array([status[:12], status[12:]])),
            "title": pa.chunked_array(
                [[f"t{i}" for i in range(12)], [f"t{i}" for i in range(12, 20)]]
            ),
        }
    )
    # rows 17 and 18 (the late batch) belong after rows 3 and 9
    ix = np.array([0, 1, 2, 3, 17, 4, 5, 6, 7, 8, 9, 18, 10, 11, 12, 13, 14, 15, 16, 19])
    out = _reordered(table, ix, run=5)
    assert out.equals(table.take(pa.array(ix)))
    assert out.column("row").to_pylist() == ix.tolist()
    assert out.column("status").num_chunks > 1  # slices of the batches, not one copy
    objs = schema.arrow_objects(out.column("status"))
    assert objs.tolist() == [status[i] for i in ix]
    assert len({id(v) for v in objs}) == 3  # paid, refunded, closed: one str each
    assert _reordered(table, np.arange(20)) is table
