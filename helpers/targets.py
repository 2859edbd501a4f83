"""Target setting (设定目标): the fiscal year's sales target, split to every day, and the
product and customer goals that go with it.

**Which year.** The target fiscal year is the one after the fiscal year containing ``as_of``
(:func:`target_fiscal_year`). Last year's actual is the last *complete* fiscal year in the data
(ending on or before ``as_of`` and starting on or after the first sale). Without one, the latest
fiscal year with data is scaled up by days (``days in the year / days with data``) and flagged
``partial`` (:func:`last_year_actual`).

**How much.** ``annual = last × (1 + g + ambition)`` where ``g`` is the market's mean growth
(notebook 01) and ``ambition`` the shop's growth on top of the market. When the fiscal year
containing ``as_of`` is still running (last year's actual is two fiscal years before the target),
last year is first carried over the running year with that year's growth so far against the
same days a year earlier (:func:`running_growth`): ``annual = last × (1 + running) × (1 + g +
ambition)`` (with the market's ``g`` for any further year). The low/high growth of the market
give the range (:func:`annual_target`). The annual target is rounded to whole currency units.

**Seasonality, learned** (:func:`learn_seasonality`) from the shop's daily net sales:

* every day is *ordinary*, or belongs to a platform festival node (phase ``presale``, ``main``,
  or ``day`` = the node date itself) and/or a statutory holiday day off
  (:func:`event_calendar`, from :mod:`helpers.calendar`);
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
The annual target in cents is split with :func:`helpers.calendar.split_cents` top-down: halves
by their days' weights, each half's cents over its quarters, then months, then weeks (48-week
scheme: four per month) and days; the parts add up to the whole exactly at every level. ISO
weeks straddle months, so with ``week_scheme="iso"`` months split straight to days and a week's
target is the sum of its days (weeks then add up exactly to the year, not to months).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import calendar as cal
from .metrics import line_codes, sales_lines, subset_codes
from .returns import product_lines

__all__ = [
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
        :func:`helpers.metrics.daily_sales` (``date``, ``net_sales``).
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
        ``holiday`` (Chinese name of a statutory day off, or None), ``node_event``
        (``"618:main"``), ``holiday_event`` (``"holiday:春节"``).
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
        (:func:`helpers.metrics.daily_sales`).
    festivals : list of dict, optional
        shop.yaml festival overrides (:func:`helpers.calendar.festival_nodes`).
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
    festivals : list of dict, optional
        shop.yaml festival overrides.
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
        return pd.DataFrame(
            columns=[
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
            ]
        )
    parts = t["event"].str.split(":", n=1, expand=True)
    t["node"] = np.where(t["kind"] == "node", parts[0], None)
    t["phase"] = np.where(t["kind"] == "node", parts[1], None)
    t["name_zh"] = np.where(t["kind"] == "node", t["node"].map(meta["name_zh"]), parts[1])
    hol = cal.statutory_holidays(start, end)
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
    order = [
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
    ]
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
    festivals : list of dict, optional
        shop.yaml festival overrides.
    node_weights : dict, optional
        Hand-set main-phase uplifts per node (:func:`event_factors`).
    growth : float, optional
        The within-year ramp ``(1 + growth)^t``: a shop growing ``growth`` a year grows
        inside the year too. The notebook passes the target's growth, so the ramp agrees
        with the annual target; None uses the learned ``seas.trend``; 0 is flat.

    Returns
    -------
    pandas.DataFrame
        :func:`helpers.calendar.fiscal_days` columns plus ``node``, ``phase``, ``holiday``,
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
        ``period`` (:func:`helpers.calendar.period_key` label), ``start``, ``end``, ``days``,
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
        ``phase``, ``holiday``, ``target_sales``, ``target_mtd`` (month to date),
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
