# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
shop_dir = "../data/sample/demo"
out_dir = "../reports/demo"
as_of = "2025-12-31"
lang = "zh"

# %%
import pandas as pd

from helpers import nb
from helpers.analysis import health, returns
from helpers.core import metrics
from helpers.load.shop import load_report, reason_groups
from helpers.present import charts

ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="00_data_health")
shop = ctx.shop
ctx.say("h00_title", shop=shop.config.name)
ctx.say("h00_intro", as_of=shop.as_of.date(), after=shop.after_as_of.get("orders", 0))

# %%
ctx.say("h00_accounting")
report = load_report(shop)
ctx.table(report, ints=["read", "kept", "rejected"])
ctx.save("load_report", report, sheet="h00_accounting_sheet")
reasons = health.reject_reasons(shop)
ctx.save("rejected_rows", shop.rejects, sheet="rejected_rows")
total = report.iloc[-1]
groups = reason_groups(shop.rejects)  # the most common reason counted across all files
top = (
    ctx.text("h00_top_reason", reason=groups.iloc[0]["reason"], rows=groups.iloc[0]["rows"])
    if len(groups)
    else ctx.text("h00_no_rejects")
)
ctx.say(
    "h00_accounting_say",
    read=f"{total['read']:,}",
    kept=f"{total['kept']:,}",
    rejected=f"{total['rejected']:,}",
    share=f"{total['rejected'] / max(total['read'], 1):.2%}",
    top=top,
)
if len(reasons):
    ctx.table(reasons, ints=["rows"], rows=10)

# %%
# NBVAL_CHECK_OUTPUT
print(report[["read", "kept", "rejected"]].iloc[-1].to_dict())

# %%
ctx.say("h00_tables")
overview = health.table_overview(shop)
ctx.table(overview, ints=["rows"])
missing = [
    t
    for t in ("products", "traffic", "ads", "keywords", "campaigns", "reviews", "issues")
    if not shop.has(t)
]
ctx.say(
    "h00_tables_say",
    n=len(overview),
    names=", ".join(overview["table"]),
    missing=", ".join(missing) or "–",
)
gone = health.missing_columns(shop.orders)
ctx.say("h00_missing_columns" if gone else "h00_no_missing_columns")
if gone:
    ctx.table(
        pd.DataFrame(
            {"h00_column": gone, "h00_turns_off": [ctx.text(f"h00_off_{c}") for c in gone]}
        )
    )

# %%
ctx.say("h00_coverage")
monthly = health.monthly_sales(shop.orders)
gaps = health.daily_gaps(shop.orders)
ax = charts.bar(
    monthly.assign(m=monthly["month"].dt.strftime("%Y-%m")),
    "m",
    "net_sales",
    ctx.label("h00_monthly_title"),
    money=True,
)
ctx.save("monthly_orders", monthly, sheet="h00_monthly_title")
longest = gaps.sort_values("days", ascending=False, kind="stable").head(1)
ctx.say(
    "h00_coverage_say",
    first=shop.orders["order_time"].min().date(),
    last=shop.orders["order_time"].max().date(),
    months=len(monthly),
    gaps=ctx.text(
        "h00_gaps",
        n=len(gaps),
        longest=int(longest["days"].iloc[0]),
        start=longest["start"].iloc[0].date(),
    )
    if len(gaps)
    else ctx.text("h00_no_gaps"),
)
tail = health.unpaid_tail(shop.orders)
if tail["days"]:
    ctx.say(
        "h00_unpaid_tail",
        days=tail["days"],
        start=tail["start"].date(),
        end=tail["end"].date(),
        orders=f"{tail['orders']:,}",
        amount=ctx.money(tail["amount"]),
        last_sale=tail["last_sale"].date(),
    )
else:
    ctx.say(
        "h00_unpaid_none",
        orders=f"{int(monthly['unpaid_orders'].sum()):,}",
        amount=ctx.money(monthly["unpaid_amount"].sum()),
    )
span = health.lookback(shop.orders, shop.as_of, metrics.LOOKBACK_MONTHS)
ctx.say(
    "h00_lookback",
    start=span["data_start"].date(),
    months=span["months"],
    lookback=metrics.LOOKBACK_MONTHS,
    split=ctx.text("h00_lookback_from", from_=span["split_from"].date()),
)
ids = health.missing_customer_ids(shop.orders)
if shop.has_customers and ids["orders"] == 0:
    ctx.say("h00_ids_all")
elif shop.has_customers:
    ctx.say(
        "h00_ids",
        orders=f"{ids['orders']:,}",
        order_share=f"{ids['order_share']:.1%}",
        net_share=f"{ids['net_share']:.1%}",
        advice=ctx.text("h00_ids_high" if ids["order_share"] > 0.05 else "h00_ids_ok"),
    )
else:
    ctx.say("h00_ids_none")

# %% [markdown]
# Key figures, as every page states them

# %%
ctx.say("h00_kpis")
year = metrics.last_full_year(shop.as_of)
ctx.table(ctx.values_table(metrics.year_periods(shop.orders, shop.as_of)), rows=30)
ctx.say(
    "h00_kpis_say",
    year=year,
    net=ctx.fact("net_sales", year),
    gross=ctx.fact("gross_sales", year),
    rr=ctx.fact("refund_rate", year),
    orders=ctx.fact("orders", year),
    units=ctx.fact("units", year),
    buyers=ctx.fact("buyers", year),
    rpb=ctx.fact("revenue_per_buyer", year),
    aov=ctx.fact("aov", year),
    rep=ctx.fact("repurchase_rate", year),
    split=ctx.text(
        "h00_kpis_split",
        new=ctx.fact("new_buyers", year),
        ret=ctx.fact("returning_buyers", year),
        ret_sales=ctx.fact("returning_sales_share", year),
    )
    if ctx.value("new_buyers", year).known
    else ctx.text("h00_kpis_split_unknown", why=ctx.fact("new_buyers", year)),
)
if ctx.value("visitors", year).known:
    ctx.say(
        "h00_kpis_traffic",
        visitors=ctx.fact("visitors", year),
        conv=ctx.fact("conversion_rate", year, digits=2),
        uv=ctx.fact("uv_value", year),
    )

# %%
ctx.say("h00_status")
shares = health.status_shares(shop.orders)
ctx.table(
    shares,
    money=["paid_amount", "refund_amount"],
    pct=["order_share"],
    ints=["orders"],
    values=["status"],
)
rr = ctx.value("refund_rate", "to_date")
cancel = shares.set_index("status")["order_share"].get("cancelled", 0.0)
ret = returns.return_summary(shop.orders)  # credit notes of merchandise, as below
credit = ret["order_return_rate"] if ret["return_lines"] else 0.0
ctx.say(
    "h00_status_say",
    refund=ctx.fact("refund_rate", "to_date"),
    cancel=f"{cancel:.1%}",
    advice=ctx.text("h00_refund_high" if float(rr) > 0.08 else "h00_refund_ok")
    + (ctx.text("h14_status_returns", share=f"{credit:.1%}") if credit else ""),
)

# %%
# Returns / credit notes and non-merchandise lines: shown when the shop has any
if ret["return_lines"]:
    ctx.say("h14_returns", window=shop.config.returns["window_days"])
    ctx.say(
        "h14_returns_say",
        gross=ctx.money(ret["gross_sales"]),
        returns=ctx.money(ret["returns"]),
        net=ctx.money(ret["net_sales"]),
        order_rate=f"{ret['order_return_rate']:.1%}",
        unit_rate=f"{ret['unit_return_rate']:.1%}",
        money_rate=f"{ret['money_return_rate']:.1%}",
        lines=ret["return_lines"],
        matched=ret["matched_lines"],
        unmatched=ret["unmatched_lines"],
        unmatched_money=ctx.money(ret["unmatched_returns"]),
    )
    ret_monthly = returns.monthly_returns(shop.orders)
    ctx.say("h14_returns_monthly")
    ctx.table(
        ret_monthly[
            [
                "month",
                "orders",
                "return_orders",
                "order_return_rate",
                "units_sold",
                "units_returned",
                "unit_return_rate",
                "gross_sales",
                "returns",
                "money_return_rate",
            ]
        ],
        money=["gross_sales", "returns"],
        pct=["order_return_rate", "unit_return_rate", "money_return_rate"],
        ints=["orders", "return_orders", "units_sold", "units_returned"],
        rows=24,
    )
    ret_products = returns.product_returns(shop.orders)
    ctx.say("h14_returns_products")
    ctx.table(
        ret_products,
        money=["gross_sales", "returns"],
        pct=["unit_return_rate", "money_return_rate"],
        ints=["units_sold", "units_returned"],
        rows=10,
    )
    over = returns.over_returns(shop.orders)
    if len(over):
        ctx.say("h14_over_returns", n=len(over))
        ctx.table(over, ints=["units_returned", "units_sold_before"], rows=10)
    ctx.save("returns_monthly", ret_monthly, sheet="h14_returns_monthly_sheet")
    ctx.save("returns_products", ret_products, sheet="h14_returns_products_sheet")
non_merch = returns.non_merchandise_totals(shop.orders, shop.config.non_merchandise)
if len(non_merch):
    ctx.say(
        "h14_non_merch",
        parts=("；" if lang == "zh" else "; ").join(
            ctx.text("h14_part", kind=ctx.label(r.kind), money=ctx.money(r.net))
            for r in non_merch.itertuples()
        ),
    )
    ctx.table(non_merch, money=["charged", "credited", "net"], ints=["lines"], values=["kind"])
    ctx.save("non_merchandise", non_merch, sheet="h14_non_merch_sheet")

# %% [markdown]
# Glossary: every metric of the report, from the metric layer

# %%
ctx.say("h00_glossary")
glossary = metrics.glossary(lang)
ctx.table(glossary.drop(columns="metric_id"), rows=len(glossary))
ctx.save("glossary", metrics.glossary_table(), sheet="h00_glossary_sheet")
