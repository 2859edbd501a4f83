"""Returns, cancellations and non-merchandise lines on a wholesale export.

The export is written here in the shape of the UCI Online Retail data set (InvoiceNo with
C-prefixed credit notes, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
CustomerID, Country): purchases, a credit note matched to an earlier purchase, one that
matches nothing, two keying errors (80,995 and 74,215 units) cancelled minutes later,
postage, bank charges, a marketplace fee and a manual adjustment. Every expected figure is
worked out by hand in the comments.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import returns
from helpers.core import codes
from helpers.load import lines
from helpers.load.shop import load_shop

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
ROWS = [
    # purchases
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    "536365,22423,REGENCY CAKESTAND 3 TIER,2,12/1/2010 8:26,12.75,17850,United Kingdom",
    "536365,POST,POSTAGE,1,12/1/2010 8:26,18.00,17850,United Kingdom",
    "536366,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 9:00,1.69,12583,France",
    "536366,47566,PARTY BUNTING,4,12/1/2010 9:00,4.95,12583,France",
    "536366,POST,POSTAGE,5,12/1/2010 9:00,18.00,12583,France",
    "536367,22423,REGENCY CAKESTAND 3 TIER,4,12/2/2010 10:00,12.75,13047,United Kingdom",
    "536367,20725,LUNCH BAG RED RETROSPOT,10,12/2/2010 10:00,1.65,13047,United Kingdom",
    "536368,47566,PARTY BUNTING,12,12/3/2010 11:00,4.95,17850,United Kingdom",
    "536368,84879,ASSORTED COLOUR BIRD ORNAMENT,8,12/3/2010 11:00,1.69,17850,United Kingdom",
    "536370,22197,SMALL POPCORN HOLDER,24,12/4/2010 12:00,0.85,12583,France",
    "536370,85123A,WHITE HANGING HEART T-LIGHT HOLDER,32,12/4/2010 12:00,2.55,12583,France",
    "536371,DOT,DOTCOM POSTAGE,1,12/4/2010 15:00,11.77,,United Kingdom",
    "537000,BANK CHARGES,Bank Charges,1,12/6/2010 10:00,15.00,13047,United Kingdom",
    # keying errors, cancelled minutes later
    "541431,23166,MEDIUM CERAMIC TOP STORAGE JAR,74215,12/5/2010 10:01,1.04,12346,United Kingdom",
    "C541433,23166,MEDIUM CERAMIC TOP STORAGE JAR,-74215,12/5/2010 10:17,1.04,12346,United Kingdom",
    '581483,23843,"PAPER CRAFT , LITTLE BIRDIE",80995,12/9/2010 9:15,2.08,16446,United Kingdom',
    'C581484,23843,"PAPER CRAFT , LITTLE BIRDIE",-80995,12/9/2010 9:27,2.08,16446,United Kingdom',
    # a credit note matched to 536365 (same customer and product), one that matches nothing
    "C536379,22423,REGENCY CAKESTAND 3 TIER,-1,12/10/2010 9:41,12.75,17850,United Kingdom",
    "C536383,35004C,SET OF 3 COLOURED FLYING DUCKS,-1,12/10/2010 9:49,4.65,15311,United Kingdom",
    # non-merchandise credits: a manual adjustment and a marketplace fee
    "C536391,M,Manual,-1,12/10/2010 10:24,10.00,17548,United Kingdom",
    "C537630,AMAZONFEE,AMAZON FEE,-1,12/10/2010 15:04,13541.33,,United Kingdom",
]
MAPPING = {
    "order_id": "InvoiceNo",
    "product_id": "StockCode",
    "title": "Description",
    "quantity": "Quantity",
    "order_time": "InvoiceDate",
    "unit_price": "UnitPrice",
    "customer_id": "CustomerID",
}

# Merchandise purchase lines, by hand:
#   85123A 6×2.55 = 15.30, 32×2.55 = 81.60                 → 96.90
#   22423  2×12.75 = 25.50, 4×12.75 = 51.00                → 76.50
#   84879  32×1.69 = 54.08, 8×1.69 = 13.52                 → 67.60
#   47566  4×4.95 = 19.80, 12×4.95 = 59.40                 → 79.20
#   20725  10×1.65 = 16.50;  22197 24×0.85 = 20.40
#   23166  74215×1.04 = 77,183.60;  23843 80995×2.08 = 168,469.60
GROSS = 96.90 + 76.50 + 67.60 + 79.20 + 16.50 + 20.40 + 77_183.60 + 168_469.60  # 246,010.30
# Merchandise credit notes: 77,183.60 + 168,469.60 + 12.75 + 4.65
RETURNS = 77_183.60 + 168_469.60 + 12.75 + 4.65  # 245,670.60
NET = 339.70  # GROSS − RETURNS, to the cent: 357.10 of goods kept − 12.75 − 4.65
# Purchase orders with merchandise: 536365, 536366, 536367, 536368, 536370, 541431, 581483
# (7; 536371 and 537000 hold only postage / bank charges). Credit notes with merchandise:
# C541433, C581484, C536379, C536383 (4). Share of documents: 4 / 11.
ORDERS, CREDIT_NOTES = 7, 4
UNITS_SOLD = 6 + 2 + 32 + 4 + 4 + 10 + 12 + 8 + 24 + 32 + 74_215 + 80_995  # 155,344
UNITS_RETURNED = 74_215 + 80_995 + 1 + 1  # 155,212
# Top 5 products by net sales (a matched return reduces its product; the unmatched one
# does not): 85123A 96.90, 47566 79.20, 84879 67.60, 22423 76.50 − 12.75 = 63.75,
# 22197 20.40 (20725 16.50 is sixth; both keying errors net to 0; POST would be 108.00).
TOP5 = ["85123A", "47566", "84879", "22423", "22197"]
NON_MERCH = {"POST", "DOT", "BANK CHARGES", "M", "AMAZONFEE"}


def iso(row: str) -> str:
    """The row with its date as Online Retail II writes it (2010-12-01 08:26:00)."""

    def one(m: re.Match) -> str:
        month, day, year, hour, minute = (int(g) for g in m.groups())
        return f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:00"

    return re.sub(r"(\d+)/(\d+)/(\d{4}) (\d+):(\d\d)", one, row)


def write_shop(d, rows=ROWS, extra: str = "") -> str:
    d.mkdir(parents=True, exist_ok=True)
    text = "\n".join([HEADER, *(iso(r) for r in rows)]) + "\n"
    (d / "online_retail.csv").write_text(text, encoding="utf-8")
    cols = "\n".join(f"    {k}: {v}" for k, v in MAPPING.items())
    (d / "shop.yaml").write_text(
        textwrap.dedent(
            """\
            name: Online Retail
            currency: GBP
            timezone: Europe/London
            lang: en
            salt: test-salt
            orders:
              file: online_retail.csv
              columns:
            """
        )
        + cols
        + "\n"
        + extra,
        encoding="utf-8",
    )
    return str(d)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return load_shop(write_shop(tmp_path_factory.mktemp("uci") / "retail"), cache=False)


def test_every_row_is_kept_and_credit_notes_are_returns(shop):
    assert len(shop.rejects) == 0
    assert int(shop.report["read"].sum()) == len(ROWS) == len(shop.orders)
    o = shop.orders
    back = o[o["status"] == "returned"]
    assert sorted(back["order_id"]) == sorted(r.split(",")[0] for r in ROWS if r[0] == "C")
    assert (back["quantity"] < 0).all() and (back["paid_amount"] < 0).all()
    assert (back["unit_price"] > 0).all() and (back["refund_amount"] == 0).all()


def test_matching_rules(shop):
    o = shop.orders.set_index("order_id")
    assert o.loc["C541433", "return_of"] == "541431"
    assert o.loc["C581484", "return_of"] == "581483"
    assert o.loc["C536379", "return_of"] == "536365"  # customer 17850's cakestands
    assert o.loc["C536383", "return_of"] is None  # nobody bought the ducks
    assert o["return_of"].notna().sum() == 3


def test_line_types(shop):
    o = shop.orders
    nm = set(o.loc[o["line_type"] == "non_merchandise", "product_id"])
    assert nm == NON_MERCH
    assert (o.loc[~o["product_id"].isin(NON_MERCH), "line_type"] == "merchandise").all()


def test_net_sales_gross_minus_returns_to_the_cent(shop):
    s = codes.sales_lines(shop.orders)
    assert not s["product_id"].isin(NON_MERCH).any()
    assert round(s.loc[~s["is_return"], "net"].sum(), 2) == round(GROSS, 2) == 246_010.30
    assert round(-s.loc[s["is_return"], "net"].sum(), 2) == round(RETURNS, 2) == 245_670.60
    assert round(s["net"].sum(), 2) == NET
    t = returns.return_summary(shop.orders)
    assert round(t["gross_sales"], 2) == 246_010.30
    assert round(t["returns"], 2) == 245_670.60
    assert round(t["net_sales"], 2) == NET
    assert (t["orders"], t["return_orders"]) == (ORDERS, CREDIT_NOTES)
    assert t["order_return_rate"] == pytest.approx(4 / 11)
    assert (t["units_sold"], t["units_returned"]) == (UNITS_SOLD, UNITS_RETURNED)
    assert t["unit_return_rate"] == pytest.approx(155_212 / 155_344)
    assert t["money_return_rate"] == pytest.approx(245_670.60 / 246_010.30)
    assert (t["matched_lines"], t["unmatched_lines"]) == (3, 1)
    assert t["unmatched_returns"] == pytest.approx(4.65)
    daily = codes.daily_sales(shop.orders)
    assert round(daily["net_sales"].sum(), 2) == NET
    assert daily["orders"].sum() == ORDERS  # one day each: credit notes are not orders
    assert daily["units"].sum() == UNITS_SOLD
    assert len(codes.order_values(shop.orders)) == ORDERS


def test_return_rates_by_month_and_product(shop):
    m = returns.monthly_returns(shop.orders)
    assert len(m) == 1 and m["return_orders"].iloc[0] == 4
    p = returns.product_returns(shop.orders)
    # 23843 (168,469.60 returned) first, then 23166, 22423 (12.75), 35004C (4.65, never sold)
    assert list(p["product_id"]) == ["23843", "23166", "22423", "35004C"]
    cake = p.set_index("product_id").loc["22423"]
    assert (cake["units_sold"], cake["units_returned"]) == (6, 1)
    assert cake["unit_return_rate"] == pytest.approx(1 / 6)
    assert cake["money_return_rate"] == pytest.approx(12.75 / 76.50)
    assert np.isnan(p.set_index("product_id").loc["35004C", "unit_return_rate"])


def test_return_larger_than_anything_sold_is_flagged(shop):
    over = returns.over_returns(shop.orders)
    assert list(over["order_id"]) == ["C536383"]  # the ducks: 1 returned, 0 sold
    assert int(over["units_sold_before"].iloc[0]) == 0


def test_non_merchandise_money_by_kind(shop):
    t = returns.non_merchandise_totals(shop.orders).set_index("kind")
    # postage: 18.00 + 5×18.00 + 11.77 = 119.77; fees: bank 15.00 charged, Amazon 13,541.33
    # credited; adjustments: the manual credit of 10.00
    assert list(t.index) == ["postage", "fees", "adjustments"]
    assert t.loc["postage", "charged"] == pytest.approx(119.77)
    assert t.loc["fees", "charged"] == pytest.approx(15.00)
    assert t.loc["fees", "credited"] == pytest.approx(13_541.33)
    assert t.loc["adjustments", "net"] == pytest.approx(-10.00)
    assert t["lines"].tolist() == [3, 2, 1]


def test_top_products_have_no_keying_error_and_no_postage(shop):
    from helpers.analysis import products

    listed = pd.DataFrame(  # a products table that lists postage as if it were goods
        {"product_id": ["POST", "85123A"], "title": ["POSTAGE", "HEART"], "stock": [999, 40]}
    )
    cat = products.product_catalogue(shop.orders, listed, shop.as_of)
    assert "POST" not in set(cat["product_id"]) and "85123A" in set(cat["product_id"])
    daily = products.daily_product_sales(shop.orders, cat)
    abc = products.abc_analysis(daily, cat, shop.as_of)
    assert list(abc["product_id"].head(5)) == TOP5
    assert abc["net_sales"].head(5).round(2).tolist() == [96.90, 79.20, 67.60, 63.75, 20.40]
    assert not set(abc["product_id"]) & NON_MERCH
    keying = abc.set_index("product_id").loc[["23166", "23843"]]
    assert (keying["net_sales"].abs() < 0.005).all() and (keying["units"] == 0).all()
    assert keying["orders"].tolist() == [1, 1]  # the purchase; the credit note is no order


def test_shop_patterns_and_prefix_from_shop_yaml(tmp_path):
    rows = [
        "R100,X1,GIFT WRAP SERVICE,1,12/1/2010 8:00,2.00,1,United Kingdom",
        "100,X2,LANTERN,2,12/1/2010 8:00,5.00,1,United Kingdom",
        "R101,X2,LANTERN,1,12/2/2010 8:00,5.00,1,United Kingdom",  # positive, marked R
        "C102,X2,LANTERN,1,12/2/2010 9:00,5.00,1,United Kingdom",  # not a marker here
    ]
    extra = (
        "returns: {invoice_prefix: R, window_days: 30}\n"
        "non_merchandise: {ids: [X1], title_patterns: ['wrap service']}\n"
    )
    s = load_shop(write_shop(tmp_path / "s", rows, extra), cache=False)
    o = s.orders.set_index("order_id")
    assert o.loc["R101", "status"] == "returned" and o.loc["R101", "quantity"] == -1
    assert o.loc["R101", "return_of"] == "100"
    assert o.loc["C102", "status"] == "paid"
    assert o.loc["R100", "line_type"] == "non_merchandise"


def test_window_days_limits_matching(tmp_path):
    rows = [
        "100,X2,LANTERN,2,1/1/2011 8:00,5.00,1,United Kingdom",
        "C101,X2,LANTERN,-1,3/1/2011 8:00,5.00,1,United Kingdom",  # 59 days later
    ]
    near = load_shop(write_shop(tmp_path / "a", rows), cache=False)
    assert near.orders.set_index("order_id").loc["C101", "return_of"] == "100"
    far = load_shop(write_shop(tmp_path / "b", rows, "returns: {window_days: 30}\n"), cache=False)
    assert far.orders.set_index("order_id").loc["C101", "return_of"] is None


def test_default_patterns_leave_real_products_alone():
    o = pd.DataFrame(
        {
            "product_id": ["1", "2", "3", "4", "5", "6", "7", "8"],
            "title": [
                "COFFEE MUG",
                "ADJUSTABLE STRAP BAG",
                "SHIPPING BOX PRINT T-SHIRT",
                "连衣裙 夏季新款",
                "补运费专拍",
                "【赠品】小样",
                "Gift card £25",
                "Manual coffee grinder",
            ],
        }
    )
    kinds = lines.charge_kind(o).tolist()
    assert kinds == [None, None, None, None, "postage", "samples", "gift_cards", None]


def test_no_postage_fee_or_keying_error_in_heroes_or_bundles(shop):
    from helpers.analysis import basket, promotions

    heroes = promotions.hero_group(shop.orders, shop.as_of, n=5, window_days=90)
    assert list(heroes["product_id"]) == TOP5
    pairs, items, n_orders = basket.order_items(shop.orders)
    assert n_orders == ORDERS  # credit notes are no baskets
    assert not set(items) & NON_MERCH
    rules = basket.association_rules(shop.orders, min_orders=1)
    in_rules = set(rules["antecedent"]) | set(rules["consequent"])
    assert in_rules and not in_rules & NON_MERCH
    # 536365 was cakestands + hearts (+ postage): the rule exists, postage has none
    assert {("85123A", "22423"), ("22423", "85123A")} <= set(
        zip(rules["antecedent"], rules["consequent"], strict=True)
    )
    rec = promotions._recent_product_sales(shop.orders, shop.as_of, 90)
    assert not set(rec.index) & NON_MERCH
    assert rec.loc["23843", "units"] == 0 and abs(rec.loc["23843", "net_sales"]) < 0.005


def test_kpis_customers_and_clv_count_purchases_only(shop):
    from helpers.analysis import clv, customers, kpis

    k, daily = kpis.sales_kpis(shop)
    assert k["net_sales_12m"] == NET and k["orders_12m"] == ORDERS
    assert k["customers_12m"] == 5  # 17850, 12583, 13047, 12346, 16446: 15311 only returned
    assert k["return_rate_12m"] == pytest.approx(245_670.60 / 246_010.30, abs=1e-6)
    assert round(daily.sum(), 2) == NET
    co = customers.customer_orders(shop.orders).set_index("order_id")["net"].round(2)
    # returns net onto the order they return; both keying errors net to 0 and drop out
    assert co.to_dict() == {
        "536365": 28.05,  # 15.30 + 25.50 − 12.75
        "536366": 73.88,
        "536367": 67.50,
        "536368": 72.92,
        "536370": 102.00,
    }
    summ = clv.customer_summary(shop.orders, as_of=shop.as_of)
    # 17850: purchases on 1 and 3 December (two days) → frequency 1, monetary 72.92
    assert summ.loc[lambda d: d["frequency"] > 0].shape[0] == 2  # 17850 and 12583
    assert sorted(summ["monetary_value"][summ["frequency"] > 0].round(2)) == [72.92, 102.00]
    assert len(summ) == 3  # 17850, 12583, 13047; keying-error buyers bought nothing net


def test_shopify_negative_quantity_is_a_returned_line(tmp_path):
    import shutil
    from pathlib import Path

    d = tmp_path / "shopify"
    shutil.copytree(Path(__file__).parents[1] / "data" / "sample" / "shopify", d)
    df = pd.read_csv(d / "orders_export.csv", dtype=str, keep_default_na=False)
    first = df.index[df["Name"] == df["Name"].value_counts().index[0]]
    name, row = df.loc[first[0], "Name"], first[1]
    price, disc = float(df.loc[row, "Lineitem price"]), float(df.loc[row, "Lineitem discount"])
    df.loc[row, "Lineitem quantity"] = "-1"
    df.to_csv(d / "orders_export.csv", index=False)
    s = load_shop(d, cache=False)
    assert len(s.rejects) == 0
    o = s.orders[s.orders["order_id"] == name.lstrip("#")]
    back = o[o["status"] == "returned"]
    assert len(back) == 1 and back["quantity"].iloc[0] == -1
    assert back["paid_amount"].iloc[0] == pytest.approx(-(price - disc))
    # the order's lines still add up to its Total
    assert o["paid_amount"].sum() == pytest.approx(float(df.loc[first[0], "Total"]), abs=0.01)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("returns: {window_day: 30}\n", "unknown key 'returns.window_day' (did you mean"),
        ("returns: {window_days: -1}\n", "'returns.window_days' must be a whole number"),
        ("non_merchandise: {id: [POST]}\n", "unknown key 'non_merchandise.id' (did you mean"),
        ("non_merchandise: {ids: POST}\n", "'non_merchandise.ids' must be a list"),
        ("non_merchandise: {title_patterns: ['(post']}\n", "'(post' is not a pattern"),
    ],
)
def test_shop_yaml_returns_keys_are_checked(tmp_path, text, message):
    from helpers.core.errors import ConfigError
    from helpers.load.config import load_config

    (tmp_path / "shop.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(tmp_path)
