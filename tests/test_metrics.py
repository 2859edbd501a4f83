"""The metric layer: each metric pinned to a hand computation; facts, clashes, the glossary;
data health's unpaid tail, missing ids and look-back; one playbook run per sample shop whose
facts.json must hold at least 15 figures from every page and no clash."""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import pandas as pd
import pytest

from helpers import nb
from helpers.analysis import health
from helpers.core import metrics
from helpers.load import artifacts
from helpers.present import narrative

COLS = [
    "order_id",
    "line_id",
    "customer_id",
    "order_time",
    "status",
    "quantity",
    "paid_amount",
    "refund_amount",
    "is_return",
]


def table(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLS)
    df["order_time"] = pd.to_datetime(df["order_time"])
    return df


# c1 first buys in Jan 2024 (the data's first day is 2024-01-05), c2 in March 2024; c3 first
# buys in Feb 2025; c4 only ever has a fully refunded order (never a buyer); O7 has no id;
# O8 is unpaid (not a sale); R1 is a return (credit note) of c1 netting -25.
ORD = table(
    [
        ("O1", "1", "c1", "2024-01-05 10:00", "paid", 1, 100.0, 0.0, False),
        ("O2", "1", "c2", "2024-03-10 09:00", "paid", 2, 200.0, 0.0, False),
        ("O3", "1", "c1", "2025-02-01 12:00", "paid", 1, 50.0, 0.0, False),
        ("O3", "2", "c1", "2025-02-01 12:00", "partially_refunded", 1, 40.0, 10.0, False),
        ("O4", "1", "c3", "2025-02-15 08:00", "paid", 3, 90.0, 0.0, False),
        ("R1", "1", "c1", "2025-02-20 08:00", "returned", -1, -25.0, 0.0, True),
        ("O5", "1", "c3", "2025-03-01 08:00", "refunded", 1, 60.0, 60.0, False),
        ("O6", "1", "c4", "2025-03-01 09:00", "refunded", 1, 70.0, 70.0, False),
        ("O7", "1", None, "2025-04-01 09:00", "paid", 1, 30.0, 0.0, False),
        ("O8", "1", "c2", "2025-05-05 09:00", "pending", 1, 500.0, 0.0, False),
        ("O9", "1", "c3", "2025-06-10 09:00", "paid", 1, 20.0, 0.0, False),
        ("O10", "1", "c2", "2025-06-11 09:00", "cancelled", 1, 45.0, 0.0, False),
    ]
)
AS_OF = "2025-06-30"


def v(metric, period, segment="all", orders=ORD, **kw):
    return metrics.compute(metric, orders, period, segment, as_of=AS_OF, **kw)


# --- each metric by hand ----------------------------------------------------------------------


def test_sales_amounts_by_hand():
    # 2025 sale lines: O3 50 + (40-10) + O4 90 + O5 0 + O6 0 + O7 30 + O9 20 + return R1 -25
    assert v("net_sales", "2025").value == pytest.approx(195.0)
    # gross: paid on merchandise lines that are not returns: 50+40+90+60+70+30+20
    assert v("gross_sales", "2025").value == pytest.approx(360.0)
    assert v("refunds", "2025").value == pytest.approx(165.0)
    assert v("refund_rate", "2025").value == pytest.approx(165 / 360)
    assert v("net_sales", "2024").value == pytest.approx(300.0)


def test_counts_leave_out_refunded_orders_returns_and_unpaid():
    # orders paid and not fully refunded: O3, O4, O7, O9 (O5, O6 fully refunded; R1 a return;
    # O8 pending, O10 cancelled)
    assert v("orders", "2025").value == 4
    assert v("units", "2025").value == 1 + 1 + 3 + 1 + 1
    # buyers: c1 (O3), c3 (O4, O9); c4 only refunded, O7 has no id
    assert v("buyers", "2025").value == 2
    assert v("aov", "2025").value == pytest.approx(195 / 4)
    assert v("revenue_per_buyer", "2025").value == pytest.approx(195 / 2)
    assert v("units_per_order", "2025").value == pytest.approx(7 / 4)
    # repurchase: c3 placed two orders (O4, O9), c1 one
    assert v("repurchase_rate", "2025").value == pytest.approx(0.5)


def test_a_return_is_marked_by_its_status_not_an_input_column():
    no_flag = ORD.drop(columns="is_return")
    # sales lines mark R1 as a return from its status ("returned"): still four orders
    assert v("orders", "2025", orders=no_flag).value == 4
    assert v("net_sales", "2025", orders=no_flag).value == pytest.approx(195.0)


def test_new_and_returning_in_a_known_month():
    # Feb 2025 needs data from Feb 2024: covered. c1 first bought in 2024 -> returning,
    # c3's first purchase is 2025-02-15 -> new
    assert v("new_buyers", "2025-02").value == 1
    assert v("returning_buyers", "2025-02").value == 1
    assert v("returning_buyer_share", "2025-02").value == pytest.approx(0.5)
    assert v("new_buyer_share", "2025-02").value == pytest.approx(0.5)
    # returning net: c1's O3 50 + 30 and return -25 = 55; new: c3's O4 90
    assert v("net_sales", "2025-02", "returning").value == pytest.approx(55.0)
    assert v("net_sales", "2025-02", "new").value == pytest.approx(90.0)
    assert v("returning_sales_share", "2025-02").value == pytest.approx(55 / 145)
    assert v("new_sales_share", "2025-02").value == pytest.approx(90 / 145)
    assert v("buyers", "2025-02", "new").value == 1


def test_left_censored_split_is_not_known():
    # 2025 needs data from 2024-01-01; the data starts 2024-01-05
    for m in ("new_buyers", "returning_buyers", "returning_sales_share", "new_buyer_share"):
        out = v(m, "2025")
        assert not out.known and out.value is None and out.reason == "lookback"
        assert out.data_start == pd.Timestamp("2024-01-05")
        assert out.needed_from == pd.Timestamp("2024-01-01")
        assert out.fact()["value"] is None
    assert not v("net_sales", "2025", "new").known
    # a shorter look-back (5 months) makes last_12m (2024-07-01 .. 2025-06-30) known:
    # c3 is new, c1 returning (c2 has only an unpaid order in the window)
    assert v("new_buyers", "last_12m", lookback_months=5).value == 1
    assert v("returning_buyers", "last_12m", lookback_months=5).value == 1


def test_a_month_without_sales_says_so():
    # March 2025: only fully refunded orders
    assert v("orders", "2025-03").value == 0
    assert v("net_sales", "2025-03").value == 0.0
    out = v("aov", "2025-03")
    assert not out.known and out.reason == "empty"


def test_windows():
    assert metrics.year(2025) == metrics.Window(
        pd.Timestamp("2025-01-01"), pd.Timestamp("2026-01-01"), "2025"
    )
    fy = metrics.window("FY2024", start_month=4)
    assert (fy.start, fy.end, fy.key) == (
        pd.Timestamp("2024-04-01"),
        pd.Timestamp("2025-04-01"),
        "FY2024",
    )
    m = metrics.window("2025-11")
    assert (m.start, m.end) == (pd.Timestamp("2025-11-01"), pd.Timestamp("2025-12-01"))
    last = metrics.window("last_12m", as_of="2025-06-30")
    assert (last.start, last.end) == (pd.Timestamp("2024-07-01"), pd.Timestamp("2025-07-01"))
    assert metrics.last_full_year("2025-12-31") == 2025
    assert metrics.last_full_year("2025-12-30") == 2024
    with pytest.raises(ValueError, match="unknown period"):
        metrics.window("Q3")
    # FY2024 from April: O3..O6 (Feb-Mar 2025) and O2? no (March 2024): 50+30+90-25+0+0
    assert v("net_sales", "FY2024", start_month=4).value == pytest.approx(145.0)


def test_traffic_metrics_only_with_shop_level_traffic():
    traffic = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-02-01", "2025-02-02", "2025-02-02"]),
            "product_id": [None, None, "P1"],  # the product row is not the shop's
            "visitors": [100, 100, 999],
        }
    )
    assert v("visitors", "2025-02", traffic=traffic).value == 200
    assert v("conversion_rate", "2025-02", traffic=traffic).value == pytest.approx(2 / 200)
    assert v("uv_value", "2025-02", traffic=traffic).value == pytest.approx(145 / 200)
    out = v("conversion_rate", "2025-02")
    assert not out.known and out.reason == "no_traffic"


def test_buyer_metrics_without_ids_are_not_known():
    anon = ORD.assign(customer_id=None)
    out = v("buyers", "2025", orders=anon)
    assert not out.known and out.reason == "no_customers"
    assert v("orders", "2025", orders=anon).value == 4


def test_unknown_metric_or_segment():
    with pytest.raises(KeyError, match="unknown metric"):
        v("gmv", "2025")
    with pytest.raises(ValueError, match="no segment"):
        v("new_buyers", "2025-02", "new")


# --- facts and clashes ------------------------------------------------------------------------


def test_clashes_find_two_values_for_one_figure():
    f = [
        {"metric": "new_buyers", "period": "2025", "segment": "all", "value": 2219, "page": "01"},
        {"metric": "new_buyers", "period": "2025", "segment": "all", "value": 2194, "page": "02"},
        {"metric": "net_sales", "period": "2025", "segment": "all", "value": 10.0, "page": "01"},
        {"metric": "net_sales", "period": "2025", "segment": "all", "value": 10.0, "page": "02"},
    ]
    c = metrics.clashes(f)
    assert sorted(c["value"]) == [2194, 2219] and set(c["page"]) == {"01", "02"}
    assert metrics.clashes(f[2:]).empty
    # an alias: buyers of the new segment are the new buyers
    alias = [f[0], {**f[1], "metric": "buyers", "segment": "new", "value": 2194}]
    assert len(metrics.clashes(alias)) == 2
    # the same days under two names (FY from January)
    days = {"from": "2025-01-01", "to": "2025-12-31"}
    same = [{**f[2], **days}, {**f[3], "period": "FY2025", "value": 11.0, **days}]
    assert len(metrics.clashes(same)) == 2
    # a figure known on one page and "not known" on another clashes too
    assert len(metrics.clashes([f[2], {**f[3], "value": None}])) == 2


def _ctx(tmp_path, page="p1", orders=ORD):
    shop = types.SimpleNamespace(
        orders=orders,
        as_of=pd.Timestamp(AS_OF),
        config=types.SimpleNamespace(fiscal_year_start_month=1, currency="CNY"),
        table=lambda name: None,
        has_customers=True,
    )
    return nb.Context(shop, tmp_path, "zh", page)


def test_ctx_fact_formats_and_records(tmp_path):
    ctx = _ctx(tmp_path)
    assert ctx.fact("net_sales", "2025") == "¥195"
    assert ctx.fact("buyers", "2025") == "2"
    assert ctx.fact("returning_buyer_share", "2025-02") == "50.0%"
    assert ctx.fact("new_buyers", "2025").startswith("未知（数据始于 2024-01-05")
    ctx.fact("net_sales", "2025")  # stated twice: recorded once
    facts = artifacts.load_facts(tmp_path)
    assert len(facts) == 4
    assert facts[0] == {
        "metric": "net_sales",
        "period": "2025",
        "segment": "all",
        "value": 195.0,
        "page": "p1",
        "from": "2025-01-01",
        "to": "2025-12-31",
    }
    assert facts[3]["value"] is None
    _ctx(tmp_path, "p2").fact("net_sales", "2025")
    artifacts.clear_facts(tmp_path, "p1")
    assert [f["page"] for f in artifacts.load_facts(tmp_path)] == ["p2"]


def test_glossary_from_the_catalogue():
    for lang in ("zh", "en"):
        g = metrics.glossary(lang)
        assert list(g["metric_id"]) == list(metrics.METRICS)
        for key in ("metric_name", "metric_definition", "metric_unit"):
            assert g[key].str.len().gt(0).all()
        assert not g["metric_name"].str.startswith("metric_").any()  # no missing message
        assert g["metric_name"].is_unique
    zh = metrics.glossary("zh").set_index("metric_id")["metric_name"]
    en = metrics.glossary("en").set_index("metric_id")["metric_name"]
    assert zh["revenue_per_buyer"] == "客单价" and en["revenue_per_buyer"] == "revenue per buyer"
    assert zh["aov"] == "笔单价" and en["aov"] == "average order value"
    both = metrics.glossary_table()
    assert set(both.columns) >= {"name_zh", "name_en", "definition_zh", "definition_en"}
    cat = narrative.catalogue()
    for m in metrics.METRICS:
        assert cat[f"metric_{m}"]["zh"] and cat[f"metric_{m}_def"]["en"]


# --- data health ------------------------------------------------------------------------------


def test_monthly_sales_keeps_unpaid_apart():
    m = health.monthly_sales(ORD).set_index("month")
    may = m.loc[pd.Timestamp("2025-05-01")]
    assert may["net_sales"] == 0 and may["orders"] == 0
    assert may["unpaid_orders"] == 1 and may["unpaid_amount"] == 500.0
    feb = m.loc[pd.Timestamp("2025-02-01")]
    assert feb["net_sales"] == pytest.approx(145.0) and feb["orders"] == 2
    assert m["net_sales"].sum() == pytest.approx(495.0)  # 2024 300 + 2025 195


def test_unpaid_tail():
    tail = table(
        [
            ("T1", "1", "c9", "2025-06-12 09:00", "pending", 1, 15.0, 0.0, False),
            ("T2", "1", "c9", "2025-06-14 09:00", "pending", 1, 25.0, 0.0, False),
        ]
    )
    t = health.unpaid_tail(pd.concat([ORD, tail], ignore_index=True))
    # the last sale is O9 on 2025-06-10; the cancelled O10 (06-11) is not a sale but not unpaid
    assert t["days"] == 3 and t["start"] == pd.Timestamp("2025-06-12")
    assert t["end"] == pd.Timestamp("2025-06-14")
    assert t["orders"] == 2 and t["amount"] == 40.0
    assert t["last_sale"] == pd.Timestamp("2025-06-10")
    assert health.unpaid_tail(ORD.iloc[:-1])["days"] == 0


def test_missing_ids_and_lookback():
    ids = health.missing_customer_ids(ORD)
    # orders paid and not fully refunded: O1 O2 O3 O4 O7 O9; O7 has no id
    assert ids["orders"] == 1 and ids["order_share"] == pytest.approx(1 / 6)
    assert ids["net"] == 30.0 and ids["net_share"] == pytest.approx(30 / 495)
    lb = health.lookback(ORD, AS_OF)
    assert lb["data_start"] == pd.Timestamp("2024-01-05")
    assert lb["split_from"] == pd.Timestamp("2025-01-05")
    assert lb["months"] == 18


def test_monthly_split_tables_are_censored():
    from helpers.analysis import customers, review

    co = customers.customer_orders(ORD, AS_OF)
    nvr = customers.new_vs_returning(co, AS_OF, known_from=metrics.split_from(ORD))
    jan24 = nvr[nvr["month"] == pd.Timestamp("2024-01-01")].iloc[0]
    assert pd.isna(jan24["new_customers"]) and pd.isna(jan24["returning_share"])
    feb25 = nvr[nvr["month"] == pd.Timestamp("2025-02-01")].iloc[0]
    assert feb25["new_customers"] == 1 and feb25["returning_customers"] == 1
    cs = review.customer_summary(ORD, AS_OF).set_index("month")
    feb = cs.loc[pd.Timestamp("2025-02-01")]
    assert feb["buyers"] == 2 and feb["new_buyers"] == 1 and feb["orders"] == 2


# --- the playbook, once per shop --------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p.stem for p in sorted((ROOT / "playbook").glob("[0-9][0-9]_*.py"))]


@pytest.fixture(scope="module")
def playbook_sources(tmp_path_factory) -> Path:
    """The notebooks' .py sources alone, so the run executes what is committed as source."""
    d = tmp_path_factory.mktemp("playbook")
    for p in (ROOT / "playbook").glob("[0-9][0-9]_*.py"):
        shutil.copy(p, d / p.name)
    return d


@pytest.fixture(scope="module")
def midstream_shop(tmp_path_factory) -> Path:
    """A generated shop whose order history starts mid-stream: customers bought before the
    export's first day (2024-09-17), so they look new at first."""
    from helpers.datasets import sample

    t = sample.generate(5, sample.SampleSize(n_customers=700, n_products=40, start="2023-01-01"))
    t["orders"] = t["orders"][t["orders"]["order_time"] >= "2024-09-17"].reset_index(drop=True)
    d = tmp_path_factory.mktemp("midstream") / "midstream"
    return sample.write_canonical_shop(t, d, "中途店", salt="mid-salt")


def _run(shop_dir: Path, out: Path, playbook_dir: Path) -> list[dict]:
    from helpers.run import runner

    res = runner.run_shop(shop_dir, out, progress=False, playbook_dir=playbook_dir, jobs=1)
    assert res.ok, res.failures
    return json.loads((out / "artifacts" / "facts.json").read_text(encoding="utf-8"))


def _check(facts: list[dict]) -> None:
    assert len(facts) >= 15, len(facts)
    assert {f["page"] for f in facts} == set(PAGES)
    c = metrics.clashes(facts)
    assert c.empty, c.to_string()


@pytest.mark.slow
@pytest.mark.parametrize("shop", ["demo", "taobao", "shopify"])
def test_playbook_facts_agree(shop, playbook_sources, tmp_path):
    facts = _run(ROOT / "data" / "sample" / shop, tmp_path / shop, playbook_sources)
    _check(facts)
    kpis = json.loads((tmp_path / shop / "run.json").read_text(encoding="utf-8"))["kpis"]
    stated = {(f["metric"], f["period"]): f["value"] for f in facts}
    if ("net_sales", "last_12m") in stated:  # the front page states what the pages state
        assert kpis["net_sales_12m"] == pytest.approx(stated["net_sales", "last_12m"])
    if shop == "demo":
        # the demo's 2025 net sales, on every page that states it, against plain pandas
        o = pd.read_csv(ROOT / "data" / "sample" / "demo" / "orders.csv", dtype=str)
        y = o[o["order_time"].str.startswith("2025")]
        y = y[y["status"].isin(["paid", "partially_refunded", "refunded"])]
        plain = (y["paid_amount"].astype(float) - y["refund_amount"].astype(float)).sum()
        both = [
            f
            for f in facts
            if f["metric"] == "net_sales" and (f["from"], f["to"]) == ("2025-01-01", "2025-12-31")
        ]
        assert {f["page"] for f in both} >= {"00_data_health", "02_target_setting"}
        assert len({f["page"] for f in both}) >= 3
        for f in both:
            assert f["value"] == pytest.approx(plain, abs=0.01), f
        assert kpis["net_sales_12m"] == pytest.approx(plain, abs=0.01)


@pytest.mark.slow
def test_playbook_midstream_says_not_known(midstream_shop, playbook_sources, tmp_path):
    facts = _run(midstream_shop, tmp_path / "mid", playbook_sources)
    _check(facts)
    split = [
        f
        for f in facts
        if f["metric"] in ("returning_sales_share", "new_buyers", "returning_buyer_share")
        and f["period"] in ("2025", "last_12m")
    ]
    # the data starts 2024-09-17: no period from 2025 on has the 12-month look-back
    assert split and all(f["value"] is None for f in split)
