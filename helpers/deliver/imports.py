"""Import-time savings for processes that read or write notebooks (the run and the report)."""

from __future__ import annotations

import sys

__all__ = ["light_imports"]


def light_imports() -> None:
    """Skip jsonschema's optional IRI checker (a 3 s grammar build on import) in this process.

    nbformat validates notebooks with jsonschema, which imports ``rfc3987_syntax`` when it is
    installed (it compiles a Lark grammar at import). Notebook validation never checks IRIs.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
