"""Exports in, canonical tables out.

Public API
----------
:func:`read_orders`
    Order exports (Taobao/Tmall 订单报表 + 宝贝报表, the newer 子订单 report, Shopify Orders
    CSV, canonical CSV/XLSX, any file through a column mapping) → the canonical ``orders``.
:func:`read_table`
    The other canonical tables from canonical files, a mapping or Chinese headers.
:func:`detect`
    The format of a file from its header names (never from column positions).
:func:`write_taobao_classic`, :func:`write_shopify`
    Canonical orders → realistic exports (for the sample shop).

Every reader returns :class:`~helpers.load.adapters.base.Loaded`: the conformed table with
``_source_file`` / ``_source_row``, the rejects (one row per rejected file row, with reason)
and per-file counts where ``read == kept + rejected``. File-level problems raise
:class:`~helpers.core.errors.LoadError` (one line: file, column, rows). Input files are only read.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from helpers.core import schema
from helpers.core.errors import LoadError
from helpers.load.adapters import shopify, taobao
from helpers.load.adapters.base import REJECT_COLUMNS, FileCount, Loaded, rejects_frame
from helpers.load.adapters.clean import PII_PATTERNS, Part, Source, _clean_header, isin
from helpers.load.adapters.generic import display_names, read_mapped_orders, read_table
from helpers.load.adapters.stream import read_streamed
from helpers.load.adapters.writers import write_shopify, write_taobao_classic
from helpers.load.lines import prepare_orders

__all__ = [
    "FORMATS",
    "PII_PATTERNS",
    "REJECT_COLUMNS",
    "FileCount",
    "LoadError",
    "Loaded",
    "detect",
    "read_orders",
    "read_table",
    "rejects_frame",
    "write_shopify",
    "write_taobao_classic",
]

# format -> (description, required header groups: each group is satisfied by any one name)
FORMATS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "taobao_item_report": (
        "Taobao 子订单 item report",
        (
            (taobao.SUB_ORDER,),
            (taobao.MAIN_ORDER,),
            ("商品标题", "标题", "宝贝标题"),
            ("商品价格", "价格", "单价"),
            taobao.ITEM_QTY,
            ("订单状态", "子订单状态"),
            taobao.CREATED + taobao.PAID_AT,
        ),
    ),
    "shopify_orders": (
        "Shopify Orders CSV",
        (
            (shopify.NAME,),
            (shopify.FINANCIAL,),
            (shopify.CREATED,),
            (shopify.QTY,),
            (shopify.LINE_PRICE,),
            (shopify.LINE_NAME, shopify.LINE_SKU),
        ),
    ),
    "taobao_orders": (
        "Taobao 订单报表",
        (
            (taobao.ORDER_ID,),
            (taobao.ORDER_STATUS,),
            taobao.CREATED,
            taobao.PAID_COLUMNS,
            taobao.BUYER_COLUMNS,
        ),
    ),
    "taobao_short": (
        "Taobao 订单报表 (without buyer id)",
        ((taobao.ORDER_ID,), (taobao.ORDER_STATUS,), taobao.CREATED, taobao.PAID_COLUMNS),
    ),
    "taobao_items": (
        "Taobao 宝贝报表",
        ((taobao.ORDER_ID,), taobao.ITEM_TITLE[:1], taobao.ITEM_PRICE[:1], taobao.ITEM_QTY),
    ),
    "canonical": (
        "canonical orders",
        tuple((c,) for c in schema.required("orders")),
    ),
}


def _missing(headers: set[str], groups: tuple[tuple[str, ...], ...]) -> list[tuple[str, ...]]:
    return [g for g in groups if not headers & set(g)]


def detect(headers: Iterable[str], file: str = "<headers>", table: str | None = None) -> str:
    """Recognise an order export by its header names.

    Parameters
    ----------
    headers : iterable of str
        The file's header names (spaces / BOM around names are ignored).
    file : str
        File name for the error message.
    table : str, optional
        When given, ``canonical`` means the canonical columns of that table; by default any
        canonical table's required columns make a file ``canonical`` (orders are tried first).

    Returns
    -------
    str
        One of ``taobao_item_report``, ``shopify_orders``, ``taobao_orders``,
        ``taobao_short``, ``taobao_items``, ``canonical`` (see :data:`FORMATS`).

    Raises
    ------
    LoadError
        When no format matches: naming the closest format and the column it lacks, or the
        headers that were not recognised and what was expected.
    """
    hs = [_clean_header(h) for h in headers if not str(h).startswith("_")]
    have = set(hs) - {""}
    tables = [table] if table else list(schema.TABLES)
    if any(set(schema.required(t)) <= have for t in tables if t != "orders"):
        if not set(schema.required("orders")) <= have:
            return "canonical"
    for fmt, (_, groups) in FORMATS.items():
        if not _missing(have, groups):
            if fmt == "taobao_items" and have & set(taobao.PAID_COLUMNS):
                continue  # an order report missing something, not a 宝贝报表
            return fmt
    # closest format: the one with the largest share of its groups present
    best, best_score = None, 0.0
    for fmt, (_, groups) in FORMATS.items():
        if fmt == "taobao_short":
            continue
        score = 1 - len(_missing(have, groups)) / len(groups)
        if score > best_score:
            best, best_score = fmt, score
    if best is not None and best_score >= 0.5:
        label, groups = FORMATS[best]
        miss = _missing(have, groups)
        if best == "taobao_orders":
            miss = [m for m in miss if m != taobao.BUYER_COLUMNS] or miss
        alt = f" (or {', '.join(miss[0][1:])})" if len(miss[0]) > 1 else ""
        more = f"; also missing: {', '.join(g[0] for g in miss[1:])}" if len(miss) > 1 else ""
        raise LoadError(file, f"missing required column for {label}{alt}{more}", column=miss[0][0])
    known = set()
    for _, groups in FORMATS.values():
        for g in groups:
            known |= set(g)
    unknown = [h for h in hs if h and h not in known]
    shown = ", ".join(unknown[:10]) + (f" (+{len(unknown) - 10} more)" if len(unknown) > 10 else "")
    expected = "; ".join(
        f"{label} ({', '.join(g[0] for g in groups)})"
        for fmt, (label, groups) in FORMATS.items()
        if fmt != "taobao_short"
    )
    raise LoadError(
        file,
        f"unknown export format: headers not recognised: {shown or '(none)'}; "
        f"expected the headers of one of: {expected}; or pass a column mapping",
    )


def read_orders(
    paths: Iterable[str | Path],
    salt: str,
    tz: str = "Asia/Shanghai",
    mapping: dict[str, str] | None = None,
    currency: str | None = None,
    returns: dict | None = None,
    non_merchandise: dict | None = None,
) -> Loaded:
    """Read order exports of any supported format into the canonical ``orders`` table.

    Parameters
    ----------
    paths : iterable of path
        CSV / XLSX files; formats may be mixed (a Taobao 订单报表 with its 宝贝报表, Shopify
        files, mapped files…). Files of one format are read together, so an order's lines
        may sit in another file of the same format.
    salt : str
        Secret salt for pseudonymising buyer ids (see :func:`clean.pseudonymise`).
    tz : str
        The shop's timezone: times with offsets are converted to it, then made naive.
    mapping : dict, optional
        ``{canonical_name: file_column}``; files holding every mapped column are read through
        it (format ``generic``), the others are recognised by :func:`detect`.
    currency : str, optional
        The shop's ISO currency (``shop.yaml`` ``currency``): a row whose amount is marked
        with another currency (``$100.00`` in a CNY shop) is rejected, reason naming both
        currencies. None: currency signs are not checked.
    returns, non_merchandise : shop.yaml ``returns`` and ``non_merchandise``: return lines
        (negative quantity or amount, credit-note numbers) become status ``returned`` with
        ``return_of``; postage, fees… get ``line_type`` ``non_merchandise``
        (:func:`helpers.load.lines.prepare_orders`; None: the defaults).

    Returns
    -------
    Loaded
        ``table``: conformed orders with ``_source_file`` / ``_source_row`` (of the line's
        row); ``rejects``; ``counts`` per file; ``format`` (formats joined by ``+``);
        ``notes``. An order id already loaded from a file of another format is rejected
        ("order … already loaded from …").

    Raises
    ------
    LoadError
        File-level problems: empty file, unknown format, missing required or duplicated
        column, 宝贝报表 without 订单报表, bad mapping.
    """
    if not salt:
        raise ValueError("read_orders needs the shop's salt to pseudonymise buyer ids")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("read_orders needs at least one file")

    read = functools.partial(_read_format, salt=salt, tz=tz, currency=currency, mapping=mapping)
    streamed = read_streamed(paths, display_names(paths), mapping, read, detect)
    if streamed is not None:
        return _loaded(
            streamed.lines,
            streamed.rejects,
            streamed.counts,
            [streamed.format],
            streamed.notes,
            paths,
            returns,
            non_merchandise,
        )
    groups: dict[str, list[Source]] = {}
    for path, name in zip(paths, display_names(paths), strict=True):
        src = Source.read(path, name)
        if mapping and set(mapping.values()) <= set(src.headers):
            src.format = "generic"
        else:
            try:
                src.format = detect(src.headers, file=name, table="orders")
            except LoadError:
                if not mapping:
                    raise
                gone = next(c for c in mapping.values() if c not in src.headers)
                canon = next(k for k, v in mapping.items() if v == gone)
                raise LoadError(
                    name, f"mapped column for {canon} not in the file", column=gone
                ) from None
        groups.setdefault(src.format, []).append(src)

    parts: list[Part] = []
    classic_orders = groups.get("taobao_orders", []) + groups.get("taobao_short", [])
    if classic_orders or groups.get("taobao_items"):
        parts.append(
            taobao.read_classic(classic_orders, groups.get("taobao_items", []), salt, tz, currency)
        )
    if groups.get("taobao_item_report"):
        parts.append(taobao.read_item_report(groups["taobao_item_report"], salt, tz, currency))
    for fmt in ("shopify_orders", "generic", "canonical"):
        if groups.get(fmt):
            parts.append(read(fmt, groups[fmt]))

    seen = pd.Series(dtype="object")  # order id -> where it was first loaded
    for part in parts:
        ids = part.lines["order_id"]
        clash = ids[isin(ids, seen.index.to_series())].drop_duplicates()
        if not clash.empty:
            text = "order " + clash.astype("str") + " already loaded from " + clash.map(seen)
            part.reject_orders(pd.Series(text.to_numpy(), index=clash.to_numpy()))
        first = part.lines.drop_duplicates("order_id")
        where = first["_source_file"].astype("str") + " (" + part.format + ")"
        seen = pd.concat([seen, pd.Series(where.to_numpy(), index=first["order_id"].to_numpy())])

    frames = [p.lines for p in parts if len(p.lines)]
    table = pd.concat(frames, ignore_index=True) if frames else schema.empty("orders")
    table = schema.conform(table, "orders")
    ledgers = [led for p in parts for led in p.ledgers]
    counts = [c for led in ledgers for c in led.counts()]
    notes = [n for p in parts for n in p.notes]
    return _loaded(
        table,
        [led.rejects() for led in ledgers],
        counts,
        [p.format for p in parts],
        notes,
        paths,
        returns,
        non_merchandise,
    )


def _read_format(
    fmt: str, sources: list[Source], *, salt: str, tz: str, currency: str | None, mapping
) -> Part:
    """The orders adapter of a Shopify, mapped or canonical export."""
    if fmt == "shopify_orders":
        return shopify.read_shopify(sources, salt, tz, currency)
    cmap = mapping if fmt == "generic" else None
    return read_mapped_orders(sources, cmap, salt, tz, fmt, currency)


def _loaded(
    table: pd.DataFrame,
    rej: list[pd.DataFrame],
    counts: list[FileCount],
    formats: list[str],
    notes: list[str],
    paths: list[Path],
    returns: dict | None,
    non_merchandise: dict | None,
) -> Loaded:
    """The conformed lines of every format, in file order, with their rejects and counts."""
    table["_source_file"] = (
        table["_source_file"].astype("object")
        if "_source_file" in table
        else pd.Series(dtype=object)
    )
    if "_source_row" not in table:
        table["_source_row"] = pd.Series(dtype="int64")
    rej = [r for r in rej if len(r)]
    rejects = pd.concat(rej, ignore_index=True) if rej else rejects_frame()
    if len(rejects):  # no column named: None, however the parts were concatenated
        rejects["column"] = (
            rejects["column"].astype("object").where(rejects["column"].notna(), None)
        )
    order = {n: i for i, n in enumerate(display_names(paths))}
    counts = sorted(counts, key=lambda c: order.get(c.file, 0))
    if len(rejects):
        rejects = rejects.assign(_o=rejects["file"].map(order)).sort_values(
            ["_o", "row"], kind="stable"
        )
        rejects = rejects.drop(columns="_o").reset_index(drop=True)
    table = prepare_orders(table.reset_index(drop=True), returns, non_merchandise)
    return Loaded(table, rejects, counts, "+".join(formats), notes)
