"""What an order line is: a sale, a return / cancellation, or not merchandise at all.

Applied to the canonical orders at load (:func:`prepare_orders`, after the adapters and
before validation), so every analysis sees the same answer:

* **Return lines.** A line with a negative quantity or a negative amount, or whose order
  number carries a credit-note marker (shop.yaml ``returns: {invoice_prefix: "C"}``; by
  default a leading ``C``, ``RET`` or ``退`` followed by a digit), is a return or
  cancellation: status ``returned``, negative ``quantity`` and ``paid_amount``, positive
  ``unit_price``, no refund of its own. It is matched to the order it returns
  (``return_of``), in this order: the export's own original-order column; else the latest
  earlier purchase of the same customer and product within ``returns.window_days`` (90);
  else it stays unmatched, still deducted from net sales and reported.
* **Non-merchandise lines** (postage, fees, adjustments, discounts, samples, gift cards):
  recognised from ``data_files/non_merchandise.yaml`` and shop.yaml ``non_merchandise:
  {ids, title_patterns}`` on product id and title; ``line_type`` is ``non_merchandise``
  (else ``merchandise``).

Layer: load (it changes the canonical tables as they are read).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from helpers.core import schema
from helpers.data_files import DATA_DIR, read_yaml

__all__ = [
    "RULES_FILE",
    "DEFAULT_PREFIX",
    "SALE_STATUSES",
    "OTHER_KIND",
    "default_rules",
    "rules",
    "charge_kind",
    "credit_note_marker",
    "match_returns",
    "prepare_orders",
]

RULES_FILE = DATA_DIR / "non_merchandise.yaml"
DEFAULT_PREFIX = r"^(?:C|RET|退)[-_ ]?\d"
SALE_STATUSES = ("paid", "partially_refunded", "refunded")  # as helpers.core.codes
OTHER_KIND = "other"  # a shop's own non-merchandise ids and patterns


@cache
def default_rules() -> dict[str, dict[str, list[str]]]:
    """The default non-merchandise kinds: ``{kind: {ids, title_patterns}}``."""
    return read_yaml(RULES_FILE)["kinds"]


def rules(non_merchandise: dict | None = None) -> dict[str, dict[str, list[str]]]:
    """The default kinds plus a shop's own (shop.yaml ``non_merchandise``) as ``other``."""
    out = dict(default_rules())
    extra = non_merchandise or {}
    if extra.get("ids") or extra.get("title_patterns"):
        out[OTHER_KIND] = {
            "ids": list(extra.get("ids", [])),
            "title_patterns": list(extra.get("title_patterns", [])),
        }
    return out


def _kind_of(pid, title, compiled) -> str | None:
    p = "" if pid is None or pid != pid else str(pid).strip()
    t = "" if title is None or title != title else str(title).strip()
    t = t or p  # no title: the patterns read the product id
    for kind, ids, pats in compiled:
        if p.upper() in ids:
            return kind
        if any(r.search(t) for r in pats):
            return kind
    return None


def charge_kind(orders: pd.DataFrame, non_merchandise: dict | None = None) -> pd.Series:
    """The non-merchandise kind of each line (postage, fees, adjustments, discounts, samples,
    gift_cards, other), None for merchandise; judged once per distinct (product id, title)."""
    compiled = [
        (
            kind,
            {str(i).strip().upper() for i in spec.get("ids") or []},
            [re.compile(p, re.IGNORECASE) for p in spec.get("title_patterns") or []],
        )
        for kind, spec in rules(non_merchandise).items()
    ]
    if orders.empty:
        return pd.Series([], index=orders.index, dtype="object")
    from helpers.core.codes import factorize  # text ids numbered through Arrow: fast at 10M lines

    title = orders["title"] if "title" in orders else pd.Series(None, index=orders.index)
    pc_, pu = factorize(orders["product_id"])
    tc, tu = factorize(title)
    pair = (pc_.astype(np.int64) + 1) * (len(tu) + 1) + (tc.astype(np.int64) + 1)
    codes, pairs = pd.factorize(pair)  # distinct (product id, title) pairs
    pu, tu = np.append(pu, None), np.append(tu, None)  # -1: missing
    p_of, t_of = pairs // (len(tu)) - 1, pairs % (len(tu)) - 1
    kinds = np.array(
        [_kind_of(pu[i], tu[j], compiled) for i, j in zip(p_of, t_of, strict=True)], dtype=object
    )
    return pd.Series(kinds[codes], index=orders.index, dtype="object")


def credit_note_marker(order_id: pd.Series, invoice_prefix=None) -> pd.Series:
    """Whether each order number is a credit note's (shop.yaml ``returns.invoice_prefix``,
    text or list of texts; None: a leading C / RET / 退 followed by a digit)."""
    if invoice_prefix is None:
        pattern = DEFAULT_PREFIX
    else:
        prefixes = [invoice_prefix] if isinstance(invoice_prefix, str) else list(invoice_prefix)
        prefixes = [p for p in prefixes if p]
        if not prefixes:
            return pd.Series(False, index=order_id.index)
        pattern = "^(?:" + "|".join(re.escape(p) for p in prefixes) + ")"
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(order_id.to_numpy(), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text
        arr = pa.array(order_id.astype(str).to_numpy(), type=pa.string())
    hit = pc.match_substring_regex(arr, pattern).fill_null(False)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=order_id.index)


def match_returns(orders: pd.DataFrame, window_days: int = 90) -> pd.Series:
    """``return_of`` of every line: an explicit value is kept; a return line without one gets
    the order id of the latest purchase line of the same customer and product at or before
    it, within ``window_days``; other lines None."""
    back = (orders["status"] == "returned").to_numpy()
    given = (
        orders["return_of"].astype("object")
        if "return_of" in orders
        else pd.Series(None, index=orders.index, dtype="object")
    )
    out = given.where(back & given.notna().to_numpy(), None)
    need = back & out.isna().to_numpy() & orders["customer_id"].notna().to_numpy()
    if not need.any():
        return out
    sale = orders["status"].isin(SALE_STATUSES).to_numpy() & ~back
    cols = ["customer_id", "product_id", "order_time", "order_id"]
    left = orders.loc[need, cols[:3]].reset_index().sort_values("order_time", kind="stable")
    right = orders.loc[sale & orders["customer_id"].notna().to_numpy(), cols]
    right = right.rename(columns={"order_id": "_match"}).sort_values("order_time", kind="stable")
    got = pd.merge_asof(
        left,
        right,
        on="order_time",
        by=["customer_id", "product_id"],
        direction="backward",
        tolerance=pd.Timedelta(days=window_days),
        allow_exact_matches=True,
    )
    found = got.dropna(subset=["_match"])
    out.loc[found["index"].to_numpy()] = found["_match"].to_numpy()
    return out


def prepare_orders(
    orders: pd.DataFrame,
    returns: dict | None = None,
    non_merchandise: dict | None = None,
) -> pd.DataFrame:
    """Canonical orders with return lines in canonical form, ``return_of`` and ``line_type``.

    Parameters
    ----------
    orders : conformed orders from the adapters (negative lines still as the export had them).
    returns : shop.yaml ``returns`` (``window_days``, ``invoice_prefix``).
    non_merchandise : shop.yaml ``non_merchandise`` (``ids``, ``title_patterns``).
    """
    returns = returns or {}
    out = orders.copy(deep=False)  # columns are replaced, never changed in place
    if out.empty:
        out["line_type"] = pd.Series(dtype="object")
        out["return_of"] = pd.Series(dtype="object")
        return schema.conform(out, "orders") if not len(orders.columns) else out
    marked = credit_note_marker(out["order_id"], returns.get("invoice_prefix")).to_numpy()
    back = schema.is_return_line(out).to_numpy() | marked
    if back.any():
        q, paid = out["quantity"], out["paid_amount"]
        out["quantity"] = q.where(~back, -q.abs())
        out["paid_amount"] = paid.where(~back, -paid.abs())
        out["unit_price"] = out["unit_price"].where(~back, out["unit_price"].abs())
        out["refund_amount"] = out["refund_amount"].where(~back, 0.0)
        out["status"] = out["status"].where(~back, "returned")
    out["return_of"] = match_returns(out, int(returns.get("window_days", 90)))
    kind = charge_kind(out, non_merchandise)
    given = out["line_type"] if "line_type" in out else pd.Series(None, index=out.index)
    types = np.array(["merchandise", "non_merchandise"], dtype=object)  # two shared str
    derived = pd.Series(
        types[kind.notna().to_numpy().astype(np.intp)], index=out.index, dtype=object
    )
    out["line_type"] = given.where(given.notna(), derived).astype("object")
    return out
