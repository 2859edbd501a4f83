"""Batch throughput: a naive sequential papermill loop against ``playbook batch`` (1 and 2
workers) on the same generated shops, with identical outputs checked.

    .venv/bin/python bench/bench_batch.py                 # 20 shops, 3 rounds, all variants
    .venv/bin/python bench/bench_batch.py --shops 4 --rounds 1 --no-write   # a quick look

Shops are generated with :mod:`helpers.datasets.sample` into ``bench/out/batch/shops`` (git-ignored).
Each round runs every variant once, in a rotated order, each as a fresh process with a fresh
Parquet cache (so every variant parses each shop once), and times the whole process. The
naive loop is what the runner did before issue 6: for each shop and notebook, papermill
with a kernel started on demand (saving the notebook after every cell), a new nbconvert
``lab`` exporter per page, and ``DataFrame.to_excel`` for the workbook. After the rounds,
every shop's artifacts from each batch variant are compared with the naive loop's.

The figures (medians over rounds, ratios against the naive loop's median) and where the time
goes (per-step seconds per shop, from the runs' own timings) are written to the
"Batch throughput" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "batch"
RESULTS = ROOT / "bench" / "RESULTS.md"
PY = sys.executable
SECTION = "## Batch throughput"

FINDINGS = """Where the naive loop's time went, and what the batch runner does instead (single
measurements on this machine while other work shared its two cores, so read them as
proportions):

* **Kernel start-up and imports, every notebook**: a fresh ipykernel takes ~1.3 s to answer,
  then the notebook's first cell imports pandas, matplotlib, the helpers and, through
  `charts.use_style`, seaborn → scipy.stats (~2-4 s together). The runner now forks each
  kernel from a per-worker server process that has done those imports once
  (`runner.KernelPool`, `_zygote_main`), one notebook ahead of need; every notebook still
  gets its own fresh process and empty namespace. Notebook 00's first cell (imports, open_shop)
  went from ~4.6 s to 0.6-1.0 s and the whole notebook from ~11 s to ~2 s on a small shop.
* **papermill saving the notebook before and after every cell** (JSON + schema validation
  of a notebook carrying PNG charts, ~60 writes for a 30-cell notebook): ~1 s a notebook;
  now written once.
* **Importing papermill/nbconvert**: jsonschema builds an IRI grammar (rfc3987_syntax, Lark)
  on import: 3.0 s of 4.0 s; skipped (`runner.light_imports`), once per process.
* **HTML export**: a new `lab` exporter per page (0.5 s the first time, ~0.1 s after, pages
  of ~340 KB of JupyterLab CSS each) → one `basic` exporter per process (0.04 s a page) and
  our own stylesheet.
* **Excel**: `DataFrame.to_excel` styles every cell; writing columns with xlsxwriter
  directly took 3.2 s instead of 5.3 s for the demo shop's 65 sheets.
* **Parsing the shop**: once per shop in the worker. The worker's kernel server then loads
  the shop from the Parquet cache once, and the shop's seven kernels share it (before the
  fifth round each kernel read the cache itself).
"""


def shop_sizes(n: int, customers: int, customers_max: int | None) -> list[int]:
    """Customers per shop: all ``customers``, or spread geometrically from ``customers`` to
    ``customers_max`` (about four order lines a customer: 4,500 is demo-sized, 250,000 a
    1M-line shop). Mixed sizes are listed largest first, as a portfolio's big shops would
    be scheduled first."""
    if not customers_max or n < 2:
        return [customers] * n
    step = (customers_max / customers) ** (1 / (n - 1))
    return sorted((round(customers * step**i) for i in range(n)), reverse=True)


def make_shops(sizes: list[int], products: int) -> Path:
    """One shop per entry of ``sizes`` (customers; seeds 100, 101, ...), reused while the sizes
    are the same."""
    sys.path.insert(0, str(ROOT))
    from helpers.datasets import sample

    d = OUT / "shops"
    stamp = d / ".made.json"
    want = {"customers": sizes, "products": products}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return d
    shutil.rmtree(d, ignore_errors=True)
    for i, customers in enumerate(sizes):
        t = sample.generate(100 + i, sample.SampleSize(n_customers=customers, n_products=products))
        lang = "en" if i % 4 == 3 else "zh"
        sample.write_canonical_shop(
            t,
            d / f"shop_{i:02d}",
            f"Bench shop {i:02d}",
            salt=f"bench-{i}",
            fiscal_year_start_month=1 + (i % 12),
            lang=lang,
        )
    stamp.write_text(json.dumps(want))
    return d


# --- the naive loop (run in its own process) --------------------------------------------------


def naive_loop(shops: list[Path], out: Path, only: list[str] | None) -> dict:
    """What ``run_shop`` did before: papermill per notebook, a new exporter per page,
    ``to_excel`` per table. Returns per-step seconds summed over shops."""
    t_imp = time.perf_counter()
    import nbformat
    import pandas as pd
    import papermill as pm
    from nbconvert import HTMLExporter

    from helpers.load import artifacts
    from helpers.load.shop import load_shop
    from helpers.run.notebooks import PLAYBOOK_DIR

    steps = {
        "imports": time.perf_counter() - t_imp,
        "load": 0.0,
        "notebooks": 0.0,
        "cells": 0.0,
        "html": 0.0,
        "excel": 0.0,
    }
    nbs = sorted(PLAYBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        nbs = [p for p in nbs if p.name[:2] in only]
    for shop_dir in shops:
        t0 = time.perf_counter()
        shop = load_shop(shop_dir)
        dest = out / shop_dir.name
        (dest / "notebooks").mkdir(parents=True, exist_ok=True)
        params = {
            "shop_dir": str(shop_dir),
            "out_dir": str(dest),
            "as_of": str(shop.as_of.date()),
            "lang": shop.config.lang,
        }
        steps["load"] += time.perf_counter() - t0
        for nb in nbs:
            t0 = time.perf_counter()
            o = dest / "notebooks" / nb.name
            try:
                pm.execute_notebook(
                    str(nb),
                    str(o),
                    parameters=params,
                    cwd=str(nb.parent),
                    progress_bar=False,
                    kernel_name="python3",
                )
            except Exception as e:
                print(f"naive: {shop_dir.name} {nb.stem}: {type(e).__name__}", file=sys.stderr)
            steps["notebooks"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            if o.exists():
                node = nbformat.read(o, as_version=4)
                steps["cells"] += sum(
                    c.metadata.get("papermill", {}).get("duration") or 0
                    for c in node.cells
                    if c.cell_type == "code"
                )
                exporter = HTMLExporter(
                    template_name="lab",
                    exclude_input=True,
                    exclude_input_prompt=True,
                    exclude_output_prompt=True,
                )
                body, _ = exporter.from_notebook_node(node)
                (dest / f"{nb.stem}.html").write_text(body, encoding="utf-8")
            steps["html"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        with pd.ExcelWriter(dest / f"{shop_dir.name}.xlsx", engine="xlsxwriter") as xw:
            for i, (name, df) in enumerate(artifacts.sheets(dest)):
                df.to_excel(
                    xw,
                    sheet_name=f"{i:02d} {name}"[:31],
                    index=not isinstance(df.index, pd.RangeIndex),
                )
        steps["excel"] += time.perf_counter() - t0
    return steps


# --- running the variants ---------------------------------------------------------------------


def warm_cluster(workers: int, cache: Path):
    """A Dask ``LocalCluster`` of ``workers`` processes × 1 thread, started with the
    playbook's preload and left to finish warming (what README's cluster commands give)."""
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        preload=["helpers.run.dask_setup"],
        env={"PLAYBOOK_CACHE": str(cache), "PYTHONPATH": str(ROOT)},
    )
    with distributed.Client(cluster) as client:
        # a task queues behind the warm-up on each worker's one thread: warm when it returns
        addrs = list(client.scheduler_info()["workers"])
        client.gather([client.submit(int, 1, workers=[a], pure=False) for a in addrs])
    return cluster


def run_variant(name: str, shops: Path, out: Path, only: list[str] | None) -> dict:
    """``naive``, ``batch-N`` (the local pool, N workers) or ``dask-N`` (a warm Dask cluster
    of N workers, started before the clock starts) over ``shops``; the whole command timed."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {**os.environ, "PLAYBOOK_CACHE": str(out / ".cache")}
    env.pop("MPLBACKEND", None)
    cluster = None
    if name == "naive":
        cmd = [PY, __file__, "--naive-into", str(out), str(shops)]
    else:
        kind, workers = name.split("-")
        cmd = [PY, "-m", "helpers.cli", "batch", str(shops), "--out", str(out), "--force"]
        if kind == "dask":
            cluster = warm_cluster(int(workers), out / ".cache")
            cmd += ["--scheduler", cluster.scheduler_address]
        else:
            cmd += ["--workers", workers]
    if only:
        cmd += ["--only", ",".join(only)]
    try:
        t0 = time.perf_counter()
        before = os.times()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        after = os.times()
        wall = time.perf_counter() - t0
    finally:
        if cluster is not None:
            cluster.close()
    # a Dask cluster's workers are not this process's waited-for children: no CPU figure
    cpu = (
        None
        if cluster is not None
        else (after.children_user - before.children_user)
        + (after.children_system - before.children_system)
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"{name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return {
        "variant": name,
        "wall": wall,
        "cpu": cpu,
        "stderr": proc.stderr[-2000:],
        "failures": failures(name, out, proc.stderr),
    }


def failures(name: str, out: Path, stderr: str) -> list[str]:
    """The notebooks that failed, "shop notebook: error": identical outputs prove nothing
    when both variants stopped at the same cell."""
    if name == "naive":
        return [ln[len("naive: ") :] for ln in stderr.splitlines() if ln.startswith("naive: ")]
    summary = out / "summary.txt"
    lines = summary.read_text(encoding="utf-8").splitlines() if summary.exists() else ["no summary"]
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith(("OK", "SKIPPED"))]


def steps_of(name: str, out: Path) -> dict:
    """Per-step seconds summed over shops, from the run's own records."""
    if name == "naive":
        return json.loads((out / "steps.json").read_text())
    steps: dict[str, float] = {
        "load": 0.0,
        "notebooks": 0.0,
        "cells": 0.0,
        "html": 0.0,
        "excel": 0.0,
    }
    import nbformat

    for run in out.glob("*/run.json"):
        t = json.loads(run.read_text())["timings"]
        steps["load"] += t.get("load", 0)
        steps["html"] += t.get("html", 0)
        steps["excel"] += t.get("excel", 0)
        steps["notebooks"] += sum(v for k, v in t.items() if k[:2].isdigit())
        for nb in (run.parent / "notebooks").glob("*.ipynb"):
            node = nbformat.read(nb, as_version=4)
            steps["cells"] += sum(
                c.metadata.get("papermill", {}).get("duration") or 0
                for c in node.cells
                if c.cell_type == "code"
            )
    return steps


def describe(sizes: list[int], shops: Path) -> str:
    """The shops' sizes in words: customers, and order lines as generated."""
    lines = [sum(1 for _ in open(p, "rb")) - 1 for p in sorted(shops.glob("shop_*/orders.csv"))]
    if len(set(sizes)) == 1:
        return f"{sizes[0]:,} customers ({min(lines):,}–{max(lines):,} order lines)"
    return (
        f"{min(sizes):,} to {max(sizes):,} customers, {min(lines):,} to {max(lines):,} order "
        f"lines ({sum(lines):,} in all)"
    )


def compare(shops: Path, a: Path, b: Path) -> list[str]:
    from helpers.run.batch import artifact_differences

    diffs = []
    for shop in sorted(p.name for p in shops.iterdir() if p.is_dir()):
        diffs += [f"{shop}: {d}" for d in artifact_differences(a / shop, b / shop)]
    return diffs


def machine() -> dict:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(
                cmd, shell=True, capture_output=True, text=True, cwd=ROOT
            ).stdout.strip()
        except OSError:
            return "?"

    mem = sh("free -h").splitlines()
    return {
        "nproc": str(os.cpu_count()),  # nproc follows OMP_NUM_THREADS, which Dask sets
        "memory": re.sub(r"\s+", " ", mem[1]) if len(mem) > 1 else "?",
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": sh("git rev-parse --short HEAD")
        + (" (+ uncommitted changes)" if sh("git status --porcelain") else ""),
        "python": platform.python_version(),
        "load": sh("cat /proc/loadavg").split(" ")[:3],
    }


def write_results(text: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if SECTION in old:
        start = old.index(SECTION)
        nxt = old.find("\n## ", start + len(SECTION))
        old = old[:start].rstrip() + "\n\n" + (old[nxt + 1 :] if nxt != -1 else "")
    RESULTS.write_text(old.rstrip() + "\n\n" + text.rstrip() + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shops", type=int, default=20)
    ap.add_argument("--customers", type=int, default=600)
    ap.add_argument(
        "--customers-max",
        type=int,
        help="mixed sizes: customers spread geometrically from --customers to this",
    )
    ap.add_argument("--products", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default="naive,batch-1,batch-2", help="also dask-N")
    ap.add_argument("--only", help="notebook numbers, e.g. 00,02 (default: all)")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    ap.add_argument("--naive-into", nargs=2, metavar=("OUT", "SHOPS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    only = [s.strip().zfill(2) for s in a.only.split(",")] if a.only else None
    if a.naive_into:
        sys.path.insert(0, str(ROOT))
        out, shops = Path(a.naive_into[0]), Path(a.naive_into[1])
        steps = naive_loop(sorted(p for p in shops.iterdir() if p.is_dir()), out, only)
        (out / "steps.json").write_text(json.dumps(steps))
        return

    sizes = shop_sizes(a.shops, a.customers, a.customers_max)
    shops = make_shops(sizes, a.products)
    variants = a.variants.split(",")
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(a.rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for v in order:
            res = run_variant(v, shops, OUT / f"{v}-r{r}", only)
            res["steps"] = steps_of(v, OUT / f"{v}-r{r}")
            runs[v].append(res)
            cpu_s = "–" if res["cpu"] is None else f"{res['cpu']:.1f}"
            print(f"round {r + 1}: {v:8} {res['wall']:7.1f} s wall, {cpu_s} s CPU", flush=True)
            for f in res["failures"]:
                print(f"  failed: {f}", flush=True)
    last = a.rounds - 1
    same = {}
    if "naive" in variants:
        for v in variants:
            if v != "naive":
                same[v] = compare(shops, OUT / f"naive-r{last}", OUT / f"{v}-r{last}")
    med = {v: statistics.median(x["wall"] for x in runs[v]) for v in variants}
    cpu = {
        v: statistics.median(x["cpu"] for x in runs[v]) if runs[v][0]["cpu"] is not None else None
        for v in variants
    }
    base = med.get("naive")
    m = machine()
    lines = [
        SECTION,
        "",
        f"`{' '.join(['bench/bench_batch.py'] + sys.argv[1:])}` — {a.shops} shops of "
        f"{describe(sizes, shops)} / {a.products} products (helpers.datasets.sample, seeds 100+), "
        f"notebooks: {','.join(only) if only else 'all'}; {a.rounds} rounds, variants in "
        "rotated order, each a fresh process with an empty Parquet cache.",
        "",
        f"Machine: nproc {m['nproc']}; memory (free -h) `{m['memory']}`; Python "
        f"{m['python']}; {m['date']}; commit {m['commit']}; load average at the end "
        f"{' '.join(m['load'])}.",
        "",
        "| variant | median wall (s) | runs (s) | median CPU (s) | shops/min | speed-up vs naive |",
        "|---|---|---|---|---|---|",
    ]
    for v in variants:
        ratio = f"{base / med[v]:.2f}×" if base else "–"
        walls = ", ".join(f"{x['wall']:.1f}" for x in runs[v])
        lines.append(
            f"| {v} | {med[v]:.1f} | {walls} | "
            f"{'–' if cpu[v] is None else f'{cpu[v]:.1f}'} | {a.shops / med[v] * 60:.1f} | {ratio} |"
        )
    lines += [
        "",
        "Where the time goes (seconds per shop, median round; `notebooks` is each "
        "notebook's wall time in the runner, `cells` the time its cells ran, so "
        "`notebooks - cells` is kernel start-up, imports and saving; the batch "
        "figures are per worker, running in parallel):",
        "",
        "| step | " + " | ".join(variants) + " |",
        "|---|" + "---|" * len(variants),
    ]
    mid = {
        v: sorted(runs[v], key=lambda x: x["wall"])[len(runs[v]) // 2]["steps"] for v in variants
    }
    keys = ["imports", "load", "notebooks", "cells", "html", "excel"]
    for k in keys:
        cells = [f"{mid[v].get(k, 0) / a.shops:.2f}" if k in mid[v] else "–" for v in variants]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    over = [f"{(mid[v]['notebooks'] - mid[v]['cells']) / a.shops:.2f}" for v in variants]
    lines.append("| notebooks - cells | " + " | ".join(over) + " |")
    lines.append("")
    lines += [FINDINGS, ""]
    for v, d in same.items():
        lines.append(
            f"Outputs of {v} against naive (every shop's artifacts, last round): "
            + ("identical." if not d else f"{len(d)} differences: {d[:5]}")
        )
    for v in variants:
        failed = sorted({f for x in runs[v] for f in x["failures"]})
        lines.append(
            f"Failed notebooks in {v}: "
            + ("none." if not failed else f"{len(failed)}: {'; '.join(failed[:5])}")
        )
    text = "\n".join(lines)
    print("\n" + text)
    if not a.no_write:
        write_results(text)


if __name__ == "__main__":
    main()
