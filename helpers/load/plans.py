"""Plans a shop keeps between runs: saved daily targets and the what-if assumptions.

* ``plans/`` in the shop folder holds the daily targets a fiscal year was given, so a later
  review (06) grades the year against what was actually set. One file per year:
  ``plans/targets_daily_<fy>.parquet`` (an earlier run's ``artifacts/targets_daily.parquet``,
  copied) or ``plans/targets_<fy>.csv`` with at least ``date`` and ``target_sales`` (one row
  per day; other columns ignored); else an earlier run's whole report folder copied into
  ``plans/`` (``plans/<any>/artifacts/targets_daily.parquet``) whose 02 set that year.
* ``shop.yaml``'s ``assumptions:`` takes the values set with 02's sliders
  (:func:`save_assumptions`), so the next run and the batch use them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from helpers.core import calendar as cal
from helpers.core.errors import ConfigError, LoadError

__all__ = ["load_saved_plan", "save_assumptions"]


def load_saved_plan(shop_dir, fy: int, start_month: int) -> pd.DataFrame | None:
    """The saved daily targets of fiscal year ``fy`` from ``<shop>/plans/`` (None: none).

    Returns the ``targets_daily`` shape (``date``, ``fy``, ``half``, ``quarter``, ``month``,
    ``week``, ``target_sales``) over the year's days; days the file does not hold get 0.

    Raises
    ------
    LoadError
        The file lacks ``date`` or ``target_sales``, holds unreadable values (file, column
        and rows named), or no day of fiscal year ``fy``.
    """
    d = Path(shop_dir) / "plans"
    pq, csv = d / f"targets_daily_{fy}.parquet", d / f"targets_{fy}.csv"
    if pq.exists():
        raw, file = pd.read_parquet(pq), pq
    elif csv.exists():
        raw, file = pd.read_csv(csv, encoding="utf-8-sig"), csv
    else:
        for f in sorted(d.glob("*/artifacts/targets_daily.parquet")):  # an earlier report
            t = pd.read_parquet(f)
            if "fy" in t and (t["fy"] == fy).any():
                raw, file = t[t["fy"] == fy], f
                break
        else:
            return None
    for col in ("date", "target_sales"):
        if col not in raw:
            raise LoadError(file, "a saved plan needs date and target_sales", column=col)
    date = pd.to_datetime(raw["date"], errors="coerce")
    sales = pd.to_numeric(raw["target_sales"], errors="coerce")
    for col, v in (("date", date), ("target_sales", sales)):
        bad = v.isna().to_numpy().nonzero()[0]
        if len(bad):
            raise LoadError(file, "not a date/number", column=col, rows=(bad + 2).tolist())
    days = cal.fiscal_days(fy, start_month)
    per_day = sales.groupby(date.dt.normalize()).sum()
    inside = per_day.index.isin(days["date"])
    if not inside.any():
        raise LoadError(file, f"no day of FY{fy} in the saved plan", column="date")
    out = days[["date", "fy", "half", "quarter", "month", "week"]].copy()
    out["target_sales"] = per_day.reindex(out["date"]).fillna(0.0).to_numpy()
    return out.reset_index(drop=True)


def save_assumptions(shop_dir, values: dict) -> Path:
    """Write ``values`` into ``shop.yaml``'s ``assumptions:`` (other keys kept; comments are
    not). Returns the file written."""
    file = Path(shop_dir) / "shop.yaml"
    raw = {}
    if file.exists():
        raw = yaml.safe_load(file.read_text(encoding="utf-8-sig")) or {}
        if not isinstance(raw, dict):
            raise ConfigError(file, "must be a mapping of keys to values")
    raw.setdefault("assumptions", {})
    raw["assumptions"] = {**(raw["assumptions"] or {}), **values}
    file.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return file
