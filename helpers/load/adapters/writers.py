"""Canonical orders → realistic exports (the inverse of the readers, for the sample shop).

The files carry the dirt real exports carry (GB18030 text, ``￥`` and thousands separators,
``="…"``-guarded order ids, a trailing 合计 row, Chinese statuses, "+0800" offsets, order fields
on the first Shopify line only, fake buyer names, phones and addresses) so that the readers
are exercised on every run.

What round-trips exactly through :func:`helpers.load.adapters.read_orders`: order and line counts,
quantities, unit prices, statuses, times, order totals and refunds to the cent, and customer
ids (the pseudonym of the buyer nick / e-mail). Line payments round-trip to the cent when they
are what the reader's apportionment gives: Taobao's 宝贝报表 has no line payment, so the order
payment is split by price × quantity (use :func:`helpers.load.adapters.clean.apportion` when
generating); Shopify lines whose payment does not exceed price × quantity round-trip exactly
(the difference is written as ``Lineitem discount``). Orders must keep one status, customer,
time and address across their lines; ``cancelled`` orders have no ``paid_time``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import schema
from helpers.load.adapters import shopify, taobao

__all__ = ["ORDER_REPORT_HEADER", "ITEM_REPORT_HEADER", "write_taobao_classic", "write_shopify"]

ORDER_REPORT_HEADER = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分",
    "总金额", "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言",
    "收货人姓名", "收货地址", "运送方式", "联系电话", "联系手机", "订单创建时间", "订单付款时间",
    "宝贝标题", "宝贝种类", "物流单号", "物流公司", "订单备注", "宝贝总数量", "店铺Id", "店铺名称",
    "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头", "是否手机订单", "分阶段订单信息",
    "特权订金订单id", "是否上传合同照片", "是否上传小票", "是否代付", "定金排名", "修改后的sku",
    "修改后的收货地址", "异常信息", "天猫卡券抵扣", "集分宝抵扣", "是否是O2O交易", "退款金额",
]  # fmt: skip

ITEM_REPORT_HEADER = [
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注",
    "订单状态", "商家编码",
]  # fmt: skip


def _by_unique(s: pd.Series, fmt) -> pd.Series:
    """Format the distinct values only (few prices, many lines), then spread back."""
    codes, uniq = pd.factorize(pd.Series(s), use_na_sentinel=True)
    texts = np.array([fmt(u) for u in uniq] + [""], dtype=object)
    return pd.Series(texts[codes], index=pd.Series(s).index)


def _money(s: pd.Series, sign: str = "") -> pd.Series:
    """``￥1,234.50`` style text (empty for missing)."""
    return _by_unique(pd.Series(s, dtype="float64"), lambda v: f"{sign}{v:,.2f}")


def _plain(s: pd.Series) -> pd.Series:
    return _by_unique(pd.Series(s, dtype="float64"), lambda v: f"{v:.2f}")


def _offset_text(minutes: float) -> str:
    sign = "-" if minutes < 0 else "+"
    m = int(abs(minutes))
    return f"{sign}{m // 60:02d}{m % 60:02d}"


def _time(s: pd.Series, tz: str | None = None) -> pd.Series:
    """``2025-01-03 12:00:00`` (with `` +0800`` when ``tz`` is given); empty for NaT."""
    t = pd.to_datetime(pd.Series(s)).astype("datetime64[s]")
    text = np.datetime_as_string(t.to_numpy(), unit="s").astype(object)
    out = pd.Series(text, index=t.index).str.replace("T", " ", regex=False)
    if tz:
        loc = t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        off = loc.dt.tz_localize(None) - loc.dt.tz_convert("UTC").dt.tz_localize(None)
        out = out + " " + _by_unique(off.dt.total_seconds() / 60, _offset_text)
    return out.where(t.notna().to_numpy(), "").astype(object)


def _text(s: pd.Series | None, n: int) -> pd.Series:
    if s is None:
        return pd.Series([""] * n, dtype="object")
    return pd.Series(s).astype("object").where(pd.Series(s).notna(), "").astype(str)


def _pii_for(orders: pd.DataFrame, pii: pd.DataFrame) -> pd.DataFrame:
    """The fake personal data of each order line's customer (empty strings when unknown)."""
    cols = ["buyer_nick", "name", "phone", "address", "email"]
    p = pii.drop_duplicates("customer_id").set_index("customer_id")
    out = pd.DataFrame(index=orders.index)
    cid = orders["customer_id"]
    for c in cols:
        if c in p.columns:
            out[c] = cid.map(p[c]).fillna("").astype(str).to_numpy()
        else:
            out[c] = ""
    no_mail = out["email"] == ""
    out.loc[no_mail, "email"] = (cid[no_mail].astype(str) + "@example.com").where(
        cid[no_mail].notna(), ""
    )
    return out


def _joined(titles: pd.Series, order_id: pd.Series) -> list[str]:
    """Titles of each order joined with ``，`` (lines are grouped by order, in order)."""
    t = titles.fillna("").astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, order_id.to_numpy()[1:] != order_id.to_numpy()[:-1]])
    return ["，".join(x for x in chunk if x) for chunk in np.split(t, starts[1:])]


def _grouped(orders: pd.DataFrame) -> pd.DataFrame:
    """Lines sorted so each order's lines are together, orders in first-appearance order."""
    o = orders.reset_index(drop=True)
    rank = pd.factorize(o["order_id"])[0]
    return o.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)


def write_taobao_classic(
    orders: pd.DataFrame,
    pii: pd.DataFrame,
    out_dir: str | Path,
    order_file: str = "订单报表.csv",
    item_file: str = "宝贝报表.csv",
) -> list[Path]:
    """Write a Taobao classic 订单报表 + 宝贝报表 pair (GB18030) from canonical orders.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders (see :mod:`helpers.core.schema`); ``customer_id`` is the key into ``pii``.
    pii : pandas.DataFrame
        Fake personal data: ``customer_id``, ``buyer_nick`` (→ 买家会员名, the id the reader
        pseudonymises), ``name`` (收货人姓名), ``phone`` (联系手机), ``address`` (street part;
        the written 收货地址 is ``<province> <city> <address>``).
    out_dir : str or Path
        Folder (created if needed).
    order_file, item_file : str
        File names.

    Returns
    -------
    list of Path
        The 订单报表 and 宝贝报表 paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = _grouped(schema.conform(orders, "orders"))
    people = _pii_for(lines, pii)
    gross = lines["unit_price"] * lines["quantity"]
    g = lines.groupby("order_id", sort=False)
    agg = pd.DataFrame(
        {
            "paid": g["paid_amount"].sum().round(2),
            "refund": g["refund_amount"].sum().round(2),
            "gross": gross.groupby(lines["order_id"], sort=False).sum().round(2),
            "qty": g["quantity"].sum(),
            "kinds": g.size(),
            "titles": _joined(lines["title"], lines["order_id"]),
        }
    )
    head = lines.drop_duplicates("order_id").set_index("order_id").loc[agg.index]
    hp = people.loc[lines.drop_duplicates("order_id").index].set_index(agg.index)
    n = len(agg)
    status = head["status"].map(taobao.CANONICAL_TO_CHINESE).fillna("交易成功")
    ids = pd.Series(agg.index, dtype="object").astype(str)
    address = (
        _text(head["province"], n).to_numpy()
        + " "
        + _text(head["city"], n).to_numpy()
        + " "
        + hp["address"].to_numpy()
    )
    closed_reason = np.where(
        head["status"] == "refunded",
        "买家申请退款",
        np.where(head["status"] == "cancelled", "买家不想买了", ""),
    )
    orep = pd.DataFrame("", index=range(n), columns=ORDER_REPORT_HEADER)
    orep["订单编号"] = ('="' + ids + '"').to_numpy()
    orep["买家会员名"] = hp["buyer_nick"].to_numpy()
    orep["买家支付宝账号"] = hp["phone"].str.replace(
        r"^(\d{3})\d+(\d{4})$", r"\1****\2", regex=True
    )
    orep["买家应付货款"] = _money(agg["gross"], "￥").to_numpy()
    orep["买家应付邮费"] = "0.00"
    orep["买家支付积分"] = "0"
    orep["总金额"] = _money(agg["paid"], "￥").to_numpy()
    orep["返点积分"] = "0"
    orep["买家实际支付金额"] = _money(agg["paid"], "￥").to_numpy()
    orep["买家实际支付积分"] = "0"
    orep["订单状态"] = status.to_numpy()
    orep["收货人姓名"] = hp["name"].to_numpy()
    orep["收货地址"] = pd.Series(address).str.strip().to_numpy()
    orep["运送方式"] = "快递"
    orep["联系手机"] = ("'" + hp["phone"]).where(hp["phone"] != "", "").to_numpy()
    orep["订单创建时间"] = _time(head["order_time"]).to_numpy()
    orep["订单付款时间"] = _time(head["paid_time"]).to_numpy()
    orep["宝贝标题"] = agg["titles"].to_numpy()
    orep["宝贝种类"] = agg["kinds"].astype(str).to_numpy()
    orep["宝贝总数量"] = agg["qty"].astype(str).to_numpy()
    orep["订单关闭原因"] = closed_reason
    orep["卖家服务费"] = "0.00"
    orep["买家服务费"] = "0.00"
    orep["是否手机订单"] = np.where(head["device"].to_numpy() == "mobile", "手机订单", "")
    orep["是否代付"] = "否"
    orep["是否是O2O交易"] = "否"
    orep["退款金额"] = _plain(agg["refund"]).to_numpy()
    total = pd.DataFrame("", index=[0], columns=ORDER_REPORT_HEADER)
    total["订单编号"] = "合计"
    total["买家实际支付金额"] = _money(pd.Series([agg["paid"].sum()]), "￥").to_numpy()
    total["宝贝总数量"] = str(int(agg["qty"].sum()))
    orep = pd.concat([orep, total], ignore_index=True)

    m = len(lines)
    irep = pd.DataFrame("", index=range(m), columns=ITEM_REPORT_HEADER)
    irep["订单编号"] = ('="' + lines["order_id"].astype(str) + '"').to_numpy()
    irep["标题"] = _text(lines["title"], m).to_numpy()
    irep["价格"] = _money(lines["unit_price"], "￥").to_numpy()
    irep["购买数量"] = lines["quantity"].astype(int).astype(str).to_numpy()
    irep["商品属性"] = _text(lines["sku"], m).to_numpy()
    irep["订单状态"] = (
        lines["status"].map(taobao.CANONICAL_TO_CHINESE).fillna("交易成功").to_numpy()
    )
    irep["商家编码"] = lines["product_id"].astype(str).to_numpy()
    itotal = pd.DataFrame("", index=[0], columns=ITEM_REPORT_HEADER)
    itotal["订单编号"] = "合计"
    itotal["购买数量"] = str(int(lines["quantity"].sum()))
    irep = pd.concat([irep, itotal], ignore_index=True)

    paths = [out / order_file, out / item_file]
    for frame, path in zip((orep, irep), paths, strict=True):
        frame.to_csv(path, index=False, encoding="gb18030", lineterminator="\r\n")
    return paths


def write_shopify(
    orders: pd.DataFrame,
    pii: pd.DataFrame,
    path: str | Path,
    tz: str = "Asia/Shanghai",
    currency: str = "CNY",
) -> Path:
    """Write a Shopify Orders CSV (UTF-8, Shopify's full header) from canonical orders.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders; ``customer_id`` is the key into ``pii``.
    pii : pandas.DataFrame
        ``customer_id``, ``name``, ``phone``, ``address`` and optionally ``email`` (default
        ``<customer_id>@example.com``): the e-mail is what the reader pseudonymises.
    path : str or Path
        The CSV to write (its folder is created if needed).
    tz : str
        The shop timezone: times are written with its UTC offset (``+0800``).
    currency : str
        ISO currency code for the Currency column.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = _grouped(schema.conform(orders, "orders"))
    people = _pii_for(lines, pii)
    m = len(lines)
    oid = lines["order_id"].astype(str)
    first = ~lines["order_id"].duplicated()
    gross = (lines["unit_price"] * lines["quantity"]).round(2)
    disc = (gross - lines["paid_amount"]).clip(lower=0).round(2)
    extra = (lines["paid_amount"] - gross).clip(lower=0)
    by = lines["order_id"]
    net = gross - disc
    order_sum = {
        "Subtotal": net.groupby(by, sort=False).transform("sum"),
        "Shipping": extra.groupby(by, sort=False).transform("sum"),
        "Total": lines["paid_amount"].groupby(by, sort=False).transform("sum"),
        "Discount Amount": disc.groupby(by, sort=False).transform("sum"),
        "Refunded Amount": lines["refund_amount"].groupby(by, sort=False).transform("sum"),
    }
    status = lines["status"]
    cancelled = status == "cancelled"
    created = _time(lines["order_time"], tz)
    df = pd.DataFrame("", index=range(m), columns=shopify.HEADER)
    df["Name"] = ("#" + oid).to_numpy()
    order_level = {
        "Email": people["email"],
        "Financial Status": status.map(shopify.CANONICAL_TO_FINANCIAL).fillna("paid"),
        "Paid at": _time(lines["paid_time"], tz),
        "Fulfillment Status": np.where(
            status.isin(["paid", "partially_refunded"]), "fulfilled", "unfulfilled"
        ),
        "Accepts Marketing": "no",
        "Currency": currency,
        "Subtotal": _plain(order_sum["Subtotal"]),
        "Shipping": _plain(order_sum["Shipping"]),
        "Taxes": "0.00",
        "Total": _plain(order_sum["Total"]),
        "Discount Amount": _plain(order_sum["Discount Amount"]),
        "Shipping Method": "Standard",
        "Created at": created,
        "Billing Name": people["name"],
        "Billing Address1": people["address"],
        "Billing Street": people["address"],
        "Billing City": _text(lines["city"], m),
        "Billing Province": _text(lines["province"], m),
        "Billing Country": "CN",
        "Billing Phone": people["phone"],
        "Shipping Name": people["name"],
        "Shipping Street": people["address"],
        "Shipping Address1": people["address"],
        "Shipping City": _text(lines["city"], m),
        "Shipping Province": _text(lines["province"], m),
        "Shipping Country": "CN",
        "Shipping Phone": people["phone"],
        "Cancelled at": created.where(cancelled.to_numpy(), ""),
        "Payment Method": "Alipay",
        "Refunded Amount": _plain(order_sum["Refunded Amount"]),
        "Outstanding Balance": "0.00",
        "Id": (pd.Series(pd.factorize(lines["order_id"])[0]) + 5_000_000_000_001).astype(str),
        "Risk Level": "Low",
        "Source": _text(lines["channel"], m).replace("", "web"),
        "Phone": people["phone"],
        "Billing Province Name": _text(lines["province"], m),
        "Shipping Province Name": _text(lines["province"], m),
    }
    fm = first.to_numpy()
    for col, values in order_level.items():
        v = pd.Series(values, index=range(m)) if not isinstance(values, str) else None
        df.loc[fm, col] = values if v is None else v.to_numpy()[fm]
    df["Lineitem quantity"] = lines["quantity"].astype(int).astype(str).to_numpy()
    df["Lineitem name"] = _text(lines["title"], m).to_numpy()
    df["Lineitem price"] = _plain(lines["unit_price"]).to_numpy()
    df["Lineitem sku"] = lines["product_id"].astype(str).to_numpy()
    df["Lineitem requires shipping"] = "true"
    df["Lineitem taxable"] = "false"
    df["Lineitem fulfillment status"] = np.where(
        status.isin(["paid", "partially_refunded"]), "fulfilled", "pending"
    )
    df["Lineitem discount"] = _plain(disc).to_numpy()
    df.to_csv(path, index=False, encoding="utf-8")
    return path
