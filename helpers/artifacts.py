"""What notebooks hand each other: tables as Parquet, small results as JSON.

Everything saved lives in ``<out_dir>/artifacts/``; ``index.json`` there lists the tables in
the order saved, with their sheet titles, so the report's Excel workbook can collect them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

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
    idx = _index(d)
    idx[name] = {"file": path.name, "sheet": sheet}
    (d / "index.json").write_text(json.dumps(idx, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def load(out_dir, name: str):
    """The saved DataFrame or dict, or None when absent (the caller then recomputes)."""
    d = Path(out_dir) / "artifacts"
    name = _check(name)
    if (d / f"{name}.parquet").exists():
        return pd.read_parquet(d / f"{name}.parquet")
    if (d / f"{name}.json").exists():
        return json.loads((d / f"{name}.json").read_text(encoding="utf-8"))
    return None


def sheets(out_dir) -> list[tuple[str, pd.DataFrame]]:
    """(sheet title, table) for every saved table marked for the Excel report."""
    d = Path(out_dir) / "artifacts"
    out = []
    for meta in (_index(d) if d.exists() else {}).values():
        if meta.get("sheet") and meta["file"].endswith(".parquet"):
            out.append((meta["sheet"], pd.read_parquet(d / meta["file"])))
    return out
