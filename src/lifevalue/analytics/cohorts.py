"""Monthly first-purchase cohorts: who of each cohort buys in month k, and what they spend.

Counted from retention's per-customer month masks (see :mod:`lifevalue.analytics.retention`):
a cohort's buyers in month k are its customers with the bit of month ``cohort + k``; its revenue
that of its customers' days in that month, the customer-days joined to their customer's first
purchase month.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from lifevalue.analytics.orders import money
from lifevalue.analytics.retention import BITS, CELLS, monthly_counts
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
    counts = monthly_counts(ingested, end, None)
    con = ingested.con
    if counts is None:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            SELECT '' AS cohort, 0::BIGINT AS month_index, 0::BIGINT AS cohort_size,
                   0::BIGINT AS active_customers, 0.0::DOUBLE AS retention,
                   0.0::DOUBLE AS revenue, 0.0::DOUBLE AS cumulative_revenue_per_customer
            WHERE false
            """
        )
        return
    n = counts.months
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH sizes AS (
            SELECT pos AS c, CAST(customers AS BIGINT) AS cohort_size
            FROM {BITS} WHERE kind = 'n'
        ), grid AS (
            SELECT c, cohort_size, k FROM sizes JOIN range({n}) t(k) ON k < {n} - c
        ), active AS (
            SELECT fi AS c, pos - fi AS k, CAST(customers AS BIGINT) AS active
            FROM {BITS} WHERE kind = 'm'
        )
        SELECT strftime(DATE '{counts.origin}' + to_months(CAST(g.c AS INTEGER)), '%Y-%m')
                 AS cohort,
               g.k AS month_index,
               g.cohort_size,
               coalesce(a.active, 0) AS active_customers,
               coalesce(a.active, 0) / g.cohort_size AS retention,
               {money("coalesce(x.revenue, 0.0)")} AS revenue,
               {
            money(
                "sum(coalesce(x.revenue, 0.0)) OVER (PARTITION BY g.c ORDER BY g.k) / g.cohort_size"
            )
        } AS cumulative_revenue_per_customer
        FROM grid g
        LEFT JOIN active a USING (c, k)
        LEFT JOIN {CELLS} x ON x.fi = g.c AND x.mi = g.c + g.k
        ORDER BY cohort, month_index
        """
    )


def cohort_table(ingested: Ingested, *, end: date) -> pd.DataFrame:
    """Monthly cohorts as a pandas DataFrame (see :func:`compute_cohorts`)."""
    compute_cohorts(ingested, end=end)
    return ingested.con.execute("SELECT * FROM cohorts").df()
