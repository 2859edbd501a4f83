"""A generated 100k-line shop gives the same report from its exports (cold: nothing cached),
read whole or in row batches, and from the Parquet cache (warm)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.datasets import sample
from helpers.run import batch
from helpers.run.runner import run_shop

# what may differ between two runs of the same shop: timings and the run's own clock
_VOLATILE = re.compile(r"\d+(\.\d+)?\s*(s|秒|ms)\b|\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?")


def _pages(out: Path) -> dict[str, str]:
    return {p.name: _VOLATILE.sub("…", p.read_text("utf-8")) for p in sorted(out.glob("*.html"))}


@pytest.fixture(scope="module")
def shop_100k(tmp_path_factory) -> Path:
    tables = sample.generate(11, sample.SampleSize(n_customers=25_000))
    assert 95_000 <= len(tables["orders"]) <= 105_000
    d = tmp_path_factory.mktemp("cold-warm") / "shop"
    return sample.write_canonical_shop(tables, d, "冷热一致", salt="cold-warm")


def test_cold_streamed_and_warm_runs_give_the_same_report(shop_100k, tmp_path, monkeypatch):
    def run(name: str, cache: str, stream: bool) -> Path:
        monkeypatch.setenv("PLAYBOOK_CACHE", str(tmp_path / cache))
        monkeypatch.setenv("PLAYBOOK_STREAM_BYTES", "0" if stream else str(1 << 60))
        monkeypatch.setenv("PLAYBOOK_BATCH_ROWS", "30000")  # 4 batches and the straddlers
        out = tmp_path / name
        r = run_shop(shop_100k, out, progress=False)
        assert r.failures == {}, r.failures
        return out

    whole = run("whole", "cache-whole", stream=False)
    cold = run("cold", "cache-stream", stream=True)
    drawn = sorted((tmp_path / "cache-stream" / "charts").glob("*.png"))
    warm = run("warm", "cache-stream", stream=True)  # the cache the streamed run wrote
    # the warm run's charts came from the PNG cache (none drawn anew), the pages are the same
    assert len(drawn) > 20
    assert sorted((tmp_path / "cache-stream" / "charts").glob("*.png")) == drawn
    assert any((tmp_path / "cache-stream").rglob("meta.json"))
    assert len(list((cold / "artifacts").glob("*"))) > 10
    assert batch.artifact_differences(whole, cold) == []
    assert batch.artifact_differences(cold, warm) == []
    assert _pages(cold) == _pages(warm) == _pages(whole)
