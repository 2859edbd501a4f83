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
n_heroes = 5
n_hot = 2
take_up = 0.3
band = 0.2
discount_rate = 0.1
shipping_cost = 8.0
n_boot = 1000
seed = 0
velocity_days = 28  # everyday sell-through rate: days up to as_of (as in 03)

# %%
import pandas as pd

from helpers import nb
from helpers.analysis import products as pm
from helpers.analysis import promotions as pr
from helpers.analysis import targets as tg
from helpers.deliver import workbooks
from helpers.present import charts, narrative
from helpers.present.narrative import esc, zhe

ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="05_promotion_plan")
shop = ctx.shop
cfg = shop.config
A = cfg.assumptions
end = pr.complete_through(shop.orders, shop.as_of)
meta = ctx.load("targets_meta")
fy = pr.plan_fiscal_year(shop.as_of, cfg.fiscal_year_start_month, meta)
try:
    targets, target_source = pr.plan_targets(
        shop.orders,
        fy,
        cfg.fiscal_year_start_month,
        shop.as_of,
        A["ambition"],
        ctx.load("targets_daily"),
        ctx.load("market_forecast"),
        cfg.festivals,
        cfg.targets,
        A["momentum_damping"],
    )
except tg.TargetError as e:
    ctx.say("h05_target_error", reason=ctx.text(f"tg_err_{e.key}", **e.fields))
    raise SystemExit(2) from None
margin = pr.gross_margin(shop.orders, shop.table("products"), A["gross_margin"], end)
name_col = "name_en" if lang == "en" else "name_zh"
ctx.say("h05_title", shop=esc(cfg.name), fy=fy)
ctx.say(
    "h05_intro",
    as_of=shop.as_of.date(),
    end=end.date(),
    fy=fy,
    incomplete=ctx.text("h05_incomplete", end=end.date()) if end < shop.as_of else "",
    targets=ctx.text(f"h05_target_{target_source}"),
)

# %% [markdown]
# Campaign calendar

# %%
ctx.say("h05_calendar")
forecast, history, funnel = pr.plan_campaigns(
    shop.orders,
    fy,
    cfg.fiscal_year_start_month,
    end,
    shop.table("traffic"),
    shop.table("campaigns"),
    targets,
    cfg.calendar,
    A["conversion_rate"],
    n_boot,
    seed,
)
ax = charts.campaign_timeline(
    forecast,
    name_col,
    ctx.label("h05_calendar_title"),
    {k: ctx.label(f"phase_{k}") for k in ("presale", "main", "peak")},
)
ctx.table(
    forecast[[name_col, "type", "source", "launch", "start", "end", "peak", "days"]]
    .rename(columns={name_col: "campaign"})
    .assign(
        type=lambda d: d["type"].map(lambda t: ctx.label(f"ctype_{t}").removeprefix("ctype_")),
        source=lambda d: d["source"].map(lambda t: ctx.label(f"src_{t}")),
    ),
    ints=["days"],
)
first_fy_day = pd.Timestamp(fy, cfg.fiscal_year_start_month, 1)
to_next = (forecast["launch"].iloc[0] - end).days if len(forecast) else 0
ctx.say(
    "h05_calendar_say",
    n=len(forecast),
    nodes=int((forecast["source"] == "node").sum()),
    own=int((forecast["source"] != "node").sum()),
    days=int(forecast["days"].sum()),
    before=ctx.text("h05_calendar_before", n=int((forecast["launch"] < first_fy_day).sum()), fy=fy)
    if (forecast["launch"] < first_fy_day).any()
    else "",
    next=ctx.text(
        "h05_next_soon" if to_next <= 60 else "h05_next_later",
        first=forecast[name_col].iloc[0],
        first_date=forecast["launch"].iloc[0].date(),
        days=to_next,
    )
    if len(forecast)
    else "",
)

# %% [markdown]
# Expected sales per campaign

# %%
ctx.say("h05_forecast")
ax = charts.campaign_forecast(
    forecast,
    name_col,
    ctx.label("h05_forecast_title"),
    {k: ctx.label(k) for k in ("expected_sales", "target_sales")},
)
measured = forecast.attrs.get("traffic_measured", True)  # else no visitors are shown
if not measured:
    ctx.say("h14_forecast_no_traffic")
fc_show = forecast[
    [
        name_col,
        "occurrences",
        *(["visitors", "conversion"] if measured else ["expected_orders"]),
        "order_value",
        "expected_sales",
        "sales_low",
        "sales_high",
        "target_sales",
        "vs_target",
    ]
]
fc_show = fc_show.rename(
    columns={name_col: "campaign", **({} if measured else {"order_value": "value_per_order"})}
)
ctx.table(
    fc_show,
    money=[
        c
        for c in ("order_value", "value_per_order", "expected_sales", "sales_low", "sales_high")
        + ("target_sales",)
        if c in fc_show
    ],
    pct=[c for c in ("conversion", "vs_target") if c in fc_show],
    ints=[c for c in ("occurrences", "visitors", "expected_orders") if c in fc_show],
)
biggest = forecast.sort_values("expected_sales", ascending=False, kind="stable").iloc[0]
short = forecast[forecast["vs_target"] < 0]
ctx.say(
    "h05_forecast_say" if measured else "h14_forecast_say_orders",
    total=ctx.money(forecast["expected_sales"].sum()),
    low=ctx.money(forecast["sales_low"].sum()),
    high=ctx.money(forecast["sales_high"].sum()),
    target=ctx.money(forecast["target_sales"].sum()),
    biggest=biggest[name_col],
    biggest_sales=ctx.money(biggest["expected_sales"]),
    growth=f"{forecast.attrs['visitor_growth'] - 1:+.0%}",
    prior=ctx.text("h05_forecast_prior", n=int((forecast["basis"] == "prior").sum()))
    if (forecast["basis"] == "prior").any()
    else "",
    gap=ctx.text(
        "h05_forecast_short",
        names="、".join(short[name_col]) if lang == "zh" else ", ".join(short[name_col]),
        n=len(short),
    )
    if len(short)
    else ctx.text("h05_forecast_cover"),
)

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "fy": fy,
        "campaigns": len(forecast),
        "expected_sales": round(float(forecast["expected_sales"].sum()), -3),
    }
)

# %% [markdown]
# Hero group

# %%
ctx.say("h05_heroes")
ctx.missing("product_id", ctx.label("h05_what_heroes"))
watch = ctx.load("hot_watchlist")
if watch is None:
    watch = pr.watchlist_for(shop.orders, shop.table("products"), shop.table("traffic"), end)
heroes = pr.hero_group(shop.orders, end, ctx.load("product_scores"), watch, n_heroes, n_hot)
ax = charts.bar(
    heroes.assign(name=heroes["title"].str.slice(0, 14)),
    "name",
    "net_sales",
    ctx.label("h05_heroes_title"),
    horizontal=True,
    money=True,
)
ctx.table(
    heroes.assign(reason=heroes["reason"].map(lambda r: ctx.label(f"hero_{r}"))),
    money=["net_sales", "unit_net"],
    pct=["share"],
    ints=["units"],
)
ctx.say(
    "h05_heroes_say",
    n=len(heroes),
    share=f"{heroes['share'].sum():.0%}",
    hot=ctx.text("h05_heroes_hot", n=int(heroes["reason"].isin(["hot", "hot_thin"]).sum()))
    + (ctx.text("h05_heroes_thin") if (heroes["reason"] == "hot_thin").any() else "")
    if heroes["reason"].isin(["hot", "hot_thin"]).any()
    else ctx.text("h05_heroes_nohot"),
    first=esc(heroes["title"].iloc[0]) if len(heroes) else "–",
)

# %% [markdown]
# Inventory check

# %%
ctx.say(
    "h05_stock",
    model=ctx.text(
        "stock_model_explain",
        days=velocity_days,
        level=f"{A['service_level']:.0%}",
        buffer=int(A["receive_buffer_days"]),
    ),
)
if not ctx.missing("products", ctx.label("h05_stock_what")):
    clearance = pr.clearance_candidates(
        shop.orders, shop.table("products"), end, gross_margin=margin
    )
    cat = pm.product_catalogue(shop.orders, shop.table("products"), shop.as_of)
    events = pr.stock_events(
        pr.plan_fiscal_year(shop.as_of, cfg.fiscal_year_start_month, meta),
        cfg.fiscal_year_start_month,
        shop.as_of,
        shop.table("campaigns"),
        cfg.festivals,
    )
    stock_rows = pm.festival_stock_plan(
        pm.daily_product_sales(shop.orders, cat),
        cat,
        shop.as_of,
        events,
        cfg.festivals,
        velocity_days=velocity_days,
        default_lead_days=int(A["lead_time_days"]),
        service_level=A["service_level"],
        receive_buffer_days=int(A["receive_buffer_days"]),
        product_ids=heroes["product_id"],
    )
    stock_check = pr.hero_stock(stock_rows, heroes)
    stock = pr.stock_summary(stock_check)
    event_name = dict(zip(events["campaign_id"], events[name_col].astype(str)))
    ax = charts.bar(
        stock.assign(name=stock["title"].astype(str).str.slice(0, 14)),
        "name",
        "reorder_qty",
        ctx.label("h05_stock_title"),
        horizontal=True,
    )
    ctx.table(
        stock.assign(
            status=stock["status"].map(lambda r: ctx.label(f"stock_{r}")),
            first_campaign=stock["first_campaign"].map(lambda k: event_name.get(k, "–")),
        ),
        ints=[
            "stock",
            "safety_stock",
            "campaigns",
            "campaign_units",
            "first_reorder_qty",
            "reorder_qty",
            "reorders",
        ],
    )
    late = stock_check[stock_check["status"] == "too_late"]
    ctx.say(
        "h05_stock_say",
        units=f"{stock['campaign_units'].sum():,.0f}",
        reorder=f"{stock['reorder_qty'].sum():,.0f}",
        late=ctx.text(
            "h05_stock_late",
            n_late=late["product_id"].nunique(),
            names=esc(
                ("、" if lang == "zh" else ", ").join(late["title"].astype(str).unique()[:3])
            ),
            campaign=event_name.get(late["campaign_id"].iloc[0], "–"),
        )
        if len(late)
        else ctx.text("h05_stock_ok"),
        first=stock["first_order_by"].min().date()
        if stock["first_order_by"].notna().any()
        else "–",
    )
    ctx.save("hero_stock", stock_check, sheet="h05_stock_sheet")
else:
    clearance = stock_check = None

# %% [markdown]
# Marketing strategy: spend X, save Y (满减)

# %%
ctx.say("h05_threshold")
baskets = pr.basket_values(shop.orders, end)
curve, best = pr.threshold_suggestion(
    baskets, band=band, take_up=take_up, discount_rate=discount_rate, gross_margin=margin
)
ax = charts.threshold_chart(
    baskets,
    curve,
    best["spend_x"],
    ctx.label("h05_threshold_title"),
    {k: ctx.label(k) for k in ("baskets", "lifted")},
)
ctx.table(
    curve,
    money=["spend_x", "save_y", "extra_sales", "cost", "margin_effect"],
    ints=["near", "qualifying"],
    dec={"lifted": 0, "cost_per_extra": 2},
)
marketplace = cfg.currency == "CNY" if A["marketplace"] is None else bool(A["marketplace"])
free_shipping_expected = (
    marketplace if A["free_shipping_expected"] is None else bool(A["free_shipping_expected"])
)
ctx.say(
    f"h05_threshold_say_{best['lever']}"
    + ("_own_site" if best["lever"] == "campaign_only" and not marketplace else ""),
    x=ctx.money(best["spend_x"]),
    y=ctx.money(best["save_y"]),
    median=ctx.money(best["median_basket"]),
    near=f"{best['near']:,.0f}",
    lifted=f"{best['lifted']:,.0f}",
    take_up=f"{take_up:.0%}",
    band=f"{band:.0%}",
    extra=ctx.money(best["extra_sales"]),
    cost=ctx.money(best["cost"]),
    qualifying=f"{best['qualifying']:,.0f}",
    cpe=f"{best['cost_per_extra']:.1f}",
    margin=f"{margin:.0%}",
    effect=ctx.money(best["margin_effect"]),
)

# %%
# NBVAL_CHECK_OUTPUT
print({"threshold": best["spend_x"], "discount": best["save_y"], "lifted": round(best["lifted"])})

# %% [markdown]
# Free shipping, new customers, clearance

# %%
ctx.say("h05_shipping")
ship_curve, ship = pr.free_shipping_threshold(
    baskets, shipping_cost, band=band, take_up=take_up, gross_margin=margin
)
ctx.table(
    ship_curve[["spend_x", "near", "lifted", "extra_sales", "qualifying", "cost", "margin_effect"]],
    money=["spend_x", "extra_sales", "cost", "margin_effect"],
    ints=["near", "qualifying"],
    dec={"lifted": 0},
    rows=10,
)
ctx.say(
    "h05_shipping_say_"
    + (
        "pays"
        if ship["lever"] == "threshold_pays"
        else "expected"
        if free_shipping_expected
        else "optional"
    ),
    x=ctx.money(ship["spend_x"]),
    fee=ctx.money(shipping_cost),
    lifted=f"{ship['lifted']:,.0f}",
    cost=ctx.money(ship["cost"]),
    effect=ctx.money(ship["margin_effect"]),
    below=f"{ship['below']:,}",
    below_cost=ctx.money(ship["below_cost"]),
)

# %%
ctx.say("h05_newcust")
if not ctx.missing("customer_id", ctx.label("h05_newcust_what")):
    entry, newc = pr.new_customer_offer(shop.orders, end)
    ctx.table(
        entry, money=["first_order_value"], pct=["share", "repeat_rate"], ints=["entry_customers"]
    )
    best_entry = (
        entry.sort_values(["repeat_rate", "entry_customers"], ascending=False, kind="stable").iloc[
            0
        ]
        if len(entry)
        else None
    )
    ctx.say(
        "h05_newcust_say",
        who=ctx.text(
            "h05_newcust_who",
            n=ctx.fact("new_buyers", "last_12m"),
            share=ctx.fact("new_buyer_share", "last_12m", digits=0),
        )
        if ctx.value("new_buyers", "last_12m").known
        else ctx.text("h05_newcust_who_unknown", why=ctx.fact("new_buyers", "last_12m")),
        median=ctx.money(newc.get("first_order_median")),
        repeat=f"{newc.get('repeat_rate', float('nan')):.0%}",
        x=ctx.money(newc.get("coupon_threshold")),
        y=ctx.money(newc.get("coupon")),
        entry=esc(best_entry["title"]) if best_entry is not None else "–",
        entry_repeat=f"{best_entry['repeat_rate']:.0%}" if best_entry is not None else "–",
    )

# %%
ctx.say("h05_clearance")
if not ctx.missing("products", ctx.label("h05_clearance_what")) and clearance is not None:
    ctx.table(
        clearance.assign(markdown=clearance["markdown"].map(lambda d: zhe(d, lang))),
        money=["stock_value"],
        ints=["stock", "units"],
        dec={"cover_days": 0},
        rows=10,
    )
    ctx.say(
        "h05_clearance_say",
        n=len(clearance),
        value=ctx.money(clearance["stock_value"].sum()),
        top=esc(clearance["title"].iloc[0]) if len(clearance) else "–",
    )
    ctx.save("clearance_candidates", clearance, sheet="h05_clearance_sheet")

# %% [markdown]
# Execution plan (执行案)

# %%
ctx.say("h05_execution")
tasks = pr.execution_plan(
    forecast,
    end,
    cfg.owners,
    reorders=stock_check,
    reorder_label=ctx.label("h05_reorder_task"),
    calendar=cfg.calendar,
).pipe(narrative.in_language, lang)
upcoming = forecast.iloc[0]["campaign_id"] if len(forecast) else None
ax = charts.execution_gantt(
    tasks[tasks["campaign_id"] == upcoming],
    ctx.text("h05_gantt_title", campaign=forecast.iloc[0][name_col]) if upcoming else "",
    today=end,
    window=tuple(forecast.iloc[0][["launch", "end"]]) if upcoming else None,
)
ctx.table(
    tasks.drop(columns=["campaign_id", "role_key"]).assign(
        status=tasks["status"].map(lambda t: ctx.label(f"task_{t}"))
    ),
    ints=["days"],
    rows=15,
)
xlsx = workbooks.write_plan_xlsx(
    ctx.out_dir / "execution_plan.xlsx",
    tasks.drop(columns=["role_key"]),
    labels={c: ctx.label(c) for c in tasks.columns},
    campaigns=forecast[
        [
            "campaign_id",
            name_col,
            "type",
            "launch",
            "start",
            "end",
            "peak",
            "days",
            "expected_sales",
            "sales_low",
            "sales_high",
            "target_sales",
        ]
    ]
    .rename(columns={name_col: "campaign"})
    .rename(columns=ctx.label),
    sheet_names=(ctx.label("h05_plan_sheet"), ctx.label("h05_campaigns_sheet")),
    status_labels={k: ctx.label(f"task_{k}") for k in ("late", "start_now", "planned")},
    lang=lang,
)
ctx.say(
    "h05_execution_say",
    n=len(tasks),
    campaigns=tasks["campaign_id"].nunique(),
    late=int((tasks["status"] == "late").sum()),
    now=int((tasks["status"] == "start_now").sum()),
    owners=ctx.text("h05_owners_set") if cfg.owners else ctx.text("h05_owners_missing"),
    file=xlsx.name,
)

# %%
campaign_plan = pr.with_heroes(forecast, heroes, shop.orders, history, end, clearance)
ctx.save("campaign_plan", campaign_plan, sheet="h05_campaigns_sheet")
ctx.save("execution_plan", tasks.drop(columns=["role_key"]), sheet="h05_plan_sheet")
ctx.say("h05_done", fy=fy, n=len(forecast), tasks=len(tasks))
