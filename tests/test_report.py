import json

import pandas as pd
from openpyxl import load_workbook

from helpers.deliver import report
from helpers.load import artifacts


def test_excel_keeps_formulas_inert(tmp_path):
    df = pd.DataFrame(
        {"title": ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "ok"]}
    )
    path = report.excel_workbook(tmp_path / "r.xlsx", [("商品", df)])
    ws = load_workbook(path)["商品"]
    values = [ws.cell(row=i, column=1).value for i in range(2, 7)]
    assert values == df["title"].tolist()
    assert all(ws.cell(row=i, column=1).data_type == "s" for i in range(2, 7))


def test_sheet_names_are_made_valid_and_unique(tmp_path):
    df = pd.DataFrame({"a": [1]})
    path = report.excel_workbook(
        tmp_path / "r.xlsx", [("a/b:c", df), ("a/b:c", df), ("x" * 40, df)]
    )
    assert load_workbook(path).sheetnames == ["目录", "abc", "abc_2", "x" * 31]  # contents first


def test_index_escapes_shop_text(tmp_path):
    p = report.index_html(
        tmp_path / "i.html",
        "<script>alert(1)</script>",
        "2025-12-31",
        "en",
        ["00_data_health"],
        {"00_data_health": "<img src=x onerror=a>"},
    )
    html = p.read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_artifacts_round_trip_and_sheets(tmp_path):
    df = pd.DataFrame({"x": [1, 2]})
    artifacts.save(tmp_path, "t1", df, sheet="Table one")
    artifacts.save(tmp_path, "meta", {"fy": 2026})
    assert artifacts.load(tmp_path, "t1").equals(df)
    assert artifacts.load(tmp_path, "meta") == {"fy": 2026}
    assert artifacts.load(tmp_path, "absent") is None
    assert [s for s, _ in artifacts.sheets(tmp_path)] == ["Table one"]


def test_sheets_follow_the_notebooks_order_not_the_finish_order(tmp_path):
    for name in ["drill_b", "late", "early", "drill_a", "stray"]:
        artifacts.save(tmp_path, name, pd.DataFrame({"x": [1]}), sheet=name.upper())
    got = [s for s, _ in artifacts.sheets(tmp_path, ["early", "drill_.*", "late"])]
    assert got == ["EARLY", "DRILL_B", "DRILL_A", "LATE", "STRAY"]


def test_concurrent_saves_keep_every_index_entry(tmp_path):
    """Two notebooks saving at once (processes): the locked index loses no entry."""
    import subprocess
    import sys

    code = (
        "import sys, pandas as pd\nfrom helpers.load import artifacts\n"
        "for i in range(40):\n"
        "    artifacts.save(sys.argv[1], f'{sys.argv[2]}_{i}', pd.DataFrame({'x': [i]}), sheet='s')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path), tag]) for tag in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    idx = json.loads((tmp_path / "artifacts" / "index.json").read_text())
    assert len(idx) == 80


def test_page_export_is_nbconvert_html_without_the_reparse():
    """The page exporter skips nbconvert's BeautifulSoup pass: its HTML, parsed the way that
    pass parses it, is the stock exporter's page, charts carry the same alt text, and
    shop text in a table stays escaped."""
    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 标题"),
        nbformat.v4.new_code_cell(
            "x",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", {"image/png": png, "text/plain": "<Figure>"}
                ),
                nbformat.v4.new_output(
                    "execute_result",
                    {
                        "text/html": "<table><tr><td>A&amp;B &lt;b&gt;</td><td>1,234</td></tr></table>"
                    },
                    execution_count=1,
                ),
                nbformat.v4.new_output("stream", text="a print\n"),
            ],
        ),
    ]
    ours, _ = report._exporter().from_notebook_node(nbformat.from_dict(nb))
    stock, _ = HTMLExporter(**report.PAGE_OPTIONS).from_notebook_node(nbformat.from_dict(nb))
    assert str(BeautifulSoup(ours, features="html.parser")) == stock
    assert ours.count('<img alt="No description has been provided for this image" ') == 1
    assert "A&amp;B &lt;b&gt;" in ours and "<b>" not in ours
