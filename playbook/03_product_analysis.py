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
abc_days = 365  # Pareto/ABC, price bands and bundles: days up to as_of
window_days = 28  # recent window: funnel, role visitors, sales velocity
horizon_days = 120  # festival nodes this far ahead are checked for stock-out risk
backtest_weeks = 52  # weeks of the shop's own history the 爆款 watch list is replayed on
n_heroes = 5  # top sellers whose bundle partners are shown
min_pair_orders = 3  # a bundle needs at least this many orders holding both products
lifecycle_min_orders = 10  # fewer orders in the last two quarters: too few to call a stage

# %%
import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import nb
from helpers.analysis import basket
from helpers.analysis import products as pr
from helpers.analysis import promotions as pm
from helpers.present import charts
from helpers.present.narrative import esc, num, pct, titled

logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no bold-CJK noise
ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="03_product_analysis")
shop = ctx.shop
A = shop.config.assumptions
prods = shop.table("products")
traffic = shop.table("traffic") if shop.has("traffic") else None
cat = pr.product_catalogue(shop.orders, prods, shop.as_of)
daily = pr.daily_product_sales(shop.orders, cat)
title_of = dict(zip(cat["product_id"], cat["title"].astype(str)))
MINE = {  # column -> this notebook's label key (p03_<column>)
    "abc",
    "abc_gp",
    "gross_profit",
    "margin",
    "price",
    "products",
    "product_share",
    "target_share",
    "mix_gap",
    "behaving",
    "behaving_share",
    "behaviour_role",
    "ctr",
    "cart_rate",
    "pay_rate",
    "stage",
    "fix",
    "age_days",
    "sales_recent",
    "trend",
    "peak_ratio",
    "lifecycle",
    "years_selling",
    "sales_4w",
    "orders_4w",
    "share_4w",
    "hot_score",
    "conversion_vs_peers",
    "cart_rate_vs_peers",
    "velocity",
    "node",
    "need_to_node",
    "shortfall",
    "reorder_by",
    "sales_per_product",
    "hero",
    "partner",
    "orders_both",
    "support",
    "confidence",
    "lift",
    "uplift",
}


ctx.own_labels = ("p03_", MINE)  # ctx.columns renames these columns to p03_<column>
ctx.say("h03_title", shop=esc(shop.config.name))
ctx.say(
    "h03_intro",
    as_of=shop.as_of.date(),
    products=num(len(cat)),
    sold=num(int((daily.groupby("product_id")["net"].sum() > 0).sum())),
    source=ctx.text("h03_source_products" if prods is not None else "h03_source_orders"),
)
ctx.missing("product_id", ctx.label("h03_what_products"))  # no product column: one sentence

# %% [markdown]
# Pareto / ABC: 20% of the goods earn 80% of the money

# %%
ctx.say("h03_abc", days=abc_days)
abc = pr.abc_analysis(daily, cat, shop.as_of, days=abc_days)
s_abc = pr.abc_summary(abc)
charts.pareto(abc, "share", "cum_share", ctx.label("h03_abc_title"))
plt.show()
ctx.table(
    ctx.columns(
        abc.assign(role=ctx.labels(abc["role"], "p03_")),
        [
            "rank",
            "title",
            "role",
            "net_sales",
            "share",
            "cum_share",
            "abc",
            "gross_profit",
            "margin",
            "abc_gp",
        ],
    ),
    money=["net_sales", "p03_gross_profit"],
    pct=["share", "cum_share", "p03_margin"],
    rows=15,
)
ctx.save("product_abc", abc, sheet="h03_abc_sheet")
ctx.say(
    "h03_abc_say",
    n_a=num(s_abc["n_a"]),
    n=num(s_abc["n_products"]),
    share_a=pct(s_abc["share_a"]),
    sales_a=pct(s_abc["sales_a"]),
    top20=pct(s_abc["top20_share"]),
    zero=num(s_abc["zero_sales"]),
    advice=ctx.text(
        "h03_abc_steep"
        if s_abc["share_a"] <= 0.2
        else "h03_abc_mid"
        if s_abc["share_a"] <= 0.4
        else "h03_abc_flat"
    ),
)
ctx.say(
    "h03_totals",
    net=ctx.fact("net_sales", "last_12m"),
    units=ctx.fact("units", "last_12m"),
    upo=ctx.fact("units_per_order", "last_12m"),
    gross=ctx.fact("gross_sales", "last_12m"),
    rr=ctx.fact("refund_rate", "last_12m"),
    days=abc_days,
)
if s_abc["n_cost"]:
    ctx.say(
        "h03_abc_gp_say",
        n_cost=num(s_abc["n_cost"]),
        n_a_gp=num(s_abc["n_a_gp"]),
        share_a_gp=pct(s_abc["share_a_gp"]),
        margin=pct(s_abc["margin"]),
        a_both=num(s_abc["a_both"]),
        a_not=num(s_abc["a_sales_not_profit"]),
    )
else:
    ctx.say("h03_abc_no_cost")

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "products": s_abc["n_products"],
        "class_a": s_abc["n_a"],
        "share_for_80pct": round(s_abc["share_a"], 4),
        "top20_sales_share": round(s_abc["top20_share"], 4),
    }
)

# %% [markdown]
# Roles: the job each product does, against the target mix

# %%
ctx.say("h03_roles")
beh = pr.role_behaviour(abc, traffic, shop.as_of, window_days)
meta = ctx.load("targets_meta") or {}
goals = ctx.load("role_mix")  # 02's role table (role, target_share), when 02 ran
if meta.get("role_mix"):
    target, target_from = meta["role_mix"], "02"
elif isinstance(goals, pd.DataFrame) and {"role", "target_share"} <= set(goals.columns):
    target, target_from = dict(zip(goals["role"], goals["target_share"])), "02"
else:
    target, target_from = A["role_mix"], "yaml"
mix = pr.role_mix(beh, target)
s_role = pr.role_summary(beh, mix)
has_vis = beh["visitors"].notna().any()
charts.role_map(
    beh[beh["net_sales"] > 0].assign(vol=beh["visitors"] if has_vis else beh["units"]),
    "vol",
    "price",
    "behaviour_role",
    ctx.label("h03_roles_title"),
    labels={k: ctx.lab(k, "p03_") for k in ("traffic", "profit", "image", "custom", "tail")},
    xlabel=ctx.label("visitors" if has_vis else "units"),
    ylabel=ctx.label("p03_price"),
    size="net_sales",
)
plt.show()
shown_mix = mix.assign(role=ctx.labels(mix["role"], "p03_"))
charts.paired_bars(
    shown_mix,
    "role",
    ["product_share", "target_share", "sales_share"],
    ctx.label("h03_mix_title"),
    labels={
        c: ctx.label(f"p03_{c}" if c in MINE else c)
        for c in ("product_share", "target_share", "sales_share")
    },
)
plt.show()
mix_cols = ["role", "products", "product_share", "target_share", "mix_gap", "sales_share"]
if s_role["basis"] == "assigned":  # with behaviour as the basis every product "behaves"
    mix_cols += ["behaving", "behaving_share"]
ctx.table(
    ctx.columns(shown_mix, mix_cols),
    pct=[
        c
        for c in (
            "p03_product_share",
            "p03_target_share",
            "p03_mix_gap",
            "sales_share",
            "p03_behaving_share",
        )
        if c.removeprefix("p03_") in mix_cols
    ],
)
ctx.save("product_role_mix", mix, sheet="h03_mix_sheet")
ctx.say(f"h03_target_from_{target_from}")
gap_text = (
    ctx.text(
        "h03_roles_over" if s_role["gap"] > 0 else "h03_roles_under",
        role=ctx.lab(s_role["gap_role"], "p03_"),
        gap=pct(abs(s_role["gap"])),
    )
    if s_role["gap_role"] is not None and abs(s_role["gap"]) >= 0.05
    else ctx.text("h03_roles_on_target")
)
if s_role["basis"] == "assigned":
    ctx.say(
        "h03_roles_say",
        n_assigned=num(s_role["n_assigned"]),
        n_match=num(s_role["n_match"]),
        match=pct(s_role["match_share"]),
        n_tail=num(s_role["n_tail"]),
        traffic=pct(s_role["traffic_sales_share"]),
        profit=pct(s_role["profit_sales_share"]),
        gap=gap_text,
    )
    off = beh[(beh["role_match"] == False) & (beh["net_sales"] > 0)]  # noqa: E712
    if len(off):
        ctx.say("h03_roles_mismatch")
        ctx.table(
            ctx.columns(
                off.assign(
                    role=ctx.labels(off["role"], "p03_"),
                    behaviour_role=ctx.labels(off["behaviour_role"], "p03_"),
                ),
                ["title", "role", "behaviour_role", "net_sales", "units", "price", "margin"],
            ),
            money=["net_sales", "p03_price"],
            pct=["p03_margin"],
            ints=["units"],
            rows=10,
        )
else:
    ctx.say("h03_roles_behaviour_say", n_tail=num(s_role["n_tail"]), gap=gap_text)
ctx.save("product_roles", beh, sheet="h03_roles_sheet")

# %% [markdown]
# Per-product funnel: keyword + picture

# %%
ctx.say("h03_funnel", days=window_days)
has_funnel = False
if not ctx.missing("traffic", ctx.label("h03_what_funnel")):
    if traffic["product_id"].notna().any():
        fun = pr.product_funnel(traffic, cat, shop.as_of, days=window_days)
        s_fun = pr.funnel_summary(fun, traffic, shop.as_of, window_days)
        has_funnel = len(fun) > 0
    else:
        ctx.say("h03_funnel_no_product_rows")
if has_funnel:
    weak = fun[fun["stage"].isin(pr.FUNNEL_STAGES)].head(15)
    if len(weak):
        hm = weak.set_index(pd.Index(titled(weak["title"].map(ctx.short), weak["product_id"])))[
            ["ctr_vs_norm", "cart_rate_vs_norm", "pay_rate_vs_norm"]
        ]
        hm.columns = [ctx.label("p03_ctr"), ctx.label("p03_cart_rate"), ctx.label("p03_pay_rate")]
        charts.heatmap(hm.astype(float), ctx.label("h03_funnel_title"), fmt=".0%", cmap="RdYlGn")
        plt.show()
    shown = fun.assign(
        title=titled(fun["title"], fun["product_id"]),
        stage=fun["stage"].map(lambda s: ctx.label(f"p03_stage_{s}")),
        fix=fun["stage"].map(lambda s: ctx.label(f"p03_fix_{s}")),
    )
    ctx.table(
        ctx.columns(
            shown,
            ["title", "visitors", "ctr", "cart_rate", "pay_rate", "conversion", "stage", "fix"],
        ),
        ints=["visitors"],
        pct=["p03_ctr", "p03_cart_rate", "p03_pay_rate", "conversion"],
        rows=15,
    )
    ctx.save("product_funnel", fun, sheet="h03_funnel_sheet")
    top = s_fun["top_stage"]
    ctx.say(
        "h03_funnel_say",
        n=num(s_fun["n_diagnosed"]),
        low=num(s_fun["n_low_traffic"]),
        click=num(s_fun["n_click"]),
        detail=num(s_fun["n_detail"]),
        checkout=num(s_fun["n_checkout"]),
        ctr=pct(s_fun["ctr_shop"]),
        cart=pct(s_fun["cart_rate_shop"]),
        pay=pct(s_fun["pay_rate_shop"]),
        advice=ctx.text(f"h03_funnel_top_{top}") if top else ctx.text("h03_funnel_none_weak"),
    )

# %% [markdown]
# Life cycle and long sellers

# %%
ctx.say("h03_lifecycle", min_orders=lifecycle_min_orders)
lc = pr.lifecycle(daily, cat, shop.as_of, min_orders=lifecycle_min_orders)
s_lc = pr.lifecycle_summary(lc)
stages = [s for s in pr.LIFECYCLE_STAGES if (lc["lifecycle"] == s).any()]
grid = pd.crosstab(lc["lifecycle"], lc["role"].fillna("none")).reindex(stages)
grid = grid[[r for r in (*charts.ROLE_COLORS, "none") if r in grid.columns]]
colors = {ctx.lab(r, "p03_"): c for r, c in charts.ROLE_COLORS.items()}
grid = grid.rename(
    index=lambda s: ctx.label(f"p03_lc_{s}"),
    columns=lambda r: ctx.label("p03_no_role") if r == "none" else ctx.lab(r, "p03_"),
)
charts.stacked_bar(grid, ctx.label("h03_lifecycle_title"), colors=colors).margins(y=0.25)
plt.show()
lc_view = lc.sort_values(
    ["long_seller", "sales_recent", "product_id"], ascending=[False, False, True], kind="stable"
)
ctx.table(
    ctx.columns(
        lc_view.assign(
            role=ctx.labels(lc_view["role"], "p03_"),
            lifecycle=lc_view["lifecycle"].map(lambda s: ctx.label(f"p03_lc_{s}")),
        ),
        [
            "title",
            "role",
            "age_days",
            "sales_recent",
            "trend",
            "peak_ratio",
            "lifecycle",
            "years_selling",
        ],
    ),
    money=["p03_sales_recent"],
    pct=["p03_peak_ratio"],
    ints=["p03_age_days", "p03_years_selling"],
    dec={"p03_trend": 2},
    rows=12,
)
ctx.save("product_lifecycle", lc, sheet="h03_lifecycle_sheet")
ctx.say(
    "h03_lifecycle_say",
    n_new=num(s_lc["n_new"]),
    n_rising=num(s_lc["n_rising"]),
    n_mature=num(s_lc["n_mature"]),
    n_declining=num(s_lc["n_declining"]),
    n_inactive=num(s_lc["n_inactive"]),
    n_thin=num(s_lc["n_thin"]),
    mature=pct(s_lc["sales_mature"]),
    declining=pct(s_lc["sales_declining"]),
    rising=pct(s_lc["sales_rising"] + s_lc["sales_new"]),
    advice=ctx.text(
        "h03_lifecycle_renew"
        if s_lc["sales_rising"] + s_lc["sales_new"] < 0.1
        else "h03_lifecycle_ok"
    ),
)
if s_lc["n_long"]:
    ctx.say(
        "h03_long_say",
        n=num(s_lc["n_long"]),
        share=pct(s_lc["long_share"]),
        top=esc(s_lc["top_long"]),
    )
else:
    ctx.say("h03_no_long")

# %% [markdown]
# 爆款倾向: the watch list

# %%
ctx.say("h03_hot")
ctx.say("h03_hot_evidence", orders=int(A["hot_min_orders"]), days=int(A["hot_min_days"]))
hot = pr.hot_tendency(
    daily,
    cat,
    shop.as_of,
    traffic=traffic,
    min_orders=int(A["hot_min_orders"]),
    min_days=int(A["hot_min_days"]),
)
s_hot = pr.hot_summary(hot)
watch = hot[hot["flag"]]
near = hot[
    ~hot["flag"]
    & ~hot["is_top"]
    & (hot["slope"] > 0)
    & (hot["growth"] > 0)
    & (hot["age_days"] <= 365)
]
shown = watch if len(watch) else near.head(5)
if len(shown):
    wk = pr.weekly_sales(daily, shown["product_id"].head(6), shop.as_of, weeks=12)
    charts.line(
        wk,
        "week_end",
        list(shown["product_id"].head(6)),
        ctx.label("h03_hot_title"),
        labels={p: title_of.get(p, p)[:16] for p in shown["product_id"]},
    )
    plt.show()
    cols = ["title", "age_days", "orders_4w", "sales_4w", "growth", "share_4w", "hot_score"]
    cols += [c for c in ("conversion_vs_peers", "cart_rate_vs_peers") if c in shown.columns]
    ctx.table(
        ctx.columns(shown, cols),
        money=["p03_sales_4w"],
        pct=["growth", "p03_share_4w"],
        ints=["p03_age_days", "p03_orders_4w"],
        dec={f"p03_{c}": 2 for c in cols if c.endswith(("score", "vs_peers"))},
        rows=10,
    )
ctx.save("hot_watchlist", watch.reset_index(drop=True), sheet="h03_hot_sheet")
if s_hot["n_flagged"]:
    ctx.say(
        "h03_hot_say",
        n=num(s_hot["n_flagged"]),
        top=esc(s_hot["top_title"]),
        share=pct(s_hot["top_share"]),
        slope=num(100 * s_hot["top_slope"], 2),
        score=num(s_hot["top_score"], 1),
    )
    if (watch["evidence"] == "thin").any():
        ctx.say(
            "h03_hot_thin",
            n=num(int((watch["evidence"] == "thin").sum())),
            names=esc(
                ("、" if lang == "zh" else ", ").join(
                    watch.loc[watch["evidence"] == "thin", "title"].astype(str).head(3)
                )
            ),
        )
else:
    ctx.say("h03_hot_none", n=num(len(near)))
start = shop.as_of - pd.Timedelta(weeks=backtest_weeks)
bt = pr.hot_backtest(
    daily,
    cat,
    start,
    shop.as_of,
    min_orders=int(A["hot_min_orders"]),
    min_days=int(A["hot_min_days"]),
)
s_bt = pr.backtest_summary(bt)
if s_bt["n_flagged"]:
    ctx.say(
        "h03_hot_backtest_say",
        weeks=backtest_weeks,
        n=num(s_bt["n_flagged"]),
        hits=num(s_bt["n_hit"]),
        precision=pct(s_bt["precision"]),
        lead=num(s_bt["median_lead_days"] / 7, 1) if s_bt["n_hit"] else "–",
        entered=num(s_bt["n_entered"]),
        recall=pct(s_bt["recall"]) if s_bt["n_entered"] else "–",
    )
else:
    ctx.say("h03_hot_backtest_none", weeks=backtest_weeks)

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "flagged_now": s_hot["n_flagged"],
        "backtest_flagged": s_bt["n_flagged"],
        "backtest_hits": s_bt["n_hit"],
    }
)

# %% [markdown]
# Stock cover and stock-out risk before the festival nodes

# %%
ctx.say(
    "h03_stock",
    horizon=horizon_days,
    model=ctx.text(
        "stock_model_explain",
        days=window_days,
        level=f"{A['service_level']:.0%}",
        buffer=int(A["receive_buffer_days"]),
    ),
)
has_stock = False
if not ctx.missing("products", ctx.label("h03_what_stock")):
    if cat["stock"].notna().any():
        events = pm.stock_events(
            pm.plan_fiscal_year(shop.as_of, shop.config.fiscal_year_start_month, meta),
            shop.config.fiscal_year_start_month,
            shop.as_of,
            shop.table("campaigns"),
            shop.config.festivals,
        )
        stock, nodes = pr.stock_risk(
            daily,
            cat,
            shop.as_of,
            shop.config.calendar,
            horizon_days=horizon_days,
            velocity_days=window_days,
            default_lead_days=int(A["lead_time_days"]),
            events=events,
            service_level=A["service_level"],
            receive_buffer_days=int(A["receive_buffer_days"]),
        )
        s_st = pr.stock_summary(stock)
        has_stock = True
    else:
        ctx.say("h03_stock_no_stock")
if has_stock:
    name_col = "name_en" if lang == "en" else "name_zh"
    node_name = dict(zip(nodes["key"], nodes[name_col].astype(str)))
    risky = stock[stock["status"].isin(["node_late", "node_risk", "low_cover"])]
    if len(risky):
        r = risky.head(15).assign(label=risky["title"].map(ctx.short))
        charts.stock_runway(
            r,
            "label",
            "stock",
            "need_to_node",
            ctx.label("h03_stock_title"),
            ctx.label("stock"),
            ctx.label("p03_need_to_node"),
        )
        plt.show()
    shown = stock.assign(
        cover_days=stock["cover_days"].where(np.isfinite(stock["cover_days"])),
        node=stock["node"].map(lambda k: node_name.get(k, k)),
        status=stock["status"].map(lambda s: ctx.label(f"p03_stock_{s}")),
    )
    ctx.table(
        ctx.columns(
            shown,
            [
                "title",
                "stock",
                "velocity",
                "cover_days",
                "node",
                "uplift",
                "need_to_node",
                "shortfall",
                "reorder_by",
                "status",
            ],
        ),
        ints=["stock", "p03_need_to_node", "p03_shortfall"],
        dec={"p03_velocity": 1, "cover_days": 0, "p03_uplift": 2},
        rows=15,
    )
    ctx.save("product_stock_risk", stock, sheet="h03_stock_sheet")
    reorders = pr.festival_stock_plan(  # every product × event row of the shared model
        daily,
        cat,
        shop.as_of,
        events[events["end"] <= shop.as_of + pd.Timedelta(days=horizon_days)],
        shop.config.festivals,
        velocity_days=window_days,
        default_lead_days=int(A["lead_time_days"]),
        service_level=A["service_level"],
        receive_buffer_days=int(A["receive_buffer_days"]),
    )
    ctx.save("stock_reorders", reorders)
    first = s_st["first_node"]
    ctx.say(
        "h03_stock_say",
        n=num(s_st["n_products"]),
        late=num(s_st["n_node_late"]),
        risk=num(s_st["n_node_risk"]),
        low=num(s_st["n_low_cover"]),
        cover=num(s_st["median_cover"]),
        units=num(s_st["units_short"]),
        advice=ctx.text(
            "h03_stock_late"
            if s_st["n_node_late"]
            else "h03_stock_risk"
            if s_st["n_node_risk"] or s_st["n_low_cover"]
            else "h03_stock_ok",
            node=node_name.get(first, first) if first else "–",
            title=esc(s_st["first_title"]) if s_st["first_title"] else "–",
        ),
    )

# %% [markdown]
# Price bands

# %%
ctx.say("h03_price")
bands = pr.price_bands(abc)
s_pb = pr.price_band_summary(bands)
charts.paired_bars(
    bands,
    "band",
    ["product_share", "sales_share"],
    ctx.label("h03_price_title"),
    labels={
        "product_share": ctx.label("p03_product_share"),
        "sales_share": ctx.label("sales_share"),
    },
)
plt.show()
ctx.table(
    ctx.columns(
        bands,
        [
            "band",
            "products",
            "product_share",
            "net_sales",
            "sales_share",
            "units",
            "sales_per_product",
            "margin",
        ],
    ),
    money=["net_sales", "p03_sales_per_product"],
    pct=["p03_product_share", "sales_share", "p03_margin"],
    ints=["p03_products", "units"],
)
ctx.save("product_price_bands", bands, sheet="h03_price_sheet")
ctx.say(
    "h03_price_say",
    top=s_pb["top_band"],
    top_share=pct(s_pb["top_share"]),
    best=s_pb["best_band"],
    best_pp=ctx.money(s_pb["best_per_product"]),
    crowded=s_pb["crowded_band"],
    crowded_share=pct(s_pb["crowded_share"]),
    crowded_sales=pct(s_pb["crowded_sales"]),
    margin=ctx.text("h03_price_margin", band=s_pb["margin_band"], margin=pct(s_pb["margin"]))
    if s_pb["margin_band"]
    else "",
)

# %% [markdown]
# Bundles: which products a hero carries

# %%
ctx.say("h03_bundles", n=n_heroes)
heroes = abc.loc[abc["net_sales"] > 0, "product_id"].head(n_heroes)
rules = basket.association_rules(
    shop.orders, as_of=shop.as_of, days=abc_days, min_orders=min_pair_orders, antecedents=heroes
)
s_b = basket.bundle_summary(rules)
best = rules[rules["lift"] > 1].groupby("antecedent", sort=False).head(3)
if len(best):
    b = best.assign(hero=best["antecedent"].map(title_of), partner=best["consequent"].map(title_of))
    charts.bar(
        b.head(12).assign(pair=b["hero"].map(ctx.short) + " → " + b["partner"].map(ctx.short)),
        "pair",
        "lift",
        ctx.label("h03_bundles_title"),
        horizontal=True,
    )
    plt.show()
    ctx.table(
        ctx.columns(
            b.assign(support=b["support"].map(lambda v: pct(v, 2))),
            ["hero", "partner", "orders_both", "support", "confidence", "lift"],
        ),
        ints=["p03_orders_both"],
        pct=["p03_confidence"],
        dec={"p03_lift": 2},
        rows=15,
    )
ctx.save(
    "product_bundles",
    rules.assign(
        antecedent_title=rules["antecedent"].map(title_of),
        consequent_title=rules["consequent"].map(title_of),
    ),
    sheet="h03_bundles_sheet",
)
if s_b["antecedent"] is not None:
    ctx.say(
        "h03_bundles_say",
        n=num(s_b["n_antecedents"]),
        heroes=num(len(heroes)),
        hero=esc(title_of.get(s_b["antecedent"], s_b["antecedent"])),
        partner=esc(title_of.get(s_b["consequent"], s_b["consequent"])),
        confidence=pct(s_b["confidence"]),
        lift=num(s_b["lift"], 1),
        orders=num(s_b["orders_both"]),
    )
else:
    ctx.say("h03_bundles_none", min_orders=min_pair_orders)

# %% [markdown]
# The product scores handed on

# %%
scores = pr.product_scores(beh, lc, hot, stock if has_stock else None, fun if has_funnel else None)
ctx.save("product_scores", scores, sheet="h03_scores_sheet")
ctx.say(
    "h03_scores_say",
    n=num(len(scores)),
    a=num(s_abc["n_a"]),
    hot=num(s_hot["n_flagged"]),
    risk=num(s_st["n_node_late"] + s_st["n_node_risk"]) if has_stock else "–",
)
