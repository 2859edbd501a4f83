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
ambition = None  # growth on top of the market's; None: shop.yaml assumptions.ambition
week_scheme = "48"  # "48": four weeks a month, as the article counts; "iso": ISO weeks
repeat_gain = 0.02  # points added to each month's returning-buyer share
damping = None  # share of the recent trend carried into next year; None: shop.yaml assumption
interactive = None  # None: sliders in JupyterLab, a static page under papermill/nbval

# %%
import logging

import matplotlib.pyplot as plt
import pandas as pd

from helpers import nb
from helpers.analysis import customers as cu
from helpers.analysis import market, targets
from helpers.core import calendar as cal
from helpers.core import codes
from helpers.present import charts
from helpers.present import target_whatif as tw
from helpers.present.narrative import esc, num, pct

ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="02_target_setting")
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no bold CJK face: fine
shop = ctx.shop
cfg = shop.config
A = cfg.assumptions
sm = cfg.fiscal_year_start_month
amb = float(A["ambition"] if ambition is None else ambition)
damp = float(A["momentum_damping"] if damping is None else damping)
daily = codes.daily_sales(shop.orders, end=shop.as_of)
fy = targets.target_fiscal_year(shop.as_of, sm)
fy_start, fy_end = cal.fiscal_year_bounds(fy, sm)
ly = targets.last_year_actual(daily, shop.as_of, sm)
ctx.say("h02_title", shop=ctx.md(cfg.name), fy=fy)
ctx.say(
    "h02_intro_momentum",
    as_of=shop.as_of.date(),
    fy=fy,
    start=fy_start.date(),
    end=fy_end.date(),
)
early = targets.momentum_baseline(daily, shop.as_of, fy, sm, cfg.festivals, damp)
if early.method == "profile":  # said first, before any figure
    ctx.say(
        "h02_warn_short_history",
        months=f"{early.history_months:.1f}",
        spread=pct(early.spread, 0),
        low=ctx.money(early.low),
        high=ctx.money(early.high),
    )
name_col = "name_zh" if lang == "zh" else "name_en"
PHASES = {"presale": "phase_presale", "main": "phase_main", "day": "phase_peak"}
WEEKDAYS = ctx.label("weekday_names").split(",")


SEP = "" if lang == "zh" else " "


# %% [markdown]
# The shop's own seasonality

# %%
ctx.say("h02_season")
seas = targets.learn_seasonality(daily, cfg.calendar)
ef = targets.event_factors(seas, fy_start, fy_end, cfg.calendar)
ef_show = ef.assign(
    event=ctx.event_labels(ef[name_col], ef["kind"] == "holiday", ef["phase"].map(PHASES))
)
chart_ef = ef_show.sort_values(["uplift", "event"], ascending=[False, True], kind="stable")
charts.uplift_bars(
    chart_ef,
    "event",
    "uplift",
    ctx.label("h02_season_title"),
    kind="kind",
    colors={"node": charts.PALETTE[1], "holiday": charts.PALETTE[0]},
)
plt.show()
ctx.table(
    ef_show[
        ["event", "uplift", "learned", "prior", "hist_days", "hist_years", "target_days", "source"]
    ].assign(source=ef_show["source"].map(lambda s: ctx.label(f"tg_src_{s}"))),
    dec={"uplift": 2, "learned": 2, "prior": 2},
    ints=["hist_days", "hist_years", "target_days"],
    rows=len(ef_show),
)
ctx.say("h02_factors_note")
factors = pd.DataFrame(
    [seas.month.round(2).to_list()],
    columns=[str(m) for m in range(1, 13)],
    index=[ctx.label("tg_month_factor")],
)
ctx.table(factors, index=True)
wd = pd.DataFrame(
    [seas.weekday.round(2).to_list()], columns=WEEKDAYS, index=[ctx.label("tg_weekday_factor")]
)
ctx.table(wd, index=True)
ctx.save("seasonality_events", ef, sheet="h02_season_sheet")
nodes = ef[ef["kind"] == "node"]
days_ = nodes[nodes["phase"] == "day"].sort_values(["uplift", "event"], ascending=[False, True])
mains = nodes[nodes["phase"] == "main"]
node_text = ""
if len(days_) and len(mains):
    top_day = days_.iloc[0]
    top_main = mains.loc[((mains["uplift"] - 1) * mains["target_days"]).idxmax()]
    node_text = (
        ctx.text(
            "h02_season_nodes",
            top_day=ctx.md(top_day[name_col]),
            top_day_x=f"{top_day['uplift']:.1f}",
            top_main=ctx.md(top_main[name_col]),
            top_main_x=f"{top_main['uplift']:.1f}",
            top_main_days=top_main["target_days"],
        )
        + SEP
    )
hols = ef[(ef["kind"] == "holiday") & (ef["source"] == "learned")].sort_values("uplift")
prior = ef[ef["source"] == "prior"]
ctx.say(
    "h02_season_say",
    nodes=node_text,
    holiday=ctx.text(
        "h02_season_holiday", name=ctx.md(hols.iloc[0][name_col]), x=f"{hols.iloc[0]['uplift']:.2f}"
    )
    + SEP
    if len(hols) and hols.iloc[0]["uplift"] < 0.8
    else "",
    best_wd=WEEKDAYS[int(seas.weekday.idxmax())],
    worst_wd=WEEKDAYS[int(seas.weekday.idxmin())],
    wd_gap=ctx.text("wd_gap_pct", gap=pct(seas.weekday.max() / seas.weekday.min() - 1, 0))
    if seas.weekday.min() > 0
    else ctx.text("wd_gap_zero"),
    best_m=int(seas.month.idxmax()),
    worst_m=int(seas.month.idxmin()),
    prior=ctx.text(
        "h02_season_prior",
        n=len(prior),
        names=("、" if lang == "zh" else ", ").join(
            ctx.md(n)
            for n in dict.fromkeys(
                ctx.event_labels(
                    prior[name_col], prior["kind"] == "holiday", prior["phase"].map(PHASES)
                )
            )
        ),
    )
    if len(prior)
    else ctx.text("h02_season_allprior"),
)

# %% [markdown]
# Annual target

# %%
ctx.say("h02_target_momentum")
growth = ctx.load("market_forecast") or market.market_forecast(
    shop.table("keywords"), shop.orders, shop.table("traffic"), A, sm, shop.as_of
)
mkt = targets.market_term(growth, A["market_growth"])
owner = targets.owner_target(cfg.targets, fy)
inputs = {
    "daily": daily,
    "as_of": shop.as_of,
    "fy": fy,
    "start_month": sm,
    "seas": seas,
    "market": mkt,
    "owner": owner,
    "festivals": cfg.festivals,
    "week_scheme": week_scheme,
}
base, plan = targets.plan_from_inputs(ambition=amb, damping=damp, **inputs)
sc = plan.scenarios
summary = pd.DataFrame(
    {
        "item": ["last12", *sc["scenario"]] + (["owner_target"] if owner is not None else []),
        "amount": [base.last12 if base.method == "momentum" else base.observed]
        + sc["annual_target"].to_list()
        + ([owner] if owner is not None else []),
    }
)
if base.method == "profile":
    summary.loc[0, "item"] = "observed"
charts.bar(
    summary.assign(item=summary["item"].map(lambda k: ctx.label(f"tg_item_{k}"))),
    "item",
    "amount",
    ctx.label("h02_target_title"),
    money=True,
    color=[charts.PALETTE[5]] + [charts.PALETTE[0]] * 3 + [charts.PALETTE[1]] * (owner is not None),
)
plt.show()
ctx.table(
    sc.assign(scenario=sc["scenario"].map(lambda k: ctx.label(f"tg_item_{k}"))).add_prefix("tg_"),
    money=["tg_baseline", "tg_annual_target"],
    pct=["tg_carried", "tg_market_growth", "tg_ambition"],
    dec={"tg_vs_last12": 2},
)
ctx.save("annual_target", summary, sheet="h02_target_sheet")
ctx.save("target_scenarios", sc, sheet="h02_scenarios_sheet")
ctx.say(
    "h02_momentum_say" if base.method == "momentum" else "h02_profile_say",
    fy=fy,
    last12=(
        ctx.fact("net_sales", "last_12m")  # the same days as the metric layer's window
        if base.last12_end is not None and base.last12_end.normalize() == shop.as_of.normalize()
        else ctx.money(base.last12)
    )
    if base.method == "momentum"
    else "",
    l12_start=base.last12_start.date() if base.last12_start is not None else "",
    l12_end=base.last12_end.date() if base.last12_end is not None else "",
    trend=ctx.text(
        "h02_trend_measured",
        k=base.trend_months,
        trend=pct(base.trend),
        damping=pct(base.damping, 0),
        carried=pct(base.carried),
        thin=ctx.text("h02_trend_thin", k=base.trend_months, r=targets.MOMENTUM["recent_months"])
        if base.trend_months < targets.MOMENTUM["recent_months"]
        else "",
        capped=ctx.text(
            "h02_trend_capped",
            floor=pct(targets.MOMENTUM["floor"], 0),
            cap=pct(targets.MOMENTUM["cap"], 0),
        )
        if base.capped
        else "",
    )
    if base.trend_months
    else ctx.text("h02_trend_none"),
    observed=ctx.money(base.observed),
    days=(shop.as_of - daily["date"].min()).days + 1,
    baseline=ctx.money(base.annual),
    market=ctx.text(f"h02_market_{mkt['source']}", g=pct(mkt["growth_mean"])),
    amb=pct(amb),
    base_target=ctx.money(sc.loc[1, "annual_target"]),
    ratio=f"{sc.loc[1, 'vs_last12']:.2f}" if base.method == "momentum" else "–",
    low=ctx.money(sc.loc[0, "annual_target"]),
    high=ctx.money(sc.loc[2, "annual_target"]),
)
if owner is not None:
    gaps = plan.months.assign(size=plan.months["gap"].abs()).sort_values(
        ["size", "month"], ascending=[False, True], kind="stable"
    )
    ctx.say(
        "h02_owner_say",
        fy=fy,
        owner=ctx.money(owner),
        baseline=ctx.money(base.annual),
        diff=f"{owner / base.annual - 1:+.1%}",
        base_target=ctx.money(sc.loc[1, "annual_target"]),
        months=("、" if lang == "zh" else ", ").join(
            f"{m:%Y-%m} ({ctx.money(g)})"
            for m, g in zip(gaps["month"].head(3), gaps["gap"].head(3))
        ),
    )
for key, fields in plan.warnings:
    if key == "short_history":
        continue  # said above, before the figures
    ctx.say(
        f"h02_warn_{key}",
        ratio=f"{fields.get('ratio', 0):.2f}",
        months=", ".join(fields.get("months", [])),
    )
ly = targets.last_year_actual(daily, shop.as_of, sm)
bt = targets.backtest(daily, shop.as_of, sm, mkt, cfg.festivals, damp)
if bt is None:
    ctx.say("h02_backtest_none")
else:
    ctx.table(
        pd.DataFrame([bt])[["fy", "forecast", "low", "high", "actual", "error"]].add_prefix("bt_"),
        money=["bt_forecast", "bt_low", "bt_high", "bt_actual"],
        pct=["bt_error"],
    )
    ctx.say(
        "h02_backtest_say",
        fy=bt["fy"],
        as_of=bt["as_of"].date(),
        forecast=ctx.money(bt["forecast"]),
        actual=ctx.money(bt["actual"]),
        error=pct(bt["error"]),
        range=ctx.text("h02_backtest_in" if bt["in_range"] else "h02_backtest_out"),
    )

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "fy": fy,
        "method": base.method,
        "last12": None if base.method != "momentum" else round(base.last12),
        "baseline": round(base.annual),
        "annual_target": plan.annual,
        "source": plan.source,
    }
)

# %% [markdown]
# Down to every month

# %%
ctx.say("h02_split_momentum")
dt = plan.daily
levels = {
    lvl: targets.targets_by_level(dt, lvl, daily, fy - 1, sm, week_scheme)
    for lvl in ("half", "quarter", "day")
}
levels["week"] = targets.targets_by_level(dt, "week", daily, fy - 1, sm, week_scheme)
months = targets.month_table(plan, daily, sm, week_scheme)
levels["month"] = months
month_cols = ["period", "baseline", "target_sales", "share", "last_year", "growth"]
month_fmt = {"money": ["baseline", "target_sales", "last_year"], "pct": ["share", "growth"]}
charts.bars_with_line(
    months.assign(m=months["start"].dt.strftime("%Y-%m")),
    "m",
    "target_sales",
    "last_year",
    ctx.label("h02_split_title"),
    {c: ctx.label(c) for c in ("target_sales", "last_year")},
)
plt.show()
ctx.table(months[month_cols], **month_fmt)
ctx.save("targets_month", months, sheet="h02_months_sheet")
by_size = months.sort_values(["target_sales", "start"], ascending=[False, True])
by_growth = months.dropna(subset=["growth"]).sort_values(
    ["growth", "start"], ascending=[False, True]
)
ctx.say(
    "h02_split_say",
    top=by_size.iloc[0]["period"],
    top_target=ctx.money(by_size.iloc[0]["target_sales"]),
    top_share=pct(by_size.iloc[0]["share"]),
    low=by_size.iloc[-1]["period"],
    low_target=ctx.money(by_size.iloc[-1]["target_sales"]),
    h2=pct(levels["half"]["share"].iloc[-1]),
    fast=by_growth.iloc[0]["period"] if len(by_growth) else "–",
    fast_growth=pct(by_growth.iloc[0]["growth"]) if len(by_growth) else "–",
    slow=by_growth.iloc[-1]["period"] if len(by_growth) else "–",
    slow_growth=pct(by_growth.iloc[-1]["growth"]) if len(by_growth) else "–",
)

# %%
if tw.widgets_wanted(interactive):  # a Jupyter server's kernel; papermill and nbval: static
    from functools import partial

    from IPython.display import display

    main_rows = ef[(ef["kind"] == "node")].sort_values(["node", "phase"])
    main_rows = main_rows[main_rows["phase"] != "presale"].drop_duplicates("node", keep="last")
    whatif = tw.TargetWhatIf(
        inputs,
        amb,
        damp,
        main_rows.assign(label=main_rows[name_col])[["node", "label", "uplift"]],
        shop_dir=cfg.path,
        labels={
            k: ctx.label(f"tg_w_{k}") for k in ("ambition", "damping", "save", "saved", "total")
        },
        show=partial(ctx.table, **month_fmt),
        columns=month_cols,
        money=ctx.money,
    )
    ctx.say("h02_widget_note")
    display(whatif.widget())

# %% [markdown]
# Weeks, days and the report layouts

# %%
ctx.say("h02_days")
heat = dt.assign(
    m=dt["date"].dt.strftime("%Y-%m"),
    d=dt["date"].dt.day,
    x=dt["target_sales"] / dt["target_sales"].mean(),
).pivot(index="m", columns="d", values="x")
charts.calendar_heatmap(heat, ctx.label("h02_days_title"))
plt.show()
ctx.say("h02_levels_note")
hq = pd.concat([levels["half"], levels["quarter"]], ignore_index=True)
ctx.table(
    hq[["period", "start", "end", "days", "target_sales", "share", "last_year", "growth"]],
    money=["target_sales", "last_year"],
    pct=["share", "growth"],
)
weeks = levels["week"]
ctx.say("h02_weeks_note")
ctx.table(
    weeks.sort_values(["target_sales", "start"], ascending=[False, True]).head(5)[
        ["period", "start", "end", "days", "target_sales", "share", "last_year", "growth"]
    ],
    money=["target_sales", "last_year"],
    pct=["share", "growth"],
)
daily_layout, weekly_layout = targets.report_layouts(dt)
ctx.save("targets_daily", targets.targets_daily_artifact(dt))
ctx.save("targets_half", levels["half"], sheet="h02_half_sheet")
ctx.save("targets_quarter", levels["quarter"], sheet="h02_quarter_sheet")
ctx.save("targets_week", weeks, sheet="h02_week_sheet")
ctx.save("targets_day", levels["day"], sheet="h02_day_sheet")
ctx.save("daily_report_layout", daily_layout, sheet="h02_daily_layout_sheet")
ctx.save("weekly_report_layout", weekly_layout, sheet="h02_weekly_layout_sheet")
ctx.save("targets_meta", targets.targets_meta(plan, base, mkt, amb, sm, week_scheme, ly))
top_d = levels["day"].sort_values(["target_sales", "start"], ascending=[False, True]).iloc[0]
top_w = weeks.sort_values(["target_sales", "start"], ascending=[False, True]).iloc[0]
ctx.say(
    "h02_days_say",
    avg=ctx.money(dt["target_sales"].mean()),
    top_day=top_d["period"],
    top_day_target=ctx.money(top_d["target_sales"]),
    top_day_x=f"{top_d['target_sales'] / dt['target_sales'].mean():.1f}",
    top_week=top_w["period"],
    top_week_target=ctx.money(top_w["target_sales"]),
)

# %% [markdown]
# Product goals

# %%
if base.method == "momentum":
    w_start, w_end = base.last12_start, base.last12_end
else:
    w_start, w_end = daily["date"].min(), shop.as_of
window = f"{w_start.date()} – {w_end.date()}"
ctx.say("h02_products", window=window)
ctx.missing("product_id", ctx.label("h02_what_products"))
pg = targets.product_goals(shop.orders, shop.table("products"), A["role_mix"], w_start, w_end)
if pg.n_sold:
    charts.pareto(pg.pareto, "share", "cum_share", ctx.label("h02_pareto_title"))
    plt.show()
    ctx.say(
        "h02_products_say",
        n_sold=pg.n_sold,
        n_80=pg.n_80,
        share_80=pct(pg.share_80),
        top20=pct(pg.sales_top20),
        advice=ctx.text("h02_pareto_steep" if pg.share_80 < 0.2 else "h02_pareto_flat"),
    )
if pg.roles is None:
    ctx.say(f"h02_roles_missing_{pg.roles_missing}")
else:
    roles = pg.roles.assign(role=pg.roles["role"].map(ctx.label))
    charts.paired_bars(
        roles,
        "role",
        ["target_share", "count_share", "sales_share"],
        ctx.label("h02_roles_title"),
        labels={c: ctx.label(c) for c in ("target_share", "count_share", "sales_share")},
    )
    plt.show()
    ctx.table(
        roles[
            ["role", "target_share", "products", "count_share", "sales", "sales_share", "gap_sales"]
        ],
        money=["sales"],
        pct=["target_share", "count_share", "sales_share", "gap_sales"],
        ints=["products"],
    )
    ctx.save("role_mix", pg.roles, sheet="h02_roles_sheet")
    worst = roles.loc[roles["gap_sales"].abs().idxmax()]
    ctx.say(
        "h02_roles_say",
        role=worst["role"],
        target=pct(worst["target_share"]),
        actual=pct(worst["sales_share"]),
        count=pct(worst["count_share"]),
        advice=ctx.text("h02_roles_under" if worst["gap_sales"] > 0 else "h02_roles_over"),
    )

# %% [markdown]
# Customer goals

# %%
R, F = int(A["repeat_member_orders"]), int(A["fan_orders"])
ctx.say("h02_customers", window=window, repeat=R, fan=F)
if not ctx.missing("customer_id", ctx.label("h02_what_customers")):
    nvr = cu.new_vs_returning(cu.customer_orders(shop.orders, w_end), w_end)
    mix = cu.returning_summary(nvr[nvr["month"] <= w_end])
    cg = targets.customer_goals(
        shop.orders, dt, w_start, w_end, sm, R, F, repeat_gain, mix["returning_share"]
    )
    mt = cg.monthly
    ladder_chart = mt.set_index(mt["month"].str.extract(r"\((.*)\)")[0].fillna(mt["month"]))[
        ["members_new", "members_repeat", "members_fan"]
    ].rename(columns=ctx.label)
    charts.legend_outside(charts.stacked_bar(ladder_chart, ctx.label("h02_ladder_title")), "below")
    plt.show()
    now = cg.now.assign(
        customer_type=cg.now["customer_type"].map(lambda t: ctx.label(f"customer_{t}"))
    )
    ctx.table(
        now, money=["sales", "aov"], pct=["buyer_share", "sales_share"], ints=["buyers", "orders"]
    )
    lad = cg.ladder.assign(rung=cg.ladder["rung"].map(ctx.label))
    ctx.table(lad, money=["sales"], pct=["share", "sales_share"], ints=["customers"])
    ctx.table(
        mt[
            [
                "month",
                "target_sales",
                "target_orders",
                "target_buyers",
                "target_new",
                "target_returning",
                "target_repeat_rate",
                "new_repeat_members",
                "new_fans",
                "members_new",
                "members_repeat",
                "members_fan",
            ]
        ],
        money=["target_sales"],
        pct=["target_repeat_rate"],
        ints=[
            "target_orders",
            "target_buyers",
            "target_new",
            "target_returning",
            "new_repeat_members",
            "new_fans",
            "members_new",
            "members_repeat",
            "members_fan",
        ],
        rows=12,
    )
    ctx.save("customer_targets", mt, sheet="h02_customers_sheet")
    ctx.save("member_rungs", cg.ladder, sheet="h02_ladder_sheet")
    lad_now = cg.ladder.set_index("rung")["customers"]
    end = mt.iloc[-1]
    ret_sales = ctx.value("returning_sales_share", "last_12m")
    ctx.say(
        "h02_customers_say",
        window=ctx.period_text("last_12m"),
        fy=fy,
        start_share=pct(mix["returning_share"]),
        end_share=pct(mt["target_repeat_rate"].iloc[-1]),
        buyers=ctx.fact("buyers", "last_12m"),
        new_share=ctx.fact("new_buyer_share", "last_12m"),
        ret_share=ctx.fact("returning_buyer_share", "last_12m"),
        ret_sales=ctx.fact("returning_sales_share", "last_12m"),
        new_total=num(mt["target_new"].sum()),
        gain=f"{repeat_gain * 100:g}",
        ret_total=num(mt["target_returning"].sum()),
        m_new=num(end["members_new"]),
        m_rep=num(end["members_repeat"]),
        m_fan=num(end["members_fan"]),
        n_new=num(lad_now["new_member"]),
        n_rep=num(lad_now["repeat_member"]),
        n_fan=num(lad_now["fan"]),
        advice=ctx.text(
            "h02_customers_new_led"
            if ret_sales.known and ret_sales.value < 0.3
            else "h02_customers_loyal"
            if ret_sales.known
            else "h02_customers_split_unknown"
        ),
    )
