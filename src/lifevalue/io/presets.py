"""Column presets for common order exports.

A preset says which source column feeds each canonical column (see the data contract in the
README), how the file is laid out, and which rows are expected to be skipped rather than rejected.
Each canonical column may list several candidate source names; the first one present in the file
is used (so ``online_retail`` reads both the 2010-11 file and the later "II" release).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AmountLevel = Literal["line", "order"]

#: Canonical columns of the orders table, in order.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "order_id",
    "ordered_at",
    "amount",
    "currency",
    "discount",
    "refunded",
    "sku",
    "product",
    "category",
    "quantity",
    "unit_price",
    "status",
    "email",
    "phone",
    "country",
)

#: Columns a file must provide (``amount`` may instead be derived from quantity x unit_price).
REQUIRED_COLUMNS: tuple[str, ...] = ("customer_id", "ordered_at", "amount")

#: Canonical columns read as text; all others are parsed as numbers or timestamps.
TEXT_COLUMNS: frozenset[str] = frozenset(
    {"customer_id", "order_id", "currency", "sku", "product", "category", "status", "email"}
    | {"phone", "country"}
)
NUMBER_COLUMNS: frozenset[str] = frozenset(
    {"amount", "discount", "refunded", "quantity", "unit_price"}
)


@dataclass(frozen=True)
class Preset:
    """How to read one kind of export.

    Parameters
    ----------
    name
        Preset name as given to ``--preset``.
    columns
        Canonical column -> candidate source column names (first match wins).
    amount_level
        ``"line"``: every row's amount adds to its order; ``"order"``: the amount is the order
        total, repeated or given once per order, and is taken once.
    derive_amount
        Compute the amount as quantity x unit_price when no amount column is mapped.
    skip_missing_customer
        Rows without a customer are expected (e.g. guest checkouts in UCI Online Retail): they are
        counted and listed as skipped instead of rejected, and never stop a ``--strict`` run.
    cancellation_prefix
        Order ids starting with this text are cancellations (their amounts are negative).
    status_map
        Source status (lower-cased) -> canonical ``paid`` / ``refunded`` / ``cancelled`` /
        ``pending``.
    date_formats
        strptime formats to try after ISO 8601.
    timezone
        Default store time zone of naive timestamps for this source.
    currency
        Currency to assume when the file has no currency column.
    """

    name: str
    columns: dict[str, tuple[str, ...]]
    description: str = ""
    amount_level: AmountLevel = "line"
    derive_amount: bool = False
    skip_missing_customer: bool = False
    cancellation_prefix: str | None = None
    status_map: dict[str, str] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ()
    timezone: str | None = None
    currency: str | None = None
    encoding: str | None = None
    dedupe: bool = True
    guest_customer_ids: tuple[str, ...] = ()
    """Customer ids that mean "guest checkout": such rows use the e-mail as the customer id."""


def _canonical_identity() -> dict[str, tuple[str, ...]]:
    return {c: (c,) for c in CANONICAL_COLUMNS}


#: Formats tried after ISO 8601 when no ``--date-format`` is given. Day-first formats are never
#: guessed (03/04 would be ambiguous): pass ``--date-format '%d/%m/%Y'`` for those files.
DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "%Y%m%d",
    "%Y%m%d%H%M%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)

_COMMON_STATUS = {
    "paid": "paid",
    "completed": "paid",
    "complete": "paid",
    "processing": "paid",
    "fulfilled": "paid",
    "shipped": "paid",
    "delivered": "paid",
    "on-hold": "paid",
    "authorized": "paid",
    "partially_paid": "paid",
    "partially_refunded": "paid",
    "partially refunded": "paid",
    "refunded": "refunded",
    "refund": "refunded",
    "returned": "refunded",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "voided": "cancelled",
    "void": "cancelled",
    "failed": "cancelled",
    "pending": "pending",
    "pending payment": "pending",
    "pending-payment": "pending",
    "draft": "pending",
    "checkout-draft": "pending",
}

PRESETS: dict[str, Preset] = {
    "canonical": Preset(
        name="canonical",
        description="lifevalue's canonical column names (customer_id, order_id, ordered_at, ...)",
        columns=_canonical_identity(),
        derive_amount=True,
        status_map=_COMMON_STATUS,
    ),
    "shopify": Preset(
        name="shopify",
        description="Shopify admin orders export (one row per line item, totals on the first)",
        columns={
            "customer_id": ("Customer ID", "Customer Id", "Email"),
            "order_id": ("Name", "Id"),
            "ordered_at": ("Created at", "Paid at"),
            "amount": ("Total",),
            "currency": ("Currency",),
            "discount": ("Discount Amount",),
            "refunded": ("Refunded Amount",),
            "sku": ("Lineitem sku",),
            "product": ("Lineitem name",),
            "category": ("Lineitem product type", "Product Type"),
            "quantity": ("Lineitem quantity",),
            "unit_price": ("Lineitem price",),
            "status": ("Financial Status",),
            "email": ("Email",),
            "phone": ("Phone", "Billing Phone", "Shipping Phone"),
            "country": ("Billing Country", "Shipping Country"),
        },
        amount_level="order",
        status_map=_COMMON_STATUS,
    ),
    "woocommerce": Preset(
        name="woocommerce",
        description="WooCommerce order export (one row per line item, order total repeated)",
        columns={
            "customer_id": (
                "Customer User ID",
                "customer_id",
                "Customer ID",
                "Billing Email",
                "billing_email",
            ),
            "order_id": ("Order ID", "order_id", "Order Number", "order_number"),
            "ordered_at": ("Order Date", "order_date", "date", "Date"),
            "amount": ("Order Total", "Order Total Amount", "order_total"),
            "currency": ("Order Currency", "currency", "Currency"),
            "discount": ("Cart Discount Amount", "Cart Discount", "discount_total"),
            "refunded": ("Order Refund Amount", "Order Refunds", "refunded_total"),
            "sku": ("SKU", "sku", "Item SKU"),
            "product": ("Item Name", "item_name", "Product Name"),
            "category": ("Category", "Item Category", "category"),
            "quantity": ("Quantity", "item_quantity", "Quantity (- Refund)"),
            "unit_price": ("Item Cost", "Item Price", "item_price"),
            "status": ("Order Status", "status", "Status"),
            "email": ("Billing Email", "billing_email", "Email (Billing)"),
            "phone": ("Billing Phone", "billing_phone", "Phone (Billing)"),
            "country": ("Billing Country", "billing_country", "Country Code (Billing)"),
        },
        amount_level="order",
        status_map={**_COMMON_STATUS, **{f"wc-{k}": v for k, v in _COMMON_STATUS.items()}},
        # WooCommerce writes Customer User ID 0 for every guest order
        guest_customer_ids=("0",),
    ),
    "cdnow": Preset(
        name="cdnow",
        description=(
            "CDNOW (Fader & Hardie): master file 'customer_id date number_of_cds dollar_value' "
            "with header, or the 1-in-10 sample (5 columns, no header); whitespace separated"
        ),
        columns={
            "customer_id": ("customer_id",),
            "ordered_at": ("date",),
            "amount": ("dollar_value",),
            "quantity": ("number_of_cds",),
        },
        date_formats=("%Y%m%d",),
        currency="USD",
        # CDNOW has no order ids: identical records on one day are genuine separate purchases.
        dedupe=False,
    ),
    "online_retail": Preset(
        name="online_retail",
        description=(
            "UCI Online Retail (InvoiceNo, StockCode, ..., CustomerID) and its 'II' release "
            "(Invoice, Price, Customer ID); 'C' invoices are cancellations"
        ),
        columns={
            "customer_id": ("CustomerID", "Customer ID"),
            "order_id": ("InvoiceNo", "Invoice"),
            "ordered_at": ("InvoiceDate",),
            "sku": ("StockCode",),
            "product": ("Description",),
            "quantity": ("Quantity",),
            "unit_price": ("UnitPrice", "Price"),
            "country": ("Country",),
        },
        derive_amount=True,
        skip_missing_customer=True,
        cancellation_prefix="C",
        date_formats=("%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S"),
        timezone="Europe/London",
        currency="GBP",
    ),
}


def get_preset(name: str | None) -> Preset:
    """Return the preset called ``name`` (``None`` means the canonical column names)."""
    from lifevalue.errors import ConfigError

    key = "canonical" if name is None else name.lower().replace("-", "_")
    try:
        return PRESETS[key]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ConfigError(f"unknown preset '{name}' (known presets: {known})") from None
