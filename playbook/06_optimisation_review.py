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
compare_days = 28
compare = "yoy"
anomaly_z = 3.5
ads_days = 90

# %%
import numpy as np

from helpers import nb
from helpers.analysis import promotions as pr
from helpers.analysis import review as rv
from helpers.analysis import targets as tg
from helpers.core import codes
from helpers.core.errors import LoadError
from helpers.deliver import workbooks
from helpers.load import plans
from helpers.present import charts, narrative
from helpers.present.narrative import esc, num, titled

ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="06_optimisation_review")
shop = ctx.shop
cfg = shop.config
A = cfg.assumptions
end = pr.complete_through(shop.orders, shop.as_of)
funnel = pr.daily_funnel(
    shop.orders, shop.table("traffic"), end=end, conversion_rate=A["conversion_rate"]
)
fy = rv.review_year(shop.as_of, cfg.fiscal_year_start_month)
saved = ctx.load("targets_daily")  # an earlier run's 02, when it was for this year
try:
    if saved is None or not (saved["fy"] == fy).any():
        saved = plans.load_saved_plan(cfg.path, fy, cfg.fiscal_year_start_month)
    targets, target_source = tg.review_targets(
        codes.daily_sales(shop.orders, end=end),
        fy,
        cfg.fiscal_year_start_month,
        tg.owner_target(cfg.targets, fy),
        saved,
        cfg.festivals,
        A["momentum_damping"],
    )
except (tg.TargetError, LoadError) as e:
    targets, target_source = None, "none"  # the sections comparing with a target are skipped
    target_error = (
        ctx.text(f"tg_err_{e.key}", **e.fields) if isinstance(e, tg.TargetError) else esc(e)
    )
margin = pr.gross_margin(shop.orders, shop.table("products"), A["gross_margin"], end)
cat = narrative.catalogue()


ctx.say("h06_title", shop=esc(cfg.name), fy=fy)
ctx.say(
    "h06_intro",
    as_of=shop.as_of.date(),
    end=end.date(),
    fy=fy,
    incomplete=ctx.text("h05_incomplete", end=end.date()) if end < shop.as_of else "",
    targets=ctx.text("h06_target_error", fy=fy, reason=target_error)
    if targets is None
    else ctx.text(
        f"h06_target_{target_source}", fy=fy, annual=ctx.money(targets["target_sales"].sum())
    ),
)

# %% [markdown]
# Actual vs target

# %%
avt = path = None
if targets is not None:
    ctx.say("h06_target")
    avt = rv.actual_vs_target(funnel, targets, end)
    month = avt["month"].assign(m=avt["month"]["start"].dt.strftime("%Y-%m"))
    ax = charts.bars_with_line(
        month,
        "m",
        "actual",
        "target",
        ctx.label("h06_target_title"),
        {k: ctx.label(k) for k in ("actual", "target")},
    )
    ctx.table(
        avt["month"].drop(columns=["start", "end", "complete"]),
        money=["target", "target_to_date", "actual", "gap"],
        pct=["attainment"],
    )
    ytd = avt["year"].iloc[0]
    done = avt["month"][avt["month"]["target_to_date"] > 0]
    best = done.sort_values("attainment", ascending=False, kind="stable").iloc[0]
    worst = done.sort_values("attainment", kind="stable").iloc[0]
    ctx.say(
        "h06_target_say",
        actual=ctx.fact("net_sales", f"FY{fy}"),
        target=ctx.money(ytd["target_to_date"]),
        attainment=f"{ytd['attainment']:.0%}",
        annual=ctx.money(ytd["target"]),
        best=best["period"],
        best_att=f"{best['attainment']:.0%}",
        worst=worst["period"],
        worst_att=f"{worst['attainment']:.0%}",
        verdict=ctx.text(
            ("h06_ahead" if ytd["attainment"] >= 1 else "h06_behind")
            + ("_last_year" if target_source == "last_year" else "")
        ),
    )
    for level in ("day", "week", "month", "quarter", "year"):
        ctx.save(f"actual_vs_target_{level}", avt[level], sheet=f"h06_avt_{level}")

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "fy": fy,
        "ytd_actual": None if avt is None else round(float(ytd["actual"]), -2),
        "attainment": None if avt is None else round(float(ytd["attainment"]), 3),
    }
)

# %% [markdown]
# Pacing

# %%
if targets is not None:
    ctx.say("h06_pacing")
    path, pace = rv.pacing(funnel, targets, end)
    ax = charts.line(
        path,
        "date",
        ["cum_actual", "cum_target", "projected", "annual_target"],
        ctx.label("h06_pacing_title"),
        {k: ctx.label(k) for k in ("cum_actual", "cum_target", "projected", "annual_target")},
    )
    pace_key = (
        "h06_pacing_closed"
        if pace["days_left"] == 0
        else "h06_pacing_reached"
        if pace["ytd_actual"] >= pace["annual_target"]
        else "h06_pacing_say"
    )
    ctx.say(
        pace_key,
        days_left=pace["days_left"],
        annual=ctx.money(pace["annual_target"]),
        ytd=ctx.fact("net_sales", f"FY{fy}"),
        projected=ctx.money(pace["projected_at_pace"]),
        flat=ctx.money(pace["projected_flat"]),
        required=ctx.money(pace["required_daily"]) if pace["days_left"] else "–",
        current=ctx.money(pace["current_daily"]),
        lift=f"{pace['required_vs_plan']:+.0%}" if pace["days_left"] else "–",
        attainment=f"{pace['attainment']:.0%}",
        advice=ctx.text("h06_pace_ok")
        if pace["gap_at_pace"] >= 0
        else ctx.text("h06_pace_gap", gap=ctx.money(-pace["gap_at_pace"])),
    )

# %% [markdown]
# The three summary tables: customer purchases

# %%
ctx.say("h06_tables")
ctx.say("h06_customers")
if not ctx.missing("customer_id", ctx.label("h06_customers_what")):
    cs = rv.customer_summary(shop.orders, end)
    ax = charts.stacked_bar(
        cs.assign(m=cs["month"].dt.strftime("%Y-%m"))
        .set_index("m")[["new_buyers", "returning_buyers"]]
        .rename(columns=ctx.label),
        ctx.label("h06_customers_title"),
    )
    ctx.table(
        cs.assign(month=cs["month"].dt.strftime("%Y-%m")),
        money=["net_sales", "sales_new", "sales_returning", "sales_per_buyer"],
        pct=["returning_share"],
        ints=["buyers", "new_buyers", "returning_buyers", "orders"],
        dec={"orders_per_buyer": 2},
        rows=12,
    )
    last = cs.iloc[-1]
    m = last["month"].strftime("%Y-%m")
    ctx.say(
        "h06_customers_say",
        month=m,
        buyers=ctx.fact("buyers", m),
        new=ctx.fact("new_buyers", m),
        returning=ctx.fact("returning_buyer_share", m, digits=0),
        per_buyer=ctx.fact("revenue_per_buyer", m),
        avg_returning=f"{cs['returning_share'].mean():.0%}",
    )
    ctx.save("customer_summary", cs, sheet="h06_customers_sheet")

# %% [markdown]
# Shop operations summary

# %%
ctx.say("h06_ops")
ops_w = rv.operations_summary(funnel, "W")
ops_d = rv.operations_summary(funnel, "D")
ops_d = ops_d.join(rv.day_events(ops_d["date"], cfg.calendar), on="date")
head = rv.ops_headline(funnel, end, compare_days)
ax = charts.line(
    ops_w.tail(52),
    "date",
    ["net_sales"],
    ctx.label("h06_ops_title"),
    {"net_sales": ctx.label("net_sales")},
)
no_traffic = bool(funnel["visitors_estimated"].all())  # visitors not in the data: not shown
hide = ["visitors", "conversion"] if no_traffic else []
ctx.table(
    ops_w.tail(8).drop(columns=hide),
    money=["order_value", "paid_amount", "refunds", "net_sales"],
    pct=[c for c in ("conversion", "refund_rate") if c not in hide],
    ints=[c for c in ("visitors", "buyers", "orders", "units") if c not in hide],
)
ctx.table(
    ops_d.tail(14)
    .assign(event=ops_d[f"event_{lang}"].fillna(""))
    .drop(columns=["event_zh", "event_en", *hide]),
    money=["order_value", "paid_amount", "refunds", "net_sales"],
    pct=[c for c in ("conversion", "refund_rate") if c not in hide],
    ints=[c for c in ("visitors", "buyers", "orders", "units") if c not in hide],
)


ctx.say(
    "h14_ops_say_no_traffic" if no_traffic else "h06_ops_say",
    days=compare_days,
    buyers=f"{head['buyers']:,.0f}",
    buyers_chg=ctx.change(head["buyers_chg"]),
    visitors=f"{head['visitors']:,.0f}",
    visitors_chg=ctx.change(head["visitors_chg"]),
    conversion=f"{head['conversion']:.2%}",
    conversion_chg=ctx.change(head["conversion_chg"]),
    aov=ctx.money(head["order_value"]),
    aov_chg=ctx.change(head["order_value_chg"]),
    sales=ctx.money(head["net_sales"]),
    sales_chg=ctx.change(head["net_sales_chg"]),
    refund=f"{head['refund_rate']:.1%}",
    estimated="",
)
ctx.save("operations_daily", ops_d.drop(columns=hide), sheet="h06_ops_daily_sheet")
ctx.save("operations_weekly", ops_w.drop(columns=hide), sheet="h06_ops_weekly_sheet")

# %% [markdown]
# Campaign sales results

# %%
ctx.say("h06_campaigns")
windows = rv.campaign_windows(shop.table("campaigns"), funnel["date"].min(), end, cfg.calendar)
windows = windows.assign(name=windows["name_en" if lang == "en" else "name"]).drop(
    columns="name_en"
)
results = rv.campaign_results(windows, funnel)
if len(results):
    ax = charts.bar(
        results.assign(n=results["name"].astype(str)),
        "n",
        "sales_per_day",
        ctx.label("h06_campaigns_title"),
        money=True,
    )
    ctx.table(
        results.drop(columns=["campaign_id", *hide]).assign(
            type=results["type"].map(lambda t: ctx.lab(t, "ctype_"))
        ),
        money=["spend", "net_sales", "refunds", "order_value", "sales_per_day"],
        pct=[c for c in ("conversion",) if c not in hide],
        ints=[c for c in ("days", "visitors", "buyers", "orders", "units") if c not in hide],
    )
    top = results.sort_values("sales_per_day", ascending=False, kind="stable").iloc[0]
    ctx.say(
        "h06_campaigns_say",
        n=len(results),
        total=ctx.money(results["net_sales"].sum()),
        share=f"{results['net_sales'].sum() / funnel['net_sales'].sum():.0%}",
        days=int(results["days"].sum()),
        top=esc(top["name"]),
        top_day=ctx.money(top["sales_per_day"]),
        source=ctx.text("h06_campaigns_own" if shop.has("campaigns") else "h06_campaigns_nodes"),
    )
    ctx.save("campaign_results", results.drop(columns=hide), sheet="h06_campaigns_sheet")
else:
    ctx.say("h06_campaigns_none")

# %% [markdown]
# Driver tree

# %%
ctx.say("h06_drivers", days=compare_days)
tree, info = rv.driver_tree(funnel, end, compare_days, compare)
ax = charts.driver_waterfall(
    tree.assign(f=tree["factor"].map(ctx.label)),
    "f",
    "contribution",
    info["sales_prev"],
    ctx.label("h06_drivers_title"),
    ctx.label("h06_before"),
    ctx.label("h06_after"),
)
show_value = {
    "visitors": lambda v: narrative.num(v),
    "buyers": lambda v: narrative.num(v),
    "conversion": lambda v: narrative.pct(v, 2),
    "order_value": ctx.money,
}
ctx.table(
    tree.assign(
        prev=[show_value[f](v) for f, v in zip(tree["factor"], tree["prev"])],
        cur=[show_value[f](v) for f, v in zip(tree["factor"], tree["cur"])],
        factor=tree["factor"].map(ctx.label),
    ),
    money=["contribution"],
    pct=["change_pct", "share"],
)
ctx.say(
    "h06_drivers_say",
    cur=f"{info['cur_start'].date()}–{info['cur_end'].date()}",
    prev=f"{info['prev_start'].date()}–{info['prev_end'].date()}",
    sales_cur=ctx.money(info["sales_cur"]),
    sales_prev=ctx.money(info["sales_prev"]),
    change=ctx.money(info["change"]),
    change_pct=ctx.change(info["change_pct"]),
    main=ctx.label(info["main"]) if info["main"] else "–",
    main_value=ctx.money(tree.set_index("factor")["contribution"].get(info["main"], 0.0)),
    parts="；".join(f"{ctx.label(r.factor)} {ctx.money(r.contribution)}" for r in tree.itertuples())
    if lang == "zh"
    else "; ".join(f"{ctx.label(r.factor)} {ctx.money(r.contribution)}" for r in tree.itertuples()),
    estimated=ctx.text("h14_drivers_no_traffic")
    if info["no_traffic"]
    else ctx.text("h06_visitors_estimated")
    if info["estimated"]
    else "",
)
ctx.save("driver_tree", tree, sheet="h06_drivers_sheet")

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "change": round(info["change"], 2),
        "sum_of_parts": round(float(tree["contribution"].sum()), 2),
    }
)

# %%
ctx.say("h06_drill")
segments = None  # 04's RFM segments follow recency, so they move with the change itself
drills = {}
for by in ("channel", "product", "segment"):
    if by == "channel" and shop.orders["channel"].isna().all():
        ctx.say("h06_no_channel")
        continue
    if by == "segment" and not shop.has_customers:
        continue
    if by == "product" and ctx.missing("product_id", ctx.label("h06_what_products")):
        continue
    d = rv.drilldown(shop.orders, end, by, shop.table("traffic"), segments, compare_days, compare)
    drills[by] = d
    prefix = "seg_" if by == "segment" and segments is not None else ""
    shown = d.assign(
        key=d["key"].map(lambda k, p=prefix: ctx.lab(k, p)),
        main=d["main"].map(lambda k: ctx.label(k) if isinstance(k, str) else "–"),
    )
    if by == "product":
        shown = shown.assign(key=titled(d["title"].fillna(d["key"]), d["key"])).drop(
            columns=["title"]
        )
    money = [c for c in shown.columns if c not in ("key", "main")]
    ctx.say(f"h06_drill_{by}")
    ctx.table(shown, money=money, rows=11)
    ext = rv.drill_extremes(d)
    up, down = ext["up"], ext["down"]

    ctx.say(
        {"mixed": "h06_drill_say", "all_up": "h06_drill_say_up", "all_down": "h06_drill_say_down"}[
            ext["case"]
        ],
        up=ctx.row_name(up, prefix, titled=by == "product"),
        up_change=ctx.money(up["change"]),
        up_main=ctx.label(up["main"]) if up["main"] else "–",
        down=ctx.row_name(down, prefix, titled=by == "product"),
        down_change=ctx.money(down["change"]),
        down_main=ctx.label(down["main"]) if down["main"] else "–",
    )
    ctx.save(f"drilldown_{by}", d, sheet=f"h06_drill_{by}_sheet")

# %% [markdown]
# Promotion data (推广数据)

# %%
ctx.say("h06_ads", days=ads_days)
if not ctx.missing("ads", ctx.label("h06_ads_what")):
    ads, ads_sum = rv.ads_keywords(
        shop.table("ads"), end, ads_days, margin, shop.table("keywords"), shop.table("traffic")
    )
    ax = charts.ads_scatter(
        ads,
        ads_sum["breakeven_roas"],
        ctx.label("h06_ads_title"),
        {k: ctx.label(f"verdict_{k}") for k in ("cut", "hold", "grow")},
    )
    ctx.table(
        ads.assign(
            keyword=ads["keyword"].map(esc),
            verdict=ads["verdict"].map(lambda v: ctx.label(f"verdict_{v}")),
        ),
        money=["spend", "revenue", "ad_profit"],
        pct=["ctr", "conversion", "market_conversion"],
        ints=["impressions", "clicks", "orders"],
        dec={"cpc": 2, "roas": 2},
    )
    cut = ads[ads["verdict"] == "cut"]
    grow = ads[ads["verdict"] == "grow"]
    sep = "、" if lang == "zh" else ", "
    ctx.say(
        "h06_ads_say",
        spend=ctx.money(ads_sum["spend"]),
        roas=f"{ads_sum['roas']:.2f}",
        breakeven=f"{ads_sum['breakeven_roas']:.2f}",
        margin=f"{margin:.0%}",
        wasted=ctx.money(ads_sum["wasted"]),
        wasted_share=f"{ads_sum['wasted_share']:.0%}",
        cut=ctx.text("h06_ads_cut", n=len(cut), names=esc(sep.join(cut["keyword"].head(5))))
        if len(cut)
        else ctx.text("h06_ads_nocut"),
        grow=ctx.text("h06_ads_grow", n=len(grow), names=esc(sep.join(grow["keyword"].head(5))))
        if len(grow)
        else ctx.text("h06_ads_nogrow"),
        natural=ctx.text(
            "h06_ads_natural",
            paid=f"{ads_sum['paid_conversion']:.2%}",
            natural=f"{ads_sum['natural_conversion']:.2%}",
        )
        if ads_sum["natural_conversion"] == ads_sum["natural_conversion"]
        else "",
    )
    ctx.save("ads_keywords", ads, sheet="h06_ads_sheet")

# %% [markdown]
# Anomalies

# %%
ctx.say("h06_anomalies", z=anomaly_z)
flagged, daily = rv.anomalies(funnel, anomaly_z, cfg.calendar)
recent = daily.tail(365)
ax = charts.anomaly_chart(
    recent,
    flagged[flagged["date"] >= recent["date"].min()],
    ctx.label("h06_anomalies_title"),
    {k: ctx.label(k) for k in ("net_sales", "expected", "anomaly")},
)
ctx.table(
    flagged.assign(
        driver=flagged["driver"].map(ctx.label),
        metric=flagged["metric"].map(ctx.label),
        event=flagged[f"event_{lang}"].fillna(""),
    ).drop(columns=["event_zh", "event_en"]),
    money=["net_sales", "expected"],
    pct=[
        c
        for c in ("change", "visitors_change", "buyers_change", "conversion_change")
        + ("order_value_change",)
        if c in flagged
    ],
    dec={"z": 1},
    rows=12,
)
if len(flagged):
    a0 = flagged.iloc[0]
    ctx.say(
        "h06_anomalies_say",
        n=len(flagged),
        date=a0["date"].date(),
        change=ctx.change(a0["change"]),
        sales=ctx.money(a0["net_sales"]),
        expected=ctx.money(a0["expected"]),
        driver=ctx.label(a0["driver"]),
        event=ctx.text("h06_anomaly_event", event=esc(a0[f"event_{lang}"]))
        if isinstance(a0[f"event_{lang}"], str)
        else "",
        drops=int((flagged["change"] < 0).sum()),
        spikes=int((flagged["change"] > 0).sum()),
    )
else:
    ctx.say("h06_anomalies_none")
ctx.save("anomalies", flagged, sheet="h06_anomalies_sheet")

# %% [markdown]
# Campaign post-mortem

# %%
ctx.say("h06_lift")
if len(windows):
    lift = rv.campaign_lift(windows, funnel, margin, cfg.calendar)
    ax = charts.bars_with_line(
        lift.assign(n=lift["name"].astype(str)),
        "n",
        "actual",
        "baseline",
        ctx.label("h06_lift_title"),
        {k: ctx.label(k) for k in ("actual", "baseline")},
    )
    ctx.table(
        lift[
            [
                "name",
                "start",
                "end",
                "days",
                "actual",
                "baseline",
                "incremental",
                "lift",
                "spend",
                "iroas",
                "campaign_profit",
            ]
        ],
        money=["actual", "baseline", "incremental", "spend", "campaign_profit"],
        pct=["lift"],
        ints=["days"],
        dec={"iroas": 2},
    )
    best_l = lift.sort_values("incremental", ascending=False, kind="stable").iloc[0]
    losing = lift[lift["campaign_profit"] < 0]
    ctx.say(
        "h06_lift_say",
        n=len(lift),
        incremental=ctx.money(lift["incremental"].sum()),
        lift=f"{lift['incremental'].sum() / lift['baseline'].sum():.0%}",
        best=esc(best_l["name"]),
        best_inc=ctx.money(best_l["incremental"]),
        best_lift=f"{best_l['lift']:.0%}",
        spend=ctx.text(
            "h06_lift_spend",
            n=int(lift["spend"].notna().sum()),
            losing=len(losing),
            names=esc(("、" if lang == "zh" else ", ").join(losing["name"].astype(str))) or "–",
        )
        if lift["spend"].notna().any()
        else ctx.text("h06_lift_nospend"),
    )
    ctx.save("campaign_lift", lift, sheet="h06_lift_sheet")

# %% [markdown]
# Review scores

# %%
ctx.say("h06_reviews")
if not ctx.missing("reviews", ctx.label("h06_reviews_what")):
    trend = rv.rating_trend(shop.table("reviews"), end)
    themes, drop = rv.complaint_themes(shop.table("reviews"), end)
    ax = charts.line(
        trend,
        "month",
        ["rating"],
        ctx.label("h06_reviews_title"),
        {"rating": ctx.label("rating")},
        money=False,
    )
    dsr = rv.dsr_summary(trend)
    if dsr["weakest"] is not None:
        ctx.table(
            trend.tail(6).assign(month=trend["month"].dt.strftime("%Y-%m")),
            pct=["low_share"],
            ints=["reviews"],
            dec={c: 2 for c in ("rating", *rv.DSR_DIMENSIONS)},
        )
        ctx.say(
            "h06_dsr_say",
            **{
                d.removeprefix("dsr_"): "–"
                if d + "_now" not in dsr
                else num(dsr[d + "_now"], 2)
                + (
                    f" ({round(dsr[d + '_change'], 2) + 0.0:+.2f})"
                    if np.isfinite(dsr[d + "_change"])
                    else ""
                )
                for d in rv.DSR_DIMENSIONS
            },
            weakest=ctx.label(dsr["weakest"]),
            drag=ctx.text(
                "h06_dsr_drag",
                terms=esc(
                    ("、" if lang == "zh" else ", ").join(
                        themes.loc[
                            rv.theme_dimension(themes["term"]) == dsr["weakest"], "term"
                        ].head(3)
                    )
                ),
            )
            if (rv.theme_dimension(themes["term"]) == dsr["weakest"]).any()
            else "",
            falling=ctx.text("h06_dsr_falling", dim=ctx.label(dsr["falling"]))
            if dsr["falling"]
            else ctx.text("h06_dsr_steady"),
        )
    ctx.table(
        themes.assign(
            term=themes["term"].map(esc),
            example=themes["example"].map(esc),
            dsr=rv.theme_dimension(themes["term"]).map(ctx.label),
        ),
        ints=["docs"],
        dec={"per_100": 1, "per_100_before": 1, "change": 1},
    )
    ctx.say(
        "h06_reviews_say",
        month=drop.get("month", "–"),
        rating=f"{drop.get('rating', float('nan')):.2f}",
        before=f"{drop.get('rating_before', float('nan')):.2f}",
        low=f"{drop.get('low_share', float('nan')):.0%}",
        low_before=f"{drop.get('low_share_before', float('nan')):.0%}",
        themes=esc(("、" if lang == "zh" else ", ").join(themes["term"].head(3))) or "–",
        last=f"{trend['rating'].iloc[-1]:.2f}" if len(trend) else "–",
    )
    ctx.save("rating_trend", trend, sheet="h06_reviews_sheet")
    ctx.save("complaint_themes", themes, sheet="h06_themes_sheet")

# %% [markdown]
# Issue log

# %%
ctx.say("h06_issues")
if not ctx.missing("issues", ctx.label("h06_issues_what")):
    areas, open_list = rv.issue_log(shop.table("issues"), shop.as_of)
    ages = ["age_0_7", "age_8_30", "age_31_90", "age_90_plus"]
    ax = charts.stacked_bar(
        areas.assign(a=areas["area"].map(lambda a: ctx.label(f"area_{a}")))
        .set_index("a")[ages]
        .rename(columns=ctx.label),
        ctx.label("h06_issues_title"),
    )
    ctx.table(
        areas.assign(
            area=areas["area"].map(lambda a: ctx.label(f"area_{a}")),
            owners=areas["owners"].map(esc),
        ),
        ints=["issues", "open", "overdue", "closed", *ages],
        dec={"days_to_close": 0, "age_open": 0},
    )
    ctx.table(
        open_list.assign(
            area=open_list["area"].map(lambda a: ctx.label(f"area_{a}")),
            owner=open_list["owner"].map(esc),
            description=open_list["description"].map(esc),
            status=open_list["status"].map(lambda s: ctx.label(f"issue_{s}")),
        ),
        ints=["age_days", "overdue_days"],
        rows=10,
    )
    worst = areas.sort_values(["overdue", "open"], ascending=False, kind="stable").iloc[0]
    ctx.say(
        "h06_issues_say",
        open=int(areas["open"].sum()),
        overdue=int(areas["overdue"].sum()),
        area=ctx.label(f"area_{worst['area']}"),
        area_overdue=int(worst["overdue"]),
        old=int(areas["age_90_plus"].sum()),
        owners=esc(worst["owners"]) or "–",
    )
    ctx.save("issue_log", areas, sheet="h06_issues_sheet")
    ctx.save("open_issues", open_list, sheet="h06_open_issues_sheet")

# %% [markdown]
# The review workbook

# %%
ctx.say("h06_workbook")
sheets = rv.workbook_sheets(
    {
        "avt_month": None if avt is None else avt["month"],
        "pacing": path,
        "ops_weekly": ops_w,
        "ops_daily": ops_d.assign(event=ops_d[f"event_{lang}"].fillna("")).drop(
            columns=["event_zh", "event_en", *hide]
        ),
        "drivers": tree.assign(factor=tree["factor"].map(ctx.label)),
        "customers": cs if shop.has_customers else None,
        "campaigns": results,
        "lift": lift if len(windows) else None,
        **{f"drill_{by}": d for by, d in drills.items()},
        "ads": ads if shop.has("ads") else None,
        "anomalies": daily[["date", "net_sales", "expected"]],
        "reviews": trend if shop.has("reviews") else None,
        "issues": areas.assign(area=areas["area"].map(lambda a: ctx.label(f"area_{a}")))
        if shop.has("issues")
        else None,
    },
    ctx.label,
)
book = workbooks.write_review_xlsx(ctx.out_dir / "review.xlsx", sheets, lang=lang)
ctx.say("h06_workbook_say", file="review.xlsx", n=len(sheets))
