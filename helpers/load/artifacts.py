"""What notebooks hand each other: tables as Parquet, small results as JSON.

Everything saved lives in ``<out_dir>/artifacts/``; ``index.json`` there lists the tables in
the order saved, with their sheet titles, so the report's Excel workbook can collect them.
Notebooks that run side by side update the index under a file lock; the workbook's sheet
order then comes from the notebooks' code (``order``), not from which finished first.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pandas as pd

__all__ = [
    "SAFE",
    "save",
    "FACTS",
    "load_facts",
    "add_fact",
    "clear_facts",
    "load",
    "sheets",
    "sheet_entries",
    "WAITS",
    "expect",
    "mark_done",
    "wait_for",
]

SAFE = re.compile(r"^[A-Za-z0-9_]+$")


def _dir(out_dir) -> Path:
    d = Path(out_dir) / "artifacts"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _check(name: str) -> str:
    if not isinstance(name, str) or not SAFE.fullmatch(name):
        raise ValueError(f"artifact name must be letters, digits and _ only: {name!r}")
    return name


def _index(d: Path) -> dict:
    f = d / "index.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}


def save(out_dir, name: str, obj, sheet: str | None = None) -> Path:
    """Save a DataFrame (Parquet) or a dict (JSON). ``sheet`` puts the table in the Excel report."""
    d = _dir(out_dir)
    name = _check(name)
    if isinstance(obj, pd.DataFrame):
        path = d / f"{name}.parquet"
        df = obj.copy()
        df.columns = [str(c) for c in df.columns]
        df.to_parquet(path, index=not isinstance(df.index, pd.RangeIndex))
    else:
        path = d / f"{name}.json"
        path.write_text(
            json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
    with _locked(d):
        idx = _index(d)
        idx[name] = {"file": path.name, "sheet": sheet}
        tmp = d / f".index.{name}.tmp"
        tmp.write_text(json.dumps(idx, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(d / "index.json")  # readers never see half an index
    waits = Path(out_dir) / WAITS
    if waits.is_dir():  # a run with early starts: a notebook may be waiting for this name
        (waits / f"{name}.saved").touch()
    return path


@contextlib.contextmanager
def _locked(d: Path):
    """An exclusive lock on the artifacts folder's index (a no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: notebooks of one shop run one at a time there
        yield
        return
    with open(d / ".index.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- facts: the figures pages state (helpers.core.metrics) ----------------------------------------

FACTS = "facts.json"


def _write_facts(d: Path, facts: list[dict]) -> None:
    """Write the facts grouped by page (each page's in the order stated), so the file is the
    same whichever notebook finished first."""
    facts = sorted(facts, key=lambda f: str(f.get("page", "")))  # stable: order within a page
    tmp = d / ".facts.tmp"
    tmp.write_text(json.dumps(facts, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(d / FACTS)


def load_facts(out_dir) -> list[dict]:
    """Every figure the report's pages stated (``metric, period, segment, value, page``)."""
    f = Path(out_dir) / "artifacts" / FACTS
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else []


def add_fact(out_dir, fact: dict) -> None:
    """Record one stated figure (pages running side by side append under the lock); the same
    record stated twice on a page is kept once."""
    d = _dir(out_dir)
    with _locked(d):
        facts = load_facts(out_dir)
        if fact not in facts:
            facts.append(fact)
            _write_facts(d, facts)


def clear_facts(out_dir, page: str) -> None:
    """Forget what ``page`` stated before (it is being run again)."""
    d = _dir(out_dir)
    with _locked(d):
        facts = load_facts(out_dir)
        keep = [f for f in facts if f.get("page") != page]
        if len(keep) != len(facts) or not (d / FACTS).exists():
            _write_facts(d, keep)


def load(out_dir, name: str):
    """The saved DataFrame or dict, or None when absent (the caller then recomputes)."""
    d = Path(out_dir) / "artifacts"
    name = _check(name)
    if (d / f"{name}.parquet").exists():
        return pd.read_parquet(d / f"{name}.parquet")
    if (d / f"{name}.json").exists():
        return json.loads((d / f"{name}.json").read_text(encoding="utf-8"))
    return None


# A run that starts a notebook before the notebooks it loads from are done says so here
# (helpers.run.runner): ``needs.json`` holds which notebooks each notebook loads from, the
# name patterns each saves and the names each saves once only; ``<stem>.done`` appears as a
# notebook ends (well or not), ``<name>.saved`` as a table is saved. Not part of a report.
WAITS = ".waits"


def expect(
    out_dir,
    needs: dict[str, list[str]],
    saves: dict[str, list[str]] | None = None,
    final: dict[str, list[str]] | None = None,
) -> None:
    """Record, for :func:`wait_for`, which notebooks each notebook of a run loads from
    (``needs``), the name patterns each saves (``saves``; absent: any name) and the names
    each saves at one place only (``final``: once saved, the table is what it loads)."""
    d = Path(out_dir) / WAITS
    d.mkdir(parents=True, exist_ok=True)
    spec = {"needs": needs, "saves": saves or {}, "final": final or {}}
    (d / "needs.json").write_text(json.dumps(spec), encoding="utf-8")


def mark_done(out_dir, stem: str) -> None:
    """Notebook ``stem`` has ended (saved all it will): those waiting for it go on."""
    d = Path(out_dir) / WAITS
    if d.is_dir():
        (d / f"{stem}.done").touch()


def wait_for(out_dir, page: str | None, name: str, poll: float = 0.02) -> None:
    """Return once ``name`` is what ``page`` should load, in a run that started ``page``
    early (:func:`expect`): each notebook ``page`` loads from that may save ``name`` has
    ended, or has saved it and saves it nowhere else. At once elsewhere (JupyterLab, a
    run without early starts)."""
    import re
    import time

    d = Path(out_dir) / WAITS
    f = d / "needs.json"
    if not page or not f.exists():
        return
    spec = json.loads(f.read_text(encoding="utf-8"))
    for stem in spec["needs"].get(page, []):
        pats = spec["saves"].get(stem, [".*"])
        if not any(re.fullmatch(p, name) for p in pats):
            continue  # it does not save this name
        once = name in spec["final"].get(stem, [])
        while not (d / f"{stem}.done").exists():
            if once and (d / f"{name}.saved").exists():
                break
            time.sleep(poll)


def sheet_entries(out_dir, order: list[str] | None = None) -> list[tuple[int, str, str, str]]:
    """(rank, name, sheet title, file) of every saved table marked for the Excel report, in
    the order :func:`sheets` gives them; ``rank`` is the index in ``order`` of the first
    pattern the name matches (``len(order)`` when none does)."""
    d = Path(out_dir) / "artifacts"
    pats = [re.compile(p) for p in order or []]

    def rank(name: str) -> int:
        return next((i for i, p in enumerate(pats) if p.fullmatch(name)), len(pats))

    idx = _index(d) if d.exists() else {}
    out = []
    for name in sorted(idx, key=rank):  # sorted() is stable
        meta = idx[name]
        if meta.get("sheet") and meta["file"].endswith(".parquet"):
            out.append((rank(name), name, meta["sheet"], meta["file"]))
    return out


def sheets(out_dir, order: list[str] | None = None) -> list[tuple[str, pd.DataFrame]]:
    """(sheet title, table) for every saved table marked for the Excel report.

    ``order`` lists name patterns (regular expressions, e.g. ``drilldown_.*`` for a name
    built in a loop) in the order the notebooks' code saves them; a table is placed by the
    first pattern it matches, tables matching none come last, ties keep the index order.
    """
    d = Path(out_dir) / "artifacts"
    return [(sheet, pd.read_parquet(d / f)) for _, _, sheet, f in sheet_entries(out_dir, order)]
