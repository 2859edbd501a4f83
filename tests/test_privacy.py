"""No personal data from the inputs reaches any deliverable; shop text stays inert.

One small generated shop is written three ways (canonical CSVs, Taobao classic pair, Shopify
CSV) with the fake PII of :func:`helpers.datasets.sample.generate`, hostile titles and reviews; notebooks
00 and 04 run once per shop (a shared kernel pool) and every file of each report is scanned.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from helpers.datasets import sample
from helpers.load.adapters import writers
from helpers.run import kernels, notebooks, runner

SLOW = pytest.mark.slow  # ~100 s: three report runs

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    t = sample.generate(5, sample.SampleSize(n_customers=300, n_products=20))
    prods = t["products"].copy()
    for i, h in enumerate(HOSTILE):
        prods.loc[i, "title"] = f"{h} 衬衫{i}"
    t["products"] = prods
    titles = prods.set_index("product_id")["title"]
    t["orders"] = t["orders"].assign(title=t["orders"]["product_id"].map(titles))
    rev = t["reviews"].copy()
    rev.loc[: len(HOSTILE) - 1, "text"] = HOSTILE
    t["reviews"] = rev
    root = tmp_path_factory.mktemp("privacy")
    shops = {"canonical": sample.write_canonical_shop(t, root / "canonical", "隐私店", salt="s")}
    d = root / "taobao"
    d.mkdir()
    writers.write_taobao_classic(t["orders"], t["pii"], d)
    d2 = root / "shopify"
    d2.mkdir()
    writers.write_shopify(t["orders"], t["pii"], d2 / "orders_export.csv")
    for p in (d, d2):
        (p / "shop.yaml").write_text("name: 隐私店\nsalt: s\n", encoding="utf-8")
    shops["taobao"], shops["shopify"] = d, d2
    nbs = notebooks.notebooks(["00", "04"])
    pool = kernels.KernelPool(notebooks.PLAYBOOK_DIR, notebooks.notebook_imports(nbs))
    outs = {}
    try:
        for k, s in shops.items():
            res = runner.run_shop(
                s, root / "out" / k, only=["00", "04"], progress=False, kernels=pool
            )
            assert not res.failures, res.failures
            outs[k] = res.out_dir
    finally:
        pool.close()
    return t["pii"], outs


def _texts(out: Path):
    """(file, text) for every deliverable: HTML, ipynb, JSON, CSV, Parquet, xlsx XML."""
    for f in sorted(out.rglob("*")):
        if not f.is_file():
            continue
        if f.suffix == ".parquet":
            df = pd.read_parquet(f)
            yield f, df.to_csv() + " ".join(map(str, df.columns)) + str(df.index.tolist())
        elif f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                for n in z.namelist():
                    yield Path(f"{f}!{n}"), z.read(n).decode("utf-8", "replace")
        else:
            yield f, f.read_bytes().decode("utf-8", "replace")


@SLOW
@pytest.mark.parametrize("kind", ["canonical", "taobao", "shopify"])
def test_no_pii_in_any_deliverable(reports, kind):
    pii, outs = reports
    needles = set(pii["phone"]) | set(pii["email"]) | set(pii["address"]) | set(pii["buyer_nick"])
    needles |= {n for n in pii["name"] if len(n) >= 2}
    needles |= {a.split(" 人民路")[-1] for a in pii["address"]}  # street part alone
    needles = {n for n in needles if len(n) >= 2}
    pat = re.compile("|".join(map(re.escape, sorted(needles, key=len, reverse=True))))
    hits = []
    for f, text in _texts(outs[kind]):
        for m in pat.finditer(text):
            hits.append((f.name, m.group()))
    assert hits == [], hits[:20]


@SLOW
@pytest.mark.parametrize("kind", ["canonical", "taobao", "shopify"])
def test_no_raw_markup_from_shop_text_in_html(reports, kind):
    _, outs = reports
    for f in outs[kind].rglob("*.html"):
        text = f.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in text, f
        assert 'onerror="alert(2)' not in text and "<img src=x" not in text, f


@SLOW
@pytest.mark.parametrize("kind", ["canonical", "taobao", "shopify"])
def test_formulas_stay_strings_in_xlsx(reports, kind):
    from openpyxl import load_workbook

    _, outs = reports
    books = list(outs[kind].rglob("*.xlsx"))
    assert books
    for b in books:
        wb = load_workbook(b)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and c.value[:1] in "=+-@":
                        assert c.data_type == "s", (b.name, ws.title, c.coordinate, c.value)
                    assert c.data_type != "f", (b.name, ws.title, c.coordinate, c.value)


@SLOW
def test_executed_notebooks_are_json(reports):
    _, outs = reports
    for out in outs.values():
        for f in out.rglob("*.ipynb"):
            json.loads(f.read_text(encoding="utf-8"))


# --- fast checks on the writers themselves (no notebook run) -------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_excel_workbook_keeps_formulas_as_strings(tmp_path, text):
    from openpyxl import load_workbook

    from helpers.deliver import report

    df = pd.DataFrame({"title": [text], "n": [1]})
    wb = load_workbook(report.excel_workbook(tmp_path / "x.xlsx", [("t", df)]))
    cell = wb["t"]["A2"]
    assert cell.value == text and cell.data_type == "s"


def test_index_page_escapes_shop_name_and_load_report(tmp_path):
    from helpers.deliver import report

    load = pd.DataFrame({"file": [HOSTILE[0]], "read": [1], "kept": [1], "rejected": [0]})
    p = report.index_html(
        tmp_path / "i.html", HOSTILE[1], "2024-01-01", "zh", [], {"00": HOSTILE[0]}, load
    )
    text = p.read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<img src=x" not in text
