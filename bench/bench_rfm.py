"""RFM in both schemes: helpers.analysis.customers against a straightforward pandas groupby/apply.

Builds a sample shop of about 1M order lines (``helpers.datasets.sample``, cached in ``bench/out``),
runs both implementations from raw order lines to the 8 classes and the 10 segments, checks
that every customer gets identical R/F/M values and identical classes in both schemes, and
reports the median of ``--repeats`` wall times and their ratio. A second baseline, idiomatic
vectorised pandas (groupby.agg, no apply), shows what is left once apply is gone.

    .venv/bin/python bench/bench_rfm.py [--customers 250000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.analysis import customers as C  # noqa: E402
from helpers.datasets import sample  # noqa: E402

OUT = ROOT / "bench" / "out"
AS_OF = pd.Timestamp("2025-12-31")


def ours(orders: pd.DataFrame) -> pd.DataFrame:
    """helpers.analysis.customers: purchase orders -> RFM table -> both schemes."""
    rfm = C.rfm_table(C.customer_orders(orders, AS_OF), AS_OF)
    classes, _ = C.classify_rfm8(rfm)
    scores = C.score_rf(rfm)
    return rfm[["recency_days", "frequency", "monetary"]].join(classes[["rfm8"]]).join(scores)


RFM8_NAMES = {
    (bool(r.r_high), bool(r.f_high), bool(r.m_high)): r.rfm8 for r in C.RFM8_RULES.itertuples()
}
GRID = {(r, f): C.RF_GRID.loc[r, f] for r in range(1, 6) for f in range(1, 6)}


def plain(orders: pd.DataFrame) -> pd.DataFrame:
    """The straightforward way: groupby/apply per customer, row-wise apply for the classes."""
    lines = orders[orders["status"].isin(["paid", "partially_refunded", "refunded"])]
    lines = lines[
        lines["customer_id"].notna() & (lines["order_time"] < AS_OF + pd.Timedelta(days=1))
    ]
    lines = lines.assign(net=lines["paid_amount"] - lines["refund_amount"])
    per_order = lines.groupby("order_id").agg(
        customer_id=("customer_id", "first"), t=("order_time", "min"), net=("net", "sum")
    )
    per_order = per_order[per_order["net"] > 0.005]

    def one(g: pd.DataFrame) -> pd.Series:
        return pd.Series(
            {
                "recency_days": (AS_OF - g["t"].max().normalize()).days,
                "frequency": len(g),
                "monetary": round(g["net"].sum(), 2),
            }
        )

    rfm = per_order.groupby("customer_id").apply(one)
    rfm[["recency_days", "frequency"]] = rfm[["recency_days", "frequency"]].astype(int)
    thr = rfm.mean()
    rfm["rfm8"] = rfm.apply(
        lambda r: RFM8_NAMES[
            (
                r["recency_days"] <= thr["recency_days"],
                r["frequency"] >= thr["frequency"],
                r["monetary"] >= thr["monetary"],
            )
        ],
        axis=1,
    )
    n = len(rfm)
    r_rank = rfm["recency_days"].rank(method="min", ascending=False)
    rfm["r_score"] = ((r_rank - 1) * 5 // n + 1).astype(int)
    rfm["f_score"] = ((rfm["frequency"].rank(method="min") - 1) * 5 // n + 1).astype(int)
    rfm["m_score"] = ((rfm["monetary"].rank(method="min") - 1) * 5 // n + 1).astype(int)
    rfm["segment"] = rfm.apply(lambda r: GRID[(r["r_score"], r["f_score"])], axis=1)
    return rfm


def idiomatic(orders: pd.DataFrame) -> pd.DataFrame:
    """A second baseline: idiomatic vectorised pandas (groupby.agg, rank, map), no apply."""
    lines = orders[orders["status"].isin(["paid", "partially_refunded", "refunded"])]
    lines = lines[
        lines["customer_id"].notna() & (lines["order_time"] < AS_OF + pd.Timedelta(days=1))
    ]
    lines = lines.assign(net=lines["paid_amount"] - lines["refund_amount"])
    per_order = lines.groupby("order_id").agg(
        customer_id=("customer_id", "first"), t=("order_time", "max"), net=("net", "sum")
    )
    per_order = per_order[per_order["net"] > 0.005]
    rfm = per_order.groupby("customer_id").agg(
        last=("t", "max"), frequency=("net", "size"), monetary=("net", "sum")
    )
    rfm["monetary"] = rfm["monetary"].round(2)
    rfm["recency_days"] = (AS_OF - rfm.pop("last").dt.normalize()).dt.days
    thr = rfm.mean()
    key = pd.MultiIndex.from_arrays(
        [
            rfm["recency_days"] <= thr["recency_days"],
            rfm["frequency"] >= thr["frequency"],
            rfm["monetary"] >= thr["monetary"],
        ]
    )
    rfm["rfm8"] = pd.Series(RFM8_NAMES).reindex(key).to_numpy()
    n = len(rfm)
    r_rank = rfm["recency_days"].rank(method="min", ascending=False)
    rfm["r_score"] = ((r_rank - 1) * 5 // n + 1).astype(int)
    rfm["f_score"] = ((rfm["frequency"].rank(method="min") - 1) * 5 // n + 1).astype(int)
    rfm["m_score"] = ((rfm["monetary"].rank(method="min") - 1) * 5 // n + 1).astype(int)
    cell = pd.MultiIndex.from_arrays([rfm["r_score"], rfm["f_score"]])
    rfm["segment"] = pd.Series(GRID).reindex(cell).to_numpy()
    return rfm


def load_orders(n_customers: int, seed: int) -> pd.DataFrame:
    OUT.mkdir(parents=True, exist_ok=True)
    f = OUT / f"orders_{n_customers}_{seed}.parquet"
    if f.exists():
        return pd.read_parquet(f)
    print(f"generating a sample shop with {n_customers:,} customers …", flush=True)
    size = sample.SampleSize(n_customers=n_customers)
    orders = sample.generate(seed, size)["orders"]
    orders.to_parquet(f)
    return orders


def timed(fn, orders, repeats: int) -> tuple[float, list[float], pd.DataFrame]:
    times, res = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn(orders)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=250_000, help="≈ 4 order lines each")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    orders = load_orders(a.customers, a.seed)
    t_ours, all_ours, r_ours = timed(ours, orders, a.repeats)
    t_idiom, all_idiom, r_idiom = timed(idiomatic, orders, a.repeats)
    t_plain, all_plain, r_plain = timed(plain, orders, a.repeats)

    for other in (r_plain, r_idiom):
        assert r_ours.index.tolist() == other.index.tolist(), "different customers"
        for col in ("recency_days", "frequency", "r_score", "f_score", "m_score", "rfm8"):
            assert (r_ours[col].to_numpy() == other[col].to_numpy()).all(), f"{col} differs"
        assert (r_ours["segment"].to_numpy() == other["segment"].to_numpy()).all()
        np.testing.assert_allclose(r_ours["monetary"], other["monetary"], rtol=1e-12)

    result = {
        "order_lines": len(orders),
        "customers": len(r_ours),
        "repeats": a.repeats,
        "ours_median_s": round(t_ours, 3),
        "plain_median_s": round(t_plain, 3),
        "idiomatic_median_s": round(t_idiom, 3),
        "idiomatic_s": [round(t, 3) for t in all_idiom],
        "speedup_vs_idiomatic": round(t_idiom / t_ours, 1),
        "ours_s": [round(t, 3) for t in all_ours],
        "plain_s": [round(t, 3) for t in all_plain],
        "speedup": round(t_plain / t_ours, 1),
        "identical_classes": True,
        "rfm8_counts": r_ours["rfm8"].value_counts().reindex(C.RFM8_ORDER).tolist(),
        "segment_counts": r_ours["segment"].value_counts().reindex(C.SEGMENT_ORDER).tolist(),
    }
    print(
        f"RFM, both schemes, {result['order_lines']:,} order lines, {result['customers']:,} "
        f"customers (median of {a.repeats}):\n"
        f"  helpers.analysis.customers        {t_ours:8.2f} s\n"
        f"  pandas groupby/apply     {t_plain:8.2f} s   ratio {t_plain / t_ours:6.1f}x\n"
        f"  pandas groupby.agg       {t_idiom:8.2f} s   ratio {t_idiom / t_ours:6.1f}x\n"
        "  classes identical in both schemes: yes"
    )
    (OUT / "bench_rfm.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
