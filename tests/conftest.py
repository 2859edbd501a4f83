"""Shared fixtures: a small generated shop (session-scoped) and a private cache dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def small_tables():
    from helpers.datasets import sample

    return sample.generate(3, sample.SampleSize(n_customers=600, n_products=40))


@pytest.fixture(scope="session")
def small_shop_dir(small_tables, tmp_path_factory) -> Path:
    from helpers.datasets import sample

    d = tmp_path_factory.mktemp("shop") / "small"
    return sample.write_canonical_shop(small_tables, d, "测试小店", salt="test-salt")
