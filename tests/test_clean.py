"""The dirt of real exports: each cleaning function against hand-checked values."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
import pytest
from openpyxl import Workbook

from helpers.core.errors import LoadError
from helpers.load.adapters import clean

ID19 = "5123456789012345678"  # 19 digits: beyond float precision
ID18 = "123456789012345678"


def write(path, text: str, encoding: str = "utf-8", bom: bool = False) -> None:
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


# ----------------------------------------------------------------------------- read_raw


@pytest.mark.parametrize(
    "encoding, bom, expected",
    [("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig"), ("gbk", False, "gb18030")],
)
def test_read_raw_encodings(tmp_path, encoding, bom, expected):
    f = tmp_path / "订单.csv"
    write(f, "订单编号,标题\n" + f'="{ID19}",女装￥外套\n', encoding, bom)
    df, enc = clean.read_raw(f)
    assert enc == expected
    assert list(df.columns) == ["订单编号", "标题", "_source_row"]  # BOM not in the header
    assert df.loc[0, "订单编号"] == f'="{ID19}"'
    assert df.loc[0, "标题"] == "女装￥外套"


def test_read_raw_gbk_file_with_ascii_head(tmp_path):
    """UTF-8 in the first megabyte, GBK later: re-read as GB18030, nothing garbled."""
    f = tmp_path / "late.csv"
    head = "id,title\n" + "".join(f"{i},x\n" for i in range(200_000))
    f.write_bytes(head.encode("ascii") + "9,外套\n".encode("gbk"))
    df, enc = clean.read_raw(f)
    assert enc == "gb18030"
    assert df["title"].iloc[-1] == "外套"


def test_read_raw_utf16_tab_separated(tmp_path):
    f = tmp_path / "excel_unicode.txt"
    f.write_bytes("id\tname\n1\t甲\n".encode("utf-16"))
    df, enc = clean.read_raw(f)
    assert enc == "utf-16"
    assert df.loc[0, "name"] == "甲"


def test_read_raw_strips_header_names(tmp_path):
    f = tmp_path / "h.csv"
    write(f, "\ufeff 订单编号 ,买家会员名\u3000,\t价格\n1,a,2\n")
    df, _ = clean.read_raw(f)
    assert list(df.columns)[:3] == ["订单编号", "买家会员名", "价格"]


def test_read_raw_keeps_ids_as_text(tmp_path):
    f = tmp_path / "ids.csv"
    write(f, f"id,sku,amount\n{ID19},00123,1.50\n{ID18},0,2\n")
    df, _ = clean.read_raw(f)
    assert df["id"].tolist() == [ID19, ID18]
    assert df["sku"].tolist() == ["00123", "0"]
    assert df["amount"].tolist() == ["1.50", "2"]


def test_read_raw_blank_rows_counted_with_line_numbers(tmp_path):
    f = tmp_path / "b.csv"
    write(f, "a,b\n1,x\n\n , \n2,y\n,,\n")
    df, _ = clean.read_raw(f)
    assert df["a"].tolist() == ["1", "2"]
    assert df["_source_row"].tolist() == [2, 5]  # header is line 1
    assert df.attrs["blank_rows"] == [3, 4, 6]


def test_read_raw_ragged_rows(tmp_path):
    """Trailing commas (common in Chinese exports) are fine; a value past the header is not."""
    f = tmp_path / "r.csv"
    write(f, "a,b,\n1,2,\n3,4,,\n5,6,7\n")
    df, _ = clean.read_raw(f)
    assert list(df.columns) == ["a", "b", "_source_row"]
    assert df["a"].tolist() == ["1", "3", "5"]
    assert df.attrs["overlong_rows"] == [4]


def test_read_raw_quoted_newline_numbers_records(tmp_path):
    f = tmp_path / "q.csv"
    write(f, 'a,note\n1,"two\nlines"\n2,x\n')
    df, _ = clean.read_raw(f)
    assert df["note"].tolist() == ["two\nlines", "x"]
    assert df["_source_row"].tolist() == [2, 3]  # the row numbers Excel shows


def test_read_raw_header_only_is_zero_rows(tmp_path):
    f = tmp_path / "h.csv"
    write(f, "a,b\n")
    df, _ = clean.read_raw(f)
    assert len(df) == 0 and list(df.columns) == ["a", "b", "_source_row"]


def test_read_raw_empty_file(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(LoadError, match=r"^empty.csv: empty file$"):
        clean.read_raw(f)


def test_read_raw_duplicated_column_names(tmp_path):
    f = tmp_path / "d.csv"
    write(f, "订单编号,价格,价格 \n1,2,3\n")
    with pytest.raises(LoadError) as e:
        clean.read_raw(f)
    assert str(e.value) == "d.csv: column '价格': duplicated column name"


def test_read_raw_xlsx(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["订单编号", "数量", "时间", "子订单编号"])
    ws.append([float(ID19), 2, pd.Timestamp("2025-01-03 12:00:00").to_pydatetime(), ID18])
    ws.append([None, None, None, None])
    ws.append([123.0, 1.5, "2025/1/3", "7"])
    wb.save(tmp_path / "o.xlsx")
    df, enc = clean.read_raw(tmp_path / "o.xlsx")
    assert enc == "xlsx"
    # a 19-digit id stored as a number has already lost digits: kept in scientific notation
    # so that parse_id rejects it instead of inventing digits
    assert "e+18" in df.loc[0, "订单编号"]
    assert clean.parse_id(df["订单编号"]).bad.tolist() == [True, False]
    assert df["订单编号"].tolist()[1] == "123"
    assert df["数量"].tolist() == ["2", "1.5"]
    assert df.loc[0, "时间"] == "2025-01-03 12:00:00"
    assert df["子订单编号"].tolist() == [ID18, "7"]
    assert df.attrs["blank_rows"] == [3]
    assert df["_source_row"].tolist() == [2, 4]


# ----------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    "text, value",
    [
        ("1234.5", 1234.5),
        ("¥1,234.50", 1234.5),
        ("￥1,234.50", 1234.5),
        ("$ 12", 12.0),
        ("12元", 12.0),
        (" 1 234 ", 1234.0),
        ("(3.00)", -3.0),
        ("-¥5.10", -5.1),
        ("１２３．５", 123.5),  # full-width digits
        ("RMB 8", 8.0),
        ('="9.90"', 9.9),
        ("0", 0.0),
    ],
)
def test_parse_money(text, value):
    p = clean.parse_money(pd.Series([text]))
    assert p.values.iloc[0] == pytest.approx(value)
    assert not p.bad.iloc[0]


@pytest.mark.parametrize("text", ["1,2", "abc", "12.3.4", "¥"])
def test_parse_money_unparseable_is_flagged(text):
    p = clean.parse_money(pd.Series([text]))
    assert math.isnan(p.values.iloc[0]) and p.bad.iloc[0]
    assert p.reason.iloc[0] == f"unparseable amount '{text}'"


def test_parse_money_empty_is_missing_not_bad():
    p = clean.parse_money(pd.Series(["", "-", "  "]))
    assert p.values.isna().all() and not p.bad.any()


def test_parse_money_zero_words():
    p = clean.parse_money(pd.Series(["无退款申请", "12"]), zero_words=("无退款申请",))
    assert p.values.tolist() == [0.0, 12.0]


@pytest.mark.parametrize(
    "text, currency, value",
    [
        ("¥1,000.00", "CNY", 1000.0),
        ("￥1,000.00", "CNY", 1000.0),  # full-width yen sign
        ("12元", "CNY", 12.0),
        ("RMB 8", "CNY", 8.0),
        ("(12.50)", "CNY", -12.5),  # no marker: the shop's currency
        ("(¥12.50)", "CNY", -12.5),
        ("1,234.5", "USD", 1234.5),
        ("US$5", "USD", 5.0),
        ("$ 1,000", "USD", 1000.0),
        ("5 usd", "USD", 5.0),
        ("HK$5", "HKD", 5.0),
        ("JP¥100", "JPY", 100.0),
        ("100円", "JPY", 100.0),
        ("€3.50", "EUR", 3.5),
        ("¥8", "rmb", 8.0),  # the shop's code is read case-insensitively, RMB = CNY
    ],
)
def test_parse_money_in_the_shops_currency(text, currency, value):
    p = clean.parse_money(pd.Series([text]), currency=currency)
    assert p.values.iloc[0] == pytest.approx(value)
    assert not p.bad.iloc[0] and p.reason.iloc[0] == ""


@pytest.mark.parametrize(
    "text, currency, named",
    [
        ("$5", "CNY", "USD"),
        ("$100.00", "CNY", "USD"),
        ("US$5", "CNY", "USD"),
        ("100美元", "CNY", "USD"),  # 美元 holds 元 but is the dollar
        ("HK$5", "USD", "HKD"),
        ("NT$5", "USD", "TWD"),
        ("A$5", "USD", "AUD"),
        ("C$5", "USD", "CAD"),
        ("S$5", "USD", "SGD"),
        ("€5", "CNY", "EUR"),
        ("£5", "CNY", "GBP"),
        ("JP¥500", "CNY", "JPY"),
        ("¥500", "JPY", "CNY"),  # ¥ alone is the yuan
        ("12元", "USD", "CNY"),
        ("5 EUR", "USD", "EUR"),
    ],
)
def test_parse_money_in_another_currency_is_bad(text, currency, named):
    p = clean.parse_money(pd.Series([text, "7"]), currency=currency)
    assert p.bad.tolist() == [True, False]
    assert math.isnan(p.values.iloc[0]) and p.values.iloc[1] == 7.0
    assert p.reason.iloc[0] == (f"amount '{text}' is in {named}, the shop's currency is {currency}")


def test_parse_money_currency_edge_cases():
    p = clean.parse_money(
        pd.Series(["US$5 元", "USD", "$abc", "", "-", "无退款申请", "¥5", "$5", "¥5"]),
        zero_words=("无退款申请",),
        currency="CNY",
    )
    assert p.bad.tolist() == [True, True, True, False, False, False, False, True, False]
    assert p.reason.iloc[0] == (
        "amount 'US$5 元' is in more than one currency, the shop's currency is CNY"
    )
    assert p.reason.iloc[1] == "unparseable amount 'USD'"  # a marker without an amount
    assert p.reason.iloc[2] == "unparseable amount '$abc'"
    assert p.values.iloc[5] == 0.0 and p.values.iloc[6] == p.values.iloc[8] == 5.0


def test_parse_money_without_currency_is_unchanged():
    texts = pd.Series(["$5", "¥5", "HK$5", "€5"])
    p = clean.parse_money(texts)
    assert p.values.iloc[[0, 1, 3]].tolist() == [5.0, 5.0, 5.0]
    assert p.bad.tolist() == [False, False, True, False]
    assert p.reason.iloc[2] == "unparseable amount 'HK$5'"


def test_parse_int_and_rate():
    q = clean.parse_int(pd.Series(["3", "3.0", "1,200", "2.5", "x"]))
    assert q.values.iloc[:3].tolist() == [3.0, 3.0, 1200.0]
    assert q.bad.tolist() == [False, False, False, True, True]
    assert q.reason.iloc[3] == "not a whole number '2.5'"
    r = clean.parse_rate(pd.Series(["3.5%", "0.035", "５０％", "5", ""]))
    assert r.values.iloc[:3].tolist() == pytest.approx([0.035, 0.035, 0.5])
    assert r.bad.tolist() == [False, False, False, True, False]
    assert "outside 0–1" in r.reason.iloc[3]


# ----------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    "text, value",
    [
        (f'="{ID19}"', ID19),
        (f"'{ID18}", ID18),
        (f"{ID19}.00", ID19),
        (f"{ID18}.0", ID18),
        (f" {ID19}\t", ID19),
        ("１２３", "123"),
        ("#1001", "#1001"),
        ("SKU-A.5", "SKU-A.5"),
        ("00123", "00123"),
    ],
)
def test_parse_id_keeps_every_digit(text, value):
    p = clean.parse_id(pd.Series([text]))
    assert p.values.iloc[0] == value and not p.bad.iloc[0]


@pytest.mark.parametrize("text", ["1.23457E+18", "5.12345678901235e+18", "1E+19"])
def test_parse_id_scientific_notation_rejected(text):
    p = clean.parse_id(pd.Series([text]))
    assert p.bad.iloc[0] and pd.isna(p.values.iloc[0])
    assert p.reason.iloc[0] == f"in scientific notation loses digits ('{text}')"


def test_parse_id_empty_is_missing():
    p = clean.parse_id(pd.Series(["", "  ", '=""']))
    assert p.values.isna().all() and not p.bad.any()


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text, value",
    [
        ("2025-01-03 12:00:00", "2025-01-03 12:00:00"),
        ("2025-01-03 12:00", "2025-01-03 12:00:00"),
        ("2025/1/3 12:00", "2025-01-03 12:00:00"),
        ("2025/01/03", "2025-01-03 00:00:00"),
        ("2025.1.3", "2025-01-03 00:00:00"),
        ("2025年1月3日", "2025-01-03 00:00:00"),
        ("2025年1月3日 12时30分", "2025-01-03 12:30:00"),
        ("2025-01-03T12:00:00.250", "2025-01-03 12:00:00.250"),
        ("2025-01", "2025-01-01 00:00:00"),
        # offsets become the shop's time (Asia/Shanghai, +08:00), then naive
        ("2025-01-03 12:00:00 +0800", "2025-01-03 12:00:00"),
        ("2025-01-03 12:00:00 -0500", "2025-01-04 01:00:00"),
        ("2025-01-03T04:00:00Z", "2025-01-03 12:00:00"),
        ("2025-01-03T12:00:00+08:00", "2025-01-03 12:00:00"),
        ("45660.5", "2025-01-03 12:00:00"),  # an Excel serial day number
    ],
)
def test_parse_datetime(text, value):
    p = clean.parse_datetime(pd.Series([text]), tz="Asia/Shanghai")
    assert p.values.iloc[0] == pd.Timestamp(value)
    assert not p.bad.iloc[0]


def test_parse_datetime_other_timezone():
    p = clean.parse_datetime(pd.Series(["2025-07-03 12:00:00 +0000"]), tz="America/New_York")
    assert p.values.iloc[0] == pd.Timestamp("2025-07-03 08:00:00")  # EDT


@pytest.mark.parametrize("text", ["2025-13-45", "2025-02-30 10:00:00", "yesterday", "03/01/25"])
def test_parse_datetime_unparseable(text):
    p = clean.parse_datetime(pd.Series([text, "2025-01-03 12:00:00"]))
    assert p.bad.tolist() == [True, False]
    assert p.reason.iloc[0] == f"unparseable date '{text}'"


def test_parse_datetime_mixed_column_and_missing():
    p = clean.parse_datetime(pd.Series(["2025/1/3 12:00", "", "2025-01-03 12:00:00", "-"]))
    assert p.values.iloc[0] == p.values.iloc[2] == pd.Timestamp("2025-01-03 12:00")
    assert p.values.iloc[[1, 3]].isna().all() and not p.bad.any()


# ----------------------------------------------------------------------------- summary rows


def test_summary_rows():
    df = pd.DataFrame(
        {
            "订单编号": ["1", "合计", "", "Total: 5", "Totally", "小计：", "", "汇总"],
            "金额": ["3", "9", "总计", "", "", "", "合 计", ""],
        }
    )
    lab = clean.summary_label(df).fillna("-").tolist()
    assert lab == ["-", "合计", "总计", "Total", "-", "小计", "合计", "汇总"]
    assert clean.is_summary_row(df).tolist() == [False, True, True, True, False, True, True, True]


def test_summary_row_by_id_column():
    df = pd.DataFrame({"店铺": ["小店", "小店"], "订单编号": ["1", "合计"]})
    assert clean.is_summary_row(df).tolist() == [False, False]
    assert clean.is_summary_row(df, id_col="订单编号").tolist() == [False, True]


# ----------------------------------------------------------------------------- privacy


def test_pseudonymise_is_salted_sha256_16():
    out = clean.pseudonymise(pd.Series(["tb_小明", None, "", "tb_小明", "b@x.com"]), "s3cret")
    expected = hashlib.sha256("s3cret:tb_小明".encode()).hexdigest()[:16]
    assert out.iloc[0] == out.iloc[3] == expected
    assert out.iloc[1] is None and out.iloc[2] is None
    assert out.iloc[4] != expected and len(out.iloc[4]) == 16
    assert clean.pseudonymise(pd.Series(["tb_小明"]), "other").iloc[0] != expected
    with pytest.raises(ValueError):
        clean.pseudonymise(pd.Series(["a"]), "")


@pytest.mark.parametrize(
    "header",
    [
        "买家会员名",
        "买家支付宝账号",
        "收货人姓名",
        "收货地址",
        "联系电话",
        "联系手机",
        "手机",
        "电话",
        "Email",
        "Billing Name",
        "Billing Address1",
        "Billing Street",
        "Billing Phone",
        "Shipping Name",
        "Shipping Address2",
        "Shipping Street",
        "Shipping Phone",
        "Phone",
        "Customer name",
        " 买家留言 ",
    ],
)
def test_pii_headers(header):
    assert clean.is_pii(header)


@pytest.mark.parametrize("header", ["订单编号", "Shipping Province", "Shipping City", "标题"])
def test_not_pii_headers(header):
    assert not clean.is_pii(header)


def test_drop_pii():
    df = pd.DataFrame(columns=["订单编号", "买家会员名", "收货地址", "Shipping City"])
    out, gone = clean.drop_pii(df)
    assert list(out.columns) == ["订单编号", "Shipping City"]
    assert gone == ["买家会员名", "收货地址"]


# ----------------------------------------------------------------------------- apportion


def test_apportion_is_exact_to_the_cent():
    total = pd.Series([100.0, 100.0, 100.0, 10.0, 10.0, 0.05, 0.05])
    weight = pd.Series([1.0, 1.0, 1.0, 0.0, 0.0, 3.0, 1.0])
    group = pd.Series(list("AAABBCC"))
    out = clean.apportion(total, weight, group)
    assert out.tolist() == [33.34, 33.33, 33.33, 5.0, 5.0, 0.04, 0.01]
    assert out.groupby(group).sum().round(2).tolist() == [100.0, 10.0, 0.05]


def test_duplicate_first():
    df = pd.DataFrame({"a": ["1", "2", "1", "1", "3", "2"], "b": ["x", "y", "x", "z", "q", "y"]})
    assert clean.duplicate_first(df).tolist() == [-1, -1, 0, -1, -1, 1]


def test_row_values_text():
    df = pd.DataFrame({"订单编号": ["1"], "标题": [""], "价格": ["￥2"], "_source_row": [2]})
    assert clean.row_values_text(df).tolist() == ["订单编号=1; 价格=￥2"]
