"""A deterministic sample shop: realistic canonical tables from a seed and a size.

The generator is a small model of a Tmall apparel shop:

* ~150 products in four roles (引流款 traffic, 利润款 profit, 形象款 image, 定制款 custom)
  with Zipf-skewed popularity, life cycles (launch, rise, plateau, decline) and a few late
  launches that turn into hot products (爆款) — the ground truth for backtests;
* customers following a BG/NBD process (gamma purchase rates, beta drop-out), so about a
  fifth of them bring most of the sales; purchases follow the shop's seasonality by running
  the process in "demand time" (the cumulative daily demand curve);
* seasonality from the real calendar: weekday pattern, the Spring Festival dip and the
  platform festivals (年货节, 3.8, 618, 双11, 双12 with their pre-sales) from
  :mod:`helpers.core.calendar` — no date typed by hand;
* channels, daily traffic per product and channel, paid-search rows with spend, keyword
  search volumes, campaigns, Chinese reviews with ratings, stock levels and an issue log.

:func:`generate` returns canonical tables plus a ``pii`` table of fake buyer names, phones,
addresses and emails (only the export writers use it, so privacy tests have something real
to look for). Everything is vectorised: 10M order lines take a couple of minutes.

Above 600 lines: the generator writes every table of a shop from one seeded model, so the tables agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.core import calendar as cal

__all__ = [
    "CATEGORIES",
    "ADJ",
    "MATERIAL",
    "ROLE_PRICE",
    "ROLE_SHARE",
    "ROLE_POP",
    "ROLE_MARGIN",
    "PROVINCES",
    "CHANNELS",
    "SURNAMES",
    "GIVEN",
    "KEYWORDS",
    "GOOD",
    "BAD",
    "SampleSize",
    "STATUSES",
    "generate",
    "write_canonical_shop",
]

CATEGORIES = {
    "连衣裙": "dress",
    "T恤": "t-shirt",
    "衬衫": "shirt",
    "外套": "coat",
    "针织衫": "knitwear",
    "半身裙": "skirt",
    "裤子": "trousers",
    "配饰": "accessory",
}
ADJ = ["法式", "复古", "简约", "宽松", "修身", "通勤", "甜美", "休闲", "高级感", "小众设计"]
MATERIAL = ["纯棉", "真丝", "亚麻", "羊毛", "雪纺", "牛仔", "针织", "醋酸"]
ROLE_PRICE = {"traffic": (39, 79), "profit": (99, 269), "image": (399, 899), "custom": (199, 499)}
ROLE_SHARE = {"traffic": 0.2, "profit": 0.55, "image": 0.1, "custom": 0.15}
ROLE_POP = {"traffic": 3.0, "profit": 1.0, "image": 0.25, "custom": 0.4}
ROLE_MARGIN = {"traffic": 0.12, "profit": 0.45, "image": 0.6, "custom": 0.5}

PROVINCES = [
    ("广东省", ["广州市", "深圳市", "东莞市", "佛山市"], 0.14),
    ("浙江省", ["杭州市", "宁波市", "温州市"], 0.11),
    ("江苏省", ["南京市", "苏州市", "无锡市"], 0.10),
    ("上海市", ["上海市"], 0.08),
    ("北京市", ["北京市"], 0.07),
    ("山东省", ["济南市", "青岛市"], 0.07),
    ("四川省", ["成都市", "绵阳市"], 0.06),
    ("福建省", ["福州市", "厦门市"], 0.05),
    ("湖北省", ["武汉市", "宜昌市"], 0.05),
    ("河南省", ["郑州市", "洛阳市"], 0.05),
    ("湖南省", ["长沙市"], 0.04),
    ("安徽省", ["合肥市"], 0.04),
    ("陕西省", ["西安市"], 0.03),
    ("重庆市", ["重庆市"], 0.03),
    ("天津市", ["天津市"], 0.03),
    ("辽宁省", ["沈阳市", "大连市"], 0.03),
    ("云南省", ["昆明市"], 0.02),
]
CHANNELS = {  # share of visitors, conversion multiplier
    "search": (0.38, 1.0),  # 手淘搜索 natural search
    "paid_search": (0.17, 0.9),  # 直通车
    "recommend": (0.22, 0.6),  # 猜你喜欢 / 手淘推荐
    "live": (0.08, 1.6),  # 淘宝直播
    "direct": (0.10, 2.0),  # 购物车 / 我的淘宝 / 收藏
    "offsite": (0.05, 0.5),  # 站外
}
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董")
GIVEN = list("伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玉兰萍红婷雪琳晶欣怡")
KEYWORDS = [
    ("连衣裙女", "连衣裙"),
    ("法式连衣裙", "连衣裙"),
    ("碎花连衣裙", "连衣裙"),
    ("真丝连衣裙", "连衣裙"),
    ("t恤女", "T恤"),
    ("纯棉t恤", "T恤"),
    ("宽松短袖", "T恤"),
    ("衬衫女", "衬衫"),
    ("白衬衫", "衬衫"),
    ("风衣女", "外套"),
    ("羊毛大衣", "外套"),
    ("西装外套女", "外套"),
    ("针织开衫", "针织衫"),
    ("毛衣女", "针织衫"),
    ("半身裙", "半身裙"),
    ("百褶裙", "半身裙"),
    ("阔腿裤", "裤子"),
    ("牛仔裤女", "裤子"),
    ("丝巾", "配饰"),
    ("腰带女", "配饰"),
]
GOOD = ["质量很好", "面料舒服", "版型好看", "发货很快", "性价比高", "颜色正", "做工精致", "很显瘦"]
BAD = ["有色差", "尺码偏小", "起球", "物流太慢", "线头多", "面料偏薄", "掉色", "客服态度差"]


@dataclass
class SampleSize:
    """How big a sample shop is."""

    n_customers: int = 6000
    n_products: int = 150
    start: str = "2024-01-01"
    end: str = "2025-12-31"
    product_traffic_days: int = 180  # product-level traffic rows for the last N days only


def _daily_demand(days: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Relative daily demand: trend × month × weekday × festival and holiday effects."""
    t = np.arange(len(days)) / 365.0
    month = np.array([0.9, 0.75, 1.05, 1.1, 1.05, 1.0, 0.85, 0.85, 1.0, 1.1, 1.2, 1.15])
    weekday = np.array([0.97, 0.96, 0.98, 1.0, 0.98, 1.05, 1.08])
    w = 1.22**t * month[days.month - 1] * weekday[days.day_of_week]
    fd = cal.festival_days(days[0], days[-1]).set_index("date").reindex(days)
    uplift = {"presale": 1.35, "peak": 2.0}
    nodes = cal.festival_nodes(days[0], days[-1])
    for phase, mult in uplift.items():
        w = w * np.where(fd["phase"].to_numpy() == phase, mult, 1.0)
    for _, n in nodes.iterrows():  # the node day itself carries the real spike
        mult = {"double11": 7.0, "618": 3.5, "double12": 2.5}.get(n["key"], 1.6)
        w = w * np.where(days == n["peak"], mult, 1.0)
    hol = cal.statutory_holidays(days[0], days[-1])
    spring = hol[(hol["name"] == "Spring Festival") & (hol["kind"] == "holiday")]["date"]
    w = w * np.where(days.isin(spring), 0.45, 1.0)  # couriers stop: the Spring Festival dip
    return w * rng.lognormal(0, 0.06, len(days))


def _products(n: int, start: pd.Timestamp, end: pd.Timestamp, rng) -> pd.DataFrame:
    roles = rng.choice(list(ROLE_SHARE), size=n, p=list(ROLE_SHARE.values()))
    cats = rng.choice(list(CATEGORIES), size=n)
    lo = np.array([ROLE_PRICE[r][0] for r in roles])
    hi = np.array([ROLE_PRICE[r][1] for r in roles])
    price = np.round(rng.uniform(lo, hi) / 10) * 10 - 1  # 99, 159 …
    span = (end - start).days
    # most products exist from the start; a third launch during the period
    launch_offset = np.where(rng.random(n) < 0.35, rng.integers(30, span - 60, n), -365)
    launch = start + pd.to_timedelta(launch_offset, unit="D")
    titles = [
        f"{rng.choice(ADJ)}{rng.choice(MATERIAL)}{c}{'女' if c != '配饰' else ''}"
        f"{2024 + int(o > 300)}新款"
        for c, o in zip(cats, launch_offset)
    ]
    pop = rng.pareto(1.2, n) + 0.2
    pop *= np.array([ROLE_POP[r] for r in roles])
    hot = np.zeros(n, bool)
    late = np.flatnonzero((launch_offset > 200) & (launch_offset < span - 200))
    hot[rng.choice(late, size=min(4, len(late)), replace=False)] = True
    pop[hot] = np.quantile(pop, 0.97) * rng.uniform(1.2, 2.0, hot.sum())
    margin = np.array([ROLE_MARGIN[r] for r in roles]) + rng.normal(0, 0.04, n)
    return pd.DataFrame(
        {
            "product_id": [f"{6500000000 + 137 * i:d}" for i in range(n)],  # Tmall-like ids
            "title": titles,
            "category": cats,
            "price": price,
            "cost": np.round(price * (1 - margin.clip(0.05, 0.8)), 2),
            "launch_date": launch.normalize(),
            "role": roles,
            "lead_time_days": rng.choice([7, 14, 21, 30, 45], size=n),
            "_pop": pop,
            "_hot": hot,
            "_decline": rng.uniform(0.4, 1.6, n),  # years until popularity halves
            "_ctr": rng.lognormal(np.log(0.045), 0.35, n).clip(0.01, 0.15),
            "_quality": rng.beta(8, 2, n),
        }
    )


def _weights(products: pd.DataFrame, months: pd.DatetimeIndex) -> np.ndarray:
    """Popularity of each product in each month: launch ramp, plateau, decline."""
    age = (
        months.to_numpy()[:, None] - products["launch_date"].to_numpy()[None, :]
    ) / np.timedelta64(365, "D")
    ramp = np.clip(age * 6, 0, 1)  # two months to full popularity
    ramp = np.where(products["_hot"].to_numpy()[None, :], np.clip(age * 3, 0, 1) ** 2, ramp)
    decline = 0.5 ** (np.clip(age - 0.6, 0, None) / products["_decline"].to_numpy()[None, :])
    w = products["_pop"].to_numpy()[None, :] * ramp * decline
    return w / w.sum(axis=1, keepdims=True)


def _purchases(
    n: int, demand: np.ndarray, rng, r=0.55, alpha=75.0, a=0.7, b=3.5
) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD purchase days (indices into ``demand``) for ``n`` customers."""
    cum = np.concatenate([[0], np.cumsum(demand / demand.mean())])  # demand time, in days
    horizon = cum[-1]
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    # first purchase: acquisitions follow demand, front-loaded a little so the shop has history
    u = horizon * rng.random(n) ** 1.15
    cust, times = [np.arange(n)], [u]
    alive, cur = np.ones(n, bool), u.copy()
    for _ in range(60):
        alive &= rng.random(n) >= p
        cur = cur + rng.exponential(1 / np.maximum(lam, 1e-9))
        alive &= cur < horizon
        if not alive.any():
            break
        cust.append(np.flatnonzero(alive))
        times.append(cur[alive])
    cust_a, t = np.concatenate(cust), np.concatenate(times)
    day = np.searchsorted(cum, t, side="right") - 1
    return cust_a, np.clip(day, 0, len(demand) - 1)


STATUSES = ["paid", "refunded", "partially_refunded", "cancelled", "pending"]


def generate(seed: int = 7, size: SampleSize | None = None) -> dict[str, pd.DataFrame]:
    """Generate a sample shop's canonical tables (and fake ``pii`` for export writers).

    Parameters
    ----------
    seed : the random seed; the same seed and size give the same shop, byte for byte.
    size : how many customers and products, and the date range.
    """
    size = size or SampleSize()
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp(size.start), pd.Timestamp(size.end)
    days = pd.date_range(start, end, freq="D")
    demand = _daily_demand(days, rng)
    products = _products(size.n_products, start, end, rng)
    n_prod = len(products)

    cust, day_idx = _purchases(size.n_customers, demand, rng)
    n_orders = len(cust)
    seconds = (rng.beta(5, 2.2, n_orders) * 86399).astype(int)  # evenings busier
    # Orders sorted by (time, customer). Work is done on integer codes: an order is its
    # position (order ids grow with it, so sorting or grouping by id is by position), a
    # product its row, a status its index in STATUSES; strings are made once, at the end.
    o_sec = day_idx.astype(np.int64) * 86400 + seconds
    by_time = np.lexsort((cust, o_sec))
    o_cust, o_sec = cust[by_time], o_sec[by_time]
    del cust, day_idx, seconds, by_time
    o_day = o_sec // 86400
    # lines per order; hero bundles below add more
    # spend heterogeneity (what Gamma-Gamma models): some customers buy bigger baskets
    appetite = rng.gamma(2.0, 0.5, size.n_customers)
    n_lines = 1 + rng.binomial(3, np.clip(0.12 * appetite[o_cust], 0, 0.9))
    opos = np.repeat(np.arange(n_orders), n_lines)
    del n_lines
    line_no = _rank_in_group(opos)
    months = pd.date_range(start.to_period("M").to_timestamp(), end, freq="MS")
    W = _weights(products, months)
    month_idx = ((days.year - start.year) * 12 + days.month - start.month).to_numpy()[o_day][opos]
    pid = np.empty(len(opos), dtype=np.int64)
    for m in np.unique(month_idx):
        sel = np.flatnonzero(month_idx == m)
        pid[sel] = rng.choice(n_prod, size=len(sel), p=W[m])
    del month_idx
    # bundles: the top sellers carry a partner product in a share of their orders
    top = np.argsort(-products["_pop"].to_numpy(), kind="stable")[:8]
    partner = np.arange(n_prod)
    partner[top] = (top * 7 + 3) % n_prod
    carry = np.isin(pid, top) & (rng.random(len(pid)) < 0.3)
    opos = np.concatenate([opos, opos[carry]])
    pid = np.concatenate([pid, partner[pid[carry]]])
    line_no = np.concatenate([line_no, np.full(int(carry.sum()), 9)])  # renumbered below
    order = np.lexsort((line_no, opos))  # stable, as sorting by (time, order id, line)
    opos, pid = opos[order], pid[order]
    first = ~pd.Series(opos * n_prod + pid).duplicated().to_numpy()  # one line per product
    opos, pid = opos[first], pid[first]
    del order, first, line_no, carry
    n = len(opos)
    c = o_cust[opos]

    fd = cal.festival_days(start, end).set_index("date")
    festive = pd.notna(fd["phase"].reindex(days).to_numpy())[o_day[opos]]
    base_q = np.where(products["role"].to_numpy()[pid] == "traffic", 0.25, 0.08)
    qty = 1 + rng.binomial(2, np.clip(base_q * appetite[c], 0, 0.9))
    del base_q
    disc = np.where(festive, rng.choice([0.8, 0.85, 0.9], n), 1.0)
    unit = np.round(products["price"].to_numpy()[pid] * disc, 2)
    del disc
    gross = np.round(unit * qty, 2)
    # 满减: 300 off 30 on festival days, apportioned over the order's lines
    basket = pd.Series(gross).groupby(opos).transform("sum").to_numpy()
    off = np.where(festive & (basket >= 300), 30.0 * np.floor(basket / 300), 0.0)
    paid = np.round(gross - off * gross / basket, 2)
    del basket, off, gross, festive

    paid_s, refunded, part_s, cancelled, pending = range(len(STATUSES))
    status = rng.choice(4, size=n_orders, p=[0.915, 0.04, 0.02, 0.025])
    o_time = start.as_unit("us") + pd.to_timedelta(o_sec, unit="s")
    status = np.where(o_time > end - pd.Timedelta(days=2), pending, status)
    lstat = status[opos]
    refund = np.where(lstat == refunded, paid, 0.0)
    part = (lstat == part_s) & (rng.random(n) < 0.6)
    refund = np.where(part, np.round(paid * rng.uniform(0.2, 0.6, n), 2), refund)
    lstat = np.where((lstat == part_s) & ~part, paid_s, lstat)
    lstat = np.where((lstat == part_s) & (refund >= paid), refunded, lstat)
    paid = np.where(lstat == cancelled, 0.0, paid)
    del part

    cust_prov = rng.choice(
        len(PROVINCES), size=size.n_customers, p=_norm([p[2] for p in PROVINCES])
    )
    prov = np.array([p[0] for p in PROVINCES])[cust_prov]
    city_names, cust_city = _cities(cust_prov, rng)
    cust_ids = np.strings.add("tb", (100000 + 31 * np.arange(size.n_customers)).astype(str))
    ch_p = _norm([s * c for s, c in CHANNELS.values()])
    och = rng.choice(len(CHANNELS), size=n_orders, p=ch_p)
    odev = rng.choice(2, size=n_orders, p=[0.88, 0.12])
    order_time = pd.DatetimeIndex(o_time[opos])
    paid_time = order_time + pd.to_timedelta(rng.integers(5, 900, n), unit="s")
    pids = products["product_id"].to_numpy().astype(str)
    skus = np.strings.add(np.repeat(pids, 3), np.tile(["-S", "-M", "-L"], n_prod))
    order_ids = pa.array(3_900_000_000_000_000_000 + np.arange(n_orders) * 7919 + seed)
    orders = pd.DataFrame(
        {
            "order_id": _take(pc.cast(order_ids, pa.string()), opos),
            "line_id": _take(np.arange(1, n_prod + 1).astype(str), _rank_in_group(opos) - 1),
            "customer_id": _take(cust_ids, c),
            "order_time": order_time.to_numpy(),
            "paid_time": paid_time.where(lstat != pending).to_numpy(),
            "status": _take(STATUSES, lstat),
            "product_id": _take(pids, pid),
            "sku": _take(skus, pid * 3 + rng.choice(3, n)),
            "title": _take(products["title"].to_numpy(), pid),
            "quantity": qty,
            "unit_price": unit,
            "paid_amount": paid,
            "refund_amount": np.round(refund, 2),
            "province": _take([p[0] for p in PROVINCES], cust_prov[c]),
            "city": _take(city_names, cust_city[c]),
            "device": _take(["mobile", "pc"], odev[opos]),
            "channel": _take(list(CHANNELS), och[opos]),
        }
    )
    units = np.bincount(pid, weights=qty, minlength=n_prod)  # sold per product, all lines
    del refund, paid, unit, qty, lstat, paid_time, order_time, opos, pid, c
    tables = {"orders": orders}
    city = np.asarray(city_names)[cust_city]
    tables["pii"] = _pii(cust_ids, prov, city, rng)
    tables.update(_traffic(orders, products, days, size, rng))
    tables["keywords"] = _keywords(orders, start, end, rng)
    tables["campaigns"] = _campaigns(products, start, end)
    tables["reviews"] = _reviews(orders, products, rng)
    tables["issues"] = _issue_log(start, end, rng)
    products["stock"] = (
        (units / len(days) * rng.uniform(10, 120, len(products))).round().astype(int)
    )
    tables["products"] = products[[c for c in products.columns if not c.startswith("_")]]
    tables["truth"] = products[["product_id", "_hot", "_pop", "launch_date"]].rename(
        columns=lambda s: s.lstrip("_")
    )
    return tables


def _norm(p) -> np.ndarray:
    p = np.asarray(p, float)
    return p / p.sum()


def _pii(cust_ids, prov, city, rng) -> pd.DataFrame:
    n = len(cust_ids)
    starts, (sur, two, g1, g2) = _replay_blocks(rng, n, 4, _names_block)
    given = np.array(GIVEN)
    names = np.strings.add(
        np.strings.add(np.array(SURNAMES)[sur[starts]], given[g1[starts]]),
        np.where(two[starts], given[g2[starts]], ""),
    )
    starts, (digit, number) = _replay_blocks(rng, n, 2, _phones_block)
    phones = (10**10 + np.array([3, 5, 7, 8, 9])[digit[starts]] * 10**9 + number[starts]).astype(
        str
    )
    streets = rng.integers(1, 999, n)
    i = np.arange(n)
    return pd.DataFrame(
        {
            "customer_id": cust_ids,
            "buyer_nick": np.strings.add(names, (i % 97).astype(str)),
            "name": names,
            "phone": phones,
            "address": _cat(prov, " ", city, " 人民路", streets.astype(str), "号"),
            "email": _cat("buyer", i.astype(str), "@example.com"),
        }
    )


def _cat(*parts) -> np.ndarray:
    """Element-wise string concatenation of arrays and scalars."""
    out = np.asarray(parts[0])
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return out


def _rank_in_group(keys: np.ndarray) -> np.ndarray:
    """1-based position of each row within its run of equal keys (``keys`` sorted)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1


def _take(values, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as a string column, built in Arrow (no Python string per row)."""
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), type=pa.string())
    return pd.array(values.take(pa.array(np.asarray(codes, dtype=np.int64))), dtype="str")


# --- exact vectorised replays of scalar draws --------------------------------------------------
# ``rng.choice(seq)`` and ``rng.integers(lo, hi)`` with a range below 2**32 take one 32-bit word
# from the bit generator and map it with Lemire's method, drawing again when the word falls in
# the rejection zone; a range of 1 takes nothing. The functions below read the same words in
# bulk and replay those rules with numpy, so loops of scalar draws become array code that
# leaves the generator, and every value, exactly as the loop did.

_LOW32 = np.uint64(0xFFFFFFFF)


def _peek32(rng: np.random.Generator, n: int) -> np.ndarray:
    """The next ``n`` 32-bit words of ``rng`` (as uint64), without consuming them."""
    state = rng.bit_generator.state
    words = rng.integers(0, 2**32, size=n, dtype=np.uint64)
    rng.bit_generator.state = state
    return words


def _skip32(rng: np.random.Generator, n: int) -> None:
    """Consume ``n`` 32-bit words, as the replayed draws did."""
    if n:
        rng.integers(0, 2**32, size=n, dtype=np.uint64)


def _lemire(words: np.ndarray, k) -> tuple[np.ndarray, np.ndarray]:
    """Value in ``[0, k)`` each word maps to, and whether the word is accepted."""
    k = np.asarray(k, dtype=np.uint64)
    m = words * k
    threshold = (np.uint64(2**32) - k) % k
    return (m >> np.uint64(32)).astype(np.int64), (m & _LOW32) >= threshold


def _bounded_draws(rng: np.random.Generator, ks: np.ndarray) -> np.ndarray:
    """Replay ``[rng.integers(0, k) for k in ks]`` (``rng.choice`` of a k-list draws the same)."""
    ks = np.asarray(ks, dtype=np.uint64)
    out = np.zeros(len(ks), np.int64)
    idx = np.flatnonzero(ks > 1)
    if not len(idx):
        return out
    kk, pos = ks[idx], np.arange(len(idx))
    vals = np.zeros(len(idx), np.int64)
    words = _peek32(rng, len(idx) + 64)
    lo = 0
    while True:  # rejections are rare (p < k / 2**32): shift the draws after the first one
        if pos[-1] >= len(words):
            words = _peek32(rng, 2 * int(pos[-1]) + 64)
        v, ok = _lemire(words[pos[lo:]], kk[lo:])
        vals[lo:] = v
        bad = np.flatnonzero(~ok)
        if not len(bad):
            break
        lo += int(bad[0])
        pos[lo:] += 1
    _skip32(rng, int(pos[-1]) + 1)
    out[idx] = vals
    return out


def _next_accepted(ok: np.ndarray) -> np.ndarray:
    """For each word position, the first position at or after it that is accepted.

    One extra slot at the end (position ``len(ok)``) maps to itself: "past the words read".
    """
    m = len(ok)
    at = np.where(ok, np.arange(m), m)
    return np.append(np.minimum.accumulate(at[::-1])[::-1], m)


def _orbit(nxt: np.ndarray, n: int) -> np.ndarray:
    """``[0, nxt[0], nxt[nxt[0]], ...]`` (n items) by pointer doubling, without a Python loop."""
    out = np.zeros(n, np.int64)
    j = np.arange(n)
    step, k = nxt, 0
    while (1 << k) < n:
        sel = np.flatnonzero((j >> k) & 1)
        out[sel] = step[out[sel]]
        k += 1
        if (1 << k) < n:
            step = step[step]
    return out


def _replay_blocks(rng: np.random.Generator, n: int, per_block: int, block):
    """Replay ``n`` blocks of scalar draws whose layout may depend on earlier draws' values.

    ``block(words, n_words)`` gets all word positions at once and returns ``(end, parts)``:
    the position after a block starting at each position (``n_words`` when it runs past the
    words read) and per-position arrays the caller reads at the block starts.
    """
    m = per_block * n + 64
    while True:
        words = _peek32(rng, m)
        end, parts = block(words, m)
        starts = _orbit(end, n) if n else np.zeros(0, np.int64)
        stop = int(end[starts[-1]]) if n else 0
        if stop < m:
            _skip32(rng, stop)
            return starts, parts
        m *= 2


def _names_block(words: np.ndarray, m: int):
    """``SURNAME + "".join(rng.choice(GIVEN, size=rng.integers(1, 3)))``, at every position."""
    v_s, ok = _lemire(words, len(SURNAMES))
    a_s = _next_accepted(ok)
    v_2, ok = _lemire(words, 2)
    a_2 = _next_accepted(ok)
    v_g, ok = _lemire(words, len(GIVEN))
    a_g = _next_accepted(ok)
    v_s, v_2, v_g = (np.append(v, 0) for v in (v_s, v_2, v_g))
    q_s = a_s  # the surname's word
    q_2 = a_2[np.minimum(q_s + 1, m)]  # how many given-name characters: 1 + value
    q_g1 = a_g[np.minimum(q_2 + 1, m)]
    q_g2 = a_g[np.minimum(q_g1 + 1, m)]
    two = v_2[q_2] == 1
    end = np.where(two, np.minimum(q_g2 + 1, m), np.minimum(q_g1 + 1, m))
    return end, (v_s[q_s], two, v_g[q_g1], v_g[q_g2])


def _phones_block(words: np.ndarray, m: int):
    """``f"1{rng.choice([3, 5, 7, 8, 9])}{rng.integers(0, 10**9):09d}"`` at every position."""
    v_d, ok = _lemire(words, 5)
    a_d = _next_accepted(ok)
    v_n, ok = _lemire(words, 10**9)
    a_n = _next_accepted(ok)
    v_d, v_n = np.append(v_d, 0), np.append(v_n, 0)
    q_n = a_n[np.minimum(a_d + 1, m)]
    return np.minimum(q_n + 1, m), (v_d[a_d], v_n[q_n])


def _cities(cust_prov: np.ndarray, rng) -> tuple[list[str], np.ndarray]:
    """All city names, and each customer's city (a draw among its province's cities)."""
    names = [c for p in PROVINCES for c in p[1]]
    offset = np.cumsum([0] + [len(p[1]) for p in PROVINCES])[:-1]
    k = np.array([len(p[1]) for p in PROVINCES])
    return names, offset[cust_prov] + _bounded_draws(rng, k[cust_prov])


def _traffic(orders, products, days, size, rng) -> dict[str, pd.DataFrame]:
    """Shop × channel × day for the whole period, product × day for the last days."""
    paid = orders[orders["status"] != "cancelled"]
    d = paid["order_time"].dt.normalize()
    buyers = paid.assign(date=d).groupby(["date", "channel"])["customer_id"].nunique()
    idx = pd.MultiIndex.from_product([days, list(CHANNELS)], names=["date", "channel"])
    buyers = buyers.reindex(idx, fill_value=0)
    conv = 0.028 * np.array([CHANNELS[c][1] for c in idx.get_level_values("channel")])
    visitors = np.maximum(buyers.to_numpy(), rng.poisson(buyers.to_numpy() / conv + 5))
    clicks = np.round(visitors * rng.uniform(1.05, 1.2, len(idx))).astype(int)
    shop = pd.DataFrame(
        {
            "date": idx.get_level_values("date"),
            "product_id": None,
            "channel": idx.get_level_values("channel"),
            "impressions": np.round(clicks / rng.uniform(0.035, 0.06, len(idx))).astype(int),
            "clicks": clicks,
            "visitors": visitors,
            "page_views": np.round(visitors * rng.uniform(2.0, 3.2, len(idx))).astype(int),
            "add_to_cart": np.round(visitors * rng.uniform(0.07, 0.11, len(idx))).astype(int),
            "buyers": buyers.to_numpy(),
        }
    )
    recent = days[-size.product_traffic_days :]
    pb = (
        paid[d >= recent[0]].assign(date=d).groupby(["date", "product_id"])["customer_id"].nunique()
    )
    pidx = pd.MultiIndex.from_product(
        [recent, products["product_id"]], names=["date", "product_id"]
    )
    pb = pb.reindex(pidx, fill_value=0).to_numpy()
    pq = products.set_index("product_id").reindex(pidx.get_level_values("product_id"))
    conv_p = 0.012 + 0.05 * pq["_quality"].to_numpy() ** 3
    vis = np.maximum(pb, rng.poisson(pb / conv_p + 0.3 * pq["_pop"].to_numpy()))
    keep = vis > 0
    ctr = pq["_ctr"].to_numpy()
    clk = np.round(vis * rng.uniform(1.05, 1.2, len(vis))).astype(int)
    prod = pd.DataFrame(
        {
            "date": pidx.get_level_values("date"),
            "product_id": pidx.get_level_values("product_id"),
            "channel": None,
            "impressions": np.round(clk / ctr).astype(int),
            "clicks": clk,
            "visitors": vis,
            "page_views": np.round(vis * rng.uniform(1.5, 2.5, len(vis))).astype(int),
            "add_to_cart": np.maximum(pb, np.round(vis * 0.09 * pq["_quality"].to_numpy())).astype(
                int
            ),
            "buyers": pb,
        }
    )[keep]
    traffic = pd.concat([shop, prod], ignore_index=True)
    # paid search rows (直通车): keyword × day, spend and attributed orders
    kw = [k for k, _ in KEYWORDS[::2]]
    aidx = pd.MultiIndex.from_product([days, kw], names=["date", "keyword"])
    share = (
        paid[paid["channel"] == "paid_search"].assign(date=d).groupby("date")["paid_amount"].sum()
    )
    rev_day = share.reindex(days, fill_value=0).to_numpy()
    kshare = rng.dirichlet(np.ones(len(kw)) * 2)
    eff = rng.lognormal(0, 0.6, len(kw))  # some keywords waste money
    rev = np.outer(rev_day, kshare).ravel()
    clicks_a = rng.poisson(np.outer(rev_day / 40 + 3, kshare * 10).ravel())
    cpc = np.tile(rng.uniform(0.6, 2.2, len(kw)), len(days))
    ads = pd.DataFrame(
        {
            "date": aidx.get_level_values("date"),
            "keyword": aidx.get_level_values("keyword"),
            "product_id": None,
            "impressions": np.round(clicks_a / rng.uniform(0.02, 0.05, len(aidx))).astype(int),
            "clicks": clicks_a,
            "spend": np.round(clicks_a * cpc, 2),
            "orders": rng.poisson(np.tile(eff, len(days)) * clicks_a * 0.025),
            "revenue": np.round(rev * np.tile(eff, len(days)) / eff.mean(), 2),
        }
    )
    return {"traffic": traffic, "ads": ads}


def _keywords(orders, start, end, rng) -> pd.DataFrame:
    months = pd.date_range(start - pd.DateOffset(years=1), end, freq="MS")
    season = np.array([0.85, 0.7, 1.0, 1.1, 1.15, 1.1, 0.9, 0.85, 1.0, 1.1, 1.35, 1.2])
    rows = []
    for k, cat in KEYWORDS:
        base = rng.lognormal(np.log(60000), 0.8)
        growth = rng.normal(0.08, 0.12)
        t = np.arange(len(months)) / 12
        vol = (
            base
            * (1 + growth) ** t
            * season[months.month - 1]
            * rng.lognormal(0, 0.05, len(months))
        )
        rows.append(
            pd.DataFrame(
                {
                    "keyword": k,
                    "month": months,
                    "group": cat,
                    "search_volume": np.round(vol),
                    "click_rate": np.round(rng.uniform(0.03, 0.09) * np.ones(len(months)), 4),
                    "conversion_rate": np.round(rng.uniform(0.015, 0.05) * np.ones(len(months)), 4),
                    "avg_price": np.round(rng.uniform(80, 320) * np.ones(len(months)), 0),
                    "online_products": np.round(rng.lognormal(np.log(2e5), 0.7) * (1 + 0.05 * t)),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _campaigns(products, start, end) -> pd.DataFrame:
    nodes = cal.festival_nodes(start, end)
    top = products.sort_values("_pop", ascending=False, kind="stable")["product_id"].head(5)
    rows = []
    for i, n in enumerate(nodes.itertuples()):
        if n.key not in ("nianhuo", "38", "618", "double11", "double12"):
            continue
        s = n.presale_start if pd.notna(n.presale_start) else n.start
        rows.append(
            {
                "campaign_id": f"C{i + 1:03d}",
                "name": f"{n.peak.year} {n.name_zh}",
                "type": "festival",
                "start": s,
                "end": n.end,
                "product_ids": ";".join(top),
                "budget": {"double11": 30000, "618": 20000}.get(n.key, 8000),
                "spend": {"double11": 28000, "618": 17500}.get(n.key, 7000),
                "threshold": 300,
                "discount": 30,
            }
        )
    for y in range(start.year, end.year + 1):
        rows.append(
            {
                "campaign_id": f"CL{y}",
                "name": f"{y} 换季清仓",
                "type": "clearance",
                "start": pd.Timestamp(y, 8, 15),
                "end": pd.Timestamp(y, 8, 25),
                "product_ids": "",
                "budget": 3000,
                "spend": 2600,
                "threshold": None,
                "discount": None,
            }
        )
    return pd.DataFrame(rows).sort_values("start", kind="stable").reset_index(drop=True)


def _reviews(orders, products, rng) -> pd.DataFrame:
    o = orders[(orders["status"] == "paid")]
    o = o[rng.random(len(o)) < 0.2]
    q = products.set_index("product_id")["_quality"].reindex(o["product_id"]).to_numpy()
    good = rng.random(len(o)) < q
    rating = np.where(good, rng.choice([4, 5], len(o), p=[0.3, 0.7]), rng.choice([1, 2, 3], len(o)))
    g1, g2 = rng.choice(GOOD, len(o)), rng.choice(GOOD, len(o))
    b1 = rng.choice(BAD, len(o))
    text = np.where(good, _cat(g1, "，", g2, "，会回购"), _cat(b1, "，", g1, "但是不满意"))
    dates = o["order_time"].dt.normalize() + pd.to_timedelta(rng.integers(3, 15, len(o)), unit="D")
    return pd.DataFrame(
        {
            "review_id": _cat("R", np.strings.zfill(np.arange(len(o)).astype(str), 7)),
            "product_id": o["product_id"].to_numpy(),
            "date": dates.to_numpy(),
            "rating": rating.astype(float),
            "text": text,
            "dsr_item": np.round(4.5 + 0.1 * (rating - 4) + rng.normal(0, 0.05, len(o)), 2).clip(
                1, 5
            ),
            "dsr_service": np.round(rng.normal(4.8, 0.05, len(o)), 2).clip(1, 5),
            "dsr_shipping": np.round(rng.normal(4.75, 0.08, len(o)), 2).clip(1, 5),
        }
    )


def _issue_log(start, end, rng) -> pd.DataFrame:
    n = 48
    areas = rng.choice(["goals", "analysis", "promotion", "execution"], n, p=[0.15, 0.25, 0.3, 0.3])
    texts = {
        "goals": "月度目标偏差超过10%",
        "analysis": "转化率下降原因待查",
        "promotion": "直通车点击成本上涨",
        "execution": "活动页面上线延迟",
    }
    owners = {"goals": "运营", "analysis": "运营", "promotion": "推广", "execution": "美工"}
    span = (end - start).days
    date = start + pd.to_timedelta(np.sort(rng.integers(0, span, n)), unit="D")
    due = date + pd.to_timedelta(rng.integers(3, 21, n), unit="D")
    closed = rng.random(n) < np.linspace(0.98, 0.4, n)
    closed_date = (date + pd.to_timedelta(rng.integers(1, 30, n), unit="D")).where(closed)
    closed_date = closed_date.where(closed_date <= end)
    status = np.where(closed_date.notna(), "closed", rng.choice(["open", "in_progress"], n))
    return pd.DataFrame(
        {
            "issue_id": [f"I{i + 1:03d}" for i in range(n)],
            "date": date,
            "area": areas,
            "owner": [owners[a] for a in areas],
            "status": status,
            "due_date": due,
            "closed_date": closed_date,
            "description": [texts[a] for a in areas],
        }
    )


def write_canonical_shop(
    tables: dict[str, pd.DataFrame], out: Path, name: str, **yaml_extra
) -> Path:
    """Write canonical tables as CSV files plus shop.yaml (raw buyer nick as customer id)."""
    import yaml

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    orders = _with_buyers(tables["orders"], tables["pii"][["customer_id", "buyer_nick", "phone"]])
    orders = orders.assign(customer_id=orders.pop("buyer_nick"), buyer_phone=orders.pop("phone"))
    _write_csv(orders, out / "orders.csv")
    del orders
    for t in ("products", "traffic", "ads", "keywords", "campaigns", "reviews", "issues"):
        if t in tables:
            _write_csv(tables[t], out / f"{t}.csv", date_format="%Y-%m-%d")
    cfg = {"name": name, "currency": "CNY", "timezone": "Asia/Shanghai", "lang": "zh", **yaml_extra}
    (out / "shop.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    return out


def _with_buyers(orders: pd.DataFrame, buyers: pd.DataFrame) -> pd.DataFrame:
    """``orders.merge(buyers, how="left")`` on customer_id, by position when ids are unique."""
    extra = [c for c in buyers.columns if c != "customer_id"]
    if buyers["customer_id"].duplicated().any() or set(extra) & set(orders.columns):
        return orders.merge(buyers, how="left")
    at = pd.Index(buyers["customer_id"]).get_indexer(orders["customer_id"])
    found = at >= 0
    out = orders.reset_index(drop=True)
    for c in extra:
        col = buyers[c].take(np.where(found, at, 0)).reset_index(drop=True)
        out[c] = col if found.all() else col.where(found)
    return out


# --- CSV writing ----------------------------------------------------------------------------
# ``DataFrame.to_csv`` formats every cell through Python objects: 10M order lines take a quarter
# of an hour. ``_write_csv`` writes the same bytes with Arrow kernels for the column types the
# generator produces (strings, integers, floats, booleans, naive datetimes in whole seconds) and
# hands anything else to ``to_csv``. The formats are pandas' own: floats as numpy's ``str``,
# datetimes as "%Y-%m-%d %H:%M:%S" or, in a chunk of rows that are all midnights, "%Y-%m-%d"
# (pandas decides per chunk of 100000 // n_columns rows), missing values empty, and fields
# quoted as the csv module does under QUOTE_MINIMAL.


def _csv_quote_chars() -> str:
    """Characters that make the csv module quote a field (the rule moved across versions)."""
    import csv
    import io

    out = ""
    for ch in ',"\n\r':
        f = io.StringIO()
        csv.writer(f, lineterminator="\n").writerow([f"a{ch}b", "x"])
        out += ch if f.getvalue().startswith('"') else ""
    return out


def _csv_strings(s: pd.Series) -> pa.Array | None:
    """A string column's CSV fields (None when it holds anything but strings)."""
    if isinstance(s.dtype, pd.StringDtype):
        arr = pa.array(s.array, type=pa.string(), from_pandas=True)
    elif s.dtype == object:
        try:
            arr = pa.array(s.to_numpy(), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    else:
        return None
    pattern = "[" + _csv_quote_chars().replace("\n", "\\n").replace("\r", "\\r") + "]"
    needs = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    if pc.any(needs).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
        arr = pc.if_else(needs, quoted, arr)
    return pc.fill_null(arr, "")


def _csv_datetimes(s: pd.Series, date_format: str | None, chunk: int) -> pa.Array | None:
    """A naive datetime column's CSV fields, or None for a case left to pandas."""
    if date_format not in (None, "%Y-%m-%d") or getattr(s.dtype, "tz", None) is not None:
        return None
    secs = s.to_numpy().astype("datetime64[s]")
    nat = np.isnat(secs)
    if (secs[~nat] != s.to_numpy()[~nat]).any():  # sub-second parts: pandas prints fractions
        return None
    if (~nat).any() and not (1000 <= secs[~nat].astype("datetime64[Y]").astype(int) + 1970).all():
        return None
    i8 = secs.astype(np.int64)
    iso = pa.array(np.datetime_as_string(secs, unit="s"), mask=nat)  # 2024-01-31T10:00:00
    full = pc.replace_substring(iso, "T", " ", max_replacements=1)
    day = pc.utf8_slice_codeunits(iso, 0, 10)
    if date_format is not None:
        return pc.fill_null(day, "")
    # pandas' default: date only when every value of the chunk is a midnight (NaT aside)
    midnight = nat | (i8 % 86400 == 0)
    starts = np.arange(0, len(s), chunk)
    dates_only = np.repeat(np.logical_and.reduceat(midnight, starts), chunk)[: len(s)]
    return pc.fill_null(pc.if_else(pa.array(dates_only), day, full), "")


def _csv_column(s: pd.Series, date_format: str | None, chunk: int) -> pa.Array | None:
    """The CSV fields of one column as an Arrow string array (None: not handled here)."""
    kind = s.dtype.kind if isinstance(s.dtype, np.dtype) else ""
    if kind == "M":
        return _csv_datetimes(s, date_format, chunk)
    if kind in ("i", "u"):
        return pc.cast(pa.array(s.to_numpy()), pa.string())
    if kind in ("f", "b"):
        vals = s.to_numpy()
        out = pa.array(vals.astype(str), type=pa.string())  # numpy's str, as pandas
        if kind == "f":
            out = pc.if_else(pa.array(np.isnan(vals)), "", out)
        return out
    return _csv_strings(s)


def _write_csv(df: pd.DataFrame, path: Path, date_format: str | None = None) -> None:
    """``df.to_csv(path, index=False, date_format=date_format)``, byte for byte, faster."""
    names = [str(c) for c in df.columns]
    fallback = (
        len(df.columns) < 2
        or not df.columns.is_unique
        or any(c != str(c) or set(c) & set(',"\n\r') for c in df.columns)
    )
    chunk = max(100_000 // len(df.columns), 1) if len(df.columns) else 1
    step = chunk * max(1, 500_000 // chunk)  # rows formatted at a time: a whole pandas chunk
    if not fallback:
        with open(path, "wb") as fh:
            fh.write((",".join(names) + "\n").encode())
            for lo in range(0, len(df), step):
                part = df.iloc[lo : lo + step]
                cols = [_csv_column(part[c], date_format, chunk) for c in part.columns]
                if any(c is None for c in cols):
                    fallback = True
                    break
                lines = pc.binary_join_element_wise(*cols, ",")
                lines = pc.binary_join_element_wise(lines, "", "\n")
                for view in _string_bytes(lines):
                    fh.write(view)
    if fallback:
        df.to_csv(path, index=False, date_format=date_format)


def _string_bytes(arr: pa.Array | pa.ChunkedArray) -> list[memoryview]:
    """The characters of a null-free string array, concatenated (one view per chunk)."""
    out = []
    for a in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if len(a):
            offsets = np.frombuffer(a.buffers()[1], dtype=np.int32)
            offsets = offsets[a.offset : a.offset + len(a) + 1]
            out.append(memoryview(a.buffers()[2])[offsets[0] : offsets[-1]])
    return out
