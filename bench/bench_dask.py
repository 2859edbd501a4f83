"""The batch on the local pool against a warm Dask cluster, on the three sample shops.

    .venv/bin/python bench/bench_dask.py            # prints the figures (one run each)

Variants, each timed as the wall time of ``run_batch(..., force=True)`` over
``data/sample/{demo,shopify,taobao}`` with the Parquet cache already filled (the shops are
parsed once before timing):

* ``local``: the local pool, 2 worker processes (started by the batch, as in ``playbook
  batch --workers 2``);
* ``dask-preload``: a ``LocalCluster`` of 2 worker processes × 1 thread started with
  ``--preload helpers.run.dask_setup`` and left to finish warming before the batch is timed
  (what README's cluster commands give);
* ``dask-plugin``: a fresh ``LocalCluster`` without the preload: the batch registers the
  warm-up plugin when it connects, so the workers warm while the first shops queue.

Outputs go to ``bench/out/dask/`` (git-ignored).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "dask"
SHOPS = [ROOT / "data" / "sample" / s for s in ("demo", "shopify", "taobao")]


def timed(label: str, **kw) -> float:
    from helpers.run import batch

    t = time.perf_counter()
    res = batch.run_batch(SHOPS, OUT / label, force=True, progress=False, **kw)
    s = time.perf_counter() - t
    print(f"{label:14} {s:7.1f} s  {res.counts()}", flush=True)
    assert res.ok, res.summary()
    return s


def cluster(preload: bool):
    import distributed

    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        preload=["helpers.run.dask_setup"] if preload else [],
        env={k: os.environ[k] for k in ("PLAYBOOK_CACHE", "PYTHONPATH") if k in os.environ},
    )


def main() -> None:
    import distributed

    from helpers.load.shop import load_shop

    for s in SHOPS:  # the cache: every variant reads parsed shops
        load_shop(s)
    fig = {"local": timed("local", workers=2)}
    with cluster(preload=True) as c, distributed.Client(c) as client:
        # a task queues behind the warm-up on each worker's one thread: done when it returns
        addrs = list(client.scheduler_info()["workers"])
        client.gather([client.submit(int, 1, workers=[a], pure=False) for a in addrs])
        fig["dask-preload"] = timed("dask-preload", scheduler=client)
    with cluster(preload=False) as c, distributed.Client(c) as client:
        fig["dask-plugin"] = timed("dask-plugin", scheduler=client)
    for k in ("dask-preload", "dask-plugin"):
        print(f"{k} / local = {fig[k] / fig['local']:.2f}")


if __name__ == "__main__":
    main()
