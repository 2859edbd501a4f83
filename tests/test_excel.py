"""The one workbook writer (helpers/excel.py) and the workbooks a report hands over, read
back with openpyxl: localised headers, number formats, frozen headers, contents sheet,
code labels, product id beside title, charts."""

from __future__ import annotations

import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
from _sample_reports import SAMPLES, sample_reports  # noqa: F401 (fixture)

from helpers.deliver import excel, report, workbooks

SLOW = pytest.mark.slow
SNAKE = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")  # an internal key left as a header


def _table():
    return pd.DataFrame(
        {
            "title": ["法式醋酸裤子女2025新款", '=HYPERLINK("x")'],
            "product_id": ["6500007946", "6500000001"],
            "net_sales": [386764.69, np.nan],
            "share": [0.07294714312765979, np.inf],
            "orders": [648, 12],
            "date": pd.to_datetime(["2025-12-04", "2025-12-31"]),
            "stamp": pd.to_datetime(["2025-12-04 10:30", "2025-12-31 08:00"]),
            "status": ["late", "planned"],
        }
    )


def _head(ws):
    return [c.value for c in ws[1]]


def test_write_workbook_zh(tmp_path):
    path = excel.write_workbook(
        tmp_path / "b.xlsx",
        [
            {
                "name": "商品",
                "df": _table(),
                "chart": {"type": "column", "x": "title", "y": ["net_sales"]},
                "about": "商品表",
            }
        ],
        lang="zh",
        translate_codes=True,
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["目录", "商品"]
    toc = wb["目录"]
    assert _head(toc) == ["工作表", "行数", "内容"]
    assert toc["A2"].value == "商品" and toc["A2"].hyperlink.location == "'商品'!A1"
    assert toc["B2"].value == 2 and toc["C2"].value == "商品表"
    ws = wb["商品"]
    # catalogue headers, product id moved before the title
    assert _head(ws) == ["商品ID", "商品", "净销售额", "占比", "订单数", "日期", "stamp", "状态"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:H3"
    assert ws["A2"].value == "6500007946" and ws["A2"].data_type == "s"
    assert ws["B3"].value == '=HYPERLINK("x")' and ws["B3"].data_type == "s"
    assert ws["C2"].value == 386764.69 and ws["C2"].number_format == "#,##0.00"
    assert ws["D2"].value == pytest.approx(0.0729471431) and ws["D2"].number_format == "0.0%"
    assert ws["C3"].value is None and ws["D3"].value is None  # nan and inf: blank cells
    assert ws["E2"].value == 648 and ws["E2"].number_format == "#,##0"
    assert ws["F2"].number_format == "yyyy-mm-dd" and ws["F2"].value.day == 4
    assert ws["G2"].number_format == "yyyy-mm-dd hh:mm" and ws["G2"].value.hour == 10
    assert [ws["H2"].value, ws["H3"].value] == ["已逾期", "计划中"]  # task_late, task_planned
    # CJK characters count double: 13 characters of which 9 CJK = 22, + 2 margin = 24
    # (xlsxwriter stores 24 as 24.71 character units with its padding)
    assert ws.column_dimensions["B"].width == pytest.approx(24.71, abs=0.01)
    assert ws.column_dimensions["A"].width == pytest.approx(12.71, abs=0.01)  # 10 digits
    assert len(ws._charts) == 1


def test_write_workbook_en_without_contents(tmp_path):
    path = excel.write_workbook(
        tmp_path / "b.xlsx", [{"name": "t", "df": _table()}], lang="en", contents=False
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["t"]
    head = _head(wb["t"])
    assert head[:5] == ["product id", "product", "net sales", "share", "orders"]
    assert wb["t"]["H2"].value == "late"  # codes stay without translate_codes


def test_review_workbook_contents_and_formats(tmp_path):
    df = pd.DataFrame(
        {"月份": ["2025-01", "2025-02"], "实际": [100.0, 120.5], "完成率": [1.1, 0.9]}
    )
    spec = {
        "name": "实际与目标",
        "df": df,
        "chart": {"type": "column", "x": "月份", "y": ["实际"]},
        "money": ["实际"],
        "pct": ["完成率"],
    }
    wb = openpyxl.load_workbook(workbooks.write_review_xlsx(tmp_path / "r.xlsx", [spec], lang="en"))
    assert wb.sheetnames == ["Contents", "实际与目标"]
    ws = wb["实际与目标"]
    assert _head(ws) == ["月份", "实际", "完成率"] and ws.freeze_panes == "A2"
    assert ws["B3"].number_format == "#,##0.00" and ws["C2"].number_format == "0.0%"
    assert len(ws._charts) == 1


def test_plan_workbook_highlights_late_tasks_and_labels_codes(tmp_path):
    tasks = pd.DataFrame(
        {
            "campaign_id": ["2026-nianhuo"] * 2,
            "campaign": ["年货节"] * 2,
            "task": ["补货下单", "报名"],
            "start": pd.to_datetime(["2025-11-27", "2026-01-02"]),
            "due": pd.to_datetime(["2025-12-04", "2026-01-05"]),
            "days": [8, 4],
            "status": ["late", "planned"],
        }
    )
    camps = pd.DataFrame(
        {
            "campaign_id": ["2026-nianhuo"],
            "campaign": ["年货节"],
            "type": ["festival"],
            "expected_sales": [187148.2],
        }
    )
    path = workbooks.write_plan_xlsx(
        tmp_path / "p.xlsx",
        tasks,
        campaigns=camps,
        sheet_names=("执行计划", "活动"),
        status_labels={"late": "已逾期", "planned": "计划中"},
        lang="zh",
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["目录", "执行计划", "活动"]
    ws = wb["执行计划"]
    assert _head(ws) == ["活动", "任务", "开始", "截止", "天数", "状态"]
    assert ws["D2"].number_format == "yyyy-mm-dd" and ws["E2"].number_format == "#,##0"
    assert ws["F2"].value == "已逾期" and ws["F2"].fill.fgColor.rgb == "FFF8D7DA"
    assert ws["F3"].fill.fgColor.rgb != "FFF8D7DA"
    c = wb["活动"]
    assert "campaign_id" not in _head(c) and c["B2"].value == "平台大促"  # ctype_festival
    assert c["C2"].number_format == "#,##0.00"
    assert len(c._charts) == 1 and len(ws._charts) == 0  # expected sales by campaign


def test_segments_workbook_localised(tmp_path):
    seg = pd.DataFrame(
        {
            "customer_id": ["=1+2", "b", "c"],
            "segment": ["champions", "at_risk", "at_risk"],
            "rfm8": ["important_value", "general_keep", "general_keep"],
            "top": [True, False, False],
            "sales_rank": [1, 2, 3],
        }
    )
    index = workbooks.export_segments(seg, tmp_path, sheet_names={"top": "前20%客户"}, lang="zh")
    assert index["list"].iloc[0] == "top"  # the returned table keeps the keys
    wb = openpyxl.load_workbook(tmp_path / "segments.xlsx")
    assert wb.sheetnames[:2] == ["名单目录", "前20%客户"]
    lists = wb["名单目录"]
    assert _head(lists) == ["名单", "客户数", "文件", "工作表"] and lists.freeze_panes == "A2"
    assert lists["A2"].value == "前20%客户" and lists["B2"].value == 1
    assert lists["A3"].value == "champions"  # no name given: the key
    assert len(lists._charts) == 1  # list sizes, in constant-memory mode too
    top = wb["前20%客户"]
    assert _head(top) == ["客户ID（脱敏）"] and top["A2"].value == "=1+2"
    assert top["A2"].data_type == "s"


def test_raw_workbook_labels_headers_and_codes(tmp_path):
    df = pd.DataFrame({"product_id": ["p1"], "title": ["衬衫"], "lifecycle": ["declining"]})
    wb = openpyxl.load_workbook(report.excel_workbook(tmp_path / "x_raw_data.xlsx", [("货品", df)]))
    assert wb.sheetnames == ["目录", "货品"]
    assert wb["货品"]["C2"].value == "衰退"  # p03_lc_declining


# --- the three samples ---------------------------------------------------------------------


@SLOW
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_workbooks_read_back(sample_reports, name):  # noqa: F811
    out = sample_reports[name]
    books = sorted(out.glob("*.xlsx"))
    assert {b.name for b in books} >= {
        "review.xlsx",
        "execution_plan.xlsx",
        "segments.xlsx",
        f"{name}_raw_data.xlsx",
    }
    zh = name != "shopify"
    for b in books:
        wb = openpyxl.load_workbook(b)
        first = wb.worksheets[0].title
        assert first == ({"segments.xlsx": "名单目录"} if zh else {"segments.xlsx": "lists"}).get(
            b.name, "目录" if zh else "Contents"
        ), b.name
        for ws in wb.worksheets:
            assert ws.freeze_panes == "A2", (b.name, ws.title)
            head = [c.value for c in ws[1] if c.value is not None]
            assert head, (b.name, ws.title)
            if b.name != f"{name}_raw_data.xlsx":  # hand-over books: no internal keys
                assert not [h for h in head if SNAKE.match(str(h))], (b.name, ws.title, head)
    # specific cells: the execution plan's dates and the review's money and percentages
    plan = openpyxl.load_workbook(out / "execution_plan.xlsx").worksheets[1]
    head = [c.value for c in plan[1]]
    due = head.index("截止" if zh else "due") + 1
    assert plan.cell(row=2, column=due).number_format == "yyyy-mm-dd"
    review = openpyxl.load_workbook(out / "review.xlsx")
    month = review[review.sheetnames[1]]
    head = [c.value for c in month[1]]
    act = head.index("实际" if zh else "actual") + 1
    att = head.index("完成率" if zh else "attainment") + 1
    assert month.cell(row=2, column=act).number_format == "#,##0.00"
    assert month.cell(row=2, column=att).number_format == "0.0%"
    assert len(month._charts) == 1
    raw = openpyxl.load_workbook(out / f"{name}_raw_data.xlsx")
    assert len(raw.sheetnames) > 20
