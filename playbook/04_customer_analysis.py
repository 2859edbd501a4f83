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
horizon_days = 90  # forward-looking value: days ahead
# RFM 8 classes threshold: "mean", "median" or {"recency": 60, "frequency": 2, "monetary": 500}
rfm_threshold = "mean"
cohort_months = 12  # cohort retention: months after the first purchase shown

# %%
import logging
import warnings

import matplotlib.pyplot as plt

from helpers import nb
from helpers.analysis import customers as cu
from helpers.core import metrics
from helpers.deliver import workbooks
from helpers.present import charts
from helpers.present.narrative import esc, num, pct

ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="04_customer_analysis")
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no bold CJK face: fine
shop = ctx.shop
ctx.say("h04_title", shop=esc(shop.config.name))
has_ids = not ctx.missing("customer_id", ctx.label("h04_what"))
if has_ids:
    co = cu.customer_orders(shop.orders, shop.as_of)
    rfm = cu.rfm_table(co, shop.as_of)
    ctx.say(
        "h04_intro",
        as_of=shop.as_of.date(),
        customers=ctx.fact("buyers", "to_date"),
        orders=ctx.fact("orders", "to_date"),
        first=co["order_time"].min().date(),
        last=co["order_time"].max().date(),
    )


# %% [markdown]
# Pareto of customers

# %%
if has_ids:
    ctx.say("h04_pareto")
    curve, par = cu.customer_pareto(rfm)
    charts.customer_curve(
        curve,
        ctx.label("h04_pareto_title"),
        ctx.label("h04_pareto_x"),
        ctx.label("h04_pareto_y"),
        point=(par["share_target"], par["target"]),
        top=(0.2, par["top_sales_share"]),
    )
    plt.show()
    shown = curve[curve["customers_pct"].isin([0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0])]
    ctx.table(shown, pct=["customers_pct", "sales_share"], ints=["customers"])
    ctx.save("customer_pareto", curve, sheet="h04_pareto_sheet")
    advice = (
        "h04_pareto_steep"
        if par["share_target"] <= 0.25
        else "h04_pareto_mid"
        if par["share_target"] <= 0.5
        else "h04_pareto_flat"
    )
    ctx.say(
        "h04_pareto_say",
        share=pct(par["share_target"]),
        n=num(par["n_target"]),
        customers=ctx.fact("buyers", "to_date"),
        n_top=num(par["n_top"]),
        top_share=pct(par["top_sales_share"]),
        advice=ctx.text(advice),
    )

# %%
# NBVAL_CHECK_OUTPUT
if has_ids:
    print(
        {
            "customers": par["customers"],
            "share_for_80pct": round(par["share_target"], 4),
            "top20_sales_share": round(par["top_sales_share"], 4),
        }
    )

# %% [markdown]
# RFM, scheme 1: the Chinese 8 classes

# %%
if has_ids:
    method = rfm_threshold if isinstance(rfm_threshold, str) else "custom"
    ctx.say("h04_rfm8", method=ctx.label(f"h04_method_{method}"))
    rfm8, thresholds = cu.classify_rfm8(rfm, rfm_threshold)
    ctx.table(thresholds.assign(measure=thresholds["measure"].map(ctx.label)), dec={"cutoff": 2})
    tiers8 = dict(zip(cu.RFM8_RULES["rfm8"], cu.RFM8_RULES["tier"]))
    s8 = cu.segment_summary(rfm, rfm8["rfm8"], cu.RFM8_ORDER, tiers8)
    shown8 = s8.assign(
        segment=ctx.labels(s8["segment"], "rfm8_"),
        tier=s8["tier"].map(lambda t: ctx.label(f"tier_{t}")),
        action=s8["segment"].map(lambda k: ctx.label(f"act_rfm8_{k}")),
    )
    charts.segment_shares(
        shown8,
        "segment",
        ["customer_share", "sales_share"],
        [ctx.label("customer_share"), ctx.label("sales_share")],
        ctx.label("h04_rfm8_title"),
    )
    plt.show()
    ctx.table(
        shown8,
        money=["sales", "monetary"],
        pct=["customer_share", "sales_share", "top_share"],
        ints=["customers", "recency_days"],
        dec={"frequency": 1},
    )
    ctx.save("rfm8_thresholds", thresholds, sheet="h04_rfm8_thr_sheet")
    ctx.save("rfm8_summary", s8, sheet="h04_rfm8_sheet")
    by8 = s8.set_index("segment")
    keep = by8.loc[["important_keep", "important_retain"]]
    ctx.say(
        "h04_rfm8_say",
        value_n=num(by8.loc["important_value", "customers"]),
        value_share=pct(by8.loc["important_value", "customer_share"]),
        value_sales=pct(by8.loc["important_value", "sales_share"]),
        keep_n=num(keep["customers"].sum()),
        keep_sales=pct(keep["sales_share"].sum()),
        r_days=num(thresholds.set_index("measure").loc["recency_days", "cutoff"]),
        lost_n=num(by8.loc["general_retain", "customers"]),
        lost_share=pct(by8.loc["general_retain", "customer_share"]),
        lost_sales=pct(by8.loc["general_retain", "sales_share"]),
    )

# %% [markdown]
# RFM, scheme 2: R/F scores and the 10 segments

# %%
if has_ids:
    ctx.say("h04_rf")
    scores = cu.score_rf(rfm)
    charts.rf_grid(
        cu.rf_grid_counts(scores),
        cu.RF_GRID.map(lambda k: ctx.lab(k, "seg_")),
        ctx.label("h04_rf_title"),
        ctx.label("h04_rf_x"),
        ctx.label("h04_rf_y"),
        colors={ctx.lab(k, "seg_"): c for k, c in charts.SEGMENT_COLORS.items()},
    )
    plt.show()
    s10 = cu.segment_summary(rfm, scores["segment"], cu.SEGMENT_ORDER, cu.SEGMENT_TIER)
    shown10 = s10.assign(
        segment=ctx.labels(s10["segment"], "seg_"),
        tier=s10["tier"].map(lambda t: ctx.label(f"tier_{t}")),
        action=s10["segment"].map(lambda k: ctx.label(f"act_{k}")),
    )
    ctx.table(
        shown10,
        money=["sales", "monetary"],
        pct=["customer_share", "sales_share", "top_share"],
        ints=["customers", "recency_days"],
        dec={"frequency": 1},
    )
    ctx.save("rf_segments", s10, sheet="h04_rf_sheet")
    by10 = s10.set_index("segment")
    guide = by10.loc[["champions", "loyal"]]
    risk = by10.loc[["at_risk", "cant_lose"]]
    dev = by10.loc[["potential_loyalists", "new_customers", "promising"]]
    ctx.say(
        "h04_rf_say",
        guide_n=num(guide["customers"].sum()),
        guide_share=pct(guide["customer_share"].sum()),
        guide_sales=pct(guide["sales_share"].sum()),
        risk_n=num(risk["customers"].sum()),
        risk_sales=pct(risk["sales_share"].sum()),
        cant_n=num(by10.loc["cant_lose", "customers"]),
        dev_n=num(dev["customers"].sum()),
        dev_share=pct(dev["customer_share"].sum()),
        hib_n=num(by10.loc["hibernating", "customers"]),
        hib_share=pct(by10.loc["hibernating", "customer_share"]),
        hib_sales=pct(by10.loc["hibernating", "sales_share"]),
    )

# %%
# NBVAL_CHECK_OUTPUT
if has_ids:
    print(dict(zip(s8["segment"], s8["customers"].tolist())))
    print(dict(zip(s10["segment"], s10["customers"].tolist())))

# %% [markdown]
# New and returning customers per month

# %%
if has_ids:
    ctx.say("h04_newret")
    monthly = cu.new_vs_returning(co, shop.as_of, known_from=metrics.split_from(shop.orders))
    parts = monthly.set_index(monthly["month"].dt.strftime("%Y-%m"))[
        ["new_customers", "returning_customers"]
    ]
    charts.stacked_bar(
        parts.rename(columns=ctx.label),
        ctx.label("h04_newret_title"),
        colors={
            ctx.label("new_customers"): charts.PALETTE[1],
            ctx.label("returning_customers"): charts.PALETTE[0],
        },
    )
    plt.show()
    ctx.table(
        monthly.tail(12).assign(month=monthly["month"].dt.strftime("%Y-%m")),
        money=["new_sales", "returning_sales"],
        ints=["new_customers", "returning_customers"],
        pct=["returning_share", "returning_sales_share"],
    )
    ctx.save("new_vs_returning", monthly, sheet="h04_newret_sheet")
    ret_sales = ctx.value("returning_sales_share", "last_12m")
    if ret_sales.known:
        ctx.say(
            "h04_newret_say",
            new=ctx.fact("new_buyers", "last_12m"),
            ret=ctx.fact("returning_buyers", "last_12m"),
            ret_share=ctx.fact("returning_buyer_share", "last_12m"),
            ret_sales=ctx.fact("returning_sales_share", "last_12m"),
            advice=ctx.text("h04_newret_low" if ret_sales.value < 0.3 else "h04_newret_ok"),
        )
    else:
        ctx.say("h04_newret_unknown", why=ctx.fact("returning_sales_share", "last_12m"))

# %% [markdown]
# Cohort retention

# %%
if has_ids:
    ctx.say("h04_cohort")
    cohorts = cu.cohort_retention(co, shop.as_of, max_age=cohort_months)
    curve_r = cu.retention_curve(cohorts)
    charts.heatmap(
        cohorts.drop(columns="customers").set_axis(cohorts.index.strftime("%Y-%m"), axis=0),
        ctx.label("h04_cohort_title"),
    )
    plt.show()
    ctx.table(curve_r, ints=["cohorts", "customers"], pct=["retention"], rows=cohort_months)
    ctx.save("cohort_retention", cohorts, sheet="h04_cohort_sheet")
    r_at = curve_r.set_index("age")["retention"]
    m1 = r_at.get(1, float("nan"))
    ctx.say(
        "h04_cohort_say",
        m1=pct(m1),
        m3=pct(r_at.get(3, float("nan"))),
        m6=pct(r_at.get(6, float("nan"))),
        m12=pct(r_at.get(12, float("nan"))),
        advice=ctx.text("h04_cohort_low" if m1 < 0.05 else "h04_cohort_ok"),
    )

# %% [markdown]
# Repurchase intervals

# %%
if has_ids:
    ctx.say("h04_interval")
    intervals, iv = cu.repurchase_intervals(co)
    charts.bar(intervals, "interval", "intervals", ctx.label("h04_interval_title"))
    plt.show()
    ctx.table(intervals, ints=["intervals"], pct=["share", "cum_share"])
    ctx.save("repurchase_intervals", intervals, sheet="h04_interval_sheet")
    if iv["intervals"]:
        ctx.say(
            "h04_interval_say",
            repeat=num(iv["repeat_customers"]),
            n=num(iv["intervals"]),
            median=num(iv["median"]),
            p25=num(iv["p25"]),
            p75=num(iv["p75"]),
            p90=num(iv["p90"]),
            first=num(iv["first_median"]),
        )
    else:
        ctx.say("h04_interval_none")

# %% [markdown]
# Member ladder

# %%
if has_ids:
    rep_orders = int(shop.config.assumptions["repeat_member_orders"])
    fan_orders = int(shop.config.assumptions["fan_orders"])
    ctx.say("h04_ladder", rep=rep_orders, fan=fan_orders)
    ladder = cu.member_ladder(co, shop.as_of, rep_orders, fan_orders)
    stages = ["new_members", "repeat_members", "fans"]
    charts.stacked_bar(
        ladder.set_index(ladder["month"].dt.strftime("%Y-%m"))[stages].rename(columns=ctx.label),
        ctx.label("h04_ladder_title"),
        colors=dict(zip(map(ctx.label, stages), charts.PALETTE[1:4])),
    )
    plt.show()
    ctx.table(
        ladder.tail(12).assign(month=ladder["month"].dt.strftime("%Y-%m")),
        ints=stages + ["members", "joined", "to_repeat", "to_fan"],
        pct=["repeat_share", "fan_share"],
    )
    ctx.save("member_ladder", ladder, sheet="h04_ladder_sheet")
    now, year = ladder.iloc[-1], ladder.tail(12)
    ctx.say(
        "h04_ladder_say",
        month=now["month"].strftime("%Y-%m"),
        members=num(now["members"]),
        new=num(now["new_members"]),
        repeat=num(now["repeat_members"]),
        fan=num(now["fans"]),
        repeat_share=pct(now["repeat_share"]),
        fan_share=pct(now["fan_share"]),
        rep=rep_orders,
        to_repeat=num(year["to_repeat"].sum()),
        to_fan=num(year["to_fan"].sum()),
        joined=ctx.fact("new_buyers", "last_12m"),
        advice=ctx.text("h04_ladder_low" if now["repeat_share"] < 0.3 else "h04_ladder_ok"),
    )

# %% [markdown]
# Forward-looking value: P(alive), expected purchases and spend, CLV

# %%
if has_ids:
    ctx.say("h04_clv", days=horizon_days)
    value = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value, clv_params, fv = cu.forward_value(shop.orders, shop.as_of, horizon_days)
    except ValueError as err:
        ctx.say("h04_clv_failed", why=esc(err))
    segments = cu.customer_segments(rfm, rfm8, scores, value, rep_orders, fan_orders)
    ctx.save("customer_segments", segments)
    if value is not None:
        ctx.save("clv_params", clv_params)
        sv = cu.segment_value(segments, "segment", cu.SEGMENT_ORDER)
        shown_v = sv.assign(segment=ctx.labels(sv["segment"], "seg_"))
        charts.segment_shares(
            shown_v, "segment", ["clv_share"], [ctx.label("clv_share")], ctx.label("h04_clv_title")
        )
        plt.show()
        ctx.table(
            shown_v,
            money=["clv", "clv_per_customer"],
            ints=["customers"],
            pct=["clv_share"],
            dec={"p_alive": 2, "expected_purchases": 0},
        )
        ctx.save("segment_value", sv, sheet="h04_clv_sheet")
        best = sv.sort_values(["clv", "segment"], ascending=[False, True], kind="stable").iloc[0]
        ctx.say(
            "h04_clv_say",
            days=horizon_days,
            purchases=num(fv["purchases"]),
            spend=ctx.money(fv["spend"]),
            top=pct(fv["top_clv_share"]),
            best=ctx.lab(best["segment"], "seg_"),
            best_share=pct(best["clv_share"]),
            repeat=num(fv["repeat_customers"]),
            lapsed=num(fv["lapsed"]),
            lapsed_share=pct(fv["lapsed_share"]),
        )

# %% [markdown]
# Re-marketing lists

# %%
if has_ids:
    ctx.say("h04_export")
    names = {"top": ctx.lab("top", "seg_")}
    names.update({k: ctx.lab(k, "seg_") for k in cu.SEGMENT_ORDER})
    names.update({f"rfm8_{k}": ctx.lab(k, "rfm8_") for k in cu.RFM8_ORDER})
    lists = workbooks.export_segments(segments, ctx.out_dir, sheet_names=names, lang=lang)
    ctx.table(lists.assign(list=lists["list"].map(names)), ints=["customers"], rows=len(lists))
    ctx.save("segment_lists", lists, sheet="h04_export_sheet")
    ctx.say(
        "h04_export_say" if lists["sheet"].notna().all() else "h04_export_say_csv",
        n=len(lists),
        ids=f"{lists['customers'].sum():,}",
        folder="segments/",
        xlsx="segments.xlsx",
    )
