"""Monthly first-purchase cohorts: who of each cohort buys in month k, and what they spend."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from lifevalue.analytics.orders import ensure_order_tables
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
    ensure_order_tables(ingested)
    ingested.con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH firsts AS (
            SELECT customer_id, date_trunc('month', min(local_date)) AS cohort_month
            FROM purchases WHERE local_date <= DATE '{end}' GROUP BY customer_id
        ), sizes AS (
            SELECT cohort_month, count(*) AS cohort_size FROM firsts GROUP BY cohort_month
        ), grid AS (
            SELECT s.cohort_month, s.cohort_size, k.month_index
            FROM sizes s, LATERAL (SELECT unnest(range(0, CAST(datediff('month', s.cohort_month,
                DATE '{end}') AS BIGINT) + 1)) AS month_index) k
        ), buys AS (
            SELECT f.cohort_month,
                   datediff('month', f.cohort_month, p.local_date) AS month_index,
                   count(DISTINCT p.customer_id) AS active_customers
            FROM purchases p JOIN firsts f USING (customer_id)
            WHERE p.local_date <= DATE '{end}'
            GROUP BY ALL
        ), money AS (
            SELECT f.cohort_month,
                   datediff('month', f.cohort_month, e.local_date) AS month_index,
                   sum(e.amount) AS revenue
            FROM spend_events e JOIN firsts f USING (customer_id)
            WHERE e.local_date <= DATE '{end}' AND e.local_date >= f.cohort_month
            GROUP BY ALL
        )
        SELECT strftime(g.cohort_month, '%Y-%m') AS cohort,
               g.month_index,
               g.cohort_size,
               coalesce(b.active_customers, 0) AS active_customers,
               coalesce(b.active_customers, 0) / g.cohort_size AS retention,
               coalesce(m.revenue, 0.0) AS revenue,
               sum(coalesce(m.revenue, 0.0)) OVER (PARTITION BY g.cohort_month
                   ORDER BY g.month_index) / g.cohort_size AS cumulative_revenue_per_customer
        FROM grid g
        LEFT JOIN buys b USING (cohort_month, month_index)
        LEFT JOIN money m USING (cohort_month, month_index)
        ORDER BY cohort, month_index
        """
    )


def cohort_table(ingested: Ingested, *, end: date) -> pd.DataFrame:
    """Monthly cohorts as a pandas DataFrame (see :func:`compute_cohorts`)."""
    compute_cohorts(ingested, end=end)
    return ingested.con.execute("SELECT * FROM cohorts").df()
