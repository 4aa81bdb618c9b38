"""One row per order: gross, refund, status flags (the ``order_totals`` table).

Built once while reading (see :mod:`lifevalue.io.reader`); the rules are in the README under
"How orders are counted" and in :mod:`lifevalue.analytics.orders`.
"""

from __future__ import annotations

import duckdb


def create_order_totals(con: duckdb.DuckDBPyConnection, level: str, source: str = "orders") -> None:
    """Aggregate the rows of ``source`` (the ``orders`` table, or a narrow view of the same
    rows) into ``order_totals``: one row per customer and order."""
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
                   count(*) AS n_rows,
                   count(*) FILTER (amount < 0) AS negative_rows,
                   count(*) FILTER (status = 'cancelled') AS cancelled_rows,
                   count(*) FILTER (status = 'refunded') AS refunded_rows,
                   count(*) FILTER (quantity < 0 AND coalesce(status, '') <> 'cancelled')
                     AS return_rows,
                   min(currency) AS currency,
                   max(currency) AS currency_max,
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
            FROM {source}
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
