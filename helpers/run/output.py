"""Atomic output folders: a run writes into a private work folder and renames it into place
when complete, so a failed or killed run never leaves a half-written report.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

__all__ = ["commit"]


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
