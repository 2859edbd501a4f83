"""Benchmark helpers.analysis.clv against lifetimes 0.11.3 on a seeded synthetic shop.

Times, as the median of ``--repeats`` runs, the pipeline the notebook runs:

* ours: ``customer_summary`` on the raw order lines + ``fit_bgnbd`` + ``fit_gamma_gamma``;
* lifetimes: the same status/customer filter and net value in pandas,
  ``summary_data_from_transaction_data`` + ``BetaGeoFitter`` + ``GammaGammaFitter``
  (both with ``penalizer_coef=0``, so both compute the plain MLE).

Prints the times, the ratio, and the largest absolute differences of the summaries and of
the fitted parameters. Default size: 200k customers, about 1M order lines::

    .venv/bin/python bench/bench_clv.py                # full size (lifetimes takes minutes)
    .venv/bin/python bench/bench_clv.py --n 20000      # quick check
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.analysis import clv as C  # noqa: E402

# alpha per day; about 5 purchase lines per customer over two years, plus ~8% noise lines
BG_TRUE = {"r": 0.9, "alpha": 55.0, "a": 0.6, "b": 4.0}
GG_TRUE = {"p": 6.0, "q": 3.8, "v": 60.0}
START, END, AS_OF = "2023-01-01", "2025-01-01", "2024-12-31"


def run_ours(orders: pd.DataFrame, unit: str) -> tuple[pd.DataFrame, dict, dict]:
    """Summary and both fits with helpers.analysis.clv."""
    summary = C.customer_summary(orders, AS_OF, unit)
    return summary, C.fit_bgnbd(summary), C.fit_gamma_gamma(summary)


def run_lifetimes(orders: pd.DataFrame, unit: str) -> tuple[pd.DataFrame, dict, dict]:
    """The same with lifetimes (the purchase filter and net value are part of the job)."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    keep = orders["status"].isin(C.PURCHASE_STATUSES) & orders["customer_id"].notna()
    tx = orders.loc[keep, ["customer_id", "order_time"]].copy()
    tx["value"] = orders.loc[keep, "paid_amount"] - orders.loc[keep, "refund_amount"]
    summary = summary_data_from_transaction_data(
        tx, "customer_id", "order_time", "value", observation_period_end=AS_OF, freq=unit
    )
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(summary["frequency"], summary["recency"], summary["T"])
    rep = summary[summary["frequency"] > 0]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(rep["frequency"], rep["monetary_value"])
    bg = {k: float(bgf.params_[k]) for k in C.BGNBD_KEYS}
    gg = {k: float(ggf.params_[k]) for k in C.GAMMA_GAMMA_KEYS}
    return summary, bg, gg


def timed(fn, repeats: int, *args):
    """Median wall time of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="customers (default 200000)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per side (median is shown)")
    ap.add_argument("--unit", choices=["D", "W"], default="D", help="model period")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--skip-lifetimes", action="store_true", help="time ours only")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    orders = C.simulate_orders(BG_TRUE, GG_TRUE, args.n, START, END, seed=args.seed)
    gen_s = time.perf_counter() - t0
    n_purchase = int(orders["status"].isin(C.PURCHASE_STATUSES).sum())
    print(
        f"data: {len(orders):,} order lines ({n_purchase:,} purchases), {args.n:,} customers, "
        f"unit {args.unit}, as_of {AS_OF}  [generated in {gen_s:.1f}s]"
    )

    ours_t, ours_runs, (s_ours, bg_ours, gg_ours) = timed(run_ours, args.repeats, orders, args.unit)
    out = {
        "n_customers": args.n,
        "n_lines": len(orders),
        "unit": args.unit,
        "ours_s": ours_t,
        "ours_runs_s": ours_runs,
        "bgnbd": bg_ours,
        "gamma_gamma": gg_ours,
    }
    # break our time down once (the repeats above are end to end)
    t0 = time.perf_counter()
    C.customer_summary(orders, AS_OF, args.unit)
    t1 = time.perf_counter()
    C.fit_bgnbd(s_ours)
    t2 = time.perf_counter()
    C.fit_gamma_gamma(s_ours)
    t3 = time.perf_counter()
    print(
        f"ours      : {ours_t:8.2f} s median of {args.repeats} "
        f"(summary {t1 - t0:.2f} s, BG/NBD {t2 - t1:.2f} s, Gamma-Gamma {t3 - t2:.2f} s)"
    )

    if not args.skip_lifetimes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lt_t, lt_runs, (s_lt, bg_lt, gg_lt) = timed(
                run_lifetimes, args.repeats, orders, args.unit
            )
        s_lt.index.name = "customer_id"
        same_index = s_ours.index.equals(s_lt.index)
        summary_diff = float(np.abs(s_ours.to_numpy() - s_lt.to_numpy()).max())
        bg_diff = {k: abs(bg_ours[k] - bg_lt[k]) for k in C.BGNBD_KEYS}
        gg_diff = {k: abs(gg_ours[k] - gg_lt[k]) for k in C.GAMMA_GAMMA_KEYS}
        bg_rel = max(bg_diff[k] / abs(bg_lt[k]) for k in C.BGNBD_KEYS)
        gg_rel = max(gg_diff[k] / abs(gg_lt[k]) for k in C.GAMMA_GAMMA_KEYS)
        print(f"lifetimes : {lt_t:8.2f} s median of {args.repeats}")
        print(f"speed-up  : {lt_t / ours_t:8.1f}x")
        print(f"summary   : same customers {same_index}, max abs diff {summary_diff:.3g}")
        print(
            f"BG/NBD    : max abs diff {max(bg_diff.values()):.3g} (max rel {bg_rel:.2g})  "
            f"ours {fmt(bg_ours)} | lifetimes {fmt(bg_lt)}"
        )
        print(
            f"Gamma-G.  : max abs diff {max(gg_diff.values()):.3g} (max rel {gg_rel:.2g})  "
            f"ours {fmt(gg_ours)} | lifetimes {fmt(gg_lt)}"
        )
        out.update(
            lifetimes_s=lt_t,
            lifetimes_runs_s=lt_runs,
            ratio=lt_t / ours_t,
            summary_same_customers=bool(same_index),
            summary_max_abs_diff=summary_diff,
            bgnbd_lifetimes=bg_lt,
            gamma_gamma_lifetimes=gg_lt,
            bgnbd_max_abs_diff=max(bg_diff.values()),
            gamma_gamma_max_abs_diff=max(gg_diff.values()),
        )
    print(f"truth     : BG/NBD {fmt(BG_TRUE)} | Gamma-Gamma {fmt(GG_TRUE)} (alpha per day)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


def fmt(params: dict) -> str:
    """``r=0.9 alpha=55 ...`` with 5 significant digits."""
    return " ".join(f"{k}={v:.5g}" for k, v in params.items())


if __name__ == "__main__":
    main()
