"""The message catalogue: every user-facing word, zh and en, read from
``data_files/messages/*.yaml`` (one file per notebook, plus shared ones).

Core, so that definitions (the metric layer's names and definitions) can carry their words;
formatting and showing them is :mod:`helpers.present.narrative`'s.
"""

from __future__ import annotations

from functools import cache

from helpers.data_files import DATA_DIR, read_yaml

__all__ = ["MESSAGES_DIR", "catalogue", "label", "labels"]

MESSAGES_DIR = DATA_DIR / "messages"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """All messages, from every file in the messages folder."""
    out: dict[str, dict[str, str]] = {}
    for f in sorted(MESSAGES_DIR.glob("*.yaml")):
        for key, value in (read_yaml(f) or {}).items():
            if key in out and out[key] != value:
                raise KeyError(f"message '{key}' defined twice ({f.name})")
            out[key] = value
    return out


def label(key: str, lang: str = "zh") -> str:
    """A short label (column, axis, legend) in the report language; the key if unknown."""
    entry = catalogue().get(key)
    return (entry.get(lang) or entry.get("en") or key) if entry else key


def labels(keys, lang: str = "zh") -> dict[str, str]:
    """Map of keys to labels, e.g. for renaming a table's columns for display."""
    return {k: label(k, lang) for k in keys}
