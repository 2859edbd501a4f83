"""What every adapter returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["REJECT_COLUMNS", "FileCount", "Loaded", "rejects_frame"]

REJECT_COLUMNS = ["table", "file", "row", "column", "reason", "values"]


@dataclass
class FileCount:
    """Row accounting for one input file: ``read == kept + rejected`` always holds."""

    file: str
    table: str
    format: str
    read: int
    kept: int
    rejected: int


@dataclass
class Loaded:
    """A canonical table read from one or more files of one export format.

    ``table`` holds the canonical columns (see :mod:`helpers.core.schema`) plus ``_source_file``
    and ``_source_row`` (the 1-based line of the data row in its file, header = line 1).
    ``rejects`` has :data:`REJECT_COLUMNS`; ``values`` is the offending row as text with
    personal data already removed.
    """

    table: pd.DataFrame
    rejects: pd.DataFrame
    counts: list[FileCount]
    format: str
    notes: list[str] = field(default_factory=list)


def rejects_frame(rows: list[dict] | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows or [], columns=REJECT_COLUMNS)
