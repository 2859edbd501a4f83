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
top_n = 10  # rows shown in the keyword, term and product tables
crowd_days = 365  # window of the crowd profile

# %%
import logging

import matplotlib.pyplot as plt
import pandas as pd

from helpers import nb
from helpers.analysis import market, text
from helpers.present import charts
from helpers.present.narrative import esc, pct

ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="01_market_positioning")
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no bold CJK face: fine
shop = ctx.shop
start_month = shop.config.fiscal_year_start_month
A = shop.config.assumptions
ctx.say("h01_title", shop=ctx.md(shop.config.name))
ctx.say("h01_intro", as_of=shop.as_of.date(), start_month=start_month)


JOIN = "、" if lang == "zh" else ", "
VALUE_LABELS = {"mobile", "pc", "other", "new", "returning", "unknown"}

# %% [markdown]
# Market size

# %%
ctx.say("h01_size")
has_kw = not ctx.missing("keywords", ctx.label("h01_what_keywords"))
if has_kw:
    view = market.analyse(
        shop.table("keywords"), shop.orders, shop.table("traffic"), A, start_month, shop.as_of
    )
    has_kw = len(view.sized) > 0
if has_kw:
    ctx.say(
        "h01_size_sources",
        **{
            k: ", ".join(
                f"{ctx.label('mk_src_' + s)} {pct(v, 0)}" for s, v in view.sources[f].items()
            )
            for k, f in (
                ("click", "click_rate"),
                ("conv", "conversion_rate"),
                ("aov", "order_value"),
            )
        },
    )
    q = view.quarters.pivot(index="period", columns="key", values="market_size").fillna(0)
    q = q[view.forecast["key"][view.forecast["key"] != market.TOTAL].tolist()]
    charts.legend_outside(charts.money_axis(charts.stacked_bar(q, ctx.label("h01_size_title"))))
    plt.show()
    yrs = view.years.pivot(index="key", columns="period", values="market_size")
    yrs = yrs.reindex(q.columns).rename_axis("group").reset_index().rename_axis(columns=None)
    ctx.table(yrs, money=[c for c in yrs.columns if c != "group"])
    ctx.save("market_years", view.years, sheet="h01_size_sheet")
    ctx.save("market_keyword_months", view.sized, sheet="h01_months_sheet")
    ctx.save("market_periods", view.periods, sheet="h01_periods_sheet")
    fc = view.forecast
    groups = fc[fc["key"] != market.TOTAL]
    tot = fc[fc["key"] == market.TOTAL].iloc[0]
    change = tot["market_last_year"] / tot["market_prev_year"] - 1
    fastest = groups.sort_values(["growth_mean", "key"], ascending=[False, True]).iloc[0]
    ctx.say(
        "h01_size_say",
        fy=tot["last_fy"],
        n=view.sized["keyword"].nunique(),
        total=ctx.money(tot["market_last_year"]),
        change=ctx.text("h01_size_first")
        if pd.isna(change)
        else ctx.text("h01_size_up" if change >= 0 else "h01_size_down", g=pct(abs(change))),
        top=ctx.md(groups.iloc[0]["key"]),
        top_share=pct(groups.iloc[0]["market_last_year"] / tot["market_last_year"]),
        fastest=ctx.md(fastest["key"]),
        fastest_growth=pct(fastest["growth_mean"]),
    )

# %% [markdown]
# Next year's market

# %%
ctx.say("h01_forecast")
if has_kw:
    fcast = view.artifact
    show = fc.assign(key=fc["key"].replace({market.TOTAL: ctx.label("mk_total")})).rename(
        columns={"key": "group"}
    )
    charts.range_bars(
        show[show["group"] != ctx.label("mk_total")],
        "group",
        "market_next",
        "market_next_low",
        "market_next_high",
        ctx.label("h01_forecast_title"),
        ref="market_last_year",
        labels={c: ctx.label(c) for c in ("market_next", "range", "market_last_year")},
    )
    plt.show()
    ctx.table(
        show[
            [
                "group",
                "years",
                "market_last_year",
                "market_mean",
                "growth_mean",
                "growth_low",
                "growth_high",
                "growth_n",
                "market_next",
                "market_next_low",
                "market_next_high",
                "market_next_from_last",
            ]
        ],
        money=[
            "market_last_year",
            "market_mean",
            "market_next",
            "market_next_low",
            "market_next_high",
            "market_next_from_last",
        ],
        pct=["growth_mean", "growth_low", "growth_high"],
    )
    ctx.save("market_forecast_groups", show, sheet="h01_forecast_sheet")
    if fcast["growth_n"]:
        ctx.say(
            "h01_forecast_say",
            next=ctx.money(fcast["market_next_year"]),
            low=ctx.money(fcast["market_next_low"]),
            high=ctx.money(fcast["market_next_high"]),
            years=fcast["years"],
            mean=ctx.money(fcast["market_mean"]),
            g=pct(fcast["growth_mean"]),
            glo=pct(fcast["growth_low"]),
            ghi=pct(fcast["growth_high"]),
            n=fcast["growth_n"],
            last=ctx.money(fcast["market_last_year"]),
            from_last=ctx.money(fcast["market_next_from_last"]),
            advice=ctx.text(
                "h01_forecast_wide"
                if fcast["growth_high"] - fcast["growth_low"] > 0.2
                else "h01_forecast_narrow"
            ),
        )
    else:
        ctx.say("h01_forecast_nogrowth", last=ctx.money(fcast["market_last_year"]))
else:
    fcast = market.market_forecast(None, shop.orders, None, A, start_month)
    ctx.say(
        "h01_forecast_shop",
        g=pct(fcast["growth_mean"]),
        glo=pct(fcast["growth_low"]),
        ghi=pct(fcast["growth_high"]),
        n=fcast["growth_n"],
    )
ctx.save("market_forecast", fcast)

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "source": fcast["source"],
        "growth_mean": round(fcast["growth_mean"], 3),
        "market_next_year": None
        if fcast["market_next_year"] is None
        else round(fcast["market_next_year"], -3),
    }
)

# %% [markdown]
# Keyword opportunities

# %%
if has_kw:
    ctx.say("h01_opportunity")
    kw = view.keywords
    top = kw.head(top_n)
    charts.bar(
        top, "keyword", "opportunity_index", ctx.label("h01_opportunity_title"), horizontal=True
    )
    plt.show()
    ctx.table(
        top[
            [
                "rank",
                "keyword",
                "group",
                "market_last_year",
                "growth_mean",
                "competition",
                "opportunity",
                "opportunity_index",
            ]
        ],
        money=["market_last_year"],
        pct=["growth_mean"],
        ints=["competition"],
        dec={"opportunity": 2, "opportunity_index": 0},
    )
    ctx.save("keyword_opportunity", kw, sheet="h01_opportunity_sheet")
    shrink = kw[kw["growth_mean"] < 0]
    best = kw.iloc[0]
    ctx.say(
        "h01_opportunity_say",
        top=ctx.md(best["keyword"]),
        top_group=ctx.md(best["group"]),
        top_size=ctx.money(best["market_last_year"]),
        top_growth=pct(best["growth_mean"]),
        top3=JOIN.join(ctx.md(k) for k in kw["keyword"].head(3)),
        shrinking=(
            ctx.text(
                "h01_opportunity_shrinking",
                n=len(shrink),
                names=JOIN.join(ctx.md(k) for k in shrink["keyword"].head(5)),
            )
            if len(shrink)
            else ctx.text("h01_opportunity_none_shrinking")
        )
        + (
            ctx.text("h01_opportunity_nocomp")
            if shop.table("keywords")["online_products"].isna().all()
            else ""
        ),
    )

# %% [markdown]
# Price bands

# %%
ctx.say("h01_price")
bands = market.price_bands(shop.orders, view.sized if has_kw else None)
has_market_price = bands["market_share"].notna().any()
charts.paired_bars(
    bands,
    "band",
    ["shop_share", "market_share"] if has_market_price else ["shop_share"],
    ctx.label("h01_price_title"),
    labels={c: ctx.label(c) for c in ("shop_share", "market_share")},
)
plt.show()
ctx.table(
    bands[["band", "shop_sales", "shop_share", "market_size", "market_share", "share_gap"]],
    money=["shop_sales", "market_size"],
    pct=["shop_share", "market_share", "share_gap"],
)
ctx.save("price_bands", bands, sheet="h01_price_sheet")
ctx.say(
    "h01_price_total",
    net=ctx.fact("net_sales", "last_12m"),
    orders=ctx.fact("orders", "last_12m"),
    aov=ctx.fact("aov", "last_12m"),
)
shop_top = bands.loc[bands["shop_share"].idxmax()]
if has_market_price:
    mkt_top = bands.loc[bands["market_share"].idxmax()]
    gap = bands.loc[bands["share_gap"].idxmax()]
    ctx.say(
        "h01_price_say",
        shop_band=shop_top["band"],
        shop_share=pct(shop_top["shop_share"]),
        mkt_band=mkt_top["band"],
        mkt_share=pct(mkt_top["market_share"]),
        gap_band=gap["band"],
        gap_mkt=pct(gap["market_share"]),
        gap_shop=pct(gap["shop_share"]),
        advice=ctx.text("h01_price_gap_big" if gap["share_gap"] > 0.15 else "h01_price_gap_small"),
    )
else:
    ctx.say(
        "h01_price_shop_only", shop_band=shop_top["band"], shop_share=pct(shop_top["shop_share"])
    )

# %% [markdown]
# Who buys

# %%
crowd = market.crowd_profile(shop.orders, shop.as_of, crowd_days)
ctx.say("h01_crowd", days=crowd_days, start=crowd.start.date(), end=crowd.end.date())
tab = crowd.table.assign(
    value=lambda d: d["value"].map(lambda v: ctx.label(v) if v in VALUE_LABELS else v)
)
panels = [
    d for d in ("province", "device", "customer_type", "order_value_band") if d in crowd.dimensions
]
charts.share_panels(
    tab,
    "dimension",
    "value",
    "sales_share",
    {d: ctx.label(d) for d in panels},
    ctx.label("h01_crowd_title"),
)
plt.show()
shown = tab.groupby("dimension", sort=False).head(top_n)
ctx.table(
    shown.assign(dimension=shown["dimension"].map(ctx.label))[
        ["dimension", "value", "buyers", "orders", "sales", "sales_share", "order_share", "aov"]
    ],
    money=["sales", "aov"],
    pct=["sales_share", "order_share"],
    ints=["buyers", "orders"],
    rows=len(shown),
)
ctx.save("crowd_profile", crowd.table, sheet="h01_crowd_sheet")
core = crowd.core
parts = []
if "device" in core:
    parts.append(
        ctx.text(
            "h01_core_device", share=pct(core["device_share"]), device=ctx.label(core["device"])
        )
    )
if "regions" in core:
    parts.append(
        ctx.text(
            "h01_core_region",
            regions=JOIN.join(ctx.md(r) for r in core["region_list"]),
            share=pct(core["region_share"]),
        )
    )
if "band" in core:
    parts.append(ctx.text("h01_core_band", band=core["band"], share=pct(core["band_share"])))
split = ctx.value("returning_sales_share", "last_12m")
if split.known:
    parts.append(
        ctx.text(
            "h01_core_type",
            returning=ctx.fact("returning_sales_share", "last_12m"),
            new=ctx.fact("new_sales_share", "last_12m"),
        )
    )
ctx.say("h01_core", sentence=("；" if lang == "zh" else "; ").join(parts))
if shop.has_customers:
    ctx.say(
        "h01_crowd_kpis",
        buyers=ctx.fact("buyers", "last_12m"),
        rpb=ctx.fact("revenue_per_buyer", "last_12m"),
        rep=ctx.fact("repurchase_rate", "last_12m"),
    )
if split.known:
    ctx.say(
        "h01_crowd_say_new" if split.value < 0.3 else "h01_crowd_say_loyal",
        returning=ctx.fact("returning_sales_share", "last_12m"),
    )
elif shop.has_customers:
    ctx.say("h01_crowd_say_unknown", why=ctx.fact("returning_sales_share", "last_12m"))
else:
    ctx.say("h01_crowd_say_noid")

# %%
# NBVAL_CHECK_OUTPUT
print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in core.items()})

# %% [markdown]
# Selling points and complaints

# %%
ctx.say("h01_reviews")
if not ctx.missing("reviews", ctx.label("h01_what_reviews")):
    mined = text.mine_reviews(shop.table("reviews"), shop.table("products"), top=top_n)
    pts, cps = mined.selling_points, mined.complaints
    if len(pts) or len(cps):
        both = pd.concat(
            [
                pts.assign(kind="points", side_share=pts["share_high"]),
                cps.assign(kind="complaints", side_share=cps["share_low"]),
            ]
        )
        charts.share_panels(
            both,
            "kind",
            "example",
            "side_share",
            {
                "points": ctx.label("h01_points_panel"),
                "complaints": ctx.label("h01_complaints_panel"),
            },
            ctx.label("h01_reviews_title"),
            top=top_n,
            colors={"points": charts.PALETTE[2], "complaints": charts.PALETTE[3]},
        )
        plt.show()
    for tab_, side in ((pts, "high"), (cps, "low")):
        ctx.table(
            tab_[
                [
                    "example",
                    "term",
                    f"mentions_{side}",
                    f"share_{side}",
                    "mean_rating",
                    f"lift_{side}",
                ]
            ].rename(columns={"term": "mk_term"}),
            pct=[f"share_{side}"],
            ints=[f"mentions_{side}"],
            dec={"mean_rating": 2, f"lift_{side}": 1},
        )
    ctx.save("review_terms", mined.terms, sheet="h01_reviews_sheet")
    low_share = mined.n_low / mined.n_reviews if mined.n_reviews else 0.0
    if len(pts) and len(cps):
        ctx.say(
            "h01_reviews_say",
            n=f"{mined.n_reviews:,}",
            high=f"{mined.n_high:,}",
            low=f"{mined.n_low:,}",
            points=JOIN.join(ctx.md(x) for x in pts["example"].head(3)),
            complaints=JOIN.join(ctx.md(x) for x in cps["example"].head(3)),
            advice=ctx.text(
                "h01_reviews_advice_high" if low_share > 0.10 else "h01_reviews_advice_low",
                low_share=pct(low_share),
            ),
        )
    else:
        ctx.say("h01_reviews_none")
    ctx.say("h01_products_points")
    prod_cols = [
        "product_id",
        "title",
        "reviews",
        "mean_rating",
        "poor_share",
        "selling_points",
        "complaints",
    ]
    pp = mined.products
    ctx.table(
        pp[[c for c in prod_cols if c in pp.columns]],
        pct=["poor_share"],
        ints=["reviews"],
        dec={"mean_rating": 2},
        rows=top_n,
    )
    ctx.save("product_selling_points", pp, sheet="h01_products_sheet")

# %% [markdown]
# Selling points in search terms

# %%
if has_kw:
    ctx.say("h01_search")
    terms = text.search_terms(shop.table("keywords"), shop.as_of)
    attrs = terms[~terms["is_group"] & ~terms["generic"]]
    charts.bar(
        attrs.head(top_n),
        "term",
        "search_volume",
        ctx.label("h01_search_title"),
        horizontal=True,
        money=True,
    )
    plt.show()
    ctx.table(
        attrs[["term", "search_volume", "share", "keywords", "growth"]].rename(
            columns={"term": "mk_term"}
        ),
        pct=["share", "growth"],
        ints=["search_volume", "keywords"],
        rows=top_n,
    )
    ctx.save("search_terms", terms, sheet="h01_search_sheet")
    lead = attrs.head(15).dropna(subset=["growth"])
    lead = lead.sort_values(["growth", "term"], ascending=[False, True])
    ctx.say(
        "h01_search_say",
        terms=JOIN.join(ctx.md(t) for t in attrs["term"].head(5)),
        fast=ctx.text(
            "h01_search_fast",
            fast=ctx.md(lead.iloc[0]["term"]),
            fast_growth=pct(lead.iloc[0]["growth"]),
        )
        if len(lead)
        else "",
    )
