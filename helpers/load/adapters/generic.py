"""Any CSV / XLSX through a column mapping, canonical files, and the non-order tables.

A mapping is ``{canonical_name: file_column}``. Orders read this way (format ``generic``, or
``canonical`` when the file already has the canonical names) get documented defaults for what
the file lacks:

============== =================================================================
column         when not mapped
============== =================================================================
order_time     ``paid_time``; else LoadError
order_id       ``<customer_id>-<order_time as YYYYmmddHHMMSS>``; else LoadError
line_id        ``<order_id>-<n>``, n = row order within the order
quantity       1
status         ``paid``
refund_amount  0
unit_price     paid_amount / quantity (rounded to the cent)
paid_amount    unit_price × quantity; else LoadError
product_id     title; else the placeholder :data:`helpers.core.schema.NO_PRODUCT` for every
               line (a CRM / POS export: product analyses say they need a product column)
============== =================================================================

``customer_id`` values are pseudonymised with the salt unless they already are pseudonyms
(16 lowercase hex characters, as this package writes them). A file column holding personal
data (see :data:`helpers.load.adapters.clean.PII_PATTERNS`) may only be mapped to ``customer_id``
(hashed) or to ``province`` / ``city`` (an address: only province and city are kept).

The other tables (products, traffic, ads, keywords, campaigns, reviews, issues) are read by
:func:`read_table` from canonical headers, a mapping, or the Chinese header names of the usual
exports (生意参谋 traffic: 日期, 商品ID, 流量来源, 展现量, 点击量, 访客数, 浏览量, 加购人数,
支付买家数; see :data:`ALIASES`).

Above 600 lines: the mapped-CSV reader: aliases, derivations of missing columns and their checks belong together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import schema
from helpers.core.errors import LoadError
from helpers.load.adapters.base import Loaded
from helpers.load.adapters.clean import (
    SOURCE_FILE,
    SOURCE_ROW,
    Ledger,
    Parsed,
    Part,
    Source,
    concat_sources,
    drop_pii,
    is_pii,
    larger_than,
    normalise_text,
    on_uniques,
    parse_datetime,
    parse_id,
    parse_int,
    parse_money,
    parse_number,
    parse_rate,
    pseudonymise,
    re_sub,
    says,
    take,
    text_or_none,
)
from helpers.load.adapters.taobao import STATUS_MAP as TAOBAO_STATUS
from helpers.load.adapters.taobao import derive_status, split_address

__all__ = [
    "ALIASES",
    "CATEGORY_ALIASES",
    "STATUS_ALIASES",
    "display_names",
    "RETURN_SIGNED",
    "read_table",
    "read_mapped_orders",
]

# canonical column -> Chinese (and a few English) header names accepted without a mapping
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "products": {
        "product_id": ("商品ID", "商品id", "宝贝ID", "商品编码", "商家编码"),
        "title": ("标题", "商品标题", "商品名称", "宝贝标题", "宝贝名称"),
        "category": ("类目", "叶子类目", "商品类目", "类别"),
        "price": ("价格", "一口价", "售价", "销售价"),
        "cost": ("成本", "成本价", "采购价", "进价"),
        "launch_date": ("上架时间", "上架日期", "上新日期", "发布时间"),
        "stock": ("库存", "库存数量", "可售库存", "库存数"),
        "lead_time_days": ("备货周期", "采购周期", "补货周期", "备货天数"),
        "role": ("商品角色", "角色", "商品定位", "定位"),
    },
    "traffic": {
        "date": ("日期", "统计日期"),
        "product_id": ("商品ID", "商品id", "宝贝ID"),
        "channel": ("流量来源", "渠道", "来源", "流量渠道", "来源名称"),
        "impressions": ("展现量", "曝光量", "商品曝光量"),
        "clicks": ("点击量", "点击次数"),
        "visitors": ("访客数", "商品访客数", "UV"),
        "page_views": ("浏览量", "商品浏览量", "PV"),
        "add_to_cart": ("加购人数", "商品加购人数", "加购件数"),
        "buyers": ("支付买家数", "买家数"),
    },
    "ads": {
        "date": ("日期", "统计日期"),
        "keyword": ("关键词", "推广关键词"),
        "product_id": ("商品ID", "宝贝ID", "商品id"),
        "impressions": ("展现量",),
        "clicks": ("点击量",),
        "spend": ("花费", "消耗", "总花费"),
        "orders": ("成交笔数", "总成交笔数"),
        "revenue": ("成交金额", "总成交金额"),
    },
    "keywords": {
        "keyword": ("关键词", "搜索词"),
        "month": ("月份", "统计月份", "日期"),
        "group": ("分组", "词根", "关键词分组"),
        "search_volume": ("搜索人气", "搜索量", "搜索人数"),
        "click_rate": ("点击率",),
        "conversion_rate": ("转化率", "支付转化率"),
        "avg_price": ("客单价", "均价"),
        "online_products": ("在线商品数",),
    },
    "campaigns": {
        "campaign_id": ("活动ID", "活动编号"),
        "name": ("活动名称",),
        "type": ("活动类型",),
        "start": ("开始日期", "开始时间"),
        "end": ("结束日期", "结束时间"),
        "product_ids": ("活动商品", "商品ID"),
        "budget": ("预算",),
        "spend": ("花费", "实际花费"),
        "threshold": ("门槛", "满"),
        "discount": ("优惠", "减"),
    },
    "reviews": {
        "review_id": ("评价ID", "评价编号"),
        "product_id": ("商品ID", "宝贝ID"),
        "date": ("评价时间", "评价日期", "日期"),
        "rating": ("评分", "星级"),
        "text": ("评价内容", "内容"),
        "dsr_item": ("描述相符",),
        "dsr_service": ("服务态度",),
        "dsr_shipping": ("物流服务",),
    },
    "issues": {
        "issue_id": ("问题编号", "编号"),
        "date": ("日期", "记录日期"),
        "area": ("领域", "问题领域"),
        "owner": ("负责人",),
        "status": ("状态",),
        "due_date": ("截止日期",),
        "closed_date": ("关闭日期", "完成日期"),
        "description": ("描述", "问题描述"),
    },
}

# values of categorical columns: accepted spellings → canonical value
CATEGORY_ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("products", "role"): {
        "引流款": "traffic",
        "引流": "traffic",
        "利润款": "profit",
        "利润": "profit",
        "形象款": "image",
        "形象": "image",
        "定制款": "custom",
        "定制": "custom",
    },
    ("issues", "area"): {
        "目标": "goals",
        "设定目标": "goals",
        "goal": "goals",
        "分析": "analysis",
        "推广": "promotion",
        "执行": "execution",
    },
    ("issues", "status"): {
        "未开始": "open",
        "待处理": "open",
        "打开": "open",
        "进行中": "in_progress",
        "处理中": "in_progress",
        "in progress": "in_progress",
        "已完成": "closed",
        "已关闭": "closed",
        "关闭": "closed",
        "done": "closed",
    },
    ("orders", "device"): {
        "手机": "mobile",
        "无线": "mobile",
        "移动": "mobile",
        "app": "mobile",
        "phone": "mobile",
        "tablet": "mobile",
        "电脑": "pc",
        "desktop": "pc",
        "web": "pc",
        "其他": "other",
    },
}

STATUS_ALIASES: dict[str, str] = {
    "paid": "paid",
    "completed": "paid",
    "complete": "paid",
    "success": "paid",
    "succeeded": "paid",
    "shipped": "paid",
    "delivered": "paid",
    "fulfilled": "paid",
    "partially_paid": "paid",
    "refunded": "refunded",
    "refund": "refunded",
    "partially_refunded": "partially_refunded",
    "partial_refund": "partially_refunded",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "voided": "cancelled",
    "void": "cancelled",
    "closed": "closed",
    "pending": "pending",
    "unpaid": "pending",
    "authorized": "pending",
    "awaiting_payment": "pending",
}

_RANGES = {
    ("reviews", c): (0.0, 5.0) for c in ("rating", "dsr_item", "dsr_service", "dsr_shipping")
}


def display_names(paths: Sequence[Path]) -> list[str]:
    """File names for messages; full paths for inputs that share a name."""
    names = [p.name for p in paths]
    return [str(p) if names.count(p.name) > 1 else p.name for p in paths]


def _check_mapping(mapping: dict[str, str], table: str, src: Source) -> None:
    cols = schema.COLUMNS[table]
    for canon, col in mapping.items():
        if canon not in cols:
            raise LoadError(
                src.file,
                f"mapping names '{canon}', which is not a column of the {table} table "
                f"(columns: {', '.join(cols)})",
            )
        if col not in src.headers:
            raise LoadError(src.file, f"mapped column for {canon} not in the file", column=col)
        allowed = ("customer_id", "province", "city") if table == "orders" else ()
        if is_pii(col) and canon not in allowed:
            raise LoadError(
                src.file,
                f"holds personal data and cannot be mapped to {canon}"
                + (" (only to customer_id, which is pseudonymised)" if allowed else ""),
                column=col,
            )


def _resolve(src: Source, table: str, mapping: dict[str, str] | None) -> tuple[dict, str]:
    """``{canonical: file column}`` for one file and its format name."""
    headers = src.headers
    if mapping:
        _check_mapping(mapping, table, src)
        return dict(mapping), "generic"
    cols = schema.COLUMNS[table]
    out = {c: c for c in cols if c in headers}
    aliased = False
    for canon, names in ALIASES.get(table, {}).items():
        if canon in out:
            continue
        hit = next((n for n in names if n in headers and not is_pii(n)), None)
        if hit is not None:
            out[canon] = hit
            aliased = True
    missing = [c for c in schema.required(table) if c not in out]
    if missing:
        accepted = ", ".join((missing[0], *ALIASES.get(table, {}).get(missing[0], ())))
        shown = ", ".join(headers[:12]) + (" …" if len(headers) > 12 else "")
        raise LoadError(
            src.file,
            f"missing required column for the {table} table (accepted names: {accepted}; "
            f"also missing: {', '.join(missing[1:]) or 'nothing else'}; file has: {shown})",
            column=missing[0],
        )
    return out, ("generic" if aliased else "canonical")


def _canonical_frame(sources: Sequence[Source], cmaps: Sequence[dict]) -> pd.DataFrame:
    """Canonical-named text columns, rows in the same order as :func:`concat_sources`."""
    frames = [
        pd.DataFrame({canon: s.raw[col] for canon, col in m.items()}, index=s.raw.index)
        for s, m in zip(sources, cmaps, strict=True)
    ]
    cf = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    cf = cf.reset_index(drop=True)
    for c in cf.columns:
        if cf[c].isna().any():
            cf[c] = cf[c].fillna("")
    return cf


def _label(cmaps: Sequence[dict], canon: str) -> str:
    """The file column name used in messages for a canonical column."""
    return next((m[canon] for m in cmaps if canon in m), canon)


# A negative quantity or amount on an order line is a return / credit note
# (helpers.load.lines.prepare_orders turns it into a "returned" line), not bad data.
RETURN_SIGNED = {("orders", "quantity"), ("orders", "paid_amount"), ("orders", "unit_price")}


def _reject_negative(led: Ledger, v: pd.Series, column: str, what: str) -> None:
    led.reject((v < 0).to_numpy(), f"negative {what}", column)


def _category(led: Ledger, table: str, col: str, s: pd.Series, label: str) -> pd.Series:
    allowed = schema.ALLOWED[(table, col)]
    t = normalise_text(s)
    low = t.str.lower()
    aliases = CATEGORY_ALIASES.get((table, col), {})
    v = low.map({**{a: a for a in allowed}, **aliases, **{a.replace("_", " "): a for a in allowed}})
    v = v.where(v.notna(), t.map(aliases))
    empty = t == ""
    if (table, col) == ("orders", "device"):
        return v.where(v.notna() | empty, "other").astype("object").where(~empty, None)
    led.reject(
        (~empty & v.isna()).to_numpy(),
        says(f"unknown {col} ", t, f" (expected {', '.join(allowed)})"),
        label,
    )
    return v.astype("object").where(v.notna(), None)


def _parse_kind(
    led: Ledger,
    table: str,
    col: str,
    s: pd.Series,
    label: str,
    tz: str,
    currency: str | None = None,
) -> pd.Series:
    """Parse one canonical column by its kind, rejecting rows it cannot read (money in
    another currency than ``currency``, the shop's, included)."""
    kind, req = schema.COLUMNS[table][col]
    what = col.replace("_", " ")
    p: Parsed | None = None
    if kind == "id":
        p = parse_id(s)
        led.reject_parsed(p, label, what)
    elif kind in ("time", "date"):
        p = parse_datetime(s, tz)
        led.reject_parsed(p, label)
    elif kind == "int":
        p = parse_int(s)
        led.reject_parsed(p, label)
        if (table, col) not in RETURN_SIGNED:
            _reject_negative(led, p.values, label, what)
    elif kind == "money":
        p = parse_money(s, currency=currency)
        led.reject_parsed(p, label)
        if (table, col) not in RETURN_SIGNED:
            _reject_negative(led, p.values, label, what)
    elif kind == "rate":
        p = parse_rate(s)
        led.reject_parsed(p, label)
    elif kind == "float":
        p = parse_number(s)
        led.reject_parsed(p, label)
        _reject_negative(led, p.values, label, what)
    if p is not None:
        v = p.values
    elif kind == "cat":
        v = _category(led, table, col, s, label)
    else:
        v = text_or_none(s)
    if (table, col) in _RANGES:
        lo, hi = _RANGES[(table, col)]
        out = v.notna() & ((v < lo) | (v > hi))
        led.reject(out.to_numpy(), says(f"{what} ", s, f" outside {lo:g}–{hi:g}"), label)
    if req:
        led.reject_missing(v, label, what)
    return v


def read_table(
    paths: Iterable[str | Path],
    table: str,
    mapping: dict[str, str] | None = None,
    tz: str = "Asia/Shanghai",
    currency: str | None = None,
) -> Loaded:
    """Read a non-order canonical table from canonical CSV/XLSX, a mapping or Chinese headers.

    Parameters
    ----------
    paths : iterable of path
        One or more files of the table (e.g. a month per file).
    table : str
        ``products``, ``traffic``, ``ads``, ``keywords``, ``campaigns``, ``reviews`` or
        ``issues``.
    mapping : dict, optional
        ``{canonical_name: file_column}``; without it, canonical names and :data:`ALIASES`
        are recognised.
    tz : str
        Shop timezone for texts carrying an offset.
    currency : str, optional
        The shop's ISO currency: money cells marked with another currency (``$12`` in a CNY
        shop) are rejected. None: currency signs are not checked.

    Returns
    -------
    Loaded
        The conformed table (with ``_source_file`` / ``_source_row``), rejects and counts.

    Raises
    ------
    LoadError
        Empty file, duplicated or missing required column, bad mapping.
    """
    if table == "orders":
        raise ValueError("orders are read with read_orders (they need the salt)")
    if table not in schema.COLUMNS:
        raise ValueError(f"unknown table {table!r}; tables: {', '.join(schema.TABLES)}")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("read_table needs at least one file")
    sources, cmaps = [], []
    for path, name in zip(paths, display_names(paths), strict=True):
        src = Source.read(path, name)
        cmap, src.format = _resolve(src, table, mapping)
        sources.append(src)
        cmaps.append(cmap)
    full = concat_sources(sources)
    cf = _canonical_frame(sources, cmaps)
    raw, dropped = drop_pii(full)
    notes = (
        [f"{table}: personal-data columns dropped at load: {', '.join(dropped)}"] if dropped else []
    )
    led = Ledger(raw, table, sources)
    first_col = next(iter(cmaps[0].values()), None)
    led.reject_summary(first_col)
    led.reject_duplicates(full)
    out = pd.DataFrame(index=cf.index)
    for col in schema.COLUMNS[table]:
        if col in cf.columns:
            out[col] = _parse_kind(led, table, col, cf[col], _label(cmaps, col), tz, currency)
    if table == "keywords" and "month" in out:
        out["month"] = out["month"].dt.to_period("M").dt.to_timestamp()
    if table == "campaigns":
        if "product_ids" in out:
            ids = out["product_ids"].astype("str").str.replace(r"[,，;；、|\s]+", ";", regex=True)
            out["product_ids"] = ids.str.strip(";").where(out["product_ids"].notna(), None)
        bad = (out["end"] < out["start"]).to_numpy()
        led.reject(bad, "end before start", _label(cmaps, "end"))
    unique = schema.UNIQUE.get(table)
    if unique and all(c in out for c in unique):
        key = out[unique[0]].astype("object")
        for c in unique[1:]:
            key = key.astype("str") + "|" + out[c].astype("str")
        led.reject_repeated(key.where(out[unique[0]].notna()), _label(cmaps, unique[0]), unique[0])
    a = led.alive
    kept = out[a].copy()
    kept[SOURCE_FILE] = raw[SOURCE_FILE][a].astype("object").to_numpy()
    kept[SOURCE_ROW] = raw[SOURCE_ROW][a].to_numpy()
    result = schema.conform(kept, table).reset_index(drop=True)
    fmt = "+".join(dict.fromkeys(s.format for s in sources))
    return Loaded(result, led.rejects(), led.counts(), fmt, notes)


def _need(cond: bool, sources: Sequence[Source], column: str, message: str) -> None:
    if not cond:
        raise LoadError(", ".join(s.file for s in sources), message, column=column)


def read_mapped_orders(
    sources: Sequence[Source],
    mapping: dict[str, str] | None,
    salt: str,
    tz: str,
    fmt: str = "generic",
    currency: str | None = None,
) -> Part:
    """Orders from any file through ``mapping`` (identity for canonical files).

    See the module docstring for the defaults of unmapped columns; ``currency`` (the shop's)
    rejects amounts marked with another currency.
    """
    cmaps = []
    for src in sources:
        if mapping is None:
            cmaps.append({c: c for c in schema.COLUMNS["orders"] if c in src.headers})
        else:
            _check_mapping(mapping, "orders", src)
            cmaps.append(dict(mapping))
    have = set().union(*[set(m) for m in cmaps])
    _need(
        {"order_time", "paid_time"} & have != set(),
        sources,
        "order_time",
        "cannot derive order_time: map order_time (or paid_time)",
    )
    _need(
        bool({"order_id", "customer_id"} & have),
        sources,
        "order_id",
        "cannot derive order_id: map order_id, or customer_id to build it from customer + time",
    )
    _need(
        bool({"paid_amount", "unit_price"} & have),
        sources,
        "paid_amount",
        "cannot derive paid_amount: map paid_amount (or unit_price)",
    )
    full = concat_sources(sources)
    cf = _canonical_frame(sources, cmaps)
    lab = {c: _label(cmaps, c) for c in schema.COLUMNS["orders"]}
    notes: list[str] = []
    customer = None
    if "customer_id" in cf:
        c = normalise_text(cf["customer_id"])
        already = c.str.fullmatch(r"[0-9a-f]{16}").fillna(False).astype(bool)
        customer = pseudonymise(c, salt).where(~already, c.astype("object"))
    else:
        notes.append(f"{fmt}: no customer_id: customer analyses need a buyer id")
    province = city = None
    for col in ("province", "city"):
        if col in cf:
            if is_pii(lab[col]):
                p_, c_ = split_address(cf[col])
                province = p_ if col == "province" else province
                city = c_ if col == "city" else city
            elif col == "province":
                province = text_or_none(cf[col])
            else:
                city = text_or_none(cf[col])
    raw, dropped = drop_pii(full)
    if dropped:
        notes.append(f"{fmt}: personal-data columns dropped at load: {', '.join(dropped)}")
    led = Ledger(raw, "orders", sources)
    led.reject_summary(lab["order_id"] if "order_id" in cf else None)
    led.reject_duplicates(full)

    def parsed(col: str) -> pd.Series | None:
        if col not in cf:
            return None
        return _parse_kind(led, "orders", col, cf[col], lab[col], tz, currency)

    ot, pt = parsed("order_time"), parsed("paid_time")
    order_time = ot if ot is not None else pt
    if ot is not None and pt is not None:
        order_time = ot.where(ot.notna(), pt)
    if "order_id" in cf:
        oid = parse_id(cf["order_id"])
        led.reject_parsed(oid, lab["order_id"], "order id")
        led.note_scientific(cf["order_id"], oid.bad)
        led.reject_missing(oid.values, lab["order_id"], "order id")
        order_id = oid.values
    else:
        led.reject_missing(customer, lab["customer_id"], "customer_id (to build the order id)")
        stamp = pd.Series(
            order_time.to_numpy().astype("datetime64[s]").astype(str), index=cf.index
        ).str.replace(r"\D", "", regex=True)
        order_id = (customer.astype("str") + "-" + stamp).where(
            customer.notna() & order_time.notna(), None
        )
        notes.append("order_id built from customer_id + order time (no order id mapped)")
    led.reject_missing(order_time, lab["order_time"], "order time")
    led.key = order_id
    led.reject_near_scientific()
    qty = parsed("quantity")
    if qty is None:
        qty = pd.Series(1.0, index=cf.index)
    else:
        led.reject((qty == 0).to_numpy(), "zero quantity", lab["quantity"])
    unit = parsed("unit_price")
    paid = parsed("paid_amount")
    if paid is None:
        paid = (unit * qty).round(2)
    if unit is None:
        unit = (paid / qty).round(2)
    refund = parsed("refund_amount")
    refund = refund.fillna(0.0) if refund is not None else pd.Series(0.0, index=cf.index)
    over = (refund > paid.abs() + 0.005).to_numpy()
    led.reject(over, larger_than("refund", refund, "payment", paid), lab["refund_amount"])
    if "status" in cf:

        def status_code(u: pd.Series) -> pd.DataFrame:
            t = normalise_text(u)
            c = re_sub(t.str.lower(), r"[\s-]+", "_").map(STATUS_ALIASES)
            c = c.where(c.notna(), re_sub(t, r"\s+", "").map(TAOBAO_STATUS))
            return pd.DataFrame({"code": c.astype("object"), "text": t})

        got = on_uniques(cf["status"], status_code)
        code, t = got["code"], got["text"]
        led.reject((t == "").to_numpy(), "missing status", lab["status"])
        led.reject(code.isna().to_numpy(), says("unknown status ", t), lab["status"])
    else:
        code = pd.Series("paid", index=cf.index, dtype="object")
    product = parsed("product_id")
    title = parsed("title")
    if product is None and title is None:
        product = pd.Series(schema.NO_PRODUCT, index=cf.index, dtype="object")
        notes.append(
            f"{fmt}: no product column: every line counts as product '{schema.NO_PRODUCT}'; "
            "product analyses need product_id (or title) mapped"
        )
    elif product is None:
        product = title
    else:
        product = product.where(product.notna(), title) if title is not None else product
    led.reject_missing(product, lab["product_id"], "product id")
    line = parsed("line_id")
    if line is not None:
        led.reject_missing(line, lab["line_id"], "line id")
        led.reject_repeated(
            (led.key.astype("str") + " line " + line.astype("str")).where(line.notna()),
            lab["line_id"],
            "order",
        )
    extra = {col: parsed(col) for col in ("sku", "device", "channel", "return_of", "line_type")}
    led.cascade()

    a = np.flatnonzero(led.alive)
    lines = pd.DataFrame(index=pd.RangeIndex(len(a)))
    oid_a = take(led.key, a)
    lines["order_id"] = oid_a
    if line is not None:
        lines["line_id"] = take(line, a)
    else:
        n = oid_a.groupby(oid_a, sort=False).cumcount() + 1
        lines["line_id"] = oid_a.astype("str") + "-" + n.astype("str")
    lines["customer_id"] = take(customer, a)
    lines["order_time"] = take(order_time, a)
    paid_time = (
        take(pt, a)
        if pt is not None
        else pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns]")
    )
    lines["paid_time"] = paid_time
    lines["product_id"] = take(product, a)
    v = extra["sku"]
    lines["sku"] = take(v, a) if v is not None else None
    lines["title"] = take(title, a) if title is not None else None
    lines["quantity"] = take(qty, a).astype(np.int64)
    lines["unit_price"] = take(unit, a)
    p = take(paid, a)
    status, r = derive_status(take(code, a).astype("object"), p, take(refund, a), paid_time)
    lines["status"] = status
    lines["paid_amount"] = p
    lines["refund_amount"] = r
    lines["province"] = take(province, a) if province is not None else None
    lines["city"] = take(city, a) if city is not None else None
    for col in ("device", "channel", "return_of", "line_type"):
        v = extra[col]
        lines[col] = take(v, a) if v is not None else None
    lines[SOURCE_FILE] = take(raw[SOURCE_FILE], a)
    lines[SOURCE_ROW] = take(raw[SOURCE_ROW], a)
    lines.index = pd.Index(a)
    return Part(fmt, lines, led, [led], notes)
