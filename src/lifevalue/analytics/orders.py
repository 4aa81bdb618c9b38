"""From order rows to orders, purchases and spend events (the tables every metric starts from).

Rules (documented in the README, "How orders are counted"):

* An order's **gross** is the sum of its non-negative row amounts (``line`` level) or its total
  taken once (``order`` level). Its **refund** is the sum of its negative rows plus an explicit
  refunded amount; an order with status ``refunded`` and no refund amount is refunded in full.
* An order is a **purchase** unless it is cancelled or pending, has no non-negative row (a pure
  refund or cancellation document, such as a ``C`` invoice in UCI Online Retail), or was refunded
  in full. Purchase periods are the distinct calendar days (store time zone) with a purchase.
* A purchase's **net** is gross minus its refund; refunds linked to an order by its id are
  netted into that order's day. Refund documents not linked to a purchase subtract from the
  customer's spend on their own day.
* Money is added up exactly (as decimals, see :data:`lifevalue.io.order_totals.EXACT_MONEY`);
  money figures in the outputs are rounded to :data:`MONEY_DECIMALS` places.
"""

from __future__ import annotations

from lifevalue.io.reader import Ingested

#: Contact columns looked up per customer (their latest non-empty value).
CONTACT_COLUMNS = ("email", "phone", "country")

#: Decimal places of the money figures written out (sums, means and shares of spend): finer
#: than any currency's minor unit, so nothing real is lost. The sums are exact decimals; means
#: and shares are divided in floating point, whose noise (``1757.5500000000004``) the rounding
#: takes off.
MONEY_DECIMALS = 6


def money(expr: str) -> str:
    """SQL rounding ``expr`` (a DECIMAL sum or a DOUBLE) to :data:`MONEY_DECIMALS` places, as
    a DOUBLE."""
    return f"CAST(round({expr}, {MONEY_DECIMALS}) AS DOUBLE)"


def ensure_order_tables(ingested: Ingested) -> None:
    """Create the ``purchases`` view of ``customer_days`` once per ingested log.

    ``customer_days`` (built while reading, :mod:`lifevalue.io.order_totals`) has one row per
    customer and day with any order: ``spend`` (net of the day's purchases, NULL without one),
    ``n_orders`` (purchases), ``n_discounted``, ``gross`` (of the purchases), ``amount`` (every
    spend event: purchases net of refunds, refund documents), ``refund`` and, when the log has
    contact details, the day's latest row (``contact``: its time and row key).
    Every metric reads it rather than the orders. ``purchases`` holds its purchase days:
    ``customer_id``, ``local_date``, ``n_orders``, ``gross`` and ``net`` (the day's spend), one
    row per customer and purchase day.
    """
    con = ingested.con
    if ingested.cache.get("purchases"):
        return
    con.execute(
        """
        CREATE OR REPLACE VIEW purchases AS
        SELECT customer_id, local_date, n_orders, gross, spend AS net
        FROM customer_days WHERE n_orders > 0
        """
    )
    ingested.cache["purchases"] = True
