"""From accepted order rows to one row per customer and day (the ``customer_days`` table).

Built once while reading (see :mod:`lifevalue.io.reader`) in one DuckDB query: the rows are
totalled per order (gross, refund, status flags), the orders classified (purchase or not), and
the orders added up per customer and calendar day. The per-order totals are not kept: every
later metric reads the customer-days. The rules are in the README under "How orders are counted"
and in :mod:`lifevalue.analytics.orders`:

* an order's **gross** is the sum of its non-negative row amounts (``line`` level) or its total
  taken once (``order`` level); its **refund** the sum of its negative rows plus an explicit
  refunded amount, or its gross when its status is ``refunded`` and no amount is given;
* it is a **purchase** unless it is cancelled or pending, has no non-negative row, or was
  refunded in full; its day is the day of its first row (store time zone), so refunds linked to
  an order by its id are netted into that order's day.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb

from lifevalue.errors import InputError

#: A row's key in one BIGINT: ``__file * ROW_KEY_SHIFT + __line``.
ROW_KEY_SHIFT = 1 << 40

#: Bits of an order's ``flags``: any row cancelled / refunded / pending, any non-negative
#: amount, any discount.
CANCELLED, REFUNDED, PENDING, HAS_GROSS, DISCOUNTED = 1, 2, 4, 8, 16

#: An accepted row's time and key in one number: the largest is the latest row, and of rows
#: with the same time the last one read. ``contact & ROW_KEY_MASK`` is its row key.
CONTACT_KEY_SQL = (
    # times x 2^64, not << 64: DuckDB refuses to shift the negative times before 1970
    f"CAST(epoch_us(ordered_at) AS HUGEINT) * {1 << 64} + (__file * {ROW_KEY_SHIFT} + __line)"
)
ROW_KEY_MASK = (1 << 64) - 1

#: Time zones whose offset from UTC is always zero: their local time is UTC, so converting
#: needs no time zone rules (DuckDB's ICU conversions cost about 50 ns a row and core).
UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
    | {"GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0"}
    | {"Greenwich", "Etc/Greenwich"}
)


def local_date_sql(expr: str, utc: bool) -> str:
    """SQL for the store's calendar date of a TIMESTAMPTZ ``expr`` (the connection's time zone
    is the store's; with ``utc``, a UTC store's, computed from the instant without ICU)."""
    return f"CAST(make_timestamp(epoch_us({expr})) AS DATE)" if utc else f"CAST({expr} AS DATE)"


def utc_timestamp_sql(expr: str) -> str:
    """SQL for the UTC wall time (a TIMESTAMP) of a TIMESTAMPTZ ``expr``: the instant itself, so
    no time zone rules are needed whatever the store's zone."""
    return f"make_timestamp(epoch_us({expr}))"


#: The exact type money is added up in: a row's amount is rounded to a millionth of the
#: currency unit once, and every sum after that is exact, so the totals do not depend on the
#: order the rows are added in (DuckDB adds floating-point numbers on several threads, in an
#: order that changes from run to run). Amounts must be below :data:`MAX_AMOUNT`.
EXACT_MONEY = "DECIMAL(18,6)"

#: The largest amount a row may have (what :data:`EXACT_MONEY` holds).
MAX_AMOUNT = 1e12


def exact_money_sql(expr: str) -> str:
    """SQL for ``expr`` (a DOUBLE amount under :data:`MAX_AMOUNT`) as :data:`EXACT_MONEY`."""
    return f"CAST({expr} AS {EXACT_MONEY})"


#: Columns of ``customer_days`` (contact columns follow when the log has them).
CUSTOMER_DAY_COLUMNS = (
    "customer_id",
    "local_date",
    "spend",
    "n_orders",
    "n_discounted",
    "gross",
    "amount",
    "refund",
    "n_all",
    "n_cancelled",
)


def _flags_sql(present: Collection[str]) -> str:
    parts = []
    if "status" in present:
        parts.append(
            f"CASE status WHEN 'cancelled' THEN {CANCELLED} WHEN 'refunded' THEN {REFUNDED} "
            f"WHEN 'pending' THEN {PENDING} ELSE 0 END"
        )
    parts.append(f"CASE WHEN amount >= 0 THEN {HAS_GROSS} ELSE 0 END")
    if "discount" in present:
        parts.append(f"CASE WHEN discount > 0 THEN {DISCOUNTED} ELSE 0 END")
    return "bit_or(" + " | ".join(parts) + ")"


def create_customer_days(
    con: duckdb.DuckDBPyConnection,
    level: str,
    source: str,
    *,
    zoned: bool,
    present: Collection[str],
    contacts: Sequence[str] = (),
    utc: bool = False,
) -> None:
    """Total the rows of ``source`` per order, then per customer and day, into ``customer_days``.

    Parameters
    ----------
    level
        ``line`` (row amounts add up) or ``order`` (each row carries the order total).
    source
        The accepted rows: canonical columns, ``__file`` and ``__line``; with ``zoned``,
        ``ordered_at`` is a TIMESTAMPTZ read in the store time zone (the connection's), else it
        is UTC and the rows have ``local_date``.
    present
        Canonical columns the input has: aggregates of absent optional columns are left out.
    contacts
        Contact columns (``email``, ``phone``, ``country``) to track: each day keeps its latest
        row as ``contact`` (:data:`CONTACT_KEY_SQL`: its time and its key ``__file *
        ROW_KEY_SHIFT + __line``), so a customer's latest contact details can be looked up by
        row.
    utc
        The store's time zone is UTC (one of :data:`UTC_ZONES`): days are taken without ICU.

    The table has one row per customer and day with any order: ``spend`` (net of the day's
    purchases; NULL without one), ``n_orders`` (purchases), ``n_discounted``, ``gross`` (of the
    purchases), ``amount`` (every spend event: purchases net of refunds, refund documents),
    ``refund``, ``n_all`` (all orders), ``n_cancelled`` (orders with a cancelled row). The
    money columns are exact decimal sums in :data:`EXACT_MONEY`, as are the orders' totals.

    Raises
    ------
    InputError
        An order's total or a customer's day reaches :data:`MAX_AMOUNT`.
    """
    exact = exact_money_sql("amount")
    gross = (
        f"coalesce(max(CASE WHEN amount >= 0 THEN {exact} END), 0)"
        if level == "order"
        else exact_money_sql(f"coalesce(sum(CASE WHEN amount >= 0 THEN {exact} END), 0)")
    )
    refund = f"coalesce(0 - sum(CASE WHEN amount < 0 THEN {exact} END), 0)"
    if "refunded" in present:
        refund += f" + coalesce(max({exact_money_sql('refunded')}), 0)"
    refund = exact_money_sql(refund)
    picks = day_picks = ""
    if contacts:
        # contacts are tracked by row (file and line in one number), not by value: keeping the
        # latest string per group would copy every string of a log sorted by time
        picks = f", max({CONTACT_KEY_SQL}) AS contact"
        day_picks = ", max(contact) AS contact"
    local_date = local_date_sql("first_at", utc) if zoned else "local_date"
    first_local = "" if zoned else ", min(local_date) AS local_date"

    # Orders are keyed by customer and order id: an order id that several customers use (a
    # data problem) is one order of each of them. A log without order ids has one order per
    # customer and second (the reader's ``order_id`` is the customer and that second as text):
    # the second itself is the key, which saves formatting and hashing a string per row.
    order_key = "order_id" if "order_id" in present else "floor(epoch_us(ordered_at) / 1e6)"
    # the orders' and days' sums are kept as EXACT_MONEY too: 64-bit integers add up faster
    # than the 128-bit sums DuckDB widens them to
    spend = exact_money_sql("sum(net) FILTER (is_purchase)")
    day_gross = exact_money_sql("sum(gross) FILTER (is_purchase)")
    amount = exact_money_sql(
        "sum(CASE WHEN is_purchase THEN net WHEN NOT has_gross THEN -refund "
        "WHEN cancelled OR pending THEN 0 ELSE net END)"
    )
    day_refund = exact_money_sql(
        "sum(CASE WHEN (cancelled OR pending) AND has_gross THEN 0 ELSE refund END)"
    )
    sql = f"""
        CREATE OR REPLACE TABLE customer_days AS
        WITH o AS (
            SELECT customer_id, min(ordered_at) AS first_at{first_local},
                   {gross} AS gross, {refund} AS refund_given,
                   {_flags_sql(present)} AS flags{picks}
            FROM {source}
            GROUP BY customer_id, {order_key}
        ), r AS (
            SELECT *,
                   (flags & {CANCELLED}) > 0 AS cancelled,
                   (flags & {PENDING}) > 0 AS pending,
                   (flags & {HAS_GROSS}) > 0 AS has_gross,
                   CASE WHEN (flags & {REFUNDED}) > 0 AND refund_given = 0 THEN gross
                        ELSE refund_given END AS refund
            FROM o
        ), p AS (
            SELECT *, {exact_money_sql("gross - refund")} AS net,
                   NOT cancelled AND NOT pending AND has_gross
                     AND NOT (gross > 0 AND refund >= gross) AS is_purchase
            FROM r
        )
        SELECT customer_id, {local_date} AS local_date,
               {spend} AS spend,
               count(*) FILTER (is_purchase) AS n_orders,
               count(*) FILTER (is_purchase AND (flags & {DISCOUNTED}) > 0) AS n_discounted,
               {day_gross} AS gross,
               {amount} AS amount,
               {day_refund} AS refund,
               count(*) AS n_all,
               count(*) FILTER (cancelled) AS n_cancelled{day_picks}
        FROM p
        GROUP BY ALL
        """
    try:
        con.execute(sql)
    except duckdb.ConversionException as exc:
        if "out of range" not in str(exc):
            raise
        raise InputError(
            "an order, or a customer's orders on one day, add up to "
            f"{MAX_AMOUNT:,.0f} or more in the currency: lifevalue adds money exactly only "
            "below that"
        ) from exc
