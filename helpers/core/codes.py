"""The few definitions every analysis shares, so that "sales" means one thing everywhere.

* A **purchase line** is an order line with status paid, partially_refunded or refunded
  (the money moved); pending and cancelled lines are not sales.
* **Net sales** of a line = paid_amount - refund_amount (a fully refunded line nets to 0).
* An **order** is an order_id; its value (客单价 numerator) is the sum of its lines' net sales.
* A **return line** (status ``returned``: a credit note or cancellation, negative quantity
  and paid_amount, see :mod:`helpers.load.lines`) is a sales line with ``is_return`` True and a
  negative ``net``: its money reduces net sales (and its product's sales) on the day it
  happened, but it is never an order, a buyer or a purchase. Counts of orders, buyers and
  units are taken where ``is_return`` is False.
* **Merchandise net sales** leave out non-merchandise lines (``line_type``
  ``non_merchandise``: postage, fees, adjustments, discounts, samples, gift cards): they are
  not sales lines at all, and their money is reported apart in data health.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CODES",
    "Memo",
    "SALES_LINES",
    "clear_caches",
    "SALE_STATUSES",
    "RETURN_STATUS",
    "LEDGER_COLUMNS",
    "sales_mask",
    "sales_lines",
    "per_orders",
    "daily_sales",
    "order_values",
    "factorize",
    "line_codes",
    "order_codes",
    "subset_codes",
    "any_filled",
    "distinct_per_group",
    "distinct_in_groups",
    "nunique_by",
]

SALE_STATUSES = ("paid", "partially_refunded", "refunded")
RETURN_STATUS = "returned"
# Order-line columns no analysis reads (bookkeeping of the export): left out of sales lines,
# which every notebook keeps in memory (a unique line id alone is ~0.5 GB at 10M lines).
LEDGER_COLUMNS = ("line_id", "sku", "paid_time", "_source_file", "_source_row")


class Memo:
    """What this module remembers between calls in one notebook: sales lines per orders frame
    (:data:`SALES_LINES`) and id codes per array (:data:`CODES`).

    Frames and arrays cannot be hashed, so an entry is found by the object's identity and
    checked with a weak reference to it (a recycled address never hits a stale entry); the
    entry goes when the object does. :meth:`clear` forgets everything (a benchmark that must
    pay for its own lines; a test); ``key in memo`` tells whether a key is remembered.
    """

    def __init__(self) -> None:
        self._items: dict = {}

    def get(self, key):
        return self._items.get(key)

    def put(self, key, obj, value: tuple) -> tuple:
        """Remember ``value`` for ``obj`` under ``key``: ``(weakref to obj, *value)``."""
        item = (weakref.ref(obj, lambda _, k=key: self._items.pop(k, None)), *value)
        self._items[key] = item
        return item

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


SALES_LINES = Memo()  # id(orders) -> (weakref to orders, fingerprint, keep, lines)
PER_ORDERS = Memo()  # (id(orders), name, *args) -> (weakref to orders, fingerprint, keep, table)


def _fingerprint(orders: pd.DataFrame) -> tuple[tuple, list] | None:
    """Where every column lives (an array's address, an extension array's identity), and
    the columns (kept: no new column can take a remembered address, and an edit in place
    copies the column first, under copy-on-write); None when a column is not a view (no
    memo)."""
    fp, keep = [len(orders), tuple(orders.columns), id(orders.index)], [orders.index]
    for c in orders.columns:
        col = orders[c]
        if isinstance(col.dtype, np.dtype):
            a = col.to_numpy()
            if a.flags.owndata or a.base is None:
                return None  # converted for us: its address means nothing
            fp.append(a.__array_interface__["data"][0])
        else:  # text read from the Parquet cache (the source file's name)
            fp.append(id(col.array))
        keep.append(col)
    return tuple(fp), keep


def sales_mask(orders: pd.DataFrame) -> np.ndarray:
    """Which rows of ``orders`` are sales lines: purchase or return lines of merchandise."""
    keep = orders["status"].isin((*SALE_STATUSES, RETURN_STATUS)).to_numpy()
    if "line_type" in orders.columns:
        keep = keep & (orders["line_type"] != "non_merchandise").to_numpy()
    return keep


def sales_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """Purchase and return lines of merchandise, with ``net`` (net sales: negative on a
    return line), ``day`` (midnight) and ``is_return`` (False on a purchase line).

    The columns are those of ``orders`` but :data:`LEDGER_COLUMNS`. Non-merchandise lines
    (``line_type`` ``non_merchandise``) are left out; count orders, buyers and units only
    where ``is_return`` is False.

    Every analysis starts here, so the result is remembered for the frame it was computed
    from (a notebook calls it dozens of times on the same ``shop.orders``) and handed out as a
    shallow copy: under copy-on-write a caller's changes never reach the remembered table.
    A frame with a column replaced since is computed afresh. A loaded shop's
    orders hold their sales lines first (:func:`helpers.load.shop.load_shop`), so the lines
    share the orders' columns instead of copying them (at 30M lines, ~4 GB less).
    """
    return _remembered(SALES_LINES, id(orders), orders, lambda: _sales_lines(orders))


def _sales_lines(orders: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in orders.columns if c not in LEDGER_COLUMNS]
    keep = sales_mask(orders)
    k = int(np.count_nonzero(keep))
    if keep[:k].all():  # a loaded shop has its sales lines first: they are a view, not a copy
        s = orders.iloc[:k][cols]
    else:
        s = orders.loc[keep, cols]
    return s.assign(
        net=s["paid_amount"] - s["refund_amount"],
        day=s["order_time"].dt.normalize(),
        is_return=(s["status"] == RETURN_STATUS).to_numpy(),
    )


def per_orders(orders: pd.DataFrame, key: tuple, compute) -> pd.DataFrame:
    """``compute()``, a table derived from ``orders``, remembered for that frame under
    ``key`` (the deriving function's name and arguments) as :func:`sales_lines` is: while
    none of its columns has been replaced, and handed out as a shallow (copy-on-write) copy.

    So the kernel server can compute once what several notebooks derive alike, before it
    forks their kernels (:func:`helpers.run.kernels._preload`): they share its pages instead
    of each building and holding its own (at 10M lines, the buyers' orders took 7 s and
    1.2 GiB in each of two notebooks).
    """
    return _remembered(PER_ORDERS, (id(orders), *key), orders, compute)


def _remembered(memo: Memo, key, orders: pd.DataFrame, compute) -> pd.DataFrame:
    """``memo``'s table for ``orders`` under ``key`` while no column of ``orders`` has moved,
    else ``compute()`` remembered; a shallow copy either way."""
    fp = _fingerprint(orders)
    hit = memo.get(key) if fp is not None else None
    if hit is not None and hit[0]() is orders and hit[1] == fp[0]:
        return hit[3].copy(deep=False)
    out = compute()
    fp = fp and _fingerprint(orders)  # again: indexing may have consolidated its blocks
    if fp is None:
        return out
    try:
        memo.put(key, orders, (fp[0], fp[1], out))
    except TypeError:  # not weak-referenceable: no memo
        return out
    return out.copy(deep=False)


def daily_sales(orders: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """Per day: net sales (returns deducted on their day), orders, buyers and units (of
    purchase lines); every day in [start, end] present (0s)."""
    s = sales_lines(orders)
    buy = ~s["is_return"].to_numpy()
    g = s[["day", "net"]].groupby("day")
    days, n = g.ngroup().to_numpy(), g.ngroups  # days in sorted order, as the sums' index
    gone = np.where(buy, days, -1)  # return lines: no order, buyer or unit
    out = pd.DataFrame(
        {
            "net_sales": g["net"].sum(),
            "orders": distinct_per_group(gone, line_codes(s, "order_id")[0], n),
            "buyers": distinct_per_group(gone, line_codes(s)[0], n),
            "units": np.bincount(
                days[buy], weights=s["quantity"].to_numpy()[buy], minlength=n
            ).astype(np.int64),
        },
        index=g["net"].sum().index,
    )
    start = pd.Timestamp(start) if start is not None else s["day"].min()
    end = pd.Timestamp(end) if end is not None else s["day"].max()
    out = out.reindex(pd.date_range(start, end, freq="D"), fill_value=0)
    out.index.name = "date"
    return out.reset_index()


def order_values(orders: pd.DataFrame) -> pd.Series:
    """Net value of each purchase order (index order_id): the basket-value distribution,
    客单价 base. Return lines (credit notes) are not orders and are left out."""
    s = sales_lines(orders)
    if s["is_return"].any():
        s = s[~s["is_return"].to_numpy()]
    return s.groupby("order_id")["net"].sum()


# --- grouping on text keys, fast ---------------------------------------------------------------
# Ids are object columns of Python strings; hashing a million of them in pandas takes about a
# second, and every analysis groups by order or customer. These number them once, as
# pandas.factorize would, so that grouping runs on integers.


def factorize(
    values, sort: bool = False, slice_rows: int = 1 << 20
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and uniques of ``values``, exactly as :func:`pandas.factorize` gives them.

    Codes number the distinct values in order of first appearance (``sort``: in sorted
    order); a missing value gets -1. Text ids are object columns, and hashing a million Python
    strings in pandas takes about a second. Ids that come sorted (orders exported by order id)
    are numbered by where they change; other text goes through Arrow's dictionary encoding,
    about twice as fast as pandas, ``slice_rows`` rows at a time; anything else through
    :func:`pandas.factorize`.
    """
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if arr.dtype == object and len(arr):
        runs = _sorted_runs(arr)
        if runs is not None:  # sorted: first appearance is sorted order
            return np.cumsum(runs) - 1, arr[runs]
        try:
            enc = _encoded(arr, slice_rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: pandas' way
            enc = None
        if enc is not None:
            codes = np.concatenate(
                [c.indices.fill_null(-1).to_numpy().astype(np.intp) for c in enc.chunks]
            )
            enc = enc.chunk(0)  # every chunk has the one dictionary
            # codes appear in increasing order: a code's first row is where it tops all before
            seen = np.maximum.accumulate(codes)
            uniques = arr[np.flatnonzero(codes > np.concatenate([[-1], seen[:-1]]))]
            if sort:
                order = pc.sort_indices(enc.dictionary).to_numpy()
                rank = np.empty(len(order), np.intp)
                rank[order] = np.arange(len(order))
                codes = np.append(rank, -1)[codes]  # -1 stays -1
                uniques = uniques[order]
            return codes, uniques
    codes, uniques = pd.factorize(arr, sort=sort)
    return codes.astype(np.intp, copy=False), np.asarray(uniques)


def _encoded(arr: np.ndarray, rows: int) -> pa.ChunkedArray:
    """``arr``'s text dictionary-encoded ``rows`` at a time (only one slice's text is in
    Arrow at once: a 10M-line title column would be ~0.4 GB), the slices' dictionaries then
    unified into one. Each slice numbers its values by first appearance and unifying adds
    a later slice's new values after the earlier ones, so codes still number the values by
    first appearance in ``arr``."""
    parts = [
        pa.array(arr[a : a + rows], type=pa.string(), from_pandas=True).dictionary_encode()
        for a in range(0, len(arr), rows)
    ]
    return pa.table({"v": pa.chunked_array(parts)}).unify_dictionaries().column(0)


def _sorted_runs(arr: np.ndarray) -> np.ndarray | None:
    """Where a new value starts, if ``arr`` is sorted and has no missing values; else None."""
    head = arr[:1000]  # most unsorted columns show it early
    try:
        if not (head[1:] >= head[:-1]).all() or not (arr[1:] >= arr[:-1]).all():
            return None
    except TypeError:  # None / NaN among strings, or values that do not compare
        return None
    if pd.isna(arr[0]):  # a lone missing value
        return None
    return np.concatenate([[True], arr[1:] != arr[:-1]])


CODES = Memo()  # (column, id of the array, data offset, shape, strides) -> codes


def line_codes(lines: pd.DataFrame, column: str = "customer_id") -> tuple[np.ndarray, np.ndarray]:
    """:func:`factorize` (sorted) of ``lines[column]``, remembered for the array behind it.

    :func:`helpers.core.codes.sales_lines` remembers its table per orders frame and hands out
    copy-on-write copies, so the id columns of sales lines never change while their array
    lives: every analysis of a notebook that groups sales lines by customer shares one hashing
    of the ids. The entry goes when the array does; other arrays are simply factorized.
    """
    a = lines[column].to_numpy()
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root is a or a.dtype != object:  # an array made for us: nothing lasting to key on
        return factorize(a, sort=True)
    key = (column, id(root), a.__array_interface__["data"][0], a.shape, a.strides)
    hit = CODES.get(key)
    if hit is None or hit[0]() is not root:
        codes, uniques = factorize(a, sort=True)
        codes.flags.writeable = uniques.flags.writeable = False  # shared: read only
        hit = CODES.put(key, root, (codes, uniques))
    return hit[1], hit[2]


def order_codes(orders: pd.DataFrame, column: str = "order_id") -> np.ndarray:
    """``factorize(orders[column])[0]`` (codes by first appearance), without hashing the
    sales lines' ids again.

    A loaded shop's orders hold their sales lines first, and those lines' codes are computed
    once per shop (:func:`line_codes`): only the other lines (cancelled, pending,
    non-merchandise) are hashed, and their ids looked up among the lines' sorted ids.
    """
    lines = sales_lines(orders)
    k = len(lines)  # the first k rows, when the lines are labelled 0 … k-1 in a 0 … n-1 frame
    first = orders.index.equals(pd.RangeIndex(len(orders))) and lines.index.equals(pd.RangeIndex(k))
    if k == 0 or not first:
        return factorize(orders[column])[0]
    codes, uniques = line_codes(lines, column)
    rest, seen = factorize(orders[column].to_numpy()[k:])
    try:
        at = np.searchsorted(uniques, seen)
    except TypeError:  # ids that do not compare (mixed kinds): hash them all
        return factorize(orders[column])[0]
    found = at < len(uniques)
    found[found] = uniques[at[found]] == seen[found]
    at[~found] = len(uniques) + np.arange(np.count_nonzero(~found))  # ids of no sales line
    full = np.concatenate([codes, np.append(at, -1)[rest]])  # -1 (no id) stays -1
    return subset_codes(full)


def subset_codes(codes: np.ndarray, sort: bool = False) -> np.ndarray:
    """Codes for some rows of a column, from the whole column's sorted codes (as
    :func:`line_codes` gives them): what :func:`factorize` of those rows' values would give
    (``sort``: numbered in sorted order, else by first appearance; -1 stays -1), without
    hashing the text again."""
    codes = np.asarray(codes)
    ok = codes >= 0
    out = np.full(len(codes), -1, np.intp)
    out[ok] = pd.factorize(codes[ok], sort=sort)[0]
    return out


def any_filled(col: pd.Series) -> bool:
    """``col.notna().any()``, looking at the first rows before scanning all of them."""
    return bool(col.iloc[:1000].notna().any() or col.notna().any())


def distinct_per_group(group: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """How many distinct ``value`` codes each group ``0 … n-1`` has (a groupby nunique on
    integer codes; a negative group or value is missing and not counted)."""
    ok = (group >= 0) & (value >= 0)
    width = int(value[ok].max(initial=0)) + 1
    pairs = pd.unique(group[ok].astype(np.int64) * width + value[ok])  # distinct (group, value)
    return np.bincount(pairs // width, minlength=n).astype(np.int64)


def distinct_in_groups(g, value: np.ndarray) -> pd.Series:
    """``g[col].nunique()`` for the groupby ``g``, the column given as its integer codes
    (``value``, -1 missing): the groupby's own group numbers, no second hashing of its keys."""
    groups = g.ngroup().to_numpy()
    if groups.dtype.kind == "f":  # rows of a missing key (dropped groups) number NaN
        groups = np.where(np.isnan(groups), -1, groups)
    counts = distinct_per_group(groups.astype(np.intp), value, g.ngroups)
    return pd.Series(counts, index=g.size().index)


def nunique_by(df: pd.DataFrame, by: str, col: str) -> pd.Series:
    """``df.groupby(by)[col].nunique()``, the text column counted through its integer codes."""
    groups, keys = pd.factorize(df[by], sort=True)
    counts = distinct_per_group(groups, factorize(df[col])[0], len(keys))
    return pd.Series(counts, index=keys.rename(by), name=col)


def clear_caches() -> None:
    """Forget every remembered sales-lines table and id code (:class:`Memo`)."""
    SALES_LINES.clear()
    PER_ORDERS.clear()
    CODES.clear()
