"""Names from shop data or folders never write outside ``--out``; environment errors are clean.

Runs use an empty playbook folder (no notebooks): ``run_shop`` still loads the shop and writes
the workbook, index page and run.json, in well under a second per run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from helpers import cli
from helpers.load import artifacts
from helpers.run import batch, runner

ORDERS = (
    "order_id,line_id,customer_id,order_time,status,product_id,title,quantity,unit_price,"
    "paid_amount,refund_amount\n"
    "1,1,a,2024-03-01 10:00:00,paid,P1,衬衫,1,10,10,0\n"
    "2,1,b,2024-03-02 10:00:00,paid,P2,裙子,1,20,20,0\n"
)
HOSTILE_NAMES = [
    "../../escaped",
    "/tmp/absolute-shop",
    "..\\..\\windows",
    "．．／．．／fullwidth",  # look-alike dots and slash (U+FF0E, U+FF0F)
    "‥/one-dot-leader",  # U+2025
    "shop\u2215slash",  # division slash
    "con",
    "shop\nname",
]


def _shop(root: Path, folder: str, name: str) -> Path:
    d = root / folder
    d.mkdir(parents=True)
    (d / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (d / "shop.yaml").write_text(f"name: {name!r}\nsalt: s\n".replace("\\n", "\n"), "utf-8")
    return d


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture
def empty_playbook(tmp_path) -> Path:
    d = tmp_path / "playbook"
    d.mkdir()
    return d


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/b", "a.b", "ＡＢ", "", "x\x00"])
def test_artifact_names_cannot_leave_artifacts(tmp_path, name):
    with pytest.raises(ValueError):
        artifacts.save(tmp_path, name, {"a": 1})
    with pytest.raises(ValueError):
        artifacts.load(tmp_path, name)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_artifact_name_with_trailing_newline_is_refused(tmp_path):
    with pytest.raises(ValueError):
        artifacts.save(tmp_path, "loads\n", {"a": 1})


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_shop_name_cannot_steer_report_files(tmp_path, empty_playbook, name):
    root = tmp_path / "in"
    shop = _shop(root, "shop1", name)
    out = tmp_path / "work" / "out"
    before = _tree(tmp_path)
    res = runner.run_shop(shop, out, progress=False, playbook_dir=empty_playbook)
    assert res.out_dir == out.resolve()
    new = _tree(tmp_path) - before
    outside = [p for p in new if not p.resolve().is_relative_to(out.resolve())]
    # the report folder itself and its parent are created; nothing else
    assert set(outside) <= {out, out.parent}, outside
    assert (out / "index.html").exists() and (out / "shop1_raw_data.xlsx").exists()
    assert not list(tmp_path.glob(".*partial*")) and not list(out.parent.glob(".*partial*"))


@pytest.mark.parametrize(
    "folder", ["..shop", "shop..", "．．", "ｓｈｏｐ", "shop name", "店铺 ①", "-rf"]
)
def test_odd_shop_folder_names_stay_inside_out(tmp_path, empty_playbook, folder):
    shop = _shop(tmp_path / "in", folder, "x")
    out = tmp_path / "out" / folder
    runner.run_shop(shop, out, progress=False, playbook_dir=empty_playbook)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files and all(p.resolve().is_relative_to(out.resolve()) for p in files)
    assert (out / f"{folder}_raw_data.xlsx").exists()


def test_batch_slugs_are_plain_names(tmp_path):
    shops = []
    for parent, folder in [("a", "shop"), ("b", "shop"), ("c", "ｓｈｏｐ"), ("d", "..x")]:
        shops.append(_shop(tmp_path / parent, folder, folder))
    listing = tmp_path / "lists" / "shops.txt"
    listing.parent.mkdir()
    listing.write_text(
        "../a/shop\n" + f"{tmp_path / 'b' / 'shop'}\n" + "../c/ｓｈｏｐ\n../d/..x\n# ../../etc\n",
        encoding="utf-8",
    )
    found = batch.discover(listing)
    assert found == [s.resolve() for s in shops]
    slugs = batch._slugs(found)
    assert len(set(slugs)) == len(slugs)
    out = (tmp_path / "batch-out").resolve()
    for s in slugs:
        assert "/" not in s and "\\" not in s and s not in ("", ".", "..")
        assert (out / s).resolve().parent == out


def test_read_only_output_is_one_clean_error(tmp_path, capsys):
    """A report folder that cannot be created: one ``error:`` line, exit 2, nothing left."""
    shop = _shop(tmp_path / "in", "shop", "x")
    blocker = tmp_path / "ro"
    blocker.write_text("a file where a folder should be")  # works for root too (no chmod)
    rc = cli.main(["run", str(shop), "--out", str(blocker / "report"), "--only", "99"])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "ro" in lines[0], err
    assert blocker.read_text() == "a file where a folder should be"
    assert not [p for p in tmp_path.rglob("*partial*")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_chmod(tmp_path, capsys):
    shop = _shop(tmp_path / "in", "shop", "x")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc = cli.main(["run", str(shop), "--out", str(ro / "report"), "--only", "99"])
    finally:
        ro.chmod(0o755)
    assert rc == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert list(ro.iterdir()) == []


def test_failure_while_writing_leaves_no_partial_report(tmp_path, empty_playbook, monkeypatch):
    """The workbook writer dies (e.g. a missing font / full disk): no report, no partial."""
    shop = _shop(tmp_path / "in", "shop", "x")
    out = tmp_path / "out" / "shop"

    def boom(*a, **k):
        raise OSError(28, "No space left on device", str(out / "shop.xlsx"))

    monkeypatch.setattr(runner.report, "excel_workbook", boom)
    with pytest.raises(OSError):
        runner.run_shop(shop, out, progress=False, playbook_dir=empty_playbook)
    assert not out.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_failure_keeps_the_previous_report(tmp_path, empty_playbook, monkeypatch):
    shop = _shop(tmp_path / "in", "shop", "x")
    out = tmp_path / "out" / "shop"
    runner.run_shop(shop, out, progress=False, playbook_dir=empty_playbook)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    monkeypatch.setattr(
        runner.report, "index_html", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("font"))
    )
    with pytest.raises(RuntimeError):
        runner.run_shop(shop, out, progress=False, playbook_dir=empty_playbook)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["shop"]


def test_excel_sheet_titles_from_data_are_sanitised(tmp_path):
    from openpyxl import load_workbook

    from helpers.deliver import report

    df = pd.DataFrame({"a": [1]})
    path = report.excel_workbook(
        tmp_path / "x.xlsx", [("../../etc/passwd", df), ("a[1]:*?", df), ("", df)]
    )
    names = load_workbook(path, read_only=True).sheetnames
    assert all(not set(n) & set("[]:*?/\\") and 0 < len(n) <= 31 for n in names)
    assert [p.name for p in tmp_path.iterdir()] == ["x.xlsx"]
