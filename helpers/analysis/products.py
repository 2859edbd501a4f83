"""Product analysis (货品分析): Pareto/ABC, roles, funnel, life cycle, 爆款 tendency, stock, prices.

The article's product ideas, each a pure function over small aggregates:

* **20/80** — 20% of the goods earn 80% of the money: :func:`abc_analysis` classes products A
  (the few that make the first 80% of sales), B (to 95%) and C (the rest), by net sales and, where
  cost is known, by gross profit.
* **Roles** (引流款 traffic driver, 利润款 profit item, 形象款 image item, 定制款 custom item):
  :func:`role_behaviour` reads the role each product *plays* in the data and :func:`role_mix`
  sets the actual mix against the target mix.
* **"Keyword + picture"** — buyers find a product by search and choose it by its main image:
  :func:`product_funnel` follows impressions → clicks → visitors → add-to-cart → buyers per
  product against the category's and the shop's norm, and names the fix.
* **Life cycle** (new, rising, mature, declining) and long sellers that keep selling for years:
  :func:`lifecycle`.
* **爆款倾向** — a product whose sales accelerate above its peers early: :func:`hot_tendency`
  ranks a watch list; :func:`hot_backtest` replays it week by week over the shop's history.
* **Stock** — never run out online, above all before a festival node: :func:`stock_cover`.
* **Price bands**: :func:`price_bands`.

Everything heavy happens once, in :func:`daily_product_sales` (order lines → product × day);
the analyses then work on that small table, so a 10M-line shop costs one group-by.
Sales are :func:`helpers.core.codes.sales_lines` net sales throughout.

Above 600 lines: one domain (catalogue, ABC, roles, life cycle, hot products, the stock model, funnel, bundles); the stock model is the candidate to split next.
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist

import numpy as np
import pandas as pd

from helpers.analysis.returns import product_lines
from helpers.core import calendar as cal
from helpers.core import codes
from helpers.core.schema import ROLES

__all__ = [
    "price_band_summary",
    "stock_risk",
    "backtest_summary",
    "role_summary",
    "abc_analysis",
    "abc_summary",
    "classify_lifecycle",
    "daily_product_sales",
    "diagnose_funnel",
    "festival_uplift",
    "funnel_summary",
    "hot_backtest",
    "hot_summary",
    "hot_tendency",
    "lifecycle",
    "lifecycle_summary",
    "price_bands",
    "product_catalogue",
    "product_funnel",
    "product_scores",
    "role_behaviour",
    "role_mix",
    "stock_cover",
    "reorder_plan",
    "sell_through",
    "festival_stock_plan",
    "stock_summary",
    "weekly_sales",
]

BEHAVIOURS = (*ROLES, "tail")  # "tail": sells little and plays no clear role
LIFECYCLE_STAGES = ("new", "rising", "mature", "declining", "inactive", "thin")
FUNNEL_STAGES = ("click", "detail", "checkout")  # the three fixes, in funnel order
DAY = pd.Timedelta(days=1)


def _ts(x) -> pd.Timestamp:
    return pd.Timestamp(x).normalize()


def _div(a, b) -> np.ndarray:
    """a / b as float, NaN where b is 0 or missing."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((b != 0) & np.isfinite(b), a / np.where(b == 0, 1, b), np.nan)


def _col(df: pd.DataFrame | None, name: str) -> pd.Series | None:
    """The column when the table has it with at least one value, else None."""
    if df is None or name not in df.columns or not df[name].notna().any():
        return None
    return df[name]


# --------------------------------------------------------------------------------------------
# the two inputs every analysis shares


def product_catalogue(
    orders: pd.DataFrame, products: pd.DataFrame | None = None, as_of=None
) -> pd.DataFrame:
    """One row per product: the products table completed from the order lines.

    Parameters
    ----------
    orders : canonical orders.
    products : canonical products table, or None (then everything comes from the orders).
    as_of : analysis date; products launched after it are left out.

    Returns
    -------
    pandas.DataFrame
        ``product_id, title, category, role, price, cost, launch_date, stock, lead_time_days,
        first_sale, last_sale, start_date`` — ``price`` falls back to the median unit price
        paid, ``title`` to the latest title in the orders, ``start_date`` is the launch date or
        the first sale, whichever is earlier (a product sold before its launch date was on
        sale). Products that appear only in the orders are added; sorted by
        ``product_id``.
    """
    s = codes.sales_lines(orders)  # the shared, remembered lines: no copy of ours
    if s["is_return"].any():  # a product is seen where it was sold
        s = s[~s["is_return"].to_numpy()]
    g = s[["product_id", "day", "unit_price"]].groupby("product_id", sort=True)
    seen = pd.DataFrame(
        {
            "first_sale": g["day"].min(),
            "last_sale": g["day"].max(),
            "unit_price": g["unit_price"].median(),
        }
    )
    if "title" in s.columns and s["title"].notna().any():
        t = s[["product_id", "title"]].dropna(subset=["title"])
        seen["order_title"] = t.groupby("product_id")["title"].last()
    else:
        seen["order_title"] = None
    cols = ["title", "category", "role", "price", "cost", "launch_date", "stock", "lead_time_days"]
    if products is not None and len(products):
        base = products.drop_duplicates("product_id").set_index("product_id")
        base = base.reindex(columns=cols)
        if "line_type" in orders.columns:  # postage, fees… listed as products: not goods
            nm = orders["line_type"].to_numpy() == "non_merchandise"
            if nm.any():
                base = base[~base.index.isin(pd.unique(orders["product_id"].to_numpy()[nm]))]
    else:
        base = pd.DataFrame(columns=cols, index=pd.Index([], name="product_id"))
    ids = base.index.union(seen.index)
    out = base.reindex(ids).join(seen.reindex(ids))
    out["title"] = out["title"].where(out["title"].notna(), out["order_title"])
    out["title"] = out["title"].where(out["title"].notna(), pd.Series(ids, index=ids))
    out["price"] = pd.to_numeric(out["price"], errors="coerce").fillna(out["unit_price"])
    for c in ("cost", "stock", "lead_time_days"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    out["launch_date"] = pd.to_datetime(out["launch_date"]).astype("datetime64[ns]")
    out["start_date"] = out[["launch_date", "first_sale"]].min(axis=1)
    for c in ("title", "category", "role"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    if as_of is not None:
        out = out[~(out["start_date"] > _ts(as_of))]
    out.index.name = "product_id"
    out = out.reset_index().drop(columns=["order_title", "unit_price"])
    return out.sort_values("product_id", kind="stable").reset_index(drop=True)


def daily_product_sales(
    orders: pd.DataFrame, catalogue: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Product × day totals of the purchase lines: the one pass over the order lines.

    Parameters
    ----------
    orders : canonical orders (any size; vectorised group-by).
    catalogue : :func:`product_catalogue` (or a products table) for ``cost``; optional.

    Returns
    -------
    pandas.DataFrame
        ``product_id, day, net, units, orders, cogs``: net sales (paid − refunded), units kept
        (quantity of lines not fully refunded), orders (distinct order ids) and cost of goods
        sold — cost × quantity × the kept share of the line (net / paid), so a fully refunded
        line costs nothing (the goods came back); NaN when the product has no cost.

        A return line matched to an original order (``return_of``) counts on its own day with
        negative net, units and cost (a keying error cancelled minutes later nets to 0); it is
        no order. An unmatched return is deducted from the shop's net sales only
        (:mod:`helpers.analysis.returns` reports it), not from a product's.
    """
    s = codes.sales_lines(orders)  # the shared, remembered lines: no copy of ours
    s = product_lines(s)  # unmatched returns: the shop's net sales, not a product's
    back = s["is_return"].to_numpy()
    if s.empty:
        return pd.DataFrame(
            {
                "product_id": pd.Series(dtype=object),
                "day": pd.Series(dtype="datetime64[ns]"),
                "net": 0.0,
                "units": 0,
                "orders": 0,
                "cogs": 0.0,
            }
        ).iloc[:0]
    net = s["net"].to_numpy(float)
    qty = s["quantity"].to_numpy(float)
    kept = np.nan_to_num(np.clip(_div(net, s["paid_amount"]), 0, 1), nan=0.0)
    pcode, pids = pd.factorize(s["product_id"], sort=True)
    if _col(catalogue, "cost") is not None:
        cost = catalogue.drop_duplicates("product_id").set_index("product_id")["cost"]
        unit_cost = cost.reindex(pids).to_numpy(float)[pcode]
    else:
        unit_cost = np.full(len(s), np.nan)
    day = s["day"].to_numpy("datetime64[D]").astype(np.int64)
    d0 = day.min()
    n_days = int(day.max() - d0) + 1
    key = pcode.astype(np.int64) * n_days + (day - d0)
    gk, keys = pd.factorize(key, sort=True)
    n = len(keys)
    ocode = codes.line_codes(s, "order_id")[0].astype(np.int64)  # shared too
    first = ~pd.Series(ocode * len(pids) + pcode).duplicated().to_numpy()  # one per order
    first &= ~back  # a credit note is no order
    cogs = unit_cost * qty * kept
    has_cost = np.bincount(gk, weights=np.isfinite(cogs), minlength=n) > 0
    out = pd.DataFrame(
        {
            "product_id": pids.to_numpy(dtype=object)[keys // n_days],
            "day": (keys % n_days + d0).astype("datetime64[D]").astype("datetime64[ns]"),
            "net": np.bincount(gk, weights=net, minlength=n),
            "units": np.bincount(
                gk, weights=np.where((net > 0) | back, qty, 0), minlength=n
            ).astype(np.int64),
            "orders": np.bincount(gk, weights=first, minlength=n).astype(np.int64),
            "cogs": np.where(
                has_cost, np.bincount(gk, weights=np.nan_to_num(cogs), minlength=n), np.nan
            ),
        }
    )
    return out


def _window(daily: pd.DataFrame, as_of, days: int) -> pd.DataFrame:
    """Rows of ``daily`` in the ``days`` days ending on ``as_of`` (inclusive)."""
    end = _ts(as_of)
    return daily[(daily["day"] > end - days * DAY) & (daily["day"] <= end)]


# --------------------------------------------------------------------------------------------
# Pareto / ABC


def _abc(values: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shares, cumulative shares and classes of values already sorted descending.

    A product is A when the products before it make less than ``a`` of the total (so the A
    class is the smallest top set reaching ``a``), B likewise up to ``b``, C otherwise;
    products with nothing (≤ 0) are C.
    """
    pos = np.clip(values, 0, None)
    total = pos.sum()
    share = pos / total if total > 0 else np.zeros(len(values))
    cum = np.cumsum(share)
    before = cum - share
    cls = np.where(before < a, "A", np.where(before < b, "B", "C"))
    cls = np.where(pos > 0, cls, "C")
    return share, cum, cls


def abc_analysis(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    days: int = 365,
    a: float = 0.8,
    b: float = 0.95,
) -> pd.DataFrame:
    """Pareto/ABC classes of products by net sales and, where cost is known, gross profit.

    Parameters
    ----------
    daily : :func:`daily_product_sales`.
    catalogue : :func:`product_catalogue` (every product on sale counts, sold or not).
    as_of : last day of the period.
    days : length of the period (default a year).
    a, b : cumulative shares closing classes A and B.

    Returns
    -------
    pandas.DataFrame
        One row per catalogue product, sorted by net sales (ties by product_id):
        ``product_id, title, category, role, price, cost, net_sales, units, orders,
        gross_profit`` (NaN without cost), ``margin`` (gross profit / net sales), ``rank``,
        ``share``, ``cum_share``, ``abc``, ``gp_share``, ``gp_cum_share``, ``abc_gp``
        (None without cost).
    """
    w = _window(daily, as_of, days).groupby("product_id")
    per = w[["net", "units", "orders"]].sum()
    per["cogs"] = w["cogs"].sum(min_count=1)
    keep = ["product_id", "title", "category", "role", "price", "cost"]
    t = catalogue[keep].merge(per, left_on="product_id", right_index=True, how="left")
    t[["net", "units", "orders"]] = t[["net", "units", "orders"]].fillna(0)
    t = t.rename(columns={"net": "net_sales"})
    has_cost = t["cost"].notna().to_numpy()
    t["gross_profit"] = np.where(has_cost, t["net_sales"] - t["cogs"].fillna(0), np.nan)
    t = t.drop(columns="cogs")
    t["margin"] = _div(t["gross_profit"], t["net_sales"])
    t = t.sort_values(["net_sales", "product_id"], ascending=[False, True], kind="stable")
    t = t.reset_index(drop=True)
    t["rank"] = np.arange(1, len(t) + 1)
    t["share"], t["cum_share"], t["abc"] = _abc(t["net_sales"].to_numpy(float), a, b)
    t["gp_share"], t["gp_cum_share"], t["abc_gp"] = np.nan, np.nan, None
    if has_cost.any():
        g = t[t["gross_profit"].notna()].sort_values(
            ["gross_profit", "product_id"], ascending=[False, True], kind="stable"
        )
        sh, cum, cls = _abc(g["gross_profit"].to_numpy(float), a, b)
        t.loc[g.index, "gp_share"] = sh
        t.loc[g.index, "gp_cum_share"] = cum
        t.loc[g.index, "abc_gp"] = cls
    return t


def abc_summary(abc: pd.DataFrame) -> dict:
    """Headline numbers of :func:`abc_analysis`.

    Returns
    -------
    dict
        ``n_products``, ``n_a`` (products in class A), ``share_a`` (their share of products:
        the share of products that make 80% of sales), ``sales_a`` (their share of sales),
        ``top20_share`` (sales share of the top 20% of products, rounded up), ``n_c``,
        ``zero_sales`` (products without a sale), ``total_sales``, and when cost is known
        ``n_cost`` (products with cost), ``n_a_gp``, ``share_a_gp``, ``gross_profit``,
        ``margin`` (shop gross margin on products with cost), ``a_both`` (A by sales and by
        profit), ``a_sales_not_profit`` (A by sales but C by profit).
    """
    n = len(abc)
    n_a = int((abc["abc"] == "A").sum())
    top = int(np.ceil(0.2 * n)) if n else 0
    total = float(abc["net_sales"].sum())
    out = {
        "n_products": n,
        "n_a": n_a,
        "share_a": n_a / n if n else float("nan"),
        "sales_a": float(abc.loc[abc["abc"] == "A", "share"].sum()),
        "top20_share": float(abc["share"].head(top).sum()),
        "n_c": int((abc["abc"] == "C").sum()),
        "zero_sales": int((abc["net_sales"] <= 0).sum()),
        "total_sales": total,
        "n_cost": int(abc["gross_profit"].notna().sum()),
    }
    if out["n_cost"]:
        c = abc[abc["gross_profit"].notna()]
        n_a_gp = int((c["abc_gp"] == "A").sum())
        gp = float(c["gross_profit"].sum())
        out |= {
            "n_a_gp": n_a_gp,
            "share_a_gp": n_a_gp / len(c),
            "gross_profit": gp,
            "margin": gp / float(c["net_sales"].sum()) if c["net_sales"].sum() else float("nan"),
            "a_both": int(((c["abc"] == "A") & (c["abc_gp"] == "A")).sum()),
            "a_sales_not_profit": int(((c["abc"] == "A") & (c["abc_gp"] == "C")).sum()),
        }
    return out


# --------------------------------------------------------------------------------------------
# roles


def role_behaviour(
    abc: pd.DataFrame, traffic: pd.DataFrame | None = None, as_of=None, days: int = 28
) -> pd.DataFrame:
    """The role each product plays in the data, next to the role it was given.

    Rules, first match wins (thresholds are quantiles over the products that sold):

    * ``traffic`` 引流款 — many visitors (or units, without traffic data: at or above the
      median) and a thin margin (below the median; without cost: a price at or below the
      median);
    * ``image`` 形象款 — a top price (top decile) and low volume (units at or below median);
    * ``custom`` 定制款 — a high price (top quartile) and low volume;
    * ``profit`` 利润款 — sales at or above the median and a margin at or above the median
      (without cost: a price above the lower quartile);
    * ``tail`` — anything else (sells little and plays no clear role), and products that did
      not sell.

    Parameters
    ----------
    abc : :func:`abc_analysis` (needs ``net_sales, units, price, margin, role``).
    traffic, as_of, days : product traffic rows give each product's visitors over the ``days``
        days ending on ``as_of``; optional.

    Returns
    -------
    pandas.DataFrame
        ``abc`` plus ``visitors`` (NaN without traffic), ``behaviour_role`` and ``role_match``
        (True/False where a role is assigned, None where it is not).
    """
    t = abc.copy()
    t["visitors"] = np.nan
    if traffic is not None and as_of is not None and traffic["product_id"].notna().any():
        end = _ts(as_of)
        tr = traffic[traffic["product_id"].notna()]
        tr = tr[(tr["date"] > end - days * DAY) & (tr["date"] <= end)]
        vis = tr.groupby("product_id")["visitors"].sum()
        t["visitors"] = t["product_id"].map(vis).astype(float)
    sold = t["net_sales"] > 0
    s = t[sold]
    units = t["units"].to_numpy(float)
    price = t["price"].to_numpy(float)
    vol = t["visitors"].to_numpy(float) if t["visitors"].notna().any() else units
    vol = np.nan_to_num(vol, nan=0.0)
    svol = vol[sold.to_numpy()]

    def q(x, p):
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        return float(np.quantile(x, p)) if len(x) else np.nan

    margin = t["margin"].to_numpy(float)
    has_m = np.isfinite(margin)
    m_med = q(s["margin"], 0.5)
    p25, p50 = q(s["price"], 0.25), q(s["price"], 0.5)
    p75, p90 = q(s["price"], 0.75), q(s["price"], 0.9)
    u50 = q(s["units"], 0.5)
    thin = np.where(has_m, margin < m_med, price <= p50)
    healthy = np.where(has_m, margin >= m_med, price > p25)
    net = t["net_sales"].to_numpy(float)
    conds = [
        ~sold.to_numpy(),
        (vol >= q(svol, 0.5)) & thin,
        (price >= p90) & (units <= u50),
        (price >= p75) & (units <= u50),
        (net >= q(s["net_sales"], 0.5)) & healthy,
    ]
    t["behaviour_role"] = np.select(conds, ["tail", "traffic", "image", "custom", "profit"], "tail")
    assigned = t["role"].notna()
    t["role_match"] = np.where(assigned, t["role"] == t["behaviour_role"], None)
    return t


def role_mix(behaviour: pd.DataFrame, target: Mapping[str, float] | None) -> pd.DataFrame:
    """The shop's role mix (share of products and of sales) against the target mix.

    Parameters
    ----------
    behaviour : :func:`role_behaviour`.
    target : role → target share of products (02's ``role_mix`` or shop.yaml's); None: no target.

    Returns
    -------
    pandas.DataFrame
        One row per role in ``ROLES`` order: ``role, products, product_share`` (of the products
        in the four roles, as the target is), ``sales_share`` (of all sales), ``target_share``
        (normalised to 1), ``mix_gap`` (product share − target), ``behaving`` (products of that
        role whose behaviour matches it) and ``behaving_share``. The assigned role is used
        where the products table has roles, the behaviour where it has none (column ``basis``:
        ``assigned`` or ``behaviour``; then ``behaving`` is trivially all).
    """
    assigned = behaviour["role"].notna().any()
    role = behaviour["role"] if assigned else behaviour["behaviour_role"]
    n = int(role.isin(ROLES).sum())
    total = behaviour["net_sales"].sum()
    g = behaviour.assign(_r=role).groupby("_r")
    cnt = g.size().reindex(list(ROLES), fill_value=0)
    sales = g["net_sales"].sum().reindex(list(ROLES), fill_value=0.0)
    match = (
        behaviour.assign(_r=role, _m=behaviour["behaviour_role"] == role)
        .groupby("_r")["_m"]
        .sum()
        .reindex(list(ROLES), fill_value=0)
    )
    tgt = pd.Series({r: float((target or {}).get(r, np.nan)) for r in ROLES})
    if target:
        tgt = tgt.fillna(0.0) / max(sum(float(v) for v in target.values()), 1e-12)
    out = pd.DataFrame(
        {
            "role": list(ROLES),
            "products": cnt.to_numpy(int),
            "product_share": cnt.to_numpy(float) / n if n else np.nan,
            "sales_share": sales.to_numpy(float) / total if total else np.nan,
            "target_share": tgt.to_numpy(float),
            "behaving": match.to_numpy(int),
        }
    )
    out["mix_gap"] = out["product_share"] - out["target_share"]
    out["behaving_share"] = _div(out["behaving"], out["products"])
    out["basis"] = "assigned" if assigned else "behaviour"
    return out


def role_summary(behaviour: pd.DataFrame, mix: pd.DataFrame) -> dict:
    """Headline numbers of the role analysis.

    Returns
    -------
    dict
        ``basis`` (``assigned`` or ``behaviour``), ``n_assigned`` (products with a role),
        ``n_match`` / ``match_share`` (assigned products behaving as their role), ``n_tail``
        (products playing no clear role), ``gap_role`` / ``gap`` (the role furthest from its
        target share, signed product share − target; None/NaN without a target),
        ``traffic_sales_share`` and ``profit_sales_share`` (sales shares of the two roles).
    """
    assigned = behaviour["role"].notna()
    n_match = int((behaviour["role_match"] == True).sum())  # noqa: E712 (object column)
    out = {
        "basis": mix["basis"].iloc[0] if len(mix) else "behaviour",
        "n_assigned": int(assigned.sum()),
        "n_match": n_match,
        "match_share": n_match / int(assigned.sum()) if assigned.any() else float("nan"),
        "n_tail": int((behaviour["behaviour_role"] == "tail").sum()),
        "gap_role": None,
        "gap": float("nan"),
    }
    g = mix.dropna(subset=["mix_gap"])
    if len(g):
        j = g["mix_gap"].abs().to_numpy().argmax()
        out["gap_role"] = g["role"].iloc[j]
        out["gap"] = float(g["mix_gap"].iloc[j])
    share = mix.set_index("role")["sales_share"]
    out["traffic_sales_share"] = float(share.get("traffic", np.nan))
    out["profit_sales_share"] = float(share.get("profit", np.nan))
    return out


# --------------------------------------------------------------------------------------------
# funnel


_FUNNEL_COLS = ("impressions", "clicks", "visitors", "add_to_cart", "buyers")
_RATES = {  # rate: (numerator, denominator, stage it diagnoses)
    "ctr": ("clicks", "impressions", "click"),
    "cart_rate": ("add_to_cart", "visitors", "detail"),
    "pay_rate": ("buyers", "add_to_cart", "checkout"),
}


def diagnose_funnel(
    funnel: pd.DataFrame, min_visitors: int = 100, tolerance: float = 0.75, min_peers: int = 3
) -> pd.DataFrame:
    """Rates, norms and the fix for a product-level funnel table.

    Parameters
    ----------
    funnel : one row per product with ``product_id``, optional ``category`` and the counts
        ``impressions, clicks, visitors, add_to_cart, buyers`` (NaN where not exported).
    min_visitors : products with fewer visitors are not diagnosed (``low_traffic``) and do not
        set the norms.
    tolerance : a stage is weak when its rate is below ``tolerance`` × its norm.
    min_peers : a category sets its own norm when it has at least this many diagnosable
        products; otherwise the shop's norm is used.

    Returns
    -------
    pandas.DataFrame
        The input plus the rates ``ctr`` (clicks / impressions: the main-image click rate),
        ``cart_rate`` (add-to-cart / visitors), ``pay_rate`` (buyers / add-to-cart),
        ``conversion`` (buyers / visitors); for each rate the shop norm ``<rate>_shop``
        (median over products), the category norm ``<rate>_cat``, the norm used ``<rate>_norm``
        and ``<rate>_vs_norm`` (rate / norm); ``norm_from`` (``category`` or ``shop``) and
        ``stage``: the weakest stage below tolerance — ``click`` (fix the main image and the
        title), ``detail`` (many clicks, few buyers: the detail page, price or reviews),
        ``checkout`` (carts not paid: the offer or stock) — or ``ok``, or ``low_traffic``.
    """
    t = funnel.copy()
    if "category" not in t.columns:
        t["category"] = None
    for c in _FUNNEL_COLS:
        if c not in t.columns:
            t[c] = np.nan
    t["conversion"] = _div(t["buyers"], t["visitors"])
    enough = (t["visitors"].fillna(0) >= min_visitors).to_numpy()
    cat = t["category"].fillna("").astype(str)
    peers = pd.Series(enough, index=t.index).groupby(cat).transform("sum").to_numpy()
    use_cat = enough & (peers >= min_peers) & (cat != "").to_numpy()
    t["norm_from"] = np.where(use_cat, "category", "shop")
    ratios = []
    for rate, (num, den, _stage) in _RATES.items():
        r = _div(t[num], t[den])
        t[rate] = r
        valid = pd.Series(np.where(enough, r, np.nan), index=t.index)
        t[f"{rate}_shop"] = float(valid.median()) if valid.notna().any() else np.nan
        t[f"{rate}_cat"] = valid.groupby(cat).transform("median").to_numpy()
        t[f"{rate}_norm"] = np.where(use_cat, t[f"{rate}_cat"], t[f"{rate}_shop"])
        vs = _div(r, t[f"{rate}_norm"])
        t[f"{rate}_vs_norm"] = vs
        ratios.append(np.where(np.isfinite(vs), vs, np.inf))
    rat = np.vstack(ratios)  # stages × products
    worst = rat.argmin(axis=0)
    weak = rat.min(axis=0) < tolerance
    stage = np.array(FUNNEL_STAGES)[worst]
    t["stage"] = np.where(~enough, "low_traffic", np.where(weak, stage, "ok"))
    return t


def product_funnel(
    traffic: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    days: int = 28,
    min_visitors: int = 100,
    tolerance: float = 0.75,
) -> pd.DataFrame:
    """Per product: impressions → clicks → visitors → add-to-cart → buyers, and the fix.

    Parameters
    ----------
    traffic : canonical traffic; product rows have ``product_id`` set (shop rows are ignored).
    catalogue : :func:`product_catalogue` (title, category).
    as_of, days : the window (the ``days`` days ending on ``as_of``).
    min_visitors, tolerance : see :func:`diagnose_funnel`.

    Returns
    -------
    pandas.DataFrame
        :func:`diagnose_funnel` output with ``title``, sorted: weak products first (by visitors,
        most first), then ok, then low traffic.
    """
    tr = traffic[traffic["product_id"].notna()]
    end = _ts(as_of)
    tr = tr[(tr["date"] > end - days * DAY) & (tr["date"] <= end)]
    counts = tr.groupby("product_id")[list(_FUNNEL_COLS)].sum(min_count=1)
    counts = counts.reset_index()
    f = counts.merge(catalogue[["product_id", "title", "category"]], on="product_id", how="left")
    t = diagnose_funnel(f, min_visitors=min_visitors, tolerance=tolerance)
    order = t["stage"].map({"click": 0, "detail": 0, "checkout": 0, "ok": 1, "low_traffic": 2})
    t = t.assign(_o=order, _v=-t["visitors"].fillna(0))
    t = t.sort_values(["_o", "_v", "product_id"], kind="stable").drop(columns=["_o", "_v"])
    return t.reset_index(drop=True)


def funnel_summary(
    funnel: pd.DataFrame, traffic: pd.DataFrame | None = None, as_of=None, days: int = 28
) -> dict:
    """Headline numbers of :func:`product_funnel`.

    Returns
    -------
    dict
        ``n_products`` (with traffic), ``n_diagnosed``, ``n_<stage>`` for click, detail,
        checkout, ok, low_traffic; ``top_stage`` (the most frequent weak stage, or None);
        ``ctr_shop``, ``cart_rate_shop``, ``pay_rate_shop`` (median product norms); with the
        traffic table also the shop-level rows' ``shop_ctr``, ``shop_conversion``.
    """
    counts = funnel["stage"].value_counts()
    out = {
        "n_products": len(funnel),
        "n_diagnosed": int((funnel["stage"] != "low_traffic").sum()),
        **{f"n_{s}": int(counts.get(s, 0)) for s in (*FUNNEL_STAGES, "ok", "low_traffic")},
    }
    weak = [(out[f"n_{s}"], -i, s) for i, s in enumerate(FUNNEL_STAGES) if out[f"n_{s}"]]
    out["top_stage"] = max(weak)[2] if weak else None
    for rate in _RATES:
        col = f"{rate}_shop"
        out[col] = float(funnel[col].iloc[0]) if len(funnel) else float("nan")
    if traffic is not None and as_of is not None:
        end = _ts(as_of)
        sh = traffic[traffic["product_id"].isna()]
        sh = sh[(sh["date"] > end - days * DAY) & (sh["date"] <= end)]
        tot = sh[list(_FUNNEL_COLS)].sum(min_count=1)
        out["shop_ctr"] = float(_div(tot["clicks"], tot["impressions"]))
        out["shop_conversion"] = float(_div(tot["buyers"], tot["visitors"]))
    return out


# --------------------------------------------------------------------------------------------
# life cycle


def classify_lifecycle(
    block_sales: pd.DataFrame,
    shop_sales: pd.Series | np.ndarray,
    age_days: pd.Series | np.ndarray,
    block_orders: pd.DataFrame | None = None,
    tolerance: float = 0.25,
    new_days: int = 91,
    peak_drop: float = 0.5,
    min_z: float = 2.0,
    min_orders: int = 10,
) -> pd.DataFrame:
    """Life-cycle stage from the product's own sales in consecutive blocks (quarters) counted
    back from the analysis date.

    Parameters
    ----------
    block_sales : products × blocks; column 0 is the most recent block, 1 the one before, ...
    shop_sales : the shop's sales in the same blocks (only for the ``share_*`` columns shown).
    age_days : days since launch (or first sale), aligned with ``block_sales``.
    block_orders : optional orders per product and block (same shape). When given, a change
        only counts when the order count moved beyond chance: ``|z| ≥ min_z`` with
        z = (recent − before) / √(recent + before) (two Poisson counts), both quarter on
        quarter and against the peak block; and a product with fewer than ``min_orders`` orders
        in the last two blocks together is ``thin`` (too few sales to call a trend).
    tolerance : own sales up or down by more than this fraction quarter on quarter is rising
        or falling.
    new_days : younger products are ``new``.
    peak_drop : recent sales below this fraction of the product's own best block, while not
        growing quarter on quarter, is a decline too (a slow slide that no single quarter
        shows).
    min_z, min_orders : see ``block_orders``.

    Returns
    -------
    pandas.DataFrame
        Index of ``block_sales``; ``sales_prev``, ``sales_peak``, ``trend`` (recent / previous
        own sales), ``peak_ratio`` (recent / peak), ``share_recent``, ``share_prev``,
        ``share_peak`` and ``lifecycle``, the first that applies of: ``new`` (age <
        ``new_days``), ``inactive`` (no sales in the recent block), ``thin``, ``declining``
        (own sales down by more than ``tolerance``, or below ``peak_drop`` × its peak without
        growing), ``rising`` (up by more than ``tolerance``), ``mature``. A declining product
        sold less in the recent block than in the one before.
    """
    sales = block_sales.to_numpy(float)
    shop = np.asarray(shop_sales, dtype=float)
    share = np.nan_to_num(_div(sales, np.broadcast_to(shop, sales.shape)), nan=0.0)
    recent, prev = sales[:, 0], sales[:, 1]
    top = sales.argmax(axis=1)
    rows = np.arange(len(sales))
    peak = sales[rows, top]
    age = np.asarray(age_days, dtype=float)
    moved = np.ones(len(recent), bool)
    fell = np.ones(len(recent), bool)
    enough = np.ones(len(recent), bool)
    if block_orders is not None:
        o = np.asarray(block_orders, dtype=float)
        z = _div(o[:, 0] - o[:, 1], np.sqrt(o[:, 0] + o[:, 1]))
        moved = np.abs(np.nan_to_num(z)) >= min_z
        opk = o[rows, top]
        zp = _div(o[:, 0] - opk, np.sqrt(o[:, 0] + opk))
        fell = np.nan_to_num(zp) <= -min_z
        enough = (o[:, 0] + o[:, 1]) >= min_orders
    stage = np.select(
        [
            age < new_days,
            recent <= 0,
            ~enough,
            moved & (recent < prev * (1 - tolerance)),
            fell & (recent < peak_drop * peak) & (recent < prev),
            moved & (recent > prev * (1 + tolerance)),
        ],
        ["new", "inactive", "thin", "declining", "declining", "rising"],
        "mature",
    )
    return pd.DataFrame(
        {
            "sales_prev": prev,
            "sales_peak": peak,
            "trend": _div(recent, prev),
            "peak_ratio": _div(recent, peak),
            "share_recent": share[:, 0],
            "share_prev": share[:, 1],
            "share_peak": share.max(axis=1),
            "lifecycle": stage,
        },
        index=block_sales.index,
    )


def lifecycle(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    block_days: int = 91,
    n_blocks: int = 8,
    tolerance: float = 0.25,
    new_days: int = 91,
    min_orders: int = 10,
) -> pd.DataFrame:
    """Life cycle of every product from its quarterly sales trajectory, and long sellers.

    Sales are cut into ``n_blocks`` blocks of ``block_days`` days counted back from ``as_of``
    (block 0 ends on ``as_of``) and classified by :func:`classify_lifecycle`.

    A **long seller** (the article: good sellers keep selling in their second and third year) has
    sales in at least two 365-day years counted back from ``as_of``, sold in each of the last
    four blocks, holds at least an average
    product's share of the last year's sales, and kept at least half of its share of the year
    before.

    Returns
    -------
    pandas.DataFrame
        One row per catalogue product: ``product_id, title, role, age_days, sales_recent``
        (net sales in block 0), the :func:`classify_lifecycle` columns, ``years_selling`` (365-day years back from ``as_of`` with a sale), ``long_seller``.
    """
    end = _ts(as_of)
    d = _window(daily, end, block_days * n_blocks)
    block = ((end - d["day"]).dt.days // block_days).to_numpy()
    piv = d.assign(_b=block).pivot_table(
        index="product_id", columns="_b", values=["net", "orders"], aggfunc="sum", fill_value=0
    )
    wide = piv["net"].reindex(index=catalogue["product_id"], columns=range(n_blocks), fill_value=0)
    n_ord = piv["orders"].reindex(
        index=catalogue["product_id"], columns=range(n_blocks), fill_value=0
    )
    shop = wide.sum(axis=0).to_numpy(float)
    age = (end - catalogue["start_date"]).dt.days.fillna(0).to_numpy()
    out = classify_lifecycle(
        wide,
        shop,
        age,
        block_orders=n_ord,
        tolerance=tolerance,
        new_days=new_days,
        min_orders=min_orders,
    )
    per_year = max(1, 365 // block_days)
    yr = wide.to_numpy(float)
    last_year = yr[:, :per_year].sum(axis=1)
    prev_year = yr[:, per_year : 2 * per_year].sum(axis=1)
    n = max(len(catalogue), 1)
    share_ly = np.nan_to_num(_div(last_year, last_year.sum()))
    share_py = np.nan_to_num(_div(prev_year, prev_year.sum()))
    full = _window(daily, end, 365 * 3)
    yrs = (
        full.assign(_y=((end - full["day"]).dt.days // 365))
        .groupby("product_id")["_y"]
        .nunique()
        .reindex(catalogue["product_id"], fill_value=0)
    )
    long = (
        (yrs.to_numpy() >= 2)
        & (yr[:, :per_year] > 0).all(axis=1)
        & (share_ly >= 1.0 / n)
        & (share_ly >= 0.5 * share_py)
    )
    res = catalogue[["product_id", "title", "role"]].reset_index(drop=True)
    res["age_days"] = age.astype(int)
    res["sales_recent"] = yr[:, 0]
    res = pd.concat([res, out.reset_index(drop=True)], axis=1)
    res["years_selling"] = yrs.to_numpy(int)
    res["long_seller"] = long
    return res


def lifecycle_summary(lc: pd.DataFrame) -> dict:
    """Counts per stage (``n_new`` …), sales share per stage (``sales_new`` …), long sellers
    (``n_long``, ``long_share``: their share of block-0 sales) and ``top_long`` (title of the
    biggest long seller, or None)."""
    tot = lc["sales_recent"].sum()
    out = {}
    for s in LIFECYCLE_STAGES:
        m = lc["lifecycle"] == s
        out[f"n_{s}"] = int(m.sum())
        out[f"sales_{s}"] = float(lc.loc[m, "sales_recent"].sum() / tot) if tot else 0.0
    ls = lc[lc["long_seller"]].sort_values(
        ["sales_recent", "product_id"], ascending=[False, True], kind="stable"
    )
    out["n_long"] = len(ls)
    out["long_share"] = float(ls["sales_recent"].sum() / tot) if tot else 0.0
    out["top_long"] = ls["title"].iloc[0] if len(ls) else None
    return out


# --------------------------------------------------------------------------------------------
# hot-product tendency (爆款倾向)


def _dense(
    daily: pd.DataFrame, ids: pd.Index, start: pd.Timestamp, end: pd.Timestamp, col: str = "net"
) -> np.ndarray:
    """Products × days matrix of ``col`` from ``start`` to ``end`` (inclusive)."""
    d = daily[(daily["day"] >= start) & (daily["day"] <= end)]
    n_days = (end - start).days + 1
    m = np.zeros((len(ids), n_days))
    r = ids.get_indexer(d["product_id"])
    c = (d["day"] - start).dt.days.to_numpy()
    ok = r >= 0
    np.add.at(m, (r[ok], c[ok]), d[col].to_numpy(float)[ok])
    return m


def _hot_scores(
    cum: np.ndarray,
    i: int,
    age: np.ndarray,
    weeks: int,
    horizon: int,
    top: int,
    min_t: float,
    max_age: int,
) -> dict[str, np.ndarray]:
    """Sales-side 爆款 signal at day index ``i`` of a cumulative products × days matrix.

    Weekly shares of the shop's sales over the last ``weeks`` weeks; an OLS line through them
    gives the slope, its t statistic and the share projected ``horizon`` weeks ahead, compared
    with the current top-``top`` bar (the ``top``-th largest share over the last four weeks).
    """
    idx = [i - 7 * k for k in range(weeks, -1, -1)]
    wk = np.diff(cum[:, idx], axis=1)  # products × weeks
    tot = wk.sum(axis=0, keepdims=True)
    share = _div(wk, np.broadcast_to(tot, wk.shape))
    share = np.nan_to_num(share)
    x = np.arange(weeks) - (weeks - 1) / 2
    sxx = float((x**2).sum())
    mean = share.mean(axis=1)
    slope = (share * x).sum(axis=1) / sxx
    resid = share - mean[:, None] - slope[:, None] * x
    se = np.sqrt((resid**2).sum(axis=1) / max(weeks - 2, 1) / sxx)
    tstat = np.where(se > 0, slope / np.where(se > 0, se, 1), np.where(slope > 0, np.inf, 0.0))
    proj = mean + slope * ((weeks - 1) / 2 + horizon)
    rec4 = share[:, -4:].mean(axis=1)
    k = min(top, len(rec4))
    bar = np.sort(rec4)[-k] if k else np.nan
    is_top = rec4 >= bar if k else np.zeros(len(rec4), bool)
    ratio = _div(proj, np.full(len(proj), bar))
    flag = (~is_top) & (ratio >= 1.0) & (tstat >= min_t) & (age <= max_age) & (slope > 0)
    return {
        "share_4w": rec4,
        "slope": slope,
        "t_stat": tstat,
        "projected_share": proj,
        "top_bar": np.full(len(proj), bar),
        "score": np.nan_to_num(ratio),
        "is_top": is_top,
        "flag": flag,
    }


def _peer_rates(
    traffic: pd.DataFrame | None, catalogue: pd.DataFrame, end: pd.Timestamp, days: int
) -> pd.DataFrame | None:
    """Conversion and add-to-cart per product over two windows, against category peers."""
    if traffic is None or not traffic["product_id"].notna().any():
        return None
    tr = traffic[traffic["product_id"].notna()]
    tr = tr[(tr["date"] > end - 2 * days * DAY) & (tr["date"] <= end)]
    if tr.empty:
        return None
    recent = (tr["date"] > end - days * DAY).to_numpy()
    cols = ["visitors", "add_to_cart", "buyers"]
    g = tr.assign(_r=recent).groupby(["product_id", "_r"])[cols].sum(min_count=1)
    cur = g.xs(True, level="_r").reindex(catalogue["product_id"])
    pre = (
        g.xs(False, level="_r").reindex(catalogue["product_id"])
        if (~recent).any()
        else cur * np.nan
    )
    t = pd.DataFrame({"product_id": catalogue["product_id"].to_numpy()})
    t["conversion"] = _div(cur["buyers"], cur["visitors"])
    t["cart_rate"] = _div(cur["add_to_cart"], cur["visitors"])
    conv_pre = _div(pre["buyers"], pre["visitors"])
    cart_pre = _div(pre["add_to_cart"], pre["visitors"])
    t["conversion_change"] = _div(t["conversion"], conv_pre) - 1
    t["cart_change"] = _div(t["cart_rate"], cart_pre) - 1
    cat = catalogue["category"].fillna("").astype(str).to_numpy()
    for c in ("conversion", "cart_rate"):
        med = t[c].groupby(cat).transform("median")
        t[f"{c}_vs_peers"] = _div(t[c], med)
    return t


def hot_tendency(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    traffic: pd.DataFrame | None = None,
    weeks: int = 6,
    horizon: int = 8,
    top: int = 10,
    min_t: float = 1.5,
    max_age_days: int = 365,
    min_orders: int = 5,
    min_days: int = 28,
) -> pd.DataFrame:
    """爆款倾向: products whose sales accelerate above their peers early, with the evidence.

    Minimum evidence: a product is flagged only with at least ``min_orders`` orders in the
    last four weeks and ``min_days`` days on sale (``shop.yaml`` ``hot_min_orders`` /
    ``hot_min_days``); ``evidence`` is ``thin`` for a flagged product under twice either
    minimum (say so next to it), else ``ok``; ``short`` for products below a minimum.

    For each product the weekly share of the shop's net sales over the last ``weeks`` weeks is
    fitted with a straight line (shares, not sales, so a festival lifting every product lifts
    no one's score). A product is **flagged** when it is not yet among the top ``top`` sellers
    of the last four weeks, is at most ``max_age_days`` old, its share rises (slope t statistic
    ≥ ``min_t``), and the line projects it to the top-``top`` bar within ``horizon`` weeks.
    ``hot_score`` = projected share / the bar (≥ 1: on course for the top ``top``). With
    product traffic rows, conversion and add-to-cart rates (last 28 days, against category
    peers and against the 28 days before) are shown as evidence; they nudge the score by at
    most ±25% (geometric mean of the two peer ratios, clipped to 0.8–1.25) but do not decide
    the flag, because sales are what a backtest can check.

    Returns
    -------
    pandas.DataFrame
        One row per catalogue product sorted by flag then ``hot_score`` (descending, ties by
        product_id): ``product_id, title, category, role, age_days, sales_4w`` (net sales, last
        28 days), ``sales_prev_4w``, ``growth`` (sales_4w / sales_prev_4w − 1), ``share_4w``,
        ``slope`` (share points per week), ``t_stat``, ``projected_share``, ``top_bar``,
        ``hot_score``, ``is_top``, ``flag``, ``watch_rank`` (1… for flagged products, else NaN)
        and, with traffic, ``conversion, conversion_vs_peers, conversion_change, cart_rate,
        cart_rate_vs_peers, cart_change``.
    """
    end = _ts(as_of)
    ids = pd.Index(catalogue["product_id"])
    start = end - (7 * max(weeks, 8) + 1) * DAY
    m = _dense(daily, ids, start, end)
    cum = np.concatenate([np.zeros((len(ids), 1)), np.cumsum(m, axis=1)], axis=1)
    i = cum.shape[1] - 1
    age = (end - catalogue["start_date"]).dt.days.fillna(0).to_numpy(float)
    sc = _hot_scores(cum, i, age, weeks, horizon, top, min_t, max_age_days)
    t = catalogue[["product_id", "title", "category", "role"]].reset_index(drop=True)
    t["age_days"] = age.astype(int)
    t["sales_4w"] = cum[:, i] - cum[:, i - 28]
    t["sales_prev_4w"] = cum[:, i - 28] - cum[:, i - 56]
    t["growth"] = _div(t["sales_4w"], t["sales_prev_4w"]) - 1
    for k in ("share_4w", "slope", "t_stat", "projected_share", "top_bar"):
        t[k] = sc[k]
    score = sc["score"]
    peers = _peer_rates(traffic, catalogue, end, 28)
    if peers is not None:
        for c in peers.columns[1:]:
            t[c] = peers[c].to_numpy()
        boost = np.sqrt(
            np.nan_to_num(t["conversion_vs_peers"].to_numpy(float), nan=1.0)
            * np.nan_to_num(t["cart_rate_vs_peers"].to_numpy(float), nan=1.0)
        )
        score = score * np.clip(np.nan_to_num(boost, nan=1.0), 0.8, 1.25)
    t["hot_score"] = score
    t["is_top"] = sc["is_top"]
    om = _dense(daily, ids, end - 27 * DAY, end, "orders") if "orders" in daily else None
    t["orders_4w"] = om.sum(axis=1) if om is not None else np.nan
    o4 = t["orders_4w"].fillna(0).to_numpy(float)
    enough = (o4 >= min_orders) & (age >= min_days)
    t["flag"] = sc["flag"] & enough
    t["evidence"] = np.where(
        ~enough, "short", np.where((o4 < 2 * min_orders) | (age < 2 * min_days), "thin", "ok")
    )
    t = t.sort_values(
        ["flag", "hot_score", "product_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    t["watch_rank"] = np.where(t["flag"], np.arange(1, len(t) + 1), np.nan)
    return t


def hot_summary(hot: pd.DataFrame) -> dict:
    """``n_flagged``; for the first flagged product (None when none) ``top_title``,
    ``top_share`` (share of the last 4 weeks' sales), ``top_slope`` (share gained per week),
    ``top_growth`` (last 4 weeks on the 4 before; NaN when it had no sales before) and
    ``top_score``; ``traffic_confirms`` (flagged products converting at or above their peers,
    when traffic exists)."""
    w = hot[hot["flag"]]
    out = {
        "n_flagged": len(w),
        "top_title": None,
        "top_share": None,
        "top_slope": None,
        "top_growth": None,
        "top_score": None,
    }
    if len(w):
        out |= {
            "top_title": w["title"].iloc[0],
            "top_share": float(w["share_4w"].iloc[0]),
            "top_slope": float(w["slope"].iloc[0]),
            "top_growth": float(w["growth"].iloc[0]),
            "top_score": float(w["hot_score"].iloc[0]),
        }
    if "conversion_vs_peers" in hot.columns:
        out["traffic_confirms"] = int((w["conversion_vs_peers"] >= 1).sum())
    return out


def hot_backtest(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    start,
    end,
    top: int = 10,
    freq: str = "W-SUN",
    entry_days: int = 30,
    **kwargs,
) -> pd.DataFrame:
    """Replay :func:`hot_tendency` (sales signal) at every ``freq`` date and score the flags.

    At each date the detector sees only the sales up to that date. A product *enters the
    top ``top``* on the first day its trailing ``entry_days``-day net sales rank among the top
    ``top`` (ties by product order); the calendar month it first ranks top ``top`` by monthly
    sales is reported too.

    Parameters
    ----------
    daily, catalogue : as for :func:`hot_tendency`.
    start, end : first and last as-of date of the replay.
    top, freq, entry_days : see above.
    **kwargs : ``weeks``, ``horizon``, ``min_t``, ``max_age_days``, ``min_orders``,
        ``min_days`` for the detector (the minimum evidence of :func:`hot_tendency` applies in
        the replay too, so the backtest scores the rule the page uses).

    Returns
    -------
    pandas.DataFrame
        One row per product flagged at least once or entering the top ``top`` after ``start``:
        ``product_id, title, first_flag, times_flagged, entry_date`` (first top-``top`` day on
        or after ``start``, NaT if none), ``entry_month``, ``lead_days`` (entry_date −
        first_flag; NaN when not flagged before entry), ``hit`` (flagged before entering),
        ``was_top`` (already top ``top`` at ``start``).
    """
    opts = {
        "weeks": 6,
        "horizon": 8,
        "min_t": 1.5,
        "max_age_days": 365,
        "min_orders": 5,
        "min_days": 28,
    } | kwargs
    start, end = _ts(start), _ts(end)
    ids = pd.Index(catalogue["product_id"])
    first_day = daily["day"].min() if len(daily) else start
    lo = min(first_day, start - (7 * max(opts["weeks"], 8) + entry_days + 1) * DAY)
    m = _dense(daily, ids, lo, end)
    cum = np.concatenate([np.zeros((len(ids), 1)), np.cumsum(m, axis=1)], axis=1)
    mo = _dense(daily, ids, lo, end, "orders") if "orders" in daily else np.zeros_like(m)
    cum_o = np.concatenate([np.zeros((len(ids), 1)), np.cumsum(mo, axis=1)], axis=1)
    n = len(ids)
    # entry: trailing entry_days sales in the top `top`, every day
    roll = cum[:, entry_days:] - cum[:, :-entry_days]  # column j: window ending day j+entry-1
    k = min(top, n)
    bar = -np.partition(-roll, k - 1, axis=0)[k - 1] if k else np.full(roll.shape[1], np.inf)
    in_top = (roll >= bar[None, :]) & (roll > 0)
    day0 = lo + (entry_days - 1) * DAY
    days = pd.date_range(day0, end, freq="D")
    s_col = (start - day0).days
    was_top = in_top[:, s_col] if 0 <= s_col < in_top.shape[1] else np.zeros(n, bool)
    after = in_top[:, max(s_col, 0) :]
    has = after.any(axis=1)
    entry = np.where(has, after.argmax(axis=1) + max(s_col, 0), -1)
    entry_date = pd.Series(np.where(has, days[np.clip(entry, 0, None)], pd.NaT), index=ids)
    entry_date = entry_date.where(has & ~was_top)
    # monthly ranks
    month_start = pd.Series(pd.date_range(lo, end, freq="D")).dt.to_period("M")
    mt = pd.DataFrame(m.T).groupby(month_start.to_numpy()).sum()
    mrank = mt.rank(axis=1, ascending=False, method="first").to_numpy().T <= top
    mrank &= mt.to_numpy().T > 0
    months = mt.index.to_timestamp()
    after_m = months >= start.to_period("M").to_timestamp()
    mm = mrank[:, after_m]
    entry_month = pd.Series(
        np.where(mm.any(axis=1), months[after_m][mm.argmax(axis=1)], pd.NaT), index=ids
    )
    # replay
    age0 = catalogue["start_date"].to_numpy()
    first = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    times = np.zeros(n, int)
    for a in pd.date_range(start, end, freq=freq):
        i = (a - lo).days + 1
        age = ((a.to_datetime64() - age0) / np.timedelta64(1, "D")).astype(float)
        age = np.nan_to_num(age, nan=0.0)
        sc = _hot_scores(
            cum, i, age, opts["weeks"], opts["horizon"], top, opts["min_t"], opts["max_age_days"]
        )
        o4 = cum_o[:, i] - cum_o[:, max(i - 28, 0)]
        f = sc["flag"] & (o4 >= opts["min_orders"]) & (age >= opts["min_days"])
        times += f
        new = f & np.isnat(first)
        first[new] = a.to_datetime64()
    res = pd.DataFrame(
        {
            "product_id": ids,
            "title": catalogue["title"].to_numpy(),
            "first_flag": first,
            "times_flagged": times,
            "entry_date": pd.to_datetime(entry_date.to_numpy()),
            "entry_month": pd.to_datetime(entry_month.to_numpy()),
            "was_top": was_top,
        }
    )
    lead = (res["entry_date"] - res["first_flag"]).dt.days
    res["hit"] = lead.gt(0).fillna(False).astype(bool)
    res["lead_days"] = lead.where(res["hit"])
    keep = res["first_flag"].notna() | res["entry_date"].notna()
    return res[keep].sort_values(["first_flag", "product_id"], kind="stable").reset_index(drop=True)


def backtest_summary(bt: pd.DataFrame) -> dict:
    """Headline numbers of :func:`hot_backtest`: ``n_flagged`` (products flagged at least once),
    ``n_hit`` (flagged and later top), ``precision`` (n_hit / n_flagged), ``n_entered`` (new
    top products in the period), ``recall`` (share of them flagged before entering),
    ``median_lead_days`` and ``min_lead_days`` over the hits."""
    flagged = bt["first_flag"].notna()
    entered = bt["entry_date"].notna()
    hits = bt["hit"].astype(bool)
    lead = bt.loc[hits, "lead_days"]
    return {
        "n_flagged": int(flagged.sum()),
        "n_hit": int(hits.sum()),
        "precision": float(hits.sum() / flagged.sum()) if flagged.any() else float("nan"),
        "n_entered": int(entered.sum()),
        "recall": float((hits & entered).sum() / entered.sum()) if entered.any() else float("nan"),
        "median_lead_days": float(lead.median()) if len(lead) else float("nan"),
        "min_lead_days": float(lead.min()) if len(lead) else float("nan"),
    }


def weekly_sales(daily: pd.DataFrame, product_ids, as_of, weeks: int = 12) -> pd.DataFrame:
    """Weekly net sales (weeks ending on ``as_of``'s weekday) of some products: wide table with
    ``week_end`` and one column per product id, in the order given."""
    end = _ts(as_of)
    ids = pd.Index(list(product_ids))
    m = _dense(daily, ids, end - (7 * weeks - 1) * DAY, end)
    wk = m.reshape(len(ids), weeks, 7).sum(axis=2)
    out = pd.DataFrame(wk.T, columns=ids)
    out.insert(0, "week_end", end - 7 * DAY * np.arange(weeks - 1, -1, -1))
    return out


# --------------------------------------------------------------------------------------------
# stock cover and festival stock-out risk


def festival_uplift(
    daily: pd.DataFrame, as_of, overrides=None, lookback_days: int = 400, baseline_days: int = 28
) -> pd.DataFrame:
    """Expected sales uplift of each festival node, from the shop's last occurrence of it.

    Observed uplift = average daily units (all products) over the node's whole window (pre-sale
    and main phase) ÷ the average over the non-festival days among the ``baseline_days`` before
    the window (at least a week of them, else no observation). The prior, used
    when the shop has no such history, is the calendar's ``weight`` on the main-phase days and 1
    on pre-sale days, averaged over the window.

    Returns
    -------
    pandas.DataFrame
        One row per node key: ``key, name_zh, name_en, uplift_prior, uplift_observed``
        (NaN without history), ``uplift`` (observed, else prior), ``source`` (``history`` or
        ``calendar``).
    """
    end = _ts(as_of)
    units = daily.groupby("day")["units"].sum()
    first = units.index.min() if len(units) else end
    past = cal.festival_nodes(end - lookback_days * DAY, end, overrides)
    past = past[past["end"] <= end]
    fd = cal.festival_days(end - (lookback_days + baseline_days) * DAY, end, overrides)
    calm = pd.DatetimeIndex(fd.loc[fd["phase"].isna(), "date"])
    future = cal.festival_nodes(end, end + 400 * DAY, overrides)
    nodes = pd.concat([future, past], ignore_index=True).drop_duplicates("key")
    rows = []
    for n in nodes.itertuples(index=False):
        ws = n.presale_start if pd.notna(n.presale_start) else n.start
        main = (n.end - n.start).days + 1
        pre = (n.start - ws).days
        prior = (pre + main * n.weight) / (pre + main)
        occ = past[past["key"] == n.key].sort_values("end").tail(1)
        obs = np.nan
        if len(occ):
            o = occ.iloc[0]
            ows = o["presale_start"] if pd.notna(o["presale_start"]) else o["start"]
            b0 = ows - baseline_days * DAY
            base_days = calm[(calm >= b0) & (calm < ows)]
            if b0 >= first and len(base_days) >= 7:
                win = units.reindex(pd.date_range(ows, o["end"]), fill_value=0).mean()
                base = units.reindex(base_days, fill_value=0).mean()
                obs = float(win / base) if base > 0 else np.nan
        rows.append(
            {
                "key": n.key,
                "name_zh": n.name_zh,
                "name_en": n.name_en,
                "uplift_prior": float(prior),
                "uplift_observed": obs,
            }
        )
    t = pd.DataFrame(rows, columns=["key", "name_zh", "name_en", "uplift_prior", "uplift_observed"])
    t["uplift"] = t["uplift_observed"].fillna(t["uplift_prior"])
    t["source"] = np.where(t["uplift_observed"].notna(), "history", "calendar")
    return t


def sell_through(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    velocity_days: int = 28,
    festive_days: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """Everyday sell-through rate per product: units a day and their day-to-day spread.

    Over the last ``velocity_days`` days, leaving out the days in ``festive_days`` (festival
    phases) when at least half the window remains, so a recent festival does not inflate the
    everyday rate. ``rate`` = units / days in the window (days without a sale count as 0);
    ``sd`` = the sample standard deviation of the daily units over the same days.

    Returns
    -------
    pandas.DataFrame
        ``product_id, rate, sd, days`` in catalogue order.
    """
    end = _ts(as_of)
    w = _window(daily, end, velocity_days)
    n_days = velocity_days
    if festive_days is not None and len(festive_days):
        calm = ~w["day"].isin(festive_days)
        n_calm = velocity_days - int(
            pd.DatetimeIndex(festive_days)
            .isin(pd.date_range(end - (velocity_days - 1) * DAY, end))
            .sum()
        )
        if n_calm >= velocity_days / 2:
            w, n_days = w[calm.to_numpy()], n_calm
    per_day = w.groupby(["product_id", "day"])["units"].sum()
    g = per_day.groupby(level="product_id")
    ids = catalogue["product_id"]
    s1 = g.sum().reindex(ids).fillna(0).to_numpy(float)
    s2 = (per_day**2).groupby(level="product_id").sum().reindex(ids).fillna(0).to_numpy(float)
    rate = s1 / n_days
    var = (s2 - n_days * rate**2) / max(n_days - 1, 1)
    return pd.DataFrame(
        {
            "product_id": ids.to_numpy(),
            "rate": rate,
            "sd": np.sqrt(np.clip(var, 0, None)),
            "days": n_days,
        }
    )


def safety_z(service_level: float | None) -> float:
    """Standard-normal quantile of the cycle service level (0.95 -> 1.645); 0 when None."""
    if service_level is None or not 0 < float(service_level) < 1:
        return 0.0
    return float(NormalDist().inv_cdf(float(service_level)))


def reorder_plan(
    items: pd.DataFrame,
    events: pd.DataFrame,
    as_of,
    service_level: float | None = None,
    receive_buffer_days: int = 0,
) -> pd.DataFrame:
    """The one stock model: reorder quantity and latest order date per product and event.

    Both the product analysis (03, every product) and the promotion plan (05, the heroes) read
    their reorders from this function, so they give the same answer for the same product and
    festival.

    Per product, events are taken in order of their last day (ties: launch, then key). Need by
    the end of event *c* = rate × days from ``as_of`` to that end + the extra units of every
    event up to *c* (rate × (uplift − 1) × the event's days still ahead) + safety stock.
    Safety stock = z × sd × √lead time (z from ``service_level``: the chance a lead time's
    demand stays within it). The units to have ordered by *c* = max(0, need − stock), never
    falling; each event's reorder is that amount's increase. A reorder must be in the
    warehouse ``receive_buffer_days`` before the event opens (``launch``): latest order date =
    launch − buffer − lead time.

    Parameters
    ----------
    items : ``product_id, title, stock, rate, sd, lead_time_days`` (see :func:`sell_through`).
    events : ``event, launch, end, uplift`` (uplift: the event's daily units ÷ everyday units).
    as_of : stock is counted on this day; demand starts the day after.

    Returns
    -------
    pandas.DataFrame
        One row per product × event ending after ``as_of``: ``product_id, title, event, launch,
        end, uplift, stock, rate, event_units`` (units the event is expected to sell),
        ``safety_stock, need, reorder_qty, lead_time_days, latest_order_date, status``:
        ``reorder`` (order by the date), ``too_late`` (the date has passed: expedite),
        ``ok``, or ``no_stock_data``. Sorted by product, then event end.
    """
    end = _ts(as_of)
    cols = [
        "product_id",
        "title",
        "event",
        "launch",
        "end",
        "uplift",
        "stock",
        "rate",
        "event_units",
        "safety_stock",
        "need",
        "reorder_qty",
        "lead_time_days",
        "latest_order_date",
        "status",
    ]
    ev = events[pd.to_datetime(events["end"]) > end]
    if items.empty or ev.empty:
        return pd.DataFrame(columns=cols)
    ev = ev[["event", "launch", "end", "uplift"]].copy()
    ev["launch"] = pd.to_datetime(ev["launch"]).astype("datetime64[ns]")
    ev["end"] = pd.to_datetime(ev["end"]).astype("datetime64[ns]")
    ev = ev.sort_values(["end", "launch", "event"], kind="stable").reset_index(drop=True)
    it = items[["product_id", "title", "stock", "rate", "sd", "lead_time_days"]].reset_index(
        drop=True
    )
    n, k = len(it), len(ev)
    rate = it["rate"].to_numpy(float)
    sd = it["sd"].to_numpy(float)
    lead = it["lead_time_days"].to_numpy(float)
    stock = it["stock"].to_numpy(float)
    days_to_end = ((ev["end"] - end) / DAY).to_numpy(float)
    ahead_start = ev["launch"].where(ev["launch"] > end, end + DAY)
    ahead = ((ev["end"] - ahead_start) / DAY).to_numpy(float) + 1
    up = ev["uplift"].astype(float).fillna(1.0).to_numpy()
    extra = rate[:, None] * ((up - 1) * ahead)[None, :]
    safety = safety_z(service_level) * sd * np.sqrt(lead)
    need = rate[:, None] * days_to_end[None, :] + np.cumsum(extra, axis=1) + safety[:, None]
    need = np.ceil(np.round(need, 9))
    total = np.maximum.accumulate(np.clip(need - stock[:, None], 0, None), axis=1)
    total = np.nan_to_num(total)
    qty = np.diff(total, axis=1, prepend=0.0)
    t = pd.DataFrame(
        {
            "product_id": np.repeat(it["product_id"].to_numpy(), k),
            "title": np.repeat(it["title"].to_numpy(), k),
            "event": np.tile(ev["event"].to_numpy(), n),
            "launch": np.tile(ev["launch"].to_numpy(), n),
            "end": np.tile(ev["end"].to_numpy(), n),
            "uplift": np.tile(up, n),
            "stock": np.repeat(stock, k),
            "rate": np.repeat(rate, k),
            "event_units": (rate[:, None] * (up * ahead)[None, :]).ravel(),
            "safety_stock": np.repeat(safety, k),
            "need": need.ravel(),
            "reorder_qty": qty.ravel(),
            "lead_time_days": np.repeat(lead, k),
        }
    )
    t["latest_order_date"] = t["launch"] - pd.to_timedelta(
        t["lead_time_days"] + receive_buffer_days, unit="D"
    )
    due = t["reorder_qty"] > 0
    t["status"] = np.select(
        [t["stock"].isna(), due & (t["latest_order_date"] < end), due],
        ["no_stock_data", "too_late", "reorder"],
        "ok",
    )
    return t[cols]


def stock_cover(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    nodes: pd.DataFrame,
    uplift: Mapping[str, float] | None = None,
    velocity_days: int = 28,
    default_lead_days: int = 21,
    festive_days: pd.DatetimeIndex | None = None,
    service_level: float | None = None,
    receive_buffer_days: int = 0,
) -> pd.DataFrame:
    """Days of stock cover and the stock-out risk ahead of each festival node or campaign.

    * ``velocity`` = everyday units a day (:func:`sell_through`).
    * ``cover_days`` = stock / velocity (inf when nothing sells); ``stockout_date`` = as_of +
      cover_days at that rate.
    * Against the events in ``nodes`` (``key``; window = ``launch``, else pre-sale start, else
      start, to ``end``) the reorders come from :func:`reorder_plan` (the model 05 uses too):
      the first event the product runs short for is shown (else the next event) with
      ``need_to_node`` (units needed by its end, safety stock included), ``shortfall`` (the
      reorder for it) and ``reorder_by`` (its latest order date).

    Parameters
    ----------
    daily, catalogue : :func:`daily_product_sales`, :func:`product_catalogue` (``stock``,
        ``lead_time_days``).
    as_of : the analysis date (stock is as of this day).
    nodes : upcoming events: ``key`` and window columns.
    uplift : event key → expected uplift multiplier (default: the ``uplift`` column, else 1).
    velocity_days, festive_days : see :func:`sell_through`.
    default_lead_days : lead time for products that carry none (``shop.yaml``).
    service_level, receive_buffer_days : see :func:`reorder_plan`.

    Returns
    -------
    pandas.DataFrame
        One row per product with stock: ``product_id, title, role, stock, velocity,
        cover_days, stockout_date, lead_time_days, safety_stock, node, node_start, node_end,
        uplift, need_to_node, shortfall, reorder_by`` and ``status``: ``node_late`` (short for
        an event and reorder_by has passed: expedite), ``node_risk`` (short for an event, still
        time to order), ``low_cover`` (runs out before an order placed today arrives), ``ok``,
        ``no_sales``. Sorted by status severity, then shortfall (largest first).
    """
    end = _ts(as_of)
    cat = catalogue[catalogue["stock"].notna()].reset_index(drop=True)
    st = sell_through(daily, cat, end, velocity_days, festive_days)
    v = st["rate"].to_numpy(float)
    stock = cat["stock"].to_numpy(float)
    lead = cat["lead_time_days"].fillna(default_lead_days).to_numpy(float)
    cover = np.where(v > 0, stock / np.where(v > 0, v, 1), np.inf)
    t = cat[["product_id", "title", "role", "stock"]].copy()
    t["velocity"] = v
    t["cover_days"] = cover
    t["stockout_date"] = pd.to_datetime(
        np.where(np.isfinite(cover), end.to_datetime64(), np.datetime64("NaT"))
    ) + pd.to_timedelta(np.where(np.isfinite(cover), np.floor(cover), 0), unit="D")
    t["lead_time_days"] = lead
    t["safety_stock"] = safety_z(service_level) * st["sd"].to_numpy(float) * np.sqrt(lead)
    ev = stock_events_of(nodes, uplift)
    plan = reorder_plan(
        t.assign(rate=v, sd=st["sd"].to_numpy(float)),
        ev,
        end,
        service_level,
        receive_buffer_days,
    )
    if len(plan):
        plan = plan.assign(_due=plan["reorder_qty"] > 0, _i=np.arange(len(plan)))
        first_due = plan[plan["_due"]].groupby("product_id", sort=False)["_i"].first()
        first_any = plan.groupby("product_id", sort=False)["_i"].first()
        pick = first_due.reindex(first_any.index).fillna(first_any).astype(int)
        row = plan.iloc[pick.to_numpy()].set_index("product_id").reindex(t["product_id"])
        any_short = row["_due"].fillna(False).to_numpy(bool)
        t["node"] = row["event"].to_numpy()
        t["node_start"] = row["launch"].to_numpy()
        t["node_end"] = row["end"].to_numpy()
        t["uplift"] = row["uplift"].to_numpy(float)
        t["need_to_node"] = row["need"].to_numpy(float)
        t["shortfall"] = row["reorder_qty"].to_numpy(float)
        t["reorder_by"] = row["latest_order_date"].to_numpy()
        late = (row["status"] == "too_late").to_numpy()
    else:
        any_short = late = np.zeros(len(t), bool)
        for c in ("node", "node_start", "node_end", "reorder_by"):
            t[c] = pd.NaT if c != "node" else None
        t["uplift"], t["need_to_node"], t["shortfall"] = np.nan, np.nan, 0.0
    t["status"] = np.select(
        [v <= 0, late, any_short, cover < lead],
        ["no_sales", "node_late", "node_risk", "low_cover"],
        "ok",
    )
    sev = {"node_late": 0, "node_risk": 1, "low_cover": 2, "ok": 3, "no_sales": 4}
    t = t.assign(_s=t["status"].map(sev), _sh=-t["shortfall"].fillna(0), _c=t["cover_days"])
    t = t.sort_values(["_s", "_sh", "_c", "product_id"], kind="stable")
    return t.drop(columns=["_s", "_sh", "_c"]).reset_index(drop=True)


def stock_events_of(nodes: pd.DataFrame, uplift: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``event, launch, end, uplift`` from festival nodes or campaigns (``key`` or
    ``campaign_id``; ``launch``, else ``presale_start``, else ``start``)."""
    key = "campaign_id" if "campaign_id" in nodes.columns else "key"
    launch = nodes["launch"] if "launch" in nodes.columns else nodes["start"]
    if "launch" not in nodes.columns and "presale_start" in nodes.columns:
        launch = nodes["presale_start"].fillna(nodes["start"])
    if uplift is not None:
        up = nodes[key].map(lambda k: float(uplift.get(k, 1.0)))
    elif "uplift" in nodes.columns:
        up = nodes["uplift"].astype(float).fillna(1.0)
    else:
        up = pd.Series(1.0, index=nodes.index)
    return pd.DataFrame(
        {
            "event": nodes[key].to_numpy(dtype=object),
            "launch": pd.to_datetime(launch).to_numpy(),
            "end": pd.to_datetime(nodes["end"]).to_numpy(),
            "uplift": up.to_numpy(float),
        }
    )


def stock_risk(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    festivals=None,
    horizon_days: int = 120,
    velocity_days: int = 28,
    default_lead_days: int = 21,
    events: pd.DataFrame | None = None,
    service_level: float | None = None,
    receive_buffer_days: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`stock_cover` against the festival nodes (or ``events``) ending in the next
    ``horizon_days`` days.

    Without ``events`` the nodes come from :func:`helpers.core.calendar.festival_nodes` with the
    shop's ``festivals`` overrides. ``events`` (e.g. the campaign calendar of
    :func:`helpers.analysis.promotions.stock_events`, which 05 plans its stock on) take their uplift
    from :func:`festival_uplift` by ``series`` (the node key), else their calendar ``weight``.
    The festival days of the velocity window are left out of the everyday rate.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The :func:`stock_cover` table, and the events ahead with ``key``, ``window_start``
        (launch), ``uplift`` and ``source``.
    """
    end = _ts(as_of)
    up = festival_uplift(daily, end, festivals)
    if events is None:
        nodes = cal.festival_nodes(end + DAY, end + horizon_days * DAY, festivals)
        nodes = nodes.merge(up[["key", "uplift", "source"]], on="key", how="left")
        nodes["uplift"] = nodes["uplift"].fillna(nodes["weight"])
        nodes["window_start"] = nodes["presale_start"].fillna(nodes["start"])
    else:
        nodes = event_uplift(events, up)
        nodes = nodes[nodes["end"] <= end + horizon_days * DAY].reset_index(drop=True)
    fd = cal.festival_days(end - (velocity_days - 1) * DAY, end, festivals)
    festive = pd.DatetimeIndex(fd.loc[fd["phase"].notna(), "date"])
    st = stock_cover(
        daily,
        catalogue,
        end,
        nodes,
        dict(zip(nodes["key"], nodes["uplift"])),
        velocity_days=velocity_days,
        default_lead_days=default_lead_days,
        festive_days=festive,
        service_level=service_level,
        receive_buffer_days=receive_buffer_days,
    )
    return st, nodes


def event_uplift(events: pd.DataFrame, uplift_table: pd.DataFrame) -> pd.DataFrame:
    """Campaign-calendar ``events`` (``campaign_id, series, launch, end, weight``) with ``key``
    (= campaign_id), ``window_start``, ``uplift`` (the :func:`festival_uplift` of the node the
    series names, else the calendar weight) and ``source`` (``history``, ``calendar``)."""
    u = uplift_table.set_index("key")
    e = events.copy()
    e["key"] = e["campaign_id"].astype(str)
    e["window_start"] = e["launch"]
    e["uplift"] = e["series"].map(u["uplift"]).fillna(e["weight"]).astype(float)
    e["source"] = e["series"].map(u["source"]).fillna("calendar")
    return e


def festival_stock_plan(
    daily: pd.DataFrame,
    catalogue: pd.DataFrame,
    as_of,
    events: pd.DataFrame,
    festivals=None,
    velocity_days: int = 28,
    default_lead_days: int = 21,
    service_level: float | None = None,
    receive_buffer_days: int = 0,
    product_ids=None,
) -> pd.DataFrame:
    """:func:`reorder_plan` rows for ``product_ids`` (default: every product with stock) over
    the campaign-calendar ``events``, with the rate, uplift and safety stock exactly as
    :func:`stock_risk` sets them (so 05's hero rows equal 03's)."""
    end = _ts(as_of)
    cat = catalogue[catalogue["stock"].notna()]
    if product_ids is not None:
        cat = cat[cat["product_id"].isin(list(product_ids))]
    cat = cat.reset_index(drop=True)
    fd = cal.festival_days(end - (velocity_days - 1) * DAY, end, festivals)
    festive = pd.DatetimeIndex(fd.loc[fd["phase"].notna(), "date"])
    st = sell_through(daily, cat, end, velocity_days, festive)
    items = cat[["product_id", "title", "stock"]].assign(
        rate=st["rate"].to_numpy(),
        sd=st["sd"].to_numpy(),
        lead_time_days=cat["lead_time_days"].fillna(default_lead_days).to_numpy(float),
    )
    nodes = event_uplift(events, festival_uplift(daily, end, festivals))
    return reorder_plan(
        items, stock_events_of(nodes, None), end, service_level, receive_buffer_days
    )


def stock_summary(stock: pd.DataFrame) -> dict:
    """``n_products``, ``n_<status>`` per status, ``median_cover`` (selling products),
    ``units_short`` (total shortfall), ``first_node`` (node of the first at-risk product, or
    None) and ``first_title`` (its title)."""
    counts = stock["status"].value_counts()
    selling = stock[stock["status"] != "no_sales"]
    risk = stock[stock["status"].isin(["node_late", "node_risk"])]
    return {
        "n_products": len(stock),
        **{
            f"n_{s}": int(counts.get(s, 0))
            for s in ("node_late", "node_risk", "low_cover", "ok", "no_sales")
        },
        "median_cover": float(selling["cover_days"].median()) if len(selling) else float("nan"),
        "units_short": float(risk["shortfall"].sum()),
        "first_node": risk["node"].iloc[0] if len(risk) else None,
        "first_title": risk["title"].iloc[0] if len(risk) else None,
    }


# --------------------------------------------------------------------------------------------
# price bands


def _nice(x: float) -> float:
    """Round a price edge to a step of half its power of ten (137 → 150, 79 → 80)."""
    if not np.isfinite(x) or x <= 0:
        return 0.0
    step = 10 ** np.floor(np.log10(x)) / 2
    return float(np.round(x / step) * step)


def _edge(x: float) -> str:
    """A band edge as written: 150, 1,200, 2.5 (decimals only where the edge has them)."""
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def price_bands(abc: pd.DataFrame, edges: list[float] | None = None, n: int = 5) -> pd.DataFrame:
    """Products, sales and margin per price band.

    Parameters
    ----------
    abc : :func:`abc_analysis` (``price``, ``net_sales``, ``units``, ``gross_profit``).
    edges : inner band edges (a band is ``[lo, hi)``); default: the ``n``-quantiles of the
        prices of the products that sold, rounded to nice numbers.
    n : number of bands when ``edges`` is not given.

    Returns
    -------
    pandas.DataFrame
        ``band`` (``"lo–hi"``, last ``"≥lo"``), ``lo, hi, products, product_share, net_sales,
        sales_share, units, sales_per_product, margin`` (gross profit / net sales over products
        with cost, NaN without), in price order; empty bands are dropped.
    """
    price = abc["price"].to_numpy(float)
    if edges is None:
        sold = price[(abc["net_sales"] > 0).to_numpy() & np.isfinite(price)]
        qs = np.quantile(sold, np.arange(1, n) / n) if len(sold) else []
        edges = sorted({_nice(q) for q in qs} - {0.0})
    e = np.array([0.0, *edges, np.inf])
    band = np.clip(np.searchsorted(e, price, side="right") - 1, 0, len(e) - 2)
    t = abc.assign(_b=band, _gp_net=np.where(abc["gross_profit"].notna(), abc["net_sales"], 0.0))
    g = t[np.isfinite(price)].groupby("_b")
    out = pd.DataFrame(
        {
            "products": g.size(),
            "net_sales": g["net_sales"].sum(),
            "units": g["units"].sum(),
            "gp": g["gross_profit"].sum(min_count=1),
            "gp_net": g["_gp_net"].sum(),
        }
    )
    out["lo"] = e[out.index]
    out["hi"] = e[out.index + 1]
    out["band"] = [
        f"{_edge(lo)}–{_edge(hi)}" if np.isfinite(hi) else f"≥{_edge(lo)}"
        for lo, hi in zip(out["lo"], out["hi"])
    ]
    out["product_share"] = out["products"] / out["products"].sum()
    tot = out["net_sales"].sum()
    out["sales_share"] = out["net_sales"] / tot if tot else np.nan
    out["sales_per_product"] = out["net_sales"] / out["products"]
    out["margin"] = _div(out["gp"], out["gp_net"])
    cols = [
        "band",
        "lo",
        "hi",
        "products",
        "product_share",
        "net_sales",
        "sales_share",
        "units",
        "sales_per_product",
        "margin",
    ]
    return out[cols].reset_index(drop=True)


def price_band_summary(bands: pd.DataFrame) -> dict:
    """``top_band`` / ``top_share`` (the band with most sales), ``best_band`` /
    ``best_per_product`` (highest sales per product), ``crowded_band`` / ``crowded_share`` /
    ``crowded_sales`` (the band holding most products, with its share of products and of
    sales), ``margin_band`` / ``margin`` (best gross margin, None/NaN without cost)."""
    if bands.empty:
        return {"top_band": None, "best_band": None, "crowded_band": None, "margin_band": None}
    top = bands.loc[bands["sales_share"].idxmax()]
    best = bands.loc[bands["sales_per_product"].idxmax()]
    crowd = bands.loc[bands["products"].idxmax()]
    out = {
        "top_band": top["band"],
        "top_share": float(top["sales_share"]),
        "best_band": best["band"],
        "best_per_product": float(best["sales_per_product"]),
        "crowded_band": crowd["band"],
        "crowded_share": float(crowd["product_share"]),
        "crowded_sales": float(crowd["sales_share"]),
        "margin_band": None,
        "margin": float("nan"),
    }
    if bands["margin"].notna().any():
        m = bands.loc[bands["margin"].idxmax()]
        out["margin_band"], out["margin"] = m["band"], float(m["margin"])
    return out


# --------------------------------------------------------------------------------------------
# the table handed on


def product_scores(
    behaviour: pd.DataFrame,
    lifecycle_table: pd.DataFrame | None = None,
    hot: pd.DataFrame | None = None,
    stock: pd.DataFrame | None = None,
    funnel: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per product with every verdict of this analysis (the ``product_scores``
    artifact): ``product_id, title, category, role, price, net_sales, gross_profit, margin,
    share, abc, abc_gp, behaviour_role, role_match, lifecycle, long_seller, hot_score,
    hot_flag, stock, stock_cover_days, stock_status, risk_node, funnel_stage``; missing parts are
    NaN/None."""
    keep = [
        "product_id",
        "title",
        "category",
        "role",
        "price",
        "net_sales",
        "gross_profit",
        "margin",
        "share",
        "abc",
        "abc_gp",
        "behaviour_role",
        "role_match",
    ]
    t = behaviour[keep].copy()

    def join(df, cols, rename=None):
        nonlocal t
        if df is None:
            for c in (rename or {c: c for c in cols}).values():
                t[c] = np.nan
            return
        part = df[["product_id", *cols]].rename(columns=rename or {})
        t = t.merge(part, on="product_id", how="left")

    join(lifecycle_table, ["lifecycle", "long_seller"])
    join(hot, ["hot_score", "flag"], {"flag": "hot_flag"})
    join(
        stock,
        ["stock", "cover_days", "status", "node"],
        {"cover_days": "stock_cover_days", "status": "stock_status", "node": "risk_node"},
    )
    join(funnel, ["stage"], {"stage": "funnel_stage"})
    return t
