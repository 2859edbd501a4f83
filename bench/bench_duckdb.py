"""Should the heavy aggregation move to DuckDB? The customer table three ways (issue #7).

The aggregation every customer analysis starts from — purchase lines → one row per order →
one row per customer (orders, net sales, first and last purchase day) — computed on the 1M
shop of ``bench_scale.py``:

* ``helpers``: :func:`helpers.analysis.customers.customer_orders` + :func:`~helpers.analysis.customers.rfm_table`
  (integer id codes, numpy), on the loaded ``Shop`` (what a notebook does);
* ``duckdb_frame``: the same in DuckDB SQL over the same in-memory DataFrame;
* ``duckdb_parquet``: the same SQL straight over the Parquet cache file (no pandas load at
  all; what "DuckDB over Parquet" would save a notebook that needs only this);
* ``helpers_shared``: the helpers as they run inside ``playbook run``, where the kernel
  server has already built the sales lines and id codes every notebook shares.

A second table does the same for net sales, orders, buyers and units per day
(:func:`helpers.core.codes.daily_sales`, shared codes, against DuckDB over the DataFrame).

Each variant runs ``--repeats`` times alternately in one process (median reported), the
results are checked equal (customers, orders, net to the cent, first and last day), and the
Markdown table goes to stdout::

    .venv/bin/python bench/bench_duckdb.py [--size 10M]  # needs bench/out/scale/shops/<size>
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "scale"

SQL = """
WITH s AS (
  SELECT customer_id, order_id, order_time, paid_amount - refund_amount AS net
  FROM {src}
  WHERE status IN ('paid', 'partially_refunded', 'refunded') AND customer_id IS NOT NULL
    AND order_time < TIMESTAMP '{end}'
), o AS (
  SELECT customer_id, order_id, min(order_time) AS t, sum(net) AS net
  FROM s GROUP BY customer_id, order_id HAVING sum(net) > 0.005
)
SELECT customer_id, count(*) AS frequency, round(sum(net), 2) AS monetary,
       min(t)::DATE AS first_day, max(t)::DATE AS last_day
FROM o GROUP BY customer_id ORDER BY customer_id
"""


def ours(shop) -> pd.DataFrame:
    from helpers.analysis import customers

    co = customers.customer_orders(shop.orders, shop.as_of)
    rfm = customers.rfm_table(co, shop.as_of)
    return pd.DataFrame(
        {
            "customer_id": rfm.index.to_numpy(),
            "frequency": rfm["frequency"].to_numpy(),
            "monetary": rfm["monetary"].to_numpy(),
            "first_day": rfm["first_purchase"].dt.normalize().to_numpy(),
            "last_day": rfm["last_purchase"].dt.normalize().to_numpy(),
        }
    )


def duck(con, src: str, end) -> pd.DataFrame:
    df = con.execute(SQL.format(src=src, end=end)).df()
    df["first_day"] = pd.to_datetime(df["first_day"])
    df["last_day"] = pd.to_datetime(df["last_day"])
    return df


DAILY_SQL = """
SELECT day, sum(net) AS net_sales, count(DISTINCT order_id) AS orders,
       count(DISTINCT customer_id) AS buyers, sum(quantity) AS units
FROM lines GROUP BY day ORDER BY day
"""


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    return (
        len(a) == len(b)
        and (
            a["customer_id"].astype(str).to_numpy() == b["customer_id"].astype(str).to_numpy()
        ).all()
        and (a["frequency"].to_numpy() == b["frequency"].to_numpy()).all()
        and np.allclose(a["monetary"].to_numpy(float), b["monetary"].to_numpy(float), atol=0.011)
        and (
            a["first_day"].to_numpy("datetime64[D]") == b["first_day"].to_numpy("datetime64[D]")
        ).all()
        and (
            a["last_day"].to_numpy("datetime64[D]") == b["last_day"].to_numpy("datetime64[D]")
        ).all()
    )


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1M")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    os.environ.setdefault("PLAYBOOK_CACHE", str(OUT / "cache" / a.size))
    import duckdb

    from helpers.core import codes
    from helpers.load.shop import _cache_key, load_shop

    t0 = time.perf_counter()
    shop = load_shop(OUT / "shops" / a.size)
    load_s = time.perf_counter() - t0
    key, _ = _cache_key(shop.config)
    parquet = Path(os.environ["PLAYBOOK_CACHE"]) / key / "orders.parquet"
    end = (shop.as_of.normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    orders = shop.orders
    con.register("orders_frame", orders)
    runs: dict[str, list[float]] = {
        "helpers": [],
        "duckdb_frame": [],
        "duckdb_parquet": [],
        "helpers_shared": [],
    }
    results = {}
    for _ in range(a.repeats):
        for name, fn in (
            ("helpers", lambda: ours(shop)),
            ("duckdb_frame", lambda: duck(con, "orders_frame", end)),
            ("duckdb_parquet", lambda: duck(con, f"read_parquet('{parquet}')", end)),
        ):
            codes.clear_caches()  # every run pays for its own sales lines and id codes
            t = time.perf_counter()
            results[name] = fn()
            runs[name].append(time.perf_counter() - t)
        lines = codes.sales_lines(orders)  # as the kernel server builds them for a run
        codes.line_codes(lines)
        codes.line_codes(lines, "order_id")
        t = time.perf_counter()
        results["helpers_shared"] = ours(shop)
        runs["helpers_shared"].append(time.perf_counter() - t)
    con.register("lines", lines)
    daily_runs: dict[str, list[float]] = {"helpers_shared": [], "duckdb_frame": []}
    for _ in range(a.repeats):
        t = time.perf_counter()
        d_ours = codes.daily_sales(orders)
        daily_runs["helpers_shared"].append(time.perf_counter() - t)
        t = time.perf_counter()
        d_duck = con.execute(DAILY_SQL).df()
        daily_runs["duckdb_frame"].append(time.perf_counter() - t)
    d_ours = d_ours[d_ours["orders"] > 0].reset_index(drop=True)
    daily_equal = {
        "counts": bool(
            len(d_ours) == len(d_duck)
            and all(
                (d_ours[c].to_numpy() == d_duck[c].to_numpy()).all()
                for c in ("orders", "buyers", "units")
            )
        ),
        "net_max_abs_diff": float(
            np.abs(d_ours["net_sales"].to_numpy() - d_duck["net_sales"].to_numpy()).max()
        ),
    }
    med = {k: statistics.median(v) for k, v in runs.items()}
    out = {
        "size": a.size,
        "order_lines": len(orders),
        "customers": len(results["helpers"]),
        "load_shop_s": round(load_s, 2),
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items()},
        "equal": {
            k: bool(same(results["helpers"], v)) for k, v in results.items() if k != "helpers"
        },
        "daily_median_s": {k: round(statistics.median(v), 3) for k, v in daily_runs.items()},
        "daily_equal": daily_equal,
    }
    print(json.dumps(out, indent=1))
    print()
    print("| variant | median s | vs helpers |")
    print("|---|---:|---:|")
    for k, v in med.items():
        print(f"| {k} | {v:.2f} | {v / med['helpers']:.2f}× |")
    print()
    dm = out["daily_median_s"]
    print("| daily sales | median s |")
    print("|---|---:|")
    for k, v in dm.items():
        print(f"| {k} | {v:.2f} |")
    print(
        f"\ncounts equal: {daily_equal['counts']}, net max abs diff {daily_equal['net_max_abs_diff']:.2g}"
    )
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "bench_duckdb.json").write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
