"""Monthly first-purchase cohorts: who of each cohort buys in month k, and what they spend."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from lifevalue.analytics.orders import ensure_timeline
from lifevalue.io.reader import Ingested

if TYPE_CHECKING:
    import pandas as pd

COHORT_COLUMNS: tuple[str, ...] = (
    "cohort",
    "month_index",
    "cohort_size",
    "active_customers",
    "retention",
    "revenue",
    "cumulative_revenue_per_customer",
)


def compute_cohorts(ingested: Ingested, *, end: date, table: str = "cohorts") -> None:
    """Build the ``cohorts`` table: one row per (first-purchase month, months since then).

    ``active_customers`` counts cohort members with a purchase in month k; ``revenue`` is the
    cohort's net spend in month k (refunds on their own day). Every month from the cohort month
    to the month of ``end`` has a row, with zeros where nobody bought.
    """
    timeline = ensure_timeline(ingested, end)
    # a purchase day counts its customer as active in its month when the previous purchase day
    # lies in an earlier month (or there is none): one count per customer and month
    ingested.con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH t AS (
            SELECT date_trunc('month', first_day) AS cohort_month,
                   datediff('month', date_trunc('month', first_day), local_date) AS month_index,
                   n_orders > 0 AND (prev_day IS NULL
                     OR prev_day < date_trunc('month', local_date)) AS first_in_month,
                   amount, local_date
            FROM {timeline} WHERE first_day IS NOT NULL
        ), cells AS (
            SELECT cohort_month, month_index,
                   count(*) FILTER (first_in_month) AS active_customers,
                   sum(amount) FILTER (local_date >= cohort_month) AS revenue
            FROM t GROUP BY ALL
        ), firsts AS (
            SELECT cohort_month, active_customers AS cohort_size FROM cells WHERE month_index = 0
        ), grid AS (
            SELECT s.cohort_month, s.cohort_size, k.month_index
            FROM firsts s, LATERAL (SELECT unnest(range(0, CAST(datediff('month', s.cohort_month,
                DATE '{end}') AS BIGINT) + 1)) AS month_index) k
        )
        SELECT strftime(g.cohort_month, '%Y-%m') AS cohort,
               g.month_index,
               g.cohort_size,
               coalesce(c.active_customers, 0) AS active_customers,
               coalesce(c.active_customers, 0) / g.cohort_size AS retention,
               coalesce(c.revenue, 0.0) AS revenue,
               sum(coalesce(c.revenue, 0.0)) OVER (PARTITION BY g.cohort_month
                   ORDER BY g.month_index) / g.cohort_size AS cumulative_revenue_per_customer
        FROM grid g
        LEFT JOIN cells c USING (cohort_month, month_index)
        ORDER BY cohort, month_index
        """
    )


def cohort_table(ingested: Ingested, *, end: date) -> pd.DataFrame:
    """Monthly cohorts as a pandas DataFrame (see :func:`compute_cohorts`)."""
    compute_cohorts(ingested, end=end)
    return ingested.con.execute("SELECT * FROM cohorts").df()
