"""run_shop: atomic reports, partial runs, the notebook time limit, warm kernels, client pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers.core.errors import ConfigError
from helpers.deliver import report
from helpers.load.shop import load_report, load_shop
from helpers.run import batch, kernels, memory, notebooks, output, runner


def _nb(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            'shop_dir = ""\nout_dir = ""\nas_of = ""\nlang = "zh"',
            metadata={"tags": ["parameters"]},
        )
    ] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def playbook(tmp_path_factory) -> Path:
    """Notebook 00 as committed plus small notebooks that probe the runner."""
    d = tmp_path_factory.mktemp("playbook")
    src = notebooks.notebooks(["00"])[0]
    shutil.copy(src, d / src.name)
    _nb(
        d / "01_probe.ipynb",
        "import importlib, sys\n"
        "from IPython.display import Markdown, display\n"
        "names = sorted(k for k in globals() if not k.startswith('_') and k not in "
        "('In', 'Out', 'exit', 'quit', 'open', 'get_ipython', 'importlib', 'sys', 'Markdown', "
        "'display', 'shop_dir', 'out_dir', 'as_of', 'lang'))\n"
        "display(Markdown('## Probe'))\n"
        "print('secret-print')\n"
        "display(Markdown(f'names={names} warm={\"seaborn\" in sys.modules}'))",
    )
    with open(d / "01_probe.ipynb") as f:
        nb = nbformat.read(f, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("'plain-repr-' + 'x'"))
    nb.cells.append(  # which shops the kernel found loaded by the server it came from
        nbformat.v4.new_code_cell(
            "pre = importlib.import_module('helpers.load.shop')._PRELOADED\n"
            "display(Markdown(f\"preloaded={len(pre)} at={','.join(sorted(pre))}\"))\n"
            "memo = importlib.import_module('helpers.core.codes').PER_ORDERS\n"
            "display(Markdown(f'derived={len(memo)}'))\n"
            "hooks = get_ipython().events.callbacks['post_run_cell']\n"
            "display(Markdown(f'after-cell={[h.__name__ for h in hooks]}'))"
        )
    )
    nbformat.write(nb, d / "01_probe.ipynb")
    _nb(d / "02_sleep.ipynb", "import time\ntime.sleep(120)", "print('never')")
    return d


def test_notebooks_use_ipynb_else_the_py_source(tmp_path):
    (tmp_path / "00_a.py").write_text("# %%\nx = 1\n")
    (tmp_path / "01_b.py").write_text("# %%\ny = 2\n")
    _nb(tmp_path / "01_b.ipynb")
    (tmp_path / "notes.py").write_text("")
    got = notebooks.notebooks(None, tmp_path)
    assert [p.name for p in got] == ["00_a.py", "01_b.ipynb"]
    assert [p.name for p in notebooks.notebooks(["1"], tmp_path)] == ["01_b.ipynb"]
    assert notebooks.read_notebook(got[0]).cells[0].source == "x = 1"


def test_warm_kernel_is_a_fresh_namespace_and_pages_show_results_only(
    small_shop_dir, playbook, tmp_path
):
    out = tmp_path / "r"
    load_shop(small_shop_dir)  # in the Parquet cache: the kernel server preloads it
    res = runner.run_shop(
        small_shop_dir, out, only=["00", "01"], lang="en", progress=False, playbook_dir=playbook
    )
    assert res.ok, res.failures
    page = (out / "01_probe.html").read_text()
    assert "preloaded=1" in page  # the kernel got the shop from the server, not from disk
    assert "derived=1" in page  # ... and the buyers' orders the server derived from it
    assert "give_back_after_cell" in page  # each cell's freed memory goes back to the system
    assert "names=[]" in page  # the warm-up bound nothing in the notebook's namespace
    assert "warm=True" in page  # ... but its imports were done while the kernel booted
    assert "secret-print" not in page and "import importlib" not in page  # no prints, no code
    assert "plain-repr-x" not in page  # nor bare reprs
    health = (out / "00_data_health.html").read_text()
    for must in (
        "测试小店",
        res.as_of,
        'href="index.html"',
        'href="01_probe.html"',
        'name="viewport"',
        "@top-left",
    ):
        assert must in health
    assert "ctx.say" not in health and "open_shop" not in health
    index = (out / "index.html").read_text()
    assert 'href="01_probe.html#Probe"' in index  # contents reach into sections
    run = json.loads((out / "run.json").read_text())
    assert run["notebooks"] == ["00_data_health", "01_probe"] and run["failures"] == {}
    assert run["kpis"]["orders_12m"] > 0
    # executed notebooks name the final folder, never the temporary one
    assert ".partial-" not in (out / "notebooks" / "00_data_health.ipynb").read_text()
    assert not list(tmp_path.glob(".*"))


def test_a_cached_shop_is_loaded_by_the_kernel_server_alone(
    small_shop_dir, playbook, tmp_path, monkeypatch
):
    shop = load_shop(small_shop_dir)  # in the Parquet cache now
    want = batch.shop_kpis(shop)

    def no_load(*a, **k):
        raise AssertionError("the run's own process loaded the shop")

    monkeypatch.setattr(runner, "load_shop", no_load)
    out = tmp_path / "r"
    res = runner.run_shop(small_shop_dir, out, only=["00"], progress=False, playbook_dir=playbook)
    assert res.ok, res.failures
    run = json.loads((out / "run.json").read_text())
    assert run["kpis"] == want and run["as_of"] == str(shop.as_of.date())
    assert run["shop"] == shop.config.name and run["currency"] == shop.config.currency
    o, end = shop.orders, shop.as_of + pd.Timedelta(days=1)
    # orders as the metric layer counts them: paid, not fully refunded
    sold = o["status"].isin(["paid", "partially_refunded"])
    sold &= (o["order_time"] >= end - pd.DateOffset(months=12)) & (o["order_time"] < end)
    assert 0 < want["orders_12m"] == o.loc[sold, "order_id"].nunique()


def test_the_kernel_servers_summary_or_none(small_shop_dir, tmp_path):
    shop = load_shop(small_shop_dir)  # cached: the server loads it
    pool = kernels.KernelPool(tmp_path, ["helpers.nb"])
    try:
        pool.start()
        info = pool.load(small_shop_dir)  # waits for the server's imports, then its load
        assert info["lines"] == len(shop.orders) and info["as_of"] == str(shop.as_of.date())
        assert info["loaded"].equals(load_report(shop))
        assert pool.load(tmp_path / "no-such-shop") is None  # the run's own load says why
    finally:
        pool.close()
    assert kernels.KernelPool(tmp_path, fork=False).load(small_shop_dir) is None


def test_a_batch_workers_kernel_server_loads_each_shop_in_turn(
    small_shop_dir, playbook, tmp_path, monkeypatch
):
    """With the caller's kernels (a batch worker), the kernel server drops the last shop and
    loads the next: every notebook's kernel shares it instead of reading the cache itself.
    The worker parses only a shop that is not cached yet."""
    other = tmp_path / "other"
    shutil.copytree(small_shop_dir, other)
    yml = other / "shop.yaml"
    yml.write_text(yml.read_text(encoding="utf-8").replace("测试小店", "测试二店"), "utf-8")
    load_shop(small_shop_dir)  # cached; `other` is not
    parsed, real = [], runner.load_shop
    monkeypatch.setattr(
        runner, "load_shop", lambda d, **k: (parsed.append(Path(d).name), real(d, **k))[1]
    )
    pool = kernels.KernelPool(playbook, ["helpers.nb"])
    try:
        for i, shop in enumerate([small_shop_dir, other, small_shop_dir]):
            out = tmp_path / f"r{i}"
            res = runner.run_shop(
                shop, out, only=["01"], progress=False, playbook_dir=playbook, kernels=pool
            )
            assert res.ok, res.failures
            page = (out / "01_probe.html").read_text()
            assert f"preloaded=1 at={Path(shop).resolve()}<" in page, i
    finally:
        pool.close()
    assert parsed == ["other"]
    assert json.loads((tmp_path / "r1" / "run.json").read_text())["shop"] == "测试二店"


def test_failed_run_leaves_the_previous_report_intact(
    small_shop_dir, playbook, tmp_path, monkeypatch
):
    out = tmp_path / "r"
    runner.run_shop(small_shop_dir, out, only=["00"], progress=False, playbook_dir=playbook)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*a, **k):
        raise RuntimeError("disk full")

    from helpers.deliver import excel

    # dies after the notebooks ran, as the workbook (written while they run) is closed
    monkeypatch.setattr(excel.WorkbookWriter, "close", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        runner.run_shop(small_shop_dir, out, only=["00"], progress=False, playbook_dir=playbook)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no partial folder left
    # a first run that fails creates nothing at the destination
    with pytest.raises(RuntimeError):
        runner.run_shop(
            small_shop_dir, tmp_path / "new", only=["00"], progress=False, playbook_dir=playbook
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_stale_partial_folder_of_a_dead_run_is_removed(small_shop_dir, playbook, tmp_path):
    dead = tmp_path / f".r.partial-{output._host()}-999999999-abcd1234"
    dead.mkdir()
    runner.run_shop(
        small_shop_dir, tmp_path / "r", only=["00"], progress=False, playbook_dir=playbook
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_partial_run_keeps_the_other_pages(small_shop_dir, playbook, tmp_path):
    out = tmp_path / "r"
    runner.run_shop(small_shop_dir, out, only=["00", "01"], progress=False, playbook_dir=playbook)
    first = (out / "00_data_health.html").read_bytes()
    runner.run_shop(small_shop_dir, out, only=["01"], progress=False, playbook_dir=playbook)
    assert (out / "00_data_health.html").read_bytes() == first
    assert json.loads((out / "run.json").read_text())["notebooks"] == ["00_data_health", "01_probe"]


def test_notebook_wall_clock_limit(small_shop_dir, playbook, tmp_path):
    out = tmp_path / "r"
    res = runner.run_shop(
        small_shop_dir, out, only=["02"], progress=False, playbook_dir=playbook, notebook_timeout=8
    )
    assert set(res.failures) == {"02_sleep"}
    # interrupted in its cell ("... (cell 2)"), or killed if the interrupt did not stop it
    assert res.failures["02_sleep"].startswith("timed out after 8 s")
    assert res.timings["02_sleep"] < 40
    nb = nbformat.read(out / "notebooks" / "02_sleep.ipynb", as_version=4)
    assert "never" not in json.dumps(nb.cells[-1].get("outputs", []))
    page = (out / "02_sleep.html").read_text()
    assert "timed out after 8 s" in page and "Traceback" not in page
    assert f"{report.word('failed', 'zh')}: timed out" in (out / "index.html").read_text()


def test_portfolio_page_escapes_and_sorts(tmp_path):
    rows = [
        {
            "shop": "<script>x</script>",
            "status": "ok",
            "net_sales_12m": 1200.5,
            "orders_12m": 3,
            "attainment": 0.5,
            "currency": "CNY",
            "link": "a/index.html",
        },
        {
            "shop": "B&B",
            "status": "error",
            "message": "orders.csv: <bad>",
            "currency": "USD",
            "link": None,
        },
    ]
    page = report.portfolio_html(tmp_path / "p.html", rows, "en").read_text()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "orders.csv: &lt;bad&gt;" in page and "B&amp;B" in page
    assert 'data-v="1200.5"' in page and 'data-v="0.5"' in page
    assert page.count("<tr>") == 3 and "aria-sort" in page
    df = report.portfolio_frame(rows, "zh")
    assert df["店铺"].tolist() == ["<script>x</script>", "B&B"]
    assert df["近12个月净销售额"].tolist()[0] == 1200.5


@pytest.mark.skipif(report.chromium() is None, reason="Chromium not installed (optional)")
def test_pdf_through_chromium(small_shop_dir, playbook, tmp_path):
    out = tmp_path / "r"
    runner.run_shop(
        small_shop_dir, out, only=["00"], progress=False, playbook_dir=playbook, pdf=True
    )
    pdf = out / "report.pdf"
    assert pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    assert 'href="report.pdf"' in (out / "index.html").read_text()


def test_notebook_graph_of_the_playbook():
    """Who loads whose artifacts, read from the notebooks' ctx.save/ctx.load calls."""
    g = notebooks.notebook_graph(notebooks.notebooks())
    assert g.needs == {
        "00_data_health": set(),
        "01_market_positioning": set(),
        "02_target_setting": {"01_market_positioning"},  # market_forecast
        "03_product_analysis": {"02_target_setting"},  # targets_meta, role_mix
        "04_customer_analysis": set(),
        "05_promotion_plan": {  # targets, forecast, hot_watchlist, product_scores
            "01_market_positioning",
            "02_target_setting",
            "03_product_analysis",
        },
        "06_optimisation_review": {
            "02_target_setting"
        },  # targets only: 06 no longer back-casts from 01,
    }
    assert g.order[:3] == ["load_report", "rejected_rows", "monthly_orders"]
    assert "drilldown_.*" in g.order  # an f-string name
    assert g.order.index("targets_daily") < g.order.index("product_abc")
    # what later notebooks load is saved once, outside loops: loaded as soon as it is saved
    assert "market_forecast" in g.final["01_market_positioning"]
    assert {"targets_meta", "targets_daily", "role_mix"} <= g.final["02_target_setting"]
    assert {"hot_watchlist", "product_scores"} <= g.final["03_product_analysis"]
    assert "drilldown_.*" in g.saves["06_optimisation_review"]  # saved in a loop: not final
    assert not any("drilldown" in n for n in g.final["06_optimisation_review"])


def test_no_two_notebooks_save_the_same_artifact():
    """An artifact saved by two notebooks is the last writer's: the report would depend on
    which finished last (02's ladder by rung and 04's monthly ladder were both
    ``member_ladder``: the workbook held one or the other, by the run's --jobs)."""
    saves = [
        (p.stem, pat)
        for p in notebooks.notebooks()
        for kind, pat in notebooks._ctx_calls(p)
        if kind == "save"
    ]
    clashes = [
        (a, b)
        for i, a in enumerate(saves)
        for b in saves[i + 1 :]
        if a[0] != b[0] and notebooks._may_meet(a[1], b[1])
    ]
    assert clashes == []


def test_notebook_graph_matches_fstring_names(tmp_path):
    a = _nb(tmp_path / "01_a.ipynb", "for by in ('x', 'y'):\n    ctx.save(f'drill_{by}', 1)")
    b = _nb(tmp_path / "02_b.ipynb", "ctx.load('drill_x')\nctx.load('other')")
    c = _nb(tmp_path / "03_c.ipynb", "ctx.save('other', 2)\nctx.load('drillx')")
    g = notebooks.notebook_graph([a, b, c])
    assert g.needs == {"01_a": set(), "02_b": {"01_a"}, "03_c": set()}
    assert g.order == ["drill_.*", "other"]
    assert g.final == {"01_a": set(), "02_b": set(), "03_c": {"other"}}


def test_a_name_saved_twice_or_in_a_function_is_not_final(tmp_path):
    a = _nb(
        tmp_path / "01_a.ipynb",
        "ctx.save('x', 1)\nif ok:\n    ctx.save('y', 1)\nelse:\n    ctx.save('x', 2)\n"
        "def f():\n    ctx.save('z', 3)\nctx.save('w', [ctx.save('v', 1) for _ in 'ab'])",
    )
    g = notebooks.notebook_graph([a])
    assert g.final == {"01_a": {"y", "w"}}
    assert g.saves == {"01_a": ["x", "y", "z", "w", "v"]}


class _Pool:
    """A kernel pool for :func:`runner.schedule` that hands out placeholders."""

    def take(self, more=True):
        return object()


class _Bar:
    def set_postfix_str(self, s):
        pass

    def update(self, n):
        pass


def test_schedule_waits_for_needs_and_runs_two_at_once():
    import threading
    import time

    nbs = [Path(f"{i:02d}_n") for i in range(6)]
    needs = {"02_n": {"01_n"}, "03_n": {"02_n"}, "05_n": {"01_n", "03_n"}}
    log, lock, live, peak = [], threading.Lock(), [0], [0]

    def execute(nb, km):
        with lock:
            log.append(("start", nb.stem))
            live[0] += 1
            peak[0] = max(peak[0], live[0])
        time.sleep(0.05)
        with lock:
            live[0] -= 1
            log.append(("end", nb.stem))

    finished = []
    runner.schedule(nbs, needs, 2, _Pool(), execute, _Bar(), finished.append)
    assert sorted(finished) == [p.stem for p in nbs]
    assert peak[0] == 2
    for stem, deps in needs.items():
        for d in deps:
            assert log.index(("end", d)) < log.index(("start", stem))
    runner.schedule(nbs, needs, 1, _Pool(), execute, _Bar(), None)
    assert [s for kind, s in log[-12:] if kind == "start"] == [p.stem for p in nbs]


def test_schedule_early_starts_a_notebook_beside_what_it_needs():
    """The demo's shape: 00 and 01 start first; once 00 is done, 02 (which loads 01's
    forecast) takes the free place while 01 runs, and once 01 is done 03 starts beside 02,
    before 04 which needs nothing: earliest number first, as the workbook takes the tables.
    Only one notebook waits at a time, and nothing loads before what it needs has ended."""
    import threading
    import time

    nbs = [Path(f"{i:02d}_n") for i in range(7)]
    needs = {"02_n": {"01_n"}, "03_n": {"02_n"}, "05_n": {"01_n", "02_n", "03_n"}}
    needs["06_n"] = {"02_n"}
    took = {"00_n": 0.02, "01_n": 0.2, "02_n": 0.5, "04_n": 0.05}
    ended = {nb.stem: threading.Event() for nb in nbs}
    log, lock, live, waiting = [], threading.Lock(), [0], [0, 0]

    def execute(nb, km):
        with lock:
            log.append(("start", nb.stem))
            live[0] += 1
            assert live[0] <= 2
        time.sleep(0.05)  # its work before the first ctx.load
        if not all(ended[d].is_set() for d in needs.get(nb.stem, ())):
            with lock:
                waiting[0] += 1
                waiting[1] = max(waiting[1], waiting[0])
            for d in needs.get(nb.stem, ()):
                ended[d].wait()
            with lock:
                waiting[0] -= 1
        with lock:
            log.append(("load", nb.stem))
        time.sleep(took.get(nb.stem, 0.05))
        with lock:
            live[0] -= 1
            log.append(("end", nb.stem))
        ended[nb.stem].set()

    runner.schedule(nbs, needs, 2, _Pool(), execute, _Bar(), None, early=True)
    for stem, deps in needs.items():
        for d in deps:
            assert log.index(("end", d)) < log.index(("load", stem))
    starts = [s for kind, s in log if kind == "start"]
    assert starts[:4] == ["00_n", "01_n", "02_n", "03_n"]
    assert log.index(("start", "02_n")) < log.index(("end", "01_n"))  # beside what it needs
    assert log.index(("start", "03_n")) < log.index(("end", "02_n"))
    assert waiting[1] == 1
    assert sorted(s for kind, s in log if kind == "end") == [p.stem for p in nbs]


def test_auto_jobs_by_cores_and_memory(monkeypatch):
    import os
    from types import SimpleNamespace

    import psutil

    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=23 * 2**30))
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    # 1000 + (0.00053 + 2 * 0.00016) MB per line against 0.6 x 23 GB = 14131 MB:
    # 15M lines need 13750 MB (two), 16M 14600 MB (one)
    sizes = (10_000, 1_000_000, 10_000_000, 15_000_000, 16_000_000)
    assert [memory.auto_jobs(n) for n in sizes] == [2, 2, 2, 2, 1]
    # the shop already in the kernel server's memory: 1000 + 0.00032 MB a line, two to ~41M
    assert [memory.auto_jobs(n, shop_loaded=True) for n in (16_000_000, 42_000_000)] == [2, 1]
    # a cap below the machine's, for the whole run (shop included, loaded or not):
    # 1M lines need 1000 + 850 = 1850 MB, 10M 9500 MB; 8 GB = 8192 MB
    monkeypatch.setenv("PLAYBOOK_MAX_MEMORY", "8G")
    assert memory.memory_cap() == 8 * 2**30
    assert [memory.auto_jobs(n) for n in (1_000_000, 10_000_000)] == [2, 1]
    assert memory.auto_jobs(10_000_000, shop_loaded=True) == 1
    monkeypatch.setenv("PLAYBOOK_MAX_MEMORY", "1851MB")
    assert memory.memory_cap() == 1851 * 2**20 and memory.auto_jobs(1_000_000) == 2
    monkeypatch.setenv("PLAYBOOK_MAX_MEMORY", "1849")
    assert memory.auto_jobs(1_000_000) == 1
    assert memory.auto_jobs(1_000_000, shop_loaded=True) == 1
    monkeypatch.setenv("PLAYBOOK_MAX_MEMORY", "lots")
    with pytest.raises(ConfigError, match="^PLAYBOOK_MAX_MEMORY: 'lots' is not a size"):
        memory.auto_jobs(1_000_000)
    monkeypatch.delenv("PLAYBOOK_MAX_MEMORY")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert memory.auto_jobs(10_000) == 1
