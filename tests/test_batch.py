"""Batch runs: fault isolation, timeouts, retries after a killed worker, skipping unchanged
shops, the Dask path, and the portfolio index.

Shops are small generated ones. To keep the tests quick, most run a test playbook of two
tiny notebooks (``00_load`` loads the shop and saves a table; ``01_sleep`` sleeps when the shop
folder has a ``SLEEP`` file); the Dask comparison runs the real notebook 00.
"""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from openpyxl import load_workbook

from helpers.datasets import sample
from helpers.load import artifacts
from helpers.run import batch, notebooks

SIZE = sample.SampleSize(n_customers=300, n_products=30)


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'shop_dir = ""\nout_dir = ""\nas_of = ""\nlang = "zh"', metadata={"tags": ["parameters"]}
    )
    nb.cells = [params] + [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def playbook(tmp_path_factory) -> Path:
    """A notebook that loads the shop and saves a table, and one that can be made to hang."""
    d = tmp_path_factory.mktemp("playbook")
    _notebook(
        d / "00_load.ipynb",
        "from IPython.display import Markdown, display\n"
        "from helpers.core import codes\nfrom helpers.load import artifacts\nfrom helpers.load.shop import load_shop",
        "shop = load_shop(shop_dir, as_of=as_of or None)\n"
        "daily = codes.daily_sales(shop.orders)\n"
        "artifacts.save(out_dir, 'daily', daily, sheet='daily')\n"
        "display(Markdown(f'## Orders\\n{len(shop.orders)} lines'))",
    )
    _notebook(
        d / "01_sleep.ipynb",
        "import pathlib, time\nif (pathlib.Path(shop_dir) / 'SLEEP').exists():\n"
        "    time.sleep(120)",
        "print('awake')",
    )
    return d


@pytest.fixture(scope="module")
def real_playbook(tmp_path_factory) -> Path:
    """Notebook 00 as committed."""
    d = tmp_path_factory.mktemp("real_playbook")
    src = notebooks.notebooks(["00"])[0]
    shutil.copy(src, d / src.name)
    return d


@pytest.fixture(scope="module")
def shops(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shops")
    for i, name in enumerate(["alpha", "beta", "broken", "slow"]):
        t = sample.generate(20 + i, SIZE)
        sample.write_canonical_shop(t, root / name, f"<b>{name}</b> & 店", salt="t")
    orders = root / "broken" / "orders.csv"
    text = orders.read_text().splitlines()
    text[0] = text[0].replace("order_time", "ordered")
    orders.write_text("\n".join(text) + "\n")
    (root / "slow" / "SLEEP").write_text("")
    return root


def _pick(root: Path, names: list[str], dest: Path) -> Path:
    """A shops file listing some of the shops (the list-file form of SHOPS)."""
    f = dest / "shops.txt"
    f.write_text("# test shops\n" + "\n".join(str(root / n) for n in names) + "\n")
    return f


def _by_slug(res) -> dict:
    return {o.slug: o for o in res.outcomes}


def test_discover_folder_and_list_file(shops, tmp_path):
    assert [p.name for p in batch.discover(shops)] == ["alpha", "beta", "broken", "slow"]
    f = tmp_path / "list.txt"
    f.write_text(f"# comment\n\n{shops / 'beta'}\n{shops / 'alpha'}  # trailing comment\n")
    assert [p.name for p in batch.discover(f)] == ["beta", "alpha"]
    f.write_text("no-such-shop\n")
    with pytest.raises(ValueError, match="no-such-shop"):
        batch.discover(f)


def test_input_hash_follows_inputs_settings_and_notebooks(shops, playbook, tmp_path):
    shop = tmp_path / "shop"
    shutil.copytree(shops / "alpha", shop)
    nbs = notebooks.notebooks(None, playbook)
    h = batch.input_hash(shop, {"lang": None}, nbs, "helpers-v1")
    assert h == batch.input_hash(shop, {"lang": None}, nbs, "helpers-v1")
    assert h != batch.input_hash(shop, {"lang": "en"}, nbs, "helpers-v1")
    assert h != batch.input_hash(shop, {"lang": None}, nbs[:1], "helpers-v1")
    assert h != batch.input_hash(shop, {"lang": None}, nbs, "helpers-v2")
    with open(shop / "orders.csv", "a") as f:
        f.write("\n")
    assert h != batch.input_hash(shop, {"lang": None}, nbs, "helpers-v1")


def test_bad_shop_and_hung_notebook_do_not_stop_the_batch(shops, playbook, tmp_path):
    out = tmp_path / "out"
    res = batch.run_batch(
        _pick(shops, ["alpha", "broken", "slow"], tmp_path),
        out,
        workers=2,
        timeout=5,
        playbook_dir=playbook,
        progress=False,
    )
    got = _by_slug(res)
    assert got["alpha"].status == "ok", got["alpha"].message
    assert got["broken"].status == "error"
    assert "orders.csv" in got["broken"].message and "order_time" in got["broken"].message
    assert got["slow"].status == "failed"
    assert got["slow"].failures == {"01_sleep": got["slow"].failures["01_sleep"]}
    assert got["slow"].failures["01_sleep"].startswith("timed out after 5 s")
    assert not res.ok
    # one line per shop in the summary
    lines = (out / "summary.txt").read_text().splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("ERROR") and "broken" in lines[1]
    assert lines[2].startswith("FAILED") and "timed out" in lines[2]
    # the hung shop's report is complete, with its error notebook and a notice on its page
    slow = out / "slow"
    assert (slow / "index.html").exists() and (slow / "notebooks" / "01_sleep.ipynb").exists()
    assert "timed out after 5 s" in (slow / "01_sleep.html").read_text()
    assert (slow / "00_load.html").exists()
    assert not (out / "broken").exists()
    assert not list(out.glob(".*partial*"))
    # the portfolio: escaped names, links to reports, blanks where no targets
    page = (out / "index.html").read_text()
    assert "<b>alpha</b>" not in page and "&lt;b&gt;alpha&lt;/b&gt; &amp; 店" in page
    assert 'href="alpha/index.html"' in page and 'href="broken/index.html"' not in page
    assert "table.pb-sort" in page and "<script>" in page
    wb = load_workbook(out / "portfolio.xlsx")
    ws = wb[wb.sheetnames[0]]
    assert ws.max_row == 4
    rows = json.loads((out / "batch.json").read_text())["shops"]
    assert [r["status"] for r in rows] == ["ok", "error", "failed"]
    alpha = rows[0]["kpis"]
    assert alpha["net_sales_12m"] > 0 and alpha["orders_12m"] > 0
    assert alpha["aov_12m"] == pytest.approx(alpha["net_sales_12m"] / alpha["orders_12m"], 0.01)
    assert alpha["target_to_date"] is None


def test_the_largest_shops_go_to_the_workers_first(shops, playbook, tmp_path, monkeypatch):
    src = tmp_path / "shops"
    for name, extra in (("a", 10), ("b", 300_000), ("c", 20_000), ("d", 20_000)):
        shutil.copytree(shops / "alpha", src / name)
        (src / name / "notes.txt").write_text("x" * extra)
    (src / "a" / ".big-hidden").write_text("x" * 1_000_000)  # not an input: not counted
    sent = []
    monkeypatch.setattr(batch, "_run_local", lambda tasks, *a: sent.extend(tasks))
    batch.run_batch(src, tmp_path / "out", only=["00"], playbook_dir=playbook, progress=False)
    assert [t.slug for t in sent] == ["b", "c", "d", "a"]  # ties keep folder order
    base = batch._input_bytes(shops / "alpha")
    assert batch._input_bytes(src / "b") == base + 300_000


def test_unchanged_shops_are_skipped_unless_forced(shops, playbook, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "helpers_fingerprint", lambda: "helpers-under-test")
    src = tmp_path / "shops"
    shutil.copytree(shops / "alpha", src / "alpha")
    out = tmp_path / "out"
    kw = dict(only=["00"], workers=1, playbook_dir=playbook, progress=False)
    first = batch.run_batch(src, out, **kw)
    assert [o.status for o in first.outcomes] == ["ok"]
    stamp = (out / "alpha" / "run.json").read_text()
    again = batch.run_batch(src, out, **kw)
    assert [o.status for o in again.outcomes] == ["skipped"]
    assert (out / "alpha" / "run.json").read_text() == stamp
    assert again.outcomes[0].kpis == first.outcomes[0].kpis  # the portfolio keeps its numbers
    assert "skipped" in (out / "summary.txt").read_text().lower()
    forced = batch.run_batch(src, out, force=True, **kw)
    assert [o.status for o in forced.outcomes] == ["ok"]
    (src / "alpha" / "shop.yaml").write_text(
        (src / "alpha" / "shop.yaml").read_text() + "fiscal_year_start_month: 4\n"
    )
    changed = batch.run_batch(src, out, **kw)
    assert [o.status for o in changed.outcomes] == ["ok"]


def test_killed_worker_is_retried(shops, playbook, tmp_path):
    out = tmp_path / "out"
    res = batch.run_batch(
        _pick(shops, ["alpha", "beta"], tmp_path),
        out,
        workers=2,
        only=["00"],
        playbook_dir=playbook,
        progress=False,
        crash_first_attempt=("beta",),
    )
    got = _by_slug(res)
    assert got["beta"].status == "ok" and got["beta"].attempts == 2
    assert got["alpha"].status == "ok" and got["alpha"].attempts == 1
    assert json.loads((out / "beta" / "run.json").read_text())["attempts"] == 2
    assert not list(out.glob(".*partial*"))  # the dead attempt's half report is gone


def test_worker_deaths_beyond_retries_fail_the_shop_only(shops, playbook, tmp_path):
    res = batch.run_batch(
        _pick(shops, ["alpha", "beta"], tmp_path),
        tmp_path / "out",
        workers=2,
        only=["00"],
        retries=0,
        playbook_dir=playbook,
        progress=False,
        crash_first_attempt=("beta",),
    )
    got = _by_slug(res)
    assert got["alpha"].status == "ok"
    assert got["beta"].status == "failed" and "worker died" in got["beta"].message


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    distributed = pytest.importorskip("distributed")
    cache = str(tmp_path_factory.getbasetemp() / "cache")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="1GiB",
        dashboard_address=None,
        env={"PLAYBOOK_CACHE": cache, "MPLBACKEND": "Agg"},
    ) as c:
        yield c


def test_dask_cluster_gives_the_local_pool_outputs_and_retries(
    shops, real_playbook, tmp_path, cluster
):
    listing = _pick(shops, ["alpha", "beta"], tmp_path)
    kw = dict(only=["00"], playbook_dir=real_playbook, progress=False)
    local = batch.run_batch(listing, tmp_path / "local", workers=1, **kw)
    remote = batch.run_batch(
        listing,
        tmp_path / "dask",
        scheduler=cluster.scheduler_address,
        crash_first_attempt=("beta",),
        **kw,
    )
    assert [o.status for o in local.outcomes] == ["ok", "ok"]
    assert [o.status for o in remote.outcomes] == ["ok", "ok"]
    assert _by_slug(remote)["beta"].attempts == 2  # its worker was killed once
    for slug in ("alpha", "beta"):
        a, b = tmp_path / "local" / slug, tmp_path / "dask" / slug
        assert batch.artifact_differences(a, b) == []
        assert _by_slug(local)[slug].kpis == _by_slug(remote)[slug].kpis
        assert (b / "00_data_health.html").exists()


def test_shop_kpis_by_hand(tmp_path):
    orders = pd.DataFrame(
        {
            "order_id": ["A", "A", "B", "C", "D", "E"],
            "customer_id": ["c1", "c1", "c2", "c1", "c3", "c2"],
            "order_time": pd.to_datetime(
                ["2024-12-01", "2024-12-01", "2025-03-05", "2025-06-30", "2025-06-30", "2023-01-01"]
            ),
            "status": ["paid", "partially_refunded", "refunded", "paid", "cancelled", "paid"],
            "paid_amount": [100.0, 50.0, 80.0, 30.0, 40.0, 999.0],
            "refund_amount": [0.0, 20.0, 80.0, 0.0, 0.0, 0.0],
        }
    )
    shop = types.SimpleNamespace(
        orders=orders, as_of=pd.Timestamp("2025-06-30"), has_customers=True
    )
    artifacts.save(
        tmp_path,
        "targets_meta",
        {"fy": 2025, "annual_target": 1000.0, "last_year_actual": 800.0, "growth": 0.25},
    )
    days = pd.date_range("2025-01-01", "2025-12-31")
    artifacts.save(tmp_path, "targets_daily", pd.DataFrame({"date": days, "target_sales": 1.0}))
    k = batch.shop_kpis(shop, tmp_path)
    # window 2024-07-01 .. 2025-06-30: A (130 net), B (0 net), C (30); D cancelled; E too old
    # orders and buyers count orders paid and not fully refunded: A and C, bought by c1
    assert k["net_sales_12m"] == 160.0
    assert k["orders_12m"] == 2 and k["customers_12m"] == 1
    assert k["aov_12m"] == pytest.approx(160 / 2, abs=0.01)
    assert k["revenue_per_buyer_12m"] == pytest.approx(160.0, abs=0.01)
    assert k["refund_rate_12m"] == pytest.approx(100 / 260, abs=1e-6)  # cancelled left out
    assert k["target_fy"] == "2025" and k["target_annual"] == 1000.0
    assert k["last_year_actual"] == 800.0 and k["target_growth"] == 0.25
    assert k["target_to_date"] == 181.0  # Jan 1 .. Jun 30
    assert k["actual_to_date"] == 30.0  # B nets 0, C 30 since Jan 1
    assert k["attainment"] == pytest.approx(30 / 181, abs=1e-6)
    assert batch.shop_kpis(shop, tmp_path / "none")["attainment"] is None


def test_cli_batch_prints_one_line_per_shop_and_fails(shops, tmp_path, capsys):
    from helpers import cli

    src = tmp_path / "shops"
    shutil.copytree(shops / "broken", src / "broken")
    code = cli.main(["batch", str(src), "--out", str(tmp_path / "out"), "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("ERROR    broken: ") and "order_time" in out
    assert (tmp_path / "out" / "index.html").exists()
