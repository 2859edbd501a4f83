"""Export formats → canonical tables: detection, Taobao, Shopify, mappings, round trips.

Every fixture is written by the test itself (tmp_path), dirt included, and every expected
value below was worked out by hand.
"""

from __future__ import annotations

import hashlib
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from helpers.core import schema
from helpers.core.errors import LoadError
from helpers.load.adapters import (
    FORMATS,
    detect,
    read_orders,
    read_table,
    write_shopify,
    write_taobao_classic,
)
from helpers.load.adapters.clean import apportion, pseudonymise
from helpers.load.adapters.shopify import HEADER as SHOPIFY_HEADER
from helpers.load.adapters.taobao import derive_status, map_status

SALT = "test-salt"
A, B, C, D, E = (f"512345678901234567{i}" for i in range(1, 6))
G, H, J = "5123456789012345677", "5123456789012345678", "5123456789012345680"
ORPHAN = "5123456789012345679"


def h(value: str) -> str:
    """The pseudonym the adapters must produce (salted SHA-256, 16 hex)."""
    return hashlib.sha256(f"{SALT}:{value}".encode()).hexdigest()[:16]


def csv_text(rows: list[list[str]]) -> str:
    def cell(v: str) -> str:
        if v.startswith('="'):
            return v  # Taobao writes its id guard unquoted
        return '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v or "\n" in v) else v

    return "".join(",".join(cell(v) for v in r) + "\n" for r in rows)


def digest(paths) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def all_text(loaded) -> str:
    """Every cell of the loaded table and rejects as one string (for PII checks)."""
    parts = [loaded.table.astype(str).to_csv(), loaded.rejects.astype(str).to_csv()]
    return "\n".join(parts)


def assert_accounting(loaded) -> None:
    per_file = loaded.rejects.groupby("file").size()
    for c in loaded.counts:
        assert c.read == c.kept + c.rejected, c
        assert per_file.get(c.file, 0) == c.rejected, c


# ============================================================================ detection


ORDER_REPORT = (
    "订单编号,买家会员名,买家支付宝账号,买家应付货款,买家应付邮费,买家支付积分,总金额,返点积分,"
    "买家实际支付金额,买家实际支付积分,订单状态,买家留言,收货人姓名,收货地址,运送方式,联系电话,"
    "联系手机,订单创建时间,订单付款时间,宝贝标题,宝贝种类,物流单号,物流公司,订单备注,宝贝总数量,"
    "店铺Id,店铺名称,订单关闭原因,卖家服务费,买家服务费,发票抬头,是否手机订单,退款金额"
).split(",")
ITEM_REPORT = (
    "订单编号,标题,价格,购买数量,外部系统编号,商品属性,套餐信息,备注,订单状态,商家编码".split(",")
)
SUB_ORDER_REPORT = (
    "子订单编号,主订单编号,商品标题,商品价格,购买数量,外部系统编号,商品属性,套餐信息,订单状态,"
    "商家编码,买家会员名,订单创建时间,订单付款时间,买家实付金额,退款状态,退款金额,商品ID"
).split(",")


@pytest.mark.parametrize(
    "headers, fmt",
    [
        (ORDER_REPORT, "taobao_orders"),
        ([h_ for h_ in ORDER_REPORT if h_ != "买家会员名"], "taobao_short"),
        (ITEM_REPORT, "taobao_items"),
        (SUB_ORDER_REPORT, "taobao_item_report"),
        (SHOPIFY_HEADER, "shopify_orders"),
        (list(schema.COLUMNS["orders"]), "canonical"),
        (
            [" 订单编号", "订单状态\u3000", "订单创建时间", "买家实付金额", "买家昵称"],
            "taobao_orders",
        ),
        (list(reversed(ITEM_REPORT)), "taobao_items"),  # names, never positions
    ],
)
def test_detect(headers, fmt):
    assert fmt in FORMATS
    assert detect(headers) == fmt


def test_detect_canonical_tables():
    assert detect(list(schema.COLUMNS["products"])) == "canonical"
    assert detect(["date", "visitors", "channel"]) == "canonical"
    with pytest.raises(LoadError, match="unknown export format"):
        detect(["product_id", "title"], table="orders")


def test_detect_unknown_format_lists_headers_and_expectations():
    with pytest.raises(LoadError) as e:
        detect(["日期", "销量", "Foo"], file="x.csv")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("x.csv: unknown export format: headers not recognised: 日期, 销量, Foo;")
    assert "Taobao 订单报表 (订单编号, 订单状态, 订单创建时间, 买家实际支付金额" in msg
    assert "Shopify Orders CSV (Name, Financial Status, Created at" in msg
    assert "or pass a column mapping" in msg


def test_detect_names_the_missing_column():
    with pytest.raises(LoadError) as e:
        detect(["订单编号", "买家会员名", "订单状态", "买家实际支付金额"], file="o.csv")
    assert str(e.value) == (
        "o.csv: column '订单创建时间': missing required column for Taobao 订单报表 "
        "(or 创建时间, 下单时间)"
    )


# ============================================================================ Taobao classic


def order_row(**kw) -> list[str]:
    row = dict.fromkeys(ORDER_REPORT, "")
    row.update(kw)
    return [row[c] for c in ORDER_REPORT]


def item_row(**kw) -> list[str]:
    row = dict.fromkeys(ITEM_REPORT, "")
    row.update(kw)
    return [row[c] for c in ITEM_REPORT]


def g(i: str) -> str:
    return f'="{i}"'


@pytest.fixture
def taobao_pair(tmp_path):
    """A GBK 订单报表 + 宝贝报表 pair with every kind of dirt."""
    pii = dict(
        买家支付宝账号="138****8000", 收货人姓名="张三", 联系手机="'13800138000", 买家留言="放门口"
    )
    rows = [
        ORDER_REPORT,
        order_row(  # line 2: three lines, paid 500 on 600 gross
            订单编号=g(A),
            买家会员名="tb_小明",
            买家实际支付金额="￥500.00",
            订单状态="交易成功",
            收货地址="浙江省 杭州市 西湖区 文三路 1 号(310000)",
            订单创建时间="2025-01-03 12:00:00",
            订单付款时间="2025/1/3 12:05",
            是否手机订单="手机订单",
            退款金额="0.00",
            **pii,
        ),
        order_row(  # line 3: closed after payment with a full refund
            订单编号=g(B),
            买家会员名="tb_小红",
            买家实际支付金额="88.80",
            订单状态="交易关闭",
            收货地址="北京 北京市 朝阳区 建国路 2 号",
            订单创建时间="2025年1月4日 08:00",
            订单付款时间="2025-01-04 09:00:00",
            退款金额="88.80",
        ),
        order_row(  # line 4: closed before payment
            订单编号=g(C),
            买家会员名="tb_小明",
            买家实际支付金额="￥20.00",
            订单状态="交易关闭",
            订单创建时间="2025-01-05 10:00:00",
        ),
        order_row(  # line 5: full-width comma in the status, partial refund
            订单编号=g(D),
            买家会员名="tb_小刚",
            买家实际支付金额="￥120.00",
            订单状态="卖家已发货，等待买家确认",
            订单创建时间="2025-01-06 10:00:00",
            订单付款时间="2025-01-06 10:01:00",
            退款金额="30",
        ),
        order_row(  # line 6
            订单编号=g(E),
            买家会员名="tb_小刚",
            买家实际支付金额="59.00",
            订单状态="等待买家付款",
            订单创建时间="2025-01-07 10:00:00",
        ),
        [""] * len(ORDER_REPORT),  # line 7: blank
        order_row(  # line 8: an id Excel turned into scientific notation
            订单编号="1.23457E+18",
            买家会员名="tb_x",
            买家实际支付金额="10",
            订单状态="交易成功",
            订单创建时间="2025-01-08 10:00:00",
        ),
        order_row(  # line 9: impossible date
            订单编号=g(G),
            买家会员名="tb_x",
            买家实际支付金额="10",
            订单状态="交易成功",
            订单创建时间="2025-13-45 10:00:00",
        ),
        None,  # line 10: exact duplicate of line 6 (filled below)
        order_row(  # line 11: refund larger than payment
            订单编号=g(H),
            买家会员名="tb_x",
            买家实际支付金额="100.00",
            订单状态="交易成功",
            订单创建时间="2025-01-09 10:00:00",
            退款金额="120.00",
        ),
        order_row(  # line 12: fine, but one of its lines is not
            订单编号=g(J),
            买家会员名="tb_x",
            买家实际支付金额="30",
            订单状态="交易成功",
            订单创建时间="2025-01-10 10:00:00",
        ),
        order_row(订单编号="合计", 买家实际支付金额="￥1,007.80"),  # line 13
    ]
    rows[9] = rows[5]
    items = [
        ITEM_REPORT,
        item_row(订单编号=g(A), 标题="连衣裙", 价格="￥100.00", 购买数量="3",
                 商品属性="颜色分类:红色;尺码:M", 备注="电话13800138000", 订单状态="交易成功",
                 商家编码="SKU-001"),  # line 2
        item_row(订单编号=g(A), 标题="外套", 价格="￥200.00", 购买数量="1", 商家编码="SKU-002"),
        item_row(订单编号=g(A), 标题="袜子", 价格="50", 购买数量="2",
                 商家编码="6500000001234567890"),  # line 4: a 19-digit merchant code
        item_row(订单编号=g(B), 标题="围巾", 价格="88.80", 购买数量="1", 订单状态="交易关闭",
                 商家编码="SKU-004"),  # line 5
        item_row(订单编号=g(C), 标题="帽子", 价格="20", 购买数量="1", 商家编码="SKU-005"),
        item_row(订单编号=g(D), 标题="裤子", 价格="40", 购买数量="1", 商家编码="SKU-006"),
        item_row(订单编号=g(D), 标题="衬衫", 价格="80", 购买数量="1", 商家编码="SKU-007"),
        item_row(订单编号=g(E), 标题="手链", 价格="59", 购买数量="1", 商家编码="SKU-008"),
        item_row(订单编号="1.23457E+18", 标题="手套", 价格="10", 购买数量="1"),  # line 10
        item_row(订单编号=g(G), 标题="鞋", 价格="10", 购买数量="1", 商家编码="SKU-010"),
        item_row(订单编号=g(H), 标题="包", 价格="100", 购买数量="1", 商家编码="SKU-011"),
        item_row(订单编号=g(ORPHAN), 标题="伞", 价格="10", 购买数量="1", 商家编码="SKU-012"),
        item_row(订单编号=g(J), 标题="袜子", 价格="10", 购买数量="1", 商家编码="SKU-013"),
        item_row(订单编号=g(J), 标题="袜子", 价格="10", 购买数量="-1", 商家编码="SKU-014"),
        item_row(订单编号="合计", 购买数量="13"),  # line 16
    ]  # fmt: skip
    o = tmp_path / "订单报表.csv"
    i = tmp_path / "宝贝报表.csv"
    o.write_bytes(csv_text(rows).replace("\n", "\r\n").encode("gbk"))
    i.write_bytes(csv_text(items).encode("gbk"))
    return o, i


def test_taobao_classic_join_and_values(taobao_pair):
    before = digest(taobao_pair)
    loaded = read_orders(list(taobao_pair), salt=SALT)
    assert digest(taobao_pair) == before  # inputs are never modified
    t = loaded.table.set_index("line_id")
    assert loaded.format == "taobao_orders+taobao_items"
    assert list(t.index) == [
        f"{A}-1", f"{A}-2", f"{A}-3", f"{B}-1", f"{C}-1", f"{D}-1", f"{D}-2", f"{E}-1"
    ]  # fmt: skip
    # 500.00 over gross 300 : 200 : 100 → 250, 166.666…, 83.333…; the spare cent goes to
    # the largest remainder (166.666… → 166.67); the lines sum to the order total exactly
    assert t.loc[[f"{A}-1", f"{A}-2", f"{A}-3"], "paid_amount"].tolist() == [250.0, 166.67, 83.33]
    assert round(t.loc[t.order_id == A, "paid_amount"].sum(), 2) == 500.0
    a1 = t.loc[f"{A}-1"]
    assert a1.order_id == A and len(a1.order_id) == 19
    assert a1.customer_id == h("tb_小明") == t.loc[f"{C}-1", "customer_id"]
    assert a1.order_time == pd.Timestamp("2025-01-03 12:00")
    assert a1.paid_time == pd.Timestamp("2025-01-03 12:05")
    assert (a1.product_id, a1.sku, a1.title) == ("SKU-001", "颜色分类:红色;尺码:M", "连衣裙")
    assert (a1.quantity, a1.unit_price, a1.status) == (3, 100.0, "paid")
    assert (a1.province, a1.city, a1.device) == ("浙江省", "杭州市", "mobile")
    assert t.loc[f"{A}-3", "product_id"] == "6500000001234567890"
    b = t.loc[f"{B}-1"]
    assert (b.status, b.paid_amount, b.refund_amount) == ("refunded", 88.8, 88.8)
    assert (b.province, b.city, b.device) == ("北京", "北京市", "pc")
    assert b.order_time == pd.Timestamp("2025-01-04 08:00")
    c = t.loc[f"{C}-1"]
    assert (c.status, c.refund_amount) == ("cancelled", 0.0) and pd.isna(c.paid_time)
    # refund 30 over line payments 40 : 80 → 10 : 20
    assert t.loc[[f"{D}-1", f"{D}-2"], "refund_amount"].tolist() == [10.0, 20.0]
    assert set(t.loc[t.order_id == D, "status"]) == {"partially_refunded"}
    assert t.loc[f"{E}-1", "status"] == "pending"
    schema.schema("orders").validate(loaded.table)


def test_taobao_classic_rejects_and_accounting(taobao_pair):
    loaded = read_orders(list(taobao_pair), salt=SALT)
    assert_accounting(loaded)
    counts = {c.file: (c.format, c.read, c.kept, c.rejected) for c in loaded.counts}
    assert counts == {
        "订单报表.csv": ("taobao_orders", 12, 5, 7),
        "宝贝报表.csv": ("taobao_items", 15, 8, 7),
    }
    r = {(x.file, x.row): x.reason for x in loaded.rejects.itertuples()}
    assert r == {
        ("订单报表.csv", 7): "blank row",
        ("订单报表.csv", 8): "order id in scientific notation loses digits ('1.23457E+18')",
        ("订单报表.csv", 9): "unparseable date '2025-13-45 10:00:00'",
        ("订单报表.csv", 10): "duplicate of row 6",
        ("订单报表.csv", 11): "refund 120.00 larger than payment 100.00",
        ("订单报表.csv", 12): f"order {J} incomplete: 宝贝报表.csv row 15 rejected",
        ("订单报表.csv", 13): "summary row (合计)",
        ("宝贝报表.csv", 10): "order id in scientific notation loses digits ('1.23457E+18')",
        ("宝贝报表.csv", 11): "its order (订单报表.csv row 9) was rejected",
        ("宝贝报表.csv", 12): "its order (订单报表.csv row 11) was rejected",
        ("宝贝报表.csv", 13): f"order {ORPHAN} not in 订单报表",
        ("宝贝报表.csv", 14): f"order {J} incomplete: 宝贝报表.csv row 15 rejected",
        ("宝贝报表.csv", 15): "negative quantity",
        ("宝贝报表.csv", 16): "summary row (合计)",
    }
    cols = {(x.file, x.row): x.column for x in loaded.rejects.itertuples()}
    assert cols[("订单报表.csv", 9)] == "订单创建时间"
    assert cols[("订单报表.csv", 11)] == "退款金额"
    assert cols[("宝贝报表.csv", 15)] == "购买数量"
    values = loaded.rejects.set_index(["file", "row"])["values"]
    assert values[("订单报表.csv", 13)] == "订单编号=合计; 买家实际支付金额=￥1,007.80"


def test_taobao_personal_data_never_leaves(taobao_pair):
    loaded = read_orders(list(taobao_pair), salt=SALT)
    text = all_text(loaded)
    for secret in (
        "tb_小明",
        "tb_小红",
        "张三",
        "13800138000",
        "138****8000",
        "文三路",
        "建国路",
        "放门口",
    ):
        assert secret not in text
    assert any("personal-data columns dropped" in n and "收货地址" in n for n in loaded.notes)


def test_taobao_short_report_has_no_customer(tmp_path):
    cols = [c for c in ORDER_REPORT if c not in ("买家会员名", "买家支付宝账号")]
    o = tmp_path / "short.csv"
    rows = [cols, [dict(订单编号=g(A), 买家实际支付金额="10", 订单状态="交易成功",
                        订单创建时间="2025-01-03 12:00:00").get(c, "") for c in cols]]  # fmt: skip
    o.write_text(csv_text(rows), encoding="utf-8-sig")
    i = tmp_path / "items.csv"
    i.write_text(csv_text([ITEM_REPORT, item_row(订单编号=A, 标题="t", 价格="10", 购买数量="1")]))
    loaded = read_orders([o, i], salt=SALT)
    assert loaded.format == "taobao_short+taobao_items"
    assert loaded.table["customer_id"].isna().all()
    assert loaded.table.loc[0, "product_id"] == "t"  # no 商家编码: the title names it
    assert any("customer analyses need a buyer id" in n for n in loaded.notes)


def test_taobao_items_without_order_report_is_a_file_error(tmp_path):
    i = tmp_path / "宝贝报表.csv"
    i.write_text(csv_text([ITEM_REPORT, item_row(订单编号=A, 标题="t", 价格="1", 购买数量="1")]))
    with pytest.raises(
        LoadError, match=r"^宝贝报表.csv: 宝贝报表 \(order lines\) without its 订单报表"
    ):
        read_orders([i], salt=SALT)


def test_taobao_order_report_xlsx_with_numeric_ids(tmp_path):
    """An 订单报表 saved from Excel: ids stored as numbers have lost digits → rejected."""
    wb = Workbook()
    ws = wb.active
    ws.append(["订单编号", "买家会员名", "买家实际支付金额", "订单状态", "订单创建时间"])
    ws.append([A, "tb_a", 10, "交易成功", pd.Timestamp("2025-01-03 12:00").to_pydatetime()])
    far = "4123456789012345672"  # a lost id stands for a range: keep A out of it
    ws.append([float(far), "tb_b", 20, "交易成功", "2025-01-03 13:00:00"])
    wb.save(tmp_path / "订单报表.xlsx")
    i = tmp_path / "宝贝报表.csv"
    i.write_text(csv_text([ITEM_REPORT, item_row(订单编号=A, 标题="t", 价格="10", 购买数量="1")]))
    loaded = read_orders([tmp_path / "订单报表.xlsx", i], salt=SALT)
    assert loaded.table["order_id"].tolist() == [A]
    assert loaded.table.loc[0, "order_time"] == pd.Timestamp("2025-01-03 12:00")
    rej = loaded.rejects.set_index("row")["reason"]
    assert rej[3].startswith("order id in scientific notation loses digits ('4.1234567890123")
    assert_accounting(loaded)


def test_line_lost_to_scientific_notation_takes_its_possible_order(tmp_path):
    """A 宝贝报表 line whose id Excel rounded cannot be joined; the order it may belong to is
    rejected rather than loaded with a line (and money) missing."""
    o = tmp_path / "订单报表.csv"
    o.write_text(
        csv_text(
            [
                ["订单编号", "买家会员名", "买家实际支付金额", "订单状态", "订单创建时间"],
                [g(A), "x", "30", "交易成功", "2025-01-03 12:00:00"],
                [g("4000000000000000001"), "y", "10", "交易成功", "2025-01-03 12:00:00"],
            ]
        )
    )
    i = tmp_path / "宝贝报表.csv"
    i.write_text(
        csv_text(
            [
                ITEM_REPORT,
                item_row(订单编号=g(A), 标题="a", 价格="10", 购买数量="1"),
                item_row(订单编号="5.12346E+18", 标题="b", 价格="20", 购买数量="1"),
                item_row(订单编号=g("4000000000000000001"), 标题="c", 价格="10", 购买数量="1"),
            ]
        )
    )
    loaded = read_orders([o, i], salt=SALT)
    assert loaded.table["order_id"].tolist() == ["4000000000000000001"]
    r = {(x.file, x.row): x.reason for x in loaded.rejects.itertuples()}
    lost = "宝贝报表.csv row 3, whose order id is in scientific notation"
    assert r == {
        ("订单报表.csv", 2): f"order {A} may own {lost}",
        ("宝贝报表.csv", 2): f"order {A} may own {lost}",
        ("宝贝报表.csv", 3): "order id in scientific notation loses digits ('5.12346E+18')",
    }


@pytest.mark.parametrize(
    "text, paid, refund, paid_time, status, refund_out",
    [
        ("交易成功", 100, 0, True, "paid", 0),
        ("买家已付款，等待卖家发货", 100, 0, True, "paid", 0),
        ("买家已付款,等待卖家发货", 100, 0, True, "paid", 0),
        ("卖家已发货，等待买家确认", 100, 0, True, "paid", 0),
        ("交易成功", 100, 40, True, "partially_refunded", 40),
        ("交易成功", 100, 100, True, "refunded", 100),
        ("交易关闭", 100, 0, False, "cancelled", 0),
        ("交易关闭", 100, 0, True, "refunded", 100),  # closed after payment: money went back
        ("交易关闭", 100, 100, True, "refunded", 100),
        ("交易关闭", 100, 30, True, "partially_refunded", 30),
        ("等待买家付款", 100, 0, False, "pending", 0),
    ],
)
def test_taobao_status_mapping(text, paid, refund, paid_time, status, refund_out):
    code, _ = map_status(pd.Series([text]))
    got, r = derive_status(
        code,
        pd.Series([float(paid)]),
        pd.Series([float(refund)]),
        pd.Series([pd.Timestamp("2025-01-03") if paid_time else pd.NaT]),
    )
    assert (got.iloc[0], r.iloc[0]) == (status, refund_out)


def test_taobao_unknown_status_rejected(tmp_path):
    o = tmp_path / "o.csv"
    o.write_text(
        csv_text(
            [
                [
                    "订单编号",
                    "买家会员名",
                    "买家实际支付金额",
                    "订单状态",
                    "订单创建时间",
                    "宝贝标题",
                ],
                [A, "x", "10", "火星状态", "2025-01-03 12:00:00", "t"],
                [B, "y", "10", "交易成功", "2025-01-03 12:00:00", "t"],
            ]
        )
    )
    loaded = read_orders([o], salt=SALT)  # no 宝贝报表: one line per order, product = 宝贝标题
    assert loaded.table["line_id"].tolist() == [f"{B}-1"]
    assert loaded.rejects["reason"].tolist() == ["unknown order status '火星状态'"]
    assert any("no 宝贝报表 given" in n for n in loaded.notes)


def test_taobao_classic_amount_in_another_currency_rejects_its_order(taobao_pair):
    o, i = taobao_pair
    base = read_orders([o, i], salt=SALT)
    same = read_orders([o, i], salt=SALT, currency="CNY")  # ￥ amounts: the shop's own
    pd.testing.assert_frame_equal(same.table, base.table)
    pd.testing.assert_frame_equal(same.rejects, base.rejects)
    o.write_bytes(o.read_bytes().decode("gbk").replace("￥120.00", "$120.00").encode("gbk"))
    i.write_bytes(i.read_bytes().decode("gbk").replace("￥200.00", "US$200.00").encode("gbk"))
    loaded = read_orders([o, i], salt=SALT, currency="CNY")
    assert_accounting(loaded)
    assert set(base.table["order_id"]) - set(loaded.table["order_id"]) == {A, D}
    rej = loaded.rejects.set_index(["file", "row"])
    assert rej.loc[("订单报表.csv", 5), "reason"] == (
        "amount '$120.00' is in USD, the shop's currency is CNY"
    )
    assert rej.loc[("订单报表.csv", 5), "column"] == "买家实际支付金额"
    assert rej.loc[("宝贝报表.csv", 3), "reason"] == (
        "amount 'US$200.00' is in USD, the shop's currency is CNY"
    )
    assert rej.loc[("宝贝报表.csv", 3), "column"] == "价格"
    assert rej.loc[("订单报表.csv", 2), "reason"] == (
        f"order {A} incomplete: 宝贝报表.csv row 3 rejected"
    )


# ============================================================================ Taobao item report


def test_taobao_item_report(tmp_path):
    def row(**kw):
        return [kw.get(c, "") for c in SUB_ORDER_REPORT + ["收货地址"]]

    s1, s2, s3, m1, m2 = (f"51000000000000000{i}" for i in ("11", "12", "21", "10", "20"))
    rows = [
        SUB_ORDER_REPORT + ["收货地址"],
        row(子订单编号=s1, 主订单编号=m1, 商品标题="连衣裙", 商品价格="100.00", 购买数量="1",
            订单状态="交易成功", 买家会员名="tb_a", 订单创建时间="2025-01-03 12:00:00",
            订单付款时间="2025-01-03 12:01:00", 买家实付金额="90.00", 退款金额="无退款申请",
            商品ID="600000000001", 收货地址="广东省 深圳市 南山区 科技园"),
        row(子订单编号=s2, 主订单编号=m1, 商品标题="外套", 商品价格="200", 购买数量="1",
            订单状态="交易关闭", 买家会员名="tb_a", 订单创建时间="2025-01-03 12:00:00",
            订单付款时间="2025-01-03 12:01:00", 买家实付金额="200.00", 退款金额="200.00",
            商品ID="600000000002", 收货地址="广东省 深圳市 南山区 科技园"),
        row(子订单编号=s3, 主订单编号=m2, 商品标题="帽子", 商品价格="30", 购买数量="2",
            订单状态="等待买家付款", 买家会员名="tb_b", 订单创建时间="2025-01-04 12:00:00",
            买家实付金额="60.00", 商品ID="600000000003"),
        row(子订单编号=s1, 主订单编号=m1, 商品标题="连衣裙", 商品价格="100.00", 购买数量="2",
            订单状态="交易成功", 订单创建时间="2025-01-03 12:00:00", 买家实付金额="1"),
    ]  # fmt: skip
    f = tmp_path / "子订单.csv"
    f.write_bytes(csv_text(rows).encode("gb18030"))
    loaded = read_orders([f], salt=SALT)
    t = loaded.table
    assert loaded.format == "taobao_item_report"
    assert t["line_id"].tolist() == [s1, s2, s3]
    assert t["order_id"].tolist() == [m1, m1, m2]
    assert t["status"].tolist() == ["paid", "refunded", "pending"]
    assert t["paid_amount"].tolist() == [90.0, 200.0, 60.0]
    assert t["refund_amount"].tolist() == [0.0, 200.0, 0.0]
    assert t["product_id"].tolist() == ["600000000001", "600000000002", "600000000003"]
    assert t["customer_id"].tolist() == [h("tb_a"), h("tb_a"), h("tb_b")]
    assert t.loc[0, ["province", "city"]].tolist() == ["广东省", "深圳市"]
    assert loaded.rejects["reason"].tolist() == [f"sub-order id {s1} already at 子订单.csv row 2"]
    assert_accounting(loaded)
    assert "科技园" not in all_text(loaded)
    f.write_bytes(f.read_bytes().decode("gb18030").replace(",60.00,", ",¥60.00,").encode("gb18030"))
    assert read_orders([f], salt=SALT, currency="CNY").table.equals(t)  # ¥: the shop's own
    loaded = read_orders([f], salt=SALT, currency="USD")
    assert loaded.table["order_id"].tolist() == [m1, m1]
    assert "amount '¥60.00' is in CNY, the shop's currency is USD" in set(loaded.rejects["reason"])
    assert_accounting(loaded)


# ============================================================================ Shopify


def shopify_csv(path, rows: list[dict]) -> None:
    frame = pd.DataFrame([{c: r.get(c, "") for c in SHOPIFY_HEADER} for r in rows])
    frame.to_csv(path, index=False)


def first_row(name: str, **kw) -> dict:
    base = {
        "Name": name,
        "Email": "Ann@Example.com",
        "Financial Status": "paid",
        "Currency": "USD",
        "Created at": "2025-01-03 04:00:00 +0000",
        "Paid at": "2025-01-03 04:05:00 +0000",
        "Billing Name": "Ann Example",
        "Shipping Name": "Ann Example",
        "Shipping Street": "1 Main St",
        "Shipping Address1": "1 Main St",
        "Shipping City": "Hangzhou",
        "Shipping Province": "Zhejiang",
        "Shipping Phone": "555-0100",
        "Phone": "555-0100",
        "Source": "web",
        "Refunded Amount": "0.00",
    }
    base.update(kw)
    return base


def line(name: str, qty: str, title: str, price: str, sku: str, disc: str = "0.00") -> dict:
    return {
        "Name": name,
        "Lineitem quantity": qty,
        "Lineitem name": title,
        "Lineitem price": price,
        "Lineitem sku": sku,
        "Lineitem discount": disc,
    }


@pytest.fixture
def shopify_file(tmp_path):
    rows = [
        {**line("#1001", "2", "Crew Tee", "9.99", "TEE-BLK-S"),
         **first_row("#1001", Total="34.98", Subtotal="29.98", Shipping="5.00")},
        line("#1001", "1", "Mug", "10.00", "MUG"),  # order fields only on the first line
        {**line("#1002", "1", "Scarf", "50.00", "SCARF"),
         **first_row("#1002", **{"Financial Status": "partially_refunded", "Total": "50.00",
                                 "Refunded Amount": "20.00",
                                 "Created at": "2025-01-04 10:00:00 -0500",
                                 "Paid at": "2025-01-04 10:01:00 -0500"})},
        {**line("#1003", "1", "Hat", "15.00", "HAT"),
         **first_row("#1003", **{"Financial Status": "voided", "Total": "15.00", "Paid at": "",
                                 "Cancelled at": "2025-01-05 10:00:00 +0800"})},
        {**line("#1004", "3", "Sock", "5.00", ""),
         **first_row("#1004", **{"Financial Status": "authorized", "Total": "15.00",
                                 "Paid at": ""})},
        line("#1005", "1", "Belt", "30.00", "BELT"),  # this order's own row comes second
        {**line("#1005", "1", "Bag", "70.00", "BAG", disc="10.00"),
         **first_row("#1005", Total="90.00", Email="bob@example.com")},
        {**line("#1006", "1", "Pen", "3.00", "PEN"), **first_row("#1006", Total="4.00")},
        line("#1006", "-1", "Pen", "3.00", "PEN"),
    ]  # fmt: skip
    f = tmp_path / "orders_export.csv"
    shopify_csv(f, rows)
    with f.open("a") as fh:
        fh.write("\n")  # a trailing blank line
    return f


def test_shopify_forward_fill_and_values(shopify_file):
    loaded = read_orders([shopify_file], salt=SALT, tz="Asia/Shanghai")
    t = loaded.table.set_index("line_id")
    assert loaded.format == "shopify_orders"
    assert list(t.index) == [
        "1001-1",
        "1001-2",
        "1002-1",
        "1003-1",
        "1004-1",
        "1005-1",
        "1005-2",
        "1006-1",
        "1006-2",
    ]
    # a negative quantity is a returned line: -1 × 3.00; the purchase line takes the order's
    # Total 4.00 plus the 3.00 returned, so the order's lines still add up to its Total
    back, pen = t.loc["1006-2"], t.loc["1006-1"]
    assert (back.status, back.quantity, back.unit_price, back.paid_amount) == (
        "returned",
        -1,
        3.0,
        -3.0,
    )
    assert (pen.status, pen.paid_amount) == ("paid", 7.0)
    # the continuation line carries the order's fields
    mug = t.loc["1001-2"]
    assert mug.order_id == "1001"
    assert mug.customer_id == h("ann@example.com")  # e-mail lower-cased, then hashed
    assert mug.order_time == pd.Timestamp("2025-01-03 12:00")  # +0000 → Asia/Shanghai
    assert mug.paid_time == pd.Timestamp("2025-01-03 12:05")
    assert (mug.status, mug.channel, mug.province, mug.city) == (
        "paid",
        "web",
        "Zhejiang",
        "Hangzhou",
    )
    assert pd.isna(mug.device)
    # Total 34.98 over net values 19.98 : 10.00 → 23.3116… : 11.6684… → 23.31 : 11.67
    assert t.loc[["1001-1", "1001-2"], "paid_amount"].tolist() == [23.31, 11.67]
    assert (t.loc["1001-1", "quantity"], t.loc["1001-1", "unit_price"]) == (2, 9.99)
    assert (t.loc["1001-1", "product_id"], t.loc["1001-1", "sku"]) == ("TEE-BLK-S", "TEE-BLK-S")
    s = t.loc["1002-1"]
    assert (s.status, s.paid_amount, s.refund_amount) == ("partially_refunded", 50.0, 20.0)
    assert s.order_time == pd.Timestamp("2025-01-04 23:00")  # -0500 → +0800
    assert t.loc["1003-1", "status"] == "cancelled"
    assert t.loc["1004-1", "status"] == "pending"
    assert t.loc["1004-1", "product_id"] == "Sock"  # no sku: the line name
    # an order whose filled row is not its first line still gets its fields
    belt, bag = t.loc["1005-1"], t.loc["1005-2"]
    assert belt.customer_id == bag.customer_id == h("bob@example.com")
    assert belt.order_time == pd.Timestamp("2025-01-03 12:00")
    # Total 90 over net 30 : 60 (70 − 10 discount)
    assert (belt.paid_amount, bag.paid_amount) == (30.0, 60.0)
    schema.schema("orders").validate(loaded.table)


def test_shopify_rejects_and_privacy(shopify_file):
    loaded = read_orders([shopify_file], salt=SALT)
    assert_accounting(loaded)
    r = {x.row: x.reason for x in loaded.rejects.itertuples()}
    assert r == {11: "blank row"}  # row 10's negative quantity is a return, kept
    (c,) = loaded.counts
    assert (c.read, c.kept, c.rejected) == (10, 9, 1)
    text = all_text(loaded)
    for secret in ("Ann Example", "1 Main St", "555-0100", "ann@example.com", "Ann@Example.com"):
        assert secret not in text


def test_shopify_amount_in_another_currency_rejects_its_order(shopify_file):
    base = read_orders([shopify_file], salt=SALT)
    same = read_orders([shopify_file], salt=SALT, currency="USD")
    pd.testing.assert_frame_equal(same.table, base.table)
    text = shopify_file.read_text(encoding="utf-8")
    assert text.count(",34.98,") == 1 and text.count(",70.00,") == 1
    text = text.replace(",34.98,", ",€34.98,").replace(",70.00,", ",HK$70.00,")
    shopify_file.write_text(text, encoding="utf-8")
    loaded = read_orders([shopify_file], salt=SALT, currency="USD")
    assert_accounting(loaded)
    assert set(base.table["order_id"]) - set(loaded.table["order_id"]) == {"1001", "1005"}
    reasons = set(loaded.rejects["reason"])
    assert "amount '€34.98' is in EUR, the shop's currency is USD" in reasons  # Total
    assert "amount 'HK$70.00' is in HKD, the shop's currency is USD" in reasons  # line price


def test_shopify_order_in_another_currency_is_rejected_whole(shopify_file):
    """Shopify's Currency column (first row of an order) must be the shop's currency."""
    text = shopify_file.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    i = next(n for n, ln in enumerate(lines) if ln.startswith("#1002,"))
    assert lines[i].count(",USD,") == 1
    lines[i] = lines[i].replace(",USD,", ",EUR,")
    shopify_file.write_text("".join(lines), encoding="utf-8")
    loaded = read_orders([shopify_file], salt=SALT, currency="USD")
    assert_accounting(loaded)
    assert "1002" not in set(loaded.table["order_id"])
    assert "order currency 'EUR', the shop's currency is USD" in set(loaded.rejects["reason"])
    assert len(read_orders([shopify_file], salt=SALT).table) == len(loaded.table) + 1


def test_shopify_cancelled_at_wins_over_financial_status(tmp_path):
    f = tmp_path / "s.csv"
    shopify_csv(
        f,
        [{**line("#9", "1", "X", "10.00", "X"),
          **first_row("#9", **{"Financial Status": "refunded", "Total": "10.00",
                               "Refunded Amount": "10.00",
                               "Cancelled at": "2025-01-03 05:00:00 +0000"})}],
    )  # fmt: skip
    t = read_orders([f], salt=SALT).table
    assert (t.loc[0, "status"], t.loc[0, "refund_amount"]) == ("cancelled", 10.0)


# ============================================================================ mapping, canonical


def test_generic_mapping_with_defaults(tmp_path):
    f = tmp_path / "erp.csv"
    f.write_text(
        "单号,客户,下单时间,商品,金额,备注\n"
        "A1,c1,2025-01-03 12:00,P1,¥1,000.00,x\n"  # unquoted thousands comma: ragged row
        "A1,c1,2025-01-03 12:00,P2,50,\n"
        "A2,c2,2025/1/4 9:30,P1,30.5,\n",
        encoding="utf-8",
    )
    mapping = {
        "order_id": "单号",
        "customer_id": "客户",
        "order_time": "下单时间",
        "product_id": "商品",
        "paid_amount": "金额",
    }
    loaded = read_orders([f], salt=SALT, mapping=mapping)
    t = loaded.table
    assert loaded.format == "generic"
    assert t["line_id"].tolist() == ["A2-1"]  # orders are all or nothing
    assert loaded.rejects[["row", "reason"]].values.tolist() == [
        [2, "value in a column without a header"],
        [3, "order A1 incomplete: erp.csv row 2 rejected"],
    ]
    f.write_text(f.read_text().replace("¥1,000.00", '"¥1,000.00"'), encoding="utf-8")
    t = read_orders([f], salt=SALT, mapping=mapping).table
    assert t["line_id"].tolist() == ["A1-1", "A1-2", "A2-1"]  # row order within the order
    assert t["paid_amount"].tolist() == [1000.0, 50.0, 30.5]
    assert t["unit_price"].tolist() == [1000.0, 50.0, 30.5]  # paid / quantity
    assert t["quantity"].tolist() == [1, 1, 1]
    assert t["status"].tolist() == ["paid"] * 3
    assert t["refund_amount"].tolist() == [0.0] * 3
    assert t["customer_id"].tolist() == [h("c1"), h("c1"), h("c2")]
    assert t.loc[2, "order_time"] == pd.Timestamp("2025-01-04 09:30")


def test_generic_amount_in_another_currency_rejects_its_order(tmp_path):
    f = tmp_path / "erp.csv"
    f.write_text(
        "单号,下单时间,商品,金额\nA1,2025-01-03,P1,¥10\nA1,2025-01-03,P2,$5\nA2,2025-01-04,P1,7\n",
        encoding="utf-8",
    )
    mapping = {
        "order_id": "单号",
        "order_time": "下单时间",
        "product_id": "商品",
        "paid_amount": "金额",
    }
    loaded = read_orders([f], salt=SALT, mapping=mapping, currency="CNY")
    assert loaded.table["order_id"].tolist() == ["A2"]
    assert loaded.rejects[["row", "reason"]].values.tolist() == [
        [2, "order A1 incomplete: erp.csv row 3 rejected"],
        [3, "amount '$5' is in USD, the shop's currency is CNY"],
    ]
    assert loaded.rejects["column"].iloc[1] == "金额"
    assert_accounting(loaded)
    assert len(read_orders([f], salt=SALT, mapping=mapping).table) == 3  # unchecked: as before
    cols = list(schema.COLUMNS["orders"])
    row = dict(order_id="O1", line_id="1", order_time="2025-01-03", status="paid",
               product_id="P", quantity="1", unit_price="£5", paid_amount="5", refund_amount="0")  # fmt: skip
    c = tmp_path / "orders.csv"
    pd.DataFrame([{k: row.get(k, "") for k in cols}]).to_csv(c, index=False)
    loaded = read_orders([c], salt=SALT, currency="CNY")
    assert loaded.format == "canonical" and loaded.table.empty
    assert loaded.rejects["reason"].tolist() == [
        "amount '£5' is in GBP, the shop's currency is CNY"
    ]


def test_generic_order_id_from_customer_and_time(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("who,when,what,paid\nc1,2025-01-03 12:00:00,P1,10\nc1,2025-01-03 12:00:00,P2,5\n")
    mapping = {
        "customer_id": "who",
        "order_time": "when",
        "product_id": "what",
        "paid_amount": "paid",
    }
    t = read_orders([f], salt=SALT, mapping=mapping).table
    oid = f"{h('c1')}-20250103120000"
    assert t["order_id"].tolist() == [oid, oid]
    assert t["line_id"].tolist() == [f"{oid}-1", f"{oid}-2"]


def test_generic_missing_column_is_one_line(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("id,when,what\n1,2025-01-03,P1\n")
    with pytest.raises(LoadError) as e:
        read_orders(
            [f], salt=SALT, mapping={"order_id": "id", "order_time": "when", "product_id": "what"}
        )
    assert str(e.value) == (
        "m.csv: column 'paid_amount': cannot derive paid_amount: map paid_amount (or unit_price)"
    )
    with pytest.raises(LoadError) as e:
        read_orders([f], salt=SALT, mapping={"order_id": "id", "paid_amount": "amount"})
    assert str(e.value) == "m.csv: column 'amount': mapped column for paid_amount not in the file"


def test_generic_refuses_personal_data_outside_customer_id(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("id,收货人姓名,when,what,paid\n1,张三,2025-01-03,P1,1\n")
    mapping = {"order_id": "id", "title": "收货人姓名", "order_time": "when",
               "product_id": "what", "paid_amount": "paid"}  # fmt: skip
    with pytest.raises(LoadError, match=r"column '收货人姓名': holds personal data"):
        read_orders([f], salt=SALT, mapping=mapping)


def test_canonical_orders_file(tmp_path):
    cols = list(schema.COLUMNS["orders"])
    hashed = "0123456789abcdef"
    rows = [
        dict(order_id="O1", line_id="O1-1", customer_id=hashed, order_time="2025-01-03 12:00:00",
             status="paid", product_id="P1", quantity="2", unit_price="10", paid_amount="20",
             refund_amount="0", device="手机"),
        dict(order_id="O2", line_id="O2-1", customer_id="C7", order_time="2025-01-04",
             status="completed", product_id="P2", quantity="1", unit_price="5", paid_amount="5",
             refund_amount="0", device="pc"),
        dict(order_id="O3", line_id="O3-1", customer_id="C7", order_time="2025-01-05",
             status="paid", product_id="P2", quantity="0", unit_price="5", paid_amount="5",
             refund_amount="0"),
    ]  # fmt: skip
    f = tmp_path / "orders.csv"
    pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows]).to_csv(f, index=False)
    loaded = read_orders([f], salt=SALT)
    t = loaded.table
    assert loaded.format == "canonical"
    assert t["customer_id"].tolist() == [hashed, h("C7")]  # already pseudonyms stay as they are
    assert t["status"].tolist() == ["paid", "paid"]
    assert t["device"].tolist() == ["mobile", "pc"]
    assert loaded.rejects["reason"].tolist() == ["zero quantity"]


def test_same_order_in_two_formats_is_rejected_once(tmp_path, shopify_file):
    cols = list(schema.COLUMNS["orders"])
    row = dict(order_id="1002", line_id="x", order_time="2025-01-03", status="paid",
               product_id="P", quantity="1", unit_price="1", paid_amount="1", refund_amount="0")  # fmt: skip
    f = tmp_path / "canonical.csv"
    pd.DataFrame([{c: row.get(c, "") for c in cols}]).to_csv(f, index=False)
    loaded = read_orders([shopify_file, f], salt=SALT)
    assert loaded.format == "shopify_orders+canonical"
    rej = loaded.rejects[loaded.rejects.file == "canonical.csv"]
    assert rej["reason"].tolist() == [
        "order 1002 already loaded from orders_export.csv (shopify_orders)"
    ]
    assert_accounting(loaded)


def test_file_level_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LoadError, match=r"^empty.csv: empty file$"):
        read_orders([empty], salt=SALT)
    dup = tmp_path / "dup.csv"
    dup.write_text("订单编号,订单编号\n1,2\n")
    with pytest.raises(LoadError, match=r"^dup.csv: column '订单编号': duplicated column name$"):
        read_orders([dup], salt=SALT)
    header_only = tmp_path / "订单报表.csv"
    header_only.write_text(",".join(ORDER_REPORT) + "\n", encoding="gbk")
    loaded = read_orders([header_only], salt=SALT)
    assert len(loaded.table) == 0 and loaded.counts[0].read == 0


# ============================================================================ other tables


def test_read_table_traffic_with_shengyicanmou_headers(tmp_path):
    f = tmp_path / "流量.csv"
    f.write_text(
        "日期,商品ID,流量来源,展现量,点击量,访客数,浏览量,加购人数,支付买家数,支付转化率\n"
        '2025-01-03,6500000001234567890,手淘搜索,"12,345",678,500,900,40,12,2.40%\n'
        "2025/1/4,,直通车,100,10,8,9,1,0,0.00%\n"
        '合计,,,"12,445",688,508,909,41,12,\n',
        encoding="utf-8-sig",
    )
    loaded = read_table([f], "traffic")
    t = loaded.table
    assert loaded.format == "generic"
    assert t["date"].tolist() == [pd.Timestamp("2025-01-03"), pd.Timestamp("2025-01-04")]
    assert t["product_id"].tolist()[0] == "6500000001234567890"
    assert pd.isna(t["product_id"].iloc[1])  # empty = whole shop
    assert t["impressions"].tolist() == [12345, 100]
    assert t["visitors"].tolist() == [500, 8]
    assert t["channel"].tolist() == ["手淘搜索", "直通车"]
    assert loaded.rejects["reason"].tolist() == ["summary row (合计)"]
    assert_accounting(loaded)


def test_read_table_keywords_rates_and_months(tmp_path):
    f = tmp_path / "kw.csv"
    f.write_text(
        "关键词,月份,搜索人气,点击率,转化率,在线商品数\n"
        '连衣裙,2025年1月,"123,456",3.5%,0.012,8000\n'
        "外套,2025-02,1000,35,1%,10\n",
        encoding="utf-8",
    )
    loaded = read_table([f], "keywords")
    t = loaded.table
    assert t["keyword"].tolist() == ["连衣裙"]
    assert t["month"].tolist() == [pd.Timestamp("2025-01-01")]
    assert t["search_volume"].tolist() == [123456.0]
    assert t["click_rate"].tolist() == pytest.approx([0.035])
    assert t["conversion_rate"].tolist() == pytest.approx([0.012])
    assert loaded.rejects["reason"].tolist() == ["rate '35' outside 0–1 (write 3.5%)"]
    assert loaded.rejects["column"].tolist() == ["点击率"]


def test_read_table_products_roles_and_errors(tmp_path):
    f = tmp_path / "products.csv"
    f.write_text(
        "商品ID,标题,类目,价格,成本,库存,商品角色\n"
        "P1,连衣裙,裙子,¥199.00,80,12,引流款\n"
        "P2,外套,外套,399,150,3,明星款\n"
        "P1,连衣裙B,裙子,199,80,12,利润款\n",
        encoding="utf-8",
    )
    loaded = read_table([f], "products")
    t = loaded.table
    assert t["product_id"].tolist() == ["P1"]
    assert (t.loc[0, "price"], t.loc[0, "role"], t.loc[0, "stock"]) == (199.0, "traffic", 12)
    assert loaded.rejects["reason"].tolist() == [
        "unknown role '明星款' (expected traffic, profit, image, custom)",
        "product_id P1 already at products.csv row 2",
    ]
    bad = tmp_path / "p2.csv"
    bad.write_text("标题,价格\nx,1\n")
    with pytest.raises(LoadError) as e:
        read_table([bad], "products")
    assert str(e.value).startswith(
        "p2.csv: column 'product_id': missing required column for the products table "
        "(accepted names: product_id, 商品ID"
    )


def test_read_table_money_in_another_currency(tmp_path):
    f = tmp_path / "products.csv"
    f.write_text(
        "商品ID,标题,价格,成本\nP1,连衣裙,¥199.00,80\nP2,外套,399,US$150\n", encoding="utf-8"
    )
    assert read_table([f], "products").table["product_id"].tolist() == ["P1", "P2"]
    loaded = read_table([f], "products", currency="CNY")
    assert loaded.table["product_id"].tolist() == ["P1"]
    assert loaded.rejects[["column", "reason"]].values.tolist() == [
        ["成本", "amount 'US$150' is in USD, the shop's currency is CNY"]
    ]
    assert_accounting(loaded)


def test_read_table_canonical_and_mapping(tmp_path):
    f = tmp_path / "reviews.csv"
    f.write_text("id,when,stars,txt,买家昵称\nR1,2025-01-03,5,好看,tb_x\nR2,2025-01-04,6,差,tb_y\n")
    mapping = {"review_id": "id", "date": "when", "rating": "stars", "text": "txt"}
    loaded = read_table([f], "reviews", mapping=mapping)
    assert loaded.table["review_id"].tolist() == ["R1"]
    assert loaded.rejects["reason"].tolist() == ["rating '6' outside 0–5"]
    assert "tb_x" not in all_text(loaded) and "tb_y" not in all_text(loaded)


# ============================================================================ round trips


def canonical_orders(n_orders: int = 40, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical orders whose line payments are what the readers' apportionment gives."""
    rng = np.random.default_rng(seed)
    statuses = ["paid", "refunded", "partially_refunded", "cancelled", "pending"]
    rows = []
    for i in range(n_orders):
        oid = str(5100000000000000000 + i * 7919)
        status = statuses[i % len(statuses)]
        t0 = pd.Timestamp("2025-01-01 08:00:00") + pd.Timedelta(minutes=int(rng.integers(0, 10**5)))
        for j in range(int(rng.integers(1, 4))):
            rows.append(
                dict(
                    order_id=oid,
                    line_id=f"{oid}-{j + 1}",
                    customer_id=f"C{i % 7}",
                    order_time=t0,
                    paid_time=pd.NaT
                    if status in ("cancelled", "pending")
                    else t0 + pd.Timedelta(minutes=3),
                    status=status,
                    product_id=f"65000000012345678{j}",
                    sku=f"颜色:{'红蓝'[j % 2]}" if j else None,
                    title=f"商品{j}",
                    quantity=int(rng.integers(1, 4)),
                    unit_price=float(rng.integers(100, 200000)) / 100,
                    province="浙江省",
                    city="杭州市",
                    device="mobile" if i % 2 else "pc",
                    channel=None,
                )
            )
    o = pd.DataFrame(rows)
    gross = o.unit_price * o.quantity
    total = (gross.groupby(o.order_id).transform("sum") * 0.9).round(2)
    o["paid_amount"] = apportion(total, gross, o.order_id)
    share = o.status.map({"refunded": 1.0, "partially_refunded": 0.25}).fillna(0.0)
    refund_total = (o.paid_amount.groupby(o.order_id).transform("sum") * share).round(2)
    o["refund_amount"] = apportion(refund_total, o.paid_amount, o.order_id)
    customers = [f"C{i}" for i in range(7)]
    pii = pd.DataFrame(
        {
            "customer_id": customers,
            "buyer_nick": [f"tb_买家{i}号" for i in range(7)],
            "name": [f"王{'一二三四五六七'[i]}" for i in range(7)],
            "phone": [f"1390000{i:04d}" for i in range(7)],
            "address": [f"西湖区 保俶路{i + 10}号" for i in range(7)],
            "email": [f"Buyer{i}@Example.com" for i in range(7)],
        }
    )
    return o, pii


COMPARE = ["order_id", "line_id", "quantity", "unit_price", "paid_amount", "refund_amount",
           "status", "order_time", "paid_time", "province", "city"]  # fmt: skip


def assert_same_orders(loaded, orders: pd.DataFrame) -> None:
    got = loaded.table.set_index("line_id").sort_index()
    want = orders.set_index("line_id").sort_index()
    assert len(got) == len(want)
    for c in COMPARE[2:]:
        if c.endswith("_time"):
            want[c] = want[c].astype("datetime64[ns]")
        pd.testing.assert_series_equal(
            got[c], want[c], check_dtype=False, check_names=False, check_index_type=False
        )
    assert got["order_id"].tolist() == want["order_id"].tolist()
    totals = got.groupby("order_id")[["paid_amount", "refund_amount"]].sum().round(2)
    wanted = want.groupby("order_id")[["paid_amount", "refund_amount"]].sum().round(2)
    pd.testing.assert_frame_equal(totals, wanted, check_index_type=False)


def assert_no_pii(loaded, pii: pd.DataFrame) -> None:
    text = all_text(loaded)
    for col in ("buyer_nick", "name", "phone", "email"):
        for v in pii[col]:
            assert v not in text and v.lower() not in text
    for v in pii["address"]:
        assert v.split()[-1] not in text  # the street part


def test_round_trip_taobao_classic(tmp_path):
    orders, pii = canonical_orders()
    paths = write_taobao_classic(orders, pii, tmp_path)
    assert [p.name for p in paths] == ["订单报表.csv", "宝贝报表.csv"]
    raw = paths[0].read_bytes()
    raw.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really GBK-family bytes
    text = raw.decode("gb18030")
    assert '"=""5100000000000000000"""' in text and "￥" in text and "\r\n合计," in text
    loaded = read_orders(paths, salt=SALT)
    assert_same_orders(loaded, orders)
    nick = pii.set_index("customer_id")["buyer_nick"]
    expected = pseudonymise(orders["customer_id"].map(nick), SALT)
    got = loaded.table.set_index("line_id")["customer_id"]
    assert got.loc[orders["line_id"]].tolist() == expected.tolist()
    assert loaded.table["device"].tolist() == orders["device"].tolist()
    assert loaded.rejects["reason"].tolist() == ["summary row (合计)"] * 2
    assert_no_pii(loaded, pii)
    assert_accounting(loaded)


def test_round_trip_shopify(tmp_path):
    orders, pii = canonical_orders(seed=9)
    path = write_shopify(orders, pii, tmp_path / "orders_export.csv")
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == SHOPIFY_HEADER
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    firsts = ~frame["Name"].duplicated()
    assert (frame.loc[~firsts, "Email"] == "").all()  # order fields on the first line only
    assert frame.loc[firsts, "Created at"].str.endswith("+0800").all()
    loaded = read_orders([path], salt=SALT)
    assert_same_orders(loaded, orders)
    mail = pii.set_index("customer_id")["email"].str.lower()
    expected = pseudonymise(orders["customer_id"].map(mail), SALT)
    got = loaded.table.set_index("line_id")["customer_id"]
    assert got.loc[orders["line_id"]].tolist() == expected.tolist()
    assert loaded.rejects.empty
    assert_no_pii(loaded, pii)


# ============================================================================ property


_digits = st.text(alphabet=string.digits, min_size=17, max_size=18)
_DIRT = ["none", "none", "none", "blank", "dup", "sum", "sci", "date", "money", "quote", "dot"]


@st.composite
def dirty_export(draw):
    n = draw(st.integers(1, 6))
    ids = draw(st.lists(_digits, min_size=n, max_size=n, unique=True))
    ids = [str(draw(st.integers(1, 9))) + i for i in ids]  # 18–19 digits, no leading zero
    orders, items = [], []
    for oid in ids:
        k = draw(st.integers(1, 3))
        orders.append((oid, draw(st.sampled_from(_DIRT))))
        items += [(oid, draw(st.sampled_from(_DIRT))) for _ in range(k)]
    enc = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    return orders, items, enc


def _cell_id(oid: str, dirt: str) -> str:
    return {"sci": f"{int(oid):.5E}", "quote": f"'{oid}",
            "dot": f"{oid}.00"}.get(dirt, f'="{oid}"')  # fmt: skip


def _near(oid: str, sci: str) -> bool:
    """Could the id written in scientific notation stand for ``oid``? (Excel rounds.)"""
    mant, exp = sci.split("E")
    half = 0.5 * 10 ** (int(exp) - len(mant.split(".")[1]))
    return abs(int(oid) - float(sci)) <= half


@given(dirty_export())
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_property_accounting_and_ids(tmp_path_factory, export):
    orders, items, enc = export
    d = tmp_path_factory.mktemp("prop")
    o_rows = [["订单编号", "买家会员名", "买家实际支付金额", "订单状态", "订单创建时间"]]
    for oid, dirt in orders:
        row = [_cell_id(oid, dirt), "tb_a", "￥1,000.00" if dirt != "money" else "1,0",
               "交易成功", "2025-01-03 12:00" if dirt != "date" else "2025-02-30"]  # fmt: skip
        o_rows.append(row)
        if dirt == "dup":
            o_rows.append(row)
        if dirt == "blank":
            o_rows.append([""] * 5)
        if dirt == "sum":
            o_rows.append(["合计", "", "1", "", ""])
    i_rows = [["订单编号", "标题", "价格", "购买数量"]]
    for k, (oid, dirt) in enumerate(items):
        row = [_cell_id(oid, dirt), f"t{k}", "￥10.00" if dirt != "money" else "x", "1"]
        i_rows.append(row)
        if dirt == "dup":
            i_rows.append(row)
        if dirt == "blank":
            i_rows.append(["", "", "", ""])
        if dirt == "sum":
            i_rows.append(["总计", "", "", "9"])
    o, i = d / "订单报表.csv", d / "宝贝报表.csv"
    o.write_bytes(csv_text(o_rows).encode(enc if enc != "utf-8-sig" else "utf-8-sig"))
    i.write_bytes(csv_text(i_rows).encode(enc if enc != "utf-8-sig" else "utf-8-sig"))
    loaded = read_orders([o, i], salt=SALT)
    assert_accounting(loaded)
    reads = {c.file: c.read for c in loaded.counts}
    assert reads == {"订单报表.csv": len(o_rows) - 1, "宝贝报表.csv": len(i_rows) - 1}
    ids = {oid for oid, _ in orders}
    got = set(loaded.table["order_id"])
    assert got <= ids  # every id kept is an id written, every digit intact
    assert all(
        lid.startswith(f"{oid}-") for oid, lid in loaded.table[["order_id", "line_id"]].values
    )
    bad = {oid for oid, dirt in orders if dirt in ("sci", "date", "money")}
    bad |= {oid for oid, dirt in items if dirt in ("sci", "money")}  # items carry no date
    lost = [_cell_id(oid, "sci") for oid, dirt in items if dirt == "sci"]
    bad |= {oid for oid, _ in orders if any(_near(oid, s) for s in lost)}
    clean_ids = {oid for oid, _ in orders} - bad
    assert got == clean_ids  # orders without a broken row are all there, broken ones are not
    lines = pd.Series([oid for oid, _ in items])
    assert (
        loaded.table["order_id"].value_counts().to_dict()
        == lines[lines.isin(clean_ids)].value_counts().to_dict()
    )
