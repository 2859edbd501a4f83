"""Onboarding exports in dialects of their own: new-shop proposes, check loads with no edits."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.cli import check_lines, main
from helpers.core import schema
from helpers.core.errors import ConfigError
from helpers.load import onboard
from helpers.load.config import load_config
from helpers.load.shop import load_report, load_shop

N = 40  # lines per generated export
# every required canonical column: a file read as it is, without a mapping
CANON = "order_id,line_id,customer_id,order_time,status,product_id,quantity,unit_price,"
CANON += "paid_amount,refund_amount\n"


def _lines(n: int = N, seed: int = 3) -> pd.DataFrame:
    """Order lines: 2 lines per order, 8 customers, prices in cents, one line per 9 hours."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return pd.DataFrame(
        {
            "order": 10001 + i // 2,
            "customer": 5001 + (i // 2) % 8,
            "time": pd.Timestamp("2024-01-02 09:00") + pd.to_timedelta(9 * (i // 2), unit="h"),
            "sku": [f"SKU{k:03d}" for k in rng.integers(1, 12, n)],
            "title": [f"Item {k}" for k in rng.integers(1, 12, n)],
            "qty": rng.integers(1, 5, n),
            "price": rng.integers(199, 5000, n) / 100,
        }
    )


def _new_shop(tmp_path, files, *extra) -> dict:
    dest = tmp_path / "shop"
    assert main(["new-shop", str(dest), "--from", *map(str, files), "--yes", *extra]) == 0
    return yaml.safe_load((dest / "shop.yaml").read_text(encoding="utf-8"))


def _check(tmp_path, capsys) -> list[str]:
    capsys.readouterr()
    rc = main(["check", str(tmp_path / "shop"), "--rejects", str(tmp_path / "rej.csv")])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0, out
    return out


def _kept(tmp_path) -> int:
    return int(load_report(load_shop(tmp_path / "shop", cache=False)).iloc[-1]["kept"])


def test_uci_style_english(tmp_path, capsys):
    d = _lines()
    f = tmp_path / "online_retail.csv"
    pd.DataFrame(
        {
            "InvoiceNo": d["order"],
            "StockCode": d["sku"],
            "Description": d["title"],
            "Quantity": d["qty"],
            "InvoiceDate": d["time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "UnitPrice": d["price"],
            "CustomerID": d["customer"].astype(float),  # 17850.0, as the UCI file writes it
            "Country": "United Kingdom",
        }
    ).to_csv(f, index=False)
    cfg = _new_shop(tmp_path, [f])
    assert (cfg["currency"], cfg["timezone"], cfg["market"], cfg["lang"]) == (
        "GBP",
        "Europe/London",
        "GB",
        "en",
    )
    assert cfg["orders"]["columns"] == {
        "order_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "order_time": "InvoiceDate",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "product_id": "StockCode",
        "title": "Description",
        "province": "Country",
    }
    text = (tmp_path / "shop" / "shop.yaml").read_text(encoding="utf-8")
    assert "order_id: \"InvoiceNo\"  # high: 'InvoiceNo' is a name for order_id" in text
    _check(tmp_path, capsys)
    shop = load_shop(tmp_path / "shop", cache=False)
    assert len(shop.orders) == N
    assert shop.orders["customer_id"].nunique() == 8
    # paid = unit price × quantity, to the cent
    assert shop.orders["paid_amount"].sum() == pytest.approx((d["price"] * d["qty"]).sum())


def test_chinese_headers_with_yuan_signs(tmp_path, capsys):
    d = _lines()
    f = tmp_path / "销售明细.csv"
    pd.DataFrame(
        {
            "订单号": d["order"],
            "商品编码": d["sku"],
            "商品名称": d["title"],
            "数量": d["qty"],
            "下单时间": d["time"].dt.strftime("%Y/%m/%d %H:%M"),
            "单价": d["price"],
            "实付金额": [f"¥{v:.2f}" for v in d["price"] * d["qty"]],
            "会员": [f"VIP{c}" for c in d["customer"]],
            "省份": "浙江省",
        }
    ).to_csv(f, index=False, encoding="utf-8-sig")
    cfg = _new_shop(tmp_path, [f])
    assert (cfg["currency"], cfg["timezone"], cfg["market"], cfg["lang"]) == (
        "CNY",
        "Asia/Shanghai",
        "CN",
        "zh",
    )
    cols = cfg["orders"]["columns"]
    assert cols["order_id"] == "订单号" and cols["customer_id"] == "会员"
    assert cols["order_time"] == "下单时间" and cols["paid_amount"] == "实付金额"
    assert cols["product_id"] == "商品编码" and cols["province"] == "省份"
    _check(tmp_path, capsys)
    assert _kept(tmp_path) == N


def test_mixed_case_spacing_and_euro_header(tmp_path, capsys):
    d = _lines()
    f = tmp_path / "export.csv"
    # winter (+01:00) and summer (+02:00) offsets: only a zone with summer time fits both
    t = d["time"] + pd.to_timedelta(np.where(np.arange(N) < N // 2, 0, 150), unit="D")
    off = np.where(np.arange(N) < N // 2, "+01:00", "+02:00")
    pd.DataFrame(
        {
            "  ORDER id ": d["order"],
            "Customer_ID": d["customer"],
            "order-date": t.dt.strftime("%Y-%m-%dT%H:%M:%S") + off,
            "sku": d["sku"],
            "QTY": d["qty"],
            "Unit Price (€)": d["price"],
            "notes": "x",
        }
    ).to_csv(f, index=False)
    cfg = _new_shop(tmp_path, [f])
    assert (cfg["currency"], cfg["timezone"], cfg["market"], cfg["lang"]) == (
        "EUR",
        "Europe/Berlin",
        "DE",
        "en",
    )
    assert cfg["orders"]["columns"]["order_id"] == "ORDER id"  # the reader strips the spaces
    assert cfg["orders"]["columns"]["unit_price"] == "Unit Price (€)"
    out = capsys.readouterr().out
    assert "not mapped (ignored): notes" in out and "_source" not in out
    _check(tmp_path, capsys)
    assert _kept(tmp_path) == N


def test_second_english_dialect_usd_with_summer_time(tmp_path, capsys):
    d = _lines()
    t = d["time"] + pd.to_timedelta(np.where(np.arange(N) % 2 == 0, 0, 0), unit="D")
    t = t.where(np.arange(N) < N // 2, t + pd.Timedelta(days=120))  # May: -04:00
    off = np.where(np.arange(N) < N // 2, "-05:00", "-04:00")
    f = tmp_path / "transactions.csv"
    pd.DataFrame(
        {
            "Transaction ID": [f"T-{o}" for o in d["order"]],
            "Client": d["customer"],
            "Purchase Date": t.dt.strftime("%Y-%m-%dT%H:%M:%S") + off,
            "Product Name": d["title"],
            "Units": d["qty"],
            "Total": (d["price"] * d["qty"]).round(2),
            "Currency": "USD",
        }
    ).to_csv(f, index=False)
    cfg = _new_shop(tmp_path, [f])
    assert (cfg["currency"], cfg["timezone"], cfg["market"], cfg["lang"]) == (
        "USD",
        "America/New_York",
        "US",
        "en",
    )
    cols = cfg["orders"]["columns"]
    assert cols["title"] == "Product Name" and cols["paid_amount"] == "Total"
    _check(tmp_path, capsys)
    shop = load_shop(tmp_path / "shop", cache=False)
    assert len(shop.orders) == N
    # 2024-01-02 09:00-05:00 is 09:00 New York time
    assert shop.orders["order_time"].min() == pd.Timestamp("2024-01-02 09:00")


def test_excel_export_with_pound_header(tmp_path, capsys):
    d = _lines()
    f = tmp_path / "orders report.xlsx"
    pd.DataFrame(
        {
            "Order Number": d["order"],
            "Customer Number": d["customer"],
            "Order Date": d["time"],
            "Item Code": d["sku"],
            "Quantity": d["qty"],
            "Price £": d["price"],
        }
    ).to_excel(f, index=False)
    cfg = _new_shop(tmp_path, [f])
    assert (cfg["currency"], cfg["timezone"], cfg["market"]) == ("GBP", "Europe/London", "GB")
    assert cfg["orders"]["columns"]["order_time"] == "Order Date"
    _check(tmp_path, capsys)
    assert _kept(tmp_path) == N


def test_synonyms_ignore_case_spaces_punctuation():
    assert onboard.norm_header(" Order-ID ") == onboard.norm_header("order_id") == "orderid"
    raw = pd.DataFrame({"Date": ["2024-01-01", "x"] * 3, "Invoice": ["2024-01-01"] * 6})
    p = onboard.propose_mapping(raw)
    # 'Invoice' names an order id, but its values are dates: the guess is dropped, said why
    assert "order_id" not in p.mapping
    assert any("Invoice → order_id? no" in r for r in p.rejected)
    assert "Date" in p.unmapped  # a third of its values are not dates: not a time column


def test_300_daily_files_through_one_glob(tmp_path, capsys):
    day = tmp_path / "by-day"
    day.mkdir()
    for k in range(300):
        t = pd.Timestamp("2024-01-01") + pd.Timedelta(days=k)
        (day / f"{t:%Y-%m-%d}.csv").write_text(
            CANON + f"A{k},1,c{k % 7},{t:%Y-%m-%d} 10:00:00,paid,p1,1,10.00,10.00,0\n"
            f"B{k},1,c{k % 5},{t:%Y-%m-%d} 15:00:00,paid,p2,2,3.75,7.50,0\n",
            encoding="utf-8",
        )
    shop_dir = tmp_path / "s"
    shop_dir.mkdir()
    (shop_dir / "by-day").symlink_to(day)
    (shop_dir / "shop.yaml").write_text('salt: "x"\norders:\n  file: "by-day/*.csv"\n')
    lines = check_lines(str(shop_dir), rejects_path=str(tmp_path / "r.csv"))
    # check's summary stays short: 10 files shown, the other 290 in one line, then the total
    assert len(lines) <= 40 and "… 290 more files: 580 rows read, 0 rejected" in lines
    shop = load_shop(shop_dir)  # parsed once by check; from the cache now
    rep = load_report(shop)
    assert len(rep) == 301 and rep.iloc[-1]["file"] == "total"
    assert rep.iloc[0]["file"] == "2024-01-01.csv" and (rep.iloc[:300]["read"] == 2).all()
    assert rep.iloc[-1][["read", "kept", "rejected"]].tolist() == [600, 600, 0]
    assert shop.orders["paid_amount"].sum() == pytest.approx(300 * 17.5)
    # a folder names the same files, sorted
    (shop_dir / "shop.yaml").write_text('salt: "x"\norders: "by-day"\n')
    files = load_config(shop_dir).sources["orders"].files
    assert [f.name for f in files] == rep.iloc[:300]["file"].tolist()
    # new-shop on a quoted glob: a folder of their own and one glob in shop.yaml
    cfg = _new_shop(tmp_path, [str(day / "*.csv")])
    assert cfg["orders"] == "orders/*.csv"
    assert len(list((tmp_path / "shop" / "orders").glob("*.csv"))) == 300


def test_glob_matching_nothing_names_the_pattern(tmp_path):
    (tmp_path / "shop.yaml").write_text('orders: "by-day/*.csv"\n')
    with pytest.raises(ConfigError, match=r"pattern 'by-day/\*\.csv' matches no file"):
        load_shop(tmp_path, cache=False)


def test_unknown_market_key_is_accepted(tmp_path):
    (tmp_path / "shop.yaml").write_text('market: "GB"\nsalt: "s"\n')
    (tmp_path / "orders.csv").write_text(CANON + "1,1,c,2024-01-01 10:00:00,paid,p,1,5,5,0\n")
    assert len(load_shop(tmp_path, cache=False).orders) == 1


@pytest.mark.parametrize(
    ("currency", "tz", "country", "market", "first_local"),
    [
        ("USD", "America/New_York", "US", "US", "2025-01-01"),
        ("EUR", "Europe/Paris", "FR", "FR", "2025-01-01"),
        ("GBP", "Europe/London", "GB", "GB", "2025-01-01"),
    ],
)
def test_shopify_in_usd_eur_gbp(tmp_path, capsys, currency, tz, country, market, first_local):
    from helpers.load.adapters import write_shopify

    d = _lines(20)
    orders = pd.DataFrame(
        {
            "order_id": [f"#{o}" for o in d["order"]],
            "line_id": [str(k) for k in range(20)],
            "customer_id": d["customer"].astype(str),
            "order_time": pd.Timestamp("2025-01-01 00:30") + pd.to_timedelta(d.index * 5, "h"),
            "status": "paid",
            "product_id": d["sku"],
            "title": d["title"],
            "quantity": d["qty"],
            "unit_price": d["price"],
            "paid_amount": (d["price"] * d["qty"]).round(2),
            "refund_amount": 0.0,
            "province": "X",
        }
    )
    pii = pd.DataFrame({"customer_id": orders["customer_id"].unique()})
    pii = pii.assign(name="A B", phone="1", address="street 1")
    f = tmp_path / "orders_export.csv"
    write_shopify(orders, pii, f, tz=tz, currency=currency)
    raw = pd.read_csv(f, dtype=str, keep_default_na=False)
    raw["Billing Country"] = raw["Billing Country"].where(raw["Billing Country"] == "", country)
    raw["Shipping Country"] = raw["Billing Country"]
    raw.to_csv(f, index=False)
    cfg = _new_shop(tmp_path, [f])
    assert (cfg["currency"], cfg["timezone"], cfg["market"], cfg["lang"]) == (
        currency,
        tz,
        market,
        "en",
    )
    _check(tmp_path, capsys)
    shop = load_shop(tmp_path / "shop", cache=False)
    assert len(shop.orders) == 20 and len(shop.rejects) == 0
    assert str(shop.orders["order_time"].min().date()) == first_local


def test_check_on_thousands_of_bad_rows_is_short(tmp_path, capsys):
    good = "A1,1,c1,2024-01-01 10:00:00,paid,p1,1,10.00,10.00,0"
    rows = [good]
    rows += [good] * 3000  # duplicates of row 2
    rows += [f"B{k},1,c2,2024-13-{k % 28 + 1:02d} 10:00:00,paid,p1,1,5,5,0" for k in range(1500)]
    rows += [f"C{k},1,c3,2024-01-02 10:00:00,paid,p1,1,${k}.00,${k}.00,0" for k in range(600)]
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "shop.yaml").write_text('salt: "x"\ncurrency: "CNY"\n')
    (shop / "orders.csv").write_text(CANON + "\n".join(rows))
    out = _check(tmp_path, capsys)
    assert len(out) <= 40
    text = "\n".join(out)
    assert "rejected: 5,100 rows; most common reason: duplicate" in text
    assert "3,000 × duplicate" in text and "(rows 3, 4, 5)" in text
    assert "1,500 × unparseable date" in text and "600 × amount" in text
    assert f"every rejected row: {tmp_path / 'rej.csv'}" in text
    assert len(pd.read_csv(tmp_path / "rej.csv")) == 5100


def test_no_usable_rows_says_why_and_names_the_currency_key(tmp_path, capsys):
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "shop.yaml").write_text('salt: "x"\ncurrency: "CNY"\n')
    (shop / "orders.csv").write_text(
        CANON + "\n".join(f"A{k},1,c,2024-01-01 10:00:00,paid,p,1,$5.00,$5.00,0" for k in range(7))
    )
    assert main(["check", str(shop), "--rejects", str(tmp_path / "rejects.csv")]) == 2
    err = capsys.readouterr().err
    assert "no usable order rows: all 7 rows rejected: 7 × amount '$5.00' is in USD" in err
    assert "set 'currency: USD' in shop.yaml (it says CNY)" in err


def test_productless_orders_load_with_placeholder(tmp_path):
    (tmp_path / "shop.yaml").write_text(
        'salt: "x"\norders:\n  file: "crm.csv"\n  columns:\n    customer_id: "Customer"\n'
        '    order_time: "Date"\n    quantity: "Qty"\n    paid_amount: "Amount"\n'
    )
    (tmp_path / "crm.csv").write_text(
        "Customer,Date,Qty,Amount\nc1,2024-01-01,2,10\nc1,2024-02-01,1,5\nc2,2024-02-03,1,7\n"
    )
    shop = load_shop(tmp_path, cache=False)
    assert shop.orders["product_id"].tolist() == [schema.NO_PRODUCT] * 3
    assert not shop.has_products and shop.has_customers
    assert shop.orders["order_id"].nunique() == 3


@pytest.mark.slow
def test_productless_crm_export_runs_the_whole_playbook(tmp_path, capsys):
    """A CRM export (customer, date, quantity, amount; no product) runs all seven notebooks;
    the pages that need products say so; 04 fits its CLV models."""
    import jupytext

    from helpers.run.runner import run_shop

    rng = np.random.default_rng(11)
    rows = []
    for c in range(160):
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 400)))
        n = 1 + int(rng.poisson(2.0))
        for d in np.sort(rng.integers(0, 500, n)) * (np.arange(n) > 0):
            t = first + pd.Timedelta(days=int(d), hours=int(rng.integers(8, 22)))
            if t <= pd.Timestamp("2025-06-30 23:00"):
                rows.append((f"M{c:04d}", t, int(rng.integers(1, 4)), float(rng.integers(20, 300))))
    crm = pd.DataFrame(rows, columns=["Member", "Purchase Date", "Qty", "Amount"])
    crm = crm.sort_values("Purchase Date", kind="stable")
    f = tmp_path / "crm.csv"
    crm.assign(**{"Purchase Date": crm["Purchase Date"].dt.strftime("%Y-%m-%d %H:%M")}).to_csv(
        f, index=False
    )
    cfg = _new_shop(tmp_path, [f], "--currency", "EUR")
    assert "product_id" not in cfg["orders"]["columns"]
    assert "not found: product_id" in capsys.readouterr().out
    book = tmp_path / "book"
    book.mkdir()
    for py in sorted((Path(__file__).parent.parent / "playbook").glob("[0-9][0-9]_*.py")):
        jupytext.write(jupytext.read(py), book / f"{py.stem}.ipynb")
    res = run_shop(tmp_path / "shop", tmp_path / "out", progress=False, playbook_dir=book)
    assert res.failures == {}
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob("0*.html")}
    assert len(pages) == 7
    says = "needs a product column (product_id or title)"
    assert [k for k, v in sorted(pages.items()) if says in v] == [
        "02_target_setting",
        "03_product_analysis",
        "05_promotion_plan",
        "06_optimisation_review",
    ]
    assert "What each missing column turns off" in pages["00_data_health"]
    assert "Forward-looking value (BG/NBD + Gamma-Gamma)" in pages["04_customer_analysis"]
    assert "Over the next 90 days the models expect" in pages["04_customer_analysis"]


def _crm_file(tmp_path) -> Path:
    f = tmp_path / "members.csv"
    f.write_text(
        "会员,Date,Qty,Amount\n张三,2024-01-01,1,10\n李四,2024-01-02,2,30\n", encoding="utf-8"
    )
    return f


def test_asks_on_a_terminal_only_outside_ci(tmp_path, monkeypatch, capsys):
    f = _crm_file(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("builtins.input", lambda q: "n")
    assert main(["new-shop", str(tmp_path / "a"), "--from", str(f)]) == 1
    assert not (tmp_path / "a").exists()  # declined: nothing copied, nothing written
    monkeypatch.setattr("builtins.input", lambda q: "")  # Enter accepts
    assert main(["new-shop", str(tmp_path / "b"), "--from", str(f)]) == 0
    assert (tmp_path / "b" / "shop.yaml").exists()

    def no_question(q):
        raise AssertionError("asked in CI")

    monkeypatch.setattr("builtins.input", no_question)
    monkeypatch.setenv("CI", "true")
    assert main(["new-shop", str(tmp_path / "c"), "--from", str(f)]) == 0


def test_currency_from_chinese_values_and_messages_hide_internal_columns(tmp_path, capsys):
    f = tmp_path / "x.csv"
    f.write_text("Member,Date,Qty,Amount\n张三,2024-01-01,1,10\n李四,2024-01-02,2,30\n")
    cfg = _new_shop(tmp_path, [f])
    assert (cfg["currency"], cfg["timezone"], cfg["lang"]) == ("CNY", "Asia/Shanghai", "zh")
    # a file nothing can be made of: the message names its headers, never _source_row
    g = tmp_path / "odd.csv"
    g.write_text("foo,bar\n1,2\n")
    assert main(["new-shop", str(tmp_path / "o"), "--from", str(g), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "not found: order_time" in out and "_source" not in out
    text = (tmp_path / "o" / "shop.yaml").read_text(encoding="utf-8")
    assert "# order_time: not found — required" in text and "_source" not in text


def test_missing_columns_for_data_health():
    from helpers.analysis import health

    o = schema.empty("orders")
    o = pd.concat([o, o.head(0)]).reindex(range(2))
    o["product_id"] = schema.NO_PRODUCT
    o["customer_id"] = ["a", None]
    o["channel"] = [None, "search"]
    # customer and channel are filled somewhere; products are only the placeholder
    assert health.missing_columns(o) == ["product_id", "province"]


def test_no_customer_column_loads_as_a_short_report(tmp_path, capsys):
    d = _lines()
    f = tmp_path / "pos.csv"
    pd.DataFrame(
        {
            "Receipt No": d["order"],
            "Sale Date": d["time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "SKU": d["sku"],
            "Qty": d["qty"],
            "Line Total": [f"${v:.2f}" for v in d["price"] * d["qty"]],
        }
    ).to_csv(f, index=False)
    cfg = _new_shop(tmp_path, [f])
    assert cfg["currency"] == "USD" and cfg["timezone"] == "America/New_York"
    assert "not found: customer_id" in capsys.readouterr().out
    _check(tmp_path, capsys)
    shop = load_shop(tmp_path / "shop", cache=False)
    assert len(shop.orders) == N and not shop.has_customers and shop.has_products
    assert shop.orders["order_id"].nunique() == N // 2


def test_day_first_or_month_first_dates_are_named_not_guessed():
    raw = pd.DataFrame({"InvoiceDate": ["12/1/2010 8:26", "13/1/2010 9:00"], "x": ["a", "b"]})
    p = onboard.propose_mapping(raw)
    assert "order_time" in p.missing
    assert p.rejected == [
        "InvoiceDate → order_time? no: dates written day or month first ('12/1/2010 8:26') "
        "are ambiguous and not read: save the column as YYYY-MM-DD"
    ]


def test_daily_files_in_a_dialect_share_one_mapping_and_one_glob(tmp_path, capsys):
    d = _lines()
    src = tmp_path / "in"
    src.mkdir()
    for day, part in d.groupby(d["time"].dt.date):
        part.rename(
            columns={"order": "Invoice", "customer": "Customer ID", "time": "InvoiceDate"}
        ).assign(InvoiceDate=part["time"].dt.strftime("%Y-%m-%d %H:%M:%S")).rename(
            columns={"sku": "StockCode", "qty": "Quantity", "price": "Price"}
        ).drop(columns="title").to_csv(src / f"{day}.csv", index=False)
    n_files = len(list(src.glob("*.csv")))
    assert n_files > 3
    cfg = _new_shop(tmp_path, [src])  # a folder
    assert cfg["orders"]["file"] == "orders/*.csv"
    assert cfg["orders"]["columns"]["order_id"] == "Invoice"
    out = _check(tmp_path, capsys)
    assert len(out) <= 40
    rep = load_report(load_shop(tmp_path / "shop", cache=False))
    assert len(rep) == n_files + 1 and rep.iloc[-1]["kept"] == N


def test_two_inputs_with_one_name_are_refused(tmp_path, capsys):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        _crm_file(tmp_path / sub)
    files = [str(tmp_path / s / "members.csv") for s in ("a", "b")]
    assert main(["new-shop", str(tmp_path / "x"), "--from", *files, "--yes"]) == 2
    err = capsys.readouterr().err
    assert err == "error: members.csv: two input files have this name: rename one\n"
