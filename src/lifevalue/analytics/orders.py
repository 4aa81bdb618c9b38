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


def ensure_order_tables(ingested: Ingested) -> None:
    """Create ``order_totals``, ``purchases`` and ``spend_events`` once per ingested log."""
    con = ingested.con
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "purchases" in have:
        return
    _create(con, ingested.amount_level)


def _create(con: duckdb.DuckDBPyConnection, level: str) -> None:
    gross = (
        "coalesce(max(amount) FILTER (amount >= 0), 0)"
        if level == "order"
        else "coalesce(sum(amount) FILTER (amount >= 0), 0)"
    )
    con.execute(
        f"""
        CREATE TABLE order_totals AS
        WITH o AS (
            SELECT customer_id, order_id,
                   min(local_date) AS local_date,
                   min(ordered_at) AS ordered_at,
                   coalesce(bool_or(status = 'cancelled'), false) AS cancelled,
                   coalesce(bool_or(status = 'pending'), false) AS pending,
                   coalesce(bool_or(status = 'refunded'), false) AS refunded_status,
                   count(*) FILTER (amount >= 0) AS gross_rows,
                   {gross} AS gross,
                   coalesce(-sum(amount) FILTER (amount < 0), 0)
                     + coalesce(max(refunded), 0) AS refund_given,
                   coalesce(bool_or(discount > 0), false) AS discounted
            FROM orders
            GROUP BY customer_id, order_id
        ), r AS (
            SELECT *,
                   CASE WHEN refunded_status AND refund_given = 0 THEN gross
                        ELSE refund_given END AS refund
            FROM o
        )
        SELECT *,
               NOT cancelled AND NOT pending AND gross_rows > 0
                 AND NOT (gross > 0 AND gross - refund <= 0) AS is_purchase
        FROM r
        """
    )
    con.execute(
        """
        CREATE TABLE purchases AS
        SELECT customer_id, order_id, local_date, ordered_at, gross, refund,
               gross - refund AS net, discounted
        FROM order_totals WHERE is_purchase
        """
    )
    con.execute(
        """
        CREATE TABLE spend_events AS
        SELECT customer_id, local_date,
               CASE WHEN is_purchase THEN gross - refund
                    WHEN gross_rows = 0 THEN -refund
                    WHEN cancelled OR pending THEN 0
                    ELSE gross - refund END AS amount,
               CASE WHEN (cancelled OR pending) AND gross_rows > 0 THEN 0
                    ELSE refund END AS refund
        FROM order_totals
        """
    )
