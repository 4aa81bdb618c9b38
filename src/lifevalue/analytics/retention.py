"""Store-level retention per month, quarter and year.

Customer retention rate, as the sources define it: ``CRR = ((E - N) / B) * 100`` with ``B`` the
customers at the start of the period, ``E`` at its end and ``N`` the new customers acquired in it.
A customer counts as a customer at a date when their last purchase on or before that date lies
within the previous ``active_days`` days (L, default 365): on day D they are active if they
bought on some day in ``[D - L + 1, D]``.

Counting active customers at many dates is done with disjoint activity intervals: a purchase
day d keeps its customer active on ``[d, min(next purchase day - 1, d + L - 1)]``, so one
customer's intervals never overlap, and the number of customers active on day D is the number of
intervals containing D, read off a running sum of interval starts and ends.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

from lifevalue.analytics.orders import ensure_timeline
from lifevalue.io.reader import Ingested

if TYPE_CHECKING:
    import pandas as pd

Period = Literal["month", "quarter", "year"]
PERIODS: tuple[Period, ...] = ("month", "quarter", "year")

RETENTION_COLUMNS: tuple[str, ...] = (
    "period",
    "period_start",
    "period_end",
    "customers_start",
    "customers_end",
    "new_customers",
    "crr",
    "churn_rate",
    "buyers",
    "orders",
    "revenue",
    "aov",
    "purchase_frequency",
    "repeat_purchase_rate",
    "active_days",
)


def compute_retention(
    ingested: Ingested,
    *,
    end: date,
    active_days: int = 365,
    periods: tuple[Period, ...] = PERIODS,
    table: str = "retention",
) -> None:
    """Build the ``retention`` table (one row per period; columns in ``RETENTION_COLUMNS``).

    Parameters
    ----------
    ingested
        The order log.
    end
        Last day of observation; periods run from the first purchase's period to the one
        holding ``end`` (the last one may be partial: ``period_end`` is then ``end``).
    active_days
        L: a customer is active on day D if they bought within the previous L days.
    periods
        Which period lengths to report.
    """
    if active_days < 1:
        from lifevalue.errors import ConfigError

        raise ConfigError("--active-days must be at least 1")
    timeline = ensure_timeline(ingested, end)
    con = ingested.con
    L = int(active_days)
    bounds = " UNION ALL ".join(
        f"""SELECT '{p}' AS period, s AS period_start,
                   least(CAST(s + INTERVAL 1 {p} - INTERVAL 1 DAY AS DATE), DATE '{end}')
                     AS period_end
            FROM (SELECT CAST(unnest(generate_series(
                    date_trunc('{p}', min(first_day)), date_trunc('{p}', DATE '{end}'),
                    INTERVAL 1 {p})) AS DATE) AS s
                  FROM {timeline})"""
        for p in periods
    )
    # A purchase day is its customer's first in a period when the previous purchase day lies in
    # an earlier period (or there is none): counting those counts each period's buyers once,
    # and those with a previous purchase day are the returning buyers.
    per_raw = " UNION ALL ".join(
        f"""
            SELECT '{p}' AS period, CAST(date_trunc('{p}', local_date) AS DATE) AS period_start,
                   count(*) FILTER (n_orders > 0 AND (prev_day IS NULL
                     OR prev_day < date_trunc('{p}', local_date))) AS buyers,
                   coalesce(sum(n_orders), 0) AS orders,
                   coalesce(sum(gross), 0) AS gross,
                   count(*) FILTER (n_orders > 0
                     AND prev_day < date_trunc('{p}', local_date)) AS ret,
                   count(*) FILTER (n_orders > 0 AND prev_day IS NULL) AS n,
                   coalesce(sum(amount), 0) AS revenue
            FROM {timeline} GROUP BY ALL"""
        for p in periods
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH intervals AS (
            -- day d keeps its customer active until the next purchase day or for L days
            SELECT local_date AS s,
                   least(coalesce(next_day - 1, local_date + {L - 1}), local_date + {L - 1})
                     AS e
            FROM {timeline} WHERE n_orders > 0
        ), deltas AS (
            SELECT d, sum(delta) AS delta FROM (
                SELECT s AS d, 1 AS delta FROM intervals
                UNION ALL SELECT e + 1 AS d, -1 AS delta FROM intervals) GROUP BY d
        ), running AS (
            SELECT d, sum(delta) OVER (ORDER BY d) AS active FROM deltas
        ), b AS ({bounds}
        ), at_dates AS (
            SELECT DISTINCT x AS day FROM (
                SELECT CAST(period_start - 1 AS DATE) AS x FROM b
                UNION ALL SELECT period_end FROM b)
        ), active_at AS (
            SELECT a.day, coalesce(r.active, 0) AS active
            FROM at_dates a ASOF LEFT JOIN running r ON a.day >= r.d
        ), per_raw AS ({per_raw}
        ), per AS (
            SELECT b.period, b.period_start, b.period_end,
                   coalesce(r.buyers, 0) AS buyers, coalesce(r.orders, 0) AS orders,
                   coalesce(r.gross, 0) AS gross, coalesce(r.ret, 0) AS ret,
                   coalesce(r.n, 0) AS n, coalesce(r.revenue, 0) AS revenue
            FROM b LEFT JOIN per_raw r USING (period, period_start)
        )
        SELECT per.period, per.period_start, per.period_end,
               CAST(sa.active AS BIGINT) AS customers_start,
               CAST(ea.active AS BIGINT) AS customers_end,
               per.n AS new_customers,
               CASE WHEN sa.active > 0 THEN (ea.active - per.n) * 100.0 / sa.active END AS crr,
               CASE WHEN sa.active > 0 THEN 100.0 - (ea.active - per.n) * 100.0 / sa.active
                    END AS churn_rate,
               per.buyers, per.orders,
               per.revenue AS revenue,
               CASE WHEN per.orders > 0 THEN per.gross / per.orders END AS aov,
               CASE WHEN per.buyers > 0 THEN per.orders / per.buyers END AS purchase_frequency,
               CASE WHEN per.buyers > 0 THEN per.ret * 100.0 / per.buyers END
                 AS repeat_purchase_rate,
               {L} AS active_days
        FROM per
        JOIN active_at sa ON sa.day = CAST(per.period_start - 1 AS DATE)
        JOIN active_at ea ON ea.day = per.period_end
        ORDER BY CASE per.period WHEN 'month' THEN 1 WHEN 'quarter' THEN 2 ELSE 3 END,
                 per.period_start
        """
    )


def retention_table(ingested: Ingested, *, end: date, active_days: int = 365) -> pd.DataFrame:
    """Retention per month, quarter and year as a pandas DataFrame."""
    compute_retention(ingested, end=end, active_days=active_days)
    return ingested.con.execute("SELECT * FROM retention").df()
