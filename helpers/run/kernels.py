"""Kernels for the run: a fork server that has imported what the notebooks import (and the
shop, when cached) forks each notebook's kernel; the pool hands them out and shuts them down.

Above 600 lines: the server, the process that attaches a kernel to it and the pool speak
one protocol (requests on a Unix socket, the shop's preload, exit codes back), read here
in one place.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

from helpers.run.notebooks import PLAYBOOK_DIR, notebook_imports, notebooks

__all__ = [
    "INLINE",
    "KernelPool",
    "run_pool",
    "shutdown",
    "WORKER_POOLS",
    "worker_pool",
    "close_worker_pools",
    "run_summary",
]

INLINE = "module://matplotlib_inline.backend_inline"

# The run's kernels work side by side, a core each (two notebooks, two batch workers): a
# BLAS thread pool per kernel only makes its threads spin against the other kernel's. Its
# matrices are small (a day-by-term design of ~1,000 × 100 in a least-squares fit): one
# thread answers in ~3 ms where two took 10-270 ms of CPU on a two-core machine with the
# other core busy. Read when numpy loads; a value the caller set wins. Not OMP_NUM_THREADS:
# Arrow sizes its own pool by it, and the server reads a large shop's cache while the other
# core is free.
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# Run in each forked kernel before the notebook: the inline backend hooks into the IPython
# shell when pyplot is imported inside a kernel; pyplot was imported before the shell existed.
# Then, after each cell, the memory the cell freed goes back to the system (_give_back):
# at 10M lines a notebook otherwise kept 200-400 MB of it resident between its heavy cells,
# and two notebooks run side by side.
_GIVE_BACK_HOOK = (
    "get_ipython().events.register('post_run_cell', "
    "__import__('helpers.run.kernels', fromlist=['_']).give_back_after_cell)"
)
_INLINE_HOOK = (
    "__import__('matplotlib_inline.backend_inline').backend_inline"
    "._enable_matplotlib_integration() if 'matplotlib.pyplot' in __import__('sys').modules "
    f"else None; {_GIVE_BACK_HOOK}"
)


# The "kernel process" jupyter_client launches when kernels come from the fork server: a bare
# interpreter (-I -S, ~20 ms) that asks the server for a kernel, passes signals on to it
# (interrupts) and exits with it. Killing it makes the server kill its kernel.
_ATTACH = r"""
import json, os, signal, socket, sys, time
path, argv = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
end = time.monotonic() + 300
while True:
    try:
        s.connect(path)
        break
    except OSError:
        if time.monotonic() > end:
            sys.exit("playbook kernel server not reachable: " + path)
        time.sleep(0.02)
req = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
s.sendall(json.dumps(req).encode() + b"\n")
f = s.makefile("rb")
pid = int(f.readline())
def forward(sig, frame):
    try:
        os.kill(pid, sig)
    except OSError:
        pass
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
            signal.SIGUSR2):
    signal.signal(sig, forward)
line = f.readline()
sys.exit(int(line) if line.strip() else 1)
"""


# What an ipykernel imports as it starts (its debugger, IPython's store magic and history
# database): imported once by the server instead of by every kernel.
_KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.extensions.storemagic",
    "sqlite3",
)


def seaborn_without_scipy_stats() -> None:
    """Import seaborn without the ``scipy.stats`` it imports only to pick a KDE (0.45 s of
    the kernel server's imports, which every run waits for). seaborn then uses its bundled
    copy of ``scipy.stats.gaussian_kde`` (only a cumulative KDE needs scipy; no notebook
    draws a KDE); ``scipy.stats`` stays importable. Called where notebooks run unattended
    (the kernel server, a batch's kernels), not in JupyterLab kernels."""
    if "seaborn" in sys.modules or "scipy.stats" in sys.modules:
        return
    sys.modules["scipy.stats"] = None  # type: ignore[assignment]  # "import scipy.stats" fails
    try:
        import seaborn  # noqa: F401
    finally:
        if sys.modules.get("scipy.stats", 0) is None:
            del sys.modules["scipy.stats"]


def _warm(modules: list[str]) -> None:
    """Import each module; call each ``module:function``; a failure only costs time later."""
    import importlib

    for m in modules:
        try:
            mod, _, fn = m.partition(":")
            obj = importlib.import_module(mod)
            if fn:
                getattr(obj, fn)()
        except Exception:
            pass


def _zygote_main(sock_path: str, modules: list[str], parent: int | None = None) -> None:
    """The kernel fork server: import once, then fork a fresh kernel process per request.

    Each child is a new IPython kernel (its own process, empty namespace) that starts with
    the imports already in memory, shared copy-on-write with this process. Single-threaded
    on purpose (forking a threaded process is unsafe).
    """
    import selectors

    parent = parent or os.getppid()  # the pool's process: when it goes, so does this one
    # as ipykernel's own kernelspec does when frozen modules are on: the debugger's import
    # otherwise warns on the terminal that it may miss breakpoints
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # No collections while importing (~0.2 s of full passes over a growing heap); what is
    # held is frozen before collecting resumes and before each fork (gc.freeze, as its docs
    # advise for a fork server): a kernel's collections walk only its own objects.
    gc.disable()
    _warm([*modules, *_KERNEL_MODULES])
    gc.freeze()
    gc.enable()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}

    def drop(pid: int, code: int | None = None) -> None:
        conn = children.pop(pid, None)
        if conn is None:
            return
        try:
            sel.unregister(conn)
            if code is not None:
                conn.sendall(f"{code}\n".encode())
        except (OSError, KeyError, ValueError):
            pass
        conn.close()

    while True:
        for key, _ in sel.select(0.5):
            if key.fileobj is srv:
                conn, _ = srv.accept()
                req = json.loads(conn.makefile("rb").readline() or b"{}")
                if "preload" in req:  # the run's shop: the kernels forked after share it
                    try:
                        conn.sendall(_preload(req["preload"]))
                    except OSError:  # the asker is gone
                        pass
                    req = {}
                if not req:
                    conn.close()
                    continue
                gc.freeze()
                pid = os.fork()
                if pid == 0:
                    _zygote_child(srv, [c for c in children.values()] + [conn], req)
                conn.sendall(f"{pid}\n".encode())
                children[pid] = conn
                sel.register(conn, selectors.EVENT_READ, pid)
            else:  # the attach process went away (killed): so does its kernel
                try:
                    gone = not key.fileobj.recv(16)
                except OSError:
                    gone = True
                if gone:
                    try:
                        os.kill(key.data, signal.SIGKILL)
                    except OSError:
                        pass
                    drop(key.data)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            drop(pid, os.waitstatus_to_exitcode(status))
        if os.getppid() != parent:  # the worker is gone: take the kernels along
            for pid in list(children):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os._exit(0)


def _preload(spec: dict) -> bytes:
    """Load ``spec``'s shop in the kernel server (in place of the one it held): every kernel
    forked afterwards shares it copy-on-write, with the buyers' orders
    (:func:`helpers.analysis.customers.customer_orders`) that notebooks 02 and 04 both derive.
    Returns its :func:`run_summary` pickled (None: not cached, or a bad shop, which the run's
    own load then reports)."""
    import pickle

    gc.unfreeze()  # the shop this replaces (a batch's previous one) may be collected
    summary = None
    try:
        from helpers.load.shop import preload

        shop = preload(spec["shop_dir"], spec.get("as_of") or None)
        summary = None if shop is None else run_summary(shop)
        if shop is not None and shop.has_customers:
            from helpers.analysis.customers import customer_orders

            customer_orders(shop.orders, shop.as_of)
    except Exception:  # the run's own load reports a bad shop; kernels then load theirs
        pass
    _give_back()
    return pickle.dumps(summary)


def give_back_after_cell(result=None) -> None:
    """IPython's ``post_run_cell`` hook in a run's kernels: :func:`_give_back` (~1-5 ms)."""
    _give_back()


def _give_back() -> None:
    """Hand freed memory back to the system: Arrow's pool and glibc's heap keep it otherwise.
    The kernel server calls it before forking (at 10M lines ~600 MB of read buffers, resident
    for the whole run), each run kernel after each cell."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # no pyarrow: nothing of Arrow's to give back
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, looked up once (it runs after every cell), or None when the C
    library is not glibc (macOS, musl: its allocator decides)."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _zygote_child(srv, conns, req: dict) -> None:
    code = 1
    try:
        srv.close()
        for c in conns:
            c.close()
        os.setsid()
        try:  # die with the server
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        argv = [*req["argv"], f"--IPKernelApp.exec_lines={_INLINE_HOOK}"]
        parent = req["env"].get("JPY_PARENT_PID")
        if parent:  # read from the environment when ipykernel was imported: set it here
            argv.append(f"--IPKernelApp.parent_handle={parent}")
        sys.argv = ["ipykernel_launcher", *argv]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _fork_server_wanted() -> bool:
    return hasattr(os, "fork") and os.environ.get("PLAYBOOK_KERNEL_FORK", "1") != "0"


class KernelPool:
    """Python kernels started ahead of need, with the notebooks' imports already done.

    ``take()`` hands out a started kernel and at once starts the next one, so a kernel's
    start-up overlaps the previous notebook's execution. A kernel is used for one notebook
    only, then shut down: every notebook gets a fresh process and an empty namespace.

    Kernels come from a fork server (``_zygote_main``): one process per pool imports the
    notebooks' modules once, and each kernel is forked from it, so the seconds of CPU that
    ``import pandas, matplotlib, seaborn, helpers...`` cost are paid once per worker instead
    of once per notebook. Where ``fork`` is missing, or with ``PLAYBOOK_KERNEL_FORK=0``,
    each kernel is a normal ``ipykernel`` process that imports the modules while it boots
    (``exec_lines``; nothing is bound in the user namespace).
    """

    def __init__(
        self,
        cwd: Path = PLAYBOOK_DIR,
        modules: list[str] | None = None,
        kernel_name: str = "python3",
        max_idle: float = 300.0,
        fork: bool | None = None,
    ):
        self.cwd = Path(cwd)
        self.modules = list(modules) if modules is not None else ["helpers.nb"]
        self.kernel_name = kernel_name
        self.max_idle = max_idle
        self.fork = _fork_server_wanted() if fork is None else fork
        self._next = None  # (km, started_at)
        self._server = None  # (Popen, socket path, folder)
        self._ipc: str | None = None  # the kernels' sockets' folder

    def _env(self) -> dict:
        # charts must reach the report even when the caller's shell sets MPLBACKEND=Agg
        return {**ONE_BLAS_THREAD, **os.environ, "MPLBACKEND": INLINE}

    def _server_path(self) -> str:
        import subprocess
        import tempfile

        if self._server is not None and self._server[0].poll() is None:
            return self._server[1]
        self._stop_server()
        folder = tempfile.mkdtemp(prefix="pb-kernels-")
        path = os.path.join(folder, "s")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from helpers.run.kernels import _zygote_main; "
                "_zygote_main(sys.argv[2], sys.argv[3:], int(sys.argv[1]))",
                str(os.getpid()),
                path,
                *self.modules,
            ],
            cwd=str(self.cwd),
            env=self._env(),
            start_new_session=True,
        )
        self._server = (proc, path, folder)
        return path

    def _ipc_folder(self) -> str:
        import tempfile

        if self._ipc is None or not os.path.isdir(self._ipc):
            self._ipc = tempfile.mkdtemp(prefix="pb-ipc-")
        return self._ipc

    def _stop_server(self) -> None:
        if self._server is None:
            return
        proc, _, folder = self._server
        self._server = None
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)

    def _launch(self):
        from jupyter_client import AsyncKernelManager
        from jupyter_core.utils import run_sync

        # Unix sockets, not TCP ports: kernels booting at once in several worker processes
        # cannot pick the same port (zmq "Address already in use" and a dead kernel).
        ready = "helpers.run.client.ReadyClient"  # ready without 0.2 s of IOPub silence
        if os.name == "posix":
            km = AsyncKernelManager(
                kernel_name=self.kernel_name, transport="ipc", client_class=ready
            )
            km.ip = os.path.join(self._ipc_folder(), f"k{uuid.uuid4().hex[:12]}")
        else:  # no Unix sockets: TCP ports
            km = AsyncKernelManager(kernel_name=self.kernel_name, client_class=ready)
        args = [
            "--HistoryManager.hist_file=:memory:",  # as nbclient does: no history file
            "--IPKernelApp.log_level=50",  # quiet on the batch's stderr: a cell's error is in its notebook
        ]
        if self.fork:
            from jupyter_client.kernelspec import KernelSpec

            spec = km.kernel_spec
            km._kernel_spec = KernelSpec(
                argv=[
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    _ATTACH,
                    self._server_path(),
                    "-f",
                    "{connection_file}",
                ],
                display_name=spec.display_name,
                language=spec.language,
                interrupt_mode="signal",
                metadata=spec.metadata,
                env=spec.env,
            )
        else:
            warm = f"__import__('helpers.run.kernels', fromlist=['_warm'])._warm({self.modules!r})"
            args.append(f"--IPKernelApp.exec_lines={warm}; {_GIVE_BACK_HOOK}")
        run_sync(km.start_kernel)(cwd=str(self.cwd), env=self._env(), extra_arguments=args)
        return km, time.monotonic()

    def load(self, shop_dir: str | Path, as_of: str | None = None, timeout: float = 600.0):
        """Have the kernel server load this shop, in place of any it held, for the kernels it
        forks from now on (a run's shop; a batch worker's next one). Returns the shop's
        :func:`run_summary` once loaded, or None (no fork server, shop not in the Parquet
        cache, a bad shop, or no answer within ``timeout`` seconds): the kernels then load
        theirs. Waits for the server to finish its imports first."""
        if not self.fork:
            return None
        if self._next is not None:  # booted with the previous shop in memory
            shutdown(self._next[0])
            self._next = None
        path = self._server_path()
        spec = {"shop_dir": str(shop_dir), "as_of": as_of}
        end = time.monotonic() + timeout
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            while True:  # the server binds its socket once it has imported
                try:
                    s.connect(path)
                    break
                except OSError:
                    if self._server[0].poll() is not None or time.monotonic() > end:
                        return None
                    time.sleep(0.02)
            s.sendall(json.dumps({"preload": spec}, default=str).encode() + b"\n")
            s.settimeout(max(1.0, end - time.monotonic()))
            try:
                data = s.makefile("rb").read()  # the pickled summary, then the server closes
            except OSError:
                return None
        import pickle

        return pickle.loads(data) if data else None  # from our own server process

    def start(self) -> None:
        """Start the kernel server now: it imports while this process goes on."""
        if self.fork:
            self._server_path()

    def take(self, more: bool = True):
        """A started kernel manager; with ``more``, the next kernel starts booting now."""
        km = None
        if self._next is not None:
            km, started = self._next
            self._next = None
            if time.monotonic() - started > self.max_idle or not _alive(km):
                shutdown(km)
                km = None
        if km is None:
            km, _ = self._launch()
        if more:
            self._next = self._launch()
        return km

    def prefetch(self) -> None:
        """Start booting a kernel now (e.g. while a worker process is still importing)."""
        if self._next is None:
            self._next = self._launch()

    def close(self) -> None:
        if self._next is not None:
            shutdown(self._next[0])
            self._next = None
        self._stop_server()
        if self._ipc is not None:
            shutil.rmtree(self._ipc, ignore_errors=True)
            self._ipc = None


def _alive(km) -> bool:
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    return proc is not None and proc.poll() is None


def _kernel_pid(km) -> int | None:
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(proc, "pid", None)


def shutdown(km) -> None:
    """Stop a kernel at once (its notebook is finished; nothing to save): see :func:`stop`."""
    from jupyter_core.utils import run_sync

    run_sync(stop)(km)


async def stop(km) -> None:
    """Stop a kernel at once: killed, without the interrupt ``shutdown_kernel`` sends first
    (``KeyboardInterrupt caught in kernel`` on the console otherwise), and reaped in
    ``waitpid``, not by jupyter_client's polls 100 ms apart (a run's next notebook waits
    for this one's kernel to be gone)."""
    if not getattr(km, "has_kernel", False):
        return
    try:
        km.shutting_down = True
        km.stop_restarter()
        proc = getattr(km.provisioner, "process", None)
        await km.provisioner.kill()
        if proc is not None:
            proc.wait(5)  # SIGKILLed: a few ms
        await km.provisioner.wait()  # finds it gone: closes its pipes, clears it
        await km._async_cleanup_resources()
    except Exception:  # already gone
        pid = _kernel_pid(km)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def run_pool(only: list[str] | None = None, playbook_dir: Path = PLAYBOOK_DIR) -> KernelPool:
    """A kernel pool for one run of ``only`` (all notebooks by default), its server started:
    it imports while the caller goes on importing the rest of the run (``playbook run``
    calls this before anything imports pandas)."""
    nbs = notebooks(only, playbook_dir)
    pool = KernelPool(playbook_dir, notebook_imports(nbs))
    if nbs:
        pool.start()
    return pool


WORKER_POOLS: dict[tuple, KernelPool] = {}


def worker_pool(playbook_dir: Path) -> KernelPool:
    """A warm kernel pool per worker process and thread, kept across shops (batch workers, local
    or Dask)."""

    key = (os.getpid(), threading.get_ident(), str(playbook_dir))
    if key not in WORKER_POOLS:
        import atexit

        pool = KernelPool(playbook_dir, notebook_imports(notebooks(None, playbook_dir)))
        WORKER_POOLS[key] = pool
        atexit.register(pool.close)
    return WORKER_POOLS[key]


def close_worker_pools() -> None:
    """Stop this process's worker pools (a Dask worker closing)."""
    for key, pool in list(WORKER_POOLS.items()):
        if key[0] == os.getpid():
            pool.close()


def run_summary(shop) -> dict:
    """What a run needs of its shop besides the notebooks: names, the row accounting, the
    portfolio KPIs (:func:`helpers.analysis.kpis.sales_kpis`) and the order-line count."""
    from helpers.analysis.kpis import sales_kpis
    from helpers.load.shop import load_report

    kpis, daily_net = sales_kpis(shop)
    return {
        "name": shop.config.name,
        "currency": shop.config.currency,
        "lang": shop.config.lang,
        "as_of": str(shop.as_of.date()),
        "loaded": load_report(shop),
        "kpis": kpis,
        "daily_net": daily_net,
        "lines": len(shop.orders),
    }
