"""Run the playbook over a portfolio of shops, on a local process pool or a Dask cluster.

``run_batch(shops, out)`` runs every shop into ``out/<shop>/`` (see :mod:`helpers.run.runner`) and
writes, in ``out/``:

* ``index.html`` — the portfolio: one sortable row per shop (status, sales against target,
  key KPIs, a link to the shop's report);
* ``portfolio.xlsx`` — the same table with plain numbers;
* ``summary.txt`` — one line per shop; ``batch.json`` — everything, for tools.

How the pieces hold up:

* **Fault isolation.** Each shop runs in its own task. A shop whose data fails validation is
  recorded with the loader's one-line error (status ``error``); a notebook that errors or
  times out is recorded per notebook (status ``failed``, the error notebook kept in the
  shop's report); the other shops go on.
* **Retries.** A worker process that dies mid-shop (killed, out of memory) loses only that
  shop, which is run again, up to ``retries`` more times. Attempts are counted in
  ``out/.batch/attempts/`` (shared by every worker), so the limit holds on Dask too, where
  the scheduler itself re-runs tasks of lost workers.
* **Timeouts.** ``timeout`` is a wall-clock limit per notebook (the kernel is interrupted,
  then killed 5 s later if it has not stopped), which also bounds every cell. The local pool
  also stops a worker whose shop has run longer than all its notebooks' limits plus ten
  minutes (a hang outside the notebooks).
* **No half-written report.** Each shop's report is built beside its destination and
  renamed into place when complete (:func:`helpers.run.runner.commit`).
* **Skipping unchanged shops.** A shop is skipped when ``out/<shop>/run.json`` carries the
  same :func:`input_hash` (its files' content, the run's parameters, the notebooks' sources,
  the helpers package's version and sources) and recorded no failure; ``force`` runs it
  anyway.

Above 600 lines: the portfolio run: local pool, Dask and skip-unchanged share the task and outcome types.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from helpers.analysis import kpis
from helpers.core.fingerprint import files, hash_files, helpers_fingerprint
from helpers.deliver import report
from helpers.run.kernels import WORKER_POOLS, worker_pool
from helpers.run.notebooks import PLAYBOOK_DIR, notebooks
from helpers.run.runner import report_target_kpis, run_shop

__all__ = [
    "STATE",
    "ShopTask",
    "ShopOutcome",
    "BatchResult",
    "NO_SHOP_YAML",
    "shop_defaults",
    "discover",
    "helpers_fingerprint",
    "input_hash",
    "shop_kpis",
    "run_task",
    "run_batch",
    "portfolio_rows",
    "write_portfolio",
    "artifact_differences",
]

STATE = ".batch"


@dataclass
class ShopTask:
    """One shop's work, as sent to a worker (plain, picklable values)."""

    shop_dir: str
    slug: str
    out_root: str
    input_hash: str
    as_of: str | None = None
    lang: str | None = None
    only: list[str] | None = None
    params: dict | None = None
    timeout: float | None = None
    retries: int = 2
    playbook_dir: str = str(PLAYBOOK_DIR)
    pdf: bool = False
    crash_first_attempt: bool = False  # test hook: the worker process dies mid-shop, once
    defaults: list[str] = field(default_factory=list)  # defaults in use, shown on its pages


@dataclass
class ShopOutcome:
    slug: str
    shop: str
    status: str  # ok | failed | error | skipped
    message: str = ""
    seconds: float = 0.0
    attempts: int = 1
    failures: dict[str, str] = field(default_factory=dict)
    kpis: dict = field(default_factory=dict)
    as_of: str = ""
    lang: str = ""
    currency: str = ""
    report: str | None = None  # relative path of the shop's index page
    defaults: list[str] = field(default_factory=list)  # settings the shop runs on by default

    def line(self) -> str:
        """The shop's one line in the summary."""
        head = f"{self.status.upper():8} {self.slug}"
        if self.status == "ok":
            return f"{head}: {self.seconds:.1f} s" + (
                f" ({self.attempts} attempts)" if self.attempts > 1 else ""
            )
        if self.status == "skipped":
            return f"{head}: unchanged since the last run"
        return f"{head}: {self.message}"


@dataclass
class BatchResult:
    out_dir: Path
    outcomes: list[ShopOutcome]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(o.status in ("ok", "skipped") for o in self.outcomes)

    @property
    def failed(self) -> int:
        """Shops that did not end done or skipped (failed notebooks, bad data, no shop.yaml)."""
        return sum(o.status not in ("ok", "skipped") for o in self.outcomes)

    def counts(self) -> str:
        """``4 shops: 3 done, 0 skipped, 1 failed`` (failed counts errors too)."""
        done = sum(o.status == "ok" for o in self.outcomes)
        skipped = sum(o.status == "skipped" for o in self.outcomes)
        n = len(self.outcomes)
        return (
            f"{n} shop{'s' if n != 1 else ''}: {done} done, {skipped} skipped, {self.failed} failed"
        )

    def summary(self) -> str:
        return "\n".join(o.line() for o in self.outcomes)


# --- what to run ------------------------------------------------------------------------------


def _is_shop(d: Path) -> bool:
    return d.is_dir() and (
        (d / "shop.yaml").exists() or any(d.glob("orders*")) or any(d.glob("订单*"))
    )


NO_SHOP_YAML = (
    "no shop.yaml: run `playbook new-shop` to write one (name, currency, salt), "
    "or run the batch with --defaults"
)


def shop_defaults(shop_dir: Path) -> list[str]:
    """The settings that matter which ``shop_dir`` leaves to the defaults, as message keys
    (:data:`helpers.data_files.messages`): the currency and timezone when there is no
    shop.yaml, the salt when neither shop.yaml nor ``PLAYBOOK_SALT`` sets one (buyer ids are
    then hashed with a salt derived from the shop's name)."""
    import yaml

    f = Path(shop_dir) / "shop.yaml"
    raw: dict = {}
    if f.exists():
        try:
            raw = yaml.safe_load(f.read_text(encoding="utf-8-sig")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return []  # the run's own load says what is wrong with it
        if not isinstance(raw, dict):
            return []
    keys = []
    if not f.exists():
        keys += ["default_currency", "default_timezone"]
    if not raw.get("salt") and not os.environ.get("PLAYBOOK_SALT"):
        keys.append("default_salt")
    return keys


def discover(spec: str | Path) -> list[Path]:
    """Shop folders from a folder of shop folders, or from a text file listing them.

    In a list file, one folder per line, relative to the file's folder; blank lines and
    ``#`` comments are ignored.
    """
    spec = Path(spec)
    if spec.is_file():
        shops = []
        for raw in spec.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                p = Path(line).expanduser()
                shops.append((p if p.is_absolute() else spec.parent / p).resolve())
        missing = [str(p) for p in shops if not p.is_dir()]
        if missing:
            from helpers.core.errors import LoadError

            raise LoadError(spec, "listed shop folder not found: " + ", ".join(missing[:3]))
        return shops
    if not spec.is_dir():
        from helpers.core.errors import LoadError

        raise LoadError(spec, "not a folder of shops nor a file listing them")
    if _is_shop(spec):
        return [spec.resolve()]
    return sorted(d.resolve() for d in spec.iterdir() if not d.name.startswith(".") and _is_shop(d))


def _slugs(shops: list[Path]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for p in shops:
        s = p.name
        seen[s] = seen.get(s, 0) + 1
        out.append(s if seen[s] == 1 else f"{s}-{seen[s]}")
    return out


def _input_bytes(shop_dir: Path) -> int:
    """The size of a shop's files (what :func:`input_hash` reads)."""
    return sum(f.stat().st_size for f in files(shop_dir))


def input_hash(shop_dir: Path, settings: dict, nbs: list[Path], helpers: str | None = None) -> str:
    """What a shop's report depends on: its files, the run's settings, notebooks, helpers."""
    h = hashlib.sha256(b"playbook-batch-1")
    hash_files(h, Path(shop_dir))
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(hashlib.sha256(os.environ.get("PLAYBOOK_SALT", "").encode()).digest())
    for nb in nbs:
        h.update(nb.name.encode())
        h.update(nb.read_bytes())
    h.update((helpers or helpers_fingerprint()).encode())
    return h.hexdigest()


# --- KPIs for the portfolio -------------------------------------------------------------------


def shop_kpis(shop, out_dir: Path | None = None) -> dict:
    """The portfolio's numbers for one shop: last-12-month KPIs and sales against target.

    Net sales, orders, customers and average order value use :mod:`helpers.core.codes`'
    definitions over the 12 months ending at ``shop.as_of``; the refund rate is
    :func:`helpers.analysis.health.refund_rate` over the same window (:mod:`helpers.analysis.kpis`). Targets come from the
    ``targets_meta`` / ``targets_daily`` artifacts in ``out_dir`` when notebook 02 saved them:
    the target year, annual target, last year's actual and the growth the target asks for;
    once the target year has begun, the target to date (daily targets summed up to
    ``as_of``), the actual to date (net sales over the same days) and their ratio. Without
    targets those keys are None.
    """
    out, daily = kpis.sales_kpis(shop)
    if out_dir is None:
        return out
    return report_target_kpis(out, daily, out_dir, shop.as_of)


# --- the task a worker runs -------------------------------------------------------------------


def _attempt(out_root: Path, slug: str) -> int:
    d = out_root / STATE / "attempts"
    d.mkdir(parents=True, exist_ok=True)
    f = d / slug
    n = int(f.read_text() or 0) + 1 if f.exists() else 1
    f.write_text(str(n))
    return n


def run_task(task: ShopTask) -> ShopOutcome:
    """Run one shop (in a worker process); every failure becomes a :class:`ShopOutcome`."""
    from helpers.core.errors import LoadError

    out_root = Path(task.out_root)
    n = _attempt(out_root, task.slug)
    shop_name = Path(task.shop_dir).name
    if n > task.retries + 1:
        return ShopOutcome(
            task.slug,
            shop_name,
            "failed",
            attempts=n - 1,
            message=f"the worker died during each of {n - 1} attempts",
        )
    hook = None
    if task.crash_first_attempt and n == 1:

        def hook(stem: str) -> None:
            os._exit(70)  # simulates a worker killed mid-shop (test hook)

    t0 = time.perf_counter()
    playbook_dir = Path(task.playbook_dir)
    pool = worker_pool(playbook_dir)
    pool.start()  # the kernel server imports while this process goes on; it loads the shop next
    try:
        res = run_shop(
            task.shop_dir,
            out_root / task.slug,
            task.as_of,
            task.lang,
            task.only,
            task.params,
            progress=False,
            playbook_dir=playbook_dir,
            notebook_timeout=task.timeout,
            kernels=pool,
            pdf=task.pdf,
            extra_meta={
                "input_hash": task.input_hash,
                "attempts": n,
                "defaults": task.defaults,
            },
            on_notebook=hook,
            notes=task.defaults,
        )
    except LoadError as e:
        return ShopOutcome(
            task.slug,
            shop_name,
            "error",
            str(e),
            time.perf_counter() - t0,
            n,
            defaults=task.defaults,
        )
    except Exception as e:  # anything else: one line, the other shops go on
        msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return ShopOutcome(
            task.slug,
            shop_name,
            "failed",
            msg,
            time.perf_counter() - t0,
            n,
            defaults=task.defaults,
        )
    msg = "; ".join(f"{k}: {v}" for k, v in res.failures.items())
    return ShopOutcome(
        task.slug,
        res.name,
        "failed" if res.failures else "ok",
        msg,
        round(time.perf_counter() - t0, 3),
        n,
        res.failures,
        res.kpis,
        res.as_of,
        res.lang,
        _currency(res.out_dir),
        f"{task.slug}/index.html",
        task.defaults,
    )


def _currency(out_dir: Path) -> str:
    f = Path(out_dir) / "run.json"
    return json.loads(f.read_text(encoding="utf-8")).get("currency", "") if f.exists() else ""


def _worker_main(conn, playbook_dir: str) -> None:
    """A local pool worker: run the tasks it is sent until it is sent None."""
    from helpers.deliver.imports import light_imports

    light_imports()
    worker_pool(Path(playbook_dir)).start()  # the kernel server imports while this process does
    import papermill  # noqa: F401

    report._exporter()
    try:
        while True:
            task = conn.recv()
            if task is None:
                break
            conn.send(run_task(task))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        for pool in WORKER_POOLS.values():
            pool.close()


# --- pools ------------------------------------------------------------------------------------


class _Worker:
    def __init__(self, ctx, playbook_dir: str):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, playbook_dir), daemon=True)
        self.proc.start()
        child.close()
        self.task: ShopTask | None = None
        self.started = 0.0


def _died(task: ShopTask, deaths: int, why: str) -> ShopOutcome:
    return ShopOutcome(task.slug, Path(task.shop_dir).name, "failed", why, attempts=deaths)


def _run_local(tasks: list[ShopTask], workers: int, shop_limit: float | None, done) -> None:
    """A pool of long-lived worker processes; a worker that dies is replaced and its shop
    goes back to the queue (until its retries are spent)."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")
    queue = deque(tasks)
    deaths: dict[str, int] = {}
    pb = tasks[0].playbook_dir
    pool = [_Worker(ctx, pb) for _ in range(max(1, min(workers, len(tasks))))]
    try:
        while queue or any(w.task for w in pool):
            for w in pool:
                if w.task is None and queue:
                    w.task, w.started = queue.popleft(), time.monotonic()
                    w.conn.send(w.task)
            busy = [w for w in pool if w.task]
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=1.0)
            for i, w in enumerate(pool):
                if w.task is None:
                    continue
                result = None
                try:
                    if w.conn.poll():
                        result = w.conn.recv()
                except (EOFError, OSError):
                    result = None
                if result is not None:
                    w.task = None
                    done(result)
                    continue
                over = shop_limit and time.monotonic() - w.started > shop_limit
                if w.proc.is_alive() and not over:
                    continue
                task, w.task = w.task, None
                if over:
                    w.proc.kill()
                w.proc.join(5)
                w.conn.close()
                pool[i] = _Worker(ctx, pb)
                if over:
                    done(
                        _died(
                            task,
                            deaths.get(task.slug, 0) + 1,
                            f"stopped after {shop_limit:.0f} s (shop time limit)",
                        )
                    )
                    continue
                deaths[task.slug] = deaths.get(task.slug, 0) + 1
                if deaths[task.slug] <= task.retries:
                    print(f"worker died during {task.slug}: retrying", file=sys.stderr)
                    queue.appendleft(task)
                else:
                    done(
                        _died(
                            task,
                            deaths[task.slug],
                            f"the worker died during each of {deaths[task.slug]} attempts",
                        )
                    )
    finally:
        for w in pool:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        for w in pool:
            w.proc.join(10)
            if w.proc.is_alive():
                w.proc.kill()


def _run_dask(tasks: list[ShopTask], scheduler, done) -> None:
    """Submit every shop to a Dask cluster; a shop whose workers kept dying is resubmitted
    while its attempts allow (the attempt counter in run_task has the last word)."""
    from distributed import Client, as_completed

    try:
        from distributed import KilledWorker
    except ImportError:  # older distributed
        from distributed.scheduler import KilledWorker

    from helpers.run.dask_setup import WarmPlaybook

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, timeout="30s")
    try:
        # workers started without `--preload helpers.run.dask_setup` (or joining later) warm up
        # before their first shop; a no-op on workers that did
        client.register_plugin(WarmPlaybook(tasks[0].playbook_dir))
        futures = {}

        def submit(t: ShopTask, k: int):
            f = client.submit(
                run_task, t, key=f"playbook-{t.slug}-{t.input_hash[:10]}-{k}", pure=False
            )
            futures[f] = (t, k)
            return f

        ac = as_completed([submit(t, 0) for t in tasks])
        for fut in ac:
            task, k = futures.pop(fut)
            try:
                done(fut.result())
            except KilledWorker:
                if k < task.retries:
                    ac.add(submit(task, k + 1))
                else:
                    done(_died(task, k + 1, "the worker died during each attempt"))
            except Exception as e:
                done(
                    ShopOutcome(
                        task.slug,
                        Path(task.shop_dir).name,
                        "failed",
                        f"{type(e).__name__}: {str(e).splitlines()[0][:300]}",
                    )
                )
    finally:
        if not isinstance(scheduler, Client):
            client.close()


# --- the batch --------------------------------------------------------------------------------


def run_batch(
    shops: str | Path | list[Path],
    out: str | Path,
    workers: int | None = None,
    scheduler=None,
    retries: int = 2,
    timeout: float | None = None,
    force: bool = False,
    only: list[str] | None = None,
    as_of: str | None = None,
    lang: str | None = None,
    params: dict | None = None,
    playbook_dir: Path = PLAYBOOK_DIR,
    pdf: bool = False,
    progress: bool = True,
    crash_first_attempt: tuple[str, ...] = (),
    defaults: bool = False,
) -> BatchResult:
    """Run the playbook for every shop; write the portfolio index, summary and batch.json.

    Parameters
    ----------
    shops : a folder of shop folders, a text file listing shop folders, or a list of folders.
    out : the batch's output folder; each shop's report goes to ``out/<shop folder name>/``.
    workers : local worker processes (default: the CPUs this process may use).
    scheduler : a Dask scheduler address (``tcp://host:8786``) or a ``distributed.Client``;
        the shops then run on that cluster's workers, which must see the same paths.
    retries : how many times a shop is run again after its worker process died.
    timeout : seconds per notebook (wall clock).
    force : run shops whose inputs, parameters and notebooks are unchanged too.
    defaults : run shop folders without shop.yaml on the defaults (CNY, Asia/Shanghai, a
        salt derived from the folder's name); without it such a shop is an error
        (:data:`NO_SHOP_YAML`). Defaults in use are shown on the index and the shop's page.
    crash_first_attempt : shop folder names whose worker dies mid-shop on the first attempt
        (a test hook for the retry path).
    """
    t0 = time.perf_counter()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shop_dirs = [Path(s).resolve() for s in shops] if isinstance(shops, list) else discover(shops)
    playbook_dir = Path(playbook_dir).resolve()
    nbs = notebooks(only, playbook_dir)
    settings = {
        "as_of": as_of,
        "lang": lang,
        "only": sorted(only) if only else None,
        "params": params or {},
        "pdf": pdf,
    }
    helpers = helpers_fingerprint()
    state = out / STATE / "attempts"
    if state.exists():
        for f in state.iterdir():
            f.unlink()
    outcomes: dict[str, ShopOutcome] = {}
    tasks = []
    for d, slug in zip(shop_dirs, _slugs(shop_dirs)):
        if not defaults and not (d / "shop.yaml").exists():
            outcomes[slug] = ShopOutcome(slug, d.name, "error", NO_SHOP_YAML, attempts=0)
            continue
        h = input_hash(d, settings, nbs, helpers)
        prev = _previous(out / slug)
        if not force and prev.get("input_hash") == h and not prev.get("failures"):
            outcomes[slug] = ShopOutcome(
                slug,
                prev.get("shop", slug),
                "skipped",
                seconds=0.0,
                attempts=0,
                kpis=prev.get("kpis", {}),
                as_of=prev.get("as_of", ""),
                lang=prev.get("lang", ""),
                currency=prev.get("currency", ""),
                report=f"{slug}/index.html",
                defaults=prev.get("defaults", []),
            )
            continue
        tasks.append(
            ShopTask(
                str(d),
                slug,
                str(out),
                h,
                as_of,
                lang,
                only,
                params,
                timeout,
                retries,
                str(playbook_dir),
                pdf,
                d.name in crash_first_attempt,
                shop_defaults(d),
            )
        )
    # the largest shops first: a batch that ends on its biggest shop leaves the other
    # workers idle for most of it (input size stands for run time; ties in folder order)
    tasks.sort(key=lambda t: -_input_bytes(Path(t.shop_dir)))
    total, finished = len(tasks), [0]

    def done(o: ShopOutcome) -> None:
        outcomes[o.slug] = o
        finished[0] += 1
        if progress:
            print(f"[{finished[0]}/{total}] {o.line()}", file=sys.stderr, flush=True)

    if tasks:
        if scheduler is not None:
            _run_dask(tasks, scheduler, done)
        else:
            n = workers or len(os.sched_getaffinity(0))
            limit = timeout * len(nbs) + 600 if timeout else None
            _run_local(tasks, n, limit, done)
    ordered = [outcomes[s] for s in _slugs(shop_dirs) if s in outcomes]
    result = BatchResult(out, ordered, round(time.perf_counter() - t0, 3))
    write_portfolio(result, lang)
    return result


def _previous(shop_out: Path) -> dict:
    f = shop_out / "run.json"
    try:
        return json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}
    except (OSError, ValueError):
        return {}


def portfolio_rows(result: BatchResult) -> list[dict]:
    rows = []
    for o in result.outcomes:
        link = o.report if o.report and (result.out_dir / o.report).exists() else None
        rows.append(
            {
                "shop": o.shop,
                "status": o.status,
                "message": o.message,
                "seconds": o.seconds if o.status != "skipped" else None,
                "as_of": o.as_of,
                "currency": o.currency,
                "link": link,
                "defaults": o.defaults,
                **o.kpis,
            }
        )
    return rows


def write_portfolio(result: BatchResult, lang: str | None = None) -> None:
    """The portfolio page, workbook, summary and batch.json in the batch's folder."""
    out = result.out_dir
    langs = [o.lang for o in result.outcomes if o.lang]
    lang = lang or (max(set(langs), key=langs.count) if langs else "zh")
    rows = portfolio_rows(result)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    tmp = out / ".index.html.tmp"
    report.portfolio_html(tmp, rows, lang, stamp).replace(out / "index.html")
    tmp = out / ".portfolio.tmp.xlsx"
    sheet = "店铺组合" if lang == "zh" else "portfolio"
    report.excel_workbook(
        tmp, [(sheet, report.portfolio_frame(rows, lang))], lang=lang, contents=False
    ).replace(out / "portfolio.xlsx")
    (out / ".summary.tmp").write_text(result.summary() + "\n", encoding="utf-8")
    (out / ".summary.tmp").replace(out / "summary.txt")
    report.write_json(
        out / "batch.json",
        {
            "seconds": result.seconds,
            "generated": stamp,
            "shops": [asdict(o) for o in result.outcomes],
        },
    )


def artifact_differences(a: Path, b: Path) -> list[str]:
    """How two reports' artifacts differ (tables by value, JSON by content); [] when equal."""
    da, db = Path(a) / "artifacts", Path(b) / "artifacts"
    names_a = {p.name for p in da.glob("*")} if da.exists() else set()
    names_b = {p.name for p in db.glob("*")} if db.exists() else set()
    diffs = [f"only in {a}: {n}" for n in sorted(names_a - names_b)]
    diffs += [f"only in {b}: {n}" for n in sorted(names_b - names_a)]
    for n in sorted(names_a & names_b):
        if n.endswith(".parquet"):
            x, y = pd.read_parquet(da / n), pd.read_parquet(db / n)
            try:
                pd.testing.assert_frame_equal(x, y)
            except AssertionError as e:
                diffs.append(f"{n}: {str(e).splitlines()[0]}")
        elif n.endswith(".json"):
            if json.loads((da / n).read_text("utf-8")) != json.loads((db / n).read_text("utf-8")):
                diffs.append(f"{n}: differs")
        elif (da / n).read_bytes() != (db / n).read_bytes():
            diffs.append(f"{n}: differs")
    return diffs
