"""Time the association rules (helpers.analysis.basket) on a million generated order lines.

    .venv/bin/python bench/bench_basket.py [--lines 1000000] [--repeat 3] [--orders FILE]

A child process generates a sample shop with helpers.datasets.sample (seeded) big enough to hold
``--lines`` order lines and writes exactly that many to a temporary Parquet file (or
``--orders`` names an existing orders Parquet file). This process then reads the orders, times
``association_rules`` over all of them ``--repeat`` times and prints the median, and the peak
resident memory of this process: the orders table plus the rule computation, without the
generator's memory.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is KB on Linux, B on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024**2 if sys.platform == "darwin" else rss / 1024


def _generate(lines: int, path: str) -> None:
    sys.path.insert(0, str(ROOT))
    from helpers.datasets import sample

    size = sample.SampleSize(n_customers=int(lines / 3.8), n_products=600)  # ~4 lines each
    orders = sample.generate(11, size)["orders"]
    if len(orders) < lines:
        raise SystemExit(f"generated only {len(orders):,} lines; raise n_customers")
    orders.iloc[:lines].to_parquet(path, index=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--orders", help="an orders Parquet file to use instead of generating")
    a = ap.parse_args()
    import pandas as pd

    from helpers.analysis import basket

    with tempfile.TemporaryDirectory() as tmp:
        path = a.orders
        if path is None:
            path = str(Path(tmp) / "orders.parquet")
            t0 = time.perf_counter()
            p = mp.get_context("spawn").Process(target=_generate, args=(a.lines, path))
            p.start()
            p.join()
            if p.exitcode:
                return p.exitcode
            print(f"generated in a child process in {time.perf_counter() - t0:.1f} s")
        orders = pd.read_parquet(path)
    print(
        f"{len(orders):,} order lines, {orders['order_id'].nunique():,} orders, "
        f"{orders['product_id'].nunique():,} products; RSS after loading: {peak_rss_mb():,.0f} MB"
    )
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        rules = basket.association_rules(orders, min_orders=5)
        times.append(time.perf_counter() - t)
    print(f"association_rules: {len(rules):,} rules (pairs bought together in >= 5 orders)")
    runs = ", ".join(f"{x:.2f}" for x in times)
    print(f"median of {a.repeat}: {statistics.median(times):.2f} s (runs: {runs})")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
