"""Write the three committed sample shops (``python -m helpers.datasets.sample_shops data/sample``).

* ``demo`` — canonical CSVs with every optional table (the notebooks' default shop);
* ``taobao`` — a Taobao/Tmall classic export pair (订单报表 + 宝贝报表, GBK, ¥, ="…" ids, a
  合计 row) and a catalogue with Chinese headers; fiscal year from April;
* ``shopify`` — a Shopify Orders CSV, English report, USD.

All three come from :func:`helpers.datasets.sample.generate` with fixed seeds, so they are reproducible
byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from helpers.datasets import sample
from helpers.load.adapters import writers

__all__ = ["SHOPS", "write_demo", "write_taobao", "write_shopify", "main"]

SHOPS = {
    "demo": dict(seed=7, size=sample.SampleSize(n_customers=4500, n_products=150)),
    "taobao": dict(seed=11, size=sample.SampleSize(n_customers=1800, n_products=90)),
    "shopify": dict(seed=23, size=sample.SampleSize(n_customers=1200, n_products=60)),
}


def _yaml(path: Path, cfg: dict) -> None:
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")


def write_demo(out: Path) -> Path:
    t = sample.generate(**SHOPS["demo"])
    return sample.write_canonical_shop(
        t, out, "示例女装旗舰店", salt="demo-salt-not-secret", fiscal_year_start_month=1
    )


def write_taobao(out: Path) -> Path:
    t = sample.generate(**SHOPS["taobao"])
    out.mkdir(parents=True, exist_ok=True)
    writers.write_taobao_classic(t["orders"], t["pii"], out)
    cat = t["products"].rename(
        columns={
            "product_id": "商品ID",
            "title": "标题",
            "category": "类目",
            "price": "价格",
            "cost": "成本",
            "stock": "库存",
        }
    )[["商品ID", "标题", "类目", "价格", "成本", "库存"]]
    cat.to_csv(out / "products.csv", index=False, encoding="utf-8-sig")
    _yaml(
        out / "shop.yaml",
        {
            "name": "杭州小雅服饰（淘宝）",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "fiscal_year_start_month": 4,
            "lang": "zh",
            "salt": "taobao-salt-not-secret",
            "products": "products.csv",
        },
    )
    return out


def write_shopify(out: Path) -> Path:
    t = sample.generate(**SHOPS["shopify"])
    out.mkdir(parents=True, exist_ok=True)
    writers.write_shopify(t["orders"], t["pii"], out / "orders_export.csv", currency="USD")
    _yaml(
        out / "shop.yaml",
        {
            "name": "Silk & Linen Studio (Shopify)",
            "currency": "USD",
            "timezone": "Asia/Shanghai",
            "fiscal_year_start_month": 7,
            "lang": "en",
            "salt": "shopify-salt-not-secret",
        },
    )
    return out


def main(root: str = "data/sample") -> None:
    root_p = Path(root)
    for name, fn in (("demo", write_demo), ("taobao", write_taobao), ("shopify", write_shopify)):
        d = fn(root_p / name)
        size = sum(f.stat().st_size for f in d.iterdir())
        print(f"{d}: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main(*sys.argv[1:])
