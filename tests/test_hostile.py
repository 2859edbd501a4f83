"""Hostile inputs through ``playbook check`` (issue #8).

Every case of ``tests/hostile/make_corpus.py`` either loads (exit 0, and per file read ==
kept + rejected) or fails with exactly one stderr line ``error: …`` naming the file (and the
column / words the case asks for) — never a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers import cli
from helpers.load.shop import load_shop

_spec = importlib.util.spec_from_file_location(
    "make_corpus", Path(__file__).parent / "hostile" / "make_corpus.py"
)
mc = importlib.util.module_from_spec(_spec)
sys.modules["make_corpus"] = mc
_spec.loader.exec_module(mc)

XFAIL: dict[str, str] = {}  # case name -> reason, for known defects (strict xfail)


def _params():
    for name, _files, exp in mc.CASES:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[name])] if name in XFAIL else []
        yield pytest.param(name, exp, id=name, marks=marks)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return mc.build(tmp_path_factory.mktemp("hostile"))


def test_corpus_is_big_enough_and_small():
    assert len(mc.CASES) >= 40
    assert len({c[0] for c in mc.CASES}) == len(mc.CASES)


def test_committed_corpus_is_small():
    d = Path(__file__).parent / "hostile"
    assert sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) < 1_000_000


def _check(shop_dir: Path, capsys) -> tuple[int, str, str]:
    try:
        rc = cli.main(["check", str(shop_dir), "--rejects", os.devnull])  # not into reports/
    except SystemExit as e:  # argparse or a stray exit: still no traceback allowed
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_accounting(shop_dir: Path, exp) -> None:
    shop = load_shop(shop_dir)
    rep = shop.report
    assert (rep["read"] == rep["kept"] + rep["rejected"]).all(), rep
    rejects = shop.rejects
    for table, rows in rep.groupby("table"):
        n_rej = int((rejects["table"] == table).sum()) if "table" in rejects else 0
        assert n_rej == int(rows["rejected"].sum()), (table, rejects)
    orders = rep[rep["table"] == "orders"]
    if exp.kept is not None:
        assert int(orders["kept"].sum()) == exp.kept, rep
    if exp.rejected is not None:
        assert int(orders["rejected"].sum()) == exp.rejected, rep
    for word in exp.reasons:
        assert rejects["reason"].str.contains(word, case=False).any(), rejects


@pytest.mark.parametrize("name, exp", list(_params()))
def test_playbook_check(name, exp, corpus, capsys):
    rc, out, err = _check(corpus[name], capsys)
    assert "Traceback" not in err + out
    if isinstance(exp, mc.Ok):
        assert rc == 0, err
        assert err == ""
        assert "total" in out
        _assert_accounting(corpus[name], exp)
    else:
        assert rc == 2, out
        lines = err.splitlines()
        assert len(lines) == 1, err
        line = lines[0]
        assert line.startswith("error: ")
        assert exp.file in line
        if exp.column:
            assert f"column '{exp.column}'" in line
        for word in exp.words:
            assert word in line


def test_mixed_time_zones_land_in_shop_time(corpus):
    orders = load_shop(corpus["mixed_time_zones"]).orders.set_index("line_id")
    times = orders.groupby("order_id")["order_time"].first()
    assert times["1002"] == pd.Timestamp("2024-03-02 11:00:00")  # 03:00Z in Asia/Shanghai
    assert times["1003"] == pd.Timestamp("2024-03-03 12:00:00")  # 23:00-05:00


def test_mixed_date_formats_parse_to_the_same_day(corpus):
    orders = load_shop(corpus["mixed_date_formats"]).orders
    days = orders.groupby("order_id")["order_time"].first().dt.strftime("%Y-%m-%d")
    assert days.to_dict() == {
        "1001": "2024-03-01",
        "1002": "2024-03-02",
        "1003": "2024-03-03",
        "1004": "2024-03-04",
    }


def test_scientific_id_is_rejected_with_its_row(corpus):
    shop = load_shop(corpus["ids_in_scientific_notation"])
    rej = shop.rejects
    assert rej["row"].astype(int).tolist() == [4]  # header = row 1
    assert "1.23E+18" not in set(shop.orders["order_id"])


def test_large_file_streams_and_accounts(tmp_path, capsys):
    """300k order lines (+ dirt) load through ``playbook check`` in a few seconds."""
    n = 300_000
    import numpy as np

    i = np.arange(n)
    df = pd.DataFrame(
        {
            "order_id": (10_000_000 + i // 2).astype(str),
            "line_id": (i % 2 + 1).astype(str),
            "customer_id": "c" + (i % 5000).astype(str),
            "order_time": (
                pd.Timestamp("2024-01-01") + pd.to_timedelta(i // 2 * 60, unit="s")
            ).strftime("%Y-%m-%d %H:%M:%S"),
            "paid_time": "",
            "status": "paid",
            "product_id": "P" + (i % 300).astype(str),
            "sku": "",
            "title": "真丝衬衫",
            "quantity": "1",
            "unit_price": "10.00",
            "paid_amount": "10.00",
            "refund_amount": "0",
        }
    )
    bad = i[::10_000]  # 30 unreadable payments: their orders go (a negative quantity would
    df.loc[bad, "paid_amount"] = "ten"  # be a return line, kept)
    d = tmp_path / "big"
    d.mkdir()
    (d / "shop.yaml").write_text(mc.YAML, encoding="utf-8")
    df.to_csv(d / "orders.csv", index=False)
    t0 = time.perf_counter()
    rc, out, err = _check(d, capsys)
    took = time.perf_counter() - t0
    assert rc == 0, err
    total = next(ln for ln in out.splitlines() if ln.strip().startswith("total")).split()
    read, kept, rejected = map(int, total[-3:])
    assert read == n and read == kept + rejected
    assert 30 <= rejected <= 60
    assert took < 30, f"300k lines took {took:.1f} s"
