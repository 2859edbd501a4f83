"""The run's kernel client: ready on the kernel's own answer; kernels stopped and reaped at once."""

from __future__ import annotations

import asyncio
import os
from queue import Empty

import pytest
from jupyter_core.utils import run_sync

from helpers.run import client, kernels


class _Channel:
    """A channel holding ``msgs``; Empty once they are read (as a silent socket times out)."""

    def __init__(self, msgs):
        self.msgs = list(msgs)

    async def get_msg(self, timeout=None):
        if not self.msgs:
            raise Empty
        return self.msgs.pop(0)


def _msg(kind: str, parent: str, state: str | None = None) -> dict:
    content = {"execution_state": state} if state else {}
    return {"msg_type": kind, "parent_header": {"msg_id": parent}, "content": content}


def test_the_reply_is_the_one_to_our_request():
    old, ours = _msg("kernel_info_reply", "a"), _msg("kernel_info_reply", "b")
    assert asyncio.run(client._reply(_Channel([old, ours]), "b", 1.0)) is ours
    assert asyncio.run(client._reply(_Channel([old]), "b", 1.0)) is None


def test_ready_on_the_idle_status_of_our_request_and_not_before():
    ch = _Channel(
        [
            _msg("stream", ""),  # start-up output: read and dropped
            _msg("status", "a", "idle"),  # an earlier request's
            _msg("status", "b", "busy"),
            _msg("status", "b", "idle"),
            _msg("status", "c", "busy"),  # after ours: left for the notebook's client
        ]
    )
    assert asyncio.run(client._idle(ch, "b", 1.0)) is True
    assert ch.msgs == [_msg("status", "c", "busy")]
    # published before the SUB socket was subscribed: never seen, so not ready (ask again)
    assert asyncio.run(client._idle(_Channel([_msg("status", "b", "busy")]), "b", 1.0)) is False


@pytest.fixture
def pool(tmp_path):
    p = kernels.KernelPool(tmp_path, ["json"])
    yield p
    p.close()


def test_a_pool_kernel_is_ready_with_nothing_left_over(pool):
    km = pool.take(more=False)
    kc = km.client()
    assert isinstance(kc, client.ReadyClient)
    kc.start_channels()
    try:
        run_sync(kc.wait_for_ready)(timeout=60)
        mid = kc.execute("print(6 * 7)")
        seen, out = [], []
        while True:  # every IOPub message from here on is the execution's own
            msg = run_sync(kc.get_iopub_msg)(timeout=30)
            seen.append(msg["parent_header"].get("msg_id"))
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        assert set(seen) == {mid} and out == ["42\n"]
    finally:
        kc.stop_channels()
        kernels.shutdown(km)


def test_a_stopped_kernel_is_gone_and_reaped(pool):
    km = pool.take(more=False)
    pid = kernels._kernel_pid(km)
    kernels.shutdown(km)
    assert not km.has_kernel
    with pytest.raises(ChildProcessError):  # reaped: no zombie left to wait for
        os.waitpid(pid, os.WNOHANG)
    kernels.shutdown(km)  # twice: nothing to do


def _printed(pool, code: str) -> str:
    """What ``code`` prints in a kernel of ``pool`` (which must run it without an error)."""
    km = pool.take(more=False)
    kc = km.client()
    kc.start_channels()
    out = []
    try:
        run_sync(kc.wait_for_ready)(timeout=60)
        reply = run_sync(kc.execute_interactive)(
            code, timeout=30, output_hook=lambda m: out.append(m["content"].get("text", ""))
        )
    finally:
        kc.stop_channels()
        kernels.shutdown(km)
    assert reply["content"]["status"] == "ok"
    return "".join(out)


def test_pool_kernels_run_one_blas_thread_unless_told(pool, monkeypatch):
    """Two kernels side by side on two cores: a BLAS pool each only spins (kernels.py)."""
    code = "import os; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])"
    assert _printed(pool, code) == "1 1\n"  # the server had it when it loaded numpy
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert pool._env()["OPENBLAS_NUM_THREADS"] == "2"  # the caller's choice wins


def test_a_pool_kernels_inherited_objects_are_out_of_its_collections(pool):
    """The server freezes what it holds before forking (gc.freeze): a kernel's full
    collections walk only its own objects, and collecting is on in the kernel."""
    code = "import gc, sys; print(gc.isenabled(), gc.get_freeze_count() > 10_000, 'json' in sys.modules)"
    assert _printed(pool, code) == "True True True\n"


def test_every_module_the_kernel_server_warms_exists():
    """The server's warm list fails silently (a missing module only costs time later), so a
    renamed module or function would quietly stop being warmed: each must import and each
    ``module:function`` must name a function."""
    import importlib

    from helpers.run.notebooks import WARM_AFTER

    entries = [*kernels._KERNEL_MODULES, *(m for extra in WARM_AFTER.values() for m in extra)]
    assert "PIL.Image:preinit" in entries and "ipykernel.debugger" in entries
    for entry in entries:
        mod, _, fn = entry.partition(":")
        obj = importlib.import_module(mod)
        assert not fn or callable(getattr(obj, fn)), entry


def _fresh_python(code: str) -> str:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return out.stdout.strip()


def test_the_server_imports_seaborn_without_scipy_stats():
    """seaborn then uses its bundled KDE; a heatmap (what the charts draw) still works, and
    scipy.stats still imports for anything that asks for it afterwards."""
    got = _fresh_python(
        "import sys\n"
        "from helpers.run.kernels import seaborn_without_scipy_stats as f\n"
        "f()\n"
        "print('seaborn' in sys.modules, 'scipy.stats' in sys.modules)\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "import seaborn as sns, pandas as pd\n"
        "ax = sns.heatmap(pd.DataFrame([[1, 2], [3, 4]]), annot=True)\n"
        "print([t.get_text() for t in ax.texts])\n"
        "import scipy.stats\n"
        "print(scipy.stats.norm.cdf(0))\n"
    )
    assert got.splitlines() == ["True False", "['1', '2', '3', '4']", "0.5"]


def test_a_run_starts_its_kernel_server_before_importing_pandas():
    """``playbook run`` starts the server first (it imports for ~2 s, which the run waits
    for): listing the notebooks' imports must not import pandas or nbformat."""
    got = _fresh_python(
        "import sys\n"
        "from helpers.run import kernels\n"
        "kernels.KernelPool.start = lambda self: print('started', sorted(\n"
        "    m for m in ('pandas', 'nbformat', 'jupytext') if m in sys.modules))\n"
        "pool = kernels.run_pool()\n"
        "print('helpers.nb' in pool.modules, 'pandas' in pool.modules)\n"
    )
    assert got.splitlines() == ["started []", "True True"]
