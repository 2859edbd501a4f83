"""Target setting (设定目标): the fiscal year's sales target, split to every day, and the
product and customer goals that go with it.

**Which year.** The target fiscal year is the one after the fiscal year containing ``as_of``
(:func:`target_fiscal_year`). Last year's actual is the last *complete* fiscal year in the data
(ending on or before ``as_of`` and starting on or after the first sale). Without one, the latest
fiscal year with data is scaled up by days (``days in the year / days with data``) and flagged
``partial`` (:func:`last_year_actual`).

**How much** (what notebook 02 uses). The baseline is the shop's momentum
(:func:`momentum_baseline`): the last 12 complete months carried to the target year by the
damped year-on-year trend of the recent months, or, with less than 12 months, the days seen
annualised with a flat-with-festivals calendar profile and a wider range. The market's growth
counts only when it comes from market data (:func:`market_term`); ambition is added once.
:func:`scenarios` gives conservative / base / stretch, :func:`target_warnings` what must be
said, :func:`backtest` how the method did on the last complete year, and the owner's figure
(shop.yaml ``targets:``, :func:`owner_target`) replaces the computed one
(:func:`target_plan`). :func:`annual_target` and :func:`running_growth` (last year × (1 +
growth + ambition)) are the earlier method, kept for callers that still use them.

**Seasonality, learned** (:func:`learn_seasonality`) from the shop's daily net sales:

* every day is *ordinary*, or belongs to a platform festival node (phase ``presale``, ``main``,
  or ``day`` = the node date itself) and/or a statutory holiday day off
  (:func:`event_calendar`, from :mod:`helpers.core.calendar`);
* weekday factors: ordinary days' sales against their month's mean of ordinary days (ratio of
  sums), normalised to a mean of 1;
* each month's *level*: weekday-adjusted mean of its ordinary days. ``log(level)`` is fitted by
  least squares on calendar-month effects plus, with 18 months or more, a linear trend; month
  factors are the exponentiated month effects normalised to a mean of 1 and ``trend`` is the
  yearly growth the slope implies;
* uplift of an event (a node phase, or a holiday) = sales on its days ÷ what those days would
  sell as ordinary days of the same month (the month's level × weekday factor), summed over
  every occurrence in the history. Node phases are learned on days without a holiday and
  holidays on days outside nodes; a day in both gets both factors. Without history the node's
  ``festivals.yaml`` weight is used for ``main`` and ``day`` (1.0 for ``presale``), and 1.0 for
  holidays (``source`` says which); with thin history the learned value is shrunk toward that
  prior by a few pseudo-orders (``prior_orders``).

**Split** (:func:`day_weights`, :func:`decompose`): day weight = month factor × weekday factor ×
node uplift × holiday uplift × ``(1 + growth)^t`` (``t`` = years since the fiscal year start;
the notebook uses the target's own growth, so the ramp inside the year agrees with the year).
The annual target in cents is split with :func:`helpers.core.calendar.split_cents` top-down: halves
by their days' weights, each half's cents over its quarters, then months, then weeks (48-week
scheme: four per month) and days; the parts add up to the whole exactly at every level. ISO
weeks straddle months, so with ``week_scheme="iso"`` months split straight to days and a week's
target is the sum of its days (weeks then add up exactly to the year, not to months).

Above 600 lines: one domain (momentum baseline, scenarios, split to days, product and customer goals, backtest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.analysis.returns import product_lines
from helpers.core import calendar as cal
from helpers.core.codes import line_codes, sales_lines, subset_codes

__all__ = [
    "Momentum",
    "TargetError",
    "TargetPlan",
    "backtest",
    "calendar_profile",
    "last_year_reference",
    "market_term",
    "momentum_baseline",
    "month_plan",
    "month_table",
    "monthly_actuals",
    "owner_target",
    "plan_from_inputs",
    "plan_weights",
    "review_targets",
    "scenarios",
    "target_plan",
    "target_warnings",
    "targets_daily_artifact",
    "targets_meta",
    "year_targets",
    "CustomerGoals",
    "ProductGoals",
    "Seasonality",
    "annual_target",
    "customer_goals",
    "day_weights",
    "decompose",
    "event_calendar",
    "event_factors",
    "last_year_actual",
    "learn_seasonality",
    "product_goals",
    "report_layouts",
    "running_growth",
    "target_fiscal_year",
    "targets_by_level",
]

# the columns of an event-effects table (learn_seasonality), in order
EVENT_EFFECT_COLUMNS = (
    "event",
    "kind",
    "node",
    "phase",
    "name_zh",
    "name_en",
    "uplift",
    "learned",
    "prior",
    "target_days",
    "hist_days",
    "hist_years",
    "source",
)

LEVELS = ("year", "half", "quarter", "month", "week", "day")


# --------------------------------------------------------------------------------------------
# which year, how much


def target_fiscal_year(as_of, start_month: int) -> int:
    """The fiscal year after the one containing ``as_of``.

    E.g. ``as_of=2025-12-31``: start month 1 → 2026 (Jan–Dec 2026); start month 4 → FY2026
    (Apr 2026 – Mar 2027), because 2025-12-31 lies in FY2025 (Apr 2025 – Mar 2026).
    """
    return int(cal.fiscal_year_of(as_of, start_month)) + 1


def last_year_actual(daily: pd.DataFrame, as_of, start_month: int) -> dict:
    """Net sales of the last complete fiscal year in the data (scaled up when partial).

    Parameters
    ----------
    daily : pandas.DataFrame
        :func:`helpers.core.codes.daily_sales` (``date``, ``net_sales``).
    as_of : date-like
        Analysis date: later days are ignored.
    start_month : int
        Fiscal year start month.

    Returns
    -------
    dict
        ``fy``, ``start``, ``end`` (Timestamps), ``actual`` (net sales, scaled when partial),
        ``observed`` (unscaled sum), ``days_with_data``, ``days``, ``partial`` (bool),
        ``scale`` (days ÷ days with data; 1.0 when complete).
    """
    as_of = pd.Timestamp(as_of).normalize()
    d = daily[daily["date"] <= as_of]
    first = d["date"].min()
    fy = int(cal.fiscal_year_of(as_of, start_month))
    lo, hi = cal.fiscal_year_bounds(fy, start_month)
    if hi > as_of:
        fy -= 1
        lo, hi = cal.fiscal_year_bounds(fy, start_month)
    partial = pd.isna(first) or lo < first
    if partial and (pd.isna(first) or hi < first):  # no day of that year: the running one
        fy += 1
        lo, hi = cal.fiscal_year_bounds(fy, start_month)
    inside = d[(d["date"] >= lo) & (d["date"] <= hi)]
    days = (hi - lo).days + 1
    n = int(inside["date"].nunique())
    observed = float(inside["net_sales"].sum())
    scale = days / n if partial and n else 1.0
    return {
        "fy": fy,
        "start": lo,
        "end": hi,
        "actual": observed * scale,
        "observed": observed,
        "days_with_data": n,
        "days": days,
        "partial": bool(partial),
        "scale": float(scale),
    }


def running_growth(daily: pd.DataFrame, as_of, start_month: int) -> dict:
    """How the fiscal year containing ``as_of`` is doing so far against a year earlier.

    Parameters
    ----------
    daily : pandas.DataFrame
        ``date``, ``net_sales`` (one row per day with data).
    as_of : date-like
        The last day counted.
    start_month : int
        Fiscal year start month.

    Returns
    -------
    dict
        ``fy`` (the running fiscal year), ``days`` (its days up to ``as_of``), ``to_date`` and
        ``year_before`` (net sales of those days and of the same dates a year earlier) and
        ``growth`` (= to_date ÷ year_before − 1; NaN when the year before has no sales or
        misses some of those days).
    """
    as_of = pd.Timestamp(as_of).normalize()
    fy = int(cal.fiscal_year_of(as_of, start_month))
    lo, _ = cal.fiscal_year_bounds(fy, start_month)
    s = daily.set_index("date")["net_sales"]
    days = pd.date_range(lo, as_of, freq="D")
    before = pd.DatetimeIndex(days - pd.DateOffset(years=1)).unique()
    now_v = s.reindex(days)
    prev_v = s.reindex(before)
    to_date, year_before = float(now_v.sum()), float(prev_v.sum())
    complete = prev_v.notna().all() and now_v.notna().all()
    growth = to_date / year_before - 1 if complete and year_before > 0 else np.nan
    return {
        "fy": fy,
        "days": len(days),
        "to_date": to_date,
        "year_before": year_before,
        "growth": growth,
    }


def annual_target(
    last_actual: float,
    growth: dict,
    ambition: float,
    years_ahead: int = 1,
    between: float | None = None,
) -> dict:
    """The target fiscal year's sales and the range the market's growth spread gives.

    Parameters
    ----------
    last_actual : float
        Last year's net sales.
    growth : dict
        ``growth_mean``, ``growth_low``, ``growth_high`` (the ``market_forecast`` artifact).
    ambition : float
        Growth on top of the market's (0.15 = 15 points more).
    years_ahead : int
        Fiscal years from last year's actual to the target year (``k`` in the module notes).
    between : float, optional
        With ``k >= 2``: the growth of the fiscal year after last year's (the one still
        running, :func:`running_growth`); None or NaN: the market's growth.

    Returns
    -------
    dict
        ``annual_target``, ``target_low``, ``target_high`` (whole currency units), ``growth``
        (target ÷ last − 1), ``target_year_growth`` (growth of the target year alone),
        ``base`` (last year carried to the year before the target), ``between`` (the growth
        used for the running year, None when ``k = 1``), ``market_growth``, ``ambition``,
        ``years_ahead``.
    """
    k = max(int(years_ahead), 1)
    run = None if k == 1 or between is None or not np.isfinite(between) else float(between)

    def base(g: float) -> float:
        if k == 1:
            return last_actual
        first = run if run is not None else g
        return last_actual * (1 + first) * (1 + g) ** (k - 2)

    def at(g: float) -> float:
        return float(np.round(base(g) * (1 + g + ambition)))

    g = float(growth["growth_mean"])
    target = at(g)
    return {
        "annual_target": target,
        "target_low": at(float(growth["growth_low"])),
        "target_high": at(float(growth["growth_high"])),
        "growth": target / last_actual - 1 if last_actual else np.nan,
        "target_year_growth": g + float(ambition),
        "base": base(g),
        "between": None if k == 1 else (run if run is not None else g),
        "market_growth": g,
        "ambition": float(ambition),
        "years_ahead": k,
    }


# --------------------------------------------------------------------------------------------
# seasonality


def event_calendar(start, end, festivals=None) -> pd.DataFrame:
    """Every day in ``[start, end]`` with its festival-node event and holiday event.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``node`` (key or None), ``phase`` (``presale``/``main``/``day`` or None),
        ``holiday`` (name of a public day off: Chinese for CN, English elsewhere; or None),
        ``node_event`` (``"618:main"``), ``holiday_event`` (``"holiday:春节"``),
        ``workday_makeup`` (True on a make-up working day, 调休上班).

    ``festivals`` is the shop's calendar (:class:`helpers.core.calendar.MarketCalendar`, its market
    and overrides) or, as before markets, a list of overrides of the CN calendar.
    """
    fd = cal.festival_days(start, end, festivals)
    nodes = cal.festival_nodes(start, end, festivals)
    phase = fd["phase"].replace({"peak": "main"})
    peak = pd.Series(nodes["key"].to_numpy(), index=nodes["peak"]).groupby(level=0).first()
    on_peak = fd["date"].map(peak)
    is_day = on_peak.notna() & (on_peak == fd["node"])
    phase = phase.where(~is_day, "day")
    node_event = (fd["node"] + ":" + phase).where(fd["node"].notna())
    hol_event = ("holiday:" + fd["holiday"]).where(fd["holiday"].notna())
    return pd.DataFrame(
        {
            "date": fd["date"],
            "node": fd["node"],
            "phase": phase.where(fd["node"].notna()),
            "holiday": fd["holiday"],
            "node_event": node_event.astype(object).where(node_event.notna(), None),
            "holiday_event": hol_event.astype(object).where(hol_event.notna(), None),
            "workday_makeup": fd["is_workday_makeup"].to_numpy(bool),
        }
    )


@dataclass
class Seasonality:
    """What :func:`learn_seasonality` learned (see the module notes)."""

    month: pd.Series  # calendar month 1..12 -> factor, mean 1
    weekday: pd.Series  # 0 (Monday)..6 -> factor, mean 1
    events: pd.DataFrame  # event, kind, node, phase, uplift, days, years, source
    trend: float  # yearly growth of ordinary days' level (0 when not fitted)
    levels: pd.DataFrame  # month, level, fitted: the weekday-adjusted ordinary level per month
    start: pd.Timestamp
    end: pd.Timestamp

    def uplift(self, event: str, default: float = 1.0) -> float:
        e = self.events.set_index("event")["uplift"]
        return float(e.get(event, default))


def learn_seasonality(
    daily: pd.DataFrame,
    festivals=None,
    min_trend_months: int = 18,
    prior_orders: float = 5.0,
) -> Seasonality:
    """Learn month, weekday, festival and holiday effects from a shop's daily sales.

    Parameters
    ----------
    daily : pandas.DataFrame
        ``date`` and ``net_sales`` (and ``orders``), one row per day
        (:func:`helpers.core.codes.daily_sales`).
    festivals : MarketCalendar or list of dict, optional
        The shop's calendar (``ShopConfig.calendar``: market and shop.yaml festival overrides,
        :func:`helpers.core.calendar.festival_nodes`); a list or None is the CN calendar.
    min_trend_months : int
        A trend is fitted only with at least this many months with ordinary days.
    prior_orders : float
        With an ``orders`` column, each uplift is shrunk toward its prior (the festivals.yaml
        weight for a node's main phase and node day, 1 for pre-sales and holidays) as if
        ``prior_orders`` extra orders had been seen at the prior multiple:
        ``(sales + m·v·prior) / (expected + m·v)`` with ``v`` the ordinary days' sales per
        order. A big shop's node day (hundreds of orders) barely moves; a small shop's two
        noisy orders do not make a holiday worth 0× or 5×. Without ``orders``: no shrinking.

    Returns
    -------
    Seasonality
        ``events`` has one row per event seen in the history: ``event`` (``"618:main"``,
        ``"holiday:春节"``), ``kind`` (``node``/``holiday``), ``node``, ``phase``, ``uplift``,
        ``raw`` (sales ÷ expected, unshrunk), ``prior``, ``sales`` and ``expected`` (summed
        over the event's days), ``days``, ``years`` (distinct calendar years), ``source`` =
        ``"learned"``.
    """
    cols = ["date", "net_sales"] + (["orders"] if "orders" in daily else [])
    d = daily[cols].sort_values("date", kind="stable").reset_index(drop=True)
    start, end = d["date"].min(), d["date"].max()
    ev = event_calendar(start, end, festivals)
    d = d.merge(ev, on="date", how="left")
    d["ym"] = d["date"].dt.year * 12 + d["date"].dt.month - 1
    d["wd"] = d["date"].dt.day_of_week
    ordinary = d["node_event"].isna() & d["holiday_event"].isna()
    o = d[ordinary]
    raw = o.groupby("ym")["net_sales"].mean()
    base = raw.reindex(o["ym"]).to_numpy()
    num = o.groupby("wd")["net_sales"].sum()
    den = pd.Series(base, index=o.index).groupby(o["wd"]).sum()
    wdf = (num / den.where(den > 0)).reindex(range(7))
    wdf = wdf / wdf.mean() if wdf.notna().any() else wdf
    wdf = wdf.fillna(1.0)
    o_w = wdf.reindex(o["wd"]).to_numpy()
    level = (
        o["net_sales"].groupby(o["ym"]).sum() / pd.Series(o_w, index=o.index).groupby(o["ym"]).sum()
    )
    lv = level[level > 0]
    months = (lv.index.to_numpy() % 12) + 1
    seen = np.unique(months)
    trend_b = 0.0
    y = np.log(lv.to_numpy())
    if len(lv) >= min_trend_months:
        t = (lv.index.to_numpy() - lv.index.min()) / 12.0
        X = np.column_stack([t] + [(months == m).astype(float) for m in seen])
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        trend_b, s = float(coef[0]), coef[1:]
        fitted = X @ coef
    else:
        s = np.array([y[months == m].mean() for m in seen])
        fitted = s[np.searchsorted(seen, months)]
    eff = pd.Series(np.exp(s), index=seen)
    mf = (
        (eff / eff.mean()).reindex(range(1, 13)).fillna(1.0)
        if len(eff)
        else pd.Series(1.0, index=range(1, 13))
    )
    mf.index.name = "month"
    levels = pd.DataFrame(
        {
            "month": pd.to_datetime({"year": lv.index // 12, "month": lv.index % 12 + 1, "day": 1}),
            "level": lv.to_numpy(),
            "fitted": np.exp(fitted),
        }
    )
    # expected ordinary sales of every day: its month's level × weekday factor
    lvl = level.reindex(d["ym"]).to_numpy()
    if len(seen):
        t_all = (d["ym"].to_numpy() - (lv.index.min() if len(lv) else 0)) / 12.0
        m_all = d["date"].dt.month.to_numpy()
        s_map = pd.Series(s, index=seen).reindex(m_all).to_numpy()
        fit_all = np.exp(s_map + trend_b * t_all)
        lvl = np.where(np.isfinite(lvl) & (lvl > 0), lvl, fit_all)
    d["expected"] = lvl * wdf.reindex(d["wd"]).to_numpy()
    unit = 0.0
    if "orders" in d and prior_orders > 0 and o["orders"].sum() > 0:
        unit = float(o["net_sales"].sum() / o["orders"].sum())
    weights = cal.festival_nodes(start, end, festivals).drop_duplicates("key")
    weights = weights.set_index("key")["weight"]
    rows = []
    for kind, col, other in (
        ("node", "node_event", "holiday_event"),
        ("holiday", "holiday_event", "node_event"),
    ):
        x = d[d[col].notna() & d[other].isna() & np.isfinite(d["expected"])]
        g = x.groupby(col, sort=True)
        t = pd.DataFrame(
            {
                "sales": g["net_sales"].sum(),
                "expected": g["expected"].sum(),
                "days": g.size(),
                "years": g["date"].agg(lambda s: s.dt.year.nunique()),
            }
        )
        t = t[t["expected"] > 0]
        t["kind"] = kind
        rows.append(t.rename_axis("event").reset_index())
    events = pd.concat(rows, ignore_index=True)
    cols = [
        "event",
        "kind",
        "node",
        "phase",
        "uplift",
        "raw",
        "prior",
        "sales",
        "expected",
        "days",
        "years",
        "source",
    ]
    if events.empty:
        events = pd.DataFrame(columns=cols)
    else:
        parts = events["event"].str.split(":", n=1, expand=True)
        is_node = events["kind"] == "node"
        events["node"] = np.where(is_node, parts[0], None)
        events["phase"] = np.where(is_node, parts[1], None)
        w = events["node"].map(weights).astype(float).fillna(1.0)
        events["prior"] = np.where(is_node & (events["phase"] != "presale"), w, 1.0)
        m = float(prior_orders) * unit
        events["raw"] = events["sales"] / events["expected"]
        events["uplift"] = (events["sales"] + m * events["prior"]) / (events["expected"] + m)
        events["source"] = "learned"
        events = events[cols]
    return Seasonality(
        month=mf,
        weekday=wdf.rename_axis("weekday"),
        events=events.reset_index(drop=True),
        trend=float(np.exp(trend_b) - 1),
        levels=levels,
        start=start,
        end=end,
    )


def event_factors(
    seas: Seasonality,
    start,
    end,
    festivals=None,
    node_weights: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Uplift of every event in ``[start, end]``: learned, else the prior.

    Parameters
    ----------
    seas : Seasonality
        What was learned.
    start, end : date-like
        The target period.
    festivals : MarketCalendar or list of dict, optional
        The shop's calendar (market and shop.yaml festival overrides).
    node_weights : dict, optional
        ``{node_key: weight}``: the node's main-phase uplift set by hand (a slider); its
        pre-sale and node-day uplifts move in the same proportion.

    Returns
    -------
    pandas.DataFrame
        One row per event: ``event``, ``kind``, ``node``, ``phase``, ``name_zh``, ``name_en``,
        ``uplift`` (used), ``learned`` (NaN when not learned), ``prior``, ``target_days``
        (days in ``[start, end]``), ``hist_days`` and ``hist_years`` (in the history),
        ``source`` (``learned``/``prior``/``set``).
    """
    ev = event_calendar(start, end, festivals)
    nodes = cal.festival_nodes(start, end, festivals)
    meta = nodes.drop_duplicates("key").set_index("key")
    rows = []
    for col, kind in (("node_event", "node"), ("holiday_event", "holiday")):
        c = ev[col].dropna().value_counts().sort_index()
        for e, n in c.items():
            rows.append((e, kind, int(n)))
    t = pd.DataFrame(rows, columns=["event", "kind", "target_days"])
    if t.empty:
        return pd.DataFrame(columns=list(EVENT_EFFECT_COLUMNS))
    parts = t["event"].str.split(":", n=1, expand=True)
    t["node"] = np.where(t["kind"] == "node", parts[0], None)
    t["phase"] = np.where(t["kind"] == "node", parts[1], None)
    t["name_zh"] = np.where(t["kind"] == "node", t["node"].map(meta["name_zh"]), parts[1])
    hol = cal.statutory_holidays(start, end, cal.as_calendar(festivals))
    hol_en = dict(zip(hol["name_zh"], hol["name"], strict=True))
    t["name_en"] = np.where(
        t["kind"] == "node", t["node"].map(meta["name_en"]), parts[1].map(hol_en).fillna(parts[1])
    )
    weight = t["node"].map(meta["weight"]).astype(float)
    t["prior"] = np.where((t["kind"] == "node") & (t["phase"] != "presale"), weight, 1.0)
    learned = seas.events.set_index("event")
    t["learned"] = t["event"].map(learned["uplift"]).astype(float)
    t["hist_days"] = t["event"].map(learned["days"]).fillna(0).astype("int64")
    t["hist_years"] = t["event"].map(learned["years"]).fillna(0).astype("int64")
    t["uplift"] = t["learned"].fillna(t["prior"])
    t["source"] = np.where(t["learned"].notna(), "learned", "prior")
    for key, w in (node_weights or {}).items():
        mine = t["node"] == key
        if not mine.any():
            continue
        main = t.loc[mine & (t["phase"] == "main"), "uplift"]
        ref = main.iloc[0] if len(main) else t.loc[mine, "uplift"].max()
        if ref > 0:
            t.loc[mine, "uplift"] = t.loc[mine, "uplift"] * float(w) / ref
            t.loc[mine, "source"] = "set"
    order = list(EVENT_EFFECT_COLUMNS)
    return (
        t[order]
        .sort_values(["kind", "event"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def day_weights(
    fy: int,
    start_month: int,
    seas: Seasonality,
    week_scheme: str = "48",
    festivals=None,
    node_weights: dict[str, float] | None = None,
    growth: float | None = None,
) -> pd.DataFrame:
    """Every day of fiscal year ``fy`` with its seasonal weight.

    Parameters
    ----------
    fy, start_month : int
        The target fiscal year.
    seas : Seasonality
        :func:`learn_seasonality`.
    week_scheme : {"48", "iso"}
    festivals : MarketCalendar or list of dict, optional
        The shop's calendar (market and shop.yaml festival overrides).
    node_weights : dict, optional
        Hand-set main-phase uplifts per node (:func:`event_factors`).
    growth : float, optional
        The within-year ramp ``(1 + growth)^t``: a shop growing ``growth`` a year grows
        inside the year too. The notebook passes the target's growth, so the ramp agrees
        with the annual target; None uses the learned ``seas.trend``; 0 is flat.

    Returns
    -------
    pandas.DataFrame
        :func:`helpers.core.calendar.fiscal_days` columns plus ``node``, ``phase``, ``holiday``,
        ``month_factor``, ``weekday_factor``, ``node_factor``, ``holiday_factor``,
        ``trend_factor`` and ``weight`` (their product).
    """
    days = cal.fiscal_days(fy, start_month, week_scheme)
    first, last = days["date"].iloc[0], days["date"].iloc[-1]
    ev = event_calendar(first, last, festivals)
    ef = event_factors(seas, first, last, festivals, node_weights).set_index("event")["uplift"]
    out = days.merge(ev, on="date", how="left")
    out["month_factor"] = seas.month.reindex(out["cal_month"]).fillna(1.0).to_numpy()
    out["weekday_factor"] = seas.weekday.reindex(out["weekday"]).fillna(1.0).to_numpy()
    out["node_factor"] = out["node_event"].map(ef).fillna(1.0).astype(float)
    out["holiday_factor"] = out["holiday_event"].map(ef).fillna(1.0).astype(float)
    t = (out["date"] - first).dt.days.to_numpy() / 365.25
    g = seas.trend if growth is None else float(growth)
    out["trend_factor"] = (1 + max(g, -0.99)) ** t
    out["weight"] = (
        out["month_factor"]
        * out["weekday_factor"]
        * out["node_factor"]
        * out["holiday_factor"]
        * out["trend_factor"]
    )
    return out


# --------------------------------------------------------------------------------------------
# decomposition


def decompose(annual: float, weights: pd.DataFrame, week_scheme: str = "48") -> pd.DataFrame:
    """Split the annual target over the days, top-down, exactly to the cent.

    Parameters
    ----------
    annual : float
        The fiscal year's target (currency units; rounded to cents).
    weights : pandas.DataFrame
        :func:`day_weights` (needs ``half``, ``quarter``, ``month``, ``week``, ``weight``).
    week_scheme : {"48", "iso"}
        ``"48"``: weeks nest in months and take part in the split; ``"iso"``: not.

    Returns
    -------
    pandas.DataFrame
        ``weights`` plus ``target_cents`` (int64) and ``target_sales`` (= cents / 100).
    """
    levels = ["half", "quarter", "month"] + (["week"] if week_scheme == "48" else [])
    w = weights.reset_index(drop=True)
    parent = pd.Series([int(round(annual * 100))], index=pd.Index([0], name="_root"))
    keys: list[str] = []
    frame = w.assign(_root=0)
    prev = ["_root"]
    for level in levels:
        keys = prev + [level]
        sums = frame.groupby(keys, sort=True)["weight"].sum()
        alloc = pd.Series(np.zeros(len(sums), dtype=np.int64), index=sums.index)
        for pkey, sub in sums.groupby(level=prev, sort=True):
            total = int(parent.loc[pkey])
            alloc.loc[sub.index] = cal.split_cents(total, sub.to_numpy())
        parent, prev = alloc, keys
    cents = np.zeros(len(w), dtype=np.int64)
    for pkey, rows in frame.groupby(prev, sort=True).indices.items():
        cents[rows] = cal.split_cents(int(parent.loc[pkey]), w["weight"].to_numpy()[rows])
    return w.assign(target_cents=cents, target_sales=cents / 100.0)


def targets_by_level(
    daily_targets: pd.DataFrame,
    level: str,
    actual_daily: pd.DataFrame | None = None,
    last_fy: int | None = None,
    start_month: int = 1,
    week_scheme: str = "48",
) -> pd.DataFrame:
    """The day targets summed per period, with last year's actual for the same period.

    Parameters
    ----------
    daily_targets : pandas.DataFrame
        :func:`decompose`.
    level : {"year", "half", "quarter", "month", "week", "day"}
    actual_daily : pandas.DataFrame, optional
        ``date``, ``net_sales``: last year's actual per day.
    last_fy : int, optional
        The fiscal year the actual is taken from; periods are matched by position (fiscal
        half/quarter/month, 48-week number or ISO week number; days by month and day).

    Returns
    -------
    pandas.DataFrame
        ``period`` (:func:`helpers.core.calendar.period_key` label), ``start``, ``end``, ``days``,
        ``target_sales`` (exact cents), ``share`` (of the year), and with an actual:
        ``last_year`` (NaN unless every day of the period has data) and ``growth`` (target ÷
        last year − 1).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    t = daily_targets.copy()
    pos = _position(t, level)
    t["period"] = cal.period_key(t, level).to_numpy()
    t["_pos"] = pos
    g = t.groupby("_pos", sort=True)
    out = pd.DataFrame(
        {
            "period": g["period"].first(),
            "start": g["date"].min(),
            "end": g["date"].max(),
            "days": g.size(),
            "target_cents": g["target_cents"].sum(),
        }
    )
    out["target_sales"] = out["target_cents"] / 100.0
    out["share"] = out["target_cents"] / out["target_cents"].sum()
    if actual_daily is not None and last_fy is not None:
        ly = cal.fiscal_days(last_fy, start_month, week_scheme)
        ly = ly.merge(actual_daily[["date", "net_sales"]], on="date", how="left")
        ly["_pos"] = _position(ly, level)
        gl = ly.groupby("_pos")["net_sales"]
        act = gl.sum().where(gl.count() == gl.size())  # only periods with data every day
        out["last_year"] = act.reindex(out.index).to_numpy()
        out["growth"] = out["target_sales"] / out["last_year"].where(out["last_year"] > 0) - 1
    out = out.sort_values("start", kind="stable").reset_index(drop=True)
    return out.drop(columns="target_cents")


def _position(days: pd.DataFrame, level: str) -> np.ndarray:
    """A key that matches the same period of different fiscal years."""
    if level == "year":
        return np.zeros(len(days), dtype=np.int64)
    if level == "day":
        dt = pd.to_datetime(days["date"])
        return (days["month"] * 100 + dt.dt.day).to_numpy()
    if level == "week" and not pd.api.types.is_numeric_dtype(days["week"]):
        # ISO weeks: their order within the fiscal year (1 = the week of its first day)
        first = pd.to_datetime(days["date"]).groupby(days["week"]).transform("min")
        return first.rank(method="dense").astype("int64").to_numpy()
    return days[level].to_numpy()


def report_layouts(daily_targets: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 日报 (daily) and 周报 (weekly) report layouts notebook 06 fills.

    Returns
    -------
    (daily, weekly) : tuple of pandas.DataFrame
        daily: ``date``, ``weekday`` (0 = Monday), ``week``, ``month`` (label), ``node``,
        ``phase``, ``holiday`` (the public holiday: 法定节假日 for CN, bank holidays for GB),
        ``workday_makeup`` (True on a make-up working day, 调休上班, where the market has
        them; present when ``daily_targets`` carries it), ``target_sales``, ``target_mtd`` (month to date),
        ``target_ytd``, and empty ``actual_sales``, ``actual_ytd``, ``achievement``,
        ``visitors``, ``conversion_rate``, ``aov``, ``note``. weekly: ``week`` (label),
        ``start``, ``end``, ``days``, ``events`` (node keys in the week), ``target_sales``,
        ``target_ytd``, and empty ``actual_sales``, ``achievement``, ``note``.
    """
    t = daily_targets.sort_values("date", kind="stable").reset_index(drop=True)
    month = cal.period_key(t, "month")
    week = cal.period_key(t, "week")
    cents = t["target_cents"]
    daily = pd.DataFrame(
        {
            "date": t["date"],
            "weekday": t["weekday"],
            "week": week,
            "month": month,
            "node": t["node"],
            "phase": t["phase"],
            "holiday": t["holiday"],
            **({"workday_makeup": t["workday_makeup"]} if "workday_makeup" in t else {}),
            "target_sales": t["target_sales"],
            "target_mtd": cents.groupby(month).cumsum() / 100.0,
            "target_ytd": cents.cumsum() / 100.0,
        }
    )
    for c in ("actual_sales", "actual_ytd", "achievement", "visitors", "conversion_rate", "aov"):
        daily[c] = np.nan
    daily["note"] = ""
    g = t.assign(_w=week).groupby("_w", sort=False)
    weekly = pd.DataFrame(
        {
            "week": g["_w"].first(),
            "start": g["date"].min(),
            "end": g["date"].max(),
            "days": g.size(),
            "events": g["node"].agg(lambda s: " ".join(dict.fromkeys(s.dropna()))),
            "target_sales": g["target_cents"].sum() / 100.0,
        }
    ).reset_index(drop=True)
    weekly = weekly.sort_values("start", kind="stable").reset_index(drop=True)
    weekly["target_ytd"] = (weekly["target_sales"] * 100).round().astype("int64").cumsum() / 100.0
    for c in ("actual_sales", "achievement"):
        weekly[c] = np.nan
    weekly["note"] = ""
    return daily, weekly


# --------------------------------------------------------------------------------------------
# product goals


@dataclass
class ProductGoals:
    """The 20/80 of products and the role mix (:func:`product_goals`)."""

    pareto: pd.DataFrame  # product_id, sales, share, cum_share, rank
    n_sold: int
    n_80: int  # products making 80% of sales
    share_80: float  # n_80 / n_sold
    n_catalogue: int | None
    sales_top20: float  # share of sales made by the top 20% of products sold
    roles: pd.DataFrame | None  # role, target_share, products, count_share, sales, sales_share
    roles_missing: str | None  # None, "products" or "role"


def product_goals(
    orders: pd.DataFrame,
    products: pd.DataFrame | None,
    role_mix: dict[str, float],
    start=None,
    end=None,
) -> ProductGoals:
    """The products making 80% of sales, and the target role mix against the actual one.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders.
    products : pandas.DataFrame or None
        Canonical products (``role`` used; None or no roles: ``roles`` is None and
        ``roles_missing`` says why).
    role_mix : dict
        shop.yaml ``assumptions.role_mix`` (normalised to 1 here).
    start, end : date-like, optional
        Sales window (default: everything).

    Returns
    -------
    ProductGoals
        ``n_80`` = the fewest products (best sellers first) whose net sales reach 80% of the
        total; ``share_80`` = ``n_80 / n_sold``. Role table: ``products`` and ``count_share``
        over the catalogue's products with a role, ``sales``/``sales_share`` in the window,
        ``gap_count`` / ``gap_sales`` = target − actual share.
    """
    s = product_lines(sales_lines(orders))[["product_id", "day", "net"]]  # what is read
    inside = pd.Series(True, index=s.index)
    if start is not None:
        inside &= s["day"] >= pd.Timestamp(start)
    if end is not None:
        inside &= s["day"] <= pd.Timestamp(end)
    s = s[inside]
    per = s.groupby("product_id", sort=True)["net"].sum()
    per = per[per > 0].rename("sales").reset_index()
    per = per.sort_values(["sales", "product_id"], ascending=[False, True], kind="stable")
    total = per["sales"].sum()
    per["share"] = per["sales"] / total if total else np.nan
    per["cum_share"] = per["share"].cumsum()
    per["rank"] = np.arange(1, len(per) + 1)
    n_sold = len(per)
    n_80 = int(np.searchsorted(per["cum_share"].to_numpy(), 0.8 - 1e-12) + 1) if n_sold else 0
    n_80 = min(n_80, n_sold)
    top20 = int(np.ceil(0.2 * n_sold))
    sales_top20 = float(per["share"].head(top20).sum()) if n_sold else np.nan
    roles, missing = None, None
    n_cat = None if products is None else int(products["product_id"].nunique())
    if products is None or products.empty:
        missing = "products"
    elif "role" not in products or products["role"].isna().all():
        missing = "role"
    else:
        p = products.drop_duplicates("product_id")
        p = p[p["role"].notna()]
        mix = pd.Series(role_mix, dtype=float)
        mix = mix / mix.sum() if mix.sum() > 0 else mix
        role_of = p.set_index("product_id")["role"]
        sales_role = per.assign(role=per["product_id"].map(role_of)).groupby("role")["sales"].sum()
        names = list(dict.fromkeys([*mix.index, *sorted(p["role"].unique())]))
        cnt = p["role"].value_counts().reindex(names, fill_value=0)
        roles = pd.DataFrame(
            {
                "role": names,
                "target_share": mix.reindex(names).fillna(0.0).to_numpy(),
                "products": cnt.to_numpy(),
                "count_share": (cnt / cnt.sum()).to_numpy(),
                "sales": sales_role.reindex(names).fillna(0.0).to_numpy(),
            }
        )
        ssum = roles["sales"].sum()
        roles["sales_share"] = roles["sales"] / ssum if ssum else np.nan
        roles["gap_count"] = roles["target_share"] - roles["count_share"]
        roles["gap_sales"] = roles["target_share"] - roles["sales_share"]
    return ProductGoals(
        pareto=per.reset_index(drop=True),
        n_sold=n_sold,
        n_80=n_80,
        share_80=n_80 / n_sold if n_sold else np.nan,
        n_catalogue=n_cat,
        sales_top20=sales_top20,
        roles=roles,
        roles_missing=missing,
    )


# --------------------------------------------------------------------------------------------
# customer goals


@dataclass
class CustomerGoals:
    """New vs returning now, the member ladder now, and monthly targets."""

    now: pd.DataFrame  # customer_type, buyers, buyer_share, orders, sales, sales_share, aov
    ladder: pd.DataFrame  # rung, customers, share, sales_share (lifetime)
    monthly: pd.DataFrame  # the customer_targets artifact
    repeat_rate: float  # base year: returning buyers / buyers (the ``now`` table)
    new_share: float  # base year: new buyers / buyers


def _orders_seq(orders: pd.DataFrame, end) -> pd.DataFrame:
    """Purchases (net > 0) per order with the customer's purchase number.

    Returns
    -------
    pandas.DataFrame
        One row per order: ``customer`` (an integer code per customer id, numbered by first
        appearance, so every later group-by runs on integers), ``day`` (its
        earliest line's), ``net`` and ``nth`` (1 = the customer's first purchase up to
        ``end``); sorted by customer then day. Orders of one customer on the same day are
        numbered in no particular order: their day, which is all the callers read, is the
        same.
    """
    s = sales_lines(orders)
    keep = s["customer_id"].notna() & s["order_id"].notna() & (s["day"] <= pd.Timestamp(end))
    keep = keep.to_numpy() & ~s["is_return"].to_numpy()  # a credit note is no purchase
    # the shared codes of the ids, renumbered for these rows: no hashing of the text again
    order_code = subset_codes(line_codes(s, "order_id")[0][keep])
    customer = subset_codes(line_codes(s)[0][keep])
    s = s.loc[keep, ["day", "net"]]
    lines = pd.DataFrame(
        {
            "customer": customer,
            "day": s["day"].to_numpy(),
            "net": s["net"].to_numpy(),
        }
    )
    o = lines.groupby(order_code, sort=False).agg(
        customer=("customer", "first"), day=("day", "min"), net=("net", "sum")
    )
    o = o[o["net"] > 0]
    o = o.iloc[np.lexsort((o["day"].to_numpy(), o["customer"].to_numpy()))]
    cust = o["customer"].to_numpy()
    first_row = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]]) if len(cust) else cust
    starts = np.repeat(first_row, np.diff(np.r_[first_row, len(cust)]))  # each row's first
    return o.assign(nth=np.arange(1, len(cust) + 1) - starts).reset_index(drop=True)


def customer_goals(
    orders: pd.DataFrame,
    daily_targets: pd.DataFrame,
    base_start,
    base_end,
    start_month: int,
    repeat_member_orders: int = 2,
    fan_orders: int = 4,
    repeat_gain: float = 0.02,
    start_share: float | None = None,
) -> CustomerGoals:
    """Customer goals for the target year from the base year's (last year's) customers.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders with ``customer_id``. An order counts when its net sales are > 0.
    daily_targets : pandas.DataFrame
        :func:`decompose` (``date``, ``fy``, ``month``, ``target_sales``).
    base_start, base_end : date-like
        Last year's window (:func:`last_year_actual`); the ladder is counted at ``base_end``.
    start_month : int
        Fiscal year start month (months are matched by fiscal month number).
    repeat_member_orders, fan_orders : int
        Orders a customer needs to be a repeat member (老会员) / brand fan (品牌粉丝).
    repeat_gain : float
        Points added to each month's repeat rate for the target.
    start_share : float, optional
        The shop's measured returning share (notebook 04's definition: a buyer is new in the
        month of the first purchase, returning in any later month; over the last 12 months,
        :func:`helpers.analysis.customers.returning_summary`). Given, the target's returning share
        starts there and moves gradually: month ``i`` (1..12) of the target year gets
        ``start_share + repeat_gain × i / 12``, reaching ``start_share + repeat_gain`` in the
        last month. None: each base month's own rate + ``repeat_gain``.

    Returns
    -------
    CustomerGoals
        ``monthly`` per target fiscal month: ``month`` (label), ``target_sales``,
        ``target_orders`` (= sales ÷ the base month's order value), ``target_buyers``
        (= orders ÷ the base month's orders per buyer), ``target_repeat_rate`` (base month's
        returning ÷ buyers + ``repeat_gain``, capped at 1), ``target_returning``
        (= buyers × rate, rounded), ``target_new`` (= buyers − returning), the ladder flows
        ``new_members`` (= target_new), ``new_repeat_members`` and ``new_fans`` (the base
        month's customers reaching that order count, scaled by target ÷ base returning
        buyers), and the rungs at month end ``members_new``, ``members_repeat``,
        ``members_fan`` (today's ladder plus the flows). A base month without data uses the
        base year's overall ratios.
    """
    R, F = int(repeat_member_orders), int(fan_orders)
    lo, hi = pd.Timestamp(base_start), pd.Timestamp(base_end)
    o = _orders_seq(orders, hi)
    w = o[(o["day"] >= lo) & (o["day"] <= hi)].copy()
    w["fm"] = (w["day"].dt.month - start_month) % 12 + 1
    first_in = w[w["nth"] == 1]
    cust_new = np.zeros(int(o["customer"].max()) + 1 if len(o) else 0, dtype=bool)
    cust_new[first_in["customer"].to_numpy()] = True
    is_new = cust_new[w["customer"].to_numpy()]

    # now: new vs returning in the base year
    g = w.groupby(is_new, sort=True)
    now = pd.DataFrame(
        {
            "buyers": g["customer"].nunique(),
            "orders": g.size(),
            "sales": g["net"].sum(),
        }
    )
    now.index = now.index.map({True: "new", False: "returning"})
    now = now.reindex(["new", "returning"], fill_value=0)
    now["buyer_share"] = now["buyers"] / max(now["buyers"].sum(), 1)
    now["sales_share"] = now["sales"] / now["sales"].sum() if now["sales"].sum() else np.nan
    now["aov"] = now["sales"] / now["orders"].where(now["orders"] > 0)
    now = now.rename_axis("customer_type").reset_index()
    now = now[["customer_type", "buyers", "buyer_share", "orders", "sales", "sales_share", "aov"]]

    # ladder at base_end
    rungs = ["new_member", "repeat_member", "fan"]
    per_c = o.groupby("customer").agg(n=("nth", "max"), sales=("net", "sum"))
    rung = np.select([per_c["n"] >= F, per_c["n"] >= R], [2, 1], 0)
    lad = per_c.groupby(rung).agg(customers=("n", "size"), sales=("sales", "sum"))
    lad.index = [rungs[i] for i in lad.index]
    lad = lad.reindex(rungs, fill_value=0)
    lad["share"] = lad["customers"] / max(lad["customers"].sum(), 1)
    lad["sales_share"] = lad["sales"] / lad["sales"].sum() if lad["sales"].sum() else np.nan
    ladder = lad.rename_axis("rung").reset_index()[
        ["rung", "customers", "share", "sales", "sales_share"]
    ]

    # base months
    gm = w.groupby("fm", sort=True)
    base = pd.DataFrame(
        {
            "buyers": gm["customer"].nunique(),
            "orders": gm.size(),
            "sales": gm["net"].sum(),
            "new": first_in.assign(fm=(first_in["day"].dt.month - start_month) % 12 + 1)
            .groupby("fm")["customer"]
            .nunique(),
            "reach_repeat": w[w["nth"] == R].groupby("fm").size(),
            "reach_fan": w[w["nth"] == F].groupby("fm").size(),
        }
    ).reindex(range(1, 13))
    base[["new", "reach_repeat", "reach_fan"]] = base[["new", "reach_repeat", "reach_fan"]].fillna(
        0
    )
    base["returning"] = base["buyers"] - base["new"]
    tot = base.sum()
    aov = (base["sales"] / base["orders"]).fillna(tot["sales"] / tot["orders"])
    opb = (base["orders"] / base["buyers"]).fillna(tot["orders"] / tot["buyers"])
    rate = (base["returning"] / base["buyers"]).fillna(tot["returning"] / tot["buyers"])
    ret_base = base["returning"].where(base["returning"] > 0)

    t = daily_targets.groupby("month", sort=True).agg(
        target_sales=("target_cents", "sum"), date=("date", "min"), fy=("fy", "first")
    )
    t["target_sales"] = t["target_sales"] / 100.0
    label = cal.period_key(t.reset_index(), "month").to_numpy()
    m = pd.DataFrame({"month": label}, index=t.index)
    m["target_sales"] = t["target_sales"]
    m["target_orders"] = np.round(t["target_sales"] / aov.reindex(t.index))
    buyers = np.round(m["target_orders"] / opb.reindex(t.index))
    m["target_buyers"] = buyers
    if start_share is not None and np.isfinite(start_share):
        step = np.arange(1, len(t) + 1) / MOMENTUM["ramp_months"]
        m["target_repeat_rate"] = np.clip(start_share + repeat_gain * step, 0, 1)
    else:
        m["target_repeat_rate"] = np.clip(rate.reindex(t.index) + repeat_gain, 0, 1)
    m["target_returning"] = np.round(buyers * m["target_repeat_rate"])
    m["target_new"] = buyers - m["target_returning"]
    scale = (
        (m["target_returning"] / ret_base.reindex(t.index))
        .fillna(m["target_buyers"] / base["buyers"].reindex(t.index))
        .fillna(0.0)
    )
    m["new_members"] = m["target_new"]
    m["new_repeat_members"] = np.round(base["reach_repeat"].reindex(t.index) * scale)
    m["new_fans"] = np.round(base["reach_fan"].reindex(t.index) * scale)
    start = lad["customers"]
    m["members_new"] = start["new_member"] + (m["new_members"] - m["new_repeat_members"]).cumsum()
    m["members_repeat"] = (
        start["repeat_member"] + (m["new_repeat_members"] - m["new_fans"]).cumsum()
    )
    m["members_fan"] = start["fan"] + m["new_fans"].cumsum()
    ints = [
        "target_orders",
        "target_buyers",
        "target_returning",
        "target_new",
        "new_members",
        "new_repeat_members",
        "new_fans",
        "members_new",
        "members_repeat",
        "members_fan",
    ]
    m[ints] = m[ints].fillna(0).astype("int64")
    shares = now.set_index("customer_type")["buyer_share"]
    return CustomerGoals(
        now=now,
        ladder=ladder,
        monthly=m.reset_index(drop=True),
        repeat_rate=float(shares.get("returning", 0.0)),
        new_share=float(shares.get("new", 0.0)),
    )


# --------------------------------------------------------------------------------------------
# momentum baseline, scenarios, warnings, backtest, the owner's target

# How the momentum forecast is damped and how wide its range is: the thresholds a consultant
# may want to argue with, in one place (shop.yaml ``assumptions.momentum_damping`` overrides
# the damping).
MOMENTUM = {
    "damping": 0.5,  # share of the measured year-on-year trend carried into the next year
    "cap": 0.6,  # the carried growth is kept within [floor, cap] a year
    "floor": -0.4,
    "recent_months": 3,  # recent complete months compared with the same months a year earlier
    # relative half-width of the range by months of history (first row whose bound is met)
    "spread": ((3, 0.5), (6, 0.35), (12, 0.25), (24, 0.12), (10**6, 0.08)),
    "thin_trend_spread": 0.05,  # added when fewer than ``recent_months`` months give the trend
    "ramp_months": 12,  # months over which the returning share moves to its goal
}


class TargetError(ValueError):
    """A target that cannot be set from what the shop holds; ``str(err)`` is one sentence."""

    def __init__(self, key: str, message: str, **fields):
        self.key, self.fields = key, fields
        super().__init__(message)


@dataclass
class Momentum:
    """The next fiscal year as the shop is going now (:func:`momentum_baseline`)."""

    fy: int
    annual: float  # baseline net sales of the target fiscal year
    low: float  # the range: trend carried half as far and the history's spread
    high: float
    monthly: pd.DataFrame  # month (Timestamp), cal_month, baseline, low, high, reference, lag
    last12: float  # net sales of the last 12 complete months (NaN with less history)
    last12_start: pd.Timestamp | None
    last12_end: pd.Timestamp | None
    history_months: float  # complete months of history (fractional with short history)
    trend: float  # measured year-on-year growth of the recent months (NaN when not measurable)
    trend_months: int  # recent months it was measured on
    carried: float  # growth carried into the first year ahead (damped, capped)
    capped: bool  # the damped trend was beyond [floor, cap]
    damping: float
    spread: float  # relative half-width of the range from the history length
    method: str  # "momentum" (>= 12 months) or "profile" (short history, annualised)
    observed: float  # sales the short-history profile annualised (the momentum: last12)


def _month_starts(first, last) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(first).to_period("M").to_timestamp(), last, freq="MS")


def _spread(months: float, thin_trend: bool) -> float:
    for bound, s in MOMENTUM["spread"]:
        if months < bound:
            return float(s) + (MOMENTUM["thin_trend_spread"] if thin_trend else 0.0)
    return float(MOMENTUM["spread"][-1][1])


def calendar_profile(start, end, festivals=None) -> pd.DataFrame:
    """A flat-with-festivals day profile: 1 on ordinary days, the node's festivals.yaml weight
    on its main phase and node day (pre-sales and holidays 1).

    Returns ``date``, ``weight``.
    """
    ev = event_calendar(start, end, festivals)
    nodes = cal.festival_nodes(start, end, festivals)
    weight = nodes.drop_duplicates("key").set_index("key")["weight"].astype(float)
    w = ev["node"].map(weight).where(ev["phase"].isin(["main", "day"])).fillna(1.0)
    return pd.DataFrame({"date": ev["date"].to_numpy(), "weight": w.to_numpy(dtype=float)})


def momentum_baseline(
    daily: pd.DataFrame,
    as_of,
    fy: int,
    start_month: int,
    festivals=None,
    damping: float | None = None,
) -> Momentum:
    """The target fiscal year's net sales if the shop keeps going as it goes now.

    **12 complete months or more** (``method="momentum"``): each month of fiscal year ``fy``
    is the same calendar month of the last 12 complete months (the shop's own seasonality)
    carried forward by the damped trend. The trend is the last ``recent_months`` complete
    months against the same months a year earlier (fewer when the history is shorter than
    12 + ``recent_months`` months; none with exactly 12): ``trend = recent ÷ year earlier − 1``.
    The first year ahead grows ``carried = clip(trend × damping × k / recent_months, floor,
    cap)`` (a trend read off fewer months than ``recent_months`` weighs less), a second year
    ahead (a month whose reference lies 24 months back) another ``carried × damping``.

    **Less than 12 months** (``method="profile"``): the days seen are annualised with a
    flat-with-festivals calendar profile (:func:`calendar_profile`): ``annual = sales seen ×
    profile weight of the target year ÷ profile weight of the days seen``; no trend. Days are
    counted from the first sale to ``as_of``, so a month the shop started in the middle of is
    weighted by its days, not scaled as a whole month.

    The range: ``low``/``high`` carry half / one and a half times the ``carried`` growth (the
    other way round when it is negative) and add ∓``spread`` (wider the shorter the history,
    :data:`MOMENTUM`).

    Parameters
    ----------
    daily : pandas.DataFrame
        ``date``, ``net_sales`` (one row per day with sales).
    as_of : date-like
        The last day counted.
    fy, start_month : int
        The target fiscal year.
    festivals : list of dict, optional
        shop.yaml festival overrides (short history only).
    damping : float, optional
        Default :data:`MOMENTUM` ``damping``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    phi = float(MOMENTUM["damping"] if damping is None else damping)
    d = daily[daily["date"] <= as_of]
    if d.empty or float(d["net_sales"].sum()) <= 0:
        raise TargetError("no_sales", "no sales up to the analysis date to set a target from")
    first = d["date"].min()
    s = d.groupby(d["date"].dt.to_period("M"))["net_sales"].sum()
    lo, hi = cal.fiscal_year_bounds(fy, start_month)
    target_months = _month_starts(lo, hi)
    # complete months: every day from the first sale on, and ended by as_of
    last_complete = (as_of + pd.Timedelta(days=1)).to_period("M") - 1
    first_complete = first.to_period("M") + (0 if first.day == 1 else 1)
    n = max(0, (last_complete - first_complete).n + 1) if last_complete >= first_complete else 0
    if n >= 12:
        months = pd.period_range(last_complete - 11, last_complete, freq="M")
        ref = s.reindex(months, fill_value=0.0)
        k = int(min(MOMENTUM["recent_months"], n - 12))
        trend = np.nan
        if k >= 1:
            recent = pd.period_range(last_complete - k + 1, last_complete, freq="M")
            before = s.reindex(recent - 12, fill_value=0.0).sum()
            if before > 0:
                trend = float(s.reindex(recent, fill_value=0.0).sum() / before - 1)
        weight = min(k, MOMENTUM["recent_months"]) / MOMENTUM["recent_months"]
        raw = 0.0 if not np.isfinite(trend) else trend * phi * weight
        carried = float(np.clip(raw, MOMENTUM["floor"], MOMENTUM["cap"]))
        spread = _spread(n, k < MOMENTUM["recent_months"])
        rows = []
        for m in target_months:
            p = m.to_period("M")
            lag = int(np.ceil((p - months[-1]).n / 12))  # years between reference and target
            r = p - 12 * lag
            rows.append((m, m.month, float(ref.get(r, 0.0)), lag))
        mon = pd.DataFrame(rows, columns=["month", "cal_month", "reference", "lag"])

        def grow(c: float) -> np.ndarray:
            second = c * phi
            return np.where(mon["lag"] >= 2, (1 + c) * (1 + second) ** (mon["lag"] - 1), 1 + c)

        c_low = carried * (0.5 if carried > 0 else 1.5)
        c_high = carried * (1.5 if carried > 0 else 0.5)
        mon["baseline"] = mon["reference"] * grow(carried)
        mon["low"] = mon["reference"] * grow(c_low) * (1 - spread)
        mon["high"] = mon["reference"] * grow(c_high) * (1 + spread)
        last12 = float(ref.sum())
        return Momentum(
            fy=fy,
            annual=float(mon["baseline"].sum()),
            low=float(mon["low"].sum()),
            high=float(mon["high"].sum()),
            monthly=mon,
            last12=last12,
            last12_start=months[0].to_timestamp(),
            last12_end=months[-1].to_timestamp(how="end").normalize(),
            history_months=float(n),
            trend=trend,
            trend_months=k if np.isfinite(trend) else 0,
            carried=carried,
            capped=bool(raw != carried),
            damping=phi,
            spread=spread,
            method="momentum",
            observed=last12,
        )
    # short history: annualise the days seen with the calendar profile
    seen = calendar_profile(first, as_of, festivals)
    year = calendar_profile(lo, hi, festivals)
    observed = float(d["net_sales"].sum())
    annual = observed * float(year["weight"].sum()) / float(seen["weight"].sum())
    months_seen = ((as_of - first).days + 1) / 30.4375
    spread = _spread(months_seen, True)
    per = year.groupby(year["date"].dt.to_period("M"))["weight"].sum()
    share = per / per.sum()
    mon = pd.DataFrame(
        {
            "month": target_months,
            "cal_month": target_months.month,
            "reference": np.nan,
            "lag": 0,
            "baseline": annual * share.reindex(target_months.to_period("M")).to_numpy(),
        }
    )
    mon["low"] = mon["baseline"] * (1 - spread)
    mon["high"] = mon["baseline"] * (1 + spread)
    return Momentum(
        fy=fy,
        annual=annual,
        low=float(mon["low"].sum()),
        high=float(mon["high"].sum()),
        monthly=mon,
        last12=np.nan,
        last12_start=None,
        last12_end=None,
        history_months=float(months_seen),
        trend=np.nan,
        trend_months=0,
        carried=0.0,
        capped=False,
        damping=phi,
        spread=spread,
        method="profile",
        observed=observed,
    )


def market_term(market_forecast: dict | None, market_growth: float | None = None) -> dict:
    """The market's growth for the target year, only from market data.

    ``market_growth`` (shop.yaml ``assumptions.market_growth``) wins; else the keyword
    table's forecast (01's ``market_forecast`` with ``source == "keywords"``); else 0 with
    ``source="none"``: a forecast built from the shop's own growth is *not* market data (the
    momentum already holds it).

    Returns ``growth_mean``, ``growth_low``, ``growth_high``, ``source``
    (``shop_yaml``/``keywords``/``none``).
    """
    if market_growth is not None and np.isfinite(float(market_growth)):
        g = float(market_growth)
        return {"growth_mean": g, "growth_low": g, "growth_high": g, "source": "shop_yaml"}
    f = market_forecast or {}
    if f.get("source", "keywords") == "keywords" and f.get("growth_mean") is not None:
        g = float(f["growth_mean"])
        return {
            "growth_mean": g,
            "growth_low": float(f.get("growth_low", g) if f.get("growth_low") is not None else g),
            "growth_high": float(
                f.get("growth_high", g) if f.get("growth_high") is not None else g
            ),
            "source": "keywords",
        }
    return {"growth_mean": 0.0, "growth_low": 0.0, "growth_high": 0.0, "source": "none"}


SCENARIOS = ("conservative", "base", "stretch")


def scenarios(base: Momentum, market: dict, ambition: float) -> pd.DataFrame:
    """Conservative, base and stretch annual targets with the assumptions behind each.

    * conservative = ``low`` baseline × (1 + market low); no ambition;
    * base = baseline × (1 + market mean + ambition) (ambition counted once);
    * stretch = ``high`` baseline × (1 + market high + ambition).

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``baseline`` (the momentum figure used), ``market_growth``,
        ``ambition``, ``annual_target`` (whole currency units), ``vs_last12`` (÷ the last 12
        months; NaN with short history), ``carried`` (the momentum growth in the baseline).
    """
    c = base.carried
    rows = [
        ("conservative", base.low, market["growth_low"], 0.0, c * (0.5 if c > 0 else 1.5)),
        ("base", base.annual, market["growth_mean"], ambition, c),
        ("stretch", base.high, market["growth_high"], ambition, c * (1.5 if c > 0 else 0.5)),
    ]
    t = pd.DataFrame(rows, columns=["scenario", "baseline", "market_growth", "ambition", "carried"])
    t["annual_target"] = np.round(t["baseline"] * (1 + t["market_growth"] + t["ambition"]))
    t["vs_last12"] = t["annual_target"] / base.last12 if base.last12 > 0 else np.nan
    return t[
        [
            "scenario",
            "baseline",
            "carried",
            "market_growth",
            "ambition",
            "annual_target",
            "vs_last12",
        ]
    ]


def owner_target(config_targets: dict | None, fy: int) -> float | None:
    """The owner's target for fiscal year ``fy`` from shop.yaml ``targets:`` (None: none set)."""
    v = (config_targets or {}).get(int(fy))
    return None if v is None else float(v)


def month_plan(base: Momentum, annual: float) -> pd.DataFrame:
    """The annual target spread over the months in proportion to the momentum baseline.

    Returns ``month``, ``baseline``, ``target`` (= annual × month's baseline share) and
    ``gap`` (target − baseline): the months that must carry the difference between the
    target and the shop's momentum.
    """
    m = base.monthly[["month", "baseline"]].copy()
    tot = m["baseline"].sum()
    m["target"] = annual * m["baseline"] / tot if tot > 0 else annual / len(m)
    m["gap"] = m["target"] - m["baseline"]
    return m


def plan_weights(weights: pd.DataFrame, plan: pd.DataFrame) -> pd.DataFrame:
    """:func:`day_weights` rescaled so each month's weights sum to its ``plan`` target.

    Inside a month the days keep their learned weekday, festival and holiday shape; across
    months the split follows the plan (the momentum baseline's months).
    """
    key = weights["date"].dt.to_period("M")
    want = plan.set_index(plan["month"].dt.to_period("M"))["target"]
    have = weights.groupby(key)["weight"].transform("sum")
    scale = key.map(want).astype(float) / have.where(have > 0)
    return weights.assign(weight=(weights["weight"] * scale).fillna(0.0))


@dataclass
class TargetPlan:
    """Everything 02 shows about the annual target (:func:`target_plan`)."""

    annual: float
    source: str  # "owner" or "base"
    scenarios: pd.DataFrame
    months: pd.DataFrame  # month_plan
    daily: pd.DataFrame  # decompose
    warnings: list  # (key, fields) pairs


def target_plan(
    base: Momentum,
    market: dict,
    ambition: float,
    seas: Seasonality,
    start_month: int,
    week_scheme: str = "48",
    festivals=None,
    node_weights: dict | None = None,
    owner: float | None = None,
    last_year_months: pd.Series | None = None,
) -> TargetPlan:
    """The annual target and its split: the one code path for 02's page and its sliders.

    The annual target is the owner's (shop.yaml ``targets:``) when set, else the base
    scenario. It is spread over the months by the baseline (:func:`month_plan`) and over the
    days by the learned seasonality within each month (:func:`plan_weights`,
    :func:`decompose`).
    """
    sc = scenarios(base, market, ambition)
    annual = float(owner) if owner is not None else float(sc.loc[1, "annual_target"])
    months = month_plan(base, annual)
    w = day_weights(
        base.fy, start_month, seas, week_scheme, festivals, node_weights, growth=base.carried
    )
    dt = decompose(annual, plan_weights(w, months), week_scheme)
    return TargetPlan(
        annual=annual,
        source="owner" if owner is not None else "base",
        scenarios=sc,
        months=months,
        daily=dt,
        warnings=target_warnings(base, annual, dt, last_year_months),
    )


def target_warnings(
    base: Momentum,
    annual: float,
    daily_targets: pd.DataFrame | None = None,
    last_year_months: pd.Series | None = None,
) -> list[tuple[str, dict]]:
    """What a consultant must say about a target before defending it.

    * ``short_history``: less than 12 complete months; the target is annualised from a
      calendar profile (``months``, ``spread``);
    * ``above_2x``: the target exceeds 2× the last 12 months (``ratio``);
    * ``below_last12``: the target is below the last 12 months (``ratio``);
    * ``month_below``: the shop is growing (trend > 0) yet a month's target is below the same
      month last year (``months``: their labels ``YYYY-MM``), from ``last_year_months``
      (calendar month start → net sales, months with data only).

    Returns a list of ``(key, fields)``.
    """
    out: list[tuple[str, dict]] = []
    if base.method == "profile":
        out.append(("short_history", {"months": base.history_months, "spread": base.spread}))
    if base.last12 > 0:
        r = annual / base.last12
        if r > 2:
            out.append(("above_2x", {"ratio": r}))
        elif r < 1:
            out.append(("below_last12", {"ratio": r}))
    if (
        daily_targets is not None
        and last_year_months is not None
        and np.isfinite(base.trend)
        and base.trend > 0
    ):
        t = daily_targets.groupby(daily_targets["date"].dt.to_period("M"))["target_cents"].sum()
        ly = pd.Series(last_year_months.to_numpy(), index=last_year_months.index.to_period("M"))
        prev = ly.reindex(t.index - 12)
        below = [str(p) for p, a, b in zip(t.index, t.to_numpy() / 100, prev.to_numpy()) if b > a]
        if below:
            out.append(("month_below", {"months": below}))
    return out


def monthly_actuals(daily: pd.DataFrame, as_of) -> pd.Series:
    """Net sales per calendar month (month start → sales) of the complete months to ``as_of``."""
    as_of = pd.Timestamp(as_of).normalize()
    d = daily[daily["date"] <= as_of]
    s = d.groupby(d["date"].dt.to_period("M"))["net_sales"].sum()
    last_complete = (as_of + pd.Timedelta(days=1)).to_period("M") - 1
    s = s[s.index <= last_complete]
    return pd.Series(s.to_numpy(), index=s.index.to_timestamp(), name="net_sales")


def backtest(
    daily: pd.DataFrame,
    as_of,
    start_month: int,
    market: dict | None = None,
    festivals=None,
    damping: float | None = None,
) -> dict | None:
    """How the method would have done for the last complete fiscal year.

    The momentum baseline (× the market's growth when market data exist; no ambition, which
    is a choice, not a forecast) is computed with only the data before that year started,
    and compared with what the year sold. Needs two full fiscal years of data: the year
    itself and 12 complete months before it; else None.

    Returns ``fy``, ``as_of`` (the day before the year), ``forecast``, ``low``, ``high``,
    ``actual``, ``error`` (forecast ÷ actual − 1), ``in_range`` (bool), ``trend``.
    """
    ly = last_year_actual(daily, as_of, start_month)
    if ly["partial"]:
        return None
    cut = ly["start"] - pd.Timedelta(days=1)
    before = daily[daily["date"] <= cut]
    if before.empty:
        return None
    try:
        b = momentum_baseline(before, cut, ly["fy"], start_month, festivals, damping)
    except TargetError:
        return None
    if b.method != "momentum":
        return None
    g = (market or {}).get("growth_mean", 0.0) or 0.0
    forecast = float(np.round(b.annual * (1 + g)))
    actual = float(ly["actual"])
    return {
        "fy": ly["fy"],
        "as_of": cut,
        "forecast": forecast,
        "low": float(b.low * (1 + g)),
        "high": float(b.high * (1 + g)),
        "actual": actual,
        "error": forecast / actual - 1 if actual else np.nan,
        "in_range": bool(b.low * (1 + g) <= actual <= b.high * (1 + g)),
        "trend": b.trend,
    }


# --------------------------------------------------------------------------------------------
# the saved targets (02's artifacts) and targets for another year (05, 06)

TARGETS_DAILY_COLUMNS = [
    "date",
    "fy",
    "half",
    "quarter",
    "month",
    "week",
    "target_sales",
    "node",
    "phase",
    "holiday",
]


def targets_daily_artifact(daily_targets: pd.DataFrame) -> pd.DataFrame:
    """02's ``targets_daily`` artifact: one row per day of the target fiscal year.

    Schema: ``date`` (Timestamp), ``fy`` (int), ``half``, ``quarter``, ``month``, ``week``
    (period keys of :func:`helpers.core.calendar.fiscal_days`), ``target_sales`` (currency units,
    cents exact: the days add up to the annual target), ``node``, ``phase``, ``holiday``
    (the day's festival node and phase and statutory holiday, or None).
    """
    return daily_targets[TARGETS_DAILY_COLUMNS].reset_index(drop=True)


def targets_meta(
    plan: TargetPlan,
    base: Momentum,
    market: dict,
    ambition: float,
    start_month: int,
    week_scheme: str,
    last_year: dict,
) -> dict:
    """02's ``targets_meta`` artifact (JSON).

    Keys: ``fy``, ``start_month``, ``start``, ``end`` (ISO dates), ``annual_target`` (the
    target in use), ``target_source`` (``owner``/``base``), ``base_target``, ``target_low``,
    ``target_high`` (conservative and stretch), ``baseline`` (momentum), ``method``
    (``momentum``/``profile``), ``last12`` (None with short history), ``trend``, ``carried``,
    ``damping``, ``market_growth``, ``growth_source`` (``keywords``/``shop_yaml``/``none``),
    ``ambition``, ``growth`` (annual target ÷ last 12 months − 1, None with short history),
    ``last_year_actual`` (the last 12 complete months, what the growth is measured on; None
    with short history: a stub is never scaled up), ``last_fy`` and ``last_fy_actual`` (the
    last complete fiscal year's sales, None when the data does not cover it whole),
    ``last_year_partial``, ``week_scheme``,
    ``warnings`` (keys of :func:`target_warnings`).
    """
    lo, hi = cal.fiscal_year_bounds(base.fy, start_month)
    sc = plan.scenarios.set_index("scenario")["annual_target"]

    def f(x):
        return None if x is None or not np.isfinite(x) else float(x)

    return {
        "fy": int(base.fy),
        "start_month": int(start_month),
        "start": str(lo.date()),
        "end": str(hi.date()),
        "annual_target": float(plan.annual),
        "target_source": plan.source,
        "base_target": float(sc["base"]),
        "target_low": float(sc["conservative"]),
        "target_high": float(sc["stretch"]),
        "baseline": float(base.annual),
        "method": base.method,
        "last12": f(base.last12),
        "trend": f(base.trend),
        "carried": float(base.carried),
        "damping": float(base.damping),
        "market_growth": float(market["growth_mean"]),
        "growth_source": market["source"],
        "ambition": float(ambition),
        "growth": f(plan.annual / base.last12 - 1) if base.last12 > 0 else None,
        "last_year_actual": f(base.last12),
        "last_fy": int(last_year["fy"]),
        "last_fy_actual": None if last_year["partial"] else float(last_year["actual"]),
        "last_year_partial": bool(last_year["partial"]),
        "week_scheme": week_scheme,
        "warnings": [k for k, _ in plan.warnings],
    }


def year_targets(
    daily: pd.DataFrame,
    fy: int,
    start_month: int,
    as_of,
    ambition: float,
    market: dict | None = None,
    festivals=None,
    owner: float | None = None,
    damping: float | None = None,
) -> pd.DataFrame:
    """Daily targets of fiscal year ``fy`` the way 02 sets them, from the data before it.

    Only days up to ``min(as_of, the day before fy starts)`` are used: the target the year
    would have been given at its start. ``owner`` (shop.yaml ``targets:``) replaces the
    computed annual figure; its split still follows the momentum baseline and the learned
    seasonality.

    Raises
    ------
    TargetError
        ``no_sales`` when there is no sale before the cut-off.

    Returns
    -------
    pandas.DataFrame
        :func:`targets_daily_artifact` shape.
    """
    first, _ = cal.fiscal_year_bounds(fy, start_month)
    cut = min(pd.Timestamp(as_of).normalize(), first - pd.Timedelta(days=1))
    d = daily[daily["date"] <= cut]
    if d.empty or float(d["net_sales"].sum()) <= 0:
        raise TargetError("no_sales", f"no sales before FY{fy} to set its target from", fy=fy)
    base = momentum_baseline(d, cut, fy, start_month, festivals, damping)
    seas = learn_seasonality(d, festivals)
    plan = target_plan(
        base, market_term(market), ambition, seas, start_month, festivals=festivals, owner=owner
    )
    return targets_daily_artifact(plan.daily)


def last_year_reference(daily: pd.DataFrame, fy: int, start_month: int) -> pd.DataFrame:
    """The previous fiscal year's sales on the same calendar days, in the targets shape.

    Not a target: what 06 compares with when no target was set. 29 February takes
    28 February's sales. Raises :class:`TargetError` (``no_last_year``) when the previous
    year has no sale at all.
    """
    days = cal.fiscal_days(fy, start_month)
    ref = pd.DatetimeIndex(days["date"] - pd.DateOffset(years=1))
    s = daily.set_index("date")["net_sales"]
    last = s.reindex(ref).fillna(0.0).to_numpy()
    if last.sum() <= 0:
        raise TargetError("no_last_year", f"no sales in FY{fy - 1} to compare FY{fy} with", fy=fy)
    out = days[["date", "fy", "half", "quarter", "month", "week"]].copy()
    out["target_sales"] = np.round(last, 2)
    return out.reset_index(drop=True)


def review_targets(
    daily: pd.DataFrame,
    fy: int,
    start_month: int,
    owner: float | None = None,
    saved: pd.DataFrame | None = None,
    festivals=None,
    damping: float | None = None,
) -> tuple[pd.DataFrame, str]:
    """What 06 reviews fiscal year ``fy`` against: a target somebody set, else last year.

    In this order: the owner's target (shop.yaml ``targets:``, split the way 02 splits,
    source ``owner``); a saved plan for the year (an earlier run's ``targets_daily`` or a
    file in the shop's ``plans/`` folder, source ``plan``); else last year's sales on the
    same days (:func:`last_year_reference`, source ``last_year``). Never a target computed
    after the fact.
    """
    if owner is not None:
        first, _ = cal.fiscal_year_bounds(fy, start_month)
        return (
            year_targets(
                daily, fy, start_month, first, 0.0, None, festivals, owner=owner, damping=damping
            ),
            "owner",
        )
    if saved is not None and len(saved) and (saved["fy"] == fy).any():
        return saved[saved["fy"] == fy].reset_index(drop=True), "plan"
    return last_year_reference(daily, fy, start_month), "last_year"


def plan_from_inputs(
    daily: pd.DataFrame,
    as_of,
    fy: int,
    start_month: int,
    seas: Seasonality,
    market: dict,
    ambition: float,
    damping: float | None = None,
    node_weights: dict | None = None,
    owner: float | None = None,
    festivals=None,
    week_scheme: str = "48",
) -> tuple[Momentum, TargetPlan]:
    """Baseline and plan from the page's assumptions: what 02's table and its sliders both
    call, so untouched sliders give the page's numbers exactly."""
    base = momentum_baseline(daily, as_of, fy, start_month, festivals, damping)
    plan = target_plan(
        base,
        market,
        ambition,
        seas,
        start_month,
        week_scheme,
        festivals,
        node_weights,
        owner,
        monthly_actuals(daily, as_of),
    )
    return base, plan


def month_table(plan: TargetPlan, daily: pd.DataFrame, start_month: int, week_scheme: str):
    """The months of the plan: :func:`targets_by_level` (``period``, ``target_sales``,
    ``share``, ``last_year``, ``growth`` …) plus ``baseline`` (momentum) and ``gap``
    (target − baseline)."""
    fy = int(plan.daily["fy"].iloc[0])
    m = targets_by_level(plan.daily, "month", daily, fy - 1, start_month, week_scheme)
    b = plan.months.set_index(plan.months["month"].dt.to_period("M"))["baseline"]
    m["baseline"] = m["start"].dt.to_period("M").map(b).astype(float).to_numpy()
    m["gap"] = m["target_sales"] - m["baseline"]
    return m
