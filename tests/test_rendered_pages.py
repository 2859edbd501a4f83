"""Every rendered page of the three sample shops reads clean, and 03 and 05 agree on stock.

The three samples (demo, taobao, shopify) run once each, from the notebooks' ``.py`` sources
(so the test checks the code, not a stale ``.ipynb``). Every HTML page of every report is then
read as a reader sees it (tags, scripts and styles removed, entities decoded) and must hold
no ``inf%``, ``nan``/``NaN``, ``None``, ``**`` or other raw Markdown (a heading's ``#`` at a
line start, a ``[text](link)``, a backtick).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers.load import artifacts
from helpers.run import runner

ROOT = Path(__file__).resolve().parents[1]
SHOPS = ("demo", "taobao", "shopify")

BAD = {
    "inf%": re.compile(r"inf%"),
    "inf": re.compile(r"(?<![\w-])-?inf(?![\w-])"),
    "nan": re.compile(r"(?<![\w-])nan(?![\w-])"),
    "NaN": re.compile(r"(?<![\w-])NaN(?![\w-])"),
    "NaT": re.compile(r"(?<![\w-])NaT(?![\w-])"),
    "None": re.compile(r"(?<![\w-])None(?![\w-])"),
    "**": re.compile(r"\*\*"),
    "heading": re.compile(r"(?m)^[ \t]*#{1,6} "),
    "link": re.compile(r"\[[^\]\n]+\]\([^)\n]+\)"),
    "backtick": re.compile(r"`"),
    "band a–a": re.compile(r"(?<![\d.,])(\d[\d,.]*)–\1(?![\d.,])"),
}


def page_text(path: Path) -> str:
    """What a reader of the page sees: scripts, styles and tags removed, entities decoded."""
    t = path.read_text(encoding="utf-8")
    t = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", t, flags=re.S | re.I)
    t = re.sub(r"<!--.*?-->", " ", t, flags=re.S)
    t = re.sub(r"<(br|p|div|tr|li|h\d)\b[^>]*>", "\n", t, flags=re.I)
    t = re.sub(r"<[^>]+>", " ", t)
    return html.unescape(t)


def problems(text: str) -> list[str]:
    out = []
    for name, pat in BAD.items():
        for m in pat.finditer(text):
            out.append(f"{name}: …{text[max(0, m.start() - 50) : m.end() + 30]!r}…")
    return out


def test_scan_finds_what_it_must():
    assert problems("Thu is best (inf% apart)")
    assert problems("At pace $593,377** needs **$2,872")
    assert problems("rating None and nan")
    assert problems("price band 2–2 holds 3")
    assert not problems("price band 2–2.5 holds 3; 1,200–1,500; none of it; infinite; nano")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """The three samples, run once each from the notebook sources."""
    pb = tmp_path_factory.mktemp("playbook")
    for src in sorted((ROOT / "playbook").glob("[0-9][0-9]_*.py")):
        shutil.copy(src, pb / src.name)
    out = {}
    for shop in SHOPS:
        dest = tmp_path_factory.mktemp("rep") / shop
        res = runner.run_shop(
            ROOT / "data" / "sample" / shop, dest, progress=False, playbook_dir=pb
        )
        assert res.ok, f"{shop}: {res.failures}"
        out[shop] = dest
    return out


@pytest.mark.parametrize("shop", SHOPS)
def test_no_raw_markdown_inf_nan_none_on_any_page(reports, shop):
    pages = sorted(reports[shop].rglob("*.html"))
    assert len(pages) >= 8  # index + the seven notebooks
    found = {p.name: problems(page_text(p)) for p in pages}
    found = {k: v[:5] for k, v in found.items() if v}
    assert not found, found


def test_03_and_05_agree_on_every_reorder(reports):
    out = reports["demo"]
    r03 = artifacts.load(out, "stock_reorders")  # 03: every product × event of the model
    r05 = artifacts.load(out, "hero_stock")  # 05: the heroes' rows
    risk = artifacts.load(out, "product_stock_risk")  # 03's table
    assert len(r05) and len(r03)
    both = r05.merge(r03, on=["product_id", "event"], suffixes=("_05", "_03"))
    # every 05 row of an event inside 03's horizon is in 03
    horizon_end = r03["end"].max()
    assert len(both) == int((r05["end"] <= horizon_end).sum()) > 0
    assert (both["reorder_qty_05"] == both["reorder_qty_03"]).all()
    assert (both["latest_order_date_05"] == both["latest_order_date_03"]).all()
    assert (both["need_05"] == both["need_03"]).all()
    # 03's table shows each product's first reorder: the same number and date as the rows
    first = (
        r03[r03["reorder_qty"] > 0]
        .sort_values(["end", "launch", "event"], kind="stable")
        .groupby("product_id")
        .first()
    )
    t = risk.set_index("product_id").loc[first.index]
    assert (t["node"] == first["event"]).all()
    assert (t["shortfall"] == first["reorder_qty"]).all()
    assert (pd.to_datetime(t["reorder_by"]) == first["latest_order_date"]).all()
