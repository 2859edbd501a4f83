"""Warm Dask workers for ``playbook batch --scheduler``: the imports and the first kernel a
worker's first shop would otherwise wait for, done when the worker starts.

A shop runs in a worker thread that keeps, for the worker's life, a pool of kernels forked
from a server process that has imported the notebooks' modules (:func:`helpers.run.runner.worker_pool`).
On the local pool each worker process builds that pool, imports papermill and nbconvert's
exporter before its first shop; a fresh Dask worker did all of it inside its first shop.
:func:`warm` does the same on each thread of the worker's executor, so the first shop starts
as the local pool's does. Two ways to get it (both idempotent):

* ``dask worker tcp://HOST:8786 --preload helpers.run.dask_setup`` (this module's
  :func:`dask_setup`): the worker warms up as it starts, before any batch is sent;
* :class:`WarmPlaybook` as a worker plugin, which :func:`helpers.run.batch.run_batch` registers
  on the cluster it is given, so workers started without the preload (and workers that join
  later) are warmed too.
"""

from __future__ import annotations

import threading
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from helpers.run.kernels import close_worker_pools, worker_pool
from helpers.run.notebooks import PLAYBOOK_DIR

__all__ = ["warm", "WarmPlaybook", "dask_setup", "dask_teardown"]


def warm(playbook_dir: str = str(PLAYBOOK_DIR)) -> None:
    """On the calling thread: the kernel pool its shops will use (its server importing the
    notebooks' modules, then loading each shop for the kernels it forks), papermill and the HTML
    exporter imported (what :func:`helpers.run.batch._worker_main` does for the local pool)."""
    from helpers.deliver import report
    from helpers.deliver.imports import light_imports

    light_imports()
    worker_pool(Path(playbook_dir)).start()
    import papermill  # noqa: F401

    report._exporter()


def _warm_threads(worker, playbook_dir: str) -> None:
    """Run :func:`warm` once on each thread of the worker's default executor (the threads
    that run the shops), without waiting for it: tasks queue behind it on the same threads."""
    ex = worker.executors.get("default")
    n = max(1, worker.state.nthreads)
    if ex is None:
        return warm(playbook_dir)
    barrier = threading.Barrier(n, timeout=60)

    def one() -> None:
        try:  # every thread takes one: n jobs on n threads, each waits for the others
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        warm(playbook_dir)

    for _ in range(n):
        ex.submit(one)


def _no_profiler(worker) -> None:
    """Stop the worker's statistical profiler. Every 10 ms it takes the GIL to sample every
    thread's stack, competing with the thread that runs a shop (its Excel and HTML), and it
    would show only that thread waiting on its kernels, which run in processes of their own."""
    for name in ("profile", "profile-cycle"):
        pc = worker.periodic_callbacks.pop(name, None)
        if pc is not None:
            pc.stop()


# Set by Dask's nanny for the worker process it spawns (``distributed.nanny.pre-spawn-environ``):
# a small glibc trim threshold and one OpenMP thread. Kernels inherited them. They are separate
# processes that give memory back after each cell themselves and keep Arrow's thread pool
# (``kernels.ONE_BLAS_THREAD``); with these two a shop's run took ~7% more CPU and wall time.
_NANNY_ONLY = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")


def _kernels_own_environment() -> None:
    """Take the nanny's settings for the worker process out of the environment the worker's
    kernel server and kernels will start with (where they hold the nanny's values: one a
    user set to something else stays). The worker itself read them when it started."""
    import os

    import dask

    nanny = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    for name in _NANNY_ONLY:
        if name in nanny and os.environ.get(name) == str(nanny[name]):
            del os.environ[name]


class WarmPlaybook(WorkerPlugin):
    """A worker plugin running :func:`warm` on each of a worker's executor threads."""

    idempotent = True  # registered by every batch: once per playbook folder is enough

    def __init__(self, playbook_dir: str = str(PLAYBOOK_DIR)):
        self.playbook_dir = str(playbook_dir)
        self.name = f"playbook-warm:{self.playbook_dir}"

    def setup(self, worker) -> None:
        if getattr(worker, "_playbook_warm", None) == self.playbook_dir:
            return  # warmed already (the preload, or an earlier batch)
        worker._playbook_warm = self.playbook_dir
        _no_profiler(worker)
        _kernels_own_environment()
        _warm_threads(worker, self.playbook_dir)

    def teardown(self, worker) -> None:
        """The worker is closing: stop its kernel servers and kernels now (the nanny would
        otherwise kill a worker still holding them after its grace period)."""
        _close_pools()


def _close_pools() -> None:
    close_worker_pools()


def dask_setup(worker) -> None:
    """``dask worker … --preload helpers.run.dask_setup``: warm the worker as it starts."""
    WarmPlaybook().setup(worker)


def dask_teardown(worker) -> None:
    """The preload's counterpart when the worker closes."""
    _close_pools()
