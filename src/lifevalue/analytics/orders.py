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
"""

from __future__ import annotations

import duckdb

from lifevalue.io.reader import Ingested

#: What an order adds to its customer's spend on its day (a spend event), and what it refunds.
EVENT_AMOUNT_SQL = (
    "CASE WHEN is_purchase THEN gross - refund WHEN gross_rows = 0 THEN -refund "
    "WHEN cancelled OR pending THEN 0 ELSE gross - refund END"
)
EVENT_REFUND_SQL = "CASE WHEN (cancelled OR pending) AND gross_rows > 0 THEN 0 ELSE refund END"


def ensure_order_tables(ingested: Ingested) -> None:
    """Create ``purchases`` and ``spend_events`` (from ``order_totals``) once per ingested log."""
    con = ingested.con
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "purchases" in have:
        return
    _create(con)


def _create(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE purchases AS
        SELECT customer_id, order_id, local_date, ordered_at, gross, refund,
               gross - refund AS net, discounted
        FROM order_totals WHERE is_purchase
        """
    )
    con.execute(
        f"""
        CREATE TABLE spend_events AS
        SELECT customer_id, local_date, {EVENT_AMOUNT_SQL} AS amount,
               {EVENT_REFUND_SQL} AS refund
        FROM order_totals
        """
    )
