"""Onboarding an export nobody described yet: propose a column mapping, infer money and place.

Load layer. ``playbook new-shop`` reads the exports' headers and a sample of their values and
proposes what ``shop.yaml`` should say; nothing here reads more than a sample, and nothing
decides silently: every guess carries its evidence and a confidence, written next to it as a
comment in the generated ``shop.yaml``.

Public API
----------
:func:`propose_mapping`
    ``{canonical column: file column}`` for an orders export whose headers are not a built-in
    format, from English and Chinese synonyms (case, spaces and punctuation ignored), each
    guess checked against the values (dates? money? ids?).
:func:`infer_currency`, :func:`infer_timezone`, :func:`infer_market`
    The shop's currency, IANA timezone and market (ISO country code), each with its evidence.
:func:`norm_header`
    The form headers are compared in.

Above 600 lines: new-shop's proposals: synonym tables and the value checks they are scored with.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.core import calendar as cal
from helpers.load.adapters.clean import (
    CURRENCY_MARKERS,
    is_pii,
    normalise_text,
    parse_datetime,
    parse_id,
    parse_int,
    parse_money,
)

__all__ = [
    "SAMPLE",
    "SYNONYMS",
    "CURRENCY_HEADERS",
    "COUNTRY_HEADERS",
    "KIND",
    "CURRENCY_HOME",
    "COUNTRY_HOME",
    "COUNTRY_NAMES",
    "norm_header",
    "Guess",
    "Proposal",
    "values_fit",
    "propose_mapping",
    "Inferred",
    "infer_currency",
    "infer_timezone",
    "infer_market",
]

SAMPLE = 500  # rows whose values are checked

# canonical orders column -> header synonyms, most specific first (compared by norm_header)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order_id",
        "orderid",
        "invoiceno",
        "invoice",
        "invoice_number",
        "invoiceid",
        "order_no",
        "order_number",
        "ordernumber",
        "order",
        "orderref",
        "transaction_id",
        "transactionno",
        "receipt_no",
        "receiptid",
        "ticketid",
        "bill_no",
        "订单号",
        "订单编号",
        "订单id",
        "主订单编号",
        "子订单编号",
        "单号",
        "交易号",
        "交易单号",
        "发票号",
        "小票号",
        "流水号",
    ),
    "customer_id": (
        "customer_id",
        "customerid",
        "customer",
        "customer_no",
        "customernumber",
        "customer_code",
        "client_id",
        "clientid",
        "client",
        "member_id",
        "memberid",
        "member",
        "buyer_id",
        "buyerid",
        "buyer",
        "user_id",
        "userid",
        "account_id",
        "shopper_id",
        "会员",
        "会员id",
        "会员号",
        "会员编号",
        "会员卡号",
        "客户",
        "客户id",
        "客户编号",
        "客户号",
        "买家id",
        "买家",
        "买家会员名",
        "顾客id",
        "顾客",
        "用户id",
        "用户",
    ),
    "order_time": (
        "order_time",
        "ordertime",
        "invoicedate",
        "invoice_date",
        "order_date",
        "orderdate",
        "order_datetime",
        "created_at",
        "createdat",
        "created",
        "purchase_date",
        "purchasedate",
        "transaction_date",
        "transactiontime",
        "sale_date",
        "saledate",
        "datetime",
        "timestamp",
        "date",
        "time",
        "下单时间",
        "订单时间",
        "创建时间",
        "订单创建时间",
        "下单日期",
        "交易时间",
        "交易日期",
        "销售日期",
        "购买时间",
        "日期",
        "时间",
    ),
    "paid_time": (
        "paid_time",
        "paid_at",
        "paidat",
        "payment_date",
        "payment_time",
        "paid_date",
        "付款时间",
        "支付时间",
        "付款日期",
    ),
    "quantity": (
        "quantity",
        "qty",
        "quantity_sold",
        "units",
        "unit_count",
        "units_sold",
        "pieces",
        "count",
        "数量",
        "购买数量",
        "商品数量",
        "宝贝数量",
        "件数",
        "销量",
        "销售数量",
    ),
    "unit_price": (
        "unit_price",
        "unitprice",
        "price_each",
        "price",
        "item_price",
        "sale_price",
        "selling_price",
        "lineitem_price",
        "单价",
        "商品单价",
        "销售单价",
        "价格",
        "商品价格",
        "售价",
    ),
    "paid_amount": (
        "paid_amount",
        "amount_paid",
        "amount",
        "total",
        "total_amount",
        "line_total",
        "order_total",
        "grand_total",
        "total_price",
        "totalprice",
        "sales",
        "sales_amount",
        "revenue",
        "net_sales",
        "monetary",
        "value",
        "payment",
        "实付",
        "实付金额",
        "买家实付",
        "买家实付金额",
        "实收金额",
        "支付金额",
        "付款金额",
        "成交金额",
        "销售额",
        "销售金额",
        "金额",
        "总金额",
        "订单金额",
        "应付金额",
    ),
    "refund_amount": (
        "refund_amount",
        "refund",
        "refunded",
        "refunded_amount",
        "退款金额",
        "退款",
        "退款额",
    ),
    "product_id": (
        "product_id",
        "productid",
        "stockcode",
        "stock_code",
        "sku",
        "item_id",
        "itemid",
        "item_code",
        "product_code",
        "productcode",
        "article",
        "article_no",
        "variant_sku",
        "lineitem_sku",
        "商品编码",
        "商品id",
        "商品编号",
        "商家编码",
        "宝贝id",
        "货号",
        "款号",
        "商品货号",
        "sku编码",
    ),
    "title": (
        "title",
        "description",
        "product_name",
        "productname",
        "item_name",
        "itemname",
        "product",
        "item",
        "product_title",
        "lineitem_name",
        "商品名称",
        "商品标题",
        "宝贝标题",
        "宝贝名称",
        "品名",
        "商品",
        "标题",
        "名称",
    ),
    "province": (
        "province",
        "state",
        "region",
        "country",
        "billing_province",
        "shipping_province",
        "省份",
        "省",
        "收货省份",
        "地区",
        "国家",
    ),
    "city": ("city", "town", "shipping_city", "billing_city", "城市", "市", "收货城市"),
    "status": (
        "status",
        "order_status",
        "financial_status",
        "payment_status",
        "订单状态",
        "状态",
        "交易状态",
    ),
    "channel": ("channel", "sales_channel", "source", "渠道", "来源", "销售渠道"),
}

CURRENCY_HEADERS = ("currency", "currency_code", "currencycode", "币种", "货币", "结算币种")
COUNTRY_HEADERS = (
    "country",
    "billing_country",
    "shipping_country",
    "country_code",
    "market",
    "国家",
    "地区",
)

# what each canonical column's values must look like: kind checked by _values_fit
KIND = {
    "order_id": "id",
    "customer_id": "id",
    "order_time": "time",
    "paid_time": "time",
    "quantity": "int",
    "unit_price": "money",
    "paid_amount": "money",
    "refund_amount": "money",
    "product_id": "id",
    "title": "text",
    "province": "text",
    "city": "text",
    "status": "text",
    "channel": "text",
}

# currency -> (main market, its timezone): where a shop in that currency most likely sells
CURRENCY_HOME: dict[str, tuple[str, str]] = {
    "CNY": ("CN", "Asia/Shanghai"),
    "USD": ("US", "America/New_York"),
    "GBP": ("GB", "Europe/London"),
    "EUR": ("DE", "Europe/Berlin"),
    "JPY": ("JP", "Asia/Tokyo"),
    "HKD": ("HK", "Asia/Hong_Kong"),
    "TWD": ("TW", "Asia/Taipei"),
    "CAD": ("CA", "America/Toronto"),
    "AUD": ("AU", "Australia/Sydney"),
    "SGD": ("SG", "Asia/Singapore"),
}

# country (ISO code) -> (currency, timezone)
COUNTRY_HOME: dict[str, tuple[str, str]] = {
    "CN": ("CNY", "Asia/Shanghai"),
    "US": ("USD", "America/New_York"),
    "GB": ("GBP", "Europe/London"),
    "DE": ("EUR", "Europe/Berlin"),
    "FR": ("EUR", "Europe/Paris"),
    "IT": ("EUR", "Europe/Rome"),
    "ES": ("EUR", "Europe/Madrid"),
    "NL": ("EUR", "Europe/Amsterdam"),
    "IE": ("EUR", "Europe/Dublin"),
    "JP": ("JPY", "Asia/Tokyo"),
    "HK": ("HKD", "Asia/Hong_Kong"),
    "TW": ("TWD", "Asia/Taipei"),
    "CA": ("CAD", "America/Toronto"),
    "AU": ("AUD", "Australia/Sydney"),
    "SG": ("SGD", "Asia/Singapore"),
}

# country names and codes as exports write them (compared by norm_header) -> ISO code
COUNTRY_NAMES: dict[str, str] = {
    **{c.lower(): c for c in COUNTRY_HOME},
    "china": "CN",
    "中国": "CN",
    "中国大陆": "CN",
    "prc": "CN",
    "unitedstates": "US",
    "unitedstatesofamerica": "US",
    "usa": "US",
    "美国": "US",
    "unitedkingdom": "GB",
    "uk": "GB",
    "greatbritain": "GB",
    "england": "GB",
    "英国": "GB",
    "germany": "DE",
    "deutschland": "DE",
    "德国": "DE",
    "france": "FR",
    "法国": "FR",
    "italy": "IT",
    "italia": "IT",
    "spain": "ES",
    "españa": "ES",
    "netherlands": "NL",
    "eire": "IE",
    "ireland": "IE",
    "japan": "JP",
    "日本": "JP",
    "hongkong": "HK",
    "香港": "HK",
    "taiwan": "TW",
    "台湾": "TW",
    "canada": "CA",
    "australia": "AU",
    "singapore": "SG",
}

# Chinese provinces (as order exports write them): a province column of these means CN
_CN_PROVINCES = (
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
)

# timezones tried for a UTC offset seen in timestamps, after the market's own
_OFFSET_ZONES = (
    "Asia/Shanghai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Singapore",
    "Asia/Kolkata",
    "UTC",
)

_CJK = re.compile(r"[\u4e00-\u9fff]")


def norm_header(h: object) -> str:
    """A header as compared: NFKC, lower case, without spaces, punctuation or underscores
    (``Order ID``, ``order_id``, ``ORDER-ID``, ``ＯｒｄｅｒＩＤ`` → ``orderid``)."""
    t = unicodedata.normalize("NFKC", str(h)).lower()
    return "".join(ch for ch in t if ch.isalnum())


_NORM_SYNONYMS = {c: tuple(dict.fromkeys(norm_header(s) for s in v)) for c, v in SYNONYMS.items()}


@dataclass
class Guess:
    """One proposed mapping: canonical column, file column, how sure, and why."""

    canonical: str
    column: str
    confidence: str  # high / medium / low
    why: str


@dataclass
class Proposal:
    """What :func:`propose_mapping` found: the guesses and the headers left unmapped."""

    guesses: list[Guess]
    unmapped: list[str]  # file columns no canonical column was given
    missing: list[str]  # canonical columns that matter and were not found
    rejected: list[str]  # guesses dropped because the values did not fit, one line each

    @property
    def mapping(self) -> dict[str, str]:
        return {g.canonical: g.column for g in self.guesses}


def _sample(raw: pd.DataFrame, col: str) -> pd.Series:
    s = raw[col].astype("str")
    s = s[normalise_text(s) != ""]
    return s.head(SAMPLE)


def _share_ok(bad: pd.Series, n: int) -> float:
    return 1.0 - float(np.asarray(bad).sum()) / n if n else 0.0


def values_fit(raw: pd.DataFrame, col: str, kind: str) -> tuple[bool, str]:
    """Whether the sampled values of ``col`` look like ``kind`` (id/time/int/money/text),
    with the evidence in a few words."""
    s = _sample(raw, col)
    n = len(s)
    if n == 0:
        return False, "column is empty"
    if kind == "time":
        p = parse_datetime(s, None)
        ok = _share_ok(p.bad | p.values.isna(), n)
        if ok < 0.9 and s.str.match(r"\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b").mean() >= 0.5:
            return False, (
                f"dates written day or month first ('{s.iloc[0]}') are ambiguous and not "
                "read: save the column as YYYY-MM-DD"
            )
        return ok >= 0.9, f"{ok:.0%} of values are dates"
    if kind == "int":
        p = parse_int(s)
        ok = _share_ok(p.bad | p.values.isna(), n)
        return ok >= 0.9, f"{ok:.0%} of values are whole numbers"
    if kind == "money":
        p = parse_money(s)
        ok = _share_ok(p.bad | p.values.isna(), n)
        return ok >= 0.9, f"{ok:.0%} of values are amounts"
    if kind == "id":
        dates = parse_datetime(s, None)
        as_date = _share_ok(dates.bad | dates.values.isna(), n)
        if as_date >= 0.9 and s.str.contains(r"[-/年:]", regex=True).mean() > 0.5:
            return False, "values are dates, not ids"
        frac = s.str.fullmatch(r"-?\d*\.\d*[1-9]\d*").mean()
        if frac > 0.5:
            return False, "values are decimal numbers, not ids"
        p = parse_id(s)
        ok = _share_ok(p.bad, n)
        return ok >= 0.9, f"{ok:.0%} of values are ids"
    return True, "text"


def _name_score(header: str, canonical: str) -> tuple[int, str] | None:
    """(score, evidence) of a header as ``canonical``: exact synonym beats containment."""
    h = norm_header(header)
    if not h:
        return None
    syns = _NORM_SYNONYMS[canonical]
    if h in syns:
        rank = syns.index(h)
        return 100 - min(rank, 50), f"'{header}' is a name for {canonical}"
    for s in syns:  # 'Invoice Date (UTC)', '商品编码(SKU)': a synonym inside a longer header
        if len(s) >= (2 if _CJK.search(s) else 4) and s in h:
            return 40 - min(syns.index(s), 30) // 2, f"'{header}' contains '{s}'"
    return None


def propose_mapping(raw: pd.DataFrame) -> Proposal:
    """Propose ``{canonical: file column}`` for an orders export from its headers and values.

    Parameters
    ----------
    raw : DataFrame
        The export as text (:func:`helpers.load.adapters.clean.read_raw`); columns starting with
        ``_`` (the loader's bookkeeping) are ignored.

    Returns
    -------
    Proposal
        Each guess with its confidence (``high``: the header is a listed name and the values
        fit; ``medium``: the header contains a listed name, or a listed name with values
        mostly fitting; ``low``: found by its values alone) and the evidence; the headers
        left unmapped; the canonical columns that matter and were not found; the guesses
        dropped because their values did not fit.
    """
    headers = [c for c in raw.columns if not str(c).startswith("_")]
    cands: list[tuple[int, str, str, str]] = []  # (score, canonical, header, evidence)
    for h in headers:
        for canon in SYNONYMS:
            got = _name_score(h, canon)
            if got:
                cands.append((got[0], canon, h, got[1]))
    cands.sort(key=lambda c: (-c[0], list(SYNONYMS).index(c[1]), headers.index(c[2])))
    taken_c: set[str] = set()
    taken_h: set[str] = set()
    guesses: list[Guess] = []
    rejected: list[str] = []
    tried: set[tuple[str, str]] = set()
    for score, canon, h, why in cands:
        if canon in taken_c or h in taken_h or (canon, h) in tried:
            continue
        tried.add((canon, h))
        if is_pii(h) and canon not in ("customer_id", "province", "city"):
            continue
        fits, evidence = values_fit(raw, h, KIND[canon])
        if not fits:
            rejected.append(f"{h} → {canon}? no: {evidence}")
            continue
        conf = "high" if score >= 60 else "medium"
        guesses.append(Guess(canon, h, conf, f"{why}; {evidence}"))
        taken_c.add(canon)
        taken_h.add(h)
    # by values alone: the order time is the one column nothing else can stand in for
    if "order_time" not in taken_c and "paid_time" not in taken_c:
        for h in headers:
            if h in taken_h:
                continue
            fits, evidence = values_fit(raw, h, "time")
            if fits:
                guesses.append(Guess("order_time", h, "low", f"by its values: {evidence}"))
                taken_c.add("order_time")
                taken_h.add(h)
                break
    order = list(SYNONYMS)
    guesses.sort(key=lambda g: order.index(g.canonical))
    have = {g.canonical for g in guesses}
    missing = []
    if not have & {"order_time", "paid_time"}:
        missing.append("order_time")
    if not have & {"paid_amount", "unit_price"}:
        missing.append("paid_amount")
    if not have & {"order_id", "customer_id"}:
        missing.append("order_id")
    for c in ("customer_id", "product_id"):
        if c not in have and not (c == "product_id" and "title" in have):
            missing.append(c)
    unmapped = [h for h in headers if h not in taken_h]
    return Proposal(guesses, unmapped, missing, rejected)


# --------------------------------------------------------------------------------------------
# money and place
# --------------------------------------------------------------------------------------------


@dataclass
class Inferred:
    """An inferred setting and the evidence for it (written as its comment)."""

    value: str
    evidence: str
    sure: bool = True


def _find(headers, names) -> str | None:
    want = {norm_header(n) for n in names}
    return next((h for h in headers if norm_header(h) in want), None)


def _codes_in(texts: pd.Series) -> Counter:
    """ISO codes of the currency markers in texts (one per text, the first marker found)."""
    found: Counter = Counter()
    t = normalise_text(texts.astype("str"))
    left = pd.Series(True, index=t.index)
    for pattern, iso in CURRENCY_MARKERS:
        hit = t.str.contains("(?i)" + pattern, regex=True) & left
        if hit.any():
            found[iso] += int(hit.sum())
            left &= ~hit
    return found


def infer_currency(
    raw: pd.DataFrame, mapping: dict[str, str] | None = None, default: str | None = None
) -> Inferred:
    """The shop's currency from a Currency column, the signs or words in money cells and
    headers (``¥ ￥ 元 CNY``, ``$ USD``, ``£ GBP``, ``€ EUR``…), then the country column.

    Parameters
    ----------
    raw : DataFrame
        The export as text.
    mapping : dict, optional
        ``{canonical: file column}``: its money columns are the ones whose cells are read.
    default : str, optional
        Currency when nothing in the file says (else CNY for Chinese headers, USD otherwise).
    """
    headers = [c for c in raw.columns if not str(c).startswith("_")]
    cur_col = _find(headers, CURRENCY_HEADERS)
    if cur_col is not None:
        v = normalise_text(_sample(raw, cur_col)).str.upper()
        v = v[v.str.fullmatch(r"[A-Z]{3}")]
        if len(v):
            top = v.value_counts()
            code = "CNY" if top.index[0] == "RMB" else str(top.index[0])
            return Inferred(
                code, f"column '{cur_col}' says {code} in {top.iloc[0] / len(v):.0%} of rows"
            )
    money = [
        mapping[c]
        for c in ("paid_amount", "unit_price", "refund_amount")
        if mapping and c in mapping
    ] or [
        h
        for h in headers
        if any(norm_header(h) in _NORM_SYNONYMS[c] for c in ("paid_amount", "unit_price"))
    ]
    found: Counter = Counter()
    for h in money:
        found += _codes_in(_sample(raw, h))
    if found:
        code, n = found.most_common(1)[0]
        return Inferred(code, f"currency marks in the amounts ({n} cells in {code})")
    found = _codes_in(pd.Series([str(h) for h in headers]))
    if found:
        code, _ = found.most_common(1)[0]
        return Inferred(code, f"a currency mark in the headers ({code})")
    market = infer_market(raw, mapping)
    if market.sure and market.value in COUNTRY_HOME:
        code = COUNTRY_HOME[market.value][0]
        return Inferred(code, f"the market, {market.value} ({market.evidence})", sure=False)
    if default:
        return Inferred(default.upper(), "given with --currency")
    if any(_CJK.search(str(h)) for h in headers):
        return Inferred("CNY", "no currency in the file; Chinese headers", sure=False)
    for h in headers:  # Chinese names, titles or places in the values
        v = _sample(raw, h)
        if len(v) and v.str.contains(_CJK.pattern, regex=True).mean() >= 0.5:
            return Inferred("CNY", f"no currency in the file; Chinese text in '{h}'", sure=False)
    return Inferred("USD", "no currency in the file: USD assumed, check it", sure=False)


def _offsets(raw: pd.DataFrame, col: str) -> tuple[Counter, list[tuple[pd.Timestamp, int]]]:
    """UTC offsets (minutes) written in a time column, and (local time, offset) samples."""
    s = normalise_text(_sample(raw, col))
    m = s.str.extract(r"(?:[T\s\d])(Z|[+-]\d{2}:?\d{2})$")[0].dropna()
    if m.empty:
        return Counter(), []
    o = m.str.replace(":", "", regex=False).where(m != "Z", "+0000")
    sign = np.where(o.str.slice(0, 1) == "-", -1, 1)
    minutes = sign * (o.str.slice(1, 3).astype(int) * 60 + o.str.slice(3, 5).astype(int))
    local = parse_datetime(s[m.index].str.slice(0, 19), None).values
    pairs = [(t, int(mi)) for t, mi in zip(local, minutes, strict=True) if pd.notna(t)]
    return Counter(int(x) for x in minutes), pairs


def _zone_fits(zone: str, pairs: list[tuple[pd.Timestamp, int]]) -> bool:
    z = zoneinfo.ZoneInfo(zone)
    for t, minutes in pairs:
        off = t.to_pydatetime().replace(tzinfo=z).utcoffset()
        if off is None or int(off.total_seconds() // 60) != minutes:
            return False
    return True


def infer_timezone(
    raw: pd.DataFrame,
    mapping: dict[str, str] | None,
    currency: str,
    market: str | None = None,
    time_col: str | None = None,
) -> Inferred:
    """The shop's IANA timezone: the zone whose UTC offsets match those written in the
    timestamps (summer and winter time alike; the market's own zone first), else the main
    market's zone (``market``, else the currency's)."""
    col = time_col or (mapping or {}).get("order_time") or (mapping or {}).get("paid_time")
    home = (
        COUNTRY_HOME.get(market or "", (None, None))[1]
        or CURRENCY_HOME.get(currency, (None, "Asia/Shanghai"))[1]
    )
    if col and col in raw.columns:
        counts, pairs = _offsets(raw, col)
        if pairs:
            shown = ", ".join(
                f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
                for m, _ in counts.most_common(2)
            )
            for zone in (home, *_OFFSET_ZONES):
                if _zone_fits(zone, pairs):
                    return Inferred(zone, f"UTC offsets {shown} in '{col}'")
            m = counts.most_common(1)[0][0]
            if m % 60 == 0:  # a fixed offset no listed zone fits: Etc/GMT (sign reversed)
                h = -m // 60
                zone = "UTC" if h == 0 else f"Etc/GMT{'+' if h > 0 else '-'}{abs(h)}"
                return Inferred(zone, f"UTC offset {shown} in '{col}'", sure=False)
    why = f"market {market}" if market in COUNTRY_HOME else f"the main market of {currency}"
    return Inferred(home, f"no UTC offset in the times: {why}", sure=False)


def infer_market(
    raw: pd.DataFrame, mapping: dict[str, str] | None = None, currency: str | None = None
) -> Inferred:
    """The shop's market as an ISO country code (CN, GB, US, DE, FR…).

    From a country column (its most common value, ≥ 50% of rows), Chinese province names,
    else the currency's main market (``sure`` False). Unknown country names are left to the
    currency.
    """
    headers = [c for c in raw.columns if not str(c).startswith("_")]
    col = _find(headers, COUNTRY_HEADERS)
    if col is None and mapping and "province" in mapping:
        col = mapping["province"]
    if col is not None:
        v = normalise_text(_sample(raw, col))
        if len(v):
            codes = v.map(lambda x: COUNTRY_NAMES.get(norm_header(x)))
            cn = v.str.startswith(_CN_PROVINCES)
            codes = codes.where(codes.notna() | ~cn, "CN").dropna()
            if len(codes):
                top = codes.value_counts()
                share = top.iloc[0] / len(v)
                if share >= 0.5:
                    return Inferred(
                        str(top.index[0]),
                        f"column '{col}': {top.index[0]} in {share:.0%} of rows",
                    )
    if currency:  # the calendar's own currency -> market table (markets.yaml)
        code, _ = cal.market_of(currency.upper(), None)
        return Inferred(code, f"the main market of {currency.upper()}", sure=False)
    return Inferred("", "no country in the file", sure=False)
