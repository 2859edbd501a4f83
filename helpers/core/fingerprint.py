"""Fingerprints of files: what a result depends on, as one hash.

:func:`helpers_fingerprint` (the package's version and sources) keys both a batch's
skipping of unchanged shops (:mod:`helpers.run.batch`) and the charts' PNG cache
(:mod:`helpers.present.png_cache`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["HELPERS_DIR", "files", "hash_files", "helpers_fingerprint"]

HELPERS_DIR = Path(__file__).resolve().parent.parent


def files(root: Path, pattern: str = "*") -> list[Path]:
    """The files below ``root`` that count: not hidden, not Python's caches; sorted."""
    return [
        f
        for f in sorted(root.rglob(pattern))
        if f.is_file()
        and not any(p.startswith(".") or p == "__pycache__" for p in f.relative_to(root).parts)
    ]


def hash_files(h, root: Path, pattern: str = "*") -> None:
    """Feed each file's path, size and content to the hash ``h``."""
    for f in files(root, pattern):
        h.update(f"{f.relative_to(root).as_posix()}|{f.stat().st_size}|".encode())
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
    hash_files(h, HELPERS_DIR, "*.py")
    hash_files(h, HELPERS_DIR / "data_files")
    return h.hexdigest()
