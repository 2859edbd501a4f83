"""The batch reader against the whole-file reader on a generated shop: same shop, and how long.

Loads ``bench/out/scale/shops/<size>`` (written by ``bench_scale.py``) twice in this process
with the Parquet cache off: read whole, and read in batches of ``--batch-rows`` records
(``PLAYBOOK_STREAM_BYTES=0`` forces the batch reader whatever the file's size). Every table,
the rejects, the load report and the notes must be equal; prints one JSON line::

    .venv/bin/python bench/bench_stream.py --size 1M --batch-rows 100000
    .venv/bin/python bench/bench_stream.py --size 10M          # ~6 min, ~12 GB: both in memory
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1M")
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    a = ap.parse_args(argv)
    shop_dir = ROOT / "bench" / "out" / "scale" / "shops" / a.size
    if not (shop_dir / "orders.csv").exists():
        sys.exit(f"error: {shop_dir}: no shop; run bench_scale.py --sizes {a.size} --steps gen")
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from helpers.load.shop import load_shop

    os.environ["PLAYBOOK_CACHE"] = "off"
    os.environ["PLAYBOOK_BATCH_ROWS"] = str(a.batch_rows)
    shops, secs = {}, {}
    for mode, threshold in (("whole", str(1 << 60)), ("batches", "0")):
        os.environ["PLAYBOOK_STREAM_BYTES"] = threshold
        t0 = time.perf_counter()
        shops[mode] = load_shop(shop_dir)
        secs[mode] = round(time.perf_counter() - t0, 1)
    w, b = shops["whole"], shops["batches"]
    for t in w.tables:
        pd.testing.assert_frame_equal(w.tables[t], b.tables[t], obj=t)
    pd.testing.assert_frame_equal(w.rejects, b.rejects, obj="rejects")
    pd.testing.assert_frame_equal(w.report, b.report, obj="report")
    assert w.notes == b.notes
    print(
        json.dumps(
            {
                "size": a.size,
                "order_lines": len(w.orders),
                "batch_rows": a.batch_rows,
                "whole_s": secs["whole"],
                "batches_s": secs["batches"],
                "equal": True,
            }
        )
    )


if __name__ == "__main__":
    main()
