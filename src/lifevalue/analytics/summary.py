"""The per-customer summary: BTYD inputs (frequency, recency, T, monetary value) and spend metrics.

Definitions (the README has them too):

* a *purchase period* is a distinct calendar day with a purchase, in the store's time zone;
* ``frequency`` = purchase periods - 1; ``recency`` = time from the first to the last purchase
  period; ``T`` = time from the first purchase period to the end of the observation window
  (``calibration_end`` when the data is split); time in days or weeks (days / 7);
* ``monetary_value`` = mean net spend of the repeat purchase periods (the first is left out),
  0 for one-time buyers;
* historical CLV: ``spend_12m`` / ``spend_24m``, net spend in the 12 / 24 months up to ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from lifevalue.analytics.orders import CONTACT_COLUMNS, ensure_order_tables, money
from lifevalue.errors import ConfigError, InputError
from lifevalue.io.order_totals import ROW_KEY_MASK
from lifevalue.io.reader import Ingested, contact_text

if TYPE_CHECKING:
    import pandas as pd

TimeUnit = Literal["days", "weeks"]
UNIT_DAYS: dict[str, int] = {"days": 1, "weeks": 7}

#: Columns of the summary, in output order (calibration columns only with a split).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "orders",
    "purchase_periods",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "total_spend",
    "spend_12m",
    "spend_24m",
    "average_order_value",
    "purchase_frequency_per_year",
    "mean_days_between_orders",
    "days_since_last_order",
    "discount_share",
    "refunded_amount",
)


@dataclass(frozen=True)
class SummaryInfo:
    """What a summary covers: the observation window and how many customers it holds."""

    end: date
    calibration_end: date | None
    time_unit: TimeUnit
    customers: int
    customers_first_seen_in_holdout: int
    orders_after_end: int


def observation_bounds(ingested: Ingested) -> tuple[date, date]:
    """First and last purchase day in the log (store time zone)."""
    ensure_order_tables(ingested)
    row = ingested.con.execute(
        "SELECT min(local_date), max(local_date) FROM customer_days WHERE n_orders > 0"
    ).fetchall()[0]
    if row[0] is None:
        stats = ingested.stats
        if not stats.get("rows_read"):
            names = ", ".join(f.file for f in ingested.files)
            raise InputError(f"no purchases to analyse: the order log has no data rows ({names})")
        if not stats.get("rows_accepted"):
            raise InputError(
                f"no purchases to analyse: none of the {stats['rows_read']:,} rows could be used: "
                + _reject_summary(ingested)
            )
        raise InputError(
            "no purchases to analyse: every accepted row is a refund, cancellation or pending "
            "order (see ingest.json and rejects.csv)"
        )
    return row[0], row[1]


def _reject_summary(ingested: Ingested, most: int = 3) -> str:
    """The commonest reasons rows were left out, each with its count and first place."""
    rows = ingested.con.execute(
        "SELECT reason, count(*), arg_min(file || ':' || line, file_index * 1e12 + line) "
        f"FROM rejects GROUP BY reason ORDER BY 2 DESC, 1 LIMIT {most + 1}"
    ).fetchall()
    parts = [
        f"{reason} ({n:,} row{'s' if n != 1 else ''}, first at {where})"
        for reason, n, where in rows[:most]
    ]
    if len(rows) > most:
        parts.append("and more (see rejects.csv)")
    return "; ".join(parts)


def _check_window(
    first: date, last: date, end: date | None, calibration_end: date | None
) -> tuple[date, date | None]:
    end = end or last
    if end < first:
        raise ConfigError(
            f"the end date {end} is before the first order ({first}); choose --end on or after it"
        )
    if calibration_end is not None:
        if calibration_end < first:
            raise ConfigError(
                f"the calibration end {calibration_end} is before the first order ({first})"
            )
        if calibration_end >= end:
            raise ConfigError(
                f"the calibration end {calibration_end} must be before the end date {end}"
            )
    return end, calibration_end


def compute_summary(
    ingested: Ingested,
    *,
    end: date | None = None,
    calibration_end: date | None = None,
    time_unit: TimeUnit = "days",
    table: str = "customers",
) -> SummaryInfo:
    """Build the per-customer summary as the DuckDB table ``table`` on ``ingested.con``.

    Parameters
    ----------
    ingested
        The order log, from :func:`lifevalue.io.read_orders`.
    end
        Last day of observation (inclusive); default the last purchase day. Orders after it are
        left out.
    calibration_end
        Split the data: ``frequency``, ``recency``, ``T`` and ``monetary_value`` describe the days
        up to this date; ``holdout_frequency`` and ``holdout_monetary_value`` the days after it up
        to ``end``. Customers whose first purchase is after it are left out (counted in the info).
    time_unit
        ``days`` or ``weeks`` (7 days) for ``recency`` and ``T``.

    Returns
    -------
    SummaryInfo
        The window and counts; the rows are in the DuckDB table.
    """
    if time_unit not in UNIT_DAYS:
        raise ConfigError(f"time unit must be days or weeks, not '{time_unit}'")
    first, last = observation_bounds(ingested)
    end, calibration_end = _check_window(first, last, end, calibration_end)
    cal = calibration_end or end
    unit = float(UNIT_DAYS[time_unit])
    con = ingested.con
    # each customer's latest known contact details: the values of their latest row, looked up
    # for that row alone; a column empty there but given on an earlier row is filled after
    contact_cols = [c for c in CONTACT_COLUMNS if any(c in f.columns for f in ingested.files)]
    customer_contacts = contacts_cte = contacts_select = contacts_join = ""
    if contact_cols:
        customer_contacts = f", CAST(max(contact) & {ROW_KEY_MASK} AS BIGINT) AS contact_row"
        # one join of the customers to the rows by key; the values are trimmed after it, for
        # the rows found only
        contacts_cte = f", fetched AS (SELECT * FROM {ingested.contact_rows})"
        contacts_select = "".join(f", {contact_text('f.' + c)} AS {c}" for c in contact_cols)
        contacts_join = "LEFT JOIN fetched f ON " + ingested.contact_match.format(
            key="c.contact_row"
        )
    holdout_cols = (
        ",\n            c.h_n AS holdout_frequency,"
        f"\n            {money('coalesce(c.h_mean, 0.0)')} AS holdout_monetary_value"
        if calibration_end
        else ""
    )
    in_cal = f"n_orders > 0 AND local_date <= DATE '{cal}'"
    if calibration_end:
        window_aggregates = f"""
                   min(local_date) FILTER ({in_cal}) AS first_day,
                   max(local_date) FILTER ({in_cal}) AS last_day,
                   count(*) FILTER ({in_cal}) AS n,
                   sum(spend) FILTER ({in_cal}) AS spend,
                   arg_min(spend, local_date) FILTER ({in_cal}) AS first_spend,
                   count(*) FILTER (n_orders > 0 AND local_date > DATE '{cal}') AS h_n,
                   avg(spend) FILTER (n_orders > 0 AND local_date > DATE '{cal}') AS h_mean,
                   min(local_date) FILTER (n_orders > 0) AS w_first,
                   max(local_date) FILTER (n_orders > 0) AS w_last,
                   count(*) FILTER (n_orders > 0) AS periods,"""
    else:  # the calibration period is the whole window: compute its aggregates once
        window_aggregates = """
                   min(local_date) FILTER (n_orders > 0) AS first_day,
                   max(local_date) FILTER (n_orders > 0) AS last_day,
                   count(*) FILTER (n_orders > 0) AS n,
                   sum(spend) AS spend,
                   arg_min(spend, local_date) FILTER (n_orders > 0) AS first_spend,
                   first_day AS w_first, last_day AS w_last, n AS periods,"""
    # customer-days -> customers. A day's ``spend`` is the net of its purchases (NULL on days
    # with refund documents only); ``amount`` is every spend event.
    latest = con.execute("SELECT max(local_date) FROM customer_days").fetchall()[0][0]
    days = "customer_days"
    if latest > end:  # days after the end (refunds too) are left out
        days = f"(SELECT * FROM customer_days WHERE local_date <= DATE '{end}')"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH t AS (
            SELECT customer_id,{window_aggregates}
                   CAST(sum(n_orders) AS BIGINT) AS orders,
                   sum(gross) AS gross,
                   CAST(sum(n_discounted) AS BIGINT) AS discounted,
                   sum(amount) AS total_spend,
                   sum(amount) FILTER (local_date > DATE '{end}' - INTERVAL 12 MONTH) AS s12,
                   sum(amount) FILTER (local_date > DATE '{end}' - INTERVAL 24 MONTH) AS s24,
                   sum(refund) AS refunded{customer_contacts}
            FROM {days} GROUP BY customer_id
        ), c AS (SELECT * FROM t WHERE n > 0){contacts_cte}
        SELECT
            c.customer_id,
            c.first_day AS first_purchase,
            c.last_day AS last_purchase,
            c.orders,
            c.periods AS purchase_periods,
            c.n - 1 AS frequency,
            (c.last_day - c.first_day) / {unit} AS recency,
            (DATE '{cal}' - c.first_day) / {unit} AS "T",
            {money("CASE WHEN c.n > 1 THEN (c.spend - c.first_spend) / (c.n - 1) ELSE 0.0 END")}
                AS monetary_value,
            {money("coalesce(c.total_spend, 0.0)")} AS total_spend,
            {money("coalesce(c.s12, 0.0)")} AS spend_12m,
            {money("coalesce(c.s24, 0.0)")} AS spend_24m,
            {money("c.gross / c.orders")} AS average_order_value,
            c.orders / greatest((DATE '{end}' - c.w_first + 1) / 365.25, 1.0)
                AS purchase_frequency_per_year,
            CASE WHEN c.periods > 1
                 THEN (c.w_last - c.w_first) / (c.periods - 1.0) END
                AS mean_days_between_orders,
            DATE '{end}' - c.w_last AS days_since_last_order,
            c.discounted / c.orders AS discount_share,
            {money("coalesce(c.refunded, 0.0)")} AS refunded_amount{holdout_cols}{contacts_select}
        FROM c {contacts_join}
        ORDER BY c.customer_id
        """
    )
    if contact_cols:
        _fill_contacts(ingested, table, contact_cols)
    customers = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    later = 0
    if calibration_end:
        later = con.execute(
            f"SELECT count(*) FROM (SELECT customer_id FROM customer_days "
            f"WHERE n_orders > 0 AND local_date <= DATE '{end}' GROUP BY customer_id "
            f"HAVING min(local_date) > DATE '{cal}')"
        ).fetchall()[0][0]
    after = con.execute(
        f"SELECT coalesce(sum(n_orders), 0) FROM customer_days WHERE local_date > DATE '{end}'"
    ).fetchall()[0][0]
    return SummaryInfo(
        end=end,
        calibration_end=calibration_end,
        time_unit=time_unit,
        customers=int(customers),
        customers_first_seen_in_holdout=int(later),
        orders_after_end=int(after),
    )


def customer_summary(
    ingested: Ingested,
    *,
    end: date | None = None,
    calibration_end: date | None = None,
    time_unit: TimeUnit = "days",
) -> pd.DataFrame:
    """The per-customer summary as a pandas DataFrame (see :func:`compute_summary`)."""
    compute_summary(ingested, end=end, calibration_end=calibration_end, time_unit=time_unit)
    return ingested.con.execute("SELECT * FROM customers ORDER BY customer_id").df()


def _fill_contacts(ingested: Ingested, table: str, columns: list[str]) -> None:
    """Contacts empty on a customer's latest row but given earlier: the latest given value.

    Only customers with an empty value are looked up (none, when every row has the details).
    """
    con = ingested.con
    for c in columns:
        missing = con.execute(f"SELECT count(*) FROM {table} WHERE {c} IS NULL").fetchall()[0][0]
        if not missing:
            continue
        con.execute(
            f"""
            UPDATE {table} s SET {c} = v.value
            FROM (
                SELECT customer_id, arg_max({c}, ordered_at) AS value FROM orders
                WHERE {c} IS NOT NULL
                  AND customer_id IN (SELECT customer_id FROM {table} WHERE {c} IS NULL)
                GROUP BY customer_id
            ) v
            WHERE s.customer_id = v.customer_id
            """
        )
