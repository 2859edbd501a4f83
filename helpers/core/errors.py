"""Errors a user sees: one line naming the file, the column and the rows."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["rows_text", "LoadError", "ConfigError"]


def rows_text(rows: Iterable[int], limit: int = 5) -> str:
    """``rows 3, 7, 12 (+4 more)`` from 1-based file line numbers."""
    rows = list(rows)
    head = ", ".join(str(r) for r in rows[:limit])
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return f"row{'s' if len(rows) != 1 else ''} {head}{more}"


class LoadError(ValueError):
    """Input that cannot be loaded. ``str(err)`` is the one line shown to the user."""

    def __init__(
        self,
        file: str,
        message: str,
        column: str | None = None,
        rows: Iterable[int] | None = None,
    ):
        self.file, self.column, self.message = str(file), column, message
        self.rows = list(rows) if rows is not None else []
        parts = [self.file]
        if column:
            parts.append(f"column '{column}'")
        if self.rows:
            parts.append(rows_text(self.rows))
        super().__init__(": ".join(parts) + ": " + message)

    def __reduce__(self):  # the same error out of a child process (load.shop.fill_cache)
        return (type(self), (self.file, self.message, self.column, self.rows))


class ConfigError(LoadError):
    """A shop.yaml that is wrong (bad type, unknown key)."""
