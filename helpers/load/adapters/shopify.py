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

from helpers.load.adapters.clean import (
    SOURCE_FILE,
    SOURCE_ROW,
    Ledger,
    Parsed,
    Part,
    Source,
    apportion,
    concat_sources,
    drop_pii,
    first_filled,
    larger_than,
    lookup,
    normalise_text,
    parse_datetime,
    parse_id,
    parse_int,
    parse_money,
    pseudonymise,
    re_sub,
    says,
    take,
    text_or_none,
)

__all__ = [
    "NAME",
    "EMAIL",
    "FINANCIAL",
    "PAID_AT",
    "CREATED",
    "CANCELLED",
    "TOTAL",
    "REFUNDED",
    "CURRENCY",
    "QTY",
    "LINE_NAME",
    "LINE_PRICE",
    "LINE_SKU",
    "LINE_DISCOUNT",
    "SOURCE",
    "CUSTOMER_ID",
    "PROVINCE",
    "CITY",
    "HEADER",
    "ORDER_LEVEL",
    "FINANCIAL_MAP",
    "CANONICAL_TO_FINANCIAL",
    "read_shopify",
]

NAME = "Name"
EMAIL = "Email"
FINANCIAL = "Financial Status"
PAID_AT = "Paid at"
CREATED = "Created at"
CANCELLED = "Cancelled at"
TOTAL = "Total"
REFUNDED = "Refunded Amount"
CURRENCY = "Currency"
QTY = "Lineitem quantity"
LINE_NAME = "Lineitem name"
LINE_PRICE = "Lineitem price"
LINE_SKU = "Lineitem sku"
LINE_DISCOUNT = "Lineitem discount"
SOURCE = "Source"
CUSTOMER_ID = ("Customer ID", "Customer Id", "Customer id", "customer_id")
PROVINCE = (
    "Shipping Province Name",
    "Shipping Province",
    "Billing Province Name",
    "Billing Province",
)
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
    EMAIL, FINANCIAL, PAID_AT, CREATED, CANCELLED, TOTAL, REFUNDED, SOURCE, CURRENCY,
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


class _OrderLevel:
    """The order's own columns, read from the order's row and spread to its lines.

    The order's row is its first row with a filled ``Created at`` (``Financial Status`` when
    there is no such column), wherever it sits among the order's lines. Fields are parsed once
    per order, then copied to the lines (lines of orders without such a row get nothing).
    """

    def __init__(self, full: pd.DataFrame, key: pd.Series):
        anchor_col = CREATED if CREATED in full.columns else FINANCIAL
        filled = (full[anchor_col].str.strip() != "").to_numpy() & key.notna().to_numpy()
        pos = np.flatnonzero(filled)
        keys = key.iloc[pos]
        first = ~keys.duplicated().to_numpy()
        pos, keys = pos[first], keys[first]
        inv = lookup(keys, key)
        self.has = inv >= 0
        self.at = np.where(self.has, inv, 0)
        self.index = full.index
        self.cols = {
            c: take(full[c], pos).str.strip() for c in dict.fromkeys(ORDER_LEVEL) if c in full
        }

    def __contains__(self, col: str) -> bool:
        return col in self.cols

    def __getitem__(self, col: str) -> pd.Series:
        return self.cols[col]

    def spread(self, s: pd.Series) -> pd.Series:
        """Order-level values → one per line."""
        out = s.iloc[self.at]
        out.index = self.index
        return out.where(self.has) if not self.has.all() else out

    def parsed(self, p: Parsed) -> Parsed:
        bad = self.spread(p.bad).fillna(False).astype(bool)
        return Parsed(self.spread(p.values), bad, self.spread(p.reason).fillna(""))


def read_shopify(
    sources: Sequence[Source], salt: str, tz: str, currency: str | None = None
) -> Part:
    """Read Shopify Orders CSV files (see the module docstring for the rules)."""
    full = concat_sources(sources)
    name = parse_id(full[NAME])
    key = re_sub(name.values.fillna(""), r"^#", "")
    key = key.where(name.values.notna())
    f = _OrderLevel(full, key)
    cust_col = next((c for c in CUSTOMER_ID if c in f), None)
    who = normalise_text(f[EMAIL]).str.lower() if EMAIL in f else None
    if cust_col is not None:
        cid = normalise_text(f[cust_col])
        who = cid.where(cid != "", who) if who is not None else cid
    customer = f.spread(pseudonymise(who, salt)) if who is not None else None
    prov_col = [c for c in PROVINCE if c in f]
    city_col = [c for c in CITY if c in f]
    province = f.spread(first_filled(*[f[c] for c in prov_col])) if prov_col else None
    city = f.spread(first_filled(*[f[c] for c in city_col])) if city_col else None
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
    fs = f.spread(re_sub(normalise_text(f[FINANCIAL]).str.lower(), r"[\s-]+", "_"))
    code = fs.map(FINANCIAL_MAP)
    led.reject(fs.isna().to_numpy() | (fs == "").to_numpy(), "missing Financial Status", FINANCIAL)
    led.reject(code.isna().to_numpy(), says("unknown Financial Status ", fs), FINANCIAL)
    if currency and CURRENCY in f:  # the order's own currency column, filled on its first row
        oc = f.spread(normalise_text(f[CURRENCY]).str.upper())
        other = (oc != "") & oc.notna() & (oc != currency.upper())
        led.reject(
            other.to_numpy(),
            says("order currency ", oc, f", the shop's currency is {currency}"),
            CURRENCY,
        )
    ot = f.parsed(parse_datetime(f[CREATED], tz))
    led.reject_parsed(ot, CREATED)
    led.reject_missing(ot.values, CREATED, "order time (Created at)")
    pt = f.parsed(parse_datetime(f[PAID_AT], tz)) if PAID_AT in f else None
    if pt is not None:
        led.reject_parsed(pt, PAID_AT)
    cancelled = f.parsed(parse_datetime(f[CANCELLED], tz)) if CANCELLED in f else None
    if cancelled is not None:
        led.reject_parsed(cancelled, CANCELLED)
    qp = parse_int(raw[QTY])
    led.reject_parsed(qp, QTY)
    led.reject_missing(qp.values, QTY, "quantity")
    # a negative quantity is a returned line (helpers.load.lines makes it status "returned")
    led.reject((qp.values == 0).to_numpy(), "zero quantity", QTY)
    pp = parse_money(raw[LINE_PRICE], currency=currency)
    led.reject_parsed(pp, LINE_PRICE)
    led.reject_missing(pp.values, LINE_PRICE, "price")
    led.reject((pp.values < 0).to_numpy(), "negative price", LINE_PRICE)
    if LINE_DISCOUNT in raw.columns:
        dp = parse_money(raw[LINE_DISCOUNT], currency=currency)
        led.reject_parsed(dp, LINE_DISCOUNT)
        led.reject((dp.values < 0).to_numpy(), "negative discount", LINE_DISCOUNT)
        disc = dp.values.fillna(0.0)
    else:
        disc = pd.Series(0.0, index=raw.index)
    gross = pp.values * qp.values
    back = (qp.values < 0).to_numpy()  # returned lines: money back, net negative
    net = (gross - disc).round(2)
    net = net.where(~back, (gross + disc).round(2))  # a discount on a returned line: less back
    led.reject(
        (~back & (net < -0.005).to_numpy()),
        larger_than("Lineitem discount", disc, "price × quantity", gross),
        LINE_DISCOUNT,
    )
    kc = pd.factorize(key)[0]  # integer order codes: cheap groupings
    net_sum = net.groupby(kc, sort=False).transform("sum").where(kc >= 0)
    if TOTAL in f:
        tp = f.parsed(parse_money(f[TOTAL], currency=currency))
        led.reject_parsed(tp, TOTAL)
        led.reject((tp.values < 0).to_numpy(), "negative Total", TOTAL)
        total = tp.values.where(tp.values.notna(), net_sum)
    else:
        total = net_sum
    if REFUNDED in f:
        rp = f.parsed(parse_money(f[REFUNDED], currency=currency))
        led.reject_parsed(rp, REFUNDED)
        led.reject((rp.values < 0).to_numpy(), "negative Refunded Amount", REFUNDED)
        refunded = rp.values.fillna(0.0)
        over = (refunded > total + 0.005).to_numpy()
        led.reject(over, larger_than("refund", refunded, "payment", total), REFUNDED)
    else:
        refunded = pd.Series(0.0, index=raw.index)
    channel = f.spread(text_or_none(f[SOURCE])) if SOURCE in f else None
    sku = None
    if LINE_SKU in raw.columns:
        sp = parse_id(raw[LINE_SKU])
        led.reject_parsed(sp, LINE_SKU, "sku")
        sku = sp.values
    title = text_or_none(raw[LINE_NAME]) if LINE_NAME in raw.columns else None
    product = first_filled(sku, title)
    led.reject_missing(product, LINE_SKU, "product (Lineitem sku or Lineitem name)")
    led.cascade()

    a = np.flatnonzero(led.alive)
    oid = take(key, a)
    group = kc[a]
    n = pd.Series(group).groupby(group, sort=False).cumcount() + 1
    lines = pd.DataFrame(index=pd.RangeIndex(len(a)))
    lines["order_id"] = oid
    lines["line_id"] = oid + "-" + n.astype("str")
    lines["customer_id"] = take(customer, a)
    lines["order_time"] = take(ot.values, a)
    paid_time = (
        take(pt.values, a)
        if pt is not None
        else pd.Series(pd.NaT, index=lines.index, dtype="datetime64[ns]")
    )
    lines["paid_time"] = paid_time
    lines["product_id"] = take(product, a)
    lines["sku"] = take(sku, a)
    lines["title"] = take(title, a)
    lines["quantity"] = take(qp.values, a).astype(np.int64)
    lines["unit_price"] = take(pp.values, a)
    line_net = take(net, a)
    back_net = line_net.where(line_net < 0, 0.0)  # returned lines keep their own (negative) net
    order_back = back_net.groupby(group, sort=False).transform("sum").to_numpy()
    # the order's Total is after its returned lines: its purchase lines share Total + returns
    paid = apportion(take(total, a) - order_back, line_net.clip(lower=0), group)
    paid = paid.where(line_net >= 0, back_net)
    refund = apportion(take(refunded, a), paid, group)
    status = take(code, a).astype("object")
    if cancelled is not None:
        status[take(cancelled.values.notna(), a).to_numpy()] = "cancelled"
    full_refund = (status == "refunded") & (refund <= 0.005)
    refund = refund.where(~full_refund, paid)
    lines["status"] = status
    lines["paid_amount"] = paid
    lines["refund_amount"] = refund
    lines["province"] = take(province, a)
    lines["city"] = take(city, a)
    lines["device"] = None
    lines["channel"] = take(channel, a)
    lines[SOURCE_FILE] = take(raw[SOURCE_FILE], a)
    lines[SOURCE_ROW] = take(raw[SOURCE_ROW], a)
    lines.index = pd.Index(a)
    return Part("shopify_orders", lines, led, [led], notes)
