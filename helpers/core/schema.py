"""The canonical tables of a shop, defined once.

Every adapter turns an export into one of these tables; every analysis reads only these
columns. ``COLUMNS`` is the plain description (name -> (kind, required)); ``schema(table)``
builds the pandera schema that :func:`helpers.load.shop.load_shop` validates against.

Kinds: ``id`` (string identifier, never a float), ``str``, ``cat`` (string from a fixed set),
``time`` (naive datetime in the shop's timezone), ``date`` (naive datetime at midnight),
``int``, ``money`` (float in the shop's currency), ``rate`` (float in [0, 1]), ``float``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

__all__ = [
    "text_objects",
    "arrow_objects",
    "arrow_repeats",
    "ORDER_STATUSES",
    "LINE_TYPES",
    "ROLES",
    "ISSUE_AREAS",
    "ISSUE_STATUSES",
    "DEVICES",
    "COLUMNS",
    "ALLOWED",
    "UNIQUE",
    "TABLES",
    "NO_PRODUCT",
    "SIGNED",
    "is_return_line",
    "required",
    "empty",
    "conform",
    "schema",
]

# "returned": a return / cancellation line (credit note): negative quantity and paid_amount
ORDER_STATUSES = ("paid", "refunded", "partially_refunded", "cancelled", "pending", "returned")
LINE_TYPES = ("merchandise", "non_merchandise")  # postage, fees, adjustments… are not goods
ROLES = ("traffic", "profit", "image", "custom")  # 引流款, 利润款, 形象款, 定制款
ISSUE_AREAS = ("goals", "analysis", "promotion", "execution")
ISSUE_STATUSES = ("open", "in_progress", "closed")
DEVICES = ("mobile", "pc", "other")

# table -> column -> (kind, required)
COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "orders": {
        "order_id": ("id", True),
        "line_id": ("id", True),
        "customer_id": ("id", False),  # salted hash; absent in short reports
        "order_time": ("time", True),
        "paid_time": ("time", False),
        "status": ("cat", True),
        "product_id": ("id", True),
        "sku": ("id", False),
        "title": ("str", False),
        "quantity": ("int", True),
        "unit_price": ("money", True),
        "paid_amount": ("money", True),
        "refund_amount": ("money", True),
        "province": ("str", False),
        "city": ("str", False),
        "device": ("cat", False),
        "channel": ("str", False),
        "return_of": ("id", False),  # a return line: the original order it was matched to
        "line_type": ("cat", False),  # merchandise / non_merchandise (postage, fees…)
    },
    "products": {
        "product_id": ("id", True),
        "title": ("str", False),
        "category": ("str", False),
        "price": ("money", False),
        "cost": ("money", False),
        "launch_date": ("date", False),
        "stock": ("int", False),
        "lead_time_days": ("int", False),
        "role": ("cat", False),
    },
    "traffic": {
        "date": ("date", True),
        "product_id": ("id", False),  # empty = whole shop
        "channel": ("str", False),
        "impressions": ("int", False),
        "clicks": ("int", False),
        "visitors": ("int", True),
        "page_views": ("int", False),
        "add_to_cart": ("int", False),
        "buyers": ("int", False),
    },
    "ads": {
        "date": ("date", True),
        "keyword": ("str", False),
        "product_id": ("id", False),
        "impressions": ("int", False),
        "clicks": ("int", True),
        "spend": ("money", True),
        "orders": ("int", False),
        "revenue": ("money", False),
    },
    "keywords": {
        "keyword": ("str", True),
        "month": ("date", True),  # first day of the month
        "group": ("str", False),
        "search_volume": ("float", True),
        "click_rate": ("rate", False),
        "conversion_rate": ("rate", False),
        "avg_price": ("money", False),
        "online_products": ("float", False),
    },
    "campaigns": {
        "campaign_id": ("id", True),
        "name": ("str", True),
        "type": (
            "str",
            False,
        ),  # new_customer, holiday, clearance, threshold, free_shipping, festival
        "start": ("date", True),
        "end": ("date", True),
        "product_ids": ("str", False),  # ';'-separated
        "budget": ("money", False),
        "spend": ("money", False),
        "threshold": ("money", False),  # 满 X
        "discount": ("money", False),  # 减 Y
    },
    "reviews": {
        "review_id": ("id", True),
        "product_id": ("id", False),
        "date": ("date", True),
        "rating": ("float", True),
        "text": ("str", False),
        "dsr_item": ("float", False),
        "dsr_service": ("float", False),
        "dsr_shipping": ("float", False),
    },
    "issues": {
        "issue_id": ("id", True),
        "date": ("date", True),
        "area": ("cat", True),
        "owner": ("str", False),
        "status": ("cat", True),
        "due_date": ("date", False),
        "closed_date": ("date", False),
        "description": ("str", False),
    },
}

ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("orders", "status"): ORDER_STATUSES,
    ("orders", "device"): DEVICES,
    ("orders", "line_type"): LINE_TYPES,
    ("products", "role"): ROLES,
    ("issues", "area"): ISSUE_AREAS,
    ("issues", "status"): ISSUE_STATUSES,
}

# Columns whose combination must be unique in a table.
UNIQUE: dict[str, list[str]] = {
    "orders": ["order_id", "line_id"],
    "products": ["product_id"],
    "campaigns": ["campaign_id"],
    "reviews": ["review_id"],
    "issues": ["issue_id"],
}

TABLES = tuple(COLUMNS)

# The product of every order line when an orders export has no product column (a CRM or POS
# export): customer, target, calendar and review analyses run on it; product analyses say
# they need a product column.
NO_PRODUCT = "(all products)"
# Columns that may be negative: a return line (status "returned") carries negative quantity
# and paid_amount; every other line has them positive (checked by the orders schema).
SIGNED = {("orders", "refund_amount"), ("orders", "quantity"), ("orders", "paid_amount")}


def is_return_line(orders: pd.DataFrame):
    """Whether each order line moves goods or money back (negative quantity or payment)."""
    return (orders["quantity"] < 0) | (orders["paid_amount"] < -0.005)


def required(table: str) -> list[str]:
    """Names of the columns a table cannot do without."""
    return [c for c, (_, req) in COLUMNS[table].items() if req]


def empty(table: str) -> pd.DataFrame:
    """An empty canonical table with every column at its canonical dtype."""
    return conform(pd.DataFrame(columns=list(COLUMNS[table])), table)


_DTYPES = {
    "id": "object",
    "str": "object",
    "cat": "object",
    "time": "datetime64[ns]",
    "date": "datetime64[ns]",
    "int": "int64",
    "money": "float64",
    "rate": "float64",
    "float": "float64",
}


_KEEP = {  # a column of this kind and dtype is conformed already
    "time": np.dtype("datetime64[ns]"),
    "int": np.dtype("int64"),
    "money": np.dtype("float64"),
    "rate": np.dtype("float64"),
    "float": np.dtype("float64"),
}


def conform(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Order and type the canonical columns; add absent optional columns as empty.

    Integer columns that hold missing values become float64 (pandas cannot hold NaN in
    int64); everything else takes the canonical dtype exactly. A time, integer or money
    column that has its dtype already is kept, not copied (a conformed table read back).
    """
    out = pd.DataFrame(index=df.index)
    for col, (kind, _) in COLUMNS[table].items():
        s = df[col] if col in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")
        if s.dtype == _KEEP.get(kind):
            pass
        elif kind in ("time", "date"):
            s = pd.to_datetime(s, errors="coerce")
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_localize(None)
            s = s.astype("datetime64[ns]")
            if kind == "date":
                s = s.dt.normalize()
        elif kind == "int":
            s = pd.to_numeric(s, errors="coerce")
            s = s.astype("int64") if s.notna().all() else s.astype("float64")
        elif kind in ("money", "rate", "float"):
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        else:
            s = text_objects(s)
        out[col] = s
    extra = [c for c in df.columns if c not in out.columns and c.startswith("_")]
    for c in extra:  # bookkeeping columns such as _source_row travel along
        out[c] = df[c]
    return out


def text_objects(s: pd.Series, sample: int = 100_000) -> pd.Series:
    """A text column as objects: ``str`` values, None for missing.

    A long column with few distinct values (judged on its first ``sample`` rows) shares one
    ``str`` per distinct value, as a table read from the Parquet cache does: at 10M lines
    a shop's status, product, title, place, device and channel columns take 8 bytes a cell
    instead of one string object each (gigabytes). A column that already shares them (its
    first rows hold one object per distinct value) is kept as it is, missing values made None.
    """
    head = s.iloc[:sample]
    if len(s) <= sample or head.nunique() * 20 >= len(head):
        # missing found before the objects: Arrow text answers from its validity bitmap
        return _none_for_missing(s.astype("object"), s.isna())
    if s.dtype == object and len({id(v) for v in head[head.notna()]}) == head.nunique():
        return _none_for_missing(s)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    values = np.append(np.asarray(uniques, dtype=object), None)
    return pd.Series(values[codes], index=s.index, dtype=object, name=s.name)


def _none_for_missing(s: pd.Series, na: pd.Series | None = None) -> pd.Series:
    """An object column with None for missing (``na``, when known already); the column
    itself (no copy) when complete."""
    na = s.isna() if na is None else na
    return s.where(~na, None) if na.any() else s


def arrow_repeats(col, sample: int = 100_000) -> bool:
    """Whether an Arrow column repeats its values (an order's lines, a buyer's orders),
    judged on its first ``sample`` rows: such a column is worth one ``str`` per distinct
    value rather than one per cell."""
    head = col.slice(0, sample)
    return len(head) > 0 and len(head.unique()) < 0.9 * len(head)


def arrow_objects(col, shared: bool = False) -> np.ndarray:
    """An Arrow text column (plain or dictionary-encoded) as a numpy object array: ``str``
    values, None for missing.

    A dictionary-encoded column gives one ``str`` per distinct value; ``shared`` encodes a
    plain one first to get the same (Arrow builds one per cell otherwise). At 10M lines this
    keeps a buyer id in 1.2M strings instead of 10M (~0.6 GB) for ~2.5 s.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if shared and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pa.chunked_array([pc.dictionary_encode(col.combine_chunks())])
    parts, seen = [], None  # seen: (the last dictionary, its values as objects)
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            # chunks encoded together share one dictionary: one ``str`` per value, not per chunk
            if seen is None or not chunk.dictionary.equals(seen[0]):
                seen = (
                    chunk.dictionary,
                    np.append(chunk.dictionary.to_numpy(zero_copy_only=False), None),
                )
            values = seen[1]
            codes = chunk.indices.fill_null(len(values) - 1).to_numpy(zero_copy_only=False)
            parts.append(values.take(codes))
        elif pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
            parts.append(chunk.to_numpy(zero_copy_only=False))
        else:  # all-null or non-text storage: the general conversion
            v = pd.Series(chunk.to_pandas())
            parts.append(v.astype("object").where(v.notna(), None).to_numpy())
    if not parts:
        return np.empty(0, dtype=object)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


@cache
def schema(table: str):
    """The pandera schema of a canonical table (built lazily: pandera is slow to import)."""
    import pandera.pandas as pa

    cols = {}
    for col, (kind, req) in COLUMNS[table].items():
        checks = []
        allowed = ALLOWED.get((table, col))
        if allowed:
            checks.append(pa.Check.isin(list(allowed)))
        if kind in ("money", "int") and (table, col) not in SIGNED:
            checks.append(pa.Check.ge(0))
        if kind == "rate":
            checks.append(pa.Check.in_range(0, 1))
        if (table, col) == ("orders", "refund_amount"):
            checks.append(pa.Check.ge(0))
        if (table, col) == ("reviews", "rating"):
            checks.append(pa.Check.in_range(0, 5))
        if (table, col) == ("orders", "quantity"):
            checks = [pa.Check.ne(0)]
        dtype = None if kind == "int" else _DTYPES[kind]  # int may be float with NaN
        cols[col] = pa.Column(dtype, checks=checks, nullable=not req, required=req)
    checks = []
    if table == "orders":
        checks.append(
            pa.Check(
                lambda d: d["refund_amount"] <= d["paid_amount"].clip(lower=0) + 0.005,
                name="refund_not_above_payment",
                element_wise=False,
            )
        )
        checks.append(
            pa.Check(
                lambda d: is_return_line(d) == (d["status"] == "returned"),
                name="negative_only_on_returned_lines",
                element_wise=False,
            )
        )
    return pa.DataFrameSchema(
        cols, checks=checks, unique=UNIQUE.get(table), strict=False, name=table
    )
