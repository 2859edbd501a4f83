"""Shopify's Orders CSV export → canonical ``orders`` (format ``shopify_orders``).

Shopify writes one row per line item; the order's own columns (Email, Financial Status,
Created at, Total, Refunded Amount, Billing/Shipping …) are filled on the first row of each
order only. They are spread to every line of the order (by ``Name``, wherever the filled row
sits), then:

* ``order_id`` = Name without its ``#``; ``line_id`` = ``<order_id>-<n>`` in file order;
* ``customer_id`` = pseudonym of ``Customer ID`` when the export has it, else of the e-mail
  (lower-cased);
* times: ``Created at`` → ``order_time``, ``Paid at`` → ``paid_time``; offsets such as
  ``+0800`` are converted to the shop's timezone;
* status from Financial Status (paid, refunded, partially_refunded, pending, authorized →
  pending, partially_paid → paid, voided / expired → cancelled); a filled ``Cancelled at``
  makes the order cancelled (its refund is kept);
* ``paid_amount``: the order ``Total`` (shipping and taxes included) apportioned over the
  lines by their net value (price × quantity − Lineitem discount), exact to the cent; the
  ``Refunded Amount`` is apportioned by line payment;
* ``product_id`` = Lineitem sku (Lineitem name when the sku is empty), ``sku`` = Lineitem sku,
  ``channel`` = Source; ``device`` is not in the export (None).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.adapters.clean import (
    SOURCE_FILE,
    SOURCE_ROW,
    Ledger,
    Part,
    Source,
    apportion,
    concat_sources,
    drop_pii,
    first_filled,
    larger_than,
    normalise_text,
    on_uniques,
    parse_datetime,
    parse_id,
    parse_int,
    parse_money,
    pseudonymise,
    re_sub,
    says,
    text_or_none,
)

NAME = "Name"
EMAIL = "Email"
FINANCIAL = "Financial Status"
PAID_AT = "Paid at"
CREATED = "Created at"
CANCELLED = "Cancelled at"
TOTAL = "Total"
REFUNDED = "Refunded Amount"
QTY = "Lineitem quantity"
LINE_NAME = "Lineitem name"
LINE_PRICE = "Lineitem price"
LINE_SKU = "Lineitem sku"
LINE_DISCOUNT = "Lineitem discount"
SOURCE = "Source"
CUSTOMER_ID = ("Customer ID", "Customer Id", "Customer id", "customer_id")
PROVINCE = ("Shipping Province Name", "Shipping Province", "Billing Province Name", "Billing Province")
CITY = ("Shipping City", "Billing City")

# The Orders export header, in Shopify's order (used by the writer; the reader only needs
# the columns above and tolerates any others).
HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City",
    "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone", "Notes",
    "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference",
    "Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location", "Device ID",
    "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value",
    "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value",
    "Tax 5 Name", "Tax 5 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name",
    "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At",
    "Payment References",
]  # fmt: skip

# Columns Shopify fills on the first row of an order only.
ORDER_LEVEL = [
    EMAIL, FINANCIAL, PAID_AT, CREATED, CANCELLED, TOTAL, REFUNDED, SOURCE, "Currency",
    "Subtotal", "Shipping", "Taxes", "Discount Amount", "Id", *CUSTOMER_ID, *PROVINCE, *CITY,
]  # fmt: skip

FINANCIAL_MAP = {
    "paid": "paid",
    "refunded": "refunded",
    "partially_refunded": "partially_refunded",
    "pending": "pending",
    "authorized": "pending",
    "unpaid": "pending",
    "partially_paid": "paid",
    "voided": "cancelled",
    "expired": "cancelled",
}

CANONICAL_TO_FINANCIAL = {
    "paid": "paid",
    "refunded": "refunded",
    "partially_refunded": "partially_refunded",
    "pending": "pending",
    "cancelled": "voided",
}


def _spread(full: pd.DataFrame, key: pd.Series) -> dict[str, pd.Series]:
    """Order-level columns copied onto every line of their order.

    The order's row is its first row with a filled ``Created at`` (``Financial Status`` when
    there is no such column), wherever it sits among the order's lines.
    """
    anchor_col = CREATED if CREATED in full.columns else FINANCIAL
    filled = (full[anchor_col].str.strip() != "").to_numpy() & key.notna().to_numpy()
    pos = np.flatnonzero(filled)
    first = pd.Series(pos, index=key.to_numpy()[pos])
    first = first[~first.index.duplicated()]
    at = key.map(first)
    has = at.notna().to_numpy()
    take = np.where(has, at.fillna(0).to_numpy(), 0).astype(np.int64)
    out = {}
    for c in dict.fromkeys(ORDER_LEVEL):
        if c in full.columns:
            s = full[c].iloc[take].str.strip()
            s.index = full.index
            out[c] = s.where(has, "")
    return out


def read_shopify(sources: Sequence[Source], salt: str, tz: str) -> Part:
    """Read Shopify Orders CSV files (see the module docstring for the rules)."""
    full = concat_sources(sources)
    name = parse_id(full[NAME])
    key = name.values.astype("object").where(name.values.notna(), None)
    key = key.where(key.isna(), key.astype("str").str.replace(r"^#", "", regex=True))
    f = _spread(full, key)
    cust_col = next((c for c in CUSTOMER_ID if c in f), None)
    who = normalise_text(f[EMAIL]).str.lower() if EMAIL in f else None
    if cust_col is not None:
        cid = normalise_text(f[cust_col])
        who = cid.where(cid != "", who) if who is not None else cid
    customer = pseudonymise(who, salt) if who is not None else None
    prov_col = [c for c in PROVINCE if c in f]
    city_col = [c for c in CITY if c in f]
    province = first_filled(*[text_or_none(f[c]) for c in prov_col]) if prov_col else None
    city = first_filled(*[text_or_none(f[c]) for c in city_col]) if city_col else None
    raw, dropped = drop_pii(full)
    notes = []
    if dropped:
        notes.append(f"Shopify: personal-data columns dropped at load: {', '.join(dropped)}")
    if customer is None:
        notes.append("Shopify export without Email: customer_id is empty")

    led = Ledger(raw, "orders", sources)
    led.reject_summary(NAME)
    led.reject_duplicates(full)
    led.reject_parsed(name, NAME, "order name")
    led.reject_missing(key, NAME, "order name (Name)")
    led.key = key
    fs = on_uniques(
        f[FINANCIAL],
        lambda u: re_sub(normalise_text(u).str.lower(), r"[\s-]+", "_"),
    )
    code = fs.map(FINANCIAL_MAP)
    led.reject((fs == "").to_numpy(), "missing Financial Status", FINANCIAL)
    led.reject(code.isna().to_numpy(), says("unknown Financial Status ", fs), FINANCIAL)
    ot = parse_datetime(f[CREATED], tz)
    led.reject_parsed(ot, CREATED)
    led.reject_missing(ot.values, CREATED, "order time (Created at)")
    pt = parse_datetime(f[PAID_AT], tz) if PAID_AT in f else None
    if pt is not None:
        led.reject_parsed(pt, PAID_AT)
    cancelled = parse_datetime(f[CANCELLED], tz) if CANCELLED in f else None
    if cancelled is not None:
        led.reject_parsed(cancelled, CANCELLED)
    qp = parse_int(raw[QTY])
    led.reject_parsed(qp, QTY)
    led.reject_missing(qp.values, QTY, "quantity")
    led.reject((qp.values < 0).to_numpy(), "negative quantity", QTY)
    led.reject((qp.values == 0).to_numpy(), "zero quantity", QTY)
    pp = parse_money(raw[LINE_PRICE])
    led.reject_parsed(pp, LINE_PRICE)
    led.reject_missing(pp.values, LINE_PRICE, "price")
    led.reject((pp.values < 0).to_numpy(), "negative price", LINE_PRICE)
    if LINE_DISCOUNT in raw.columns:
        dp = parse_money(raw[LINE_DISCOUNT])
        led.reject_parsed(dp, LINE_DISCOUNT)
        led.reject((dp.values < 0).to_numpy(), "negative discount", LINE_DISCOUNT)
        disc = dp.values.fillna(0.0)
    else:
        disc = pd.Series(0.0, index=raw.index)
    gross = pp.values * qp.values
    net = (gross - disc).round(2)
    led.reject(
        (net < -0.005).to_numpy(),
        larger_than("Lineitem discount", disc, "price × quantity", gross),
        LINE_DISCOUNT,
    )
    tp = parse_money(f[TOTAL]) if TOTAL in f else None
    net_sum = net.groupby(key, sort=False).transform("sum")
    if tp is not None:
        led.reject_parsed(tp, TOTAL)
        led.reject((tp.values < 0).to_numpy(), "negative Total", TOTAL)
        total = tp.values.where(tp.values.notna(), net_sum)
    else:
        total = net_sum
    if REFUNDED in f:
        rp = parse_money(f[REFUNDED])
        led.reject_parsed(rp, REFUNDED)
        led.reject((rp.values < 0).to_numpy(), "negative Refunded Amount", REFUNDED)
        refunded = rp.values.fillna(0.0)
        over = (refunded > total + 0.005).to_numpy()
        led.reject(over, larger_than("refund", refunded, "payment", total), REFUNDED)
    else:
        refunded = pd.Series(0.0, index=raw.index)
    led.cascade()

    a = np.flatnonzero(led.alive)
    sub = raw.iloc[a].reset_index(drop=True)
    oid = key.iloc[a].reset_index(drop=True)
    n = oid.groupby(oid, sort=False).cumcount() + 1
    lines = pd.DataFrame(index=pd.RangeIndex(len(a)))
    lines["order_id"] = oid
    lines["line_id"] = oid.astype("str") + "-" + n.astype("str")
    lines["customer_id"] = customer.to_numpy()[a] if customer is not None else None
    lines["order_time"] = ot.values.to_numpy()[a]
    paid_time = (
        pd.Series(pt.values.to_numpy()[a])
        if pt is not None
        else pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns]")
    )
    lines["paid_time"] = paid_time
    sku = parse_id(sub[LINE_SKU]).values if LINE_SKU in sub.columns else None
    title = text_or_none(sub[LINE_NAME]) if LINE_NAME in sub.columns else None
    lines["product_id"] = first_filled(sku, title)
    lines["sku"] = sku
    lines["title"] = title
    lines["quantity"] = qp.values.to_numpy()[a].astype(np.int64)
    lines["unit_price"] = pp.values.to_numpy()[a]
    paid = apportion(
        pd.Series(total.to_numpy()[a]), pd.Series(np.clip(net.to_numpy()[a], 0, None)), oid
    )
    refund = apportion(pd.Series(refunded.to_numpy()[a]), paid, oid)
    status = pd.Series(code.to_numpy()[a], dtype="object")
    if cancelled is not None:
        status[cancelled.values.notna().to_numpy()[a]] = "cancelled"
    full_refund = (status == "refunded") & (refund <= 0.005)
    refund = refund.where(~full_refund, paid)
    lines["status"] = status
    lines["paid_amount"] = paid
    lines["refund_amount"] = refund
    lines["province"] = province.to_numpy()[a] if province is not None else None
    lines["city"] = city.to_numpy()[a] if city is not None else None
    lines["device"] = None
    lines["channel"] = text_or_none(f[SOURCE]).to_numpy()[a] if SOURCE in f else None
    lines[SOURCE_FILE] = sub[SOURCE_FILE].to_numpy()
    lines[SOURCE_ROW] = sub[SOURCE_ROW].to_numpy()
    lines.index = pd.Index(a)
    return Part("shopify_orders", lines, led, [led], notes)
