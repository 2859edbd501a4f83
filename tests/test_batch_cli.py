"""The batch as an operator meets it: shops without shop.yaml, the defaults shown, a failed
shop's reason on its row, the count and exit code, a quiet console, warm Dask workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import cli
from helpers.datasets import sample
from helpers.deliver import report
from helpers.present import narrative
from helpers.run import batch, notebooks

SIZE = sample.SampleSize(n_customers=300, n_products=30)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mini_playbook(tmp_path_factory) -> Path:
    """One small notebook that loads the shop and saves a table (quick batch runs)."""
    d = tmp_path_factory.mktemp("mini")
    node = nbformat.v4.new_notebook()
    node.cells = [
        nbformat.v4.new_code_cell(
            'shop_dir = ""\nout_dir = ""\nas_of = ""\nlang = "zh"',
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(
            "from helpers.core import codes\nfrom helpers.load import artifacts\n"
            "from helpers.load.shop import load_shop\n"
            "shop = load_shop(shop_dir, as_of=as_of or None)\n"
            "artifacts.save(out_dir, 'daily', codes.daily_sales(shop.orders), sheet='daily')"
        ),
    ]
    node.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(node, d / "00_load.ipynb")
    return d


@pytest.fixture(scope="module")
def shops(tmp_path_factory) -> Path:
    """``good`` (shop.yaml with a salt), ``bare`` (the same kind of exports, no shop.yaml)."""
    root = tmp_path_factory.mktemp("shops")
    sample.write_canonical_shop(sample.generate(41, SIZE), root / "good", "好店", salt="s")
    sample.write_canonical_shop(sample.generate(42, SIZE), root / "bare", "bare")
    (root / "bare" / "shop.yaml").unlink()
    return root


def test_shop_defaults_name_what_a_shop_leaves_to_the_defaults(shops, tmp_path, monkeypatch):
    monkeypatch.delenv("PLAYBOOK_SALT", raising=False)
    assert batch.shop_defaults(shops / "good") == []
    assert batch.shop_defaults(shops / "bare") == [
        "default_currency",
        "default_timezone",
        "default_salt",
    ]
    (tmp_path / "nosalt").mkdir()
    (tmp_path / "nosalt" / "shop.yaml").write_text("name: x\ncurrency: USD\n")
    assert batch.shop_defaults(tmp_path / "nosalt") == ["default_salt"]
    monkeypatch.setenv("PLAYBOOK_SALT", "secret")
    assert batch.shop_defaults(tmp_path / "nosalt") == []
    assert batch.shop_defaults(shops / "bare") == ["default_currency", "default_timezone"]


def test_a_shop_without_shop_yaml_is_an_error_without_defaults(shops, tmp_path, capsys):
    code = cli.main(["batch", str(shops / "bare"), "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[0] == f"ERROR    bare: {batch.NO_SHOP_YAML}"
    assert "1 shop: 0 done, 0 skipped, 1 failed" in out.splitlines()
    assert "Traceback" not in out + err
    page = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "no shop.yaml: run `playbook new-shop`" in page
    assert not (tmp_path / "o" / "bare").exists()  # nothing ran


def test_defaults_run_the_shop_and_say_so_on_both_pages(
    shops, mini_playbook, tmp_path, monkeypatch
):
    monkeypatch.delenv("PLAYBOOK_SALT", raising=False)
    res = batch.run_batch(
        [shops / "good", shops / "bare"],
        tmp_path / "o",
        workers=1,
        playbook_dir=mini_playbook,
        progress=False,
        defaults=True,
    )
    got = {o.slug: o for o in res.outcomes}
    assert [got["good"].status, got["bare"].status] == ["ok", "ok"] and res.ok
    assert res.counts() == "2 shops: 2 done, 0 skipped, 0 failed"
    assert got["good"].defaults == []
    assert got["bare"].defaults == ["default_currency", "default_timezone", "default_salt"]
    shop_page = (tmp_path / "o" / "bare" / "index.html").read_text(encoding="utf-8")
    for key in got["bare"].defaults:
        sentence = narrative.say(key, "zh", currency="CNY", timezone="Asia/Shanghai")
        assert report._esc(sentence) in shop_page
    assert 'class="pb-defaults"' not in (tmp_path / "o" / "good" / "index.html").read_text("utf-8")
    index = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    row = next(r for r in index.split("<tr>") if ">bare<" in r)
    assert "默认币种 CNY（无 shop.yaml）" in row and "默认盐值（由店名推导）" in row
    # a second run skips both: the defaults are still shown
    again = batch.run_batch(
        [shops / "bare"],
        tmp_path / "o",
        playbook_dir=mini_playbook,
        progress=False,
        defaults=True,
    )
    assert again.outcomes[0].status == "skipped"
    assert again.outcomes[0].defaults == got["bare"].defaults


def test_the_index_shows_a_failed_shops_reason_in_full_on_its_row(tmp_path):
    why = "orders.csv: column 'order_time' rows 2, 3: " + "not a date; " * 40 + "END"
    rows = [
        {"shop": "好店", "status": "ok", "message": "", "currency": "CNY", "link": None},
        {"shop": "坏<店>", "status": "error", "message": why, "currency": "", "link": None},
    ]
    html = report.portfolio_html(tmp_path / "i.html", rows, "zh").read_text(encoding="utf-8")
    bad = next(r for r in html.split("<tr>") if "坏&lt;店&gt;" in r)
    cell = re.search(r'<td class="pb-shop"[^>]*>(.*?)</td>', bad).group(1)
    assert f'<div class="pb-why">{report._esc(why)}</div>' in cell  # all of it, by the name
    assert len(why) > 500 and "END" in cell
    assert "说明" not in html  # no far-right note column to scroll to
    good = next(r for r in html.split("<tr>") if "好店" in r)
    assert "pb-why" not in good


def test_a_healthy_batch_prints_no_traceback_or_kernel_noise(shops, tmp_path):
    """Two shops on two workers with the real notebook 00, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.cli",
            "batch",
            str(shops),
            "--out",
            str(tmp_path / "o"),
            "--workers",
            "2",
            "--only",
            "00",
            "--defaults",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    console = proc.stdout + proc.stderr
    assert proc.returncode == 0, console
    for noise in (
        "Traceback",
        "ZMQError",
        "Address already in use",
        "KeyboardInterrupt",
        "[IPKernelApp]",
        "UserWarning",
    ):
        assert noise not in console, noise
    assert "2 shops: 2 done, 0 skipped, 0 failed" in proc.stdout
    for shop in ("good", "bare"):  # the executed notebook names its source, not a copy of it
        node = nbformat.read(tmp_path / "o" / shop / "notebooks" / "00_data_health.ipynb", 4)
        assert node.metadata.papermill.input_path == str(notebooks.notebooks(["00"])[0])


def test_dask_workers_are_warmed_by_preload_and_run_a_batch(shops, mini_playbook, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            preload=["helpers.run.dask_setup"],
            env={
                "PLAYBOOK_CACHE": os.environ["PLAYBOOK_CACHE"],
                "MPLBACKEND": "Agg",
                "PYTHONPATH": str(ROOT),
            },
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        warm = client.run(lambda dask_worker: getattr(dask_worker, "_playbook_warm", None))
        assert list(warm.values()) == [str(notebooks.PLAYBOOK_DIR)]  # before any batch
        # the worker's statistical profiler is stopped (it would sample the shop's thread
        # every 10 ms); its other periodic work (heartbeats, memory monitor) goes on
        calls = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
        for names in calls.values():
            assert "heartbeat" in names and "memory_monitor" in names
            assert not {"profile", "profile-cycle"} & set(names)
        # the nanny's trim threshold and single OpenMP thread are for the worker process,
        # not for the kernel server and kernels it starts
        env = client.run(
            lambda: [os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")]
        )
        assert list(env.values()) == [[None, None]]
        res = batch.run_batch(
            [shops / "good"],
            tmp_path / "o",
            scheduler=client,
            playbook_dir=mini_playbook,
            progress=False,
        )
        assert [o.status for o in res.outcomes] == ["ok"]
        # the plugin the batch registers warmed the worker for this playbook too
        warm = client.run(lambda dask_worker: getattr(dask_worker, "_playbook_warm", None))
        assert list(warm.values()) == [str(mini_playbook)]
    assert (tmp_path / "o" / "good" / "artifacts").is_dir()
