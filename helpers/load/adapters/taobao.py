"""Taobao / Tmall order exports → canonical ``orders``.

Formats (recognised by header names in :func:`helpers.load.adapters.detect`):

``taobao_orders``
    The classic 订单报表 (ExportOrderList): one row per order — 订单编号, 买家会员名,
    买家实际支付金额, 订单状态, 订单创建时间, 订单付款时间, 收货地址, 退款金额 …
``taobao_short``
    The same report without any buyer id column: ``customer_id`` is None.
``taobao_items``
    The classic 宝贝报表 (ExportOrderDetailList): one row per order line — 订单编号, 标题,
    价格, 购买数量, 外部系统编号, 商品属性, 订单状态, 商家编码. Read only together with a
    订单报表, joined on 订单编号.
``taobao_item_report``
    The newer per-sub-order report: 子订单编号 (→ ``line_id``), 主订单编号 (→ ``order_id``),
    商品标题, 商品价格, 购买数量, 商品ID, 买家会员名 / 买家昵称, 订单付款时间, 退款金额,
    子订单状态 … Read on its own.

Statuses: 等待买家付款 → pending; 买家已付款，等待卖家发货 / 卖家已发货，等待买家确认 /
交易成功 → paid; 交易关闭 → cancelled when never paid, refunded when closed after payment
(订单付款时间 set) or a refund was paid; any paid line with 0 < refund < paid →
partially_refunded, refund ≥ paid → refunded. A line "refunded" without a refund amount gets
refund = paid.

Above 600 lines: the Taobao/Tmall export dialects (classic, item report, short report) share their column maps and status rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.core.errors import LoadError
from helpers.load.adapters.clean import (
    SOURCE_FILE,
    SOURCE_ROW,
    Ledger,
    Parsed,
    Part,
    Source,
    apportion,
    as_text,
    concat_sources,
    drop_pii,
    extract_groups,
    first_filled,
    isin,
    larger_than,
    lookup,
    normalise_text,
    on_uniques,
    parse_datetime,
    parse_id,
    parse_int,
    parse_money,
    pick,
    pseudonymise,
    re_has,
    re_sub,
    says,
    take,
    text_or_none,
)

__all__ = [
    "ORDER_ID",
    "BUYER_COLUMNS",
    "PAID_COLUMNS",
    "ORDER_STATUS",
    "CREATED",
    "PAID_AT",
    "REFUND",
    "ADDRESS",
    "MOBILE_FLAG",
    "ORIGIN",
    "ORDER_TITLE",
    "ORDER_QTY",
    "ITEM_TITLE",
    "ITEM_PRICE",
    "ITEM_QTY",
    "MERCHANT_CODE",
    "OUTER_ID",
    "ATTRS",
    "ITEM_ID",
    "SUB_ORDER",
    "MAIN_ORDER",
    "LINE_STATUS",
    "LINE_PAID",
    "REFUND_ZERO_WORDS",
    "STATUS_MAP",
    "CANONICAL_TO_CHINESE",
    "map_status",
    "derive_status",
    "split_address",
    "device_from",
    "read_classic",
    "read_item_report",
]

ORDER_ID = "订单编号"
BUYER_COLUMNS = ("买家会员名", "买家昵称", "买家会员ID", "买家ID")
PAID_COLUMNS = ("买家实际支付金额", "买家实付金额")
ORDER_STATUS = "订单状态"
CREATED = ("订单创建时间", "创建时间", "下单时间")
PAID_AT = ("订单付款时间", "付款时间", "支付时间")
REFUND = ("退款金额",)
ADDRESS = "收货地址"
MOBILE_FLAG = "是否手机订单"
ORIGIN = "订单来源"
ORDER_TITLE = "宝贝标题"
ORDER_QTY = "宝贝总数量"
ITEM_TITLE = ("标题", "商品标题", "宝贝标题")
ITEM_PRICE = ("价格", "商品价格", "单价")
ITEM_QTY = ("购买数量", "宝贝数量", "商品数量")
MERCHANT_CODE = "商家编码"
OUTER_ID = "外部系统编号"
ATTRS = "商品属性"
ITEM_ID = ("商品ID", "宝贝ID", "商品id")
SUB_ORDER = "子订单编号"
MAIN_ORDER = "主订单编号"
LINE_STATUS = ("子订单状态", "订单状态")
LINE_PAID = ("子单实际支付金额", "买家实付金额", "买家实际支付金额")

REFUND_ZERO_WORDS = ("无退款申请", "没有申请退款", "无退款", "无")

# Chinese status → intermediate code; keys are NFKC-normalised with spaces removed.
STATUS_MAP: dict[str, str] = {
    "等待买家付款": "pending",
    "待付款": "pending",
    "买家已付款,等待卖家发货": "paid",
    "买家已付款": "paid",
    "等待卖家发货": "paid",
    "待发货": "paid",
    "卖家已发货,等待买家确认": "paid",
    "卖家已发货": "paid",
    "卖家部分发货": "paid",
    "已发货": "paid",
    "买家已收货": "paid",
    "已收货": "paid",
    "交易成功": "paid",
    "交易完成": "paid",
    "已完成": "paid",
    "交易关闭": "closed",
    "已关闭": "closed",
    "付款以后用户退款成功,交易自动关闭": "refunded",
    "退款成功": "refunded",
    "已退款": "refunded",
    "付款以前,卖家或买家主动关闭交易": "cancelled",
    "已取消": "cancelled",
}

# Status texts the writer uses for each canonical status (the inverse, for realism).
CANONICAL_TO_CHINESE = {
    "pending": "等待买家付款",
    "paid": "交易成功",
    "partially_refunded": "交易成功",
    "refunded": "交易关闭",
    "cancelled": "交易关闭",
}

_MUNICIPALITIES = "北京|上海|天津|重庆"


def map_status(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Chinese order status → intermediate code (pending/paid/closed/refunded/cancelled).

    Returns the codes (NaN where unknown) and the normalised text (for messages).
    """

    def one(u: pd.Series) -> pd.DataFrame:
        t = re_sub(normalise_text(u), r"\s+", "")
        return pd.DataFrame({"code": t.map(STATUS_MAP).astype("object"), "text": t})

    got = on_uniques(raw, one)
    return got["code"], got["text"]


def derive_status(
    code: pd.Series, paid: pd.Series, refund: pd.Series, paid_time: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Canonical status and refund per line from the Taobao code, payment and refund.

    Parameters
    ----------
    code : Series
        Intermediate code from :func:`map_status`.
    paid, refund : Series
        Line payment and refund.
    paid_time : Series
        Payment time (NaT when never paid).

    Returns
    -------
    status, refund : Series
    """
    refund = refund.fillna(0.0)
    eps = 0.005
    after_pay = (paid_time.notna() & (paid > eps)) | (refund > eps)
    status = code.astype("object").copy()
    closed = code == "closed"
    status[closed & after_pay] = "refunded"
    status[closed & ~after_pay] = "cancelled"
    full = (status == "refunded") & (refund <= eps)
    refund = refund.where(~full, paid)
    partial = status.isin(["paid", "refunded"]) & (refund > eps) & (refund < paid - eps)
    status[partial] = "partially_refunded"
    status[(status == "paid") & (refund > eps) & (refund >= paid - eps)] = "refunded"
    return status, refund


def split_address(addr: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Province and city from a Taobao 收货地址 (everything else is discarded).

    ``"浙江省 杭州市 西湖区 文三路 1 号(310000)"`` → ``浙江省``, ``杭州市``: the first two
    space-separated tokens; addresses without spaces are split on 省/自治区/市 suffixes.
    """
    t = as_text(addr).str.replace("\u3000", " ", regex=False).str.strip()
    province_re = (
        r"(?P<p>[^\s省]{2,3}省|[^\s]{2,8}自治区|(?:" + _MUNICIPALITIES + r")市?"
        r"|香港(?:特别行政区)?|澳门(?:特别行政区)?|台湾省?)"
    )
    got = extract_groups(t, r"^" + province_re + r"\s+(?P<c>[^\s(]+)")
    prov, city = got["p"], got["c"]
    miss = prov.isna().to_numpy() & (t != "").to_numpy()
    if miss.any():  # no spaces: split on the 省/自治区/市 suffixes
        solid = extract_groups(
            t[miss],
            r"^(?P<p>"
            + _MUNICIPALITIES
            + r"|[^\s省]{2,3}省|[^\s区]{2,8}自治区|香港|澳门|台湾)(?:市|特别行政区)?"
            r"(?P<c>.{1,10}?(?:市|自治州|地区|盟))?",
        )
        muni = solid["p"].isin(_MUNICIPALITIES.split("|"))
        prov = prov.copy()
        city = city.copy()
        prov[miss] = solid["p"]
        city[miss] = solid["c"].where(~muni, solid["p"] + "市")
    return prov, city


def device_from(df: pd.DataFrame) -> pd.Series:
    """mobile / pc / other from 是否手机订单 or 订单来源; None when neither column exists."""
    if MOBILE_FLAG in df.columns:

        def flag(u: pd.Series) -> pd.Series:
            v = normalise_text(u).str.lower()
            no = v.isin(["", "否", "0", "false", "no", "n", "非手机订单", "pc"])
            return pd.Series(np.where(no, "pc", "mobile"), index=u.index, dtype="object")

        return on_uniques(df[MOBILE_FLAG], flag)
    if ORIGIN in df.columns:

        def origin(u: pd.Series) -> pd.Series:
            v = normalise_text(u).str.lower()
            mobile = re_has(v, r"手机|无线|移动|app|mobile|wap|h5|小程序")
            pc_ = re_has(v, r"pc|电脑|网页|淘宝网|天猫网|web")
            other = np.where((v == "").to_numpy(), None, "other")
            out = np.where(mobile, "mobile", np.where(pc_, "pc", other))
            return pd.Series(out, index=u.index, dtype="object")

        return on_uniques(df[ORIGIN], origin)
    return pd.Series(None, index=df.index, dtype="object")


def _reject_money(
    led: Ledger, p: Parsed, column: str, what: str, required: bool = True, signed: bool = False
) -> pd.Series:
    """``signed``: a negative amount is a returned line's (helpers.load.lines), not an error."""
    led.reject_parsed(p, column)
    if required:
        led.reject_missing(p.values, column, what)
    if not signed:
        led.reject((p.values < 0).to_numpy(), f"negative {what}", column)
    return p.values


def _reject_refund_over_paid(led: Ledger, refund: pd.Series, paid: pd.Series, column: str):
    over = (refund > paid + 0.005).to_numpy()
    led.reject(over, larger_than("refund", refund, "payment", paid), column)


def _reject_quantity(led: Ledger, q: Parsed, column: str, signed: bool = False) -> pd.Series:
    """``signed``: a negative quantity is a returned line's (helpers.load.lines), not an error."""
    led.reject_parsed(q, column)
    led.reject_missing(q.values, column, "quantity")
    if not signed:
        led.reject((q.values < 0).to_numpy(), "negative quantity", column)
    led.reject((q.values == 0).to_numpy(), "zero quantity", column)
    return q.values


def _reject_status(led: Ledger, raw: pd.Series, column: str) -> pd.Series:
    code, text = map_status(raw)
    led.reject((text == "").to_numpy(), "missing order status", column)
    led.reject(code.isna().to_numpy(), says("unknown order status ", text), column)
    return code


def _pii_note(fmt_label: str, dropped: list[str]) -> list[str]:
    if not dropped:
        return []
    return [f"{fmt_label}: personal-data columns dropped at load: {', '.join(dropped)}"]


def _customer(full: pd.DataFrame, salt: str) -> tuple[pd.Series | None, str | None]:
    col = pick(full, *BUYER_COLUMNS)
    if col is None:
        return None, None
    return pseudonymise(normalise_text(full[col]), salt), col


def _line_fields(led: Ledger, raw: pd.DataFrame) -> dict[str, pd.Series | None]:
    """product_id (商品ID, else 商家编码, else 外部系统编号, else title), sku (商品属性) and
    title of each line; ids in scientific notation are rejected, never rounded."""
    title_col = pick(raw, *ITEM_TITLE)
    title = text_or_none(raw[title_col]) if title_col else None
    ids = []
    for col in (pick(raw, *ITEM_ID), MERCHANT_CODE, OUTER_ID):
        if col and col in raw.columns:
            p = parse_id(raw[col])
            led.reject_parsed(p, col, "product id")
            ids.append(p.values)
    product = first_filled(*ids, title)
    led.reject_missing(product, title_col or MERCHANT_CODE, "product id (商家编码 or title)")
    sku = text_or_none(raw[ATTRS]) if ATTRS in raw.columns else None
    return {"product_id": product, "sku": sku, "title": title}


class _OrderRows:
    """订单报表 rows parsed, with their ledger (shared by the classic and short reports)."""

    def __init__(self, sources: Sequence[Source], salt: str, tz: str, currency: str | None = None):
        full = concat_sources(sources)
        self.customer, self.buyer_col = _customer(full, salt)
        if ADDRESS in full.columns:
            self.province, self.city = split_address(full[ADDRESS])
        else:
            self.province = self.city = pd.Series(None, index=full.index, dtype="object")
        self.device = device_from(full)
        self.channel = text_or_none(full[ORIGIN]) if ORIGIN in full.columns else None
        raw, self.dropped = drop_pii(full)
        led = Ledger(raw, "orders", sources)
        led.reject_summary(ORDER_ID)
        led.reject_duplicates(full)
        oid = parse_id(raw[ORDER_ID])
        led.reject_parsed(oid, ORDER_ID, "order id")
        led.note_scientific(raw[ORDER_ID], oid.bad)
        led.reject_missing(oid.values, ORDER_ID, "order id")
        led.key = oid.values
        led.reject_repeated(oid.values, ORDER_ID, "order id")
        self.code = _reject_status(led, raw[ORDER_STATUS], ORDER_STATUS)
        created = pick(raw, *CREATED)
        ot = parse_datetime(raw[created], tz)
        led.reject_parsed(ot, created)
        led.reject_missing(ot.values, created, "order time")
        paid_at = pick(raw, *PAID_AT)
        if paid_at:
            pt = parse_datetime(raw[paid_at], tz)
            led.reject_parsed(pt, paid_at)
            self.paid_time = pt.values
        else:
            self.paid_time = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        paid_col = pick(raw, *PAID_COLUMNS)
        self.paid = _reject_money(
            led, parse_money(raw[paid_col], currency=currency), paid_col, "payment"
        )
        refund_col = pick(raw, *REFUND)
        if refund_col:
            rp = parse_money(raw[refund_col], REFUND_ZERO_WORDS, currency)
            self.refund = _reject_money(led, rp, refund_col, "refund", required=False).fillna(0)
            _reject_refund_over_paid(led, self.refund, self.paid, refund_col)
        else:
            self.refund = pd.Series(0.0, index=raw.index)
        self.order_time = ot.values
        self.oid = oid.values
        self.raw = raw
        self.ledger = led


def read_classic(
    order_sources: Sequence[Source],
    item_sources: Sequence[Source],
    salt: str,
    tz: str,
    currency: str | None = None,
) -> Part:
    """订单报表 (classic or short) joined with 宝贝报表 on 订单编号.

    Line ids are ``<订单编号>-<n>`` with n the line's position within its order in the
    宝贝报表. The order payment (买家实际支付金额) is apportioned over the lines by
    price × quantity, the order refund (退款金额) by line payment, both exact to the cent.
    Without any 宝贝报表, each order becomes one line (product = 宝贝标题).
    """
    if not order_sources:
        names = ", ".join(s.file for s in item_sources)
        raise LoadError(
            names,
            "宝贝报表 (order lines) without its 订单报表: add the 订单报表 export of the same "
            "period (order times, payments and statuses are only there)",
        )
    notes: list[str] = []
    orders = _OrderRows(order_sources, salt, tz, currency)
    fmt = "taobao_orders" if orders.buyer_col else "taobao_short"
    if not orders.buyer_col:
        files = ", ".join(s.file for s in order_sources)
        notes.append(
            f"{files}: no buyer id column (买家会员名/买家昵称): customer_id is empty; "
            "customer analyses need a buyer id"
        )
    notes += _pii_note("订单报表", orders.dropped)
    lo = orders.ledger
    if not item_sources:
        return _classic_without_items(orders, fmt, notes)

    full = concat_sources(item_sources)
    raw, dropped = drop_pii(full)
    notes += _pii_note("宝贝报表", dropped)
    li = Ledger(raw, "orders", item_sources)
    li.reject_summary(ORDER_ID)
    li.reject_duplicates(full)
    iid = parse_id(raw[ORDER_ID])
    li.reject_parsed(iid, ORDER_ID, "order id")
    li.note_scientific(raw[ORDER_ID], iid.bad)
    li.reject_missing(iid.values, ORDER_ID, "order id")
    li.key = iid.values
    li.reject_near_scientific([lo])
    qty_col = pick(raw, *ITEM_QTY)
    qty = _reject_quantity(li, parse_int(raw[qty_col]), qty_col)
    price_col = pick(raw, *ITEM_PRICE)
    price = _reject_money(li, parse_money(raw[price_col], currency=currency), price_col, "price")
    line_code = None
    if ORDER_STATUS in raw.columns:
        lc, lt = map_status(raw[ORDER_STATUS])
        li.reject(((lt != "") & lc.isna()).to_numpy(), says("unknown order status ", lt))
        line_code = lc.where(lt != "")
    fields = _line_fields(li, raw)
    # join: each line needs its alive order row
    ipos = lookup(orders.oid.where(lo.alive_mask), iid.values)
    missing = (ipos < 0) & iid.values.notna().to_numpy() & li.alive
    if missing.any():
        rej_pos = lookup(orders.oid, iid.values[missing])
        had = rej_pos >= 0
        where = np.full(len(rej_pos), "", dtype=object)
        if had.any():
            where[had] = lo.where(rej_pos[had]).to_numpy(dtype=object)
        ids = iid.values[missing].to_numpy(dtype=object)
        text = np.where(
            had,
            "its order (" + where + ") was rejected",
            "order " + ids + " not in 订单报表",
        )
        reason = np.full(len(li), "", dtype=object)
        reason[missing] = text
        li.reject(missing, reason, ORDER_ID)
    li.cascade([lo])
    # orders left without lines
    with_lines = isin(orders.oid, iid.values[li.alive])
    had_any = isin(orders.oid, iid.values)
    lo.reject(~with_lines & ~had_any, "no lines in 宝贝报表 for this order", ORDER_ID)
    lo.reject(~with_lines, "all its lines in 宝贝报表 were rejected", ORDER_ID)

    a = np.flatnonzero(li.alive)
    op = ipos[a]
    order_id = take(iid.values, a)
    n = order_id.groupby(order_id, sort=False).cumcount() + 1
    lines = pd.DataFrame(index=pd.RangeIndex(len(a)))
    lines["order_id"] = order_id
    lines["line_id"] = order_id + "-" + n.astype("str")
    lines["customer_id"] = take(orders.customer, op)
    lines["order_time"] = take(orders.order_time, op)
    lines["paid_time"] = take(orders.paid_time, op)
    for k, v in fields.items():
        lines[k] = take(v, a)
    q = take(qty, a)
    pr = take(price, a)
    lines["quantity"] = q.astype(np.int64)
    lines["unit_price"] = pr
    paid = apportion(take(orders.paid, op), pr * q, lines["order_id"])
    refund = apportion(take(orders.refund, op), paid, lines["order_id"])
    code = take(orders.code, op).astype("object")
    if line_code is not None:
        lcode = take(line_code, a).astype("object")
        code = lcode.where(lcode.notna(), code)
    status, refund = derive_status(code, paid, refund, lines["paid_time"])
    lines["status"] = status
    lines["paid_amount"] = paid
    lines["refund_amount"] = refund
    lines["province"] = take(orders.province, op)
    lines["city"] = take(orders.city, op)
    lines["device"] = take(orders.device, op)
    lines["channel"] = take(orders.channel, op)
    lines[SOURCE_FILE] = take(raw[SOURCE_FILE], a)
    lines[SOURCE_ROW] = take(raw[SOURCE_ROW], a)
    lines.index = pd.Index(a)
    return Part(fmt + "+taobao_items", lines, li, [li, lo], notes)


def _classic_without_items(orders: _OrderRows, fmt: str, notes: list[str]) -> Part:
    """One line per order when no 宝贝报表 was given (product = 宝贝标题)."""
    lo, raw = orders.ledger, orders.raw
    qty = pd.Series(1.0, index=raw.index)
    if ORDER_QTY in raw.columns:
        qp = parse_int(raw[ORDER_QTY])
        lo.reject_parsed(qp, ORDER_QTY)
        lo.reject((qp.values <= 0).to_numpy(), "quantity must be positive", ORDER_QTY)
        qty = qp.values.fillna(1.0)
    title = text_or_none(raw[ORDER_TITLE]) if ORDER_TITLE in raw.columns else None
    if title is None:
        raise LoadError(
            ", ".join(s.file for s in lo.sources),
            "订单报表 without 宝贝报表 needs 宝贝标题 to name the product; add the 宝贝报表",
            column=ORDER_TITLE,
        )
    lo.reject_missing(title, ORDER_TITLE, "宝贝标题 (no 宝贝报表 given)")
    notes.append(
        "no 宝贝报表 given: one line per order, product = 宝贝标题 (add the 宝贝报表 export "
        "for line-level products and prices)"
    )
    a = np.flatnonzero(lo.alive)
    lines = pd.DataFrame(index=pd.RangeIndex(len(a)))
    oid = orders.oid.iloc[a].reset_index(drop=True)
    lines["order_id"] = oid
    lines["line_id"] = oid.astype("str") + "-1"
    lines["customer_id"] = take(orders.customer, a)
    lines["order_time"] = take(orders.order_time, a)
    lines["paid_time"] = take(orders.paid_time, a)
    lines["product_id"] = take(title, a)
    lines["title"] = take(title, a)
    q = take(qty, a)
    paid = take(orders.paid, a)
    lines["quantity"] = q.astype(np.int64)
    lines["unit_price"] = np.round(paid.to_numpy() / q, 2)
    status, refund = derive_status(
        take(orders.code, a).astype("object"),
        paid,
        take(orders.refund, a),
        lines["paid_time"],
    )
    lines["status"] = status
    lines["paid_amount"] = paid
    lines["refund_amount"] = refund
    lines["province"] = take(orders.province, a)
    lines["city"] = take(orders.city, a)
    lines["device"] = take(orders.device, a)
    lines["channel"] = take(orders.channel, a)
    lines[SOURCE_FILE] = take(raw[SOURCE_FILE], a)
    lines[SOURCE_ROW] = take(raw[SOURCE_ROW], a)
    lines.index = pd.Index(a)
    return Part(fmt, lines, lo, [lo], notes)


def read_item_report(
    sources: Sequence[Source], salt: str, tz: str, currency: str | None = None
) -> Part:
    """The newer per-sub-order report on its own: 子订单编号 = line_id, 主订单编号 = order_id.

    Line payment is 子单实际支付金额 / 买家实付金额 when present (per sub-order), else
    price × quantity; 退款金额 is per sub-order.
    """
    notes: list[str] = []
    full = concat_sources(sources)
    customer, buyer_col = _customer(full, salt)
    if buyer_col is None:
        notes.append(
            f"{', '.join(s.file for s in sources)}: no buyer id column (买家会员名/买家昵称): "
            "customer_id is empty; customer analyses need a buyer id"
        )
    if ADDRESS in full.columns:
        province, city = split_address(full[ADDRESS])
    else:
        province = city = pd.Series(None, index=full.index, dtype="object")
    device = device_from(full)
    raw, dropped = drop_pii(full)
    notes += _pii_note("子订单报表", dropped)
    led = Ledger(raw, "orders", sources)
    led.reject_summary(MAIN_ORDER)
    led.reject_duplicates(full)
    oid = parse_id(raw[MAIN_ORDER])
    led.reject_parsed(oid, MAIN_ORDER, "order id")
    led.note_scientific(raw[MAIN_ORDER], oid.bad)
    led.reject_missing(oid.values, MAIN_ORDER, "order id")
    led.key = oid.values
    led.reject_near_scientific()
    lid = parse_id(raw[SUB_ORDER])
    led.reject_parsed(lid, SUB_ORDER, "sub-order id")
    led.reject_missing(lid.values, SUB_ORDER, "sub-order id")
    led.reject_repeated(lid.values, SUB_ORDER, "sub-order id")
    status_col = pick(raw, *LINE_STATUS)
    code = _reject_status(led, raw[status_col], status_col)
    created = pick(raw, *CREATED)
    paid_at = pick(raw, *PAID_AT)
    pt = parse_datetime(raw[paid_at], tz) if paid_at else None
    if pt is not None:
        led.reject_parsed(pt, paid_at)
    if created:
        ot = parse_datetime(raw[created], tz)
        led.reject_parsed(ot, created)
        order_time = ot.values
        if pt is not None:
            order_time = order_time.where(order_time.notna(), pt.values)
    else:
        order_time = pt.values
    led.reject_missing(order_time, created or paid_at, "order time")
    qty_col = pick(raw, *ITEM_QTY)
    qty = _reject_quantity(led, parse_int(raw[qty_col]), qty_col, signed=True)
    price_col = pick(raw, *ITEM_PRICE)
    price = _reject_money(led, parse_money(raw[price_col], currency=currency), price_col, "price")
    paid_col = pick(raw, *LINE_PAID)
    if paid_col:
        paid = _reject_money(
            led, parse_money(raw[paid_col], currency=currency), paid_col, "payment", signed=True
        )
    else:
        paid = (price * qty).round(2)
        notes.append("子订单报表 has no payment column: line payment = price × quantity")
    refund_col = pick(raw, *REFUND)
    if refund_col:
        rp = parse_money(raw[refund_col], REFUND_ZERO_WORDS, currency)
        refund = _reject_money(led, rp, refund_col, "refund", required=False).fillna(0.0)
        _reject_refund_over_paid(led, refund, paid.abs(), refund_col)
    else:
        refund = pd.Series(0.0, index=raw.index)
    fields = _line_fields(led, raw)
    channel = text_or_none(raw[ORIGIN]) if ORIGIN in raw.columns else None
    led.cascade()

    a = np.flatnonzero(led.alive)
    lines = pd.DataFrame(index=pd.RangeIndex(len(a)))
    lines["order_id"] = take(oid.values, a)
    lines["line_id"] = take(lid.values, a)
    lines["customer_id"] = take(customer, a)
    lines["order_time"] = take(order_time, a)
    paid_time = (
        take(pt.values, a)
        if pt is not None
        else pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns]")
    )
    lines["paid_time"] = paid_time
    for k, v in fields.items():
        lines[k] = take(v, a)
    lines["quantity"] = take(qty, a).astype(np.int64)
    lines["unit_price"] = take(price, a)
    p = take(paid, a)
    status, r = derive_status(take(code, a).astype("object"), p, take(refund, a), paid_time)
    lines["status"] = status
    lines["paid_amount"] = p
    lines["refund_amount"] = r
    lines["province"] = take(province, a)
    lines["city"] = take(city, a)
    lines["device"] = take(device, a)
    lines["channel"] = take(channel, a)
    lines[SOURCE_FILE] = take(raw[SOURCE_FILE], a)
    lines[SOURCE_ROW] = take(raw[SOURCE_ROW], a)
    lines.index = pd.Index(a)
    return Part("taobao_item_report", lines, led, [led], notes)
