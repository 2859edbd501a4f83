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


def _parts(path) -> dict:
    """The workbook's XML parts, less the creation time."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _save_tables(out, names, scale=1):
    for i, name in enumerate(names):
        df = pd.DataFrame(
            {"product_id": [f"p{i}", "q"], "net_sales": [10.5 * scale * (i + 1), 2.0]}
        )
        artifacts.save(out, name, df, sheet=f"表{name}")


ORDER = ["a_one", "b_.*", "c_three"]  # three notebooks' saved-name patterns, in playbook order


def test_raw_workbook_written_while_the_notebooks_run_is_the_one_written_at_the_end(tmp_path):
    out = tmp_path / "run"
    raw = report.RawWorkbook(tmp_path / "early.xlsx", out, ORDER, lang="en")
    _save_tables(out, ["c_three"])  # the last notebook finishes first: nothing is ready
    raw.add_ready(0)
    _save_tables(out, ["a_one", "zz_unplanned"])
    raw.add_ready(1)  # the first notebook's table only
    _save_tables(out, ["b_2", "b_1"])
    raw.add_ready(3)
    assert [name for name, _, _ in raw._written] == ["a_one", "b_2", "b_1", "c_three"]
    raw.finish(fallback=[])
    end = report.excel_workbook(
        tmp_path / "end.xlsx", artifacts.sheets(out, ORDER), lang="en", contents=True
    )
    wb = load_workbook(tmp_path / "early.xlsx")
    assert wb.sheetnames[1:] == ["表a_one", "表b_2", "表b_1", "表c_three", "表zz_unplanned"]
    assert wb["表b_1"]["B2"].value == 21.0
    assert _parts(tmp_path / "early.xlsx") == _parts(end)


def test_raw_workbook_starts_again_when_an_early_table_changes_or_one_turns_up_before(tmp_path):
    out = tmp_path / "run"
    raw = report.RawWorkbook(tmp_path / "early.xlsx", out, ORDER, lang="en")
    _save_tables(out, ["a_one", "c_three"])
    raw.add_ready(3)  # a_one and c_three written
    _save_tables(out, ["b_1"])  # a later notebook saves under b_.*: belongs before c_three
    raw.finish(fallback=[])
    assert load_workbook(tmp_path / "early.xlsx").sheetnames[1:] == [
        "表a_one",
        "表b_1",
        "表c_three",
    ]

    raw = report.RawWorkbook(tmp_path / "again.xlsx", out, ORDER, lang="en")
    raw.add_ready(3)
    _save_tables(out, ["a_one"], scale=100)  # re-saved after it was written
    raw.finish(fallback=[])
    assert load_workbook(tmp_path / "again.xlsx")["表a_one"]["B2"].value == 1050.0
    assert load_workbook(tmp_path / "again.xlsx")["表b_1"]["B2"].value == 10.5
    end = report.excel_workbook(tmp_path / "end.xlsx", artifacts.sheets(out, ORDER), lang="en")
    assert _parts(tmp_path / "again.xlsx") == _parts(end)


def test_raw_workbook_without_tables_holds_the_fallback(tmp_path):
    raw = report.RawWorkbook(tmp_path / "r.xlsx", tmp_path / "run", ORDER, lang="en")
    raw.add_ready(3)
    raw.finish(fallback=[("load", pd.DataFrame({"rows": [5]}))])
    assert load_workbook(tmp_path / "r.xlsx").sheetnames[1:] == ["load"]


def test_a_notebook_started_early_loads_once_what_it_needs_has_ended(tmp_path):
    """ctx.load waits for the notebooks a run said this one needs; without that word from a
    run (JupyterLab, nbval) it loads at once."""
    import threading
    import time

    from helpers.nb import Context

    out = tmp_path / "run"
    artifacts.save(out, "targets_meta", {"year": 2025})
    ctx = Context(shop=None, out_dir=out, lang="en", page="03_product_analysis")
    assert ctx.load("targets_meta") == {"year": 2025}  # no run's word: at once
    artifacts.expect(out, {"03_product_analysis": ["02_target_setting"]})

    def end_02():
        time.sleep(0.3)
        artifacts.save(out, "targets_meta", {"year": 2026})
        artifacts.mark_done(out, "02_target_setting")

    t0 = time.perf_counter()
    threading.Thread(target=end_02).start()
    assert ctx.load("targets_meta") == {"year": 2026}
    assert time.perf_counter() - t0 >= 0.3
    other = Context(shop=None, out_dir=out, lang="en", page="04_customer_analysis")
    assert other.load("targets_meta") == {"year": 2026}  # waits for nothing


def test_a_name_saved_once_is_loaded_as_soon_as_it_is_saved(tmp_path):
    """In a run with early starts, a table its notebook saves at one place only is loaded
    once saved, before that notebook ends; one it saves more than once waits for its end;
    one it does not save waits for nothing."""
    import threading
    import time

    from helpers.nb import Context

    out = tmp_path / "run"
    artifacts.save(out, "targets_meta", {"year": 2025})  # an earlier run's, in the copy
    artifacts.expect(
        out,
        {"03_product_analysis": ["02_target_setting"]},
        {"02_target_setting": ["targets_meta", "role_mix"]},
        {"02_target_setting": ["targets_meta"]},
    )
    ctx = Context(shop=None, out_dir=out, lang="en", page="03_product_analysis")
    saved, ended = threading.Event(), threading.Event()

    def run_02():
        time.sleep(0.2)
        artifacts.save(out, "targets_meta", {"year": 2026})
        artifacts.save(out, "role_mix", {"first": 1})
        saved.set()
        time.sleep(0.4)
        artifacts.save(out, "role_mix", {"first": 2})
        artifacts.mark_done(out, "02_target_setting")
        ended.set()

    threading.Thread(target=run_02).start()
    assert ctx.load("product_abc") is None and not saved.is_set()  # not 02's: no wait
    assert ctx.load("targets_meta") == {"year": 2026}  # the run's, not the earlier one
    assert not ended.is_set()  # before 02 ended
    assert ctx.load("role_mix") == {"first": 2}  # saved twice: 02's end
    assert ended.is_set()
