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

import ast
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helpers.deliver import report
from helpers.deliver.imports import light_imports
from helpers.load import artifacts
from helpers.load.shop import load_report, load_shop

PLAYBOOK_DIR = Path(__file__).resolve().parents[2] / "playbook"

# Imported by kernels while they boot, besides the notebooks' own import statements: modules
# the helpers import lazily inside functions a notebook importing the key module will call
# (nb.open_shop → charts.use_style → seaborn → scipy.stats is ~2 s of every first cell).
# "module:function" entries are called once (jieba's dictionary load: ~1 s per notebook).
WARM_AFTER = {
    "helpers.nb": ("matplotlib.pyplot", "seaborn", "helpers.present.charts"),
    "helpers.analysis.text": ("helpers.analysis.text:tokenizer",),
    "helpers.analysis.review": ("helpers.analysis.text:tokenizer",),
}
# Memory of a run, for auto_jobs (MB; fitted in bench/RESULTS.md).
NB_BASE_MB, SHOP_MB_PER_LINE, NB_MB_PER_LINE = 1000, 0.00065, 0.00021
MEMORY_SHARE = 0.6  # of the available memory a run may plan to use


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


def notebooks(only: list[str] | None = None, playbook_dir: Path = PLAYBOOK_DIR) -> list[Path]:
    """The numbered notebooks in order, optionally only those whose number is in ``only``.

    An ``NN_name.ipynb`` is used when present, else its jupytext source ``NN_name.py``.
    """
    playbook_dir = Path(playbook_dir)
    found = {p.stem: p for p in playbook_dir.glob("[0-9][0-9]_*.py")}
    found.update({p.stem: p for p in playbook_dir.glob("[0-9][0-9]_*.ipynb")})
    nbs = [found[s] for s in sorted(found)]
    if only:
        nbs = [p for p in nbs if p.name[:2] in {str(o).zfill(2) for o in only}]
    return nbs


_NB_CACHE: dict[tuple[str, int, int], object] = {}


def read_notebook(path: Path):
    """The notebook as an nbformat node (jupytext for a ``.py`` source); parsed once a process."""
    import copy

    light_imports()
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _NB_CACHE:
        if path.suffix == ".ipynb":
            import nbformat

            nb = nbformat.read(path, as_version=4)
        else:
            import jupytext

            nb = jupytext.read(path)
        _NB_CACHE[key] = nb
    return copy.deepcopy(_NB_CACHE[key])


def _code_trees(nb):
    """The syntax tree of each code cell that parses (magics and shell lines left out)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = "\n".join(ln for ln in cell.source.splitlines() if ln.lstrip()[:1] not in "%!")
        try:
            yield ast.parse(src)
        except SyntaxError:
            continue


def notebook_imports(paths: list[Path]) -> list[str]:
    """Modules the notebooks import at the top level of their code cells (for warm kernels)."""
    mods: list[str] = []
    for p in paths:
        for tree in _code_trees(read_notebook(p)):
            for node in tree.body:
                if isinstance(node, ast.Import):
                    mods += [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    mods.append(node.module)
                    mods += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    for key, extra in WARM_AFTER.items():
        if key in mods:
            mods += extra
    return list(dict.fromkeys(mods))


def _ctx_calls(nb) -> list[tuple[str, str]]:
    """(``save``/``load``, name pattern) of each ``ctx.save(...)``/``ctx.load(...)``, in order.

    A name is a regular expression: a literal escaped, an f-string's fields ``.*``."""
    import re

    calls = []
    for i, tree in enumerate(_code_trees(nb)):
        for node in ast.walk(tree):
            f = getattr(node, "func", None)
            if not (
                isinstance(node, ast.Call)
                and isinstance(f, ast.Attribute)
                and f.attr in ("save", "load")
                and isinstance(f.value, ast.Name)
                and f.value.id == "ctx"
                and node.args
            ):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                pat = re.escape(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                pat = "".join(
                    re.escape(v.value) if isinstance(v, ast.Constant) else ".*" for v in arg.values
                )
            else:
                pat = ".*"  # a name we cannot read: assume it may be anything
            calls.append(((i, node.lineno, node.col_offset), f.attr, pat))
    return [(kind, pat) for _, kind, pat in sorted(calls)]


@dataclass
class NotebookGraph:
    """Which notebooks need which (from the names they ``ctx.save``/``ctx.load``).

    ``needs[stem]`` holds the earlier notebooks of the run that save a name ``stem`` loads;
    ``order`` is every saved name pattern in playbook order (the workbook's sheet order).
    """

    needs: dict[str, set[str]]
    order: list[str]


def notebook_graph(paths: list[Path]) -> NotebookGraph:
    """The dependency graph of ``paths`` (in playbook order) read from their code."""

    needs: dict[str, set[str]] = {}
    saved: list[tuple[str, str]] = []  # (stem, pattern)
    order: list[str] = []
    for p in paths:
        calls = _ctx_calls(read_notebook(p))
        loads = [pat for kind, pat in calls if kind == "load"]
        needs[p.stem] = {stem for stem, sp in saved for lp in loads if _may_meet(sp, lp)}
        for kind, pat in calls:
            if kind == "save":
                saved.append((p.stem, pat))
                order.append(pat)
    return NotebookGraph(needs, list(dict.fromkeys(order)))


def _may_meet(a: str, b: str) -> bool:
    """Whether two name patterns can name the same artifact (a literal against a pattern)."""
    import re

    lit = re.compile(r"(?:\\.|[A-Za-z0-9_])*")  # an escaped literal: no bare metacharacter
    if lit.fullmatch(b):
        return bool(re.fullmatch(a, re.sub(r"\\(.)", r"\1", b)))
    if lit.fullmatch(a):
        return bool(re.fullmatch(b, re.sub(r"\\(.)", r"\1", a)))
    return True  # two patterns: assume they may meet


def auto_jobs(order_lines: int, shop_loaded: bool = False) -> int:
    """Notebooks to run side by side: 2 on a machine with 2+ cores and the memory for two.

    Memory of a run ~ ``NB_BASE_MB`` + the shop (``SHOP_MB_PER_LINE`` per order line, loaded
    once by the kernel server and shared) + each running notebook's own
    (``NB_MB_PER_LINE`` per line), fitted on the 1M and 10M bench shops (bench/RESULTS.md:
    2.0 GB and 11.6 GB with two notebooks at once, 9.5 GB with one at 10M); two run at once
    only when that fits in ``MEMORY_SHARE`` of the memory available now: on a 24 GB machine,
    up to about 12M order lines (see the test). ``shop_loaded``: the kernel server holds the shop already, so
    its memory is no longer available and is not counted again.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    import psutil

    shop = 0 if shop_loaded else SHOP_MB_PER_LINE
    need = NB_BASE_MB + (shop + 2 * NB_MB_PER_LINE) * order_lines
    return 2 if need * 2**20 <= psutil.virtual_memory().available * MEMORY_SHARE else 1


INLINE = "module://matplotlib_inline.backend_inline"

# Run in each forked kernel before the notebook: the inline backend hooks into the IPython
# shell when pyplot is imported inside a kernel; pyplot was imported before the shell existed.
_INLINE_HOOK = (
    "__import__('matplotlib_inline.backend_inline').backend_inline"
    "._enable_matplotlib_integration() if 'matplotlib.pyplot' in __import__('sys').modules "
    "else None"
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
    _warm([*modules, "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell"])
    spec = json.loads(os.environ.pop("PLAYBOOK_PRELOAD", "") or "{}")
    if spec.get("shop_dir"):  # the shop every kernel opens: loaded once, shared copy-on-write
        summary = None
        try:
            from helpers.load.shop import preload

            shop = preload(spec["shop_dir"], spec.get("as_of") or None)
            summary = None if shop is None else run_summary(shop)
        except Exception:  # the run's own load reports a bad shop; kernels then load theirs
            pass
        if spec.get("summary"):  # the run waits for it: written whatever happened
            import pickle

            tmp = f"{spec['summary']}.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump(summary, fh)
            os.replace(tmp, spec["summary"])
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
                if not req:
                    conn.close()
                    continue
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
        preload: dict | None = None,
    ):
        self.cwd = Path(cwd)
        self.modules = list(modules) if modules is not None else ["helpers.nb"]
        self.kernel_name = kernel_name
        self.max_idle = max_idle
        self.fork = _fork_server_wanted() if fork is None else fork
        self.preload = preload  # {"shop_dir", "as_of"}: the server loads it before forking
        self._next = None  # (km, started_at)
        self._server = None  # (Popen, socket path, folder)
        self._ipc: str | None = None  # the kernels' sockets' folder

    def _env(self) -> dict:
        # charts must reach the report even when the caller's shell sets MPLBACKEND=Agg
        return {**os.environ, "MPLBACKEND": INLINE}

    def _server_path(self) -> str:
        import subprocess
        import tempfile

        if self._server is not None and self._server[0].poll() is None:
            return self._server[1]
        self._stop_server()
        folder = tempfile.mkdtemp(prefix="pb-kernels-")
        path = os.path.join(folder, "s")
        spec = {**self.preload, "summary": os.path.join(folder, "summary")} if self.preload else {}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from helpers.run.runner import _zygote_main; "
                "_zygote_main(sys.argv[2], sys.argv[3:], int(sys.argv[1]))",
                str(os.getpid()),
                path,
                *self.modules,
            ],
            cwd=str(self.cwd),
            env={**self._env(), "PLAYBOOK_PRELOAD": json.dumps(spec, default=str)},
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
        if os.name == "posix":
            km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc")
            km.ip = os.path.join(self._ipc_folder(), f"k{uuid.uuid4().hex[:12]}")
        else:  # no Unix sockets: TCP ports
            km = AsyncKernelManager(kernel_name=self.kernel_name)
        args = [
            "--HistoryManager.hist_file=:memory:",  # as nbclient does: no history file
            "--IPKernelApp.log_level=40",  # no start-up chatter on the batch's stderr
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
            warm = f"__import__('helpers.run.runner', fromlist=['_warm'])._warm({self.modules!r})"
            args.append(f"--IPKernelApp.exec_lines={warm}")
        run_sync(km.start_kernel)(cwd=str(self.cwd), env=self._env(), extra_arguments=args)
        return km, time.monotonic()

    def preloaded(self, timeout: float = 300.0) -> dict | None:
        """The :func:`run_summary` of the shop the kernel server preloaded, once it has; None
        when it did not (no server, no preload, shop not in the cache, or a load error) or
        has not within ``timeout`` seconds (kernels give up waiting for it then too)."""
        if not (self.fork and self.preload):
            return None
        self._server_path()  # started by now, normally
        proc, _, folder = self._server
        path = os.path.join(folder, "summary")
        end = time.monotonic() + timeout
        while not os.path.exists(path):
            if proc.poll() is not None or time.monotonic() > end:
                return None
            time.sleep(0.02)
        import pickle

        with open(path, "rb") as fh:
            return pickle.load(fh)  # written by our own server process

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


_ENGINE = "playbook"


def _engine() -> str:
    """papermill's nbclient engine, except that a kernel handed in (``km=``) is shut down,
    immediately, with its client's channels when the notebook is done (nbclient leaves
    both open for a kernel it did not start)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    if _ENGINE in papermill_engines._engines:
        return _ENGINE

    class PlaybookEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            kwargs.pop("input_path", None)
            client = PapermillNotebookClient(
                nb_man,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                shutdown_kernel="immediate",
                **kwargs,
            )
            return client.execute(cleanup_kc=True)

    papermill_engines.register(_ENGINE, PlaybookEngine)
    return _ENGINE


def shutdown(km) -> None:
    """Stop a kernel at once (its notebook is finished; nothing to save): killed, without the
    interrupt ``shutdown_kernel`` sends first (``KeyboardInterrupt caught in kernel`` on the
    console otherwise)."""
    from jupyter_core.utils import run_sync

    if not getattr(km, "has_kernel", False):
        return
    try:  # shutdown_kernel(now=True) interrupts first: the kernel would log the SIGINT
        km.shutting_down = True
        km.stop_restarter()
        run_sync(km._async_kill_kernel)()
        run_sync(km._async_cleanup_resources)()
    except Exception:  # already gone
        pid = _kernel_pid(km)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


class _Watchdog:
    """A notebook's wall-clock limit: interrupt the kernel, then kill it after a grace period.

    papermill's ``execution_timeout`` limits each cell; this limits the notebook as a whole.
    """

    def __init__(self, km, limit: float | None, grace: float = 5.0):
        self.km, self.fired = km, False
        self.limit, self.grace = limit, grace
        self._timers: list[threading.Timer] = []

    def start(self, **_) -> None:
        """Start the clock (called once the kernel is ready: its boot is not counted)."""
        if self.limit and not self._timers:
            self._timers = [
                threading.Timer(self.limit, self._signal, (signal.SIGINT,)),
                threading.Timer(self.limit + self.grace, self._signal, (signal.SIGKILL,)),
            ]
            for t in self._timers:
                t.daemon = True
                t.start()

    def _signal(self, sig) -> None:
        self.fired = True
        pid = _kernel_pid(self.km)
        if pid:
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    def cancel(self) -> None:
        for t in self._timers:
            t.cancel()


def _write_unexecuted(nb: Path, dest: Path, why: str) -> None:
    import nbformat

    node = read_notebook(nb)
    node.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Not executed: {why}**"))
    nbformat.write(node, dest)


def _failure(nb_path: Path, err: Exception) -> str:
    cell = getattr(err, "exec_count", None)
    ename = getattr(err, "ename", type(err).__name__)
    lines = str(getattr(err, "evalue", err)).splitlines()
    evalue = lines[0][:200] if lines else ""
    if ename == "ShopNotLoaded":  # nb.open_shop's stop: the loader's sentence is the reason
        return str(getattr(err, "evalue", err)).strip()
    return f"cell {cell}: {ename}: {evalue}" if cell else f"{ename}: {evalue}"


# --- atomic output folders -------------------------------------------------------------------


def _host() -> str:
    return socket.gethostname().replace("-", "_")[:40]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(final: Path) -> None:
    """Remove partial folders of ``final`` left by runs that died (same host, pid gone)."""
    if not final.parent.exists():
        return
    for d in final.parent.glob(f".{final.name}.partial-*"):
        parts = d.name.rsplit("-", 3)
        try:
            host, pid = parts[-3], int(parts[-2])
        except (IndexError, ValueError):
            continue
        stale = time.time() - d.stat().st_mtime > 86400
        if stale or (host == _host() and not _pid_alive(pid)):
            shutil.rmtree(d, ignore_errors=True)
    for d in final.parent.glob(f".{final.name}.old-*"):  # a commit that died half-way
        if final.exists():
            shutil.rmtree(d, ignore_errors=True)
        elif time.time() - d.stat().st_mtime > 60:  # not a commit happening right now
            d.rename(final)


def _work_dir(final: Path, seed: bool) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(final)
    work = final.parent / f".{final.name}.partial-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if seed and final.is_dir():
        shutil.copytree(final, work, symlinks=True)
    work.mkdir(exist_ok=True)
    return work


def commit(work: Path, final: Path) -> None:
    """Put the finished folder ``work`` in place of ``final`` (the old one goes only then)."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        final.rename(old)
    try:
        work.rename(final)
    except BaseException:
        if old is not None:
            old.rename(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _retarget(nb_file: Path, work: Path, final: Path, source: Path | None = None) -> None:
    """Executed notebooks name the folder they will live in, not the temporary one, and
    their source by its path: papermill records the notebook it was handed in
    ``metadata.papermill.input_path``, which for an in-memory notebook is the whole source
    again, demo outputs and all (half of each file)."""
    text = nb_file.read_text(encoding="utf-8")
    changed = False
    if source is not None and '"input_path": {' in text:
        node = json.loads(text)
        pm_meta = node.get("metadata", {}).get("papermill", {})
        if isinstance(pm_meta.get("input_path"), dict):
            pm_meta["input_path"] = str(source)
            text = json.dumps(node, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
            changed = True
    if str(work) in text:
        text, changed = text.replace(str(work), str(final)), True
    if changed:
        nb_file.write_text(text, encoding="utf-8")


WORKER_POOLS: dict[tuple, KernelPool] = {}


def worker_pool(playbook_dir: Path) -> KernelPool:
    """A warm kernel pool per worker process and thread, kept across shops (batch workers, local
    or Dask)."""
    import threading

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


# --- running ----------------------------------------------------------------------------------


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
    its index page.
    """
    light_imports()
    import papermill as pm
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    shop_dir = Path(shop_dir).resolve()
    nbs = notebooks(only, playbook_dir)
    pool = kernels or KernelPool(
        playbook_dir, notebook_imports(nbs), preload={"shop_dir": shop_dir, "as_of": as_of}
    )
    if kernels is None and nbs:
        pool.prefetch()  # the first kernel boots while the shop loads
    try:  # a cached shop is loaded by the kernel server alone, which sends what we need
        info = pool.preloaded() if kernels is None and nbs and _cached(shop_dir) else None
        preloaded = info is not None
        if info is None:
            info = run_summary(load_shop(shop_dir, as_of=as_of))  # bad input: one-line error
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
                dog.cancel()
                shutdown(km)
            result.timings[nb.stem] = round(time.perf_counter() - t0, 3)
            if dest.exists():
                _retarget(dest, work, final, nb)
                page(nb.stem)  # while the other notebook still runs

        pages, rendered, html_lock, html_s = (
            _pages(work, playbook_dir, result),
            set(),
            threading.Lock(),
            [0.0],
        )

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
        if jobs is None:
            jobs = 1 if kernels is not None else auto_jobs(lines, shop_loaded=preloaded)
        result.timings["jobs"] = jobs
        _schedule(nbs, graph.needs, max(1, jobs), pool, execute, bar, on_notebook, kernels)
        bar.close()
        rank = {stem: i for i, stem in enumerate(pages)}  # failures in page order
        result.failures = dict(sorted(result.failures.items(), key=lambda f: rank.get(f[0], 99)))
        for stem in pages:  # earlier runs' pages too: the table of contents may have changed
            if stem not in rendered:
                page(stem)
        result.timings["html"] = round(html_s[0], 3)
        t1 = time.perf_counter()
        xlsx = work / f"{shop_dir.name}{report.RAW_SUFFIX}"
        tables = artifacts.sheets(work, notebook_graph(notebooks(None, playbook_dir)).order)
        report.excel_workbook(xlsx, tables or [("load", loaded)], lang=lang)
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
        commit(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
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


def run_summary(shop) -> dict:
    """What a run needs of its shop besides the notebooks: names, the row accounting, the
    portfolio KPIs (:func:`helpers.analysis.kpis.sales_kpis`) and the order-line count."""
    from helpers.analysis.kpis import sales_kpis

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


def _cached(shop_dir: Path) -> bool:
    from helpers.load.shop import cached

    try:
        return cached(shop_dir)
    except Exception:  # a bad shop.yaml: the run's own load says what is wrong
        return False


def _schedule(nbs, needs, jobs, pool, execute, bar, on_notebook, kernels) -> None:
    """Run ``execute(nb, km)`` for every notebook, at most ``jobs`` at once, each after the
    notebooks it needs (a failed one counts as done: its dependants recompute what is
    missing), earliest number first. Kernels are taken from ``pool`` on this thread."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    todo, done, running = list(nbs), set(), {}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook") as ex:
        while todo or running:
            ready = [nb for nb in todo if needs.get(nb.stem, set()) <= done]
            while ready and len(running) < jobs:
                nb = ready.pop(0)
                todo.remove(nb)
                more = kernels is not None or bool(todo)
                km = pool.take(more=more)
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


KERNEL_NAME = "ecommerce-playbook"  # registered by scripts/setup.sh and `playbook lab`
KERNEL_DISPLAY = "Python (ecommerce-playbook)"


def source_notebook(nb: Path):
    """A notebook's source without outputs: the jupytext ``.py`` when present, else the
    ``.ipynb`` (whose saved outputs :func:`clean_notebook` drops)."""
    py = nb.with_suffix(".py")
    return read_notebook(py if py.exists() else nb)


def parameters_cell(node) -> int | None:
    """Index of the cell tagged ``parameters`` (None when the notebook has none)."""
    for i, cell in enumerate(node.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def declared_parameters(node) -> list[str]:
    """Names the notebook's parameters cell assigns, in order."""
    i = parameters_cell(node)
    if i is None:
        return []
    tree = ast.parse(node.cells[i].source)
    return [
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    ]


def set_parameters(source: str, values: dict) -> str:
    """The parameters cell ``source`` with each assignment of a name in ``values`` rewritten
    to that value (its trailing comment kept); other lines as they were."""
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in reversed(tree.body):  # bottom-up: line numbers stay valid
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in values
        ):
            continue
        name = node.targets[0].id
        tail = lines[node.end_lineno - 1][node.end_col_offset :]
        comment = tail if tail.strip().startswith("#") else ""
        lines[node.lineno - 1 : node.end_lineno] = [f"{name} = {values[name]!r}{comment}"]
    return "\n".join(lines)


def clean_notebook(node, values: dict, header: str | None = None):
    """A notebook as a consultant opens it: no outputs or execution counts, the parameters
    cell holding ``values`` (names the notebook declares; ``interactive`` on where it has
    that parameter), no papermill/jupytext/execution metadata (no embedded copy of the
    source, no pairing that would write a ``.py`` beside it), the project's named kernel,
    and ``header`` as a first Markdown cell."""
    import nbformat

    i = parameters_cell(node)
    declared = set(declared_parameters(node))
    mine = {k: v for k, v in values.items() if k in declared}
    if "interactive" in declared and "interactive" not in values:
        mine["interactive"] = True
    cells = []
    for j, cell in enumerate(node.cells):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue  # a papermill copy of the parameters: there is one parameters cell
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags", "jupyter")}
        if cell.cell_type == "code":
            src = set_parameters(cell.source, mine) if j == i else cell.source
            new = nbformat.v4.new_code_cell(src, metadata=meta)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=meta)
        else:
            new = nbformat.v4.new_raw_cell(cell.source, metadata=meta)
        cells.append(new)
    if header:
        cells.insert(0, nbformat.v4.new_markdown_cell(header))
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": {"name": KERNEL_NAME, "display_name": KERNEL_DISPLAY, "language": "python"},
        "language_info": {"name": "python"},
    }
    for c in out.cells:  # ids from the cell's position: the same notebook twice is the same file
        c.id = f"cell-{out.cells.index(c)}"
    return out


def _strip_run_metadata(path: Path) -> None:
    """An executed prepared notebook without papermill's records (the embedded input path,
    parameters, per-cell timings), its kernel named as prepared."""
    import nbformat

    node = nbformat.read(path, as_version=4)
    node.metadata.pop("papermill", None)
    node.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": KERNEL_DISPLAY,
        "language": "python",
    }
    for cell in node.cells:
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
    nbformat.write(node, path)


def _path_for(target: Path, folder: Path) -> str:
    """``target`` relative to ``folder`` when the two share a folder below the root (the work
    folder sits beside the shop: the pair can be moved together), else absolute."""
    target, folder = Path(target).resolve(), Path(folder).resolve()
    common = Path(os.path.commonpath([target, folder]))
    if common == Path(common.anchor):
        return str(target)
    return os.path.relpath(target, folder)


@dataclass
class Prepared:
    notebooks: list[Path]
    failures: dict[str, str] = field(default_factory=dict)  # with execute: stem -> why


def prepare_shop(
    shop_dir: str | Path,
    out_dir: str | Path,
    as_of: str | None = None,
    lang: str | None = None,
    params: dict | None = None,
    execute: bool = False,
    only: list[str] | None = None,
    playbook_dir: Path = PLAYBOOK_DIR,
    timeout: int | None = None,
) -> Prepared:
    """Clean notebooks for this shop that a consultant opens in JupyterLab (``out_dir``).

    Each holds one parameters cell with this shop's values (paths relative to ``out_dir``
    when it sits beside the shop; the report folder is ``out_dir/report``), ``interactive``
    on where the notebook has it, no outputs and no metadata from the demo run, and a first
    Markdown cell naming the shop and the date and asking for Run All first. With
    ``execute``, the notebooks are run in order in ``out_dir`` so they hold this shop's
    outputs only; failures are returned (the notebook keeps the error, later cells no
    output). A bad shop raises its one-line :class:`~helpers.core.errors.LoadError` before
    anything is written. ``params`` must be parameters of at least one notebook.
    """
    import nbformat

    from helpers.core.errors import LoadError
    from helpers.present import narrative

    light_imports()
    shop_dir = Path(shop_dir).resolve()
    shop = load_shop(shop_dir, as_of=as_of)
    out = Path(out_dir).resolve()
    nbs = notebooks(only, playbook_dir)
    sources = {nb.stem: source_notebook(nb) for nb in nbs}
    known = {n for node in sources.values() for n in declared_parameters(node)}
    unknown = sorted(set(params or {}) - known)
    if unknown:
        raise LoadError("-p", f"not a parameter of any notebook: {', '.join(unknown)}")
    lang = lang or shop.config.lang
    values = {
        "shop_dir": _path_for(shop_dir, out),
        "out_dir": _path_for(out / "report", out),
        "as_of": str(shop.as_of.date()),
        "lang": lang,
        **(params or {}),
    }
    header = narrative.say(
        "prep_header",
        lang,
        shop=narrative.esc(shop.config.name),
        as_of=values["as_of"],
        made=time.strftime("%Y-%m-%d"),
        folder=narrative.esc(values["shop_dir"]),
    )
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for nb in nbs:
        dest = out / f"{nb.stem}.ipynb"
        nbformat.write(clean_notebook(sources[nb.stem], values, header), dest)
        made.append(dest)
    result = Prepared(made)
    if execute:
        import papermill as pm

        backend = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = INLINE  # charts into the notebook, whatever the shell says
        try:
            for dest in made:
                try:
                    pm.execute_notebook(
                        str(dest),
                        str(dest),
                        kernel_name="python3",  # this interpreter's, registered or not
                        cwd=str(out),
                        progress_bar=False,
                        execution_timeout=timeout,
                        request_save_on_cell_execute=False,
                        extra_arguments=[
                            "--IPKernelApp.log_level=50"
                        ],  # no chatter (a failing cell is reported from the notebook itself)
                    )
                except Exception as err:  # papermill saved the notebook with its error
                    result.failures[dest.stem] = _failure(dest, err)
                _strip_run_metadata(dest)
        finally:
            if backend is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = backend
    return result
