"""``playbook lab``: a shop's prepared notebooks in this environment's JupyterLab.

The work folder (``work/<shop>`` by default) is prepared by :func:`helpers.run.runner.prepare_shop`
when it holds no notebooks yet (a consultant's saved work is never overwritten unless asked);
JupyterLab then starts on 127.0.0.1 with a fresh token, rooted in the work folder and opening
its first notebook. The notebooks name the ``ecommerce-playbook`` kernel, which
:func:`ensure_kernel` registers for this interpreter when it is missing (``scripts/setup.sh``
does the same), so any Jupyter on the machine runs them with the project's packages.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from helpers.run.prepare import KERNEL_DISPLAY, KERNEL_NAME

__all__ = ["ensure_kernel", "free_port", "lab_command", "lab_url", "has_notebooks", "start_lab"]


def ensure_kernel() -> str:
    """Register the named kernel for this interpreter (user-level) unless it is there;
    returns the folder of its kernel spec."""
    from jupyter_client.kernelspec import KernelSpecManager

    found = KernelSpecManager().find_kernel_specs()
    if KERNEL_NAME in found:
        return found[KERNEL_NAME]
    from ipykernel.kernelspec import install

    return install(user=True, kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY)


def free_port(start: int = 8888, tries: int = 50) -> int:
    """The first port from ``start`` nothing listens on at 127.0.0.1."""
    for port in range(start, start + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {start}..{start + tries - 1}")


def lab_command(work: Path, first: str, port: int, token: str, browser: bool = True) -> list[str]:
    """The JupyterLab command line: this interpreter's JupyterLab, loopback only, a token,
    rooted in ``work``, opening ``first`` (a notebook name inside ``work``)."""
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={work}",
        f"--IdentityProvider.token={token}",
        f"--LabApp.default_url=/lab/tree/{first}",
        f"--ServerApp.open_browser={browser}",
        *(["--ServerApp.allow_root=True"] if _root() else []),  # a container's root user
    ]


def _root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_url(port: int, first: str, token: str) -> str:
    return f"http://127.0.0.1:{port}/lab/tree/{first}?token={token}"


def has_notebooks(work: Path) -> bool:
    return any(Path(work).glob("[0-9][0-9]_*.ipynb"))


def start_lab(cmd: list[str], work: Path) -> subprocess.Popen:
    from helpers.present import png_cache

    png_cache.prune()  # the charts a session adds are kept within bounds as a run's are
    return subprocess.Popen(cmd, cwd=str(work))
