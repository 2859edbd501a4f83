"""Load a shop folder: adapters → canonical tables → pandera validation → :class:`Shop`.

Every file is accounted for: rows read = rows kept + rows rejected, and each rejected row is
kept in ``shop.rejects`` with its reason. Parsed tables are cached as Parquet under
``$PLAYBOOK_CACHE`` (default ``~/.cache/playbook``), keyed by the input files' content, so a
re-run skips parsing; the cache is never inside the shop folder (inputs are never modified).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import schema
from .adapters.base import REJECT_COLUMNS, FileCount, Loaded, rejects_frame
from .adapters.clean import row_values_text
from .config import ShopConfig, load_config
from .errors import LoadError

CACHE_VERSION = "1"
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


def _validate(df: pd.DataFrame, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a conformed table into (valid rows, rejects) with pandera; raise on column errors."""
    import pandera.errors as pe

    if df.empty:
        return df, rejects_frame()
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


def _cache_dir() -> Path | None:
    root = os.environ.get("PLAYBOOK_CACHE", str(Path.home() / ".cache" / "playbook"))
    return None if root in ("", "0", "off") else Path(root)


def _read_cache(key: str):
    root = _cache_dir()
    d = root / key if root else None
    if not d or not (d / "meta.json").exists():
        return None
    try:
        meta = json.loads((d / "meta.json").read_text())
        tables = {t: pd.read_parquet(d / f"{t}.parquet") for t in meta["tables"]}
        rejects = pd.read_parquet(d / "rejects.parquet")
        report = pd.read_parquet(d / "report.parquet")
    except Exception:  # a broken cache is rebuilt, never trusted
        return None
    for t, df in tables.items():
        for c, (kind, _) in schema.COLUMNS[t].items():
            if kind in ("id", "str", "cat") and c in df:
                df[c] = df[c].astype("object").where(df[c].notna(), None)
    return tables, rejects, report, meta["notes"]


def _write_cache(key: str, tables, rejects, report, notes) -> None:
    root = _cache_dir()
    if not root:
        return
    d = root / key
    tmp = root / f".{key}.{os.getpid()}"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for t, df in tables.items():
            df.to_parquet(tmp / f"{t}.parquet", index=False)
        rejects.astype(str).to_parquet(tmp / "rejects.parquet", index=False)
        report.to_parquet(tmp / "report.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps({"tables": list(tables), "notes": notes}))
        if not d.exists():
            tmp.rename(d)
    except OSError:
        pass  # a cache that cannot be written only costs time
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


def _parse(cfg: ShopConfig):
    from . import adapters

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
                src.files, salt=salt, tz=cfg.timezone, mapping=src.columns
            )
        else:
            loaded = adapters.read_table(src.files, table, mapping=src.columns)
        notes += loaded.notes
        kept, rej = _validate(loaded.table, table)
        rejects += [loaded.rejects, rej]
        if len(rej):  # move validation rejects out of the adapter's kept counts
            per_file = rej["file"].value_counts()
            for c in loaded.counts:
                n = int(per_file.get(c.file, 0))
                c.kept, c.rejected = c.kept - n, c.rejected + n
        counts += loaded.counts
        tables[table] = kept.reset_index(drop=True)
    rejects_df = pd.concat([r for r in rejects if len(r)] or [rejects_frame()], ignore_index=True)
    report = pd.DataFrame([c.__dict__ for c in counts])
    return tables, rejects_df[REJECT_COLUMNS], report, notes


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
    key = _fingerprint(cfg)
    hit = _read_cache(key) if cache else None
    if hit is None:
        tables, rejects, report, notes = _parse(cfg)
        if cache:
            _write_cache(key, tables, rejects, report, notes)
    else:
        tables, rejects, report, notes = hit
    orders = tables["orders"]
    if orders.empty:
        raise LoadError(cfg.sources["orders"].files[0], "no usable order rows")
    last = orders["order_time"].max().normalize()
    cut = pd.Timestamp(as_of).normalize() if as_of else last
    end = cut + pd.Timedelta(days=1)
    after: dict[str, int] = {}
    for t, col in DATE_COLUMNS.items():
        if t in tables and len(tables[t]):
            late = tables[t][col] >= end
            after[t] = int(late.sum())
            tables[t] = tables[t].loc[~late].reset_index(drop=True)
    return Shop(cfg, tables, rejects, report, cut, after, notes)


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
