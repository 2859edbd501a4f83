"""The promotion plan (推广计划 + 执行计划 + 营销策略): notebook 05's computations.

The article's third and fourth steps: a year of campaigns on the calendar's nodes, a small
group of hero products per campaign ("an inch wide and a kilometre deep"), stock that never
runs out online, the marketing levers (满减 spend-X-save-Y, new-customer offers, clearance,
free shipping), and the execution plan: tasks with owners and dates counted back from each
node. Plan + execution plan = the article's 双案.

Every function is pure (DataFrames in, DataFrames out) and vectorised over days and products.

Models, stated once
-------------------
* **Funnel**: sales = visitors × conversion × order value, with conversion = buyers / visitors
  and order value = net sales / buyers (客单价 as 生意参谋 counts it). Buyers are distinct
  customer ids per day (orders when the shop has no buyer id); visitors are the traffic
  table's shop-level rows (product rows when there are none; buyers / the assumed conversion
  rate when the shop has no traffic table, flagged ``visitors_estimated``).
* **Campaign forecast**: per planned campaign, the past windows of the same node (or the same
  shop campaign series) give daily visitors, conversion and order value; visitors are brought
  to today's level with the shop's year-on-year visitor growth (no growth assumed beyond
  today: the gap to the target is the growth the plan needs). The range is a seeded two-stage
  bootstrap (occurrences, then days within them), 10th-90th percentile. A node without
  history starts from the last 90 days' funnel with the node's prior weight
  (``festivals.yaml``) on visitors.
* **Fallbacks** for artifacts of notebooks 02/03 (used only when neither the artifact nor the
  other module's function is there): target = the same calendar day a year earlier × (1 +
  ambition); heroes = top products by the last 90 days' net sales.

Above 600 lines: one domain (campaign calendar, forecast, heroes, stock plan, levers, execution plan); the execution plan is the candidate to split next.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.analysis.returns import product_lines
from helpers.core import calendar as cal
from helpers.core.codes import (
    SALE_STATUSES,
    any_filled,
    factorize,
    line_codes,
    nunique_by,
    sales_lines,
    subset_codes,
)
from helpers.data_files import DATA_DIR

__all__ = [
    "ROLES",
    "basket_values",
    "campaign_calendar",
    "campaign_history",
    "clearance_candidates",
    "complete_through",
    "daily_funnel",
    "execution_plan",
    "fallback_targets",
    "forecast_campaigns",
    "free_shipping_threshold",
    "gross_margin",
    "hero_forecast",
    "hero_group",
    "stock_events",
    "hero_stock",
    "load_templates",
    "new_customer_offer",
    "plan_campaigns",
    "plan_fiscal_year",
    "plan_targets",
    "stock_summary",
    "targets_for_year",
    "threshold_curve",
    "threshold_suggestion",
    "watchlist_for",
    "with_heroes",
]

TEMPLATES_FILE = DATA_DIR / "execution_templates.yaml"
ROLES = ("ops", "design", "service", "promotion", "warehouse")  # 运营 美工 客服 推广 仓储
ANCHORS = ("launch", "start", "peak", "end")


# --------------------------------------------------------------------------------------------
# grouping on text keys, fast


def _keyed(df: pd.DataFrame, key: str, cols: list[str]) -> tuple[pd.DataFrame, pd.Index]:
    """``df[cols]`` plus ``key`` as sorted integer codes (rows without a key left out), and ids.

    Grouping on the codes gives the groups ``df.groupby(key)`` gives, in the same order, at a
    fraction of the cost of hashing text; ``ids[codes]`` turns codes back into the index that
    grouping on ``key`` would have given.
    """
    codes, ids = factorize(df[key], sort=True)
    out = df[cols].reset_index(drop=True).assign(**{key: codes})
    out = out[codes >= 0] if (codes < 0).any() else out
    return out, pd.Index(ids, name=key).infer_objects()


def _group_min(codes: np.ndarray, n: int, times: np.ndarray) -> np.ndarray:
    """Per code 0..n-1 the earliest of ``times`` (datetime64), NaT for a code with none."""
    big = np.iinfo(np.int64).max
    t = times.view(np.int64)
    out = np.full(n, big)
    np.minimum.at(out, codes, np.where(np.isnat(times), big, t))
    return np.where(out == big, np.iinfo(np.int64).min, out).view(times.dtype)


def _first_two(groups: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the earliest and second earliest ``t`` in each run of equal ``groups``.

    Ties go to the earlier position, NaT comes last; the second is -1 for a one-row run.
    """
    n = len(groups)
    if not n:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    starts = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    pos = np.arange(n)
    key = np.where(np.isnat(t), np.iinfo(np.int64).max, t.view(np.int64))
    first = np.minimum.reduceat(
        np.where(key == np.minimum.reduceat(key, starts)[run], pos, n), starts
    )
    rest = pos != first[run]
    key2 = np.where(rest, key, np.iinfo(np.int64).max)
    low2 = np.minimum.reduceat(key2, starts)[run]
    second = np.minimum.reduceat(np.where(rest & (key2 == low2), pos, n), starts)
    return first, np.where(second < n, second, -1)


# --------------------------------------------------------------------------------------------
# the funnel


def daily_funnel(
    orders: pd.DataFrame,
    traffic: pd.DataFrame | None = None,
    start=None,
    end=None,
    conversion_rate: float = 0.03,
) -> pd.DataFrame:
    """One row per day: visitors, buyers, orders, units, gross paid, refunds and net sales.

    Parameters
    ----------
    orders : canonical orders.
    traffic : canonical traffic or None.
    start, end : first and last day (default: first and last purchase day); every day present.
    conversion_rate : assumed conversion (buyers / visitors) used to estimate visitors on days
        the traffic table does not cover, when it has no day at all to learn it from.

    Returns
    -------
    DataFrame with ``date, visitors, buyers, orders, units, paid_amount, refunds, net_sales,
    visitors_estimated``. Buyers, orders, units and paid amount are of purchase lines; net
    sales are after refunds and after the credit notes of the day (return lines). ``buyers`` are distinct customer ids per day (orders when the shop
    has none), so that ``net_sales = visitors × (buyers / visitors) × (net_sales / buyers)``.
    """
    s = sales_lines(orders)
    key = "customer_id" if any_filled(s["customer_id"]) else "order_id"
    g = s.groupby("day")
    b = s[~s["is_return"].to_numpy()] if s["is_return"].any() else s  # credit notes: no buyer
    out = pd.DataFrame(
        {
            "buyers": nunique_by(b, "day", key),
            "orders": nunique_by(b, "day", "order_id"),
            "units": b.groupby("day")["quantity"].sum(),
            "paid_amount": b.groupby("day")["paid_amount"].sum(),  # purchases (gross)
            "refunds": g["refund_amount"].sum(),
            "net_sales": g["net"].sum(),  # credit notes deducted on their day
        }
    )
    start = pd.Timestamp(start).normalize() if start is not None else s["day"].min()
    end = pd.Timestamp(end).normalize() if end is not None else s["day"].max()
    days = pd.date_range(start, end, freq="D")
    out = out.reindex(days, fill_value=0)
    visitors = pd.Series(np.nan, index=days)
    if traffic is not None and len(traffic):
        shop_rows = traffic[traffic["product_id"].isna()]
        rows = shop_rows if len(shop_rows) else traffic
        visitors = rows.groupby("date")["visitors"].sum().reindex(days).astype(float)
    seen = visitors.notna() & (visitors > 0)
    if seen.any():
        cr = out["buyers"][seen].sum() / visitors[seen].sum()
    else:
        cr = conversion_rate
    estimated = ~seen
    visitors = visitors.where(seen, out["buyers"] / max(cr, 1e-9))
    # never fewer visitors than buyers
    visitors = np.maximum(visitors, out["buyers"])
    out.insert(0, "visitors", visitors.astype(float))
    out["visitors_estimated"] = estimated.to_numpy()
    out.index.name = "date"
    for c in ("buyers", "orders", "units"):
        out[c] = out[c].astype("int64")
    return out.reset_index()


def complete_through(orders: pd.DataFrame, as_of) -> pd.Timestamp:
    """The last day whose orders are settled, at most ``as_of``.

    Trailing days whose orders are all still pending (or cancelled) are not complete yet: a
    review that counted them as zero-sales days would report a collapse that is only unpaid
    orders. Days without any order stay complete (a quiet day is a real zero).
    """
    as_of = pd.Timestamp(as_of).normalize()
    day = orders["order_time"].dt.normalize()
    o = orders[day <= as_of]
    d = day[day <= as_of]
    sold = d[o["status"].isin(SALE_STATUSES).to_numpy()]
    if sold.empty:
        return as_of
    last = sold.max()
    after = o.loc[(d > last).to_numpy(), "status"]
    if len(after) and after.isin(["pending", "cancelled"]).all() and (after == "pending").any():
        return last
    return as_of


def _visitor_growth(funnel: pd.DataFrame, as_of: pd.Timestamp) -> float:
    """Visitors in the last 365 days over the 365 before (clipped to 0.5-2; 1 without data)."""
    f = funnel.set_index("date")["visitors"]
    last = f[(f.index > as_of - pd.Timedelta(days=365)) & (f.index <= as_of)]
    prev = f[
        (f.index > as_of - pd.Timedelta(days=730)) & (f.index <= as_of - pd.Timedelta(days=365))
    ]
    if len(last) < 300 or len(prev) < 300 or prev.sum() <= 0:
        return 1.0
    return float(np.clip(last.sum() / prev.sum(), 0.5, 2.0))


# --------------------------------------------------------------------------------------------
# calendar of campaigns


def plan_fiscal_year(as_of, start_month: int, targets_meta: dict | None = None) -> int:
    """The fiscal year the plan is for: 02's target year, else the one after ``as_of``'s."""
    if targets_meta and targets_meta.get("fy") is not None:
        return int(targets_meta["fy"])
    return int(cal.fiscal_year_of(pd.Timestamp(as_of), start_month)) + 1


def _series(name: str) -> str:
    """A campaign's series: its name without years (``2024 换季清仓`` -> ``换季清仓``)."""
    return re.sub(r"\s+", " ", re.sub(r"(19|20)\d{2}\s*(年)?", "", str(name))).strip()


def _match_nodes(camps: pd.DataFrame, nodes: pd.DataFrame) -> pd.Series:
    """Node key each campaign belongs to: the node whose peak day falls inside it (or None)."""
    if camps.empty or nodes.empty:
        return pd.Series([None] * len(camps), index=camps.index, dtype=object)
    s = camps["start"].to_numpy()[:, None]
    e = camps["end"].to_numpy()[:, None]
    inside = (nodes["peak"].to_numpy()[None, :] >= s) & (nodes["peak"].to_numpy()[None, :] <= e)
    # a campaign that covers several node days belongs to the heaviest one
    w = np.where(inside, nodes["weight"].to_numpy()[None, :], -np.inf)
    best = w.argmax(axis=1)
    keys = nodes["key"].to_numpy(dtype=object)[best]
    return pd.Series(np.where(inside.any(axis=1), keys, None), index=camps.index, dtype=object)


def _clean_campaigns(campaigns: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["campaign_id", "name", "type", "start", "end", "product_ids", "budget", "spend"]
    if campaigns is None or campaigns.empty:
        return pd.DataFrame(columns=cols).astype(
            {"start": "datetime64[ns]", "end": "datetime64[ns]"}
        )
    c = campaigns[campaigns["start"].notna() & campaigns["end"].notna()].copy()
    c = c[c["end"] >= c["start"]]
    c["type"] = c["type"].fillna("other").astype(object)
    c["product_ids"] = c["product_ids"].fillna("").astype(object)
    return c[cols].reset_index(drop=True)


def campaign_history(
    campaigns: pd.DataFrame | None,
    first_day,
    as_of,
    festival_overrides=None,
) -> pd.DataFrame:
    """Past campaign windows the forecast learns from, one row per occurrence.

    Parameters
    ----------
    campaigns : the shop's campaigns table (or None).
    first_day, as_of : the history the shop's orders cover.
    festival_overrides : ``shop.yaml`` festivals.

    Returns
    -------
    DataFrame ``series, name, launch, end, spend, source``: every festival node occurrence
    that ended inside the history (``series`` = node key, ``source`` "node"; a shop campaign
    on that node gives its own dates and spend) and every past shop campaign not on a node
    (``series`` = ``shop:<name without year>``, ``source`` "shop").
    """
    first_day, as_of = pd.Timestamp(first_day).normalize(), pd.Timestamp(as_of).normalize()
    nodes = cal.festival_nodes(first_day, as_of, festival_overrides)
    nodes = nodes.assign(launch=nodes["presale_start"].fillna(nodes["start"]))
    nodes = nodes[(nodes["launch"] >= first_day) & (nodes["end"] <= as_of)]
    c = _clean_campaigns(campaigns)
    c = c[(c["end"] <= as_of) & (c["start"] >= first_day)]
    all_nodes = cal.festival_nodes(first_day, as_of, festival_overrides)
    c = c.assign(node=_match_nodes(c, all_nodes))
    node_rows = pd.DataFrame(
        {
            "series": nodes["key"].to_numpy(dtype=object),
            "name": nodes["name_zh"].to_numpy(dtype=object),
            "launch": nodes["launch"].to_numpy(),
            "end": nodes["end"].to_numpy(),
            "spend": np.nan,
            "source": "node",
            "_year": nodes["peak"].dt.year.to_numpy(),
        }
    )
    on_node = c[c["node"].notna()]
    if len(on_node):  # the shop's own dates and spend for that node occurrence
        own = pd.DataFrame(
            {
                "series": on_node["node"].to_numpy(dtype=object),
                "_year": on_node["end"].dt.year.to_numpy(),
                "_launch": on_node["start"].to_numpy(),
                "_end": on_node["end"].to_numpy(),
                "_spend": on_node["spend"].to_numpy(dtype=float),
                "_name": on_node["name"].to_numpy(dtype=object),
            }
        ).drop_duplicates(["series", "_year"])
        node_rows = node_rows.merge(own, on=["series", "_year"], how="left")
        has = node_rows["_launch"].notna()
        node_rows.loc[has, "launch"] = node_rows.loc[has, "_launch"]
        node_rows.loc[has, "end"] = node_rows.loc[has, "_end"]
        node_rows.loc[has, "spend"] = node_rows.loc[has, "_spend"]
        node_rows.loc[has, "name"] = node_rows.loc[has, "_name"]
    off = c[c["node"].isna()]
    shop_rows = pd.DataFrame(
        {
            "series": ("shop:" + off["name"].map(_series)).to_numpy(dtype=object),
            "name": off["name"].to_numpy(dtype=object),
            "launch": off["start"].to_numpy(),
            "end": off["end"].to_numpy(),
            "spend": off["spend"].to_numpy(dtype=float),
            "source": "shop",
        }
    )
    out = pd.concat([node_rows[shop_rows.columns], shop_rows], ignore_index=True)
    out["launch"] = pd.to_datetime(out["launch"]).astype("datetime64[ns]")
    out["end"] = pd.to_datetime(out["end"]).astype("datetime64[ns]")
    return out.sort_values(["launch", "series"], kind="stable").reset_index(drop=True)


def campaign_calendar(
    fy: int,
    start_month: int,
    as_of,
    campaigns: pd.DataFrame | None = None,
    festival_overrides=None,
) -> pd.DataFrame:
    """The campaigns from ``as_of`` to the end of fiscal year ``fy``: nodes plus shop campaigns.

    Parameters
    ----------
    fy, start_month : the plan's fiscal year. Campaigns between ``as_of`` and the year's first
        day (the rest of the current fiscal year) are included too: a plan made in December
        for a year starting in April still has to prepare January's New Year Goods Festival.
    as_of : the analysis date; campaigns that have ended by then are left out.
    campaigns : the shop's campaigns table. Its campaigns inside the fiscal year are taken as
        planned (one on a node replaces the node's default dates); a past campaign not on a node
        whose series (name without the year) has no campaign in the year is repeated on the
        same dates in the plan year.
    festival_overrides : ``shop.yaml`` festivals.

    Returns
    -------
    DataFrame, one row per campaign sorted by launch: ``campaign_id, series, name_zh, name_en,
    type, source`` ("node", "shop" or "repeat"), ``launch`` (first day, pre-sale included),
    ``presale_start, start, end, peak, days, weight, product_ids, budget``.
    """
    fy_first, last = cal.fiscal_year_bounds(fy, start_month)
    as_of = pd.Timestamp(as_of).normalize()
    first = min(fy_first, as_of + pd.Timedelta(days=1))
    nodes = cal.festival_nodes(first, last, festival_overrides)
    nodes = nodes[(nodes["peak"] >= first) & (nodes["peak"] <= last)].reset_index(drop=True)
    rows = pd.DataFrame(
        {
            "campaign_id": [f"{p.year}-{k}" for k, p in zip(nodes["key"], nodes["peak"])],
            "series": nodes["key"].to_numpy(dtype=object),
            "name_zh": nodes["name_zh"].to_numpy(dtype=object),
            "name_en": nodes["name_en"].to_numpy(dtype=object),
            "type": "festival",
            "source": "node",
            "presale_start": nodes["presale_start"].to_numpy(),
            "start": nodes["start"].to_numpy(),
            "end": nodes["end"].to_numpy(),
            "peak": nodes["peak"].to_numpy(),
            "weight": nodes["weight"].to_numpy(dtype=float),
            "product_ids": "",
            "budget": np.nan,
        }
    )
    c = _clean_campaigns(campaigns)
    if len(c):
        span_nodes = cal.festival_nodes(
            c["start"].min(), max(c["end"].max(), last), festival_overrides
        )
        c = c.assign(node=_match_nodes(c, span_nodes), series=c["name"].map(_series))
        inside = c[(c["end"] >= first) & (c["start"] <= last)]
        for r in inside[inside["node"].notna()].itertuples():  # the shop's dates for a node
            hit = rows.index[
                (rows["series"] == r.node) & (rows["peak"] >= r.start) & (rows["peak"] <= r.end)
            ]
            if len(hit):
                i = hit[0]
                rows.loc[i, ["presale_start", "start", "end"]] = [pd.NaT, r.start, r.end]
                rows.loc[i, ["name_zh", "name_en", "source"]] = [r.name, r.name, "shop"]
                rows.loc[i, ["campaign_id", "product_ids", "budget"]] = [
                    str(r.campaign_id),
                    r.product_ids,
                    r.budget,
                ]
        own = inside[inside["node"].isna()]
        extra = [own.assign(source="shop")]
        past = c[(c["node"].isna()) & (c["end"] < first) & ~c["series"].isin(own["series"])]
        if len(past):
            latest = past.sort_values("start", kind="stable").groupby("series").tail(1)
            years = fy - cal.fiscal_year_of(latest["start"], start_month)  # into the plan year
            rep = latest.assign(
                start=[s + pd.DateOffset(years=int(y)) for s, y in zip(latest["start"], years)],
                end=[e + pd.DateOffset(years=int(y)) for e, y in zip(latest["end"], years)],
                source="repeat",
            )
            rep["start"] = pd.to_datetime(rep["start"])
            rep["end"] = pd.to_datetime(rep["end"])
            rep["campaign_id"] = [
                f"{s.year}-{cid}" for s, cid in zip(rep["start"], rep["campaign_id"])
            ]
            rep["name"] = [
                re.sub(r"(19|20)\d{2}", str(s.year), n) if re.search(r"(19|20)\d{2}", n) else n
                for n, s in zip(rep["name"].astype(str), rep["start"])
            ]
            extra.append(rep[(rep["start"] >= fy_first) & (rep["end"] <= last)])
        own = pd.concat(extra, ignore_index=True)
        if len(own):
            rows = pd.concat(
                [
                    rows,
                    pd.DataFrame(
                        {
                            "campaign_id": own["campaign_id"].astype(str).to_numpy(dtype=object),
                            "series": ("shop:" + own["series"]).to_numpy(dtype=object),
                            "name_zh": own["name"].to_numpy(dtype=object),
                            "name_en": own["name"].to_numpy(dtype=object),
                            "type": own["type"].to_numpy(dtype=object),
                            "source": own["source"].to_numpy(dtype=object),
                            "presale_start": pd.NaT,
                            "start": own["start"].to_numpy(),
                            "end": own["end"].to_numpy(),
                            "peak": own["end"].to_numpy(),
                            "weight": 1.0,
                            "product_ids": own["product_ids"].to_numpy(dtype=object),
                            "budget": own["budget"].to_numpy(dtype=float),
                        }
                    ),
                ],
                ignore_index=True,
            )
    for col in ("presale_start", "start", "end", "peak"):
        rows[col] = pd.to_datetime(rows[col]).astype("datetime64[ns]")
    rows["budget"] = rows["budget"].astype(float)
    rows.insert(6, "launch", rows["presale_start"].fillna(rows["start"]))
    rows["days"] = (rows["end"] - rows["launch"]).dt.days + 1
    rows = rows[rows["end"] > as_of]
    return rows.sort_values(["launch", "campaign_id"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# campaign forecast


def _window_days(windows: pd.DataFrame, days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(row of ``windows``, position in ``days``) for every day inside each window."""
    n = ((windows["end"] - windows["launch"]).dt.days + 1).to_numpy()
    rep = np.repeat(np.arange(len(windows)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    d = windows["launch"].to_numpy().repeat(n) + offset.astype("timedelta64[D]")
    pos = days.get_indexer(pd.DatetimeIndex(d))
    return rep, pos


def _draw_sums(M: np.ndarray, pick: np.ndarray, dpos: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Bootstrap sums: M[occurrence, day] at drawn (occurrence, day) positions, per draw."""
    return (M[pick[:, :, None], dpos] * mask).sum(axis=2)


def forecast_campaigns(
    plan: pd.DataFrame,
    history: pd.DataFrame,
    funnel: pd.DataFrame,
    as_of,
    targets_daily: pd.DataFrame | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    coverage: float = 0.8,
) -> pd.DataFrame:
    """Expected sales per planned campaign = visitors × conversion × order value, with a range;
    without traffic data (every funnel day's visitors estimated) = orders × order value.

    Parameters
    ----------
    plan : :func:`campaign_calendar`.
    history : :func:`campaign_history` (past occurrences per series).
    funnel : :func:`daily_funnel` over the history.
    as_of : the analysis date (the visitor growth is measured up to it).
    targets_daily : 02's ``targets_daily`` (``date, target_sales``) or None.
    n_boot, seed : bootstrap draws and seed (deterministic).
    coverage : the range's central probability (0.8 -> 10th to 90th percentile).

    Returns
    -------
    ``plan`` plus ``occurrences`` (past windows learnt from), ``visitors`` (expected, whole
    window), ``conversion``, ``expected_orders`` (visitors × conversion: buyers with traffic
    data, orders without), ``order_value`` (sales per buyer; per order without traffic data),
    ``expected_sales`` (= their product),
    ``sales_low``, ``sales_high``, ``basis`` ("history" or "prior"), ``target_sales`` and
    ``vs_target`` (expected / target - 1).

    Notes
    -----
    For each past occurrence *i* of the series with per-day visitors v_i, the plan's visitors
    are mean_i(v_i × g^(years from i to ``as_of``)) × days, g the shop's year-on-year visitor
    growth (:func:`_visitor_growth`): each past window is brought to today's traffic level and
    no growth is assumed beyond it, so the gap to the target is the growth the plan needs.
    Conversion and order value are pooled over the
    occurrences (Σ buyers / Σ visitors, Σ sales / Σ buyers). A series without history uses the
    last 90 days' funnel with visitors × the node's prior weight.

    Without a traffic table, visitors would be buyers ÷ an assumed conversion rate, a figure
    not in the data: the forecast then learns orders per day and sales per order instead (the
    same method with orders in place of visitors and a conversion of 1), ``visitors`` and
    ``conversion`` are NaN and ``attrs["traffic_measured"]`` is False; the growth applied is
    the growth of orders.
    """
    as_of = pd.Timestamp(as_of).normalize()
    measured = not (
        "visitors_estimated" in funnel and len(funnel) and funnel["visitors_estimated"].all()
    )
    if not measured:  # no traffic data: orders × order value, no invented visitors
        funnel = funnel.assign(visitors=funnel["orders"].astype(float), buyers=funnel["orders"])
    f = funnel.set_index("date")
    days = f.index
    g = _visitor_growth(funnel, as_of)
    hist = history[history["series"].isin(plan["series"])].reset_index(drop=True)
    rep, pos = _window_days(hist, days) if len(hist) else (np.array([], int), np.array([], int))
    ok = pos >= 0
    rep, pos = rep[ok], pos[ok]
    v = f["visitors"].to_numpy()[pos]
    b = f["buyers"].to_numpy(dtype=float)[pos]
    s = f["net_sales"].to_numpy()[pos]
    rng = np.random.default_rng(seed)
    recent = f[(days > as_of - pd.Timedelta(days=90)) & (days <= as_of)]
    base_v = recent["visitors"].mean() if len(recent) else 0.0
    base_cr = recent["buyers"].sum() / max(recent["visitors"].sum(), 1e-9)
    base_aov = recent["net_sales"].sum() / max(recent["buyers"].sum(), 1)
    q = ((1 - coverage) / 2, 1 - (1 - coverage) / 2)
    out = []
    for row in plan.itertuples():
        occ = np.flatnonzero(hist["series"].to_numpy() == row.series)
        occ = occ[np.isin(occ, rep)]
        if len(occ):
            # carried to today's level: no growth is assumed beyond as_of (the target says how
            # much growth the plan needs)
            years = ((as_of - hist.loc[occ, "launch"]).dt.days / 365.25).clip(lower=0).to_numpy()
            adj = g**years
            # per occurrence: the day rows
            idx = [np.flatnonzero(rep == o) for o in occ]
            vi = np.array([v[i].mean() for i in idx])
            vis = float(np.mean(vi * adj)) * row.days
            cr = sum(b[i].sum() for i in idx) / max(sum(v[i].sum() for i in idx), 1e-9)
            aov = sum(s[i].sum() for i in idx) / max(sum(b[i].sum() for i in idx), 1e-9)
            # two-stage bootstrap: occurrences, then days within each drawn occurrence
            m = len(occ)
            pick = rng.integers(0, m, size=(n_boot, m))
            lens = np.array([len(i) for i in idx])
            L = lens.max()
            u = rng.random((n_boot, m, L))
            dpos = np.floor(u * lens[pick][:, :, None]).astype(int)
            mask = np.arange(L)[None, None, :] < lens[pick][:, :, None]
            V = np.zeros((m, L))
            B = np.zeros((m, L))
            S = np.zeros((m, L))
            for j, i in enumerate(idx):
                V[j, : len(i)], B[j, : len(i)], S[j, : len(i)] = v[i], b[i], s[i]
            Vs, Bs, Ss = (_draw_sums(M, pick, dpos, mask) for M in (V, B, S))
            vday = (Vs / lens[pick] * adj[pick]).mean(axis=1)
            boot = (
                vday
                * row.days
                * (Bs.sum(1) / np.maximum(Vs.sum(1), 1e-9))
                * (Ss.sum(1) / np.maximum(Bs.sum(1), 1e-9))
            )
            lo, hi = np.quantile(boot, q)
            basis = "history"
        else:
            vis = base_v * row.weight * row.days
            cr, aov = base_cr, base_aov
            n_recent = len(recent)
            if n_recent:
                draws = rng.integers(0, n_recent, size=(n_boot, n_recent))
                rv = recent["visitors"].to_numpy()[draws]
                rs = recent["net_sales"].to_numpy()[draws]
                boot = rv.mean(1) * row.weight * row.days * rs.sum(1) / np.maximum(rv.sum(1), 1e-9)
                lo, hi = np.quantile(boot, q)
            else:
                lo = hi = 0.0
            basis = "prior"
        exp = vis * cr * aov
        out.append(
            {
                "occurrences": len(occ),
                "visitors": vis if measured else np.nan,
                "conversion": cr if measured else np.nan,
                "expected_orders": vis * cr,
                "order_value": aov,
                "expected_sales": exp,
                "sales_low": min(lo, exp),
                "sales_high": max(hi, exp),
                "basis": basis,
            }
        )
    res = pd.concat([plan.reset_index(drop=True), pd.DataFrame(out)], axis=1)
    res["target_sales"] = np.nan
    if targets_daily is not None and len(targets_daily) and len(plan):
        t = targets_daily.set_index("date")["target_sales"]
        r2, p2 = _window_days(plan, t.index)
        okt = p2 >= 0
        sums = np.bincount(r2[okt], weights=t.to_numpy()[p2[okt]], minlength=len(plan))
        covered = np.bincount(r2[okt], minlength=len(plan))
        n_days = np.bincount(r2, minlength=len(plan))
        # a window running past the targets' last day (the January sales after a fiscal year
        # ending in December) has no target: part of it would be compared with nothing
        res["target_sales"] = np.where((covered > 0) & (covered == n_days), sums, np.nan)
    res["vs_target"] = res["expected_sales"] / res["target_sales"] - 1
    res.attrs["visitor_growth"] = g
    res.attrs["traffic_measured"] = bool(measured)
    return res


def plan_campaigns(
    orders: pd.DataFrame,
    fy: int,
    start_month: int,
    as_of,
    traffic: pd.DataFrame | None = None,
    campaigns: pd.DataFrame | None = None,
    targets_daily: pd.DataFrame | None = None,
    festivals=None,
    conversion_rate: float = 0.03,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The plan year's campaigns with their forecasts, in one call.

    :func:`daily_funnel` → :func:`campaign_history` → :func:`campaign_calendar` →
    :func:`forecast_campaigns`.

    Returns
    -------
    (forecast, history, funnel).
    """
    funnel = daily_funnel(orders, traffic, end=as_of, conversion_rate=conversion_rate)
    history = campaign_history(campaigns, funnel["date"].min(), as_of, festivals)
    plan = campaign_calendar(fy, start_month, as_of, campaigns, festivals)
    forecast = forecast_campaigns(plan, history, funnel, as_of, targets_daily, n_boot, seed)
    return forecast, history, funnel


# --------------------------------------------------------------------------------------------
# targets fallback


def fallback_targets(
    orders: pd.DataFrame, fy: int, start_month: int, ambition: float
) -> pd.DataFrame:
    """Daily targets when notebook 02's are unavailable: last year's same day × (1 + ambition).

    Returns the ``targets_daily`` shape: ``date, fy, half, quarter, month, week,
    target_sales`` (rounded to cents). The same calendar day a year earlier is the reference
    (29 February uses 28 February), so moving holidays such as the Spring Festival are not
    realigned: a documented simplification of 02's seasonal weights.
    """
    days = cal.fiscal_days(fy, start_month)
    ref = days["date"] - pd.DateOffset(years=1)
    s = sales_lines(orders).groupby("day")["net"].sum()
    last = s.reindex(pd.DatetimeIndex(ref)).fillna(0.0).to_numpy()
    out = days[["date", "fy", "half", "quarter", "month", "week"]].copy()
    out["target_sales"] = np.round(last * (1 + ambition), 2)
    return out


def targets_for_year(
    orders: pd.DataFrame,
    fy: int,
    start_month: int,
    as_of,
    ambition: float,
    market_forecast: dict | None = None,
    festivals=None,
    owner: float | None = None,
    damping: float | None = None,
) -> tuple[pd.DataFrame, str]:
    """Daily targets for fiscal year ``fy`` when notebook 02's artifact is not for that year.

    Calls :func:`helpers.analysis.targets.year_targets` explicitly: the method 02 uses (momentum
    baseline × (1 + market growth + ambition), or the owner's ``targets:`` figure), with only
    the data before the year starts (or up to ``as_of``, whichever is earlier). The market
    growth counts only when 01's ``market_forecast`` comes from keyword data.

    Raises
    ------
    helpers.analysis.targets.TargetError
        When there is no sale to set the year's target from; the notebook says so in one
        sentence.

    Returns
    -------
    (targets_daily, source): the ``targets_daily`` shape and ``"owner"`` or ``"year"``.
    """
    from helpers.analysis import targets as tg
    from helpers.core.codes import daily_sales

    first, _ = cal.fiscal_year_bounds(fy, start_month)
    cutoff = min(pd.Timestamp(as_of).normalize(), first - pd.Timedelta(days=1))
    daily = daily_sales(orders[orders["order_time"] < cutoff + pd.Timedelta(days=1)])
    t = tg.year_targets(
        daily, fy, start_month, cutoff, ambition, market_forecast, festivals, owner, damping
    )
    cols = ["date", "fy", "half", "quarter", "month", "week", "target_sales"]
    return t[cols].reset_index(drop=True), "owner" if owner is not None else "year"


def plan_targets(
    orders: pd.DataFrame,
    fy: int,
    start_month: int,
    as_of,
    ambition: float,
    targets_daily: pd.DataFrame | None = None,
    market_forecast: dict | None = None,
    festivals=None,
    owner_targets: dict | None = None,
    damping: float | None = None,
) -> tuple[pd.DataFrame, str]:
    """Daily targets from the day after ``as_of`` to the end of fiscal year ``fy``.

    Fiscal year ``fy`` takes 02's ``targets_daily`` artifact when it is for that year (source
    ``"02"``; 02 already used the owner's target), else :func:`targets_for_year` (with the
    owner's figure from ``owner_targets``, shop.yaml ``targets:``, when set). Days before the
    year starts (the rest of the current fiscal year) take :func:`targets_for_year` of the
    current year, as it would have been set.

    Raises
    ------
    helpers.analysis.targets.TargetError
        From :func:`targets_for_year`.

    Returns
    -------
    (targets, source): the ``targets_daily`` shape and where the plan year's targets came from.
    """
    owners = owner_targets or {}
    as_of = pd.Timestamp(as_of).normalize()
    if targets_daily is not None and len(targets_daily) and (targets_daily["fy"] == fy).any():
        t, source = targets_daily[targets_daily["fy"] == fy], "02"
    else:
        t, source = targets_for_year(
            orders,
            fy,
            start_month,
            as_of,
            ambition,
            market_forecast,
            festivals,
            owners.get(fy),
            damping,
        )
    first, _ = cal.fiscal_year_bounds(fy, start_month)
    if as_of + pd.Timedelta(days=1) < first:
        cur, _ = targets_for_year(
            orders,
            fy - 1,
            start_month,
            as_of,
            ambition,
            market_forecast,
            festivals,
            owners.get(fy - 1),
            damping,
        )
        t = pd.concat([cur[cur["date"] > as_of], t], ignore_index=True)
    return t.reset_index(drop=True), source


def watchlist_for(
    orders: pd.DataFrame, products: pd.DataFrame | None, traffic: pd.DataFrame | None, as_of
) -> pd.DataFrame | None:
    """03's hot watchlist computed through :mod:`helpers.analysis.products` (None when it cannot)."""
    try:
        from helpers.analysis import products as pm

        cat = pm.product_catalogue(orders, products, as_of)
        hot = pm.hot_tendency(pm.daily_product_sales(orders, cat), cat, as_of, traffic)
        return hot[hot["flag"]].reset_index(drop=True)
    except (KeyError, ValueError):  # a table 03 needs is missing: heroes from top sellers
        return None


# --------------------------------------------------------------------------------------------
# heroes and stock


def _recent_product_sales(orders: pd.DataFrame, as_of, window_days: int) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of).normalize()
    s = product_lines(sales_lines(orders))[["day", "product_id", "title", "net", "quantity"]]
    s = s[(s["day"] > as_of - pd.Timedelta(days=window_days)) & (s["day"] <= as_of)]
    k, ids = _keyed(s, "product_id", ["title", "net", "quantity"])
    g = k.groupby("product_id")
    out = pd.DataFrame(
        {
            "title": g["title"].last(),
            "net_sales": g["net"].sum(),
            "units": g["quantity"].sum(),
        }
    )
    out.index = ids[out.index.to_numpy()]
    out["share"] = out["net_sales"] / max(out["net_sales"].sum(), 1e-9)
    out["unit_net"] = out["net_sales"] / out["units"].where(out["units"] > 0)
    return out


def hero_group(
    orders: pd.DataFrame,
    as_of,
    product_scores: pd.DataFrame | None = None,
    hot_watchlist: pd.DataFrame | None = None,
    n: int = 5,
    n_hot: int = 2,
    window_days: int = 90,
) -> pd.DataFrame:
    """The year's hero group: few products, fully backed (an inch wide, a kilometre deep).

    Parameters
    ----------
    orders : canonical orders.
    as_of : analysis date.
    product_scores, hot_watchlist : notebook 03's artifacts, or None.
    n : heroes in the group.
    n_hot : how many of them come from the top of the hot watchlist (爆款倾向).
    window_days : the recent window sales are measured over.

    Returns
    -------
    DataFrame ``product_id, title, reason`` ("hot"; "hot_thin" when 03 found its evidence
    thin: few orders or days on sale; or "top"), ``net_sales, units, share,
    unit_net`` (over the window). Without 03's artifacts: the top ``n`` by net sales (products
    with a ``declining`` life cycle in ``product_scores`` are passed over).
    """
    rec = _recent_product_sales(orders, as_of, window_days)
    rec = rec[rec["units"] > 0]
    ranked = rec.reset_index().sort_values(
        ["net_sales", "product_id"], ascending=[False, True], kind="stable"
    )
    picks: list[tuple[str, str]] = []
    if hot_watchlist is not None and len(hot_watchlist):
        hw = hot_watchlist
        if "flag" in hw:
            hw = hw[hw["flag"].fillna(False).astype(bool)]
        rank = next((c for c in ("watch_rank", "rank") if c in hw), None)
        if rank:
            hw = hw.sort_values([rank, "product_id"], kind="stable")
        elif "hot_score" in hw:
            hw = hw.sort_values(["hot_score", "product_id"], ascending=[False, True], kind="stable")
        thin = (
            set(hw.loc[hw["evidence"] == "thin", "product_id"].astype(str))
            if "evidence" in hw
            else set()
        )
        for pid in hw["product_id"].astype(str):
            if len(picks) >= n_hot:
                break
            if pid in rec.index:
                picks.append((pid, "hot_thin" if pid in thin else "hot"))
    skip = set()
    if product_scores is not None and "lifecycle" in product_scores:
        skip = set(product_scores.loc[product_scores["lifecycle"] == "declining", "product_id"])
    for pid in ranked["product_id"]:
        if len(picks) >= n:
            break
        if pid not in skip and pid not in {p for p, _ in picks}:
            picks.append((pid, "top"))
    heroes = pd.DataFrame(picks, columns=["product_id", "reason"])
    return heroes.merge(rec.reset_index(), on="product_id", how="left")[
        ["product_id", "title", "reason", "net_sales", "units", "share", "unit_net"]
    ]


def hero_forecast(
    forecast: pd.DataFrame,
    heroes: pd.DataFrame,
    orders: pd.DataFrame,
    history: pd.DataFrame,
    as_of,
    clearance: pd.DataFrame | None = None,
    window_days: int = 90,
) -> pd.DataFrame:
    """Units each campaign's heroes are expected to sell.

    A campaign that lists its own products (``product_ids``) backs those; a clearance campaign
    backs the clearance candidates; every other campaign backs the year's hero group. A hero's
    share of the campaign's sales is the larger of its recent share (``window_days``) and its
    share in the series' past windows: erring towards more stock, because online must never run
    out. Units = expected sales × share / the hero's recent net sales per unit.

    Returns
    -------
    DataFrame ``campaign_id, product_id, title, share, unit_net, units, units_low,
    units_high``, one row per campaign × hero.
    """
    rec = _recent_product_sales(orders, as_of, window_days)
    # one pass over the lines: net sales per product and day, totals per product
    lines, pids = _keyed(
        product_lines(sales_lines(orders)), "product_id", ["day", "title", "net", "quantity"]
    )
    dp = lines.groupby(["day", "product_id"], sort=True)["net"].sum()
    dp.index = dp.index.set_levels(pids[dp.index.levels[1].to_numpy()], level="product_id")
    day_of = dp.index.get_level_values("day")
    sale_days = pd.DatetimeIndex(np.sort(day_of.unique()))
    g = lines.groupby("product_id")
    all_price = g["net"].sum() / g["quantity"].sum().where(lambda q: q > 0)
    all_title = g["title"].last()
    all_price.index = all_title.index = pids[all_title.index.to_numpy()]
    rows = []
    hero_ids = heroes["product_id"].tolist()
    clear_ids = (
        clearance["product_id"].tolist()[: len(hero_ids) or 5] if clearance is not None else []
    )
    for c in forecast.itertuples():
        own = [p for p in str(c.product_ids or "").split(";") if p]
        ids = own or (clear_ids if c.type == "clearance" else hero_ids)
        if not ids:
            continue
        past = history[history["series"] == c.series]
        share_past = pd.Series(0.0, index=ids)
        if len(past):
            _, pos = _window_days(past, sale_days)
            w = dp[day_of.isin(sale_days[pos[pos >= 0]])]
            tot = w.sum()
            if tot > 0:
                share_past = (w.groupby(level="product_id").sum() / tot).reindex(ids).fillna(0.0)
        share_rec = rec["share"].reindex(ids).fillna(0.0)
        share = np.maximum(share_rec.to_numpy(), share_past.to_numpy())
        unit_net = rec["unit_net"].reindex(ids).fillna(all_price.reindex(ids)).to_numpy()
        title = rec["title"].reindex(ids).fillna(all_title.reindex(ids)).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(unit_net > 0, share / unit_net, 0.0)
        rows.append(
            pd.DataFrame(
                {
                    "campaign_id": c.campaign_id,
                    "product_id": ids,
                    "title": title,
                    "share": share,
                    "unit_net": unit_net,
                    "units": np.ceil(c.expected_sales * per),
                    "units_low": np.ceil(c.sales_low * per),
                    "units_high": np.ceil(c.sales_high * per),
                }
            )
        )
    cols = [
        "campaign_id",
        "product_id",
        "title",
        "share",
        "unit_net",
        "units",
        "units_low",
        "units_high",
    ]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


def with_heroes(
    forecast: pd.DataFrame,
    heroes: pd.DataFrame,
    orders: pd.DataFrame,
    history: pd.DataFrame,
    as_of,
    clearance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``forecast`` plus ``heroes`` (';'-joined product ids each campaign backs, as
    :func:`hero_forecast` picks them) and ``hero_units`` (their expected units)."""
    units = hero_forecast(forecast, heroes, orders, history, as_of, clearance)
    if units.empty:
        return forecast.assign(heroes="", hero_units=0.0)
    g = units.groupby("campaign_id", sort=False)
    ids = g["product_id"].agg(";".join)
    return forecast.assign(
        heroes=forecast["campaign_id"].map(ids).fillna(""),
        hero_units=forecast["campaign_id"].map(g["units"].sum()).fillna(0.0),
    )


def stock_events(
    fy: int,
    start_month: int,
    as_of,
    campaigns: pd.DataFrame | None = None,
    festival_overrides=None,
) -> pd.DataFrame:
    """The events stock is planned against, shared by 03 and 05: :func:`campaign_calendar`
    without clearance campaigns (they sell stock down). ``campaign_id, series, name_zh,
    name_en, type, source, launch, end, weight``."""
    c = campaign_calendar(fy, start_month, as_of, campaigns, festival_overrides)
    c = c[c["type"] != "clearance"]
    cols = ["campaign_id", "series", "name_zh", "name_en", "type", "source", "launch", "end"]
    return c[[*cols, "weight"]].reset_index(drop=True)


def hero_stock(plan_rows: pd.DataFrame, heroes: pd.DataFrame) -> pd.DataFrame:
    """The heroes' rows of the shared stock model (:func:`helpers.analysis.products.festival_stock_plan`),
    with ``campaign_id`` (= ``event``) and ``campaign_units`` (= ``event_units``), sorted by
    launch: the stock check behind 05's table and its reorder tasks."""
    ids = heroes["product_id"].astype(str).tolist()
    h = plan_rows[plan_rows["product_id"].astype(str).isin(ids)]
    h = h.assign(campaign_id=h["event"], campaign_units=h["event_units"])
    return h.sort_values(["launch", "campaign_id", "product_id"], kind="stable").reset_index(
        drop=True
    )


def stock_summary(check: pd.DataFrame) -> pd.DataFrame:
    """Per hero over the plan: stock, campaign units, reorders and the first reorder.

    Returns ``product_id, title, stock, safety_stock, campaigns, campaign_units, first_campaign``
    (the first campaign it must be restocked for), ``first_reorder_qty``, ``first_order_by``
    (that reorder's latest order date), ``reorder_qty`` (all reorders), ``reorders``,
    ``status`` (the worst: too_late > reorder > no_stock_data > ok), sorted by first order date.
    """
    cols = [
        "product_id",
        "title",
        "stock",
        "safety_stock",
        "campaigns",
        "campaign_units",
        "first_campaign",
        "first_reorder_qty",
        "first_order_by",
        "reorder_qty",
        "reorders",
        "status",
    ]
    if check.empty:
        return pd.DataFrame(columns=cols)
    rank = {"ok": 0, "no_stock_data": 1, "reorder": 2, "too_late": 3}
    c = check.assign(_r=check["status"].map(rank), _need=check["reorder_qty"] > 0)
    g = c.groupby("product_id", sort=True)
    first = (
        c[c["_need"]]
        .sort_values(["end", "launch", "campaign_id"], kind="stable")
        .groupby("product_id")
        .first()
    )
    out = pd.DataFrame(
        {
            "title": g["title"].first(),
            "stock": g["stock"].first(),
            "safety_stock": g["safety_stock"].first(),
            "campaigns": g["campaign_id"].nunique(),
            "campaign_units": g["campaign_units"].sum(),
            "first_campaign": first["campaign_id"],
            "first_reorder_qty": first["reorder_qty"],
            "first_order_by": first["latest_order_date"],
            "reorder_qty": g["reorder_qty"].sum(),
            "reorders": g["_need"].sum(),
            "_r": g["_r"].max(),
        }
    )
    out["status"] = out["_r"].map({v: k for k, v in rank.items()})
    out = out.reset_index().sort_values(["first_order_by", "product_id"], kind="stable")
    return out[cols].reset_index(drop=True)


def gross_margin(
    orders: pd.DataFrame,
    products: pd.DataFrame | None,
    default: float,
    as_of=None,
    window_days: int = 365,
) -> float:
    """The shop's gross margin over the last ``window_days``: 1 - cost of goods / net sales.

    Lines whose product has no cost are left out; ``default`` (``assumptions.gross_margin``)
    when no line has a cost.
    """
    if products is None or products.empty or products["cost"].isna().all():
        return float(default)
    s = sales_lines(orders)
    s = s[["day", "product_id", "net", "paid_amount", "quantity"]]
    if as_of is not None:
        as_of = pd.Timestamp(as_of).normalize()
        s = s[(s["day"] > as_of - pd.Timedelta(days=window_days)) & (s["day"] <= as_of)]
    # each product's cost, looked up once per product rather than once per line
    codes, ids = factorize(s["product_id"])
    lookup = products.drop_duplicates("product_id").set_index("product_id")["cost"]
    unit_cost = pd.Series(ids, dtype=object).map(lookup).to_numpy(dtype=float)
    cost = pd.Series(np.append(unit_cost, np.nan)[codes], index=s.index)  # -1: no product id
    has = cost.notna() & (s["paid_amount"] > 0)
    net = s.loc[has, "net"].sum()
    if net <= 0:
        return float(default)
    kept = (s.loc[has, "net"] / s.loc[has, "paid_amount"]).clip(0, 1)
    cogs = (cost[has] * s.loc[has, "quantity"] * kept).sum()
    return float(1 - cogs / net)


# --------------------------------------------------------------------------------------------
# marketing levers


def threshold_curve(
    baskets,
    candidates,
    band: float = 0.2,
    take_up: float = 0.3,
    discount_rate: float = 0.1,
    cost_per_order: float | None = None,
    gross_margin: float = 0.35,
) -> pd.DataFrame:
    """What a spend-X threshold does to a basket-value distribution, per candidate X.

    Model: a basket of value v in the band [X·(1 - band), X) tops up to X with probability
    ``take_up`` (extra sales X - v); baskets already at or above X qualify anyway. The offer
    costs Y on every qualifying basket, Y = round(discount_rate × X) (满减: spend X, save Y)
    unless ``cost_per_order`` gives a fixed cost (free shipping).

    Returns
    -------
    DataFrame ``spend_x`` (the threshold X), ``save_y`` (the discount Y), ``near`` (baskets in
    the band), ``lifted`` (= take_up ×
    near), ``extra_sales`` (= take_up × Σ(X - v) over the band), ``qualifying`` (baskets ≥ X
    before the offer), ``cost`` (= save_y × (qualifying + lifted)), ``cost_per_extra`` (cost /
    extra sales) and ``margin_effect`` (= gross_margin × extra_sales - cost).
    """
    v = np.sort(np.asarray(baskets, dtype=float))
    x = np.asarray(candidates, dtype=float)
    cs = np.concatenate([[0.0], np.cumsum(v)])
    lo = np.searchsorted(v, x * (1 - band), side="left")
    hi = np.searchsorted(v, x, side="left")
    near = hi - lo
    below_sum = cs[hi] - cs[lo]
    extra = take_up * (near * x - below_sum)
    qualifying = len(v) - hi
    lifted = take_up * near
    y = np.round(discount_rate * x) if cost_per_order is None else np.full(len(x), cost_per_order)
    cost = y * (qualifying + lifted)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpe = np.where(extra > 0, cost / extra, np.nan)
    return pd.DataFrame(
        {
            "spend_x": x,
            "save_y": y,
            "near": near.astype(int),
            "lifted": lifted,
            "extra_sales": extra,
            "qualifying": qualifying.astype(int),
            "cost": cost,
            "cost_per_extra": cpe,
            "margin_effect": gross_margin * extra - cost,
        }
    )


def _round_points(lo: float, hi: float) -> np.ndarray:
    """Round price points in [lo, hi]: steps of 10 below 200, 50 below 1000, then 100."""
    lo, hi = max(lo, 10.0), max(hi, 10.0)
    pts = np.concatenate(
        [np.arange(10, 200, 10), np.arange(200, 1000, 50), np.arange(1000, 20001, 100)]
    )
    pts = pts[(pts >= lo) & (pts <= hi)]
    return pts.astype(float) if len(pts) else np.array([float(np.ceil(hi / 10) * 10)])


def threshold_suggestion(
    baskets,
    candidates=None,
    band: float = 0.2,
    take_up: float = 0.3,
    discount_rate: float = 0.1,
    gross_margin: float = 0.35,
) -> tuple[pd.DataFrame, dict]:
    """The 满减 threshold that costs least per unit of extra sales, and what it costs.

    Parameters
    ----------
    baskets : order values (:func:`helpers.core.codes.order_values`).
    candidates : thresholds to try (default: round price points from the median to the 95th
        percentile basket).
    band, take_up, discount_rate, gross_margin : see :func:`threshold_curve`.

    Returns
    -------
    (curve, best): the :func:`threshold_curve` table and, as a dict, the row with the lowest
    discount cost per unit of extra sales (ties: more lifted baskets, then the lower threshold)
    — the figure the page shows, so the suggestion follows from it — plus ``baskets``,
    ``median_basket``, ``efficient_threshold`` / ``efficient_cost_per_extra`` (the same row)
    and ``lever``: ``standing`` when the offer pays for itself through top-ups
    (``margin_effect`` ≥ 0), else ``campaign_only`` (no standing 满减: the lift has to come
    from a campaign's traffic or from mechanisms whose cost falls only on the extra units).
    """
    v = np.asarray(baskets, dtype=float)
    v = v[v > 0]
    if candidates is None:
        candidates = _round_points(np.quantile(v, 0.5), np.quantile(v, 0.95))
    curve = threshold_curve(v, candidates, band, take_up, discount_rate, None, gross_margin)
    order = curve.assign(_c=curve["cost_per_extra"].fillna(np.inf))
    best = order.sort_values(
        ["_c", "lifted", "spend_x"], ascending=[True, False, True], kind="stable"
    )
    best = best.drop(columns="_c").iloc[0].to_dict()
    best.update(
        baskets=len(v),
        median_basket=float(np.median(v)),
        efficient_threshold=float(best["spend_x"]),
        efficient_cost_per_extra=float(best["cost_per_extra"]),
        lever="standing" if best["margin_effect"] >= 0 else "campaign_only",
    )
    return curve, best


def free_shipping_threshold(
    baskets,
    shipping_cost: float = 8.0,
    candidates=None,
    band: float = 0.2,
    take_up: float = 0.3,
    gross_margin: float = 0.35,
) -> tuple[pd.DataFrame, dict]:
    """The free-shipping threshold with the best margin effect (shop pays ``shipping_cost``).

    Same lift model as :func:`threshold_curve` with a fixed cost per qualifying order (the
    shipping the shop now pays). Candidates default to round price points from the median to
    the 75th percentile basket: a threshold meant to nudge typical baskets up, not to reward
    the largest ones. ``best["margin_effect"]`` below zero means free shipping does not pay for
    itself through bigger baskets at any of them (``lever`` ``costly``; else
    ``threshold_pays``); ``below`` / ``below_cost``: baskets under the threshold and the
    shipping the shop pays on them when everything ships free.
    """
    v = np.asarray(baskets, dtype=float)
    v = v[v > 0]
    if candidates is None:
        candidates = _round_points(np.quantile(v, 0.5), np.quantile(v, 0.75))
    curve = threshold_curve(v, candidates, band, take_up, 0.0, shipping_cost, gross_margin)
    best = curve.sort_values(["margin_effect", "spend_x"], ascending=[False, True], kind="stable")
    best = best.iloc[0].to_dict()
    below = v < best["spend_x"]
    best.update(
        baskets=len(v),
        median_basket=float(np.median(v)),
        below=int(below.sum()),
        below_cost=float(below.sum() * shipping_cost),
        lever=("threshold_pays" if best["margin_effect"] >= 0 else "costly"),
    )
    return curve, best


def new_customer_offer(
    orders: pd.DataFrame, as_of, window_days: int = 365, repeat_days: int = 90, n: int = 5
) -> tuple[pd.DataFrame, dict]:
    """Entry products of new customers and the offer a first order needs.

    Looks at customers whose first purchase falls in the last ``window_days`` (and at least
    ``repeat_days`` before ``as_of`` for the repeat rate). Entry products are the products of
    those first orders, ranked by new customers brought; ``repeat_rate`` is the share of those
    customers who bought again within ``repeat_days``.

    Returns
    -------
    (entry, summary): ``entry`` has ``product_id, title, entry_customers, share, repeat_rate,
    first_order_value``; ``summary`` has ``new_customers, new_share`` (of buyers in the window),
    ``first_order_median``, ``repeat_rate``, ``coupon_threshold`` (the round price point at or
    above the median first order) and ``coupon`` (5% of it, rounded, at least 5).
    """
    as_of = pd.Timestamp(as_of).normalize()
    s = sales_lines(orders)
    known = s["customer_id"].notna().to_numpy() & ~s["is_return"].to_numpy()  # purchases
    cust, order = line_codes(s)[0][known], line_codes(s, "order_id")[0][known]  # shared
    s = s.loc[known, ["product_id", "title", "day", "net", "order_time"]]  # what is read below
    cols = ["product_id", "title", "entry_customers", "share", "repeat_rate", "first_order_value"]
    if s.empty:
        return pd.DataFrame(columns=cols), {}
    # one row per (customer, order), keyed by integer codes in id order: groups, sums and
    # the sort below come out as they would on the ids themselves
    cust, order = subset_codes(cust, sort=True), subset_codes(order, sort=True)
    ok = order >= 0
    c, k = cust[ok], order[ok]
    # pairs numbered in (customer, order) order, as grouping on the two ids numbers them
    pair = factorize(c.astype(np.int64) * (order.max() + 1) + k, sort=True)[0]
    n_pairs = int(pair.max()) + 1 if len(pair) else 0
    who, which = np.empty(n_pairs, np.intp), np.empty(n_pairs, np.intp)
    who[pair], which[pair] = c, k
    o = pd.DataFrame(
        {
            "k": which,
            "day": _group_min(pair, n_pairs, s["day"].to_numpy()[ok]),
            "value": s["net"][ok].groupby(pair).sum().to_numpy(),  # pandas' sum, same rounding
            "t": _group_min(pair, n_pairs, s["order_time"].to_numpy()[ok]),
        }
    )
    # each customer's first and second order in time (ties: the lower order id)
    head, nxt = _first_two(who, o["t"].to_numpy())
    has_second = nxt >= 0
    first = o.iloc[head].reset_index(drop=True)
    second = pd.Series(np.where(has_second, o["day"].to_numpy()[nxt], np.datetime64("NaT")))
    start = as_of - pd.Timedelta(days=window_days)
    is_new = ((first["day"] > start) & (first["day"] <= as_of)).to_numpy()
    new = first[is_new]
    gap = (second[is_new].to_numpy() - new["day"].to_numpy()) / np.timedelta64(1, "D")
    new = new.assign(
        repeat=gap <= repeat_days,
        mature=(new["day"] <= as_of - pd.Timedelta(days=repeat_days)).to_numpy(),
    )
    in_window = ((s["day"] > start) & (s["day"] <= as_of)).to_numpy()
    buyers = len(pd.unique(cust[in_window]))
    # the lines of those first orders (order codes stand for the order ids)
    fl = (
        s[["product_id", "title"]]
        .reset_index(drop=True)
        .assign(k=order, c=cust)
        .merge(new[["k", "repeat", "mature", "value"]], on="k")
    )
    g = fl.groupby("product_id")
    entry = pd.DataFrame(
        {
            "title": g["title"].last(),
            "entry_customers": g["c"].nunique(),
            "repeat_rate": fl[fl["mature"]].groupby("product_id")["repeat"].mean(),
            "first_order_value": g["value"].median(),
        }
    ).reset_index()
    entry["share"] = entry["entry_customers"] / max(len(new), 1)
    entry = entry.sort_values(
        ["entry_customers", "product_id"], ascending=[False, True], kind="stable"
    )
    med = float(new["value"].median()) if len(new) else float("nan")
    pts = _round_points(med, med * 2) if len(new) else np.array([np.nan])
    summary = {
        "new_customers": int(len(new)),
        "new_share": len(new) / max(buyers, 1),
        "first_order_median": med,
        "repeat_rate": float(new.loc[new["mature"], "repeat"].mean())
        if new["mature"].any()
        else float("nan"),
        "coupon_threshold": float(pts[0]),
        "coupon": float(max(5.0, np.round(0.05 * pts[0]))) if len(new) else float("nan"),
    }
    return entry[cols].head(n).reset_index(drop=True), summary


def clearance_candidates(
    orders: pd.DataFrame,
    products: pd.DataFrame | None,
    as_of,
    window_days: int = 90,
    min_cover_days: float = 180,
    gross_margin: float = 0.35,
) -> pd.DataFrame:
    """Slow movers with stock: cover (stock / daily units over the window) ≥ ``min_cover_days``.

    Returns
    -------
    DataFrame ``product_id, title, stock, units, cover_days, stock_value`` (stock × cost, or
    × price × (1 - gross_margin) when cost is missing) ``, last_sale, markdown`` (suggested discount:
    30% from a year of cover, else 20%), sorted by stock value. A product that sold nothing in
    the window has infinite cover, shown as NaN ``cover_days``.
    """
    cols = [
        "product_id",
        "title",
        "stock",
        "units",
        "cover_days",
        "stock_value",
        "last_sale",
        "markdown",
    ]
    if products is None or products.empty or products["stock"].isna().all():
        return pd.DataFrame(columns=cols)
    as_of = pd.Timestamp(as_of).normalize()
    rec = _recent_product_sales(orders, as_of, window_days)
    lines = sales_lines(orders)
    lines = lines[~lines["is_return"].to_numpy()] if lines["is_return"].any() else lines
    last_sale = lines[lines["day"] <= as_of].groupby("product_id")["day"].max()
    p = products[products["stock"].fillna(0) > 0].copy()
    units = rec["units"].reindex(p["product_id"]).fillna(0).to_numpy()
    daily = units / window_days
    with np.errstate(divide="ignore"):
        cover = np.where(daily > 0, p["stock"].to_numpy() / daily, np.inf)
    unit_cost = p["cost"].fillna(p["price"] * (1 - gross_margin)).to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "product_id": p["product_id"].to_numpy(),
            "title": p["title"].to_numpy(),
            "stock": p["stock"].to_numpy(dtype=float),
            "units": units,
            "cover_days": cover,
            "stock_value": p["stock"].to_numpy(dtype=float) * np.nan_to_num(unit_cost),
            "last_sale": last_sale.reindex(p["product_id"]).to_numpy(),
        }
    )
    out = out[out["cover_days"] >= min_cover_days]
    out["markdown"] = np.where(out["cover_days"] >= 365, 0.3, 0.2)
    out["cover_days"] = out["cover_days"].replace(np.inf, np.nan)
    out = out.sort_values(["stock_value", "product_id"], ascending=[False, True], kind="stable")
    return out[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# execution plan (执行案)


@cache
def _templates_file(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def load_templates(path: str | Path | None = None) -> dict:
    """The execution templates (``helpers/data_files/execution_templates.yaml`` by default).

    Raises ``ValueError`` naming the template and task when a role or anchor is unknown or a
    task is due before it starts.
    """
    raw = _templates_file(str(path or TEMPLATES_FILE))
    for name, t in raw["templates"].items():
        for i, task in enumerate(t["tasks"]):
            where = f"execution template '{name}' task {i + 1}"
            if task["role"] not in raw["roles"]:
                raise ValueError(f"{where}: unknown role {task['role']!r}")
            if task.get("anchor", "launch") not in ANCHORS:
                raise ValueError(f"{where}: anchor must be one of {', '.join(ANCHORS)}")
            if task.get("due_anchor", task.get("anchor", "launch")) not in ANCHORS:
                raise ValueError(f"{where}: due_anchor must be one of {', '.join(ANCHORS)}")
            if "due_anchor" not in task and task["due"] < task["start"]:
                raise ValueError(f"{where}: due ({task['due']}) before start ({task['start']})")
            if task.get("market", "all") not in ("all", "cn", "west"):
                raise ValueError(f"{where}: market must be cn, west or all")
    return raw


def _template_name(
    types: pd.Series, weights: pd.Series, templates: dict, series: pd.Series | None = None
) -> pd.Series:
    names = templates["templates"]
    major = float(templates.get("major_weight", 2.0))
    t = types.fillna("default").astype(str)
    out = np.where(t.isin(list(names)), t, "default")
    out = np.where(
        (t == "festival") & (weights >= major) & ("major_festival" in names), "major_festival", out
    )
    if series is not None:  # a template named after the event itself (christmas) comes first
        own = series.astype(str).isin(list(names)) & (t == "festival")
        out = np.where(own, series.astype(str), out)
    return pd.Series(out, index=types.index, dtype=object)


def execution_plan(
    plan: pd.DataFrame,
    as_of,
    owners: dict | None = None,
    templates: dict | None = None,
    reorders: pd.DataFrame | None = None,
    calendar=None,
    reorder_label: str | None = None,
) -> pd.DataFrame:
    """Tasks per campaign with an owner role, owner and start/due dates counted back from it.

    Parameters
    ----------
    plan : :func:`campaign_calendar` (or the forecast built on it).
    as_of : analysis date; sets each task's status.
    owners : ``shop.yaml`` ``owners``: role key (``ops``) or role name (``运营``) → person.
    templates : :func:`load_templates` (default file).
    calendar : the shop's :class:`helpers.core.calendar.MarketCalendar` (None: CN). Tasks marked
        ``market: cn`` (platform sign-up, 直通车) are for CN shops only, ``market: west`` for
        the others; a campaign on an event with its own template (``christmas``: deadlines
        counted back from the last shipping day) uses it.
    reorders : :func:`hero_stock` rows; each ``reorder``/``too_late`` row adds a
        warehouse task due on its latest order date, worded ``reorder_label`` (the notebook's
        catalogue text, in the report's language), else the templates' ``reorder_zh`` /
        ``reorder_en``.

    Returns
    -------
    DataFrame ``campaign_id, campaign, task, role, owner, start, due, days, status, role_key``
    sorted by due date, the words in both languages (``campaign_zh``/``campaign_en`` and so
    on; :func:`helpers.present.narrative.in_language` keeps the report's). Each template task's dates are its ``anchor`` day (launch = first day including
    pre-sale, start, peak or end) plus its ``start``/``due`` offsets in days. Status: ``late``
    (due by ``as_of``), ``start_now`` (started by ``as_of``) or ``planned``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    templates = templates or load_templates()
    roles = templates["roles"]
    owners = owners or {}
    words = [f"{c}_{lang}" for c in ("campaign", "task", "role", "owner") for lang in ("zh", "en")]
    cols = [
        "campaign_id",
        *words,
        "start",
        "due",
        "days",
        "status",
        "role_key",
    ]
    if plan.empty:
        return pd.DataFrame(columns=cols)
    tname = _template_name(plan["type"], plan["weight"], templates, plan.get("series"))
    group = "cn" if cal.as_calendar(calendar).is_cn else "west"
    task_rows = []
    for name, t in templates["templates"].items():
        tt = pd.DataFrame([k for k in t["tasks"] if k.get("market", "all") in ("all", group)])
        if tt.empty:
            continue
        tt["anchor"] = tt.get("anchor", pd.Series("launch", index=tt.index)).fillna("launch")
        tt["due_anchor"] = tt.get("due_anchor", tt["anchor"]).fillna(tt["anchor"])
        tt = tt.rename(columns={"start": "start_off", "due": "due_off"})
        tt["template"] = name
        tt["order"] = np.arange(len(tt))
        task_rows.append(tt)
    tasks = pd.concat(task_rows, ignore_index=True)
    p = plan.assign(
        template=tname.to_numpy(),
        campaign_zh=plan["name_zh"].to_numpy(),
        campaign_en=plan["name_en"].to_numpy(),
    )
    x = p[
        ["campaign_id", "campaign_zh", "campaign_en", "template", "launch", "start", "peak", "end"]
    ].merge(tasks, on="template", how="inner")
    anchor = np.select(
        [x["anchor"] == a for a in ANCHORS], [x[a] for a in ANCHORS], default=x["launch"]
    )
    anchor = pd.to_datetime(anchor)
    due_anchor = pd.to_datetime(
        np.select(
            [x["due_anchor"] == a for a in ANCHORS], [x[a] for a in ANCHORS], default=x["launch"]
        )
    )
    out = pd.DataFrame(
        {
            "campaign_id": x["campaign_id"],
            "campaign_zh": x["campaign_zh"],
            "campaign_en": x["campaign_en"],
            "task_zh": x["zh"] if "zh" in x else x["en"],
            "task_en": x["en"],
            "role_key": x["role"],
            "start": anchor + pd.to_timedelta(x["start_off"], unit="D"),
            "due": due_anchor + pd.to_timedelta(x["due_off"], unit="D"),
            "order": x["order"],
        }
    )
    if reorders is not None and len(reorders):
        r = reorders[reorders["status"].isin(["reorder", "too_late"])]
        r = r.merge(p[["campaign_id", "campaign_zh", "campaign_en"]], on="campaign_id", how="left")
        what = [
            f"{t} ({pid}) × {int(q):,}"
            for t, pid, q in zip(r["title"].fillna(""), r["product_id"], r["reorder_qty"])
        ]
        word = {
            lang: reorder_label or roles["warehouse"].get("reorder_" + lang) or "reorder"
            for lang in ("zh", "en")
        }
        extra = pd.DataFrame(
            {
                "campaign_id": r["campaign_id"],
                "campaign_zh": r["campaign_zh"],
                "campaign_en": r["campaign_en"],
                "task_zh": [f"{word['zh']}: {w}" for w in what],
                "task_en": [f"{word['en']}: {w}" for w in what],
                "role_key": "warehouse",
                "start": r["latest_order_date"] - pd.Timedelta(days=7),
                "due": r["latest_order_date"],
                "order": -1,
            }
        )
        out = pd.concat([out, extra], ignore_index=True)
    for lang in ("zh", "en"):
        out[f"role_{lang}"] = out["role_key"].map(lambda k, g=lang: roles[k].get(g, roles[k]["en"]))
    by_key = {
        k: owners.get(k) or owners.get(roles[k]["zh"]) or owners.get(roles[k]["en"]) for k in roles
    }
    person = out["role_key"].map(by_key)
    out["owner_zh"], out["owner_en"] = person.fillna(out["role_zh"]), person.fillna(out["role_en"])
    out["days"] = (out["due"] - out["start"]).dt.days + 1
    out["status"] = np.select(
        [out["due"] <= as_of, out["start"] <= as_of], ["late", "start_now"], "planned"
    )
    out = out.sort_values(["due", "start", "campaign_id", "order"], kind="stable")
    return out[cols].reset_index(drop=True)


def basket_values(orders: pd.DataFrame, as_of, window_days: int = 365) -> pd.Series:
    """Order values of the last ``window_days`` (the distribution 满减 is set against)."""
    as_of = pd.Timestamp(as_of).normalize()
    s = sales_lines(orders)
    recent = ((s["day"] > as_of - pd.Timedelta(days=window_days)) & (s["day"] <= as_of)).to_numpy()
    # order_values(orders) over the orders seen in the window, grouped on integer codes
    codes, ids = line_codes(s, "order_id")  # shared: the ids are not hashed again
    ok = codes >= 0
    value = pd.Series(s["net"].to_numpy()[ok]).groupby(codes[ok]).sum()
    seen = pd.unique(codes[recent & ok])
    v = pd.Series(value.to_numpy()[seen], index=pd.Index(ids[seen], name="order_id"), name="net")
    return v[v > 0]
