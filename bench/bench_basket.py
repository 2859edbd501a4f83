"""Time the association rules (helpers.basket) on about a million generated order lines.

    .venv/bin/python bench/bench_basket.py [--lines 1000000] [--repeat 3]

Generates a sample shop with helpers.sample (seeded) big enough to hold ``--lines`` order
lines (trimmed to exactly that many), then times ``association_rules`` over all of them and
prints the median of ``--repeat`` runs and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import basket, sample  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is KB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 1024**2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    t0 = time.perf_counter()
    customers = int(a.lines / 3.8)  # the sample shop makes ~4 lines per customer
    size = sample.SampleSize(n_customers=customers, n_products=600)
    orders = sample.generate(11, size)["orders"]
    orders = orders.iloc[: a.lines]
    gen = time.perf_counter() - t0
    print(
        f"generated {len(orders):,} order lines, {orders['order_id'].nunique():,} orders, "
        f"{orders['product_id'].nunique():,} products in {gen:.1f} s"
    )
    rss_before = peak_rss_mb()
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        rules = basket.association_rules(orders, min_orders=5)
        times.append(time.perf_counter() - t)
    print(f"association_rules: {len(rules):,} rules (pairs in >= 5 orders)")
    print(
        f"median of {a.repeat}: {statistics.median(times):.2f} s "
        f"(runs: {', '.join(f'{x:.2f}' for x in times)})"
    )
    print(f"peak RSS: {peak_rss_mb():,.0f} MB (after generating the data: {rss_before:,.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
