"""How the playbook scales: wall time and peak memory from 10k to 10M order lines (issue #7).

For each size, a sample shop is generated with :mod:`helpers.datasets.sample` (seed 11, 150 products,
about 4 order lines per customer) under ``bench/out/scale/shops/`` and these steps are measured,
each in a fresh subprocess (wall time; peak RSS from ``os.wait4``'s ``ru_maxrss``, the largest
single process of the step's tree, and the peak of the whole tree's summed memory sampled
every 0.2 s, as RSS and as PSS — kernels forked from the kernel server share its pages, which
summed RSS counts once per process and PSS once in all):

* ``gen``       generating the shop and writing its CSV exports (once; kept for re-runs);
* ``load_cold`` ``load_shop`` with an empty cache (CSV parsing, validation, Parquet cache);
* ``load_warm`` ``load_shop`` again (the Parquet cache);
* ``first_run`` the full playbook with an empty cache (``runner.run_shop``: parse, validate,
  cache, every notebook, the report), as a client's first run;
* ``run``       the full playbook as ``playbook run`` runs it (every notebook under papermill,
  the HTML pages, the workbook), warm cache;
* ``sequential`` the full playbook, warm cache, one notebook at a time (``jobs=1``): each
  notebook's wall time and the tree's peak PSS while it ran (the sampler's timeline cut at
  the moments the runner reports each notebook done; the kernel server holding the shop
  included);
* ``floor``     the same number of notebooks doing only their imports (parameters cell +
  every top-level import of the real notebook), for the demo shop, twice: executed one after
  another by plain papermill (``floor``: a fresh kernel per notebook, what the issue's
  "papermill floor" means) and through ``run_shop`` (``floor_runner``: the runner's own
  overhead — warm kernels, report pages, workbook — with nothing to compute);
* ``nb:NN``     each notebook alone under papermill (a fresh kernel; its ``out_dir`` is a copy
  of the full run's report, so it finds the earlier notebooks' artifacts as in the run);
* ``helpers``   each notebook's code executed in a plain subprocess with every public function
  of the analysis modules wrapped: wall time and peak RSS of each top-level helper call (a
  sampler thread plus ``ru_maxrss``), so the time of a notebook splits into its helpers,
  ``open_shop`` and the rest (tables, charts, text).

Results go to ``bench/out/scale/results.json`` (merged across invocations, newest per size and
step), a Markdown summary to stdout and ``bench/out/scale/summary.md``, and the log-log chart
of time and memory against size to ``bench/scale.png``::

    .venv/bin/python bench/bench_scale.py --sizes demo,10k,100k,1M      # ~20 min on 2 cores
    .venv/bin/python bench/bench_scale.py --sizes 10M,30M --cold        # first contact: gen, cold load, first run
    .venv/bin/python bench/bench_scale.py --sizes 10M --steps gen,load_cold,load_warm,run
    .venv/bin/python bench/bench_scale.py --chart-only                  # redraw from results
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "scale"
PLAYBOOK = ROOT / "playbook"
PY = sys.executable
SEED = 11
# label -> customers (the generator gives about 4.0 order lines per customer)
SIZES = {"10k": 2_500, "100k": 25_000, "1M": 250_000, "10M": 2_500_000, "30M": 10_500_000}
# A shop this big is generated a year at a time (the generator holds ~8 GB for 10M lines):
# each year a 10M-line shop of its own (seed 11, 12, ...), written as orders_<year>.csv.
YEAR_PARTS = {"30M": 3}
STEPS = (
    "gen",
    "load_cold",
    "load_warm",
    "first_run",
    "run",
    "sequential",
    "floor",
    "notebooks",
    "helpers",
)
COLD_STEPS = "gen,load_cold,first_run"  # --cold: what a client's first contact costs
# modules whose public functions are "helpers" (computations), not display
HELPER_MODULES = (
    "analysis.health",
    "analysis.kpis",
    "analysis.returns",
    "core.metrics",
    "core.codes",
    "core.calendar",
    "analysis.market",
    "analysis.text",
    "analysis.targets",
    "analysis.products",
    "analysis.basket",
    "analysis.customers",
    "analysis.clv",
    "analysis.promotions",
    "analysis.review",
)


# --- measuring a subprocess ---------------------------------------------------------------------


def _pss(pid: int) -> int | None:
    """Proportional set size (bytes): shared pages counted once across the processes sharing
    them (kernels forked from the server share its imports and preloaded shop)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _tree_rss(proc) -> tuple[int, int]:
    """Summed RSS and summed PSS of a process and its descendants (bytes; 0 when gone)."""
    import psutil

    try:
        p = psutil.Process(proc.pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    rss = pss = 0
    for q in procs:
        with contextlib.suppress(psutil.Error):
            r = q.memory_info().rss
            rss += r
            pss += _pss(q.pid) or r
    return rss, pss


MAX_TREE_BYTES = [0.0]  # --max-rss-gb: a step whose process tree (PSS) grows past this is stopped


def measure(cmd: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run ``cmd`` in a fresh process group: wall s, peak RSS (largest process, tree sum), rc."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    peak_tree, peak_pss, stop, over = [0], [0], threading.Event(), [False]
    timeline: list[tuple[float, float]] = []  # (epoch s, tree PSS MB)

    def sample():
        while not stop.wait(0.2):
            rss, pss = _tree_rss(proc)
            timeline.append((time.time(), pss / 2**20))
            peak_tree[0], peak_pss[0] = max(peak_tree[0], rss), max(peak_pss[0], pss)
            if MAX_TREE_BYTES[0] and peak_pss[0] > MAX_TREE_BYTES[0] and not over[0]:
                over[0] = True  # protect a shared machine: stop the step's own group
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    readers = [
        threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True),
        threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True),
    ]
    for r in readers:
        r.start()
    timed_out = False
    deadline = None if timeout is None else t0 + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)  # the group this call started, by its id
            pid, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    th.join()
    for r in readers:
        r.join(timeout=5)
    out = b"".join(out_chunks).decode(errors="replace")
    err = b"".join(err_chunks).decode(errors="replace")
    return {
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),
        "peak_tree_mb": round(peak_tree[0] / 2**20, 1),
        "peak_tree_pss_mb": round(peak_pss[0] / 2**20, 1),
        "rc": proc.returncode,
        "timed_out": timed_out,
        "memory_cap_hit": over[0],
        "stdout": out,
        "stderr_tail": err[-2000:],
        "timeline": timeline,
    }


def last_json(text: str) -> dict:
    """The last line of ``text`` that parses as a JSON object."""
    for line in reversed(text.strip().splitlines()):
        with contextlib.suppress(ValueError):
            obj = json.loads(line)
            if isinstance(obj, dict):
                return obj
    return {}


# --- children (run as ``bench_scale.py --child ...``) -------------------------------------------


def child_gen(customers: int, dest: str, year: str = "", part: str = "0") -> None:
    """Generate and write one shop; print its size. With ``year``: one year of a shop made a
    year at a time (seed ``SEED + part``), written to ``dest`` for :func:`join_years`."""
    sys.path.insert(0, str(ROOT))
    from helpers.datasets import sample

    t0 = time.perf_counter()
    size = sample.SampleSize(n_customers=customers)
    if year:
        size = sample.SampleSize(n_customers=customers, start=f"{year}-01-01", end=f"{year}-12-31")
    tables = sample.generate(SEED + int(part), size)
    t1 = time.perf_counter()
    n_lines = len(tables["orders"])
    sample.write_canonical_shop(tables, Path(dest), f"scale-{customers}", salt="bench-salt")
    t2 = time.perf_counter()
    mb = sum(f.stat().st_size for f in Path(dest).iterdir()) / 1e6
    print(
        json.dumps(
            {
                "order_lines": n_lines,
                "customers": customers,
                "generate_s": round(t1 - t0, 2),
                "write_s": round(t2 - t1, 2),
                "csv_mb": round(mb, 1),
            }
        )
    )


def join_years(parts: list[Path], dest: Path, customers: int) -> None:
    """Years generated apart made one shop: every year's orders as ``orders_<year>.csv``
    (their order ids differ by seed), the dated tables (traffic, ads, keywords) joined, the
    rest (products, campaigns, reviews, issues) the last year's."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in parts:
        (part / "orders.csv").rename(dest / f"orders_{part.name}.csv")
    for t in ("traffic", "ads", "keywords"):
        files = [part / f"{t}.csv" for part in parts if (part / f"{t}.csv").exists()]
        with open(dest / f"{t}.csv", "wb") as out:
            for i, f in enumerate(files):
                with open(f, "rb") as fh:
                    if i:
                        fh.readline()  # the header, once
                    shutil.copyfileobj(fh, out)
    for f in parts[-1].glob("*.csv"):
        if not (dest / f.name).exists():
            f.rename(dest / f.name)
    (dest / "shop.yaml").write_text(
        f"name: scale-{customers}\ncurrency: CNY\ntimezone: Asia/Shanghai\nlang: zh\n"
        "salt: bench-salt\norders:\n  file: orders_*.csv\n",
        encoding="utf-8",
    )
    for part in parts:
        shutil.rmtree(part, ignore_errors=True)


def child_load(shop_dir: str) -> None:
    """load_shop once; print rows and time."""
    sys.path.insert(0, str(ROOT))
    t0 = time.perf_counter()
    from helpers.load.shop import load_shop

    t1 = time.perf_counter()
    shop = load_shop(shop_dir)
    t2 = time.perf_counter()
    print(
        json.dumps(
            {"import_s": round(t1 - t0, 3), "load_s": round(t2 - t1, 3), "rows": len(shop.orders)}
        )
    )


class _Peak:
    """Peak RSS of this process over a step: a sampler thread and ru_maxrss together."""

    def __init__(self):
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            rss = self.proc.memory_info().rss
            with self.lock:
                self.peak = max(self.peak, rss)
            time.sleep(0.005)

    def start(self) -> tuple[int, int]:
        import resource

        rss = self.proc.memory_info().rss
        with self.lock:
            self.peak = rss
        return rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def stop(self, started: tuple[int, int]) -> tuple[float, float]:
        """(peak MB during the step, RSS MB before it)."""
        import resource

        rss0, hwm0 = started
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        with self.lock:
            peak = max(self.peak, self.proc.memory_info().rss)
        if hwm > hwm0:  # the high-water mark moved during the step: it is the exact peak
            peak = max(peak, hwm)
        return peak / 2**20, rss0 / 2**20


def _code_cells(nb_path: Path) -> list[tuple[str, str]]:
    """(tag, source) of the notebook's code cells, as the runner reads it."""
    from helpers.run.notebooks import read_notebook

    out = []
    for cell in read_notebook(nb_path).cells:
        if cell.cell_type == "code":
            tags = cell.get("metadata", {}).get("tags", [])
            src = "\n".join(ln for ln in cell.source.splitlines() if ln.lstrip()[:1] not in "%!")
            out.append(("parameters" if "parameters" in tags else "", src))
    return out


def child_helpers(nb_path: str, shop_dir: str, out_dir: str) -> None:
    """Run a notebook's code with every helper call timed; print one JSON object."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT))
    import importlib

    import helpers.nb as nbmod

    if os.environ.get("BENCH_PRELOAD", "1") == "1":  # as in `playbook run`: the kernel server
        from helpers.load.shop import preload  # has loaded the shop and built its sales lines

        preload(shop_dir)
    meter = _Peak()
    calls: list[dict] = []
    depth = [0]

    def wrap(modname, name, fn):
        def timed(*a, **k):
            if depth[0]:
                return fn(*a, **k)
            depth[0] += 1
            started = meter.start()
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                dt = time.perf_counter() - t0
                peak, before = meter.stop(started)
                depth[0] -= 1
                calls.append(
                    {
                        "helper": f"{modname}.{name}",
                        "s": round(dt, 4),
                        "peak_mb": round(peak, 1),
                        "before_mb": round(before, 1),
                    }
                )

        timed.__wrapped__ = fn
        return timed

    for modname in HELPER_MODULES:
        mod = importlib.import_module(f"helpers.{modname}")
        for name, obj in list(vars(mod).items()):
            if (
                callable(obj)
                and not name.startswith("_")
                and getattr(obj, "__module__", "") == mod.__name__
                and not isinstance(obj, type)
            ):
                setattr(mod, name, wrap(modname, name, obj))
    nbmod.open_shop = wrap("nb", "open_shop", nbmod.open_shop)
    import helpers.present.charts as charts_mod

    for name, obj in list(vars(charts_mod).items()):  # chart building: display, not compute
        if callable(obj) and not name.startswith("_") and not isinstance(obj, type):
            if getattr(obj, "__module__", "") == charts_mod.__name__ and name != "use_style":
                setattr(charts_mod, name, wrap("charts", name, obj))
    import matplotlib.pyplot as plt

    render = [0.0]

    def flush_figures():
        """What the inline backend does after each cell: every open figure to a PNG."""
        t0 = time.perf_counter()
        for num in plt.get_fignums():
            plt.figure(num).canvas.print_figure(io.BytesIO(), format="png", bbox_inches="tight")
        plt.close("all")
        render[0] += time.perf_counter() - t0

    plt.show = lambda *a, **k: flush_figures()
    from helpers.run.notebooks import notebook_imports

    for m in notebook_imports([Path(nb_path)]):  # what the runner's warm kernels import first
        with contextlib.suppress(ImportError):
            importlib.import_module(m)
    cells = _code_cells(Path(nb_path))
    ns: dict = {"__name__": "__main__"}
    t_all = time.perf_counter()
    cell_s = []
    for tag, src in cells:
        t0 = time.perf_counter()
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            exec(compile(src, f"{nb_path}:{tag or 'cell'}", "exec"), ns)  # noqa: S102
        if tag == "parameters":
            ns.update(shop_dir=shop_dir, out_dir=out_dir, as_of="", lang=ns.get("lang", "zh"))
        flush_figures()
        cell_s.append(round(time.perf_counter() - t0, 3))
    total = time.perf_counter() - t_all
    print(
        json.dumps(
            {
                "total_s": round(total, 3),
                "render_s": round(render[0], 3),
                "cells_s": cell_s,
                "calls": calls,
            }
        )
    )


# --- steps --------------------------------------------------------------------------------------


def shop_path(label: str) -> Path:
    return ROOT / "data" / "sample" / "demo" if label == "demo" else OUT / "shops" / label


CHART_CACHE = ["on"]  # --chart-cache: off draws every chart of every run


def cache_env(label: str) -> dict:
    env = {"PLAYBOOK_CACHE": str(OUT / "cache" / label), "MPLBACKEND": "Agg"}
    return env if CHART_CACHE[0] == "on" else {**env, "PLAYBOOK_CHART_CACHE": "off"}


def step_gen(label: str, res: dict, timeout: float) -> None:
    dest = shop_path(label)
    marker = OUT / "shops" / f"{label}.json"
    if label == "demo":
        return
    if marker.exists() and any(dest.glob("orders*.csv")):
        res["gen"] = json.loads(marker.read_text())
        return
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    years = YEAR_PARTS.get(label, 0)
    if not years:
        m = measure([PY, __file__, "--child", "gen", str(SIZES[label]), str(dest)], timeout=timeout)
        _check(m, f"gen {label}")
        res["gen"] = {**_strip(m), **last_json(m["stdout"])}
    else:  # a year at a time, each in its own process
        per, parts, got = SIZES[label] // years, [], []
        for i, year in enumerate(range(2026 - years, 2026)):
            part = dest.parent / f".{label}" / str(year)
            cmd = [PY, __file__, "--child", "gen", str(per), str(part), str(year), str(i)]
            m = measure(cmd, timeout=timeout)
            _check(m, f"gen {label} {year}")
            parts.append(part)
            got.append({**_strip(m), **last_json(m["stdout"])})
        join_years(parts, dest, SIZES[label])
        res["gen"] = {
            "wall_s": round(sum(g["wall_s"] for g in got), 1),
            "peak_tree_pss_mb": max(g["peak_tree_pss_mb"] for g in got),
            "order_lines": sum(g["order_lines"] for g in got),
            "customers": SIZES[label],
            "csv_mb": round(sum(g["csv_mb"] for g in got), 1),
            "years": years,
        }
    marker.write_text(json.dumps(res["gen"]))


def step_load(label: str, res: dict, repeats: int, timeout: float) -> None:
    env = cache_env(label)
    shutil.rmtree(OUT / "cache" / label, ignore_errors=True)
    m = measure([PY, __file__, "--child", "load", str(shop_path(label))], env, timeout)
    _check(m, f"load cold {label}")
    res["load_cold"] = {**_strip(m), **last_json(m["stdout"])}
    time.sleep(3.5)  # the cache's file stamps need settled files (see helpers.load.shop._stamp)
    runs = []
    for _ in range(repeats):
        m = measure([PY, __file__, "--child", "load", str(shop_path(label))], env, timeout)
        _check(m, f"load warm {label}")
        runs.append({**_strip(m), **last_json(m["stdout"])})
    res["load_warm"] = _median_of(runs)


def step_first_run(label: str, res: dict, timeout: float) -> None:
    """The full playbook on an empty cache: what a client's first run costs."""
    shop, env = shop_path(label), cache_env(label)
    shutil.rmtree(OUT / "cache" / label, ignore_errors=True)
    m = measure(_run_cmd(shop, OUT / "reports" / f"{label}-first"), env, timeout)
    _check(m, f"first run {label}")
    info = last_json(m["stdout"])
    res["first_run"] = {**_strip(m), **info, "max_memory": _cap()}
    if (info.get("timings") or {}).get("jobs") == 1:  # windows of their own: per notebook
        res["first_run"].update(per_notebook(m, info))
    print(f"  first run: {m['wall_s']:.1f} s", file=sys.stderr, flush=True)


def _run_cmd(
    shop: Path, out: Path, playbook_dir: Path | None = None, jobs: int | None = None
) -> list[str]:
    """``run_shop`` in a child that prints failures, timings and when each notebook ended."""
    pd_arg = f", playbook_dir=Path({str(playbook_dir)!r})" if playbook_dir else ""
    code = (
        "import json, sys, time; from pathlib import Path; from helpers.run.runner import run_shop; "
        "ends = {}; "
        f"r = run_shop({str(shop)!r}, {str(out)!r}, progress=False{pd_arg}, jobs={jobs!r}, "
        "on_notebook=lambda stem: ends.__setitem__(stem, time.time())); "
        "print(json.dumps({'failures': r.failures, 'timings': r.timings, 'ends': ends}))"
    )
    return [PY, "-c", code]


def _cli_run_cmd(shop: Path, out: Path) -> list[str]:
    """``playbook run``, the command a consultant types (its kernel server starts before
    the run's own imports, which a script importing ``run_shop`` first cannot do)."""
    return [PY, "-m", "helpers.cli", "run", str(shop), "--out", str(out)]


def per_notebook(m: dict, info: dict) -> dict:
    """Each notebook's wall time and the tree's peak PSS while it ran (one at a time)."""
    tl, ends, t = m["timeline"], info.get("ends", {}), info.get("timings", {})
    out = {}
    for stem, end in sorted(ends.items(), key=lambda kv: kv[1]):
        start = end - t[stem]
        pss = [v for at, v in tl if start <= at <= end]
        out[stem] = {"s": t[stem], "peak_tree_pss_mb": round(max(pss), 1) if pss else None}
    return {"notebooks": out}


def step_sequential(label: str, res: dict, timeout: float) -> None:
    """The full playbook, warm cache, one notebook at a time: per notebook s and peak PSS."""
    shop, env = shop_path(label), cache_env(label)
    m = measure(_run_cmd(shop, OUT / "reports" / f"{label}-seq", jobs=1), env, timeout)
    _check(m, f"sequential run {label}")
    info = last_json(m["stdout"])
    res["sequential"] = {**_strip(m), "timings": info.get("timings"), **per_notebook(m, info)}
    print(f"  one at a time: {m['wall_s']:.1f} s", file=sys.stderr, flush=True)


def _floor_cmd(shop: Path, out: Path, floor_dir: Path) -> list[str]:
    """Plain papermill over the import-only notebooks, one after another, a kernel each."""
    code = (
        "import sys; from pathlib import Path; import papermill as pm\n"
        f"src, out = Path({str(floor_dir)!r}), Path({str(out)!r})\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "for nb in sorted(src.glob('*.ipynb')):\n"
        "    pm.execute_notebook(str(nb), str(out / nb.name), progress_bar=False, "
        f"parameters=dict(shop_dir={str(shop)!r}, out_dir=str(out), as_of='', lang='zh'), "
        "kernel_name='python3', cwd=str(src))\n"
    )
    return [PY, "-c", code]


def make_floor(dest: Path) -> Path:
    """Notebooks that only do what the real ones import (same names, same parameters)."""
    import nbformat

    sys.path.insert(0, str(ROOT))
    from helpers.run.notebooks import notebooks, read_notebook

    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for p in notebooks():
        nb = read_notebook(p)
        params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        imports = []
        import ast

        for c in nb.cells:
            if c.cell_type != "code":
                continue
            src = "\n".join(ln for ln in c.source.splitlines() if ln.lstrip()[:1] not in "%!")
            with contextlib.suppress(SyntaxError):
                for node in ast.parse(src).body:
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        imports.append(ast.unparse(node))
        stub = nbformat.v4.new_notebook(metadata=nb.metadata)
        stub.cells = [*params, nbformat.v4.new_code_cell("\n".join(dict.fromkeys(imports)))]
        for c in stub.cells:
            c.outputs, c.execution_count = [], None
        nbformat.write(stub, dest / f"{p.stem}.ipynb")
    return dest


def step_runs(label: str, res: dict, repeats: int, floor: bool, timeout: float) -> None:
    """Full runs (and floor runs) alternated, so both see the same machine load; after one
    run that is not measured, which fills the Parquet cache and (unless ``--chart-cache off``)
    the charts' PNG cache: these are warm runs."""
    shop, env = shop_path(label), cache_env(label)
    floor_dir = make_floor(OUT / "floor_notebooks") if floor else None
    _check(measure(_cli_run_cmd(shop, OUT / "reports" / label), env, timeout), f"warm-up {label}")
    runs, floors, rfloors = [], [], []
    for i in range(repeats):
        out = OUT / "reports" / label
        m = measure(_cli_run_cmd(shop, out), env, timeout)
        _check(m, f"run {label}")
        done = out / "run.json"
        meta = json.loads(done.read_text(encoding="utf-8")) if m["rc"] in (0, 1) else {}
        runs.append({**_strip(m), "failures": meta.get("failures"), "timings": meta.get("timings")})
        if floor_dir is not None:
            fout = OUT / "reports" / f"{label}-floor"
            m = measure(_floor_cmd(shop, fout, floor_dir), env, timeout)
            _check(m, f"floor {label}")
            floors.append(_strip(m))
            m = measure(_run_cmd(shop, fout, floor_dir), env, timeout)
            _check(m, f"floor (runner) {label}")
            rfloors.append({**_strip(m), **last_json(m["stdout"])})
        print(f"  run {i + 1}/{repeats}: {runs[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
    res["run"] = {**_median_of(runs), "max_memory": _cap(), "chart_cache": CHART_CACHE[0]}
    res["run"]["timings_runs"] = [r.get("timings", {}) for r in runs]
    if floors:
        res["floor"] = _median_of(floors)
        res["floor"]["pairs"] = [
            {
                "run_s": r["wall_s"],
                "floor_s": f["wall_s"],
                "ratio": round(r["wall_s"] / f["wall_s"], 3),
            }
            for r, f in zip(runs, floors)
        ]
        res["floor"]["ratio_median"] = round(
            statistics.median(p["ratio"] for p in res["floor"]["pairs"]), 3
        )
        res["floor_runner"] = _median_of(rfloors)
        res["floor_runner"]["ratio_median"] = round(
            statistics.median(r["wall_s"] / f["wall_s"] for r, f in zip(runs, rfloors)), 3
        )


def _papermill_cmd(nb: Path, shop: Path, out_dir: Path, dest: Path) -> list[str]:
    code = (
        "import sys; from helpers.run.runner import light_imports; from helpers.run.notebooks import read_notebook; light_imports(); "
        "import papermill as pm; "
        f"pm.execute_notebook(read_notebook(__import__('pathlib').Path({str(nb)!r})), "
        f"{str(dest)!r}, parameters=dict(shop_dir={str(shop)!r}, out_dir={str(out_dir)!r}, "
        f"as_of='', lang='zh'), cwd={str(nb.parent)!r}, progress_bar=False, "
        "kernel_name='python3', request_save_on_cell_execute=False)"
    )
    return [PY, "-c", code]


def step_notebooks(label: str, res: dict, timeout: float) -> None:
    from helpers.run.notebooks import notebooks

    shop, env = shop_path(label), cache_env(label)
    base = OUT / "reports" / label
    scratch = OUT / "scratch" / label
    out = {}
    for nb in notebooks():
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(base, scratch)
        dest = scratch / "notebooks" / f"{nb.stem}.ipynb"
        m = measure(_papermill_cmd(nb, shop, scratch, dest), env, timeout)
        _check(m, f"notebook {nb.stem} {label}")
        out[nb.stem] = _strip(m)
        print(f"  {nb.stem}: {m['wall_s']:.1f} s", file=sys.stderr, flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    res["notebooks"] = out


def step_helpers(label: str, res: dict, timeout: float) -> None:
    from helpers.run.notebooks import notebooks

    shop, env = shop_path(label), cache_env(label)
    base = OUT / "reports" / label
    scratch = OUT / "scratch" / label
    out = {}
    for nb in notebooks():
        shutil.rmtree(scratch, ignore_errors=True)
        if base.exists():
            shutil.copytree(base, scratch)
        m = measure(
            [PY, __file__, "--child", "helpers", str(nb), str(shop), str(scratch)], env, timeout
        )
        _check(m, f"helpers {nb.stem} {label}")
        info = last_json(m["stdout"])
        out[nb.stem] = {**_strip(m), **info}
        print(
            f"  helpers {nb.stem}: {info.get('total_s', float('nan')):.1f} s",
            file=sys.stderr,
            flush=True,
        )
    shutil.rmtree(scratch, ignore_errors=True)
    res["helpers"] = out


def _cap() -> str | None:
    """PLAYBOOK_MAX_MEMORY as the runs saw it (it may choose one notebook at a time)."""
    return os.environ.get("PLAYBOOK_MAX_MEMORY") or None


def _strip(m: dict) -> dict:
    return {k: v for k, v in m.items() if k not in ("stdout", "timeline")}


def _check(m: dict, what: str) -> None:
    if m["rc"] != 0 or m["timed_out"]:
        why = "timed out" if m["timed_out"] else f"exit {m['rc']}"
        why += " (memory cap)" if m.get("memory_cap_hit") else ""
        print(f"WARNING {what}: {why}\n{m['stderr_tail']}", file=sys.stderr, flush=True)


def _median_of(runs: list[dict]) -> dict:
    """Median wall time and memory of repeated runs, with every run's wall time kept."""
    out = dict(runs[len(runs) // 2])
    for k in ("wall_s", "peak_rss_mb", "peak_tree_mb", "peak_tree_pss_mb", "load_s"):
        vals = [r[k] for r in runs if isinstance(r.get(k), int | float)]
        if vals:
            out[k] = round(statistics.median(vals), 3)
    out["repeats"] = len(runs)
    out["wall_runs_s"] = [r["wall_s"] for r in runs]
    return out


# --- results ------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "free_h": mem,
        "python": platform.python_version(),
        "commit": commit + ("+dirty" if dirty else ""),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg": [round(x, 2) for x in load],
    }


def load_results() -> dict:
    f = OUT / "results.json"
    return json.loads(f.read_text()) if f.exists() else {"sizes": {}}


def save_results(data: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(data, indent=1, ensure_ascii=False))


def order_lines(label: str, r: dict) -> int | None:
    return (r.get("gen") or {}).get("order_lines") or (r.get("load_warm") or {}).get("rows")


def summary(data: dict) -> str:
    """Markdown tables of the results."""
    lines = []
    rows = sorted(data["sizes"].items(), key=lambda kv: order_lines(*kv) or 0)
    lines.append(
        "| shop | order lines | gen + write s | load cold s / MB | load warm s / MB "
        "| first run s / tree PSS MB | full run s | run peak MB (largest / tree PSS) "
        "| papermill floor s | run/floor | runner floor s | run/runner floor |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in rows:
        g, lc, lw, fr, run, fl, rf = (
            r.get(k) or {}
            for k in ("gen", "load_cold", "load_warm", "first_run", "run", "floor", "floor_runner")
        )
        gen = f"{g.get('generate_s', 0) + g.get('write_s', 0):.0f}" if g else "–"
        lines.append(
            f"| {label} | {order_lines(label, r) or 0:,} | {gen} "
            f"| {_f(lc.get('wall_s'))} / {_f(lc.get('peak_rss_mb'), 0)} "
            f"| {_f(lw.get('wall_s'))} / {_f(lw.get('peak_rss_mb'), 0)} "
            f"| {_f(fr.get('wall_s'))} / {_f(fr.get('peak_tree_pss_mb'), 0)} "
            f"| {_f(run.get('wall_s'))} | {_f(run.get('peak_rss_mb'), 0)} / "
            f"{_f(run.get('peak_tree_pss_mb') or run.get('peak_tree_mb'), 0)} "
            f"| {_f(fl.get('wall_s'))} "
            f"| {_f(fl.get('ratio_median'), 2)} | {_f(rf.get('wall_s'))} "
            f"| {_f(rf.get('ratio_median'), 2)} |"
        )
    seq = [(label, r["sequential"]) for label, r in rows if r.get("sequential")]
    if seq:
        stems = sorted({s for _, q in seq for s in q.get("notebooks", {})})
        lines += [
            "",
            "Each notebook, one at a time, warm cache: wall s / the tree's peak PSS GiB while it "
            "ran (the kernel server holding the shop included):",
            "",
            "| notebook | " + " | ".join(label for label, _ in seq) + " |",
            "|---|" + "---:|" * len(seq),
        ]
        for stem in stems:
            cells = []
            for _, q in seq:
                n = q.get("notebooks", {}).get(stem) or {}
                gib = (n.get("peak_tree_pss_mb") or 0) / 1024
                cells.append(f"{_f(n.get('s'))} s / {_f(gib, 2)}")
            lines.append(f"| {stem} | " + " | ".join(cells) + " |")
        lines.append(
            "| **whole run** | "
            + " | ".join(
                f"{_f(q['wall_s'])} s / {_f(q['peak_tree_pss_mb'] / 1024, 2)}" for _, q in seq
            )
            + " |"
        )
    for label, r in rows:
        if r.get("helpers"):
            lines += ["", breakdown(label, r)]
    return "\n".join(lines)


def split_calls(hp: dict) -> dict:
    """Seconds of a notebook's plain-code run by kind of work."""
    calls = hp.get("calls", [])
    load = sum(c["s"] for c in calls if c["helper"] == "nb.open_shop")
    charts = sum(c["s"] for c in calls if c["helper"].startswith("charts."))
    compute = sum(
        c["s"]
        for c in calls
        if c["helper"] != "nb.open_shop" and not c["helper"].startswith("charts.")
    )
    render = hp.get("render_s", 0.0)
    total = hp.get("total_s", 0.0)
    return {
        "open_shop": load,
        "compute": compute,
        "charts": charts,
        "render": render,
        "other": max(total - load - compute - charts - render, 0.0),
        "total": total,
    }


def breakdown(label: str, r: dict) -> str:
    """Per notebook at one size: papermill alone, and where the plain-code time goes."""
    out = [
        f"Notebooks at {label}: alone under papermill (fresh kernel), and the same code run "
        "plainly, split by kind of work (s):",
        "",
        "| notebook | papermill s / peak MB | plain total | open_shop | helpers (compute) "
        "| chart building | PNG rendering | tables, text, rest |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    sums = dict.fromkeys(("open_shop", "compute", "charts", "render", "other", "total"), 0.0)
    pm_total = 0.0
    for stem, hp in sorted((r.get("helpers") or {}).items()):
        nb = (r.get("notebooks") or {}).get(stem) or {}
        sp = split_calls(hp)
        for k in sums:
            sums[k] += sp[k]
        pm_total += nb.get("wall_s") or 0.0
        out.append(
            f"| {stem} | {_f(nb.get('wall_s'))} / {_f(nb.get('peak_rss_mb'), 0)} "
            f"| {sp['total']:.1f} | {sp['open_shop']:.1f} | {sp['compute']:.1f} "
            f"| {sp['charts']:.1f} | {sp['render']:.1f} | {sp['other']:.1f} |"
        )
    out.append(
        f"| **all** | {pm_total:.1f} | {sums['total']:.1f} | {sums['open_shop']:.1f} "
        f"| {sums['compute']:.1f} | {sums['charts']:.1f} | {sums['render']:.1f} "
        f"| {sums['other']:.1f} |"
    )
    return "\n".join(out)


def top_helpers(data: dict, label: str, n: int = 15) -> str:
    r = data["sizes"].get(label) or {}
    calls = []
    for stem, hp in (r.get("helpers") or {}).items():
        for c in hp.get("calls", []):
            if not c["helper"].startswith("charts."):
                calls.append((c["s"], stem, c["helper"], c["peak_mb"], c["before_mb"]))
    calls.sort(reverse=True)
    total = sum(c[0] for c in calls) or 1
    out = [
        f"Slowest helper calls at {label} (share of all helper time):",
        "",
        "| s | share | notebook | helper | peak MB (before) |",
        "|---:|---:|---|---|---:|",
    ]
    for s, stem, h, pk, bf in calls[:n]:
        out.append(f"| {s:.2f} | {s / total:.0%} | {stem} | `{h}` | {pk:.0f} ({bf:.0f}) |")
    return "\n".join(out)


def _f(x, nd: int = 1) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def chart(data: dict, path: Path) -> None:
    """Log-log: wall time and peak memory of load / run against order lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(order_lines(k, r), r) for k, r in data["sizes"].items() if order_lines(k, r)]
    rows.sort(key=lambda x: x[0])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [
        ("first run (empty cache)", "first_run"),
        ("full run", "run"),
        ("full run, one notebook at a time", "sequential"),
        ("load, cold", "load_cold"),
        ("load, warm", "load_warm"),
    ]
    for name, key in series:
        pts = [(n, r[key]["wall_s"]) for n, r in rows if r.get(key)]
        if pts:
            ax1.plot(*zip(*pts), "o-", label=name)
        pts = [(n, r[key]["peak_rss_mb"] / 1024) for n, r in rows if r.get(key)]
        if pts:
            ax2.plot(*zip(*pts), "o-", label=name)
    for name, key in (
        ("full run", "run"),
        ("first run", "first_run"),
        ("one notebook at a time", "sequential"),
    ):
        pts = [
            (n, r[key]["peak_tree_pss_mb"] / 1024)
            for n, r in rows
            if (r.get(key) or {}).get("peak_tree_pss_mb")
        ]
        if pts:
            ax2.plot(*zip(*pts), "D-", label=f"{name}, all processes (PSS)")
    pts = [
        (n, sum(c["s"] for h in r["helpers"].values() for c in h.get("calls", [])))
        for n, r in rows
        if r.get("helpers")
    ]
    if pts:
        ax1.plot(*zip(*pts), "s--", label="all helpers (sum)")
    xs = [n for n, _ in rows]
    if xs:
        lo, hi = min(xs), max(xs)
        for ax, y0, what in (
            (ax1, 30, "1M warm run target 30 s"),
            (ax1, 120, "10M warm run target 120 s"),
            (ax1, 300, "10M first run target 5 min"),
            (ax2, 8, "10M first run target 8 GB (PSS)"),
        ):
            ax.axhline(y0, color="grey", lw=0.8, ls=":")
            ax.annotate(what, (lo, y0), fontsize=8, color="grey", va="bottom")
        ref = [(lo, 1.0), (hi, hi / lo)]  # slope 1 guide
        base = next((r["run"]["wall_s"] for n, r in rows if r.get("run")), None)
        if base:
            ax1.plot(
                [x for x, _ in ref],
                [base * y for _, y in ref],
                color="lightgrey",
                lw=1,
                label="linear (slope 1)",
            )
    for ax, ylabel in ((ax1, "wall time, s"), (ax2, "peak memory, GB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("order lines")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=8, loc="lower right")
    m = data.get("machine", {})
    runs = sorted({(r.get("machine") or {}).get("date", "")[:10] for _, r in rows} - {""})
    commits = sorted({(r.get("machine") or {}).get("commit", "") for _, r in rows} - {""})
    fig.suptitle(
        f"playbook scale — {m.get('nproc')} cores, {m.get('cpu', '')}; each point the latest "
        f"run of its step (bench/RESULTS.md says when), last {', '.join(runs)} at "
        f"{', '.join(commits)}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --- main ---------------------------------------------------------------------------------------


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="demo,10k,100k,1M", help="demo,10k,100k,1M,10M")
    ap.add_argument("--steps", default=",".join(STEPS), help=",".join(STEPS))
    ap.add_argument("--repeats", type=int, default=3, help="warm loads and full runs per size")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per measured step")
    ap.add_argument(
        "--max-rss-gb", type=float, default=0, help="stop a step whose tree PSS passes this"
    )
    ap.add_argument("--cold", action="store_true", help=f"the steps {COLD_STEPS}")
    ap.add_argument("--chart-only", action="store_true")
    ap.add_argument(
        "--chart-cache", choices=("on", "off"), default="on", help="off: every chart drawn"
    )
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        kind, *rest = a.child
        {
            "gen": lambda: child_gen(int(rest[0]), *rest[1:]),
            "load": lambda: child_load(rest[0]),
            "helpers": lambda: child_helpers(*rest),
        }[kind]()
        return
    sys.path.insert(0, str(ROOT))
    MAX_TREE_BYTES[0] = a.max_rss_gb * 2**30
    CHART_CACHE[0] = a.chart_cache
    data = load_results()
    if not a.chart_only:
        data["machine"] = machine()
        steps = set((COLD_STEPS if a.cold else a.steps).split(","))
        for label in a.sizes.split(","):
            res = data["sizes"].setdefault(label, {})
            print(f"[{label}]", file=sys.stderr, flush=True)
            if "gen" in steps:
                step_gen(label, res, a.timeout)
            if "load_cold" in steps or "load_warm" in steps:
                step_load(label, res, a.repeats, a.timeout)
            if "first_run" in steps:
                step_first_run(label, res, a.timeout)
            if "run" in steps:
                step_runs(label, res, a.repeats, "floor" in steps and label == "demo", a.timeout)
            if "sequential" in steps:
                step_sequential(label, res, a.timeout)
            save_results(data)
            if "notebooks" in steps:
                step_notebooks(label, res, a.timeout)
            if "helpers" in steps:
                step_helpers(label, res, a.timeout)
            res["machine"] = machine()
            save_results(data)
    chart(data, ROOT / "bench" / "scale.png")
    text = summary(data)
    for label in data["sizes"]:
        if data["sizes"][label].get("helpers"):
            text += "\n\n" + top_helpers(data, label)
    (OUT / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
