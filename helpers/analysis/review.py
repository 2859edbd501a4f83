"""The optimisation review (实时优化, 查看数据, 诊断店铺, 总结数据): notebook 06's computations.

The article's fifth step and abilities 二, 三 and 十: hold the year's target in view (actual
against target at every level, and the pace), the three summary tables it names (customer
purchase summary, shop operations summary, campaign sales results), which driver of
sales = visitors × conversion × order value moved and where, paid promotion data, anomalies,
campaign post-mortems, review scores and the issue log by the four areas.

Models, stated once
-------------------
* **LMDI** (logarithmic mean Divisia index, additive form): with S = Π x_k and
  L(a, b) = (a - b) / (ln a - ln b) (L(a, a) = a), the change S1 - S0 splits into
  Σ_k L(S1, S0) · ln(x_k1 / x_k0), which adds up to S1 - S0 exactly because
  Σ_k ln(x_k1 / x_k0) = ln(S1 / S0). A drill-down key that is new or gone (a zero on one side)
  cannot be split by factor: its whole change goes to ``entry_exit``.
* **Daily baseline**: ln(metric) = weekday effect + year-month level + festival terms
  (pre-sale and main phase, each node's own node day, each statutory holiday's days off,
  make-up workdays), fitted by least squares on the days with sales, refitted once without
  the days flagged in the first pass. Because ln S = ln V + ln CR + ln AOV and the fit is
  linear, the residuals add up exactly: r_S = r_V + r_CR + r_AOV, so an anomaly's driver is
  the factor with the largest residual in its direction. Robust z = (r - median) /
  (1.4826 · MAD), the MAD over a centred 91-day window (a growing shop's noise shrinks).
* **Campaign baseline** (post-mortem): the same weekday + year-month model fitted only on
  clean days (no campaign, no festival phase, no holiday), months without clean days
  interpolated, re-transformed with Duan's smearing factor.

Above 600 lines: one domain (the optimisation review: pacing, drivers, anomalies, campaigns, reviews, DSR).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from helpers.analysis.returns import product_lines
from helpers.core import calendar as cal
from helpers.core.codes import distinct_per_group, line_codes, sales_lines, subset_codes

__all__ = [
    "actual_vs_target",
    "ads_keywords",
    "anomalies",
    "day_events",
    "campaign_lift",
    "campaign_results",
    "campaign_windows",
    "complaint_themes",
    "customer_summary",
    "drill_extremes",
    "drilldown",
    "driver_tree",
    "issue_log",
    "lmdi",
    "operations_summary",
    "ops_headline",
    "pacing",
    "rating_trend",
    "review_year",
    "workbook_sheets",
]

LEVELS = ("day", "week", "month", "quarter", "year")


# --------------------------------------------------------------------------------------------
# actual vs target, pacing


def review_year(as_of, start_month: int) -> int:
    """The fiscal year under review: the one containing ``as_of``."""
    return int(cal.fiscal_year_of(pd.Timestamp(as_of), start_month))


def actual_vs_target(
    daily: pd.DataFrame, targets: pd.DataFrame, as_of, levels=LEVELS
) -> dict[str, pd.DataFrame]:
    """Actual net sales against the daily targets, per period, to ``as_of``.

    Parameters
    ----------
    daily : ``date, net_sales`` (e.g. :func:`helpers.analysis.promotions.daily_funnel`).
    targets : 02's ``targets_daily`` for one fiscal year (``date, fy, half, quarter, month,
        week, target_sales``).
    as_of : analysis date; days after it have a target but no actual yet.
    levels : any of ``day, week, month, quarter, year``.

    Returns
    -------
    dict level -> DataFrame ``period`` (:func:`helpers.core.calendar.period_key` label), ``start``,
    ``end``, ``target`` (whole period), ``target_to_date`` (days up to ``as_of``), ``actual``,
    ``gap`` (actual - target to date), ``attainment`` (actual / target to date) and
    ``complete`` (the period has ended by ``as_of``). The ``year`` row is year-to-date.
    """
    as_of = pd.Timestamp(as_of).normalize()
    t = targets.copy()
    t["date"] = pd.to_datetime(t["date"])
    act = daily.set_index("date")["net_sales"]
    t["actual"] = act.reindex(t["date"]).fillna(0.0).to_numpy()
    past = t["date"] <= as_of
    t["actual"] = t["actual"].where(past, 0.0)
    t["target_to_date"] = t["target_sales"].where(past, 0.0)
    out = {}
    for level in levels:
        key = cal.period_key(t, level)
        g = t.groupby(key.to_numpy(), sort=True)
        df = pd.DataFrame(
            {
                "start": g["date"].min(),
                "end": g["date"].max(),
                "target": g["target_sales"].sum(),
                "target_to_date": g["target_to_date"].sum(),
                "actual": g["actual"].sum(),
            }
        )
        df.index.name = "period"
        df = df.reset_index()
        df["gap"] = df["actual"] - df["target_to_date"]
        df["attainment"] = df["actual"] / df["target_to_date"].where(df["target_to_date"] > 0)
        df["complete"] = df["end"] <= as_of
        out[level] = df.sort_values("start", kind="stable").reset_index(drop=True)
    return out


def pacing(
    daily: pd.DataFrame, targets: pd.DataFrame, as_of, recent_days: int = 28
) -> tuple[pd.DataFrame, dict]:
    """Where the year ends at the current pace, and the daily run-rate that closes the gap.

    *At pace* means the rest of the year keeps the year-to-date attainment against the
    (seasonal) daily targets: projected = actual to date + remaining target × attainment to
    date. *Flat* extrapolates the average day. The required run-rate is what is left of the
    annual target over the days left.

    Returns
    -------
    (path, summary): ``path`` per day up to ``as_of``: ``date, cum_actual, cum_target,
    projected`` (the at-pace year-end as it stood that day) and ``annual_target``;
    ``summary``: ``annual_target, ytd_actual, ytd_target, attainment, days_elapsed,
    days_left, projected_at_pace, projected_flat, gap_at_pace`` (projected - annual),
    ``required_daily, current_daily`` (average of the last ``recent_days``), ``remaining_target``
    and ``required_vs_plan`` (required / planned remaining - 1).
    """
    as_of = pd.Timestamp(as_of).normalize()
    t = targets[["date", "target_sales"]].copy()
    t["date"] = pd.to_datetime(t["date"])
    t = t.sort_values("date", kind="stable").reset_index(drop=True)
    act = daily.set_index("date")["net_sales"].reindex(t["date"]).fillna(0.0).to_numpy()
    annual = float(t["target_sales"].sum())
    past = (t["date"] <= as_of).to_numpy()
    cum_a = np.cumsum(np.where(past, act, 0.0))
    cum_t = np.cumsum(t["target_sales"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        att = np.where(cum_t > 0, cum_a / cum_t, np.nan)
    projected = cum_a + (annual - cum_t) * att
    path = pd.DataFrame(
        {
            "date": t["date"],
            "cum_actual": cum_a,
            "cum_target": cum_t,
            "projected": projected,
            "annual_target": annual,
        }
    )[past].reset_index(drop=True)
    n_past = int(past.sum())
    ytd_a = float(cum_a[n_past - 1]) if n_past else 0.0
    ytd_t = float(cum_t[n_past - 1]) if n_past else 0.0
    days_left = len(t) - n_past
    remaining = annual - ytd_t
    recent = act[max(0, n_past - recent_days) : n_past]
    attainment = ytd_a / ytd_t if ytd_t > 0 else float("nan")
    at_pace = ytd_a + remaining * attainment if ytd_t > 0 else float("nan")
    required = (annual - ytd_a) / days_left if days_left else float("nan")
    summary = {
        "annual_target": annual,
        "ytd_actual": ytd_a,
        "ytd_target": ytd_t,
        "attainment": attainment,
        "days_elapsed": n_past,
        "days_left": days_left,
        "projected_at_pace": at_pace,
        "projected_flat": ytd_a / n_past * len(t) if n_past else float("nan"),
        "gap_at_pace": at_pace - annual,
        "required_daily": required,
        "current_daily": float(recent.mean()) if len(recent) else float("nan"),
        "remaining_target": remaining,
        "required_vs_plan": (annual - ytd_a) / remaining - 1 if remaining > 0 else float("nan"),
    }
    return path, summary


# --------------------------------------------------------------------------------------------
# the three summary tables


def customer_summary(
    orders: pd.DataFrame, as_of, months: int = 12, lookback_months: int | None = None
) -> pd.DataFrame:
    """客户采购汇总表: per calendar month, buyers new and returning, orders and spend.

    As the metric layer (:mod:`helpers.core.metrics`) counts them: buyers and orders over orders
    paid and not fully refunded (no return lines); a buyer is *new* in the month of their
    first such purchase ever (in the data), *returning* after; the split is NaN for months
    the data's look-back (``lookback_months``, default the metric layer's) does not cover.
    Needs customer ids.

    Returns
    -------
    DataFrame ``month, buyers, new_buyers, returning_buyers, returning_share, orders,
    orders_per_buyer, net_sales, sales_new, sales_returning, sales_per_buyer`` for the last
    ``months`` months up to ``as_of``.
    """
    from helpers.core.metrics import LOOKBACK_MONTHS, censor_split, split_from

    as_of = pd.Timestamp(as_of).normalize()
    s = sales_lines(orders)
    live = s["status"].to_numpy() != "refunded"
    if "is_return" in s.columns:
        live &= ~s["is_return"].fillna(False).to_numpy(dtype=bool)
    rows = np.flatnonzero((s["customer_id"].notna() & (s["day"] <= as_of)).to_numpy() & live)
    day = s["day"].iloc[rows]
    month = day.to_numpy().astype("datetime64[M]").astype(np.int64)
    # customers and orders as integer codes: grouping on the ids themselves is the slow part
    cust = line_codes(s)[0][rows]
    back = s["is_return"].to_numpy()[rows]  # credit notes: money, but no buyer or order
    first = np.full(cust.max(initial=-1) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, cust[~back], month[~back])  # the month of each first purchase
    lo = int(month.min()) if len(month) else 0
    present = np.flatnonzero(np.bincount(month - lo)) + lo
    shown = pd.Series(present).tail(months).to_numpy()  # only these months are reported
    r = np.flatnonzero(month >= shown[0]) if len(shown) else np.zeros(0, dtype=np.intp)
    mi, cust = np.searchsorted(shown, month[r]), cust[r]  # month 0, 1, ... of each line
    buy_mi = np.where(back[r], -1, mi)  # a return line counts no buyer and no order
    new = first[cust] == month[r]
    order = subset_codes(line_codes(s, "order_id")[0][rows[r]])
    net = pd.Series(s["net"].to_numpy()[rows[r]])
    at = range(len(shown))
    one = np.full(len(shown), len(r))
    np.minimum.at(one, mi, np.arange(len(r)))  # a line of each month, to label it
    out = pd.DataFrame(
        {
            "buyers": distinct_per_group(buy_mi, cust, len(shown)),
            "new_buyers": distinct_per_group(buy_mi[new], cust[new], len(shown)),
            "orders": distinct_per_group(buy_mi, order, len(shown)),
            "net_sales": net.groupby(mi).sum().reindex(at, fill_value=0.0).to_numpy(),
            "sales_new": net[new].groupby(mi[new]).sum().reindex(at, fill_value=0.0).to_numpy(),
        },
        index=pd.Index(day.iloc[r[one]].dt.to_period("M").dt.to_timestamp(), name="month"),
    )
    out["returning_buyers"] = out["buyers"] - out["new_buyers"]
    out["returning_share"] = out["returning_buyers"] / out["buyers"]
    out["orders_per_buyer"] = out["orders"] / out["buyers"]
    out["sales_returning"] = out["net_sales"] - out["sales_new"]
    out["sales_per_buyer"] = out["net_sales"] / out["buyers"]
    for c in ("buyers", "new_buyers", "returning_buyers", "orders"):
        out[c] = out[c].astype("int64")
    out = out.reset_index().tail(months).reset_index(drop=True)
    split = ["new_buyers", "returning_buyers", "returning_share", "sales_new", "sales_returning"]
    back = LOOKBACK_MONTHS if lookback_months is None else lookback_months
    out = censor_split(out, "month", split, split_from(orders, back))
    return out[
        [
            "month",
            "buyers",
            "new_buyers",
            "returning_buyers",
            "returning_share",
            "orders",
            "orders_per_buyer",
            "net_sales",
            "sales_new",
            "sales_returning",
            "sales_per_buyer",
        ]
    ]


def operations_summary(
    funnel: pd.DataFrame, freq: str = "D", periods: int | None = None
) -> pd.DataFrame:
    """店铺运营数据汇总表: visitors, conversion, order value, sales and refunds per day or week.

    Parameters
    ----------
    funnel : :func:`helpers.analysis.promotions.daily_funnel`.
    freq : ``"D"`` (days) or ``"W"`` (weeks starting Monday, labelled by the Monday).
    periods : keep only the last ``periods`` rows.

    Returns
    -------
    DataFrame ``date, visitors, buyers, conversion`` (buyers / visitors), ``order_value``
    (net sales / buyers), ``orders, units, paid_amount, refunds, refund_rate`` (refunds / paid),
    ``net_sales``; ``net_sales = visitors × conversion × order_value``.
    """
    f = funnel.set_index("date")
    cols = ["visitors", "buyers", "orders", "units", "paid_amount", "refunds", "net_sales"]
    if freq == "W":
        f = f[cols].resample("W-MON", label="left", closed="left").sum()
    else:
        f = f[cols]
    out = f.reset_index()
    out["conversion"] = out["buyers"] / out["visitors"].where(out["visitors"] > 0)
    out["order_value"] = out["net_sales"] / out["buyers"].where(out["buyers"] > 0)
    out["refund_rate"] = out["refunds"] / out["paid_amount"].where(out["paid_amount"] > 0)
    out = out[
        [
            "date",
            "visitors",
            "buyers",
            "conversion",
            "order_value",
            "orders",
            "units",
            "paid_amount",
            "refunds",
            "refund_rate",
            "net_sales",
        ]
    ]
    return out.tail(periods).reset_index(drop=True) if periods else out


def ops_headline(funnel: pd.DataFrame, as_of, days: int = 28) -> dict:
    """The last ``days`` against the same weekdays a year earlier (364 days before).

    Returns ``visitors, buyers, conversion, order_value, net_sales, refund_rate`` of the recent window
    and their changes (``*_chg``: recent / year-earlier - 1; NaN without a year of history).
    """
    f = funnel.set_index("date")
    end = pd.Timestamp(as_of).normalize()
    out = {}
    for tag, e in (("", end), ("_ly", end - pd.Timedelta(days=364))):
        w = f.loc[e - pd.Timedelta(days=days - 1) : e]
        full = len(w) == days
        v, b, sales = w["visitors"].sum(), w["buyers"].sum(), w["net_sales"].sum()
        vals = {
            "visitors": v,
            "buyers": b,
            "conversion": b / v if v else np.nan,
            "order_value": sales / b if b else np.nan,
            "net_sales": sales,
            "refund_rate": w["refunds"].sum() / w["paid_amount"].sum()
            if w["paid_amount"].sum()
            else np.nan,
        }
        out.update({k + tag: (float(x) if full or not tag else np.nan) for k, x in vals.items()})
    for k in ("visitors", "buyers", "conversion", "order_value", "net_sales", "refund_rate"):
        out[k + "_chg"] = out[k] / out[k + "_ly"] - 1 if out[k + "_ly"] else np.nan
    return out


def campaign_windows(
    campaigns: pd.DataFrame | None, first_day, as_of, festival_overrides=None
) -> pd.DataFrame:
    """Past campaigns to report on: the shop's campaigns table, else the festival nodes.

    Returns ``campaign_id, name, name_en, type, start, end, spend`` for windows inside
    [``first_day``, ``as_of``] (a campaign still running is cut at ``as_of``); a festival
    node's ``name`` is its Chinese name and ``name_en`` its English one (a campaign of the
    shop's table has its own name in both).
    """
    first_day, as_of = pd.Timestamp(first_day).normalize(), pd.Timestamp(as_of).normalize()
    cols = ["campaign_id", "name", "type", "start", "end", "spend"]
    if campaigns is not None and len(campaigns):
        c = campaigns[campaigns["start"].notna() & campaigns["end"].notna()]
        c = c[(c["start"] <= as_of) & (c["start"] >= first_day) & (c["end"] >= c["start"])]
        out = c.assign(end=c["end"].clip(upper=as_of), type=c["type"].fillna("other"))
        out = out.assign(name_en=out["name"])
        return (
            out[[*cols, "name_en"]]
            .sort_values(["start", "campaign_id"], kind="stable")
            .reset_index(drop=True)
        )
    n = cal.festival_nodes(first_day, as_of, festival_overrides)
    n = n.assign(start=n["presale_start"].fillna(n["start"]))
    n = n[(n["start"] >= first_day) & (n["start"] <= as_of)]
    out = pd.DataFrame(
        {
            "campaign_id": [f"{p.year}-{k}" for k, p in zip(n["key"], n["peak"])],
            "name": [f"{p.year} {z}" for z, p in zip(n["name_zh"], n["peak"])],
            "name_en": [f"{p.year} {z}" for z, p in zip(n["name_en"], n["peak"])],
            "type": "festival",
            "start": n["start"].to_numpy(),
            "end": n["end"].clip(upper=as_of).to_numpy(),
            "spend": np.nan,
        }
    )
    return out[[*cols, "name_en"]].reset_index(drop=True)


def _window_index(windows: pd.DataFrame, days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    n = ((windows["end"] - windows["start"]).dt.days + 1).to_numpy()
    rep = np.repeat(np.arange(len(windows)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    d = windows["start"].to_numpy().repeat(n) + offset.astype("timedelta64[D]")
    pos = days.get_indexer(pd.DatetimeIndex(d))
    ok = pos >= 0
    return rep[ok], pos[ok]


def campaign_results(windows: pd.DataFrame, funnel: pd.DataFrame) -> pd.DataFrame:
    """店铺活动销售结果报表: what each past campaign sold (totals over its days).

    Returns ``windows`` plus ``days, visitors, buyers, conversion, order_value, orders,
    units, net_sales, refunds, sales_per_day``.
    """
    f = funnel.set_index("date")
    rep, pos = _window_index(windows, f.index)
    out = windows.reset_index(drop=True).copy()
    out["days"] = ((out["end"] - out["start"]).dt.days + 1).astype("int64")
    for c in ("visitors", "buyers", "orders", "units", "net_sales", "refunds"):
        out[c] = np.bincount(rep, weights=f[c].to_numpy(dtype=float)[pos], minlength=len(out))
    out["conversion"] = out["buyers"] / out["visitors"].where(out["visitors"] > 0)
    out["order_value"] = out["net_sales"] / out["buyers"].where(out["buyers"] > 0)
    out["sales_per_day"] = out["net_sales"] / out["days"]
    return out


# --------------------------------------------------------------------------------------------
# driver tree (LMDI)


def _logmean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b, rtol=1e-12, atol=0), a, out)


def lmdi(
    prev: pd.DataFrame, cur: pd.DataFrame, factors: list[str], key: str | None = None
) -> pd.DataFrame:
    """Additive LMDI split of the change in sales = Π factors, per key.

    Parameters
    ----------
    prev, cur : one row per key (or a single row) with a column per factor; sales is their
        product.
    factors : the factor columns, e.g. ``["visitors", "conversion", "order_value"]``.
    key : the key column (None: single row tables).

    Returns
    -------
    DataFrame ``key`` (if given), ``sales_prev, sales_cur, change``, one column per factor
    (its contribution) and ``entry_exit`` (the change of keys with a zero or missing factor on
    either side). Per row, contributions + entry_exit = change exactly (to rounding).
    """
    if key is None:
        p, c = prev[factors].reset_index(drop=True), cur[factors].reset_index(drop=True)
        keys = None
    else:
        keys = pd.Index(prev[key]).union(pd.Index(cur[key]))
        p = prev.set_index(key)[factors].reindex(keys)
        c = cur.set_index(key)[factors].reindex(keys)
    x0, x1 = p.to_numpy(float), c.to_numpy(float)
    s0 = np.nan_to_num(np.prod(x0, axis=1))
    s1 = np.nan_to_num(np.prod(x1, axis=1))
    ok = (np.nan_to_num(x0) > 0).all(axis=1) & (np.nan_to_num(x1) > 0).all(axis=1)
    L = _logmean(s1, s0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(x1 / x0)
    # a factor that did not move (up to float rounding) contributes exactly nothing
    logs = np.where(np.abs(logs) < 1e-12, 0.0, logs)
    with np.errstate(invalid="ignore"):
        parts = L[:, None] * logs
    parts = np.where(ok[:, None], parts, 0.0)
    out = pd.DataFrame({"sales_prev": s0, "sales_cur": s1, "change": s1 - s0})
    for i, f in enumerate(factors):
        out[f] = parts[:, i]
    out["entry_exit"] = np.where(ok, 0.0, s1 - s0)
    if keys is not None:
        out.insert(0, key, keys.to_numpy())
    return out


def _periods(as_of, days: int, compare: str) -> tuple[tuple, tuple]:
    as_of = pd.Timestamp(as_of).normalize()
    cur = (as_of - pd.Timedelta(days=days - 1), as_of)
    shift = pd.Timedelta(days=364 if compare == "yoy" else days)  # 364: same weekdays
    return (cur[0] - shift, cur[1] - shift), cur


def driver_tree(
    funnel: pd.DataFrame, as_of, days: int = 28, compare: str = "yoy"
) -> tuple[pd.DataFrame, dict]:
    """Which of visitors, conversion and order value moved sales, period over period.

    Parameters
    ----------
    funnel : :func:`helpers.analysis.promotions.daily_funnel`.
    as_of : the current period ends here.
    days : period length.
    compare : ``"yoy"`` (the same weekdays 52 weeks earlier) or ``"prev"`` (the period just
        before).

    Returns
    -------
    (table, info): ``table`` one row per factor ``factor, prev, cur, change_pct,
    contribution`` (LMDI, money) and ``share`` (of the sales change); the contributions add up
    to the sales change exactly. ``info``: ``prev_start, prev_end, cur_start, cur_end,
    sales_prev, sales_cur, change, change_pct, main`` (the factor with the largest absolute
    contribution), ``estimated`` (some visitors of the current period were estimated) and
    ``no_traffic`` (every day's visitors were estimated: the factors are then ``buyers`` and
    ``order_value``, as no visitor count or conversion is in the data).
    """
    (p0, p1), (c0, c1) = _periods(as_of, days, compare)
    f = funnel.set_index("date")
    # visitors estimated in both periods (no traffic data): buyers × order value, no
    # invented visitors or conversion
    no_traffic = "visitors_estimated" in f and bool(
        f.loc[p0:p1, "visitors_estimated"].all() and f.loc[c0:c1, "visitors_estimated"].all()
    )

    def agg(a, b):
        w = f.loc[a:b]
        v, bu, s = w["visitors"].sum(), w["buyers"].sum(), w["net_sales"].sum()
        if no_traffic:
            return pd.DataFrame({"buyers": [bu], "order_value": [s / bu if bu else np.nan]})
        return pd.DataFrame(
            {
                "visitors": [v],
                "conversion": [bu / v if v else np.nan],
                "order_value": [s / bu if bu else np.nan],
            }
        )

    prev, cur = agg(p0, p1), agg(c0, c1)
    factors = ["buyers", "order_value"] if no_traffic else ["visitors", "conversion", "order_value"]
    res = lmdi(prev, cur, factors).iloc[0]
    change = float(res["change"])
    table = pd.DataFrame(
        {
            "factor": factors,
            "prev": prev.iloc[0][factors].to_numpy(float),
            "cur": cur.iloc[0][factors].to_numpy(float),
            "contribution": [float(res[k]) for k in factors],
        }
    )
    table["change_pct"] = table["cur"] / table["prev"] - 1
    table["share"] = table["contribution"] / change if change else np.nan
    table = table[["factor", "prev", "cur", "change_pct", "contribution", "share"]]
    main = table.loc[table["contribution"].abs().idxmax(), "factor"] if change else None
    info = {
        "prev_start": p0,
        "prev_end": p1,
        "cur_start": c0,
        "cur_end": c1,
        "sales_prev": float(res["sales_prev"]),
        "sales_cur": float(res["sales_cur"]),
        "change": change,
        "change_pct": change / float(res["sales_prev"]) if res["sales_prev"] else np.nan,
        "main": main,
        "estimated": bool(f.loc[c0:c1, "visitors_estimated"].any())
        if "visitors_estimated" in f and not no_traffic
        else False,
        "no_traffic": no_traffic,
    }
    return table, info


def drilldown(
    orders: pd.DataFrame,
    as_of,
    by: str,
    traffic: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    days: int = 28,
    compare: str = "yoy",
    top: int = 10,
) -> pd.DataFrame:
    """Where the sales change came from, by ``channel``, ``product`` or ``segment`` (LMDI).

    * channel: sales = visitors × conversion × order value (visitors from the traffic table's
      shop rows per channel; buyers × order value when there are none);
    * product: sales = units × net price per unit;
    * segment: sales = buyers × sales per buyer, the segment from ``segments``
      (``customer_id, segment``, e.g. 04's customer_segments) or new vs returning (first
      purchase inside the period or before: ``new_buyers`` / ``returning_buyers``). Segments
      that depend on recency (RFM) are a poor key here: the current period's buyers are recent
      by definition, so they move between segments with the very change being explained.

    Returns
    -------
    DataFrame ``key`` (``title`` too for products), ``sales_prev, sales_cur, change``, the
    factor contributions,
    ``entry_exit`` and ``main`` (the largest part), the ``top`` keys by absolute change plus a
    ``drill_rest`` row (the others summed), so that ``change`` adds up to the shop's change.
    """
    (p0, p1), (c0, c1) = _periods(as_of, days, compare)
    s = sales_lines(orders)
    if by == "segment" and (segments is None or not len(segments)):
        codes, names = line_codes(s)  # customers as codes, and each one's first purchase day
        day = s["day"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        ok = (codes >= 0) & (day != np.iinfo(np.int64).min)  # NaT days do not count
        first = np.full(len(names) + 1, np.iinfo(np.int64).max)  # + 1: never indexed empty
        np.minimum.at(first, codes[ok], day[ok])
    frames = []
    for a, b in ((p0, p1), (c0, c1)):
        at = np.flatnonzero(((s["day"] >= a) & (s["day"] <= b)).to_numpy())
        w = s.iloc[at]
        if by == "product":
            w = product_lines(w)  # an unmatched return is the shop's, not a product's
            g = w.groupby("product_id")
            df = pd.DataFrame({"units": g["quantity"].sum(), "sales": g["net"].sum()})
            df["price"] = df["sales"] / df["units"]
            factors = ["units", "price"]
        elif by == "segment":
            ids = w["customer_id"]
            if segments is not None and len(segments):
                seg = segments.drop_duplicates("customer_id").set_index("customer_id")["segment"]
                lab = ids.map(seg).fillna("other")
            else:  # new: the first purchase falls in the period
                c = codes[at]
                since = pd.Timestamp(a).as_unit("ns").value
                new = (c >= 0) & (first[np.maximum(c, 0)] >= since)
                lab = pd.Series(
                    np.where(new, "new_buyers", "returning_buyers"),
                    index=w.index,
                )
            g = w.assign(key=lab.to_numpy()).groupby("key")
            df = pd.DataFrame({"buyers": g["customer_id"].nunique(), "sales": g["net"].sum()})
            df["per_buyer"] = df["sales"] / df["buyers"]
            factors = ["buyers", "per_buyer"]
        else:
            key = "customer_id" if w["customer_id"].notna().any() else "order_id"
            w = w.assign(channel=w["channel"].fillna("unknown"))
            # buyers per channel and day, summed (as the funnel counts them)
            bd = w.groupby(["channel", "day"])[key].nunique().groupby("channel").sum()
            df = pd.DataFrame({"buyers": bd, "sales": w.groupby("channel")["net"].sum()})
            tr = None
            if traffic is not None and len(traffic):
                t = traffic[traffic["product_id"].isna() & traffic["channel"].notna()]
                t = t[(t["date"] >= a) & (t["date"] <= b)]
                if len(t):
                    tr = t.groupby("channel")["visitors"].sum()
            if tr is not None:
                df = df.join(tr.rename("visitors"), how="outer")
                df["conversion"] = df["buyers"] / df["visitors"]
                df["order_value"] = df["sales"] / df["buyers"]
                factors = ["visitors", "conversion", "order_value"]
            else:
                df["order_value"] = df["sales"] / df["buyers"]
                factors = ["buyers", "order_value"]
        frames.append(df.rename_axis("key").reset_index())
    if by == "channel" and set(factors) != set(frames[0].columns) & set(factors):
        factors = [f for f in factors if f in frames[0] and f in frames[1]]
    res = lmdi(frames[0], frames[1], factors, key="key")
    parts = res[factors + ["entry_exit"]]
    res["main"] = np.where(parts.abs().to_numpy().sum(axis=1) > 0, parts.abs().idxmax(axis=1), None)
    res = res.assign(_abs=res["change"].abs()).sort_values(
        ["_abs", "key"], ascending=[False, True], kind="stable"
    )
    res = res.drop(columns="_abs").reset_index(drop=True)
    if len(res) > top:
        rest = res.iloc[top:]
        other = rest[["sales_prev", "sales_cur", "change", *factors, "entry_exit"]].sum()
        other_row = pd.DataFrame([{"key": "drill_rest", **other.to_dict(), "main": None}])
        res = pd.concat([res.iloc[:top], other_row], ignore_index=True)
    res["key"] = res["key"].astype(str)
    if by == "product":  # the last title of each product shown
        t = s[s["product_id"].isin(res["key"]) & s["title"].notna()]
        titles = t.groupby("product_id")["title"].last()
        res.insert(1, "title", res["key"].map(titles))
    return res


def drill_extremes(drill: pd.DataFrame) -> dict:
    """The largest gain and fall of a :func:`drilldown` (the ``drill_rest`` row left out).

    Returns ``up`` and ``down`` (rows as dicts) and ``case``: ``mixed`` (something rose and
    something fell), ``all_up`` or ``all_down``.
    """
    d = drill[drill["key"] != "drill_rest"].sort_values(["change", "key"], kind="stable")
    up, down = d.iloc[-1].to_dict(), d.iloc[0].to_dict()
    case = (
        "mixed"
        if down["change"] < 0 < up["change"]
        else ("all_up" if down["change"] >= 0 else "all_down")
    )
    return {"up": up, "down": down, "case": case}


# --------------------------------------------------------------------------------------------
# paid promotion data (推广数据)


def ads_keywords(
    ads: pd.DataFrame,
    as_of,
    days: int = 90,
    gross_margin: float = 0.35,
    keywords: pd.DataFrame | None = None,
    traffic: pd.DataFrame | None = None,
    grow_factor: float = 1.5,
) -> tuple[pd.DataFrame, dict]:
    """Paid search per keyword over the last ``days``: spend, click rate, cost per click,
    conversion, return on ad spend, and a verdict.

    Break-even ROAS = 1 / gross_margin (the ad pays for itself from the margin it brings). A
    keyword is ``cut`` below break-even (its loss = spend - margin × revenue is wasted spend),
    ``grow`` at ``grow_factor`` × break-even or more when it converts at least as well as the
    shop's natural search, else ``hold``. Natural search: the traffic table's ``search``
    channel (buyers / visitors); the keyword's market conversion comes from the keywords table
    (latest month) where the keyword is listed.

    Returns
    -------
    (table, summary): ``keyword, spend, impressions, clicks, ctr, cpc, orders, conversion,
    revenue, roas, ad_profit`` (gross_margin × revenue - spend) ``, market_conversion,
    verdict`` sorted by spend; summary ``spend, revenue, roas, breakeven_roas, wasted,
    wasted_share, grow, cut, natural_conversion, paid_conversion``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    a = ads[(ads["date"] > as_of - pd.Timedelta(days=days)) & (ads["date"] <= as_of)]
    label = a["keyword"].where(a["keyword"].notna(), "product " + a["product_id"].astype(str))
    g = a.assign(kw=label.fillna("-")).groupby("kw")
    t = pd.DataFrame(
        {
            "spend": g["spend"].sum(),
            "impressions": g["impressions"].sum(min_count=1),
            "clicks": g["clicks"].sum(),
            "orders": g["orders"].sum(min_count=1),
            "revenue": g["revenue"].sum(min_count=1),
        }
    )
    t.index.name = "keyword"
    t = t.reset_index()
    t["ctr"] = t["clicks"] / t["impressions"].where(t["impressions"] > 0)
    t["cpc"] = t["spend"] / t["clicks"].where(t["clicks"] > 0)
    t["conversion"] = t["orders"] / t["clicks"].where(t["clicks"] > 0)
    t["roas"] = t["revenue"] / t["spend"].where(t["spend"] > 0)
    t["ad_profit"] = gross_margin * t["revenue"].fillna(0) - t["spend"]
    t["market_conversion"] = np.nan
    if keywords is not None and len(keywords) and "conversion_rate" in keywords:
        k = keywords.sort_values("month", kind="stable").groupby("keyword").tail(1)
        t["market_conversion"] = t["keyword"].map(k.set_index("keyword")["conversion_rate"])
    natural = np.nan
    if traffic is not None and len(traffic) and traffic["buyers"].notna().any():
        n = traffic[(traffic["channel"] == "search") & traffic["product_id"].isna()]
        n = n[(n["date"] > as_of - pd.Timedelta(days=days)) & (n["date"] <= as_of)]
        if n["visitors"].sum() > 0:
            natural = float(n["buyers"].sum() / n["visitors"].sum())
    breakeven = 1 / gross_margin
    conv_ok = t["conversion"] >= natural if not np.isnan(natural) else True
    t["verdict"] = np.select(
        [t["roas"] < breakeven, (t["roas"] >= grow_factor * breakeven) & conv_ok],
        ["cut", "grow"],
        "hold",
    )
    t = t.sort_values(["spend", "keyword"], ascending=[False, True], kind="stable")
    t = t[
        [
            "keyword",
            "spend",
            "impressions",
            "clicks",
            "ctr",
            "cpc",
            "orders",
            "conversion",
            "revenue",
            "roas",
            "ad_profit",
            "market_conversion",
            "verdict",
        ]
    ].reset_index(drop=True)
    spend = float(t["spend"].sum())
    wasted = float(-t.loc[t["ad_profit"] < 0, "ad_profit"].sum())
    summary = {
        "spend": spend,
        "revenue": float(t["revenue"].sum()),
        "roas": float(t["revenue"].sum() / spend) if spend else np.nan,
        "breakeven_roas": breakeven,
        "wasted": wasted,
        "wasted_share": wasted / spend if spend else np.nan,
        "grow": int((t["verdict"] == "grow").sum()),
        "cut": int((t["verdict"] == "cut").sum()),
        "natural_conversion": natural,
        "paid_conversion": float(t["orders"].sum() / t["clicks"].sum())
        if t["clicks"].sum()
        else np.nan,
    }
    return t, summary


# --------------------------------------------------------------------------------------------
# baselines: anomalies and campaign lift


def _design(days: pd.DatetimeIndex, fd: pd.DataFrame | None, month_cols: pd.Index) -> np.ndarray:
    """Weekday dummies (Monday = base), year-month levels and festival/holiday terms."""
    wd = days.day_of_week.to_numpy()
    X = [(wd == k).astype(float) for k in range(1, 7)]
    ym = days.to_period("M")
    X += [(ym == m).astype(float) for m in month_cols]
    if fd is not None:
        X += [fd[c].to_numpy(float) for c in fd.columns]
    return np.column_stack(X)


def _festival_terms(days: pd.DatetimeIndex, overrides=None) -> pd.DataFrame:
    """0/1 columns: pre-sale, main phase, each node's node day, each holiday, make-up days."""
    fd = cal.festival_days(days[0], days[-1], overrides).set_index("date").reindex(days)
    nodes = cal.festival_nodes(days[0], days[-1], overrides)
    cols = {
        "presale": (fd["phase"] == "presale").to_numpy(),
        "main": (fd["phase"] == "peak").to_numpy(),
        "makeup": fd["is_workday_makeup"].to_numpy(bool),
    }
    for key, peaks in nodes.groupby("key")["peak"]:
        cols[f"node_{key}"] = days.isin(peaks)
    for name in sorted(fd["holiday"].dropna().unique()):
        cols[f"hol_{name}"] = (fd["holiday"] == name).to_numpy()
    out = pd.DataFrame(cols, index=days).astype(float)
    return out.loc[:, out.sum() > 0]


def day_events(days: pd.DatetimeIndex, overrides=None) -> pd.DataFrame:
    """What the calendar says about each day: its public holiday and its retail event.

    Returns
    -------
    DataFrame indexed by ``days``: ``event_zh`` and ``event_en`` ("Christmas Day", "双11 · 预售",
    "Black Friday / Cyber Monday (BFCM), early deals", "调休上班" on a make-up workday,
    "Boxing Day / Boxing Day & January sales"; the holiday or make-up workday first, then the
    node and, outside its main phase, the phase; the words from ``markets.yaml``), or None on
    an ordinary day.
    """
    days = pd.DatetimeIndex(days)
    if not len(days):
        return pd.DataFrame({"event_zh": [], "event_en": []}, index=days, dtype=object)
    fd = cal.festival_days(days.min(), days.max(), overrides).set_index("date").reindex(days)
    nodes = cal.festival_nodes(days.min(), days.max(), overrides).drop_duplicates("key")
    hol = cal.statutory_holidays(days.min(), days.max(), cal.as_calendar(overrides))
    hol_en = dict(zip(hol["name_zh"], hol["name"], strict=False))
    names = nodes.set_index("key")
    out = {}
    words = cal.calendar_words(cal.as_calendar(overrides))
    for lang, col in (("zh", "name_zh"), ("en", "name_en")):
        pre = words["presale"][lang]
        node = (fd["node"].map(names[col]) if len(names) else pd.Series(None, index=days)).astype(
            object
        )  # no node on any of the days: all missing, which a float column cannot add words to
        node = node.where(fd["phase"] != "presale", node + (" · " if lang == "zh" else ", ") + pre)
        h = fd["holiday"] if lang == "zh" else fd["holiday"].map(lambda x: hol_en.get(x, x))
        makeup = pd.Series(
            np.where(
                fd["is_workday_makeup"].fillna(False).to_numpy(bool), words["makeup"][lang], None
            ),
            index=days,
            dtype=object,
        )
        parts = pd.concat([h.rename(0), makeup.rename(2), node.rename(1)], axis=1)
        out[f"event_{lang}"] = [
            " / ".join(str(v) for v in row if isinstance(v, str)) or None
            for row in parts.itertuples(index=False)
        ]
    return pd.DataFrame(out, index=days, dtype=object)


def _robust_z(r: np.ndarray, fit: np.ndarray, window: int = 91) -> np.ndarray:
    """(r - median) / (1.4826 · MAD), the MAD taken over a centred ``window`` of fitted days.

    A local MAD lets a shop whose volume (and so its daily noise) changed over the years be
    judged against the noise of its own period; too few fitted days nearby: the global MAD.
    """
    ref = np.where(fit, r, np.nan)
    med = np.nanmedian(ref)
    dev = pd.Series(np.abs(ref - med))
    glob = float(dev.median())
    local = dev.rolling(window, center=True, min_periods=window // 3).median()
    mad = 1.4826 * local.fillna(glob).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mad > 0, (r - med) / mad, np.nan)


def anomalies(
    funnel: pd.DataFrame,
    threshold: float = 3.5,
    festival_overrides=None,
    min_days: int = 56,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unusual days in sales, visitors, conversion or order value, with the likely driver.

    See the module docstring for the baseline. A day is flagged when the robust z of its sales
    residual reaches ``threshold`` in absolute value (the factors are reported, not flagged on
    their own: on small shops daily conversion and order value are noisy); a day without sales
    is flagged when at least five buyers were expected.

    Returns
    -------
    (flagged, daily): ``flagged`` ``date, net_sales, expected, change`` (actual / expected -
    1), ``z`` (of sales), ``visitors_change, conversion_change, order_value_change`` (each
    factor against its own baseline), ``driver`` (visitors, conversion or order_value; the
    factor with the largest residual in the direction of the sales residual), ``metric``
    (the metric with the largest |z| that day) and ``event_zh``/``event_en`` (the day's public
    holiday and retail event in the shop's market, :func:`day_events`: a dip on 25 December
    is Christmas Day for GB and US, a spike inside BFCM is BFCM); ``daily`` the whole series
    with ``expected`` for the chart. Without traffic (visitors estimated on every day) the
    factors are buyers and order value: ``buyers_change`` replaces ``visitors_change`` and
    ``conversion_change``, and the driver is ``buyers`` or ``order_value``.
    """
    f = funnel.reset_index(drop=True)
    cols = [
        "date",
        "net_sales",
        "expected",
        "change",
        "z",
        "visitors_change",
        "conversion_change",
        "order_value_change",
        "driver",
        "metric",
        "event_zh",
        "event_en",
    ]
    if len(f) < min_days:
        return pd.DataFrame(columns=cols), f.assign(expected=np.nan)
    days = pd.DatetimeIndex(f["date"])
    fest = _festival_terms(days, festival_overrides)
    months = pd.Index(days.to_period("M").unique())
    X = _design(days, fest, months)
    v = f["visitors"].to_numpy(float)
    b = f["buyers"].to_numpy(float)
    s = f["net_sales"].to_numpy(float)
    ok = (s > 0) & (b > 0) & (v > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        Y = np.column_stack([np.log(v), np.log(b / v), np.log(s / b)])
    Y[~ok] = np.nan
    fit = ok.copy()
    for _ in range(2):  # fit, drop the flagged days, refit
        beta, *_ = np.linalg.lstsq(X[fit], Y[fit], rcond=None)
        pred = X @ beta
        R = Y - pred
        rs = R.sum(axis=1)
        zs = np.column_stack([_robust_z(R[:, k], fit) for k in range(3)] + [_robust_z(rs, fit)])
        fit = ok & ~(np.abs(np.nan_to_num(zs)) >= threshold).any(axis=1)
    expected = np.exp(pred.sum(axis=1))
    exp_buyers = np.exp(pred[:, 0] + pred[:, 1])
    flag = ok & (np.abs(np.nan_to_num(zs[:, 3])) >= threshold)
    zero = (s <= 0) & (exp_buyers >= 5)
    estimated = bool(f.get("visitors_estimated", pd.Series(False)).all())
    names = np.array(["visitors", "conversion", "order_value"])
    rsum = np.nan_to_num(R).sum(axis=1)
    signed = np.nan_to_num(R) * np.sign(rsum)[:, None]
    if estimated:  # visitors are buyers / a constant: conversion carries no information
        signed[:, 1] = -np.inf
    driver = names[np.argmax(signed, axis=1)]
    metric = np.array(["visitors", "conversion", "order_value", "net_sales"])[
        np.argmax(np.abs(np.nan_to_num(zs)), axis=1)
    ]
    sel = flag | zero
    out = pd.DataFrame(
        {
            "date": f["date"][sel].to_numpy(),
            "net_sales": s[sel],
            "expected": expected[sel],
            "change": np.where(zero[sel], -1.0, s[sel] / expected[sel] - 1),
            "z": zs[sel, 3],
            "visitors_change": np.exp(R[sel, 0]) - 1,
            "conversion_change": np.exp(R[sel, 1]) - 1,
            "order_value_change": np.exp(R[sel, 2]) - 1,
            "driver": np.where(zero[sel], "visitors", driver[sel]),
            "metric": np.where(zero[sel], "net_sales", metric[sel]),
        }
    )
    ev = day_events(pd.DatetimeIndex(out["date"]), festival_overrides)
    out["event_zh"] = ev["event_zh"].to_numpy(dtype=object)
    out["event_en"] = ev["event_en"].to_numpy(dtype=object)
    out = out.assign(_a=np.abs(np.nan_to_num(out["z"], nan=np.inf))).sort_values(
        ["_a", "date"], ascending=[False, True], kind="stable"
    )
    daily = f.assign(expected=expected)
    out = out.drop(columns="_a").reset_index(drop=True)[cols]
    if estimated:  # no traffic data: the "visitors" factor is buyers, conversion is nothing
        named = {"visitors": "buyers", "conversion": "buyers"}
        out = out.drop(columns="conversion_change").rename(
            columns={"visitors_change": "buyers_change"}
        )
        out["driver"] = out["driver"].replace(named)
        out["metric"] = out["metric"].replace(named)
    return out, daily


def campaign_lift(
    windows: pd.DataFrame,
    funnel: pd.DataFrame,
    gross_margin: float = 0.35,
    festival_overrides=None,
    min_clean_days: int = 5,
) -> pd.DataFrame:
    """Lift of each past campaign over a seasonality-adjusted baseline (no-campaign sales).

    The baseline is fitted on clean days only (see the module docstring): days in no campaign
    window, no festival phase and no statutory holiday, with sales. A month with fewer than
    ``min_clean_days`` clean days takes its level by linear interpolation from its neighbours.

    Returns
    -------
    ``windows`` plus ``days, actual, baseline, incremental`` (actual - baseline), ``lift``
    (actual / baseline - 1), ``iroas`` (incremental / spend) and ``campaign_profit``
    (gross_margin × incremental - spend), the last two only where spend is known.
    """
    f = funnel.set_index("date")
    days = f.index
    s = f["net_sales"].to_numpy(float)
    rep, pos = _window_index(windows, days)
    in_camp = np.zeros(len(days), bool)
    in_camp[pos] = True
    fd = cal.festival_days(days[0], days[-1], festival_overrides).set_index("date").reindex(days)
    clean = ~in_camp & fd["phase"].isna().to_numpy() & fd["holiday"].isna().to_numpy() & (s > 0)
    ym = days.to_period("M")
    months = pd.Index(ym.unique())
    per_month = pd.Series(clean, index=ym).groupby(level=0).sum().reindex(months)
    fit_months = months[per_month.to_numpy() >= min_clean_days]
    use = clean & ym.isin(fit_months)
    X = _design(days, None, fit_months)
    beta, *_ = np.linalg.lstsq(X[use], np.log(s[use]), rcond=None)
    wd = np.concatenate([[0.0], beta[:6]])
    level = pd.Series(beta[6:], index=fit_months.to_timestamp())
    level = level.reindex(months.to_timestamp()).interpolate(method="time", limit_direction="both")
    month_level = level.to_numpy()[months.get_indexer(ym)]
    pred = wd[days.day_of_week.to_numpy()] + month_level
    resid = np.log(s[use]) - pred[use]
    smear = float(np.mean(np.exp(resid)))
    base = np.exp(pred) * smear
    out = windows.reset_index(drop=True).copy()
    out["days"] = ((out["end"] - out["start"]).dt.days + 1).astype("int64")
    out["actual"] = np.bincount(rep, weights=s[pos], minlength=len(out))
    out["baseline"] = np.bincount(rep, weights=base[pos], minlength=len(out))
    out["incremental"] = out["actual"] - out["baseline"]
    out["lift"] = out["actual"] / out["baseline"] - 1
    spend = out["spend"].where(out["spend"] > 0) if "spend" in out else np.nan
    out["iroas"] = out["incremental"] / spend
    out["campaign_profit"] = gross_margin * out["incremental"] - spend
    return out


# --------------------------------------------------------------------------------------------
# reviews


def rating_trend(
    reviews: pd.DataFrame, as_of, months: int = 24, low_max: float = 3
) -> pd.DataFrame:
    """Review scores per calendar month: count, mean rating, low-rating share, DSR averages."""
    as_of = pd.Timestamp(as_of).normalize()
    r = reviews[reviews["date"] <= as_of]
    r = r.assign(month=r["date"].dt.to_period("M").dt.to_timestamp(), low=r["rating"] <= low_max)
    g = r.groupby("month")
    out = pd.DataFrame(
        {
            "reviews": g["review_id"].size(),
            "rating": g["rating"].mean(),
            "low_share": g["low"].mean(),
            "dsr_item": g["dsr_item"].mean(),
            "dsr_service": g["dsr_service"].mean(),
            "dsr_shipping": g["dsr_shipping"].mean(),
        }
    ).reset_index()
    return out.tail(months).reset_index(drop=True)


DSR_DIMENSIONS = ("dsr_item", "dsr_service", "dsr_shipping")


# words that tie a complaint theme to the DSR dimension it drags (the rest: item as described)
DSR_WORDS = {
    "dsr_shipping": (
        "物流",
        "快递",
        "发货",
        "送货",
        "配送",
        "包装",
        "shipping",
        "delivery",
        "courier",
        "parcel",
        "package",
        "arrived",
    ),
    "dsr_service": (
        "客服",
        "态度",
        "回复",
        "售后",
        "退款",
        "退货",
        "service",
        "reply",
        "support",
        "refund",
        "return",
    ),
}


def theme_dimension(terms: pd.Series) -> pd.Series:
    """The DSR dimension each complaint theme drags: ``dsr_shipping`` (物流, 快递, 发货 …),
    ``dsr_service`` (客服, 态度, 售后 …), else ``dsr_item`` (the product against its page)."""
    t = terms.astype(str).str.lower()
    out = pd.Series("dsr_item", index=terms.index, dtype=object)
    for dim, words in DSR_WORDS.items():
        hit = t.str.contains("|".join(words), regex=True) & (out == "dsr_item")
        out[hit] = dim
    return out


def dsr_summary(trend: pd.DataFrame, months: int = 3, min_drop: float = 0.02) -> dict:
    """The shop's DSR (描述相符 / 服务态度 / 物流服务) now and what drags it.

    Per dimension the review-weighted mean over the last ``months`` months of
    :func:`rating_trend` (``<dim>_now``) and over the ``months`` before (``<dim>_before``),
    ``<dim>_change``; ``weakest`` is the dimension with the lowest current score and
    ``falling`` the one that fell most, by at least ``min_drop`` points (None when none did,
    or without DSR data).
    """
    out: dict = {"weakest": None, "falling": None}
    have = [d for d in DSR_DIMENSIONS if d in trend and trend[d].notna().any()]
    if not have:
        return out
    t = trend.tail(2 * months)
    now, before = t.tail(months), t.head(max(len(t) - months, 0))

    def wmean(part: pd.DataFrame, col: str) -> float:
        ok = part[col].notna()
        w = part.loc[ok, "reviews"]
        return float((part.loc[ok, col] * w).sum() / w.sum()) if w.sum() > 0 else float("nan")

    for d in have:
        out[f"{d}_now"] = wmean(now, d)
        out[f"{d}_before"] = wmean(before, d) if len(before) else float("nan")
        out[f"{d}_change"] = out[f"{d}_now"] - out[f"{d}_before"]
    out["weakest"] = min(have, key=lambda d: (out[f"{d}_now"], d))
    ch = {d: out[f"{d}_change"] for d in have if out[f"{d}_change"] == out[f"{d}_change"]}
    fall = min(ch, key=lambda d: (ch[d], d)) if ch else None
    out["falling"] = fall if fall is not None and ch[fall] <= -min_drop else None
    return out


def _clause_terms(texts: pd.Series) -> pd.DataFrame:
    """Fallback segmentation: clauses split on punctuation and connectives."""
    s = texts.dropna().astype(str)
    parts = s.str.split(r"[，,。.!！?？;；、\s]+|但是|不过|而且|就是|\bbut\b|\band\b", regex=True)
    ex = parts.explode()
    ex = ex[ex.notna() & (ex.str.strip().str.len() > 1)].str.strip()
    out = pd.DataFrame({"doc": ex.index, "term": ex.to_numpy(), "clause": ex.to_numpy()})
    return out.drop_duplicates(["doc", "term"]).reset_index(drop=True)


def _segment(texts: pd.Series) -> pd.DataFrame:
    try:
        from helpers.analysis import text

        return text.segment(texts)
    except ImportError:  # the jieba miner is optional: fall back to clauses
        return _clause_terms(texts)


def complaint_themes(
    reviews: pd.DataFrame, as_of, months: int = 12, low_max: float = 3, top: int = 10
) -> tuple[pd.DataFrame, dict]:
    """The complaint themes behind the largest drop in the monthly rating.

    The drop month is, among the last ``months``, the one whose mean rating fell most below
    the mean of the three months before it; its low-rating reviews (rating ≤ ``low_max``) are
    compared with the low-rating reviews of those three months. Only complaint terms count:
    those a low review mentions more often than a high one (in the four months); the complaint
    terms of one clause form one theme (``物流太慢``, not ``物流`` and ``太慢`` counted twice).
    Terms come from
    :func:`helpers.analysis.text.segment` (jieba) when available, else from clauses split on
    punctuation.

    Returns
    -------
    (themes, info): ``themes`` ``term, docs`` (low reviews mentioning it in the drop month),
    ``per_100`` (per 100 reviews of the month), ``per_100_before``, ``change`` (difference)
    and ``example``; ``info`` ``month, rating, rating_before, drop, reviews, low_share,
    low_share_before``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    cols = ["term", "docs", "per_100", "per_100_before", "change", "example"]
    r = reviews[(reviews["date"] <= as_of)].copy()
    if r.empty:
        return pd.DataFrame(columns=cols), {}
    r["month"] = r["date"].dt.to_period("M")
    m = r.groupby("month")["rating"].agg(["mean", "size"])
    before = m["mean"].rolling(3, min_periods=1).mean().shift(1)
    drop = (m["mean"] - before).tail(months)
    if drop.dropna().empty:
        month = m.index[-1]
    else:
        month = drop.idxmin()
    prev = [month - k for k in (1, 2, 3)]
    cur_r = r[r["month"] == month]
    prev_r = r[r["month"].isin(prev)]
    low_cur = cur_r[cur_r["rating"] <= low_max]
    low_prev = prev_r[prev_r["rating"] <= low_max]
    both = pd.concat([cur_r, prev_r])
    terms = _segment(both["text"])
    rating = both["rating"].reindex(terms["doc"]).to_numpy()
    low = rating <= low_max
    # complaint terms only: mentioned more often in low than in high reviews of the window
    n_low, n_high = (
        max(int((both["rating"] <= low_max).sum()), 1),
        max(int((both["rating"] > low_max).sum()), 1),
    )
    p_low = terms[low].groupby("term")["doc"].nunique() / n_low
    p_high = terms[~low].groupby("term")["doc"].nunique().reindex(p_low.index).fillna(0) / n_high
    complaint = p_low.index[(p_low > p_high).to_numpy()]
    terms = terms[low & terms["term"].isin(complaint).to_numpy()]
    # one theme per clause: 物流太慢 is one complaint, not 物流 and 太慢 counted twice
    terms = (
        terms.groupby(["doc", "clause"], sort=False)["term"]
        .agg(lambda t: ("" if all(not w.isascii() for w in t) else " ").join(t))
        .reset_index()
    )
    in_cur = terms["doc"].isin(low_cur.index)
    tc = terms[in_cur].groupby("term")["doc"].nunique()
    tp = terms[terms["doc"].isin(low_prev.index)].groupby("term")["doc"].nunique()
    ex = terms[in_cur].groupby("term")["clause"].agg(lambda c: c.value_counts().index[0])
    out = pd.DataFrame({"docs": tc}).join(tp.rename("docs_before"), how="left").fillna(0)
    out["per_100"] = 100 * out["docs"] / max(len(cur_r), 1)
    out["per_100_before"] = 100 * out["docs_before"] / max(len(prev_r), 1)
    out["change"] = out["per_100"] - out["per_100_before"]
    out["example"] = ex.reindex(out.index)
    out.index.name = "term"
    out = out.reset_index().sort_values(
        ["change", "docs", "term"], ascending=[False, False, True], kind="stable"
    )
    out["docs"] = out["docs"].astype("int64")
    info = {
        "month": str(month),
        "rating": float(m.loc[month, "mean"]),
        "rating_before": float(before.loc[month]) if pd.notna(before.loc[month]) else np.nan,
        "drop": float(m.loc[month, "mean"] - before.loc[month])
        if pd.notna(before.loc[month])
        else np.nan,
        "reviews": int(len(cur_r)),
        "low_share": float((cur_r["rating"] <= low_max).mean()),
        "low_share_before": float((prev_r["rating"] <= low_max).mean()) if len(prev_r) else np.nan,
    }
    return out[cols].head(top).reset_index(drop=True), info


# --------------------------------------------------------------------------------------------
# issue log


def issue_log(issues: pd.DataFrame, as_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The issue log by the article's four areas (goals, analysis, promotion, execution).

    Returns
    -------
    (by_area, open_list): ``by_area`` ``area, issues, open, overdue`` (open and past its due
    date), ``closed, days_to_close`` (median), ``age_open`` (median days open), the open
    count by age ``age_0_7, age_8_30, age_31_90, age_90_plus`` and ``owners`` (of open issues);
    ``open_list`` the open issues, oldest first: ``issue_id, area, owner, date, due_date,
    age_days, overdue_days, status, description``.
    """
    from helpers.core.schema import ISSUE_AREAS

    as_of = pd.Timestamp(as_of).normalize()
    i = issues[issues["date"] <= as_of].copy()
    closed = (i["status"] == "closed") & (i["closed_date"].isna() | (i["closed_date"] <= as_of))
    i["open"] = ~closed
    i["age_days"] = (as_of - i["date"]).dt.days
    i["overdue"] = i["open"] & i["due_date"].notna() & (i["due_date"] < as_of)
    i["overdue_days"] = np.where(i["overdue"], (as_of - i["due_date"]).dt.days, 0)
    i["to_close"] = (i["closed_date"] - i["date"]).dt.days.where(closed)
    bins = pd.cut(
        i["age_days"],
        [-1, 7, 30, 90, np.inf],
        labels=["age_0_7", "age_8_30", "age_31_90", "age_90_plus"],
    )
    g = i.groupby("area")
    by = pd.DataFrame(
        {
            "issues": g.size(),
            "open": g["open"].sum(),
            "overdue": g["overdue"].sum(),
            "closed": g["open"].apply(lambda s: int((~s).sum())),
            "days_to_close": g["to_close"].median(),
            "age_open": i[i["open"]].groupby("area")["age_days"].median(),
        }
    )
    ages = pd.crosstab(i.loc[i["open"], "area"], bins[i["open"]]).reindex(
        columns=["age_0_7", "age_8_30", "age_31_90", "age_90_plus"], fill_value=0
    )
    owners = (
        i[i["open"]]
        .groupby("area")["owner"]
        .agg(lambda s: ", ".join(sorted(set(s.dropna().astype(str)))))
    )
    by = by.join(ages, how="left").join(owners.rename("owners"), how="left")
    by = by.reindex(list(ISSUE_AREAS)).rename_axis("area").reset_index()
    num = ["issues", "open", "overdue", "closed", "age_0_7", "age_8_30", "age_31_90", "age_90_plus"]
    by[num] = by[num].fillna(0).astype("int64")
    by["owners"] = by["owners"].fillna("")
    ol = i[i["open"]].sort_values(["date", "issue_id"], kind="stable")
    ol = ol[
        [
            "issue_id",
            "area",
            "owner",
            "date",
            "due_date",
            "age_days",
            "overdue_days",
            "status",
            "description",
        ]
    ].reset_index(drop=True)
    return by, ol


# --------------------------------------------------------------------------------------------
# the review workbook


def _sheet_name(name: str, used: set) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "", str(name))[:31] or "sheet"
    sheet, k = base, 2
    while sheet in used:
        sheet = f"{base[:28]}_{k}"
        k += 1
    used.add(sheet)
    return sheet


# (sheet title key, chart type, x column, bar/line columns, line-on-secondary columns,
#  money columns, percent columns) per table the review workbook can hold
_BOOK = {
    "avt_month": (
        "h06_avt_month",
        "column",
        "period",
        ["actual"],
        ["target"],
        ["target", "target_to_date", "actual", "gap"],
        ["attainment"],
    ),
    "pacing": (
        "h06_pacing_sheet",
        "line",
        "date",
        ["cum_actual", "cum_target", "projected"],
        [],
        ["cum_actual", "cum_target", "projected", "annual_target"],
        [],
    ),
    "ops_weekly": (
        "h06_ops_weekly_sheet",
        "column",
        "date",
        ["net_sales"],
        ["conversion"],
        ["order_value", "paid_amount", "refunds", "net_sales"],
        ["conversion", "refund_rate"],
    ),
    "ops_daily": (
        "h06_ops_daily_sheet",
        "line",
        "date",
        ["net_sales"],
        [],
        ["order_value", "paid_amount", "refunds", "net_sales"],
        ["conversion", "refund_rate"],
    ),
    "drivers": (
        "h06_drivers_sheet",
        "bar",
        "factor",
        ["contribution"],
        [],
        ["contribution"],
        ["change_pct", "share"],
    ),
    "customers": (
        "h06_customers_sheet",
        "column",
        "month",
        ["new_buyers", "returning_buyers"],
        [],
        ["net_sales", "sales_new", "sales_returning", "sales_per_buyer"],
        ["returning_share"],
    ),
    "campaigns": (
        "h06_campaigns_sheet",
        "column",
        "name",
        ["net_sales"],
        [],
        ["spend", "net_sales", "refunds", "order_value", "sales_per_day"],
        ["conversion"],
    ),
    "lift": (
        "h06_lift_sheet",
        "column",
        "name",
        ["actual", "baseline"],
        [],
        ["actual", "baseline", "incremental", "spend", "campaign_profit"],
        ["lift"],
    ),
    "drill_channel": ("h06_drill_channel_sheet", "bar", "key", ["change"], [], None, []),
    "drill_product": ("h06_drill_product_sheet", "bar", "key", ["change"], [], None, []),
    "drill_segment": ("h06_drill_segment_sheet", "bar", "key", ["change"], [], None, []),
    "ads": (
        "h06_ads_sheet",
        "bar",
        "keyword",
        ["roas"],
        [],
        ["spend", "revenue", "ad_profit"],
        ["ctr", "conversion", "market_conversion"],
    ),
    "anomalies": (
        "h06_anomalies_sheet",
        "line",
        "date",
        ["net_sales", "expected"],
        [],
        ["net_sales", "expected"],
        [],
    ),
    "reviews": ("h06_reviews_sheet", "line", "month", ["rating"], [], [], ["low_share"]),
    "issues": ("h06_issues_sheet", "column", "area", ["open", "overdue"], [], [], []),
}


def workbook_sheets(tables: dict[str, pd.DataFrame], label) -> list[dict]:
    """Sheet specs for :func:`write_review_xlsx` from the review's tables.

    Parameters
    ----------
    tables : key of ``_BOOK`` (``avt_month``, ``pacing``, ``ops_weekly``, ``ops_daily``,
        ``drivers``, ``customers``, ``campaigns``, ``lift``, ``drill_<by>``, ``ads``,
        ``anomalies``, ``reviews``, ``issues``) -> table; None or missing tables are skipped.
        Values to show translated (factor names, areas) should already be.
    label : key -> label in the report language (e.g. ``ctx.label``), applied to sheet titles
        and column names.

    Returns
    -------
    list of dict, in ``_BOOK`` order, each with ``name``, ``df``, ``chart``, ``money``, ``pct``.
    """
    out = []
    for key, (title, kind, x, ys, lines, money, pct) in _BOOK.items():
        df = tables.get(key)
        if df is None or df.empty:
            continue
        if money is None:  # drill-downs: every amount column
            money = [c for c in df.columns if c not in ("key", "title", "main")]
        df = df.copy()
        for c in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[c]) and c == x:
                df[c] = df[c].dt.strftime(
                    "%Y-%m-%d" if key != "reviews" and key != "customers" else "%Y-%m"
                )
        out.append(
            {
                "name": label(title),
                "df": df.rename(columns=label),
                "chart": {
                    "type": kind,
                    "x": label(x),
                    "y": [label(c) for c in ys],
                    "line": [label(c) for c in lines],
                    "title": label(title),
                },
                "money": [label(c) for c in money],
                "pct": [label(c) for c in pct],
            }
        )
    return out
