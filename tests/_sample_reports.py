"""The three sample shops' reports, run once per test session (slow: about a minute each).

Imported by tests/test_front_page.py and tests/test_excel.py; a module-level memo keeps one
run per session whichever module asks first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ["demo", "taobao", "shopify"]
_RUNS: dict[str, Path] = {}


@pytest.fixture(scope="session")
def sample_reports(tmp_path_factory) -> dict[str, Path]:
    from helpers.run import runner

    for name in SAMPLES:
        if name not in _RUNS:
            out = tmp_path_factory.getbasetemp() / "sample-reports" / name
            runner.run_shop(ROOT / "data" / "sample" / name, out, progress=False)
            _RUNS[name] = out
    return dict(_RUNS)
