"""One row per order: gross, refund, status flags (the ``order_totals`` table).

Built once while reading (see :mod:`lifevalue.io.reader`); the rules are in the README under
"How orders are counted" and in :mod:`lifevalue.analytics.orders`.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

#: A row's key in one BIGINT: ``__file * ROW_KEY_SHIFT + __line``.
ROW_KEY_SHIFT = 1 << 40


def create_order_totals(
    con: duckdb.DuckDBPyConnection,
    level: str,
    source: str = "orders",
    *,
    zoned: bool = False,
    contacts: Sequence[str] = (),
) -> None:
    """Aggregate the rows of ``source`` into ``order_totals``: one row per customer and order.

    Parameters
    ----------
    level
        ``line`` (row amounts add up) or ``order`` (each row carries the order total).
    source
        The ``orders`` table (``ordered_at`` in UTC and ``local_date``), or with ``zoned`` the
        accepted parsed rows (``ordered_at`` a TIMESTAMPTZ in the store time zone), whose dates
        are then converted once per order instead of once per row.
    contacts
        Contact columns (``email``, ``phone``, ``country``) to track: each order keeps its latest
        row (``contact_row``: ``__file * ROW_KEY_SHIFT + __line``) and that row's time
        (``contact_at``), and whether any of its rows has each column (``has_email``, ...), so
        a customer's latest contact details can be looked up from the orders.
    """
    gross = (
        "coalesce(max(amount) FILTER (amount >= 0), 0)"
        if level == "order"
        else "coalesce(sum(amount) FILTER (amount >= 0), 0)"
    )
    # contacts are tracked by row (file and line in one number), not by value: keeping the
    # latest string per group would copy every string of a log sorted by time
    picks = ""
    if contacts:
        picks = (
            f", arg_max(__file * {ROW_KEY_SHIFT} + __line, ordered_at) AS contact_row"
            ", max(ordered_at) AS contact_at"
            + "".join(f", bool_or({c} IS NOT NULL) AS has_{c}" for c in contacts)
        )
    if zoned:
        first = "min(ordered_at) AS first_at"
        star = (
            "* EXCLUDE (first_at), CAST(first_at AS DATE) AS local_date, "
            "CAST(timezone('UTC', first_at) AS TIMESTAMP) AS ordered_at"
        )
    else:
        first = "min(local_date) AS local_date, min(ordered_at) AS ordered_at"
        star = "*"
    aggregates = f"""
                   count(*) AS n_rows,
                   count(*) FILTER (amount < 0) AS negative_rows,
                   count(*) FILTER (status = 'cancelled') AS cancelled_rows,
                   count(*) FILTER (status = 'refunded') AS refunded_rows,
                   count(*) FILTER (status = 'pending') AS pending_rows,
                   count(*) FILTER (quantity < 0 AND coalesce(status, '') <> 'cancelled')
                     AS return_rows,
                   min(currency) AS currency,
                   max(currency) AS currency_max,
                   {first},
                   count(*) FILTER (amount >= 0) AS gross_rows,
                   {gross} AS gross,
                   coalesce(-sum(amount) FILTER (amount < 0), 0)
                     + coalesce(max(refunded), 0) AS refund_given,
                   coalesce(bool_or(discount > 0), false) AS discounted{picks}"""

    def build(key: str, group: str) -> None:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE order_totals AS
            WITH o AS (
                SELECT {key},{aggregates}
                FROM {source}
                GROUP BY {group}
            ), r AS (
                SELECT {star},
                       cancelled_rows > 0 AS cancelled,
                       pending_rows > 0 AS pending,
                       refunded_rows > 0 AS refunded_status,
                       CASE WHEN refunded_rows > 0 AND refund_given = 0 THEN gross
                            ELSE refund_given END AS refund
                FROM o
            )
            SELECT *,
                   NOT cancelled AND NOT pending AND gross_rows > 0
                     AND NOT (gross > 0 AND gross - refund <= 0) AS is_purchase
            FROM r
            """
        )

    # Grouping by the order id alone is much cheaper than by (customer, order); when an order
    # id is shared by several customers (rare, and a data problem) the rows are grouped again
    # per customer and order.
    build(
        "order_id, min(customer_id) AS customer_id, max(customer_id) AS __customer_max",
        "order_id",
    )
    shared = con.execute(
        "SELECT count(*) FROM order_totals WHERE __customer_max <> customer_id"
    ).fetchall()[0][0]
    if shared:
        build("customer_id, order_id, customer_id AS __customer_max", "customer_id, order_id")
