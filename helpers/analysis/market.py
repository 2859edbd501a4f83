"""Market positioning (定位市场, 人群定位): how big the market is, where it is going, who buys.

**Market size** of a keyword in a month (the article's 市场容积)::

    market_size = search_volume × click_rate × conversion_rate × order_value

``click_rate``, ``conversion_rate`` and ``order_value`` come, for each row, from the first
source that has them (:func:`fallback_rates`, the ``*_source`` columns say which):

1. the keywords table itself (``click_rate``, ``conversion_rate``, ``avg_price``: the market's
   own figures, e.g. 生意参谋 市场行情);
2. the shop's own data over its last 365 days: click rate = clicks / impressions and
   conversion = buyers / visitors from whole-shop traffic rows; order value = mean net order
   value (:func:`helpers.core.codes.order_values`) unless shop.yaml sets ``avg_order_value``;
3. shop.yaml ``assumptions`` (``click_rate``, ``conversion_rate``).

**Growth** is year-on-year growth of each complete fiscal quarter against the same quarter a
year earlier, like for like (only keywords complete in both quarters count), so seasonality
cancels and a quarter gives one observation (the article: 年度、季度流量总和). The growth range
is ``mean ± one standard deviation`` of those observations (:func:`growth_range`).

**Next year's market**, as the article says (再取个均值，再加上涨幅的均值): the mean of the
complete fiscal years' market plus the mean growth, ``mean_year × (1 + growth_mean)``, shown
with ``low``/``high`` from the growth range — never as a lone number, because market data is
a guide, not truth. Averaging past years lags a growing market, so ``market_next_from_last``
(``last_year × (1 + growth_mean)``) is given alongside.

**Opportunity** of a keyword = last year's market × mean growth ÷ competition (mean online
product count over the last 12 months): the new money per competing listing.

Above 600 lines: one domain (market size, forecast, price bands, crowd) on shared integer codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.core import calendar as cal
from helpers.core.codes import distinct_per_group, line_codes, sales_lines, subset_codes

__all__ = [
    "TOTAL",
    "CrowdProfile",
    "MarketView",
    "analyse",
    "band_labels",
    "core_crowd",
    "crowd_profile",
    "fallback_rates",
    "forecast",
    "growth_range",
    "market_by_period",
    "market_forecast",
    "market_size",
    "nice_edges",
    "opportunity",
    "price_bands",
    "quarterly_growth",
    "shop_growth",
]

TOTAL = "__total__"  # key of the all-keywords row
FACTORS = ("click_rate", "conversion_rate", "order_value")


# --------------------------------------------------------------------------------------------
# market size


def _recent(df: pd.DataFrame, col: str, days: int) -> pd.DataFrame:
    if df is None or df.empty:
        return df
    end = df[col].max()
    return df[df[col] > end - pd.Timedelta(days=days)]


def fallback_rates(
    orders: pd.DataFrame | None,
    traffic: pd.DataFrame | None = None,
    assumptions: dict | None = None,
    days: int = 365,
) -> pd.DataFrame:
    """The shop-level click rate, conversion rate and order value used where keywords lack them.

    Parameters
    ----------
    orders : pandas.DataFrame or None
        Canonical orders.
    traffic : pandas.DataFrame, optional
        Canonical traffic. Whole-shop rows (empty ``product_id``) are used when there are any,
        else all rows.
    assumptions : dict, optional
        shop.yaml assumptions (``click_rate``, ``conversion_rate``, ``avg_order_value``).
    days : int
        Only the last ``days`` days of orders and traffic count.

    Returns
    -------
    pandas.DataFrame
        Index ``click_rate``, ``conversion_rate``, ``order_value``; columns ``value`` and
        ``source`` (``"traffic"``, ``"orders"`` or ``"shop.yaml"``).
    """
    a = assumptions or {}
    out = {
        "click_rate": (a.get("click_rate", np.nan), "shop.yaml"),
        "conversion_rate": (a.get("conversion_rate", np.nan), "shop.yaml"),
        "order_value": (np.nan, "shop.yaml"),
    }
    if traffic is not None and len(traffic):
        t = _recent(traffic, "date", days)
        shop_rows = t[t["product_id"].isna()] if "product_id" in t else t
        t = shop_rows if len(shop_rows) else t
        imp, clk = t.get("impressions"), t.get("clicks")
        if imp is not None and clk is not None:
            ok = imp.notna() & clk.notna()
            if imp[ok].sum() > 0:
                out["click_rate"] = (float(clk[ok].sum() / imp[ok].sum()), "traffic")
        vis, buy = t.get("visitors"), t.get("buyers")
        if vis is not None and buy is not None:
            ok = vis.notna() & buy.notna()
            if vis[ok].sum() > 0 and buy[ok].sum() > 0:
                out["conversion_rate"] = (float(buy[ok].sum() / vis[ok].sum()), "traffic")
    if a.get("avg_order_value") is not None:
        out["order_value"] = (float(a["avg_order_value"]), "shop.yaml")
    elif orders is not None and len(orders):
        # order_values of the recent orders, grouped on integer codes of the order ids
        s = sales_lines(orders)
        since = orders["order_time"].max() - pd.Timedelta(days=days)
        keep = ((s["order_time"] > since) & ~s["is_return"]).to_numpy()
        code = subset_codes(line_codes(s, "order_id")[0][keep])
        ov = pd.Series(s["net"].to_numpy()[keep][code >= 0]).groupby(code[code >= 0]).sum()
        ov = ov[ov > 0]
        if len(ov):
            out["order_value"] = (float(ov.mean()), "orders")
    df = pd.DataFrame.from_dict(out, orient="index", columns=["value", "source"])
    df["value"] = df["value"].astype(float)
    return df


def _fiscal_cols(month: pd.Series, start_month: int) -> pd.DataFrame:
    fy = cal.fiscal_year_of(month, start_month).astype("int64")
    fm = (month.dt.month - start_month) % 12 + 1
    q = (fm - 1) // 3 + 1
    return pd.DataFrame(
        {"fy": fy.to_numpy(), "fmonth": fm.to_numpy(), "quarter": q.to_numpy()}, index=month.index
    )


def market_size(
    keywords: pd.DataFrame,
    rates: pd.DataFrame,
    start_month: int = 1,
    as_of=None,
) -> pd.DataFrame:
    """Market size of every keyword in every month.

    Parameters
    ----------
    keywords : pandas.DataFrame
        Canonical keywords (``keyword``, ``month``, ``search_volume``; ``group``,
        ``click_rate``, ``conversion_rate``, ``avg_price``, ``online_products`` optional).
    rates : pandas.DataFrame
        :func:`fallback_rates`: used where a keyword row has no value of its own.
    start_month : int
        Fiscal year start month (for the ``fy`` and ``quarter`` columns).
    as_of : date-like, optional
        Months after it are left out.

    Returns
    -------
    pandas.DataFrame
        One row per keyword and month, sorted by keyword then month: ``keyword``, ``group``
        (the keyword itself when the table has no group), ``month``, ``fy``, ``quarter``
        (fiscal), ``search_volume``, ``click_rate``, ``conversion_rate``, ``order_value``,
        ``buyers`` (= volume × click × conversion), ``market_size`` (= buyers × order value),
        ``online_products`` and, per factor, ``<factor>_source`` (``"keywords"`` or the
        fallback's source).
    """
    kw = keywords[keywords["keyword"].notna() & keywords["month"].notna()].copy()
    kw["month"] = kw["month"].dt.to_period("M").dt.to_timestamp()
    if as_of is not None:
        kw = kw[kw["month"] <= pd.Timestamp(as_of)]
    kw["keyword"] = kw["keyword"].astype(str)
    grp = kw["group"] if "group" in kw else pd.Series(None, index=kw.index, dtype=object)
    kw["group"] = grp.where(grp.notna(), kw["keyword"]).astype(str)
    kw = kw.groupby(["keyword", "month"], sort=True, as_index=False).agg(
        group=("group", "first"),
        search_volume=("search_volume", "sum"),
        click_rate=("click_rate", "mean"),
        conversion_rate=("conversion_rate", "mean"),
        avg_price=("avg_price", "mean"),
        online_products=("online_products", "mean"),
    )
    own = {
        "click_rate": "click_rate",
        "conversion_rate": "conversion_rate",
        "order_value": "avg_price",
    }
    for factor, col in own.items():
        v = kw[col]
        kw[f"{factor}_source"] = np.where(v.notna(), "keywords", rates.loc[factor, "source"])
        kw[factor] = v.fillna(rates.loc[factor, "value"]).astype(float)
    kw["buyers"] = kw["search_volume"] * kw["click_rate"] * kw["conversion_rate"]
    kw["market_size"] = kw["buyers"] * kw["order_value"]
    kw = pd.concat([kw, _fiscal_cols(kw["month"], start_month)], axis=1)
    cols = [
        "keyword",
        "group",
        "month",
        "fy",
        "quarter",
        "search_volume",
        *FACTORS,
        "buyers",
        "market_size",
        "online_products",
    ] + [f"{f}_source" for f in FACTORS]
    return kw[cols].reset_index(drop=True)


def _keyed(sized: pd.DataFrame, by: str | None) -> pd.DataFrame:
    if by is None:
        return sized.assign(key=TOTAL)
    return sized.assign(key=sized[by])


def market_by_period(sized: pd.DataFrame, level: str = "year", by: str | None = "group"):
    """Market size summed per key and period.

    Parameters
    ----------
    sized : pandas.DataFrame
        :func:`market_size`.
    level : {"month", "quarter", "year"}
        Fiscal period.
    by : {"keyword", "group", None}
        None: one total over all keywords (key ``TOTAL``).

    Returns
    -------
    pandas.DataFrame
        ``key``, ``period`` (label as :func:`helpers.core.calendar.period_key`; months as
        ``YYYY-MM``), ``start`` (first month), ``months`` (months with data), ``complete``
        (all months of the period have data), ``search_volume``, ``buyers``, ``market_size``;
        sorted by key then start.
    """
    if level not in ("month", "quarter", "year"):
        raise ValueError(f"level must be month, quarter or year, got {level!r}")
    s = _keyed(sized, by)
    if level == "month":
        s = s.assign(pid=s["month"].dt.strftime("%Y-%m"))
        need = 1
    elif level == "quarter":
        s = s.assign(pid="FY" + s["fy"].astype(str) + "-Q" + s["quarter"].astype(str))
        need = 3
    else:
        s = s.assign(pid="FY" + s["fy"].astype(str))
        need = 12
    g = s.groupby(["key", "pid"], sort=True)
    out = g.agg(
        start=("month", "min"),
        months=("month", "nunique"),
        search_volume=("search_volume", "sum"),
        buyers=("buyers", "sum"),
        market_size=("market_size", "sum"),
    ).reset_index()
    out = out.rename(columns={"pid": "period"})
    out["complete"] = out["months"] >= need
    out = out.sort_values(["key", "start"], kind="stable").reset_index(drop=True)
    return out[
        ["key", "period", "start", "months", "complete", "search_volume", "buyers", "market_size"]
    ]


def quarterly_growth(sized: pd.DataFrame, by: str | None = "group") -> pd.DataFrame:
    """Year-on-year growth of every complete fiscal quarter, like for like.

    A keyword's quarter is complete when all three months have data. The growth of a key
    (group or total) in quarter q is ``sum(market in q) / sum(market in q - 4) - 1`` over the
    keywords complete in both quarters.

    Returns
    -------
    pandas.DataFrame
        ``key``, ``period`` (``FY2025-Q2``), ``value``, ``prev``, ``growth``; sorted.
    """
    q = sized.assign(qi=sized["fy"] * 4 + sized["quarter"] - 1)
    per = q.groupby(["keyword", "qi"], sort=True).agg(
        group=("group", "first"), value=("market_size", "sum"), months=("month", "nunique")
    )
    per = per[per["months"] == 3].reset_index()
    prev = per[["keyword", "qi", "value"]].assign(qi=per["qi"] + 4)
    both = per.merge(prev, on=["keyword", "qi"], suffixes=("", "_prev"), how="inner")
    both = _keyed(both, by)
    g = both.groupby(["key", "qi"], sort=True)[["value", "value_prev"]].sum().reset_index()
    g = g[g["value_prev"] > 0]
    g["growth"] = g["value"] / g["value_prev"] - 1
    g["period"] = "FY" + (g["qi"] // 4).astype(str) + "-Q" + (g["qi"] % 4 + 1).astype(str)
    g = g.rename(columns={"value_prev": "prev"})
    return g[["key", "period", "value", "prev", "growth"]].reset_index(drop=True)


def growth_range(growth: pd.Series | np.ndarray) -> dict:
    """Mean growth and its range: ``mean ± one sample standard deviation``.

    Parameters
    ----------
    growth : array-like of float
        Growth observations (e.g. quarterly YoY); NaN ignored.

    Returns
    -------
    dict
        ``growth_mean``, ``growth_std`` (ddof=1), ``growth_low``, ``growth_high``,
        ``growth_n``. One observation: std is NaN and low = high = mean; none: all NaN.
    """
    g = np.asarray(growth, dtype=float)
    g = g[np.isfinite(g)]
    n = len(g)
    mean = float(g.mean()) if n else np.nan
    std = float(g.std(ddof=1)) if n > 1 else np.nan
    spread = std if n > 1 else 0.0
    return {
        "growth_mean": mean,
        "growth_std": std,
        "growth_low": mean - spread if n else np.nan,
        "growth_high": mean + spread if n else np.nan,
        "growth_n": n,
    }


def forecast(sized: pd.DataFrame, by: str | None = "group", total: bool = True) -> pd.DataFrame:
    """Next year's market per key, with the range from the spread of past growth.

    Parameters
    ----------
    sized : pandas.DataFrame
        :func:`market_size`.
    by : {"keyword", "group", None}
        The key.
    total : bool
        Append the all-keywords row (key ``TOTAL``) when ``by`` is not None.

    Returns
    -------
    pandas.DataFrame
        Per key: ``years`` (complete fiscal years), ``last_fy``, ``market_last_year`` (last
        complete FY; without one, the months there are annualised and ``annualised`` is
        True), ``market_prev_year`` (the complete FY before it, NaN if none), ``market_mean`` (mean of complete FYs), ``growth_mean``, ``growth_low``,
        ``growth_high``, ``growth_n`` (:func:`growth_range` of :func:`quarterly_growth`),
        ``market_next`` = ``market_mean × (1 + growth_mean)`` and ``market_next_low`` /
        ``market_next_high`` with the low/high growth (growth unknown: no growth),
        ``market_next_from_last`` = ``market_last_year × (1 + growth_mean)``.
    """
    parts = [(by, sized)]
    if total and by is not None:
        parts.append((None, sized))
    rows = []
    for b, s in parts:
        yr = market_by_period(s, "year", b)
        gr = quarterly_growth(s, b)
        for key, y in yr.groupby("key", sort=True):
            full = y[y["complete"]]
            prev = float(full["market_size"].iloc[-2]) if len(full) > 1 else np.nan
            if len(full):
                last = float(full["market_size"].iloc[-1])
                mean = float(full["market_size"].mean())
                last_fy, annualised = full["period"].iloc[-1], False
            else:
                last = float(y["market_size"].sum() * 12 / max(y["months"].sum(), 1))
                mean, last_fy, annualised = last, y["period"].iloc[-1], True
            st = growth_range(gr.loc[gr["key"] == key, "growth"])
            g0 = 0.0 if st["growth_n"] == 0 else st["growth_mean"]
            lo = 0.0 if st["growth_n"] == 0 else st["growth_low"]
            hi = 0.0 if st["growth_n"] == 0 else st["growth_high"]
            rows.append(
                {
                    "key": key,
                    "years": len(full),
                    "last_fy": last_fy,
                    "annualised": annualised,
                    "market_last_year": last,
                    "market_prev_year": prev,
                    "market_mean": mean,
                    "growth_mean": st["growth_mean"],
                    "growth_low": st["growth_low"],
                    "growth_high": st["growth_high"],
                    "growth_n": st["growth_n"],
                    "market_next": mean * (1 + g0),
                    "market_next_low": mean * (1 + lo),
                    "market_next_high": mean * (1 + hi),
                    "market_next_from_last": last * (1 + g0),
                }
            )
    out = pd.DataFrame(rows)
    is_total = out["key"] == TOTAL
    body = out[~is_total].sort_values(
        ["market_last_year", "key"], ascending=[False, True], kind="stable"
    )
    return pd.concat([body, out[is_total]], ignore_index=True)


def opportunity(sized: pd.DataFrame, fc_keywords: pd.DataFrame, months: int = 12):
    """Rank keywords by opportunity = last year's market × mean growth ÷ competition.

    Parameters
    ----------
    sized : pandas.DataFrame
        :func:`market_size`.
    fc_keywords : pandas.DataFrame
        :func:`forecast` with ``by="keyword"``.
    months : int
        Competition is the mean ``online_products`` over the keyword's last ``months`` months.

    Returns
    -------
    pandas.DataFrame
        ``keyword``, ``group``, ``market_last_year``, ``growth_mean``, ``competition``,
        ``opportunity`` (money per competing product; without a product count, competition
        is 1 and ``opportunity`` is the yearly market gain), ``opportunity_index`` (100 = the
        best keyword), ``order_value``, ``rank``; best first (ties: keyword).
    """
    s = sized.sort_values(["keyword", "month"], kind="stable")
    recent = s.groupby("keyword", sort=True).tail(months)
    comp = recent.groupby("keyword", sort=True)["online_products"].mean()
    price = recent.groupby("keyword", sort=True)["order_value"].mean()
    group = s.groupby("keyword", sort=True)["group"].first()
    fc = fc_keywords[fc_keywords["key"] != TOTAL].set_index("key")
    out = pd.DataFrame(
        {
            "group": group,
            "market_last_year": fc["market_last_year"].reindex(group.index),
            "growth_mean": fc["growth_mean"].reindex(group.index),
            "competition": comp.reindex(group.index),
            "order_value": price.reindex(group.index),
        }
    )
    if out["competition"].isna().all():
        out["competition"] = 1.0
    out["opportunity"] = out["market_last_year"] * out["growth_mean"].fillna(0) / out["competition"]
    best = out["opportunity"].max()
    out["opportunity_index"] = 100 * out["opportunity"] / best if best and best > 0 else np.nan
    out = out.rename_axis("keyword").reset_index()
    out = out.sort_values(["opportunity", "keyword"], ascending=[False, True], kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def shop_growth(orders: pd.DataFrame, start_month: int = 1) -> dict:
    """The shop's own growth: :func:`growth_range` of its quarterly YoY net sales growth.

    Only fiscal quarters fully inside the orders' date range count. The fallback for target
    setting when the shop has no keywords table.
    """
    s = sales_lines(orders)
    if s.empty:
        return growth_range([])
    first, last = s["day"].min(), s["day"].max()
    daily = s.groupby("day")["net"].sum()
    days = pd.date_range(first, last, freq="D")
    daily = daily.reindex(days, fill_value=0.0)
    fc = _fiscal_cols(pd.Series(days), start_month)
    qi = (fc["fy"] * 4 + fc["quarter"] - 1).to_numpy()
    per = pd.DataFrame({"qi": qi, "net": daily.to_numpy(), "day": days})
    g = per.groupby("qi").agg(net=("net", "sum"), lo=("day", "min"), hi=("day", "max"))
    q_first = g["lo"].dt.to_period("M").dt.to_timestamp() == g["lo"]
    q_end = g["hi"] + pd.Timedelta(days=1)
    full = q_first & (q_end.dt.day == 1) & (g["lo"] >= first) & (g["hi"] <= last)
    full = full & (
        ((q_end.dt.year - g["lo"].dt.year) * 12 + q_end.dt.month - g["lo"].dt.month) == 3
    )
    g = g[full]
    prev = g["net"].reindex(g.index - 4)
    growth = g["net"].to_numpy() / prev.to_numpy() - 1
    growth = growth[np.isfinite(growth) & (prev.to_numpy() > 0)]
    return growth_range(growth)


@dataclass
class MarketView:
    """Everything :func:`analyse` computes from the keywords table."""

    rates: pd.DataFrame  # fallback_rates
    sized: pd.DataFrame  # market_size: keyword × month
    years: pd.DataFrame  # market_by_period(level="year", by="group")
    quarters: pd.DataFrame  # market_by_period(level="quarter", by="group")
    periods: pd.DataFrame  # every keyword and group per quarter and year (level, by columns)
    forecast: pd.DataFrame  # forecast(by="group") with the TOTAL row last
    keywords: pd.DataFrame  # opportunity: keywords ranked
    artifact: dict  # the market_forecast artifact
    sources: dict  # factor -> {source: share of keyword-month rows}


def _artifact(total_row: pd.Series) -> dict:
    n = int(total_row["growth_n"])
    g = {k: float(total_row[k]) if n else 0.0 for k in ("growth_mean", "growth_low", "growth_high")}
    return {
        **g,
        "growth_n": n,
        "market_last_year": float(total_row["market_last_year"]),
        "market_next_year": float(total_row["market_next"]),
        "market_next_low": float(total_row["market_next_low"]),
        "market_next_high": float(total_row["market_next_high"]),
        "market_next_from_last": float(total_row["market_next_from_last"]),
        "market_mean": float(total_row["market_mean"]),
        "years": int(total_row["years"]),
        "fy_last": str(total_row["last_fy"]),
        "source": "keywords",
    }


def analyse(
    keywords: pd.DataFrame,
    orders: pd.DataFrame | None,
    traffic: pd.DataFrame | None = None,
    assumptions: dict | None = None,
    start_month: int = 1,
    as_of=None,
) -> MarketView:
    """Market size per keyword and group, per month, quarter and year; forecast; opportunity.

    One call for notebook 01: :func:`fallback_rates` → :func:`market_size` →
    :func:`market_by_period` (years, quarters by group; ``periods``: every keyword and group by
    quarter and year) → :func:`forecast` (by group, plus
    the total) and, by keyword, :func:`opportunity`. ``artifact`` is the ``market_forecast``
    artifact (:func:`market_forecast`); ``sources`` the share of keyword-month rows whose
    click rate, conversion and order value came from each source.
    """
    rates = fallback_rates(orders, traffic, assumptions)
    sized = market_size(keywords, rates, start_month, as_of)
    fc = forecast(sized, "group")
    fk = forecast(sized, "keyword", total=False)
    per = {
        (by, level): market_by_period(sized, level, by)
        for by in ("group", "keyword")
        for level in ("quarter", "year")
    }
    return MarketView(
        rates=rates,
        sized=sized,
        years=per[("group", "year")],
        quarters=per[("group", "quarter")],
        periods=pd.concat(
            [t.assign(level=level, by=by) for (by, level), t in per.items()],
            ignore_index=True,
        ),
        forecast=fc,
        keywords=opportunity(sized, fk),
        artifact=_artifact(fc.iloc[-1]),
        sources={
            f: sized[f"{f}_source"].value_counts(normalize=True).sort_index().to_dict()
            for f in FACTORS
        },
    )


def market_forecast(
    keywords: pd.DataFrame | None,
    orders: pd.DataFrame | None,
    traffic: pd.DataFrame | None = None,
    assumptions: dict | None = None,
    start_month: int = 1,
    as_of=None,
) -> dict:
    """The ``market_forecast`` artifact: the growth 02 builds targets on.

    With keywords: the all-keywords row of :func:`forecast` (``source="keywords"``). Without:
    the shop's own growth (:func:`shop_growth`, ``source="shop"``, market figures None).
    Unknown growth (too little history) is 0 with ``growth_n = 0``.

    Returns
    -------
    dict
        ``growth_mean``, ``growth_low``, ``growth_high``, ``growth_n``, ``market_last_year``,
        ``market_next_year``, ``market_next_low``, ``market_next_high``,
        ``market_next_from_last``, ``market_mean``, ``years``, ``fy_last``, ``source``.
    """
    if keywords is not None and len(keywords):
        rates = fallback_rates(orders, traffic, assumptions)
        sized = market_size(keywords, rates, start_month, as_of)
        if len(sized):
            return _artifact(forecast(sized, by=None).iloc[0])
    g = shop_growth(orders, start_month) if orders is not None else growth_range([])
    n = int(g["growth_n"])
    out = dict.fromkeys(
        [
            "market_last_year",
            "market_next_year",
            "market_next_low",
            "market_next_high",
            "market_next_from_last",
            "market_mean",
            "years",
            "fy_last",
        ]
    )
    out.update({k: float(g[k]) if n else 0.0 for k in ("growth_mean", "growth_low", "growth_high")})
    out.update(growth_n=n, source="shop")
    return out


# --------------------------------------------------------------------------------------------
# price bands


def nice_edges(values, n_max: int = 7) -> list[float]:
    """Round band edges (1-2-5 steps) covering the middle 90% of ``values``.

    Returns
    -------
    list of float
        Inner edges, ascending (bands are ``< e1``, ``e1–e2`` ..., ``>= ek``): 1-2-5 × 10^k
        between the 5th and 95th percentile; 1-3 or 1 × 10^k when that gives more than
        ``n_max``; 1-1.5-2-3-5-7 when fewer than 2.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return []
    lo, hi = np.quantile(v, [0.05, 0.95])
    if hi <= lo:
        lo, hi = lo * 0.5, hi * 2
    kmin, kmax = int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1

    def series(mant: list[float]) -> list[float]:
        e = sorted({round(m * 10.0**k, 6) for k in range(kmin, kmax + 1) for m in mant})
        return [x for x in e if lo < x < hi]

    edges = series([1, 2, 5])
    if len(edges) < 2:
        return series([1, 1.5, 2, 3, 5, 7])
    for mant in ([1, 3], [1]):
        if len(edges) <= n_max:
            break
        edges = series(mant)
    return edges


def _fmt_edge(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 or float(x).is_integer() else f"{x:g}"


def band_labels(edges: list[float]) -> list[str]:
    """Labels of the bands cut by ``edges``: ``<50``, ``50–100``, ..., ``≥500``."""
    if not edges:
        return ["all"]
    lab = [f"<{_fmt_edge(edges[0])}"]
    lab += [f"{_fmt_edge(a)}–{_fmt_edge(b)}" for a, b in zip(edges[:-1], edges[1:])]
    return lab + [f"≥{_fmt_edge(edges[-1])}"]


def _band(values: pd.Series, edges: list[float]) -> np.ndarray:
    return np.searchsorted(
        np.asarray(edges, dtype=float), values.to_numpy(dtype=float), side="right"
    )


def price_bands(
    orders: pd.DataFrame,
    sized: pd.DataFrame | None = None,
    edges: list[float] | None = None,
    months: int = 12,
) -> pd.DataFrame:
    """The shop's net sales by unit-price band against the market's.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders (purchase lines, last 365 days of the table).
    sized : pandas.DataFrame, optional
        :func:`market_size`; the market's price of a keyword is its ``order_value`` where that
        came from the keywords table (``avg_price``), its last ``months`` months' market size
        is its weight. None or no keyword prices: market columns are NaN.
    edges : list of float, optional
        Inner band edges; default :func:`nice_edges` of shop and market prices together.

    Returns
    -------
    pandas.DataFrame
        One row per band, cheapest first: ``band`` (label), ``lo``, ``hi``, ``shop_sales``,
        ``shop_share``, ``market_size``, ``market_share``, ``share_gap`` (market share − shop
        share: positive where the market buys more than the shop sells), ``index``
        (shop share ÷ market share).
    """
    s = sales_lines(orders)[["day", "unit_price", "net"]]  # only what is read: cheap to filter
    s = s[s["day"] > s["day"].max() - pd.Timedelta(days=365)] if len(s) else s
    m = None
    if sized is not None and len(sized):
        m = sized[sized["order_value_source"] == "keywords"]
        m = m.sort_values(["keyword", "month"], kind="stable").groupby("keyword").tail(months)
        m = m if len(m) else None
    if edges is None:
        pool = [s["unit_price"].to_numpy(dtype=float)]
        if m is not None:
            pool.append(m["order_value"].to_numpy(dtype=float))
        edges = nice_edges(np.concatenate(pool))
    n = len(edges) + 1
    shop = np.bincount(_band(s["unit_price"], edges), weights=s["net"].to_numpy(), minlength=n)
    mk = np.full(n, np.nan)
    if m is not None:
        mk = np.bincount(
            _band(m["order_value"], edges), weights=m["market_size"].to_numpy(), minlength=n
        )
    out = pd.DataFrame(
        {
            "band": band_labels(edges),
            "lo": [0.0, *edges],
            "hi": [*edges, np.inf],
            "shop_sales": shop,
            "shop_share": shop / shop.sum() if shop.sum() > 0 else np.nan,
            "market_size": mk,
            "market_share": mk / np.nansum(mk) if np.nansum(mk) > 0 else np.nan,
        }
    )
    out["share_gap"] = out["market_share"] - out["shop_share"]
    out["index"] = out["shop_share"] / out["market_share"].where(out["market_share"] > 0)
    return out


# --------------------------------------------------------------------------------------------
# crowd


@dataclass
class CrowdProfile:
    """Who bought in the window: one long table and which dimensions it has."""

    table: pd.DataFrame  # dimension, value, buyers, orders, sales, shares, aov
    dimensions: list[str]
    start: pd.Timestamp
    end: pd.Timestamp
    has_buyers: bool
    core: dict  # core_crowd: the numbers behind the one-sentence core crowd


def crowd_profile(
    orders: pd.DataFrame,
    as_of=None,
    window_days: int = 365,
    value_edges: list[float] | None = None,
) -> CrowdProfile:
    """Buyers and sales by province, city, device, new vs returning and order-value band.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders (full history: a buyer is *new* when their first purchase ever falls
        in the window, else *returning*; the split is left out when the data does not cover
        the metric layer's look-back before the window).
    as_of : date-like, optional
        Window end (default: the last purchase day).
    window_days : int
        Window length.
    value_edges : list of float, optional
        Order-value band edges (default :func:`nice_edges` of the window's order values).

    Returns
    -------
    CrowdProfile
        ``table`` columns: ``dimension`` (``province``, ``city``, ``device``,
        ``customer_type``, ``order_value_band``), ``value`` (None in the data: ``unknown``;
        customer types ``new``/``returning``), ``buyers`` (NaN without customer ids),
        ``orders``, ``sales``, ``sales_share``, ``order_share``, ``buyer_share``, ``aov``.
        Rows by sales within a dimension (bands cheapest first). A dimension whose column is
        empty in every row is left out. ``core``: :func:`core_crowd`.
    """
    s = sales_lines(orders)
    end = pd.Timestamp(as_of).normalize() if as_of is not None else s["day"].max()
    start = end - pd.Timedelta(days=window_days - 1)
    # group on integer codes: the string ids are hashed once, not once per group-by
    cust = subset_codes(line_codes(s)[0])  # -1: no customer id
    has_buyers = bool((cust >= 0).any())
    # as the metric layer counts them: a fully refunded line (net 0) or a credit note is no
    # purchase, so it neither makes an order or a buyer nor dates a first purchase
    live = (s["status"].to_numpy() != "refunded") & ~s["is_return"].to_numpy()
    ok = (cust >= 0) & live
    first = pd.Series(s["day"].to_numpy()[ok]).groupby(cust[ok]).min()
    first = first.reindex(range(int(cust.max(initial=-1)) + 1), fill_value=pd.Timestamp.max)
    inside = ((s["day"] >= start) & (s["day"] <= end) & s["order_id"].notna()).to_numpy() & live
    lines = s.loc[inside, ["province", "city", "device", "net"]]
    lines["customer"] = np.where(cust < 0, np.nan, cust)[inside]  # NaN: "first" skips it
    o = lines.groupby(subset_codes(line_codes(s, "order_id")[0][inside]), sort=False).agg(
        customer=("customer", "first"),
        province=("province", "first"),
        city=("city", "first"),
        device=("device", "first"),
        sales=("net", "sum"),
    )
    sales, cust = o["sales"].to_numpy(), o["customer"].to_numpy()
    dims: list[tuple[str, np.ndarray, np.ndarray]] = []  # (name, code per order, labels)
    for d in ("province", "city", "device"):
        code, uniq = pd.factorize(o[d].to_numpy())
        if len(uniq):  # else empty in every row: left out
            labels = np.append(np.asarray(uniq, dtype=object), "unknown")
            dims.append((d, np.where(code < 0, len(uniq), code), labels))
    # new vs returning only where the history covers the look-back (helpers.core.metrics)
    from helpers.core.metrics import LOOKBACK_MONTHS

    t0 = orders["order_time"].min()
    split_known = pd.notna(t0) and t0.normalize() <= start - pd.DateOffset(months=LOOKBACK_MONTHS)
    if has_buyers and split_known:
        known = ~np.isnan(cust)
        new = known.copy()
        new[known] = first.to_numpy()[cust[known].astype(np.int64)] >= start
        code = np.where(new, 0, np.where(known, 1, 2))
        dims.append(("customer_type", code, np.array(["new", "returning", "unknown"], object)))
    edges = value_edges if value_edges is not None else nice_edges(o["sales"])
    labels = np.array(band_labels(edges), dtype=object)
    dims.append(("order_value_band", _band(o["sales"], edges), labels))
    parts = []
    tot_sales, tot_orders = o["sales"].sum(), len(o)
    tot_buyers = len(pd.unique(cust[~np.isnan(cust)])) if has_buyers else np.nan
    for name, code, labs in dims:
        t = _tally(code, labs, sales, cust if has_buyers else None)
        t.insert(0, "dimension", name)
        if name == "order_value_band":
            t["o"] = pd.Index(labels).get_indexer(t["value"])
            t = t.sort_values("o", kind="stable").drop(columns="o")
        else:
            t = t.sort_values(["sales", "value"], ascending=[False, True], kind="stable")
        parts.append(t)
    tab = pd.concat(parts, ignore_index=True)
    tab["sales_share"] = tab["sales"] / tot_sales if tot_sales else np.nan
    tab["order_share"] = tab["orders"] / tot_orders if tot_orders else np.nan
    tab["buyer_share"] = tab["buyers"] / tot_buyers if has_buyers else np.nan
    tab["aov"] = tab["sales"] / tab["orders"]
    prof = CrowdProfile(tab, [d[0] for d in dims], start, end, has_buyers, {})
    prof.core = core_crowd(prof)
    return prof


def _tally(
    code: np.ndarray, labels: np.ndarray, sales: np.ndarray, customer: np.ndarray | None
) -> pd.DataFrame:
    """Buyers, orders and sales per value of one dimension, sorted by value.

    ``code`` indexes ``labels`` (one per order; equal labels are one value), ``customer`` is
    each order's customer code (NaN: none; None: no buyer ids, ``buyers`` is NaN).
    """
    vcode, values = pd.factorize(pd.Series(labels).astype(str), sort=True)
    vcode = vcode[code]
    n = len(values)
    orders = np.bincount(vcode, minlength=n)
    seen = orders > 0
    t = pd.DataFrame(
        {
            "value": values[seen].to_numpy(),  # str dtype inferred; an empty table: object
            "buyers": np.nan,
            "orders": orders[seen],
            "sales": pd.Series(sales).groupby(vcode).sum().to_numpy(),
        }
    )
    if customer is not None:  # buyers: distinct (value, customer) pairs per value
        c = np.where(np.isnan(customer), -1, customer).astype(np.int64)
        t["buyers"] = distinct_per_group(vcode, c, n)[seen]
    return t


def core_crowd(profile: CrowdProfile, top_regions: int = 3) -> dict:
    """The numbers behind the one-sentence core crowd.

    Returns
    -------
    dict
        Per dimension present: ``device`` / ``device_share`` (sales share of the top device),
        ``regions`` (the top ``top_regions`` provinces, joined by "、"; ``region_list``: as a
        list) / ``region_share``
        (their combined sales share), ``city`` / ``city_share``, ``band`` /
        ``band_share`` (the order-value band with the most orders, its order share) and
        ``band_sales_share``, ``returning_share`` / ``new_share`` (sales shares).
    """
    t = profile.table
    out: dict = {}
    known = t[t["value"] != "unknown"]

    def top(dim: str) -> pd.DataFrame:
        return known[known["dimension"] == dim]

    if "device" in profile.dimensions and len(top("device")):
        r = top("device").iloc[0]
        out.update(device=r["value"], device_share=float(r["sales_share"]))
    if "province" in profile.dimensions and len(top("province")):
        p = top("province").head(top_regions)
        out.update(
            regions="、".join(p["value"]),
            region_list=p["value"].tolist(),
            region_share=float(p["sales_share"].sum()),
            n_regions=len(p),
        )
    if "city" in profile.dimensions and len(top("city")):
        r = top("city").iloc[0]
        out.update(city=r["value"], city_share=float(r["sales_share"]))
    b = top("order_value_band")
    if len(b):
        r = b.sort_values(["orders", "value"], ascending=[False, True], kind="stable").iloc[0]
        out.update(
            band=r["value"],
            band_share=float(r["order_share"]),
            band_sales_share=float(r["sales_share"]),
        )
    if "customer_type" in profile.dimensions:
        c = t[t["dimension"] == "customer_type"].set_index("value")["sales_share"]
        out.update(
            returning_share=float(c.get("returning", 0.0)), new_share=float(c.get("new", 0.0))
        )
    return out
