"""Large CSV order exports read in row batches, with the same result as reading them whole.

A 10M-line export read whole holds its text, the canonical frame and the parsed columns at
once (19 GB at 10M lines). Here a file is read twice with Arrow's streaming CSV reader:

1. **Keys.** Only the order-id column (the buyer id when orders are built from buyer +
   time), each id normalised as the adapter will read it and kept as Arrow text. An order
   whose key is among the distinct keys of more than one batch is a *straddler*.
2. **Batches.** Every batch of about :data:`BATCH_ROWS` records goes through the format's
   own adapter, less its straddlers' rows, which wait. The checks that look across rows —
   duplicates, a repeated line id, an incomplete order taking all its lines to the rejects,
   line numbers within an order — all look within one order, so a batch that holds every
   row of its orders gets them exactly as the whole file would. Each batch leaves its
   canonical lines (as an Arrow table, its repeating text dictionary-encoded), its rejects
   and its row counts; its text is freed.
   The straddlers' rows go through the adapter last, as one more batch.

In both passes the next batch is read from the file while this one is worked on
(:func:`_ahead`): Arrow's CSV parser releases the GIL, so on two cores the reading costs
almost no wall time. One batch more of raw text is in memory while the lines accumulate.

Lines are put back in file order, so the table, the rejects and the counts are the ones the
whole-file reader gives (``tests/test_stream.py`` checks them equal, forcing tiny batches).

Streamed: UTF-8 / GB18030 CSV files of one format whose lines carry their order's key in
one file: ``canonical``, ``generic`` (a shop.yaml mapping) and ``shopify_orders``, together at least
:data:`STREAM_BYTES`. Everything else, and a file the streaming reader cannot read exactly
(a ragged row, text that is not valid in its encoding, an order id in scientific notation,
which must be checked against every other order), is read whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from helpers.core import schema
from helpers.core.errors import LoadError
from helpers.load.adapters.base import FileCount
from helpers.load.adapters.clean import (
    SOURCE_FILE,
    SOURCE_ROW,
    XLSX_SUFFIXES,
    Part,
    Source,
    arrow_csv_options,
    body_frame,
    header_names,
    parse_id,
    re_sub,
    sniff_csv,
)
from helpers.load.adapters.shopify import NAME

__all__ = ["BATCH_ROWS", "STREAM_BYTES", "FORMATS", "Streamed", "read_streamed"]

BATCH_ROWS = 1_000_000
"""Records per batch (``PLAYBOOK_BATCH_ROWS`` overrides it)."""

STREAM_BYTES = 256 << 20
"""Order files smaller than this in all are read whole (``PLAYBOOK_STREAM_BYTES``)."""

FORMATS = ("canonical", "generic", "shopify_orders")

_BLOCK = 16 << 20  # bytes Arrow reads at a time


class _NotStreamable(Exception):
    """The file needs the whole-file reader."""


@dataclass
class Streamed:
    """What :func:`read_streamed` gives :func:`helpers.load.adapters.read_orders`."""

    format: str
    lines: pd.DataFrame
    rejects: list[pd.DataFrame]
    counts: list[FileCount]
    notes: list[str] = field(default_factory=list)


@dataclass
class _File:
    path: Path
    name: str
    encoding: str
    sep: str
    width: int
    header: list[str]
    format: str = ""


def _setting(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


_END = object()


def _ahead(items: Iterator) -> Iterator:
    """``items`` with the next one made on a second thread while the caller works on this one
    (one ahead, never more). An error making an item is raised where the caller takes it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-ahead") as ex:
        try:
            nxt = ex.submit(next, items, _END)
            while (item := nxt.result()) is not _END:
                nxt = ex.submit(next, items, _END)
                yield item
        finally:
            nxt.cancel() or nxt.exception()  # never close a generator another thread runs
            items.close()


def _reader(f: _File, ragged: list, columns: Sequence[int] | None = None) -> pv.CSVStreamingReader:
    return pv.open_csv(
        f.path, **arrow_csv_options(f.encoding, f.sep, f.width, True, ragged, _BLOCK, columns)
    )


def _chunks(f: _File, rows: int, columns: Sequence[int] | None = None) -> Iterator[pd.DataFrame]:
    """The file's records (header included) as text frames of ``rows`` records (the last
    may be shorter), columns named by position."""
    try:
        ragged: list = []
        reader = _reader(f, ragged, columns)
        pending: list[pa.RecordBatch] = []
        have = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            if ragged:
                raise _NotStreamable("a row with more cells than the header")
            pending.append(batch)
            have += batch.num_rows
            while have >= rows:
                table = pa.Table.from_batches(pending)
                yield _frame(table.slice(0, rows))
                rest = table.slice(rows)
                pending, have = rest.to_batches(), rest.num_rows
        if have:
            yield _frame(pa.Table.from_batches(pending))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, LookupError, UnicodeError) as err:
        raise _NotStreamable(str(err)) from None


def _frame(table: pa.Table) -> pd.DataFrame:
    return pd.DataFrame(
        {int(n): pd.array(table.column(n), dtype="str") for n in table.column_names}
    )


def _open(path: Path, name: str) -> _File:
    enc, sep, width = sniff_csv(path, name)
    if enc.startswith("utf-16"):
        raise _NotStreamable(enc)
    f = _File(path, name, enc, sep, width, [])
    first = next(_chunks(f, 1), None)
    if first is None:
        raise _NotStreamable("empty")
    f.header = header_names(first.iloc[0].tolist(), name)
    return f


def _key_column(files: Sequence[_File], fmt: str, mapping: dict | None) -> str:
    if fmt == "shopify_orders":
        return NAME
    if fmt == "generic":
        col = mapping.get("order_id") or mapping.get("customer_id")
    else:
        col = "order_id" if "order_id" in files[0].header else "customer_id"
    if not col or any(col not in f.header for f in files):
        raise _NotStreamable("no order key")
    return col


def _order_keys(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    """An order's rows get one key: the id as the adapters read it (Excel guards, ``.0``,
    full-width digits, a leading ``#`` removed; ``""`` when missing)."""
    p = parse_id(s)
    if p.bad.any():
        raise _NotStreamable("order id in scientific notation")
    return pa.array(re_sub(p.values.fillna(""), r"^#", ""))  # the text's own Arrow buffers


def _straddlers(files: Sequence[_File], key: str, rows: int) -> list[np.ndarray]:
    """Per file, a boolean per record below the header: does its order have rows in more
    than one batch? Found with Arrow's hash tables on the keys' text: an order is a
    straddler when its key is among the distinct keys of more than one batch."""
    keys, sizes = [], []
    for f in files:
        col = f.header.index(key)
        n = 0
        for chunk in _ahead(_chunks(f, rows, [col])):
            keys.append(_order_keys(chunk[0].iloc[1:] if n == 0 else chunk[0]))
            n += len(chunk)
        sizes.append(max(n - 1, 0))
    if not keys:
        return [np.zeros(0, bool) for _ in files]
    once = pa.chunked_array([pc.unique(k) for k in keys], type=keys[0].type)
    counts = pc.value_counts(once)
    shared = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    spread = np.concatenate(
        [
            np.asarray(pc.is_in(k, value_set=shared).to_numpy(zero_copy_only=False), dtype=bool)
            for k in keys
        ]
    )
    return np.split(spread, np.cumsum(sizes)[:-1])


def _batches(f: _File, spread: np.ndarray, rows: int) -> Iterator[tuple[Source, Source]]:
    """Per batch of the file: its rows whose orders lie within it, and the others."""
    start = 0  # records below the header read so far
    for i, chunk in enumerate(_chunks(f, rows)):
        body = chunk.iloc[1:].reset_index(drop=True) if i == 0 else chunk
        frame = body_frame(body, f.header, start + 2)
        late = spread[frame[SOURCE_ROW].to_numpy() - 2]
        over = np.asarray(frame.attrs["overlong_rows"], dtype=np.int64)
        over_late = spread[over - 2]
        blank = frame.attrs["blank_rows"]
        start += len(body)
        yield (
            _source(f, frame.loc[~late], blank, over[~over_late].tolist()),
            _source(f, frame.loc[late], [], over[over_late].tolist()),
        )


def _source(f: _File, raw: pd.DataFrame, blank: list[int], over: list[int]) -> Source:
    raw = raw.reset_index(drop=True)
    raw.attrs = {}
    return Source(f.name, f.format, raw, f.encoding, list(blank), list(over))


def _joined(parts: Sequence[Source]) -> Source:
    first = parts[0]
    raw = pd.concat([p.raw for p in parts], ignore_index=True)
    blank = [r for p in parts for r in p.blank_rows]
    over = [r for p in parts for r in p.overlong_rows]
    return Source(first.file, first.format, raw, first.encoding, blank, over)


@dataclass
class _Collected:
    lines: list[pa.Table] = field(default_factory=list)
    rejects: list[pd.DataFrame] = field(default_factory=list)
    counts: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    encoded: set[str] | None = None  # the text columns that repeat, judged on the first batch

    def add(self, part: Part) -> None:
        if len(part.lines):
            lines = schema.conform(part.lines, "orders")
            lines[SOURCE_FILE] = part.lines[SOURCE_FILE].astype("object").to_numpy()
            self.lines.append(self._encoded(pa.Table.from_pandas(lines, preserve_index=False)))
        for led in part.ledgers:
            r = led.rejects()
            if len(r):
                self.rejects.append(r)
            for c in led.counts():
                tot = self.counts.setdefault(c.file, [0, 0, 0])
                tot[0] += c.read
                tot[1] += c.kept
                tot[2] += c.rejected
        self.notes += [n for n in part.notes if n not in self.notes]

    def _encoded(self, table: pa.Table) -> pa.Table:
        """A batch's lines with the text columns that repeat (a title, a place, a status, the
        file's name) dictionary-encoded as the batch arrives, so the lines that wait for the
        last batch hold each value once per batch (at 10M lines ~1.3 GB of text becomes
        ~0.3 GB of codes), and pandas later gets one ``str`` per distinct value. Which
        columns (a line id does not repeat) is judged on the first batch, so every batch has
        the same types."""
        text = [
            i
            for i, f in enumerate(table.schema)
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
        if self.encoded is None:
            self.encoded = {
                table.column_names[i] for i in text if schema.arrow_repeats(table.column(i))
            }
        for i in text:
            name = table.column_names[i]
            if name in self.encoded:
                table = table.set_column(i, name, pc.dictionary_encode(table.column(i)))
        return table


def read_streamed(
    paths: Sequence[Path],
    names: Sequence[str],
    mapping: dict[str, str] | None,
    read: Callable[[str, list[Source]], Part],
    detect: Callable[..., str],
) -> Streamed | None:
    """Order files read in batches, or None when they must be read whole.

    Parameters
    ----------
    paths, names : the order files and their display names.
    mapping : shop.yaml's column mapping of the orders, if any.
    read : callable ``read(fmt, sources) -> Part``: the format's adapter, with the shop's
        salt, timezone and currency already bound.
    detect : :func:`helpers.load.adapters.detect`.
    """
    if sum(p.stat().st_size for p in paths) < _setting("PLAYBOOK_STREAM_BYTES", STREAM_BYTES):
        return None
    if any(p.suffix.lower() in XLSX_SUFFIXES for p in paths):
        return None
    rows = max(_setting("PLAYBOOK_BATCH_ROWS", BATCH_ROWS), 2)

    try:
        files = [_open(p, n) for p, n in zip(paths, names, strict=True)]
        fmts = set()
        for f in files:
            heads = [h for h in f.header if h]
            if mapping and set(mapping.values()) <= set(heads):
                fmts.add("generic")
            else:
                try:
                    fmts.add(detect(heads, file=f.name, table="orders"))
                except LoadError:
                    return None  # the whole-file reader words the error
        if len(fmts) != 1 or not fmts <= set(FORMATS):
            return None
        fmt = fmts.pop()
        for f in files:
            f.format = fmt
        spread = _straddlers(files, _key_column(files, fmt, mapping), rows)
        got, late = _Collected(), {}
        for f, sp in zip(files, spread, strict=True):
            for now, wait in _ahead(_batches(f, sp, rows)):
                if len(now.raw) or now.blank_rows:
                    got.add(read(fmt, [now]))
                if len(wait.raw):
                    late.setdefault(f.name, []).append(wait)
        if late:
            got.add(read(fmt, [_joined(v) for v in late.values()]))
    except _NotStreamable:
        return None
    return _assemble(fmt, got, [f.name for f in files])


def _assemble(fmt: str, got: _Collected, order: Sequence[str]) -> Streamed:
    pos = {n: i for i, n in enumerate(order)}
    counts = [
        FileCount(file=n, table="orders", format=fmt, read=c[0], kept=c[1], rejected=c[2])
        for n, c in sorted(got.counts.items(), key=lambda kv: pos.get(kv[0], 0))
    ]
    if not got.lines:
        lines = schema.conform(schema.empty("orders"), "orders")
        return Streamed(fmt, lines, got.rejects, counts, got.notes)
    lines = schema.conform(_frame_of(_in_file_order(got.lines, pos)), "orders")
    pa.default_memory_pool().release_unused()  # the batches' Arrow memory, back to the system
    return Streamed(fmt, lines, got.rejects, counts, got.notes)


def _in_file_order(tables: list[pa.Table], pos: dict[str, int]) -> pa.Table:
    """The batches' lines as one table in file order (``tables`` is emptied)."""
    table = pa.concat_tables(tables, promote_options="permissive")
    del tables[:]  # the table holds the batches now: each column encoded below frees its text
    table = table.unify_dictionaries()  # one dictionary per encoded column
    name = pc.dictionary_encode(table.column(SOURCE_FILE))  # a no-op when encoded already
    files = np.zeros(len(table), dtype=np.int64)
    at = 0
    for chunk in name.chunks:  # each file's place in the order, through its code
        place = np.array([pos[v] for v in chunk.dictionary.to_pylist()], dtype=np.int64)
        files[at : at + len(chunk)] = place[chunk.indices.to_numpy(zero_copy_only=False)]
        at += len(chunk)
    return _reordered(table, np.lexsort((table.column(SOURCE_ROW).to_numpy(), files)))


def _reordered(table: pa.Table, ix: np.ndarray, run: int = 65_536) -> pa.Table:
    """``table.take(ix)``, copying only what moves: the straddlers' lines go back to their
    places, and the runs of ``run`` or more lines already in order between them are kept as
    slices of the batches (at 10M lines a handful of lines move, not 10M of every column)."""
    n = len(ix)
    cut = np.flatnonzero(np.diff(ix) != 1) + 1
    if not len(cut):  # one ascending run of a permutation: already in order
        return table
    starts, ends = np.r_[0, cut], np.r_[cut, n]
    pieces, at = [], 0  # (kept as a slice?, first, end) in positions of ix
    for a, b in zip(starts[ends - starts >= run], ends[ends - starts >= run], strict=True):
        if at < a:
            pieces.append((False, at, a))
        pieces.append((True, a, b))
        at = b
    if at < n:
        pieces.append((False, at, n))
    for i, name in enumerate(table.column_names):  # a column at a time: little extra memory
        col = table.column(i)
        parts = [
            col.slice(int(ix[a]), b - a) if kept else col.take(pa.array(ix[a:b]))
            for kept, a, b in pieces
        ]
        chunks = [c for p in parts for c in p.chunks if len(c)]
        table = table.set_column(i, name, pa.chunked_array(chunks, type=col.type))
    return table


def _frame_of(table: pa.Table) -> pd.DataFrame:
    """The lines as pandas, text as objects (one ``str`` per distinct value of an encoded
    column), a column at a time: each Arrow column is dropped once converted, so the two
    copies of the table never coexist (the caller passes the table on without keeping it).
    Arrow's pool hands each dropped column's memory back to the system at once."""
    names = table.column_names
    text = [
        f.name
        for f in table.schema
        if pa.types.is_dictionary(f.type)
        or pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
    ]
    df = table.drop_columns(text).to_pandas(split_blocks=True)  # a column freed is freed
    table = table.select(text)  # the other columns are in pandas now
    pool = pa.default_memory_pool()
    pool.release_unused()
    for c in text:
        df[c] = pd.Series(
            schema.arrow_objects(table.column(c)), index=df.index, dtype=object, copy=False
        )
        table = table.drop_columns([c])
        pool.release_unused()
    return df[names]
