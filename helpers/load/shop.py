"""Load a shop folder: adapters → canonical tables → pandera validation → :class:`Shop`.

Every file is accounted for: rows read = rows kept + rows rejected, and each rejected row is
kept in ``shop.rejects`` with its reason. Parsed tables are cached as Parquet under
``$PLAYBOOK_CACHE`` (default ``~/.cache/playbook``), keyed by the input files' content, so a
re-run skips parsing; the cache is never inside the shop folder (inputs are never modified).

Above 600 lines: one loader: reading, validation, row accounting, the Parquet cache and the kernel server's preload share the load report's state.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import schema
from helpers.core.codes import sales_mask
from helpers.core.errors import LoadError
from helpers.load.adapters.base import REJECT_COLUMNS, FileCount, Loaded, rejects_frame
from helpers.load.adapters.clean import SOURCE_FILE, row_values_text
from helpers.load.config import ShopConfig, load_config

__all__ = [
    "CACHE_VERSION",
    "DATE_COLUMNS",
    "fill_cache",
    "Shop",
    "load_shop",
    "reason_groups",
    "cached",
    "cache_root",
    "preload",
    "load_report",
]

CACHE_VERSION = "6"  # 2: stamps, dictionary hints; 3: money in another currency rejected;
# 4: orders without a product column get the placeholder product
# 5: return lines kept (status returned, return_of), line_type (non-merchandise lines)
# 6: orders hold their sales lines first
DATE_COLUMNS = {"orders": "order_time", "traffic": "date", "ads": "date", "reviews": "date"}


@dataclass
class Shop:
    """A loaded shop: its config, canonical tables, rejects and load report."""

    config: ShopConfig
    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    report: pd.DataFrame  # one row per file: table, file, format, read, kept, rejected
    as_of: pd.Timestamp
    after_as_of: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def has(self, table: str) -> bool:
        df = self.tables.get(table)
        return df is not None and len(df) > 0

    @property
    def orders(self) -> pd.DataFrame:
        return self.tables["orders"]

    @property
    def has_customers(self) -> bool:
        return bool(self.orders["customer_id"].notna().any())

    @property
    def has_products(self) -> bool:
        """False when the orders carry no product column (every line is the placeholder
        product :data:`helpers.core.schema.NO_PRODUCT`)."""
        p = self.orders["product_id"]
        return bool(len(p)) and not bool((p == schema.NO_PRODUCT).all())

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)


def _salt(cfg: ShopConfig) -> tuple[str, str | None]:
    salt = cfg.salt or os.environ.get("PLAYBOOK_SALT", "")
    if salt:
        return salt, None
    return f"playbook:{cfg.name}", (
        "customer ids are hashed with a salt derived from the shop name: set 'salt' in "
        "shop.yaml or PLAYBOOK_SALT for ids that cannot be guessed"
    )


_DTYPE_OF_KIND = {
    "id": "object",
    "str": "object",
    "cat": "object",
    "time": "datetime64[ns]",
    "date": "datetime64[ns]",
    "money": "float64",
    "rate": "float64",
    "float": "float64",
}


def _plainly_valid(df: pd.DataFrame, table: str) -> bool:
    """True when every check of ``schema.schema(table)`` passes, tested with plain numpy.

    Pandera takes seconds per million rows even when nothing fails; a table that passes
    these same checks (dtype, nulls in required columns, allowed values, bounds, the refund
    rule, unique keys) is valid, and anything else, or any doubt, goes to pandera, which
    then finds and words the failures exactly as before.
    """
    for col, (kind, req) in schema.COLUMNS[table].items():
        if col not in df.columns:
            if req:
                return False
            continue
        s = df[col]
        want = _DTYPE_OF_KIND.get(kind)
        if want is not None and s.dtype != np.dtype(want):
            return False
        if kind == "int" and s.dtype not in (np.dtype("int64"), np.dtype("float64")):
            return False
        na = s.isna().to_numpy()
        if req and na.any():
            return False
        allowed = schema.ALLOWED.get((table, col))
        if allowed and not s[~na].isin(list(allowed)).all():
            return False
        bounds = []  # (low, high, low inclusive): the same checks schema.schema builds
        if kind in ("money", "int") and (table, col) not in schema.SIGNED:
            bounds.append((0, np.inf, True))
        if (table, col) == ("orders", "refund_amount"):
            bounds.append((0, np.inf, True))
        if kind == "rate":
            bounds.append((0, 1, True))
        if (table, col) == ("reviews", "rating"):
            bounds.append((0, 5, True))
        if (table, col) == ("orders", "quantity"):
            v = s.to_numpy()[~na] if s.dtype.kind in "if" else None
            if v is None or (v == 0).any():
                return False
        if bounds:
            if s.dtype.kind not in "if":
                return False
            v = s.to_numpy()[~na]
            for lo, hi, closed in bounds:
                if not (((v >= lo) if closed else (v > lo)) & (v <= hi)).all():
                    return False
    if table == "orders":
        paid = df["paid_amount"].to_numpy()
        rule = df["refund_amount"].to_numpy() <= np.maximum(paid, 0) + 0.005
        if not rule.all():
            return False
        back = schema.is_return_line(df).to_numpy()
        if not (back == (df["status"] == "returned").to_numpy()).all():
            return False
    key = schema.UNIQUE.get(table)
    if key:
        if not set(key) <= set(df.columns) or df[key].isna().to_numpy().any():
            return False
        if _maybe_repeated(df, key):
            return False
    return True


def _maybe_repeated(df: pd.DataFrame, key: list[str], rows: int = 1 << 20) -> bool:
    """False when no two rows share ``key``: their 64-bit hashes are all different. Equal
    keys always hash equal, so a repeat is never missed; True (a repeat, or two keys whose
    hashes collide) sends the table to pandera's exact check. Hashing the cells' text takes
    a quarter of ``df.duplicated``'s time at 10M lines. It hashes ``rows`` rows at a time:
    pandas holds each text cell's UTF-8 bytes while it hashes them (0.9 GB at 10M lines)."""
    h = np.zeros(len(df), dtype=np.uint64)
    for c in key:
        v = df[c].to_numpy()
        for a in range(0, len(v), rows):
            part = pd.util.hash_array(v[a : a + rows], categorize=False)
            h[a : a + rows] = h[a : a + rows] * np.uint64(0x100000001B3) ^ part
    h.sort()
    return bool((h[1:] == h[:-1]).any())


def _validate(df: pd.DataFrame, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a conformed table into (valid rows, rejects) with pandera; raise on column errors."""
    if df.empty or _plainly_valid(df, table):
        return df, rejects_frame()
    import pandera.errors as pe

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema.schema(table).validate(df, lazy=True)
        return df, rejects_frame()
    except pe.SchemaErrors as err:
        fc = err.failure_cases
    files = df["_source_file"].iloc[0] if "_source_file" in df else table
    col_level = fc[fc["index"].isna()]
    if len(col_level):
        first = col_level.iloc[0]
        raise LoadError(files, f"{first['check']}", column=first["column"]) from None
    fc = fc.assign(index=fc["index"].astype(int)).drop_duplicates("index")
    bad = df.loc[fc["index"].to_numpy()]
    reasons = [
        f"{c['column'] or 'row'} fails {c['check']}: {c['failure_case']}" for _, c in fc.iterrows()
    ]
    rej = pd.DataFrame(
        {
            "table": table,
            "file": bad.get("_source_file", table),
            "row": bad.get("_source_row", bad.index.to_series() + 2),
            "column": fc["column"].fillna("").to_numpy(),
            "reason": reasons,
            "values": row_values_text(bad[[c for c in bad.columns if not c.startswith("_")]])
            .astype(str)
            .to_numpy(),
        }
    )
    return df.drop(index=bad.index), rej


def _fingerprint(cfg: ShopConfig) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    h.update((cfg.path / "shop.yaml").read_bytes() if (cfg.path / "shop.yaml").exists() else b"")
    h.update(os.environ.get("PLAYBOOK_SALT", "").encode())
    for table, src in sorted(cfg.sources.items()):
        for f in src.files:
            st = f.stat() if f.exists() else None
            h.update(f"{table}|{f.name}|{st.st_size if st else -1}".encode())
            if st:
                with open(f, "rb") as fh:  # content, not mtime: copies hit the cache too
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
    return h.hexdigest()[:24]


def _stamp(cfg: ShopConfig) -> str | None:
    """A cheap key of the inputs as files: path, size, mtime, ctime, inode of each.

    Hashing a 10M-line export reads gigabytes on every load. A cache entry remembers the
    stamps of the files it was made from (``stamp-<stamp>`` inside it), so an unchanged shop
    finds its entry without reading the exports; anything else (a copy, an edit) changes the
    stamp and falls back to the content hash. ctime cannot be set back by a user; files
    changed in the last few seconds give no stamp, so a write within the clock's granularity
    cannot hide behind an old one.
    """
    h = hashlib.sha256(CACHE_VERSION.encode())
    h.update((cfg.path / "shop.yaml").read_bytes() if (cfg.path / "shop.yaml").exists() else b"")
    h.update(os.environ.get("PLAYBOOK_SALT", "").encode())
    now = time.time()
    for table, src in sorted(cfg.sources.items()):
        for f in src.files:
            try:
                st = f.stat()
            except OSError:
                return None
            if now - max(st.st_mtime, st.st_ctime) < 3:
                return None
            stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            h.update(f"{table}|{f.resolve()}|{stamp}".encode())
    return h.hexdigest()[:24]


def _cache_key(cfg: ShopConfig) -> tuple[str, str | None]:
    """The cache key of the inputs (content hash), found by file stamp when possible."""
    stamp, root = _stamp(cfg), cache_root()
    if stamp and root is not None and root.is_dir():
        for mark in root.glob(f"*/stamp-{stamp}"):
            if (mark.parent / "meta.json").exists():
                return mark.parent.name, stamp
    return _fingerprint(cfg), stamp


def _remember_stamp(key: str, stamp: str | None) -> None:
    root = cache_root()
    if stamp and root is not None and (root / key / "meta.json").exists():
        try:
            (root / key / f"stamp-{stamp}").touch()
        except OSError:
            pass  # an entry that cannot be marked is found by content next time


def cache_root() -> Path | None:
    """The cache's folder (``$PLAYBOOK_CACHE``, default ``~/.cache/playbook``); None: off."""
    root = os.environ.get("PLAYBOOK_CACHE", str(Path.home() / ".cache" / "playbook"))
    return None if root in ("", "0", "off") else Path(root)


def _read_cache(key: str):
    root = cache_root()
    d = root / key if root else None
    if not d or not (d / "meta.json").exists():
        return None
    try:
        meta = json.loads((d / "meta.json").read_text())
        dictionary = meta.get("dictionary", {})
        tables = {
            t: _read_table(d / f"{t}.parquet", t, dictionary.get(t, [])) for t in meta["tables"]
        }
        rejects = pd.read_parquet(d / "rejects.parquet")
        report = pd.read_parquet(d / "report.parquet")
    except Exception:  # a broken cache is rebuilt, never trusted
        return None
    return tables, rejects, report, meta["notes"]


def _text_columns(df: pd.DataFrame, table: str) -> list[str]:
    """Columns of ``table`` that hold text (ids, strings, categories): object dtype in a Shop."""
    kinds = schema.COLUMNS[table]
    return [c for c in df.columns if c in kinds and kinds[c][0] in ("id", "str", "cat")]


_ONE_READ_BYTES = 16 << 20


def _read_table(path: Path, table: str, dictionary: list[str]) -> pd.DataFrame:
    """One cached table, text columns as object arrays of ``str`` with None for missing.

    Arrow builds the object arrays itself; a column with few distinct values is read
    dictionary-encoded and each value becomes one shared Python string, which keeps a
    10M-line table in memory at a fraction of one string object per cell. A large file's
    text columns are read one at a time, so only one of them is ever held twice (as Arrow and
    as objects); a small file is read at once (a read per column costs ~2 ms).
    """
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    kinds = schema.COLUMNS[table]
    text = [c for c in names if c in kinds and kinds[c][0] in ("id", "str", "cat")]
    text += [c for c in names if c == SOURCE_FILE]  # the file's name: one str per file
    rest = [c for c in names if c not in text]
    shared = [c for c in text if c in dictionary or c == SOURCE_FILE]
    small = path.stat().st_size < _ONE_READ_BYTES
    whole = pq.read_table(path, read_dictionary=shared or None) if small else None
    if rest:
        df = (whole.select(rest) if small else pq.read_table(path, columns=rest)).to_pandas()
    else:
        df = pd.DataFrame(index=pd.RangeIndex(pq.ParquetFile(path).metadata.num_rows))
    for c in text:
        if small:
            col = whole.column(c)
        else:
            dic = [c] if c in shared else None
            col = pq.read_table(path, columns=[c], read_dictionary=dic).column(0)
        df[c] = pd.Series(
            schema.arrow_objects(col, c in kinds and _repeats(col, kinds[c][0])),
            index=df.index,
            dtype=object,
            copy=False,
        )
        del col
    return df[names]


def _repeats(col, kind: str, sample: int = 100_000) -> bool:
    """Whether an id column repeats its values (an order's lines, a buyer's orders), judged
    on its first rows: such a column is worth one shared ``str`` per distinct value."""
    import pyarrow as pa

    if kind != "id" or len(col) <= sample or pa.types.is_dictionary(col.type):
        return False
    return schema.arrow_repeats(col, sample)


def _write_cache(key: str, tables, rejects, report, notes) -> None:
    root = cache_root()
    if not root:
        return
    d = root / key
    tmp = root / f".{key}.{os.getpid()}"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for t, df in tables.items():
            _to_parquet(df, tmp / f"{t}.parquet")
        rejects.astype(str).to_parquet(tmp / "rejects.parquet", index=False)
        report.to_parquet(tmp / "report.parquet", index=False)
        dictionary = {t: _few_values(df, t) for t, df in tables.items()}
        meta = {"tables": list(tables), "notes": notes, "dictionary": dictionary}
        (tmp / "meta.json").write_text(json.dumps(meta))
        if not d.exists():
            tmp.rename(d)
    except OSError:
        pass  # a cache that cannot be written only costs time
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


def _to_parquet(df: pd.DataFrame, path: Path, rows: int = 1_000_000) -> None:
    """``df.to_parquet(path, index=False)``, converted to Arrow a slice at a time.

    A whole-table conversion holds an Arrow copy of every column at once (gigabytes at 10M
    lines); slices keep that to two. A slice is converted on this thread while the one before
    is written on another (Parquet's encoding releases the GIL), and Arrow's pool hands each
    written slice's memory back: at 10M lines 5.8 s instead of 11.4 s, and 0.4 GiB above the
    table instead of 2 GiB. The schema is the first slice's, an object column that is empty
    there taken as text; when a later slice does not fit it, the table is written whole.
    """
    import queue
    import threading

    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(df) <= rows:
        df.to_parquet(path, index=False)
        return
    first = pa.Table.from_pandas(df.iloc[:rows], preserve_index=False)
    for i, f in enumerate(first.schema):  # text missing from the whole first slice
        if pa.types.is_null(f.type) and df[f.name].dtype == object:
            first = first.set_column(
                i, pa.field(f.name, pa.string()), first.column(i).cast(pa.string())
            )
    todo: queue.Queue = queue.Queue(maxsize=1)
    failed: list[BaseException] = []
    try:
        with pq.ParquetWriter(path, first.schema) as w:

            def write() -> None:
                while (part := todo.get()) is not None:
                    if not failed:
                        try:
                            w.write_table(part)
                        except BaseException as err:  # raised again on the caller's thread
                            failed.append(err)
                    del part
                    pa.default_memory_pool().release_unused()

            writer = threading.Thread(target=write, name="parquet-writer", daemon=True)
            writer.start()
            try:
                todo.put(first)
                del first
                for lo in range(rows, len(df), rows):
                    if failed:
                        break
                    part = df.iloc[lo : lo + rows]
                    todo.put(pa.Table.from_pandas(part, schema=w.schema, preserve_index=False))
            finally:
                todo.put(None)
                writer.join()
            if failed:
                raise failed[0]
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        df.to_parquet(path, index=False)


def _few_values(df: pd.DataFrame, table: str, sample: int = 100_000) -> list[str]:
    """Text columns with few distinct values (judged on the first rows): read as dictionaries."""
    head = df.head(sample)
    return [c for c in _text_columns(df, table) if head[c].nunique() * 20 < max(len(head), 1)]


def _parse(cfg: ShopConfig):
    from helpers.load import adapters

    salt, salt_note = _salt(cfg)
    notes = [salt_note] if salt_note else []
    if "orders" not in cfg.sources:
        raise LoadError(
            cfg.path, "no orders file: add orders.csv (or list it under 'orders:' in shop.yaml)"
        )
    tables: dict[str, pd.DataFrame] = {}
    rejects = [rejects_frame()]
    counts: list[FileCount] = []
    for table, src in cfg.sources.items():
        for f in src.files:
            if not f.exists():
                raise LoadError(f, "file listed in shop.yaml does not exist")
        if table == "orders":
            loaded: Loaded = adapters.read_orders(
                src.files,
                salt=salt,
                tz=cfg.timezone,
                mapping=src.columns,
                currency=cfg.currency,
                returns=cfg.returns,
                non_merchandise=cfg.non_merchandise,
            )
        else:
            loaded = adapters.read_table(
                src.files, table, mapping=src.columns, currency=cfg.currency
            )
        notes += loaded.notes
        kept, rej = _validate(loaded.table, table)
        rejects += [loaded.rejects, rej]
        if len(rej):  # move validation rejects out of the adapter's kept counts
            per_file = rej["file"].value_counts()
            for c in loaded.counts:
                n = int(per_file.get(c.file, 0))
                c.kept, c.rejected = c.kept - n, c.rejected + n
        counts += loaded.counts
        del loaded
        kept = kept.reset_index(drop=True)
        tables[table] = _sales_lines_first(kept) if table == "orders" else kept
    rejects_df = pd.concat([r for r in rejects if len(r)] or [rejects_frame()], ignore_index=True)
    report = pd.DataFrame([c.__dict__ for c in counts])
    return tables, rejects_df[REJECT_COLUMNS], report, notes


def _sales_lines_first(orders: pd.DataFrame) -> pd.DataFrame:
    """``orders`` with its sales lines (:func:`helpers.core.codes.sales_mask`) first, each
    part in file order, so that every kernel's sales lines are a slice of the shop's columns.

    A column at a time, each dropped from ``orders`` once moved: one column's copy extra
    (a column Arrow allocated goes back to the system as it is dropped).
    """
    import pyarrow as pa

    keep = sales_mask(orders)
    k = int(np.count_nonzero(keep))
    if keep[:k].all():  # already so (or no other lines)
        return orders
    order = np.concatenate([np.flatnonzero(keep), np.flatnonzero(~keep)])
    pool = pa.default_memory_pool()
    out = pd.DataFrame(index=orders.index)
    for c in list(orders.columns):
        col = orders[c]
        if isinstance(col.dtype, np.dtype):  # text stays objects (pandas would infer str)
            col = pd.Series(col.to_numpy().take(order), index=out.index, dtype=col.dtype)
        else:
            col = col.array.take(order)
        out[c] = col
        del orders[c]
        pool.release_unused()
    return out


def load_shop(shop_dir: str | Path, as_of: str | None = None, cache: bool = True) -> Shop:
    """Load, clean and validate a shop folder.

    Parameters
    ----------
    shop_dir : folder holding ``shop.yaml`` and the exports.
    as_of : analysis date ``YYYY-MM-DD``; rows after it are left out of the tables (and
        counted in ``shop.after_as_of``). Default: the last order date.
    cache : reuse the Parquet cache of parsed tables when the inputs are unchanged.

    Raises
    ------
    LoadError
        With one line naming the file, the column and the rows, when input cannot be used.
    """
    cfg = load_config(shop_dir)
    key, stamp = _cache_key(cfg) if cache else ("", None)
    pre = _PRELOADED.get(str(Path(shop_dir).resolve())) if cache else None
    if pre is not None and pre[0] == key and (as_of is None or _day(as_of) == pre[1].as_of):
        return pre[1]  # loaded by the kernel server this process was forked from
    hit = _read_cache(key) if cache else None
    if hit is None:
        tables, rejects, report, notes = _parse(cfg)
        if cache:
            _write_cache(key, tables, rejects, report, notes)
    else:
        tables, rejects, report, notes = hit
        import pyarrow as pa

        pa.default_memory_pool().release_unused()  # Arrow's read buffers: ~1.3 GB at 10M
    if cache:
        _remember_stamp(key, stamp)
    orders = tables["orders"]
    if orders.empty:
        raise LoadError(_files_text(cfg), "no usable order rows: " + _why_no_rows(rejects))
    last = orders["order_time"].max().normalize()
    # the orders' time unit either way: dates computed from it (a stock-out date) come out the
    # same whether a kernel loaded the shop itself or got the kernel server's
    cut = pd.Timestamp(as_of).normalize().as_unit(last.unit) if as_of else last
    end = cut + pd.Timedelta(days=1)
    after: dict[str, int] = {}
    for t, col in DATE_COLUMNS.items():
        if t in tables and len(tables[t]):
            late = tables[t][col] >= end
            after[t] = int(late.sum())
            if after[t] or not tables[t].index.equals(pd.RangeIndex(len(tables[t]))):
                tables[t] = tables[t].loc[~late].reset_index(drop=True)
    return Shop(cfg, tables, rejects, report, cut, after, notes)


def _files_text(cfg: ShopConfig) -> str:
    files = cfg.sources["orders"].files
    return files[0].name if len(files) == 1 else f"{files[0].name} … ({len(files)} files)"


def reason_groups(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows grouped by reason across files, most common first.

    A reason's values (quoted cells, numbers) are blanked so that rows rejected for the same
    cause group together: ``amount '$12.00' is in USD…`` and ``amount '$3.50' is in USD…``
    are one reason. Columns: ``reason`` (the first row's own wording), ``rows`` (count),
    ``first_rows`` (the first three: ``rows 3, 4, 5``, or ``a.csv row 3, b.csv row 9`` when
    several files are involved), ``column``.
    """
    cols = ["reason", "rows", "first_rows", "column"]
    if rejects.empty:
        return pd.DataFrame(columns=cols)
    r = rejects.reset_index(drop=True)
    key = (
        r["reason"]
        .astype(str)
        .str.replace(r"'[^']*'", "'…'", regex=True)
        .str.replace(r"\d+", "N", regex=True)
    )
    one_file = r["file"].nunique() == 1
    where = (
        r["row"].astype(str) if one_file else r["file"].astype(str) + " row " + r["row"].astype(str)
    )
    g = r.assign(_k=key, _w=where).groupby("_k", sort=False)

    def first3(w: pd.Series) -> str:
        head = ", ".join(w.head(3))
        return head if not one_file else f"row{'s' if len(w) > 1 else ''} {head}"

    out = pd.DataFrame(
        {
            "reason": g["reason"].first(),
            "rows": g.size(),
            "first_rows": g["_w"].agg(first3),
            "column": g["column"].first(),
        }
    )
    out = out.sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)
    return out[cols]


def _why_no_rows(rejects: pd.DataFrame) -> str:
    """The top reasons (with counts) every order row was rejected, and for money in another
    currency the shop.yaml key to change."""
    r = rejects[rejects["table"] == "orders"] if len(rejects) else rejects
    if r.empty:
        return "the files hold no data rows"
    top = reason_groups(r).head(3)
    text = "; ".join(f"{n:,} × {why}" for why, n in zip(top["reason"], top["rows"], strict=True))
    import re

    m = re.search(
        r"is in ([A-Z]{3}), the shop's currency is ([A-Z]{3})", str(top["reason"].iloc[0])
    )
    if m:
        text += f" — set 'currency: {m.group(1)}' in shop.yaml (it says {m.group(2)})"
    return f"all {len(r):,} rows rejected: {text}"


_PRELOADED: dict[str, tuple[str, Shop]] = {}  # resolved shop folder -> (cache key, shop)


def _day(as_of) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(as_of).normalize()
    except (TypeError, ValueError):
        return None


def cached(shop_dir: str | Path) -> bool:
    """Whether the shop's exports, as they are now, are in the Parquet cache (a fast load)."""
    root = cache_root()
    return root is not None and (root / _cache_key(load_config(shop_dir))[0] / "meta.json").exists()


def _parse_only(shop_dir: str, conn) -> None:
    try:
        load_shop(shop_dir)
    except LoadError as err:
        conn.send(err)
    else:
        conn.send(None)


def fill_cache(shop_dir: str | Path) -> bool:
    """Parse a shop that is not yet in the Parquet cache in a child process, and cache it.

    A first run's parse peaks well above the loaded shop (the exports' text, the adapters'
    columns); done in a child process, that memory goes back to the system before the kernel
    server loads the shop from the cache, so it never adds to the notebooks' memory.

    Returns whether the cache now holds the shop (False when caching is off).

    Raises
    ------
    LoadError
        The shop cannot be loaded: the child's one-line error.
    """
    if cache_root() is None:
        return False
    if cached(shop_dir):
        return True
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # the parent's imports, no re-import
    here, there = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_parse_only, args=(str(shop_dir), there))
    child.start()
    there.close()
    try:
        err = here.recv()
    except EOFError:  # the child died without a word
        err = None
    child.join()
    if err is not None:
        raise err
    if not cached(shop_dir):  # it died before caching (killed for memory, say): parse here
        load_shop(shop_dir)
    return cached(shop_dir)


def preload(shop_dir: str | Path, as_of: str | None = None) -> Shop | None:
    """Load a shop and keep it in this process for the processes forked from it.

    The runner's kernel server calls this for the run's shop (a batch worker's, for each shop
    in turn, dropping the one before); every notebook kernel it forks then gets the
    shop from :func:`load_shop` (same folder, same cache key, so unchanged inputs, and the
    same ``as_of``) without reading it again, its memory shared copy-on-write. The shop's
    sales lines and their customer and order codes (:mod:`helpers.core.codes`) are computed here
    too, so the kernels share them instead of each building its own.

    Only a shop already in the Parquet cache is preloaded (None otherwise): parsing the
    exports is the job of the run's own load, and doing it twice at once doubles the memory.
    """
    _PRELOADED.clear()  # one shop at a time: a batch worker's server moves on to the next
    if not cached(shop_dir):
        return None
    key, _ = _cache_key(load_config(shop_dir))
    shop = load_shop(shop_dir, as_of=as_of)
    _PRELOADED[str(Path(shop_dir).resolve())] = (key, shop)
    from helpers.core import codes  # what every notebook computes first: shared as well

    lines = codes.sales_lines(shop.orders)
    codes.line_codes(lines)
    codes.line_codes(lines, "order_id")
    return shop


def load_report(shop: Shop) -> pd.DataFrame:
    """Row accounting per file, with a total line; read == kept + rejected on every row."""
    rep = shop.report.copy()
    total = pd.DataFrame(
        [
            {
                "file": "total",
                "table": "",
                "format": "",
                **rep[["read", "kept", "rejected"]].sum().to_dict(),
            }
        ]
    )
    return pd.concat([rep, total], ignore_index=True)
