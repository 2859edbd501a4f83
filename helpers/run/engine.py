"""The papermill engine that runs a notebook on a handed-in kernel, its wall-clock watchdog,
and a failed notebook's one-sentence reason.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from helpers.run.kernels import _kernel_pid, stop
from helpers.run.notebooks import read_notebook

__all__: list[str] = []  # the run layer's own machinery (runner and prepare use it)

_ENGINE = "playbook"


def _engine() -> str:
    """papermill's nbclient engine, except that a kernel handed in (``km=``) is shut down,
    immediately, with its client's channels when the notebook is done (nbclient leaves
    both open for a kernel it did not start)."""
    from jupyter_core.utils import ensure_async, run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    if _ENGINE in papermill_engines._engines:
        return _ENGINE

    class Client(PapermillNotebookClient):
        async def _async_cleanup_kernel(self) -> None:
            """The kernel killed and reaped at once (:func:`~helpers.run.kernels.stop`;
            nbclient's ``shutdown_kernel`` interrupts it, then polls for its exit every
            100 ms), then the client's channels closed."""
            try:
                await stop(self.km)
            finally:
                if self.kc is not None:
                    await ensure_async(self.kc.stop_channels())
                    self.kc = None
                    self.km = None

        _cleanup_kernel = run_sync(_async_cleanup_kernel)

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
            client = Client(
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
