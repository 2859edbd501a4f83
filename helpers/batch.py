"""Run the playbook over a portfolio of shops, on a local process pool or a Dask cluster.

``run_batch(shops, out)`` runs every shop into ``out/<shop>/`` (see :mod:`helpers.runner`) and
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
  renamed into place when complete (:func:`helpers.runner.commit`).
* **Skipping unchanged shops.** A shop is skipped when ``out/<shop>/run.json`` carries the
  same :func:`input_hash` (its files' content, the run's parameters, the notebooks' sources,
  the helpers package's version and sources) and recorded no failure; ``force`` runs it
  anyway.
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

import numpy as np
import pandas as pd

from . import report
from .runner import PLAYBOOK_DIR, KernelPool, notebook_imports, notebooks, run_shop

STATE = ".batch"
HELPERS_DIR = Path(__file__).resolve().parent


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

    def summary(self) -> str:
        return "\n".join(o.line() for o in self.outcomes)


# --- what to run ------------------------------------------------------------------------------


def _is_shop(d: Path) -> bool:
    return d.is_dir() and (
        (d / "shop.yaml").exists() or any(d.glob("orders*")) or any(d.glob("订单*"))
    )


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
            from .errors import LoadError

            raise LoadError(spec, "listed shop folder not found: " + ", ".join(missing[:3]))
        return shops
    if not spec.is_dir():
        from .errors import LoadError

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


def _hash_files(h, root: Path, pattern: str = "*") -> None:
    for f in sorted(root.rglob(pattern)):
        rel = f.relative_to(root)
        if f.is_file() and not any(
            part.startswith(".") or part == "__pycache__" for part in rel.parts
        ):
            h.update(f"{rel.as_posix()}|{f.stat().st_size}|".encode())
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)


def helpers_fingerprint() -> str:
    """The helpers package's version and sources (``.py`` and data files)."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    try:
        h.update(version("ecommerce-playbook").encode())
    except PackageNotFoundError:
        h.update(b"unversioned")
    _hash_files(h, HELPERS_DIR, "*.py")
    _hash_files(h, HELPERS_DIR / "data_files")
    return h.hexdigest()


def input_hash(shop_dir: Path, settings: dict, nbs: list[Path], helpers: str | None = None) -> str:
    """What a shop's report depends on: its files, the run's settings, notebooks, helpers."""
    h = hashlib.sha256(b"playbook-batch-1")
    _hash_files(h, Path(shop_dir))
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

    Net sales, orders, customers and average order value use :mod:`helpers.metrics`'
    definitions over the 12 months ending at ``shop.as_of``; the refund rate is
    :func:`helpers.health.refund_rate` over the same window. Targets come from the
    ``targets_meta`` / ``targets_daily`` artifacts in ``out_dir`` when notebook 02 saved them:
    the target year, annual target, last year's actual and the growth the target asks for;
    once the target year has begun, the target to date (daily targets summed up to
    ``as_of``), the actual to date (net sales over the same days) and their ratio. Without
    targets those keys are None.
    """
    out, daily = sales_kpis(shop)
    return target_kpis(out, daily, out_dir, shop.as_of) if out_dir is not None else out


def sales_kpis(shop) -> tuple[dict, pd.Series]:
    """The sales half of :func:`shop_kpis`, and net sales by day (all the target half needs,
    so a caller can let go of the shop in between); with :func:`buyer_kpis`."""
    from . import health, metrics

    orders = shop.orders
    end = shop.as_of.normalize() + pd.Timedelta(days=1)
    start = end - pd.DateOffset(months=12)  # midnight: "day in window" is "time in window"
    s = metrics.sales_lines(orders)  # the notebooks' own, remembered: no copy of the window
    win = ((s["day"] >= start) & (s["day"] < end)).to_numpy()
    net = float(s["net"].to_numpy()[win].sum())
    n_orders = _distinct(metrics.line_codes(s, "order_id")[0][win])
    cust = _distinct(metrics.line_codes(s)[0][win]) if shop.has_customers else None
    t = orders["order_time"]
    rows = ((t >= start) & (t < end)).to_numpy()
    refund = (
        health.refund_rate(orders.loc[rows, ["status", "paid_amount", "refund_amount"]])
        if rows.any()
        else None
    )
    out = {
        "net_sales_12m": round(net, 2),
        "orders_12m": n_orders,
        "customers_12m": cust,
        "aov_12m": round(net / n_orders, 2) if n_orders else None,
        "refund_rate_12m": None if refund is None or refund != refund else round(refund, 6),
        "target_fy": None,
        "target_annual": None,
        "last_year_actual": None,
        "target_growth": None,
        "target_to_date": None,
        "actual_to_date": None,
        "attainment": None,
    }
    out.update(buyer_kpis(s, orders, start, end, shop.has_customers))
    daily = s.loc[(s["day"] < end).to_numpy()].groupby("day")["net"].sum()
    return out, daily


def buyer_kpis(s: pd.DataFrame, orders: pd.DataFrame, start, end, has_customers: bool) -> dict:
    """The front page's KPIs :func:`sales_kpis` leaves out, and all of them a year earlier.

    Over the 12 months ``[start, end)``: net sales per buyer (客单价) and the repurchase
    rate (buyers with two or more orders in the window over all buyers in it); for the 12
    months before (``*_prev12m``): net sales, orders, buyers, net sales per order and per
    buyer, repurchase rate and refund rate, with the same definitions. Buyer figures are None
    without buyer ids; last year's figures are None when the data starts more than a week
    after last year's window does (not comparable).
    """
    from . import health, metrics

    prev_start = start - pd.DateOffset(months=12)
    day = s["day"].to_numpy()
    cust = metrics.line_codes(s)[0] if has_customers else None
    order = metrics.line_codes(s, "order_id")[0]
    net = s["net"].to_numpy()

    def window(lo, hi) -> dict:
        w = (day >= np.datetime64(lo)) & (day < np.datetime64(hi))
        n_net = float(net[w].sum())
        n_orders = _distinct(order[w])
        res = {"net": n_net, "orders": n_orders, "buyers": None, "repeat": None}
        if cust is not None:
            c, o = cust[w], order[w]
            ok = (c >= 0) & (o >= 0)
            pairs = np.unique(c[ok].astype(np.int64) * (int(order.max()) + 1) + o[ok])
            per_buyer = np.bincount(pairs // (int(order.max()) + 1))
            per_buyer = per_buyer[per_buyer > 0]
            res["buyers"] = int(len(per_buyer))
            res["repeat"] = float((per_buyer >= 2).mean()) if len(per_buyer) else None
        t = orders["order_time"]
        rows = ((t >= lo) & (t < hi)).to_numpy()
        refund = (
            health.refund_rate(orders.loc[rows, ["status", "paid_amount", "refund_amount"]])
            if rows.any()
            else None
        )
        res["refund"] = None if refund is None or refund != refund else refund
        return res

    now = window(start, end)
    out = {
        "sales_per_buyer_12m": round(now["net"] / now["buyers"], 2) if now["buyers"] else None,
        "repeat_rate_12m": None if now["repeat"] is None else round(now["repeat"], 6),
    }
    first = orders["order_time"].min() if len(orders) else None
    comparable = first is not None and first <= prev_start + pd.Timedelta(days=7)
    prev = window(prev_start, start) if comparable else None
    if prev is None or not prev["orders"]:
        keys = ("net_sales", "orders", "customers", "aov", "sales_per_buyer", "repeat_rate")
        out.update({f"{k}_prev12m": None for k in (*keys, "refund_rate")})
        return out
    out.update(
        {
            "net_sales_prev12m": round(prev["net"], 2),
            "orders_prev12m": prev["orders"],
            "customers_prev12m": prev["buyers"],
            "aov_prev12m": round(prev["net"] / prev["orders"], 2),
            "sales_per_buyer_prev12m": (
                round(prev["net"] / prev["buyers"], 2) if prev["buyers"] else None
            ),
            "repeat_rate_prev12m": None if prev["repeat"] is None else round(prev["repeat"], 6),
            "refund_rate_prev12m": None if prev["refund"] is None else round(prev["refund"], 6),
        }
    )
    return out


def _distinct(codes: np.ndarray) -> int:
    """Distinct non-missing integer codes (``nunique`` of the ids they stand for)."""
    codes = codes[codes >= 0]
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


def target_kpis(out: dict, daily_net: pd.Series, out_dir: Path, as_of) -> dict:
    """The target half of :func:`shop_kpis`: ``out`` completed from 02's artifacts."""
    from . import artifacts

    out = dict(out)
    meta = artifacts.load(out_dir, "targets_meta")
    daily = artifacts.load(out_dir, "targets_daily")
    if isinstance(meta, dict):
        out["target_fy"] = None if meta.get("fy") is None else str(meta["fy"])
        if meta.get("annual_target") is not None:
            out["target_annual"] = round(float(meta["annual_target"]), 2)
        if meta.get("last_year_actual") is not None:
            out["last_year_actual"] = round(float(meta["last_year_actual"]), 2)
        if meta.get("growth") is not None:
            out["target_growth"] = round(float(meta["growth"]), 6)
    if isinstance(daily, pd.DataFrame) and len(daily) and {"date", "target_sales"} <= set(daily):
        dates = pd.to_datetime(daily["date"])
        if out["target_annual"] is None:
            out["target_annual"] = round(float(daily["target_sales"].sum()), 2)
        upto = dates <= pd.Timestamp(as_of).normalize()
        if upto.any():
            first = dates.min()
            tgt = float(daily.loc[upto, "target_sales"].sum())
            act = float(daily_net[daily_net.index >= first].sum())
            out["target_to_date"] = round(tgt, 2)
            out["actual_to_date"] = round(act, 2)
            out["attainment"] = round(act / tgt, 6) if tgt else None
    return out


# --- the task a worker runs -------------------------------------------------------------------

_POOLS: dict[tuple, KernelPool] = {}


def _pool(playbook_dir: Path) -> KernelPool:
    """A warm kernel pool per worker process and thread, kept across shops."""
    import threading

    key = (os.getpid(), threading.get_ident(), str(playbook_dir))
    if key not in _POOLS:
        import atexit

        pool = KernelPool(playbook_dir, notebook_imports(notebooks(None, playbook_dir)))
        _POOLS[key] = pool
        atexit.register(pool.close)
    return _POOLS[key]


def _attempt(out_root: Path, slug: str) -> int:
    d = out_root / STATE / "attempts"
    d.mkdir(parents=True, exist_ok=True)
    f = d / slug
    n = int(f.read_text() or 0) + 1 if f.exists() else 1
    f.write_text(str(n))
    return n


def run_task(task: ShopTask) -> ShopOutcome:
    """Run one shop (in a worker process); every failure becomes a :class:`ShopOutcome`."""
    from .errors import LoadError

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
    pool = _pool(playbook_dir)
    pool.prefetch()  # a first kernel (and its fork server) boots while the shop loads
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
            extra_meta={"input_hash": task.input_hash, "attempts": n},
            on_notebook=hook,
        )
    except LoadError as e:
        return ShopOutcome(task.slug, shop_name, "error", str(e), time.perf_counter() - t0, n)
    except Exception as e:  # anything else: one line, the other shops go on
        msg = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
        return ShopOutcome(task.slug, shop_name, "failed", msg, time.perf_counter() - t0, n)
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
    )


def _currency(out_dir: Path) -> str:
    f = Path(out_dir) / "run.json"
    return json.loads(f.read_text(encoding="utf-8")).get("currency", "") if f.exists() else ""


def _worker_main(conn, playbook_dir: str) -> None:
    """A local pool worker: run the tasks it is sent until it is sent None."""
    from .runner import light_imports

    light_imports()
    _pool(Path(playbook_dir)).prefetch()  # the first kernel boots while this process imports
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
        for pool in _POOLS.values():
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

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, timeout="30s")
    try:
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
            )
        )
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
