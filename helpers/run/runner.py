"""Run the numbered notebooks for one shop with papermill and build its report.

Output folder layout (``reports/<shop>/`` by default)::

    index.html            front page: KPIs, target, risks, this week's actions, workbooks,
                          contents, load report
    NN_name.html          one page per notebook, no code
    notebooks/NN_name.ipynb   executed notebooks (failures keep papermill's error banner)
    artifacts/            Parquet/JSON tables later notebooks and other tools read
    <shop>_raw_data.xlsx  every table the pages saved (the raw data)
    run.json              as_of, lang, failures, KPIs, timings, input hash

The report is written into a hidden folder beside the destination
(``.<name>.partial-<host>-<pid>-<rand>``) and renamed into place only when complete: a run
that dies leaves the previous report as it was. A run of some notebooks only (``only``)
starts from a copy of the previous report, so the other pages stay.

Speed (see ``bench/RESULTS.md``): kernels are forked, one notebook ahead of need, from a
server process that has imported the notebooks' modules once and loaded the shop from the
Parquet cache (:class:`KernelPool`), so no notebook pays for kernel start-up, ``import pandas,
matplotlib, seaborn...`` or reading the shop; notebooks run two at a time along the graph of
the artifacts they hand each other (:func:`notebook_graph`, :func:`auto_jobs`); papermill
writes each executed notebook once instead of twice per cell; one HTML exporter (a small
template, no JupyterLab CSS) serves every page; the workbook is written with xlsxwriter
directly; papermill and nbconvert are imported without the 3-second IRI grammar build
jsonschema does on import; the shop is parsed once and read from the Parquet cache after.
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from helpers.deliver import report
from helpers.deliver.imports import light_imports
from helpers.load import artifacts
from helpers.load.shop import fill_cache, load_shop
from helpers.present import png_cache
from helpers.run.engine import _engine, _failure, _Watchdog, _write_unexecuted
from helpers.run.kernels import KernelPool, run_pool, run_summary, shutdown
from helpers.run.memory import auto_jobs
from helpers.run.notebooks import (
    PLAYBOOK_DIR,
    notebook_graph,
    notebooks,
    read_notebook,
)
from helpers.run.output import _retarget, _work_dir, commit

__all__ = ["RunResult", "report_target_kpis", "run_shop", "default_notes", "schedule"]


@dataclass
class RunResult:
    out_dir: Path
    notebooks: list[str]
    failures: dict[str, str] = field(default_factory=dict)  # stem -> "cell N: Error: msg"
    kpis: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds by step
    name: str = ""
    as_of: str = ""
    lang: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures


def report_target_kpis(out: dict, daily_net, out_dir: Path, as_of) -> dict:
    """:func:`helpers.analysis.kpis.target_kpis` on the targets 02 saved in ``out_dir``
    (``daily_net``: net sales by day, from :func:`helpers.analysis.kpis.sales_kpis`)."""
    from helpers.analysis.kpis import target_kpis

    meta = artifacts.load(out_dir, "targets_meta")
    daily = artifacts.load(out_dir, "targets_daily")
    return target_kpis(out, daily_net, meta, daily, as_of)


def run_shop(
    shop_dir: str | Path,
    out_dir: str | Path | None = None,
    as_of: str | None = None,
    lang: str | None = None,
    only: list[str] | None = None,
    params: dict | None = None,
    progress: bool = True,
    timeout: int | None = None,
    playbook_dir: Path = PLAYBOOK_DIR,
    *,
    notebook_timeout: float | None = None,
    kernels: KernelPool | None = None,
    pdf: bool = False,
    extra_meta: dict | None = None,
    on_notebook: Callable[[str], None] | None = None,
    jobs: int | None = None,
    notes: list[str] | None = None,
    started: KernelPool | None = None,
) -> RunResult:
    """Execute the playbook for one shop; returns which notebooks failed and why.

    The shop is loaded first (a bad input stops the run with its one-line
    :class:`~helpers.core.errors.LoadError`, and no report is written); ``as_of`` defaults to the
    last order date. ``timeout`` limits each cell, ``notebook_timeout`` each notebook (wall
    clock: the kernel is interrupted, then killed; the page says where it stopped).
    ``kernels`` lets a caller that runs many shops keep warm kernels across them;
    ``extra_meta`` is merged into ``run.json``; ``on_notebook(stem)`` is called after each
    notebook (the batch runner's test hook). ``jobs`` notebooks run side by side, each as soon
    as the notebooks whose artifacts it loads are done (:func:`notebook_graph`); by default
    two on a machine with the cores and memory for it (:func:`auto_jobs`), one when the
    caller brings ``kernels`` (the batch runs shops side by side instead). ``notes``: message
    keys of the defaults the shop runs on (:func:`helpers.run.batch.shop_defaults`), shown on
    its index page. ``started``: this run's own pool, its server already importing
    (:func:`helpers.run.kernels.run_pool`, for the same ``only``); closed with the run.
    """
    t_start = time.perf_counter()
    shop_dir = Path(shop_dir).resolve()
    nbs = notebooks(only, playbook_dir)
    # the kernel server imports while this process does
    pool = kernels or started or run_pool(only, playbook_dir)
    try:
        light_imports()
        import papermill as pm
        from tqdm.auto import tqdm

        if kernels is None:  # the pages' exporter built while the kernel server still imports,
            report._exporter()  # not at the first page, beside two notebooks (~0.3 s of CPU)
        gc.freeze()  # what is imported by now: out of this run's full collections

        if kernels is None and nbs:  # a first run parses in a child process, then reads the cache
            fill_cache(shop_dir)
        # a cached shop is loaded by the kernel server alone (a batch worker's moves on to this
        # shop), which sends what we need; the kernels it forks share it
        info = pool.load(shop_dir, as_of) if nbs and _cached(shop_dir) else None
        preloaded = info is not None
        if info is None:
            info = run_summary(load_shop(shop_dir, as_of=as_of))  # bad input: one-line error
            if kernels is not None and nbs:  # parsed and cached here: the kernels share it
                kernels.load(shop_dir, as_of)
    except BaseException:
        if kernels is None:
            pool.close()
        raise

    lang = lang or info["lang"]
    as_of, name, currency, loaded = info["as_of"], info["name"], info["currency"], info["loaded"]
    kpis, daily_net, lines = info["kpis"], info["daily_net"], info["lines"]
    final = Path(out_dir or Path("reports") / shop_dir.name).resolve()
    work = _work_dir(final, seed=bool(only))
    result = RunResult(final, [p.stem for p in nbs], name=name, as_of=as_of, lang=lang)
    result.timings["load"] = round(time.perf_counter() - t_start, 3)
    try:
        (work / "notebooks").mkdir(parents=True, exist_ok=True)
        base = {"shop_dir": str(shop_dir), "out_dir": str(work), "as_of": as_of, "lang": lang}
        bar = tqdm(total=len(nbs), desc=name, unit="nb", disable=not progress, file=sys.stderr)

        def execute(nb: Path, km) -> None:
            """One notebook in kernel ``km`` (a worker thread); failures go to ``result``."""
            t0 = time.perf_counter()
            dest = work / "notebooks" / f"{nb.stem}.ipynb"
            dog = _Watchdog(km, notebook_timeout)
            try:
                pm.execute_notebook(
                    read_notebook(nb),
                    str(dest),
                    parameters={**base, **(params or {})},
                    cwd=None,  # the kernel's is set at its start; papermill's chdir is global
                    progress_bar=False,
                    kernel_name="python3",
                    execution_timeout=timeout,
                    request_save_on_cell_execute=False,  # one write, not two per cell
                    engine_name=engine,
                    km=km,
                    on_notebook_start=dog.start,
                )
            except Exception as err:  # papermill saved the notebook with its error banner
                why = _failure(nb, err)
                if dog.fired or type(err).__name__ == "CellTimeoutError":
                    where = f" ({why.split(':')[0]})" if why.startswith("cell") else ""
                    limit = notebook_timeout if dog.fired else timeout
                    why = f"timed out after {limit:g} s{where}"
                result.failures[nb.stem] = why
                if not dest.exists():  # the kernel died: keep the notebook, unexecuted
                    _write_unexecuted(nb, dest, why)
            finally:
                artifacts.mark_done(work, nb.stem)  # those waiting for it go on
                dog.cancel()
                shutdown(km)
            result.timings[nb.stem] = round(time.perf_counter() - t0, 3)
            if dest.exists():  # its page while the next notebooks run: they need not wait
                paging.append(page_ex.submit(retarget_and_page, nb, dest))

        def retarget_and_page(nb: Path, dest: Path) -> None:
            _retarget(dest, work, final, nb)
            page(nb.stem)
            paged.add(nb.stem)  # its tables go into the workbook once the earlier ones do
            waiting = [sheet_graph.first[s] for s in run_stems - paged if s in sheet_graph.first]
            raw.add_ready(min(waiting, default=len(sheet_graph.order)))

        pages, rendered, html_lock, html_s = (
            _pages(work, playbook_dir, result),
            set(),
            threading.Lock(),
            [0.0],
        )
        page_ex, paging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="page"), []

        def page(stem: str) -> None:
            """The notebook's HTML page (one at a time: the exporter is shared)."""
            nb_file = work / "notebooks" / f"{stem}.ipynb"
            if not nb_file.exists():
                return
            with html_lock:
                t = time.perf_counter()
                report.notebook_html(
                    nb_file,
                    work / f"{stem}.html",
                    name,
                    as_of,
                    lang,
                    pages,
                    failure=result.failures.get(stem),
                )
                rendered.add(stem)
                html_s[0] += time.perf_counter() - t

        graph, engine = notebook_graph(nbs), _engine()
        sheet_graph = notebook_graph(notebooks(None, playbook_dir))  # every notebook's tables
        run_stems, paged = {nb.stem for nb in nbs}, set()
        xlsx = work / f"{shop_dir.name}{report.RAW_SUFFIX}"
        raw = report.RawWorkbook(xlsx, work, sheet_graph.order, lang)
        if jobs is None:
            jobs = 1 if kernels is not None else auto_jobs(lines, shop_loaded=preloaded)
        result.timings["jobs"] = jobs
        try:
            early = jobs > 1 and any(graph.needs.values())
            if early:  # a notebook may start before those it loads from end: it waits
                artifacts.expect(
                    work,
                    {s: sorted(n) for s, n in graph.needs.items() if n},
                    graph.saves,
                    {s: sorted(n) for s, n in graph.final.items()},
                )
            schedule(nbs, graph.needs, max(1, jobs), pool, execute, bar, on_notebook, early)
        finally:
            page_ex.shutdown(wait=True)
        for fut in paging:
            fut.result()  # a page that could not be made is a bug: say so
        bar.close()
        rank = {stem: i for i, stem in enumerate(pages)}  # failures in page order
        result.failures = dict(sorted(result.failures.items(), key=lambda f: rank.get(f[0], 99)))
        for stem in pages:  # earlier runs' pages too: the table of contents may have changed
            if stem not in rendered:
                page(stem)
        result.timings["html"] = round(html_s[0], 3)
        t1 = time.perf_counter()
        raw.finish(fallback=[("load", loaded)])
        result.timings["excel"] = round(time.perf_counter() - t1, 3)
        result.kpis = report_target_kpis(kpis, daily_net, work, as_of)
        downloads = [xlsx.name]
        if pdf:
            made = report.pdf_report(work, name, as_of, lang, pages)
            if made is not None:
                downloads.append(made.name)
        report.front_page(
            work / "index.html",
            name,
            as_of,
            lang,
            pages,
            result.failures,
            result.kpis,
            currency,
            loaded,
            downloads,
            notes=default_notes(notes or [], lang, currency, shop_dir),
        )
        result.timings["total"] = round(time.perf_counter() - t_start, 3)
        meta = {
            "shop": name,
            "as_of": as_of,
            "lang": lang,
            "notebooks": pages,
            "failures": result.failures,
            "kpis": result.kpis,
            "currency": currency,
            "timings": result.timings,
            **(extra_meta or {}),
        }
        (work / "run.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        shutil.rmtree(work / artifacts.WAITS, ignore_errors=True)
        commit(work, final)
        png_cache.prune()  # the charts' PNGs this run reused or drew are the newest
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        gc.unfreeze()  # collectable again: a batch's next shop does not keep this run's garbage
        if kernels is None:
            pool.close()
    return result


def default_notes(keys: list[str], lang: str, currency: str, shop_dir: Path) -> list[str]:
    """The sentences for :func:`helpers.run.batch.shop_defaults`' keys, in ``lang``."""
    if not keys:
        return []
    from helpers.load.config import load_config
    from helpers.present import narrative

    tz = load_config(shop_dir).timezone
    return [narrative.say(k, lang, currency=currency, timezone=tz) for k in keys]


def _cached(shop_dir: Path) -> bool:
    from helpers.load.shop import cached

    try:
        return cached(shop_dir)
    except Exception:  # a bad shop.yaml: the run's own load says what is wrong
        return False


def schedule(nbs, needs, jobs, pool, execute, bar, on_notebook, early: bool = False) -> None:
    """Run ``execute(nb, km)`` for every notebook, at most ``jobs`` at once, each after the
    notebooks it needs (a failed one counts as done: its dependants recompute what is
    missing), earliest number first. Kernels are taken from ``pool`` on this thread.

    With ``early``, a notebook may also start while the notebooks it needs are running, one
    such at a time, in its number's turn: its ``ctx.load`` waits for what it loads
    (:func:`helpers.load.artifacts.wait_for`). Earliest number first is also the order in
    which the raw-data workbook takes the notebooks' tables
    (:class:`helpers.deliver.report.RawWorkbook`), so little of it is left for the end."""
    from concurrent.futures import FIRST_COMPLETED, wait

    def pick(todo, done, running):
        on = {n.stem for n in running.values()}
        waiting = any(not needs.get(s, set()) <= done for s in on)
        may = done | on if early and on and not waiting else done
        return next((nb for nb in todo if needs.get(nb.stem, set()) <= may), None)

    todo, done, running = list(nbs), set(), {}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook") as ex:
        while todo or running:
            while len(running) < jobs and (nb := pick(todo, done, running)) is not None:
                todo.remove(nb)
                km = pool.take(more=bool(todo))  # the next shop's kernels fork after its load
                running[ex.submit(execute, nb, km)] = nb
                bar.set_postfix_str(", ".join(n.stem for n in running.values()))
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                nb = running.pop(fut)
                fut.result()  # execute() keeps notebook failures; anything else is a bug
                done.add(nb.stem)
                bar.set_postfix_str(", ".join(n.stem for n in running.values()))
                bar.update(1)
                if on_notebook is not None:
                    on_notebook(nb.stem)


def _pages(work: Path, playbook_dir: Path, result: RunResult) -> list[str]:
    """Pages of the report: this run's notebooks plus, for a partial run, the earlier ones.

    Failures recorded by the earlier run for notebooks not re-run are carried over.
    """
    prev = work / "run.json"
    if prev.exists():
        old = json.loads(prev.read_text(encoding="utf-8"))
        for stem, why in old.get("failures", {}).items():
            if stem not in result.notebooks:
                result.failures.setdefault(stem, why)
    have = {p.stem for p in (work / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    order = [p.stem for p in notebooks(None, playbook_dir)]
    pages = [s for s in order if s in have or s in result.notebooks]
    return pages + sorted(have - set(pages))
