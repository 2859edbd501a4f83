"""Customer analysis (客户分析): who buys, who comes back, what they are worth, what to do.

The article's rule: 20% of the customers bring 80% of the sales; the top 20% get
second-round guidance (二次导购), the other 80% are developed and sifted (深度开发和筛选),
and the member ladder runs new member → repeat member → brand fan (新会员 → 老会员 → 品牌粉丝).

Everything starts from :func:`customer_orders` (one row per purchase order of an identified
buyer) and :func:`rfm_table` (one row per customer). Definitions used throughout:

* a **purchase order** is an ``order_id`` whose sales lines (:func:`helpers.core.codes.sales_lines`)
  carry a buyer id and net to more than half a cent; a fully refunded order is no purchase;
* **recency** = days from the last purchase day to ``as_of`` (0 = bought on the as-of day);
  **frequency** = purchase orders; **monetary** = net sales (paid minus refunds) of the customer;
* **months** are calendar months; a customer is *new* in the month of the first purchase and
  *returning* in every later month with a purchase.

The two RFM schemes are written out as tables below (:data:`RFM8_RULES`, :data:`RF_GRID`).
All computations are vectorised (one sort, then NumPy on integer codes): no per-customer
Python, so a shop of 10M order lines runs in seconds.

Above 600 lines: one domain (customers: orders per customer, RFM, cohorts, ladder) on shared integer codes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers.core import codes as idcodes
from helpers.core.codes import line_codes, subset_codes

__all__ = [
    "TOP_SHARE",
    "RFM8_RULES",
    "RFM8_ORDER",
    "RF_GRID",
    "SEGMENT_ORDER",
    "SEGMENT_TIER",
    "TIERS",
    "STAGES",
    "INTERVAL_EDGES",
    "INTERVAL_LABELS",
    "customer_orders",
    "rfm_table",
    "customer_pareto",
    "rfm8_thresholds",
    "classify_rfm8",
    "quintile_score",
    "score_rf",
    "rf_grid_counts",
    "segment_summary",
    "new_vs_returning",
    "returning_summary",
    "cohort_retention",
    "retention_curve",
    "repurchase_intervals",
    "member_stage",
    "member_ladder",
    "forward_value",
    "segment_value",
    "customer_segments",
    "list_rows",
    "segment_lists",
]

#: Share of customers that counts as "the top customers" (the article's 20%).
TOP_SHARE = 0.2

# ---------------------------------------------------------------------------------------------
# Scheme 1: the Chinese 8-class RFM (RFM 八类客户). R, F and M are each high or low against a
# threshold (default: the mean). High means "at least as good as the threshold":
#   R high  <=>  recency_days <= threshold   (bought recently)
#   F high  <=>  frequency    >= threshold
#   M high  <=>  monetary     >= threshold
# ---------------------------------------------------------------------------------------------
RFM8_RULES = pd.DataFrame(
    [
        # key,                R high, F high, M high, 中文,        tier
        ("important_value", True, True, True, "重要价值客户", "guide"),
        ("important_develop", True, False, True, "重要发展客户", "develop"),
        ("important_keep", False, True, True, "重要保持客户", "winback"),
        ("important_retain", False, False, True, "重要挽留客户", "winback"),
        ("general_value", True, True, False, "一般价值客户", "develop"),
        ("general_develop", True, False, False, "一般发展客户", "develop"),
        ("general_keep", False, True, False, "一般保持客户", "winback"),
        ("general_retain", False, False, False, "一般挽留客户", "let_go"),
    ],
    columns=["rfm8", "r_high", "f_high", "m_high", "zh", "tier"],
)
RFM8_ORDER = RFM8_RULES["rfm8"].tolist()

# ---------------------------------------------------------------------------------------------
# Scheme 2: the widely published 10-segment R/F grid. R and F are scored 1-5 by quintile
# (5 = most recent / most frequent); the segment is read off this grid.
# ---------------------------------------------------------------------------------------------
_N, _PL, _C = "new_customers", "potential_loyalists", "champions"
_P, _L, _S = "promising", "loyal", "about_to_sleep"
_A, _H, _R, _X = "need_attention", "hibernating", "at_risk", "cant_lose"
RF_GRID = pd.DataFrame(
    [  # F score:  1   2    3    4   5
        [_N, _PL, _PL, _C, _C],  # R score 5
        [_P, _PL, _PL, _L, _L],  # R score 4
        [_S, _S, _A, _L, _L],  # R score 3
        [_H, _H, _R, _R, _X],  # R score 2
        [_H, _H, _R, _R, _X],  # R score 1
    ],
    index=pd.Index([5, 4, 3, 2, 1], name="r_score"),
    columns=pd.Index([1, 2, 3, 4, 5], name="f_score"),
)
SEGMENT_ORDER = [_C, _L, _PL, _N, _P, _A, _S, _R, _X, _H]
SEGMENT_TIER = {
    _C: "guide",
    _L: "guide",
    _PL: "develop",
    _N: "develop",
    _P: "develop",
    _A: "develop",
    _S: "winback",
    _R: "winback",
    _X: "winback",
    _H: "let_go",
}
#: Action tiers, best customers first: 二次导购, 深度开发, 召回, 筛选放手.
TIERS = ["guide", "develop", "winback", "let_go"]

#: Member ladder stages (新会员, 老会员, 品牌粉丝).
STAGES = ["new", "repeat", "fan"]

#: Repurchase-interval bins (days, inclusive lower edges) and their labels.
INTERVAL_EDGES = [1, 8, 15, 31, 61, 91, 181, 366]
INTERVAL_LABELS = ["1–7", "8–14", "15–30", "31–60", "61–90", "91–180", "181–365", "366+"]

_CO_COLUMNS = ["customer_id", "order_id", "order_time", "day", "month", "net"]


def _day(ts) -> int:
    """Days since 1970-01-01 of a timestamp's calendar day."""
    return int(np.datetime64(pd.Timestamp(ts).to_datetime64(), "D").astype(np.int64))


def _month_index(ts) -> int:
    t = pd.Timestamp(ts)
    return t.year * 12 + t.month - 1


def _month_ts(idx: np.ndarray) -> pd.Series:
    idx = np.asarray(idx, dtype=np.int64)
    return pd.to_datetime({"year": idx // 12, "month": idx % 12 + 1, "day": 1})


def _starts(codes: np.ndarray) -> np.ndarray:
    """Positions where a new run of equal codes begins (codes sorted)."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])


def _new_pair(cust: np.ndarray, key: np.ndarray) -> np.ndarray:
    """True at the first row of every (customer, key) run (rows sorted by customer, key)."""
    if len(cust) == 0:
        return np.zeros(0, dtype=bool)
    return np.r_[True, (cust[1:] != cust[:-1]) | (key[1:] != key[:-1])]


def _month_range(m: np.ndarray, as_of) -> tuple[int, int]:
    """First purchase month and the as-of month (default: the last purchase month)."""
    hi = _month_index(as_of) if as_of is not None else int(m.max()) if len(m) else 0
    lo = int(m.min()) if len(m) else hi
    return lo, hi


def customer_orders(orders: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """One row per purchase order of an identified buyer, sorted by customer and time.

    Parameters
    ----------
    orders : canonical order lines.
    as_of : lines after this calendar day are left out (None: keep all).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, order_id, order_time`` (the order's first line), ``day`` (days since
        1970-01-01, int), ``month`` (year * 12 + month - 1, int), ``net`` (the order's net
        sales, less the returns matched to it). Orders without a buyer id, orders netting to
        half a cent or less (fully refunded or returned) and credit notes are left out. Sorted by customer_id, order_time (input order breaks ties).

    The table is remembered for ``orders`` and the day of ``as_of``
    (:func:`helpers.core.codes.per_orders`): the kernel server computes the run's before it
    forks the notebooks' kernels, which share it.
    """
    day = None if as_of is None else pd.Timestamp(as_of).normalize()
    return idcodes.per_orders(
        orders,
        ("customer_orders", day),
        lambda: _customer_orders(orders, day),
    )


def _customer_orders(orders: pd.DataFrame, day) -> pd.DataFrame:
    s = idcodes.sales_lines(orders)
    keep = line_codes(s)[0] >= 0  # a buyer id (missing ids have no code)
    if day is not None:
        keep &= (s["order_time"] < day + pd.Timedelta(days=1)).to_numpy()
    rows = np.flatnonzero(keep)
    # one row per order, in order of first appearance (a groupby on order_id, on the codes
    # of the sales lines' order ids: hashed once per shop, not once per call)
    ocodes, oids = line_codes(s, "order_id")
    sub = ocodes[rows]
    codes = subset_codes(sub)
    rows, sub, codes = rows[codes >= 0], sub[codes >= 0], codes[codes >= 0]
    if len(rows) == 0:
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype=object),
                "order_id": pd.Series(dtype=object),
                "order_time": pd.Series(dtype="datetime64[ns]"),
                "day": pd.Series(dtype=np.int64),
                "month": pd.Series(dtype=np.int64),
                "net": pd.Series(dtype=float),
            }
        )
    seen = np.maximum.accumulate(codes)
    new = np.r_[True, codes[1:] > seen[:-1]]
    first, order_ids = rows[new], oids[sub[new]]  # each order's first line, and its id
    line_net = s["net"].to_numpy()
    if s["is_return"].any():  # returns lower the order they return; credit notes are no order
        from helpers.analysis.returns import net_after_returns

        line_net = net_after_returns(s, use=keep)[0]
    g = pd.DataFrame(
        {"order_time": s["order_time"].to_numpy()[rows], "net": line_net[rows]}
    ).groupby(codes, sort=True)
    t, net = g["order_time"].min().to_numpy(), g["net"].sum().to_numpy()
    buy = np.flatnonzero(net > 0.005)
    ccodes, customers = line_codes(s)
    ccodes = ccodes[first[buy]]
    by_customer = np.lexsort((t[buy], ccodes))
    order = buy[by_customer]
    # one str object per customer, in customer order: the later comparisons of ids are fast
    customer_id = customers[ccodes[by_customer]]
    o = pd.DataFrame(
        {
            "customer_id": pd.Series(customer_id, dtype=object),
            # typed as a groupby's keys would be (whole numbers as int64)
            "order_id": pd.Series(order_ids, dtype=object)
            .infer_objects()
            .iloc[order]
            .reset_index(drop=True),
            "order_time": t[order],
            "net": net[order],
        }
    )
    tt = o["order_time"]
    o["day"] = tt.to_numpy(dtype="datetime64[D]").astype(np.int64)
    o["month"] = (tt.dt.year * 12 + tt.dt.month - 1).astype(np.int64)
    return o[_CO_COLUMNS]


def _as_of_day(co: pd.DataFrame, as_of) -> int:
    if as_of is not None:
        return _day(as_of)
    return int(co["day"].max()) if len(co) else 0


def rfm_table(co: pd.DataFrame, as_of=None, top_share: float = TOP_SHARE) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, with the sales rank.

    Parameters
    ----------
    co : output of :func:`customer_orders`.
    as_of : the analysis day (default: the last purchase day).
    top_share : share of customers flagged ``top`` (ceil(top_share * n), at least one).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted): ``first_purchase``, ``last_purchase``
        (timestamps), ``recency_days`` (as-of day minus last purchase day), ``frequency``
        (purchase orders), ``monetary`` (net sales, rounded to cents), ``sales_rank`` (1 = biggest spender; ties
        by customer_id) and ``top`` (sales_rank <= ceil(top_share * customers)).
    """
    as_day = _as_of_day(co, as_of)
    cust = co["customer_id"].to_numpy()
    st = _starts(cust)
    end = np.r_[st[1:], len(cust)].astype(np.int64) - 1 if len(st) else st
    net = co["net"].to_numpy(dtype=float)
    times = co["order_time"].to_numpy()
    day = co["day"].to_numpy()
    # sums of cents carry float noise (0.1 + 0.2): round to cents so equal totals tie exactly
    monetary = np.round(np.add.reduceat(net, st), 2) if len(st) else np.zeros(0)
    out = pd.DataFrame(
        {
            "first_purchase": times[st],
            "last_purchase": times[end],
            "recency_days": (as_day - day[end]).astype(np.int64),
            "frequency": (end - st + 1).astype(np.int64),
            "monetary": monetary,
        },
        index=pd.Index(cust[st], name="customer_id", dtype=object),
    )
    n = len(out)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), -monetary))] = np.arange(1, n + 1)
    out["sales_rank"] = rank
    out["top"] = rank <= max(1, math.ceil(top_share * n - 1e-9)) if n else rank > 0
    return out


def customer_pareto(rfm: pd.DataFrame, target: float = 0.8) -> tuple[pd.DataFrame, dict]:
    """The Pareto of customers: the share of customers making ``target`` of the sales.

    Parameters
    ----------
    rfm : output of :func:`rfm_table`.
    target : the sales share to reach (the article's 80%).

    Returns
    -------
    curve : pandas.DataFrame
        101 rows, ``customers_pct`` 0, 1%, …, 100%: ``customers`` (ceil(pct * n) top customers)
        and ``sales_share`` (their cumulative share of sales).
    summary : dict
        ``customers`` n, ``sales`` total, ``n_target`` the fewest top customers whose sales
        reach ``target`` of the total, ``share_target`` = n_target / n, ``n_top`` and
        ``top_sales_share`` (the ``top`` customers of :func:`rfm_table` and their sales share).
    """
    rank = np.argsort(rfm["sales_rank"].to_numpy(), kind="stable")
    m = rfm["monetary"].to_numpy(dtype=float)[rank]
    n, total = len(m), float(m.sum())
    cum = np.r_[0.0, np.cumsum(m)]
    share = cum / total if total > 0 else np.zeros_like(cum)
    pct = np.arange(101) / 100
    k = np.ceil(pct * n - 1e-9).astype(np.int64)
    curve = pd.DataFrame({"customers_pct": pct, "customers": k, "sales_share": share[k]})
    n_target = int(np.searchsorted(cum, target * total * (1 - 1e-12), side="left")) if n else 0
    n_top = int(rfm["top"].sum())
    return curve, {
        "customers": n,
        "sales": total,
        "target": target,
        "n_target": n_target,
        "share_target": n_target / n if n else float("nan"),
        "n_top": n_top,
        "top_sales_share": float(share[n_top]) if n else float("nan"),
    }


def rfm8_thresholds(rfm: pd.DataFrame, threshold="mean") -> dict[str, float]:
    """The R, F and M thresholds: ``"mean"`` (default), ``"median"`` or a dict of numbers."""
    cols = {"recency": "recency_days", "frequency": "frequency", "monetary": "monetary"}
    if isinstance(threshold, dict):
        missing = set(cols) - set(threshold)
        if missing:
            raise ValueError(f"RFM thresholds need recency, frequency and monetary: {missing}")
        return {k: float(threshold[k]) for k in cols}
    if threshold not in ("mean", "median"):
        raise ValueError(f"threshold must be 'mean', 'median' or a dict, got {threshold!r}")
    return {k: float(getattr(rfm[c].astype(float), threshold)()) for k, c in cols.items()}


def classify_rfm8(rfm: pd.DataFrame, threshold="mean") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Chinese 8-class RFM (重要价值 … 一般挽留) by the rules of :data:`RFM8_RULES`.

    Parameters
    ----------
    rfm : output of :func:`rfm_table`.
    threshold : ``"mean"`` (the common practice), ``"median"``, or
        ``{"recency": days, "frequency": orders, "monetary": amount}``.

    Returns
    -------
    classes : pandas.DataFrame
        On rfm's index: ``r_high`` (recency_days <= R threshold), ``f_high`` (frequency >= F
        threshold), ``m_high`` (monetary >= M threshold), ``rfm8`` (the class key).
    thresholds : pandas.DataFrame
        ``measure, cutoff, high_when`` (``<=`` for recency, ``>=`` otherwise).
    """
    t = rfm8_thresholds(rfm, threshold)
    r = rfm["recency_days"].to_numpy() <= t["recency"]
    f = rfm["frequency"].to_numpy() >= t["frequency"]
    m = rfm["monetary"].to_numpy() >= t["monetary"]
    lookup = np.empty(8, dtype=object)
    rules = RFM8_RULES
    lookup[rules["r_high"] * 4 + rules["f_high"] * 2 + rules["m_high"]] = rules["rfm8"]
    classes = pd.DataFrame(
        {"r_high": r, "f_high": f, "m_high": m, "rfm8": lookup[r * 4 + f * 2 + m]},
        index=rfm.index,
    )
    thr = pd.DataFrame(
        {
            "measure": ["recency_days", "frequency", "monetary"],
            "cutoff": [t["recency"], t["frequency"], t["monetary"]],
            "high_when": ["<=", ">=", ">="],
        }
    )
    return classes, thr


def quintile_score(values, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1–5 by quintile, ties always sharing a score.

    ``score = 1 + floor(5 * w / n)`` where ``w`` is the number of customers with a strictly
    worse value: the score of the quintile in which the tied group starts. So 20% or more
    strictly worse gives 2, 40% gives 3, 60% gives 4, 80% gives 5; everyone tied at the
    worst value scores 1 (e.g. all one-order customers get F = 1).
    """
    v = np.asarray(values, dtype=float)
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(v, kind="stable")
    s = v[order]  # searching sorted keys is fast: each search starts where the last ended
    found = np.searchsorted(s, s, side="left" if higher_is_better else "right")
    worse = np.empty(n, dtype=np.int64)
    worse[order] = found if higher_is_better else n - found
    return (1 + (5 * worse) // n).astype(np.int64)


def score_rf(rfm: pd.DataFrame) -> pd.DataFrame:
    """R, F and M quintile scores and the 10-segment R/F class of :data:`RF_GRID`.

    Returns
    -------
    pandas.DataFrame
        On rfm's index: ``r_score`` (5 = most recent), ``f_score``, ``m_score`` (5 = most),
        ``segment`` (the grid's segment key for (r_score, f_score)).
    """
    r = quintile_score(rfm["recency_days"].to_numpy(), higher_is_better=False)
    f = quintile_score(rfm["frequency"].to_numpy())
    m = quintile_score(rfm["monetary"].to_numpy())
    grid = RF_GRID.to_numpy()  # row 0 = R 5, column 0 = F 1
    return pd.DataFrame(
        {"r_score": r, "f_score": f, "m_score": m, "segment": grid[5 - r, f - 1]},
        index=rfm.index,
    )


def rf_grid_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """Customers per (R score, F score) cell, shaped like :data:`RF_GRID` (R 5 on top)."""
    cell = (5 - scores["r_score"].to_numpy()) * 5 + scores["f_score"].to_numpy() - 1
    counts = np.bincount(cell, minlength=25).reshape(5, 5)
    return pd.DataFrame(counts, index=RF_GRID.index, columns=RF_GRID.columns)


def segment_summary(
    rfm: pd.DataFrame, segment: pd.Series, order: list[str], tiers: dict[str, str]
) -> pd.DataFrame:
    """Size, sales and profile of each segment, in ``order`` (empty segments show 0).

    Parameters
    ----------
    rfm : output of :func:`rfm_table`.
    segment : segment key per customer (on rfm's index).
    order : segment keys in display order.
    tiers : segment key -> action tier (``guide``, ``develop``, ``winback``, ``let_go``).

    Returns
    -------
    pandas.DataFrame
        ``segment, customers, customer_share, sales, sales_share, recency_days`` (median),
        ``frequency`` and ``monetary`` (means), ``top_share`` (share of the segment's customers
        among the top customers), ``tier``.
    """
    df = rfm[["recency_days", "frequency", "monetary", "top"]].assign(segment=segment.to_numpy())
    g = df.groupby("segment", sort=False)
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "sales": g["monetary"].sum(),
            "recency_days": g["recency_days"].median(),
            "frequency": g["frequency"].mean(),
            "monetary": g["monetary"].mean(),
            "top_share": g["top"].mean(),
        }
    ).reindex(order)
    out[["customers", "sales"]] = out[["customers", "sales"]].fillna(0)
    out["customers"] = out["customers"].astype(np.int64)
    n, total = len(rfm), float(rfm["monetary"].sum())
    out.insert(1, "customer_share", out["customers"] / n if n else np.nan)
    out.insert(3, "sales_share", out["sales"] / total if total else np.nan)
    out["tier"] = [tiers[k] for k in order]
    out.index.name = "segment"
    return out.reset_index()


def new_vs_returning(co: pd.DataFrame, as_of=None, known_from=None) -> pd.DataFrame:
    """New and returning buyers and their sales per calendar month.

    A buyer is *new* in the month of the first purchase (all that month's orders are new
    sales) and *returning* in any later month with a purchase. Months starting before
    ``known_from`` (:func:`helpers.core.metrics.split_from`: the data does not cover the
    look-back before them) get NaN in the split columns instead of counting everyone new.

    Returns
    -------
    pandas.DataFrame
        One row per month from the first purchase month to the as-of month: ``month``
        (first day), ``new_customers``, ``returning_customers``, ``new_sales``,
        ``returning_sales``, ``returning_share`` (of buyers) and ``returning_sales_share``.
    """
    m = co["month"].to_numpy()
    cust = co["customer_id"].to_numpy()
    st = _starts(cust)
    first_month = np.repeat(m[st], np.diff(np.r_[st, len(m)]))
    is_new = m == first_month
    lo, hi = _month_range(m, as_of)
    size = hi - lo + 1
    new_pair = _new_pair(cust, m)
    net = co["net"].to_numpy(dtype=float)
    idx = m - lo

    def count(mask, w=None):
        return np.bincount(idx[mask], weights=None if w is None else w[mask], minlength=size)

    out = pd.DataFrame(
        {
            "month": _month_ts(np.arange(lo, hi + 1)),
            "new_customers": count(new_pair & is_new).astype(np.int64),
            "returning_customers": count(new_pair & ~is_new).astype(np.int64),
            "new_sales": count(is_new, net),
            "returning_sales": count(~is_new, net),
        }
    )
    buyers = out["new_customers"] + out["returning_customers"]
    sales = out["new_sales"] + out["returning_sales"]
    out["returning_share"] = (out["returning_customers"] / buyers.where(buyers > 0)).astype(float)
    out["returning_sales_share"] = (out["returning_sales"] / sales.where(sales > 0)).astype(float)
    from helpers.core.metrics import censor_split

    return censor_split(out, "month", [c for c in out.columns if c != "month"], known_from)


def returning_summary(monthly: pd.DataFrame, months: int = 12) -> dict:
    """Over the last ``months`` rows of :func:`new_vs_returning`: new buyers, and the returning
    buyers' share of buyer-months and of sales."""
    last = monthly.tail(months)
    b = last["new_customers"].sum() + last["returning_customers"].sum()
    s = last["new_sales"].sum() + last["returning_sales"].sum()
    return {
        "months": len(last),
        "new_customers": int(last["new_customers"].sum()),
        "returning_share": float(last["returning_customers"].sum() / b) if b else float("nan"),
        "returning_sales_share": float(last["returning_sales"].sum() / s) if s else float("nan"),
    }


def cohort_retention(co: pd.DataFrame, as_of=None, max_age: int = 12) -> pd.DataFrame:
    """Monthly cohort retention: share of each first-purchase cohort buying again k months on.

    Parameters
    ----------
    co : output of :func:`customer_orders`.
    as_of : the analysis day; months after its month are not observed (NaN).
    max_age : the last month-age shown.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (first day of the first-purchase month); column ``customers`` (cohort
        size) then ages ``0 … max_age``: the share of the cohort with a purchase in calendar
        month cohort + age (age 0 is 1.0); NaN where that month is after the as-of month.
    """
    m = co["month"].to_numpy()
    cust = co["customer_id"].to_numpy()
    st = _starts(cust)
    first = np.repeat(m[st], np.diff(np.r_[st, len(m)]))
    pair = _new_pair(cust, m)
    age = (m - first)[pair]
    coh = first[pair]
    lo, hi = _month_range(m, as_of)
    n_coh = hi - lo + 1
    keep = age <= max_age
    counts = np.bincount(
        (coh[keep] - lo) * (max_age + 1) + age[keep], minlength=n_coh * (max_age + 1)
    ).reshape(n_coh, max_age + 1)
    sizes = counts[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = counts / sizes[:, None]
    observed = (np.arange(n_coh)[:, None] + np.arange(max_age + 1)[None, :]) <= hi - lo
    ret = np.where(observed, ret, np.nan)
    out = pd.DataFrame(ret, columns=list(range(max_age + 1)))
    out.insert(0, "customers", sizes.astype(np.int64))
    out.index = pd.Index(_month_ts(np.arange(lo, hi + 1)), name="cohort")
    return out[out["customers"] > 0]


def retention_curve(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Size-weighted mean retention at each age ≥ 1 over the cohorts observed at that age.

    Returns
    -------
    pandas.DataFrame
        ``age`` (months after the first purchase), ``cohorts`` and ``customers`` (the cohorts
        observed at that age and their size) and ``retention`` (sum of retained customers /
        sum of cohort sizes; NaN when no cohort is that old yet).
    """
    ages = [c for c in cohorts.columns if c != "customers" and c >= 1]
    size = cohorts["customers"].to_numpy(dtype=float)
    rows = []
    for a in ages:
        seen = cohorts[a].notna().to_numpy()
        n = size[seen].sum()
        kept = (cohorts[a].to_numpy()[seen] * size[seen]).sum()
        rows.append(
            {
                "age": a,
                "cohorts": int(seen.sum()),
                "customers": int(n),
                "retention": kept / n if n else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["age", "cohorts", "customers", "retention"])


def repurchase_intervals(co: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Days between a customer's consecutive purchase days.

    Several orders on one day are one purchase day, so every interval is at least 1 day.

    Returns
    -------
    table : pandas.DataFrame
        One row per bin of :data:`INTERVAL_LABELS`: ``interval``, ``intervals`` (count),
        ``share``, ``cum_share``.
    stats : dict
        ``intervals``, ``repeat_customers`` (customers with two or more purchase days),
        ``median``, ``p25``, ``p75``, ``p90``, ``mean`` (days, numpy's linear percentiles),
        ``first_median`` (median days from the first to the second purchase day),
        ``within_30`` and ``within_90`` (share of intervals of at most 30 / 90 days).
    """
    cust = co["customer_id"].to_numpy()
    day = co["day"].to_numpy()
    pair = _new_pair(cust, day)
    cust, day = cust[pair], day[pair]
    same = cust[1:] == cust[:-1]
    gaps = (day[1:] - day[:-1])[same]
    st = _starts(cust)
    second = st[(st + 1 < len(cust))]
    second = second[cust[second + 1] == cust[second]] if len(second) else second
    first_gaps = day[second + 1] - day[second]
    counts = np.bincount(np.digitize(gaps, INTERVAL_EDGES) - 1, minlength=len(INTERVAL_EDGES))
    n = len(gaps)
    table = pd.DataFrame(
        {
            "interval": INTERVAL_LABELS,
            "intervals": counts.astype(np.int64),
            "share": counts / n if n else np.nan,
        }
    )
    table["cum_share"] = table["share"].cumsum()

    def q(a, p):
        return float(np.percentile(a, p)) if len(a) else float("nan")

    stats = {
        "intervals": n,
        "repeat_customers": len(first_gaps),
        "median": q(gaps, 50),
        "p25": q(gaps, 25),
        "p75": q(gaps, 75),
        "p90": q(gaps, 90),
        "mean": float(gaps.mean()) if n else float("nan"),
        "first_median": q(first_gaps, 50),
        "within_30": float((gaps <= 30).mean()) if n else float("nan"),
        "within_90": float((gaps <= 90).mean()) if n else float("nan"),
    }
    return table, stats


def member_stage(frequency, repeat_orders: int = 2, fan_orders: int = 4) -> np.ndarray:
    """Ladder stage from purchase orders: ``new`` below repeat_orders, ``fan`` from fan_orders."""
    f = np.asarray(frequency)
    return np.where(f >= fan_orders, "fan", np.where(f >= repeat_orders, "repeat", "new"))


def member_ladder(
    co: pd.DataFrame, as_of=None, repeat_orders: int = 2, fan_orders: int = 4
) -> pd.DataFrame:
    """The member ladder at every month end: new member → repeat member → brand fan.

    A customer's stage at a month end counts the purchase orders up to that month: fewer
    than ``repeat_orders`` is a new member (新会员), from ``repeat_orders`` a repeat member
    (老会员), from ``fan_orders`` a brand fan (品牌粉丝).

    Returns
    -------
    pandas.DataFrame
        One row per month: ``month``, ``new_members``, ``repeat_members``, ``fans`` (at the
        month end),
        ``members``, ``joined`` (first purchases in the month), ``to_repeat`` and ``to_fan``
        (customers reaching that stage in the month), ``repeat_share`` ((repeat + fan) /
        members) and ``fan_share``.
    """
    if not 1 < repeat_orders < fan_orders:
        raise ValueError("need 1 < repeat_member_orders < fan_orders")
    m = co["month"].to_numpy()
    cust = co["customer_id"].to_numpy()
    st = _starts(cust)
    k = np.arange(len(m)) - np.repeat(st, np.diff(np.r_[st, len(m)]))  # 0 = first order
    lo, hi = _month_range(m, as_of)
    size = hi - lo + 1

    def reached(n_orders: int) -> np.ndarray:
        return np.bincount(m[k == n_orders - 1] - lo, minlength=size)

    joined, to_rep, to_fan = reached(1), reached(repeat_orders), reached(fan_orders)
    c1, cr, cf = np.cumsum(joined), np.cumsum(to_rep), np.cumsum(to_fan)
    out = pd.DataFrame(
        {
            "month": _month_ts(np.arange(lo, hi + 1)),
            "new_members": c1 - cr,
            "repeat_members": cr - cf,
            "fans": cf,
            "members": c1,
            "joined": joined,
            "to_repeat": to_rep,
            "to_fan": to_fan,
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["repeat_share"] = (cr / c1).astype(float)
        out["fan_share"] = (cf / c1).astype(float)
    return out


def forward_value(orders: pd.DataFrame, as_of, horizon_days: float = 90):
    """P(alive), expected purchases, spend and CLV per customer from :mod:`helpers.analysis.clv`.

    Returns
    -------
    table : pandas.DataFrame
        :func:`helpers.analysis.clv.score_customers`' table (index customer_id).
    params : dict
        Its JSON-ready parameters (the ``clv_params`` artifact).
    summary : dict
        ``customers``, ``horizon_days``, ``purchases`` and ``spend`` (expected repeat purchases
        and CLV summed over customers), ``top_clv_share`` (share of the CLV held by the top
        ``TOP_SHARE`` of customers by CLV), and over repeat buyers (model frequency > 0; BG/NBD
        holds a one-time buyer as alive, it has no evidence either way): ``repeat_customers``,
        ``p_alive_repeat`` (their mean P(alive)), ``lapsed`` (those with P(alive) < 0.5) and
        ``lapsed_share``.

    Raises
    ------
    ValueError
        From :func:`helpers.analysis.clv.score_customers` when the data cannot support the models.
    """
    from helpers.analysis import clv

    table, params = clv.score_customers(orders, as_of, horizon_days=horizon_days)
    v = np.sort(table["clv"].to_numpy(dtype=float))[::-1]
    n_top = max(1, math.ceil(TOP_SHARE * len(v) - 1e-9))
    total = float(v.sum())
    rep = pd.Series(table["p_alive"].to_numpy()[table["frequency"].to_numpy() > 0])
    lapsed = int((rep < 0.5).sum())
    summary = {
        "customers": len(table),
        "horizon_days": horizon_days,
        "repeat_customers": len(rep),
        "p_alive_repeat": float(rep.mean()) if len(rep) else float("nan"),
        "lapsed": lapsed,
        "lapsed_share": lapsed / len(rep) if len(rep) else float("nan"),
        "purchases": float(table["expected_purchases"].sum()),
        "spend": total,
        "top_clv_share": float(v[:n_top].sum() / total) if total > 0 else float("nan"),
    }
    return table, params, summary


def segment_value(segments: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    """Forward value per segment: P(alive) of its repeat buyers, expected purchases and CLV.

    ``segments`` is :func:`customer_segments` with the forward-value columns (customers the
    models did not score count in ``customers`` only). ``p_alive`` is the mean over the
    segment's repeat buyers (``repeat_purchases`` > 0): BG/NBD gives every one-time buyer
    P(alive) = 1, which says nothing, so a segment of one-time buyers shows NaN.
    """
    g = segments.groupby(column, sort=False)
    repeat = segments[segments["repeat_purchases"] > 0].groupby(column, sort=False)
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "p_alive": repeat["p_alive"].mean(),
            "expected_purchases": g["expected_purchases"].sum(),
            "clv": g["clv"].sum(),
        }
    ).reindex(order)
    out[["customers", "expected_purchases", "clv"]] = out[
        ["customers", "expected_purchases", "clv"]
    ].fillna(0)
    out["customers"] = out["customers"].astype(np.int64)
    total = out["clv"].sum()
    out["clv_share"] = out["clv"] / total if total else np.nan
    out["clv_per_customer"] = out["clv"] / out["customers"].where(out["customers"] > 0)
    out.index.name = column
    return out.reset_index()


def customer_segments(
    rfm: pd.DataFrame,
    rfm8: pd.DataFrame,
    scores: pd.DataFrame,
    value: pd.DataFrame | None = None,
    repeat_orders: int = 2,
    fan_orders: int = 4,
) -> pd.DataFrame:
    """The ``customer_segments`` artifact: one row per customer, every class and score.

    Columns: ``customer_id``, the :func:`rfm_table` columns, the :func:`classify_rfm8` and
    :func:`score_rf` columns, ``stage`` (ladder stage at as-of) and, when ``value`` is given,
    ``repeat_purchases`` (the models' frequency: repeat purchase days), ``p_alive,
    expected_purchases, expected_spend, clv`` (NaN for customers not scored).
    """
    out = rfm.join(rfm8).join(scores)
    out["stage"] = member_stage(out["frequency"].to_numpy(), repeat_orders, fan_orders)
    if value is not None:
        cols = ["p_alive", "expected_purchases", "expected_spend", "clv"]
        out = out.join(
            value[cols].assign(repeat_purchases=value["frequency"])[["repeat_purchases", *cols]]
        )
    return out.reset_index()


def list_rows(segments: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row positions in ``segments`` of every re-marketing list, best customers first."""
    order = np.argsort(segments["sales_rank"].to_numpy(), kind="stable")
    out = {"top": order[segments["top"].to_numpy(dtype=bool)[order]]}
    for column, keys, prefix in (("segment", SEGMENT_ORDER, ""), ("rfm8", RFM8_ORDER, "rfm8_")):
        codes, uniques = pd.factorize(segments[column])  # compare small ints, not strings
        codes, where = codes[order], {k: i for i, k in enumerate(uniques)}
        for k in keys:
            out[prefix + k] = order[codes == where.get(k, -2)]
    return out


def segment_lists(segments: pd.DataFrame) -> dict[str, np.ndarray]:
    """Customer ids per re-marketing list, best customers first (by sales rank).

    Lists: ``top`` (the top customers), the 10 R/F segments, then the 8 RFM classes as
    ``rfm8_<class>``; every list is present, empty ones too.
    """
    ids = segments["customer_id"].to_numpy()
    return {k: ids[rows] for k, rows in list_rows(segments).items()}


# --- the list files ---------------------------------------------------------------------------
