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
interactive = False  # True in JupyterLab: sliders for ambition and festival weights

# %%
import logging

import matplotlib.pyplot as plt
import pandas as pd

from helpers import calendar as cal
from helpers import charts, market, metrics, nb, targets
from helpers.narrative import esc, num, pct


def md(text) -> str:
    """Shop or config text inside Markdown (the apostrophe kept out of esc's entities)."""
    return esc(str(text).replace("'", "’"))


ctx = nb.open_shop(shop_dir, out_dir, as_of, lang, page="02_target_setting")
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no bold CJK face: fine
shop = ctx.shop
cfg = shop.config
A = cfg.assumptions
sm = cfg.fiscal_year_start_month
amb = float(A["ambition"] if ambition is None else ambition)
daily = metrics.daily_sales(shop.orders, end=shop.as_of)
fy = targets.target_fiscal_year(shop.as_of, sm)
fy_start, fy_end = cal.fiscal_year_bounds(fy, sm)
ly = targets.last_year_actual(daily, shop.as_of, sm)
ctx.say("h02_title", shop=md(cfg.name), fy=fy)
ctx.say(
    "h02_intro",
    as_of=shop.as_of.date(),
    fy=fy,
    start=fy_start.date(),
    end=fy_end.date(),
    last_fy=ly["fy"],
    last_start=ly["start"].date(),
    last_end=ly["end"].date(),
    partial=ctx.text(
        "h02_partial", last_fy=ly["fy"], days=ly["days_with_data"], scale=f"{ly['scale']:.2f}"
    )
    if ly["partial"]
    else "",
)
name_col = "name_zh" if lang == "zh" else "name_en"
PHASES = {"presale": "phase_presale", "main": "phase_main", "day": "phase_peak"}
WEEKDAYS = ctx.label("weekday_names").split(",")


SEP = "" if lang == "zh" else " "


def event_name(row) -> str:
    if row["kind"] == "holiday":
        return f"{row[name_col]}{'（' if lang == 'zh' else ' ('}{ctx.label('tg_holiday')}" + (
            "）" if lang == "zh" else ")"
        )
    return f"{row[name_col]} · {ctx.label(PHASES[row['phase']])}"


# %% [markdown]
# The shop's own seasonality

# %%
ctx.say("h02_season")
seas = targets.learn_seasonality(daily, cfg.festivals)
ef = targets.event_factors(seas, fy_start, fy_end, cfg.festivals)
ef_show = ef.assign(event=ef.apply(event_name, axis=1))
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
            top_day=md(top_day[name_col]),
            top_day_x=f"{top_day['uplift']:.1f}",
            top_main=md(top_main[name_col]),
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
        "h02_season_holiday", name=md(hols.iloc[0][name_col]), x=f"{hols.iloc[0]['uplift']:.2f}"
    )
    + SEP
    if len(hols) and hols.iloc[0]["uplift"] < 0.8
    else "",
    best_wd=WEEKDAYS[int(seas.weekday.idxmax())],
    worst_wd=WEEKDAYS[int(seas.weekday.idxmin())],
    wd_gap=pct(seas.weekday.max() / seas.weekday.min() - 1, 0),
    best_m=int(seas.month.idxmax()),
    worst_m=int(seas.month.idxmin()),
    prior=ctx.text(
        "h02_season_prior",
        n=len(prior),
        names=("、" if lang == "zh" else ", ").join(
            md(n) for n in dict.fromkeys(prior.apply(event_name, axis=1))
        ),
    )
    if len(prior)
    else ctx.text("h02_season_allprior"),
)

# %% [markdown]
# Annual target

# %%
ctx.say("h02_target")
growth = ctx.load("market_forecast") or market.market_forecast(
    shop.table("keywords"), shop.orders, shop.table("traffic"), A, sm, shop.as_of
)
run = targets.running_growth(daily, shop.as_of, sm)
at = targets.annual_target(ly["actual"], growth, amb, fy - ly["fy"], between=run["growth"])
own = market.shop_growth(shop.orders, sm)
summary = pd.DataFrame(
    {
        "item": ["last_year_actual", "target_low", "annual_target", "target_high"],
        "amount": [ly["actual"], at["target_low"], at["annual_target"], at["target_high"]],
    }
)
charts.bar(
    summary.assign(item=summary["item"].map(ctx.label)),
    "item",
    "amount",
    ctx.label("h02_target_title"),
    money=True,
    color=[charts.PALETTE[5], charts.PALETTE[0], charts.PALETTE[0], charts.PALETTE[0]],
)
plt.show()
ctx.table(summary.assign(item=summary["item"].map(ctx.label)), money=["amount"])
ctx.save("annual_target", summary, sheet="h02_target_sheet")
growth_source = growth.get("source", "keywords")
if growth_source == "shop" and not growth.get("growth_n"):
    growth_source = "none"
if growth_source != "keywords":  # the growth already is the shop's own: nothing to compare
    own_text = ""
elif own["growth_n"]:
    gap = own["growth_mean"] - at["target_year_growth"]
    own_key = "h02_own_fast" if gap > 0.1 else "h02_own_slow" if gap < -0.1 else "h02_own_inline"
    own_text = ctx.text(own_key, own=pct(own["growth_mean"]))
else:
    own_text = ctx.text("h02_own_unknown")
ctx.say(
    "h02_target_say",
    fy=fy,
    target=ctx.money(at["annual_target"]),
    last_fy=ly["fy"],
    last=ctx.money(ly["actual"]) if ly["partial"] else ctx.fact("net_sales", f"FY{ly['fy']}"),
    g=pct(at["market_growth"]),
    amb=pct(amb),
    between=ctx.text(
        "h02_target_between"
        if run["fy"] == ly["fy"] + 1 and pd.notna(run["growth"])
        else "h02_target_between_market",
        g=pct(at["between"]),
        run_fy=run["fy"],
        as_of=shop.as_of.date(),
    )
    if at["years_ahead"] > 1
    else "",
    growth=pct(at["growth"]),
    range=ctx.text(
        "h02_target_range", low=ctx.money(at["target_low"]), high=ctx.money(at["target_high"])
    )
    if at["target_low"] < at["target_high"]
    else "",
    own=ctx.text(f"h02_growth_source_{growth_source}") + SEP + own_text,
)

# %%
# NBVAL_CHECK_OUTPUT
print(
    {
        "fy": fy,
        "last_fy": ly["fy"],
        "last_year_actual": round(ly["actual"]),
        "annual_target": at["annual_target"],
        "growth": round(at["growth"], 3),
    }
)

# %% [markdown]
# Down to every month

# %%
ctx.say("h02_split")
weights = targets.day_weights(
    fy, sm, seas, week_scheme, cfg.festivals, growth=at["target_year_growth"]
)
dt = targets.decompose(at["annual_target"], weights, week_scheme)
levels = {
    lvl: targets.targets_by_level(dt, lvl, daily, fy - 1, sm, week_scheme)
    for lvl in ("half", "quarter", "month", "week", "day")
}
months = levels["month"]
month_cols = ["period", "target_sales", "share", "last_year", "growth"]
charts.bars_with_line(
    months.assign(m=months["start"].dt.strftime("%Y-%m")),
    "m",
    "target_sales",
    "last_year",
    ctx.label("h02_split_title"),
    {c: ctx.label(c) for c in ("target_sales", "last_year")},
)
plt.show()
ctx.table(months[month_cols], money=["target_sales", "last_year"], pct=["share", "growth"])
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
if interactive:  # JupyterLab only: papermill and nbval runs keep interactive = False
    import ipywidgets as widgets
    from IPython.display import display

    main_rows = ef[(ef["kind"] == "node")].sort_values(["node", "phase"])
    main_rows = main_rows[main_rows["phase"] != "presale"].drop_duplicates("node", keep="last")
    amb_slider = widgets.FloatSlider(
        value=amb,
        min=-0.3,
        max=1.0,
        step=0.01,
        description=ctx.label("tg_ambition"),
        readout_format=".0%",
    )
    node_sliders = {
        r["node"]: widgets.FloatSlider(
            value=round(r["uplift"], 2),
            min=0.3,
            max=max(5.0, round(2 * r["uplift"], 1)),
            step=0.05,
            description=str(r[name_col])[:18],
        )
        for _, r in main_rows.iterrows()
    }
    out = widgets.Output()

    def redraw(_=None):
        with out:
            out.clear_output(wait=True)
            at_i = targets.annual_target(
                ly["actual"], growth, amb_slider.value, fy - ly["fy"], between=run["growth"]
            )
            w_i = targets.day_weights(
                fy,
                sm,
                seas,
                week_scheme,
                cfg.festivals,
                {k: s.value for k, s in node_sliders.items()},
                growth=at_i["target_year_growth"],
            )
            m_i = targets.targets_by_level(
                targets.decompose(at_i["annual_target"], w_i, week_scheme),
                "month",
                daily,
                fy - 1,
                sm,
                week_scheme,
            )
            charts.bars_with_line(
                m_i.assign(m=m_i["start"].dt.strftime("%Y-%m")),
                "m",
                "target_sales",
                "last_year",
                ctx.label("h02_split_title"),
                {c: ctx.label(c) for c in ("target_sales", "last_year")},
            )
            plt.show()
            ctx.table(m_i[month_cols], money=["target_sales", "last_year"], pct=["share", "growth"])

    for s in (amb_slider, *node_sliders.values()):
        s.observe(redraw, names="value")
    ctx.say("h02_widget_note")
    display(widgets.VBox([amb_slider, *node_sliders.values(), out]))
    redraw()

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
targets_daily = dt[
    ["date", "fy", "half", "quarter", "month", "week", "target_sales", "node", "phase", "holiday"]
]
ctx.save("targets_daily", targets_daily)
ctx.save("targets_half", levels["half"], sheet="h02_half_sheet")
ctx.save("targets_quarter", levels["quarter"], sheet="h02_quarter_sheet")
ctx.save("targets_week", weeks, sheet="h02_week_sheet")
ctx.save("targets_day", levels["day"], sheet="h02_day_sheet")
ctx.save("daily_report_layout", daily_layout, sheet="h02_daily_layout_sheet")
ctx.save("weekly_report_layout", weekly_layout, sheet="h02_weekly_layout_sheet")
ctx.save(
    "targets_meta",
    {
        "fy": fy,
        "start_month": sm,
        "annual_target": at["annual_target"],
        "last_year_actual": ly["actual"],
        "growth": at["growth"],
        "market_growth": at["market_growth"],
        "growth_source": growth_source,
        "ambition": amb,
        "target_low": at["target_low"],
        "target_high": at["target_high"],
        "last_fy": ly["fy"],
        "last_year_partial": ly["partial"],
        "week_scheme": week_scheme,
        "start": str(fy_start.date()),
        "end": str(fy_end.date()),
    },
)
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
ctx.say("h02_products", last_fy=ly["fy"])
pg = targets.product_goals(
    shop.orders, shop.table("products"), A["role_mix"], ly["start"], ly["end"]
)
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
ctx.say("h02_customers", last_fy=ly["fy"], repeat=R, fan=F)
if not ctx.missing("customer_id", ctx.label("h02_what_customers")):
    cg = targets.customer_goals(shop.orders, dt, ly["start"], ly["end"], sm, R, F, repeat_gain)
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
    ctx.save("member_ladder", cg.ladder, sheet="h02_ladder_sheet")
    lad_now = cg.ladder.set_index("rung")["customers"]
    end = mt.iloc[-1]
    last_fy = f"FY{ly['fy']}"
    ret_sales = ctx.value("returning_sales_share", last_fy)
    ctx.say(
        "h02_customers_say",
        last_fy=ly["fy"],
        fy=fy,
        mix=ctx.text(
            "h02_customers_mix",
            last_fy=ly["fy"],
            buyers=ctx.fact("buyers", last_fy),
            new_share=ctx.fact("new_buyer_share", last_fy),
            ret_share=ctx.fact("returning_buyer_share", last_fy),
            ret_sales=ctx.fact("returning_sales_share", last_fy),
        )
        if ret_sales.known
        else ctx.text(
            "h02_customers_mix_unknown",
            last_fy=ly["fy"],
            buyers=ctx.fact("buyers", last_fy),
            why=ctx.fact("returning_sales_share", last_fy),
        ),
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
