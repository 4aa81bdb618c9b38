"""Store-level retention per month, quarter and year.

Customer retention rate, as the sources define it: ``CRR = ((E - N) / B) * 100`` with ``B`` the
customers at the start of the period, ``E`` at its end and ``N`` the new customers acquired in it.
A customer counts as a customer at a date when their last purchase on or before that date lies
within the previous ``active_days`` days (L, default 365): on day D they are active if they
bought on some day in ``[D - L + 1, D]``.

How it is counted, without sorting: months are numbered from 1 January of the year of the first
purchase (month 0) to the month of ``end`` (month n - 1), and so are the dates at which
customers are counted: date j is the day before month j starts, and date n is ``end``. A
purchase on day p keeps its customer active at the dates in ``[p, p + L - 1]``, a run of
consecutive numbers. A small calendar table gives every day the bits a purchase on it sets: bit
i for its month i and bits ``n + j`` for the dates j it keeps its customer active at; one
``GROUP BY`` customer with ``bit_or`` collects each customer's mask. ``B`` and ``E`` of a period
are then how many customers have the bit of the date before it starts and of its last day, its
buyers how many have a bit of one of its months, and its new customers how many have their
lowest bit (the month of their first purchase) in it; the distinct masks are few, so these
counts are cheap. Orders, gross and revenue are summed per month. The masks take as many words
of ``WORD_BITS`` bits as the log needs, so logs of any length are counted the same way. The
same masks give the cohorts (:mod:`lifevalue.analytics.cohorts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from lifevalue.analytics.orders import ensure_order_tables, money
from lifevalue.io.reader import Ingested

if TYPE_CHECKING:
    import duckdb
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
    "retained_customers",
    "returning_customers",
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

#: Months per period.
SPAN: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}

#: Bits used of each 64-bit mask word: a multiple of 12, so that no quarter or year of month
#: bits straddles two words.
WORD_BITS = 60

CALENDAR, CUSTOMERS, MASKS = "__lv_calendar", "__lv_customers", "masks"
BITS, CELLS, TOTALS = "__lv_month_bits", "__lv_cohort_cells", "__lv_month_totals"


@dataclass(frozen=True)
class MonthlyCounts:
    """What retention and cohorts are read from, counted for one ``end`` (and L).

    Three small tables: ``BITS`` has ``kind``, ``fi``, ``pos`` and ``customers``: for kind
    ``n`` the customers whose first purchase is in month ``pos``, ``m`` those of the cohort of
    month ``fi`` buying in month ``pos``, ``q`` / ``y`` the customers buying in quarter / year
    ``pos`` (numbered from ``origin``), ``a`` those active at counting date ``pos``, ``r``
    those active both at counting dates ``fi`` and ``pos`` (a period's start and end) and ``x``
    those active at ``pos`` but not at ``fi`` whose first purchase is before month ``fi``.
    ``TOTALS`` has the ``orders``, ``gross`` and ``revenue`` of all customer-days per month
    ``mi``; ``CELLS`` the ``revenue`` per month ``mi`` of the customers whose first purchase is
    in month ``fi``.
    """

    end: date
    origin: date
    """1 January of the year of the first purchase up to ``end`` (month 0)."""
    months: int
    """n: month n - 1 holds ``end``."""
    first_month: int
    """The month of the first purchase."""
    active_days: int | None
    """L of the activity bits (None: month bits only)."""

    @property
    def bits(self) -> int:
        """Bits of a customer's mask: months ``0 .. n - 1``, then counting dates ``0 .. n``."""
        return self.months if self.active_days is None else 2 * self.months + 1

    @property
    def words(self) -> int:
        """Words of ``WORD_BITS`` bits the masks take."""
        return -(-self.bits // WORD_BITS)


def month_number(origin: date, day: date) -> int:
    """Months from ``origin`` (a 1 January) to the month of ``day``."""
    return (day.year - origin.year) * 12 + day.month - 1


def _ones(positions: range, word: int) -> str:
    """SQL constant with the bits of ``positions`` that lie in ``word``."""
    lo = word * WORD_BITS
    value = sum(1 << (p - lo) for p in positions if lo <= p < lo + WORD_BITS)
    return f"{value}::UBIGINT"


def _word(prefix: str, bit: str, words: int) -> str:
    """SQL for the word (columns ``{prefix}0``, ...) holding bit number ``bit`` (SQL)."""
    if words == 1:
        return f"{prefix}0"
    whens = " ".join(f"WHEN {w} THEN {prefix}{w}" for w in range(words))
    return f"(CASE ({bit}) // {WORD_BITS} {whens} END)"


def _bit_set(prefix: str, bit: str, words: int) -> str:
    """SQL: is bit number ``bit`` (an SQL expression) of the words set?"""
    shift = f"CAST(({bit}) % {WORD_BITS} AS UBIGINT)"
    return f"(({_word(prefix, bit, words)} >> {shift}) & 1::UBIGINT) <> 0"


def _calendar_sql(counts: MonthlyCounts) -> str:
    """One row per day from ``origin`` to ``end``: its month ``mi`` and the bits a purchase on
    it sets, in words ``w0``, ``w1``, ...: bit ``mi`` and, with L, bits ``n + j`` for the
    counting dates j in ``[day, day + L - 1]`` (from ``mi + 1`` to ``last``)."""
    n, origin, end, L = counts.months, counts.origin, counts.end, counts.active_days
    words = []
    for w in range(counts.words):
        lo = w * WORD_BITS
        word = (
            f"CASE WHEN mi >= {lo} AND mi < {lo + WORD_BITS} "
            f"THEN 1::UBIGINT << CAST(mi - {lo} AS UBIGINT) ELSE 0::UBIGINT END"
        )
        if L is not None:
            s = f"least(greatest({n + 1 - lo} + mi, 0), {WORD_BITS})"
            e = f"least(greatest({n + 1 - lo} + last, 0), {WORD_BITS})"
            word += (
                f" | CASE WHEN {e} > {s} THEN (1::UBIGINT << CAST({e} AS UBIGINT))"
                f" - (1::UBIGINT << CAST({s} AS UBIGINT)) ELSE 0::UBIGINT END"
            )
        words.append(f"{word} AS w{w}")
    last = (
        f"CASE WHEN day + {L - 1} >= DATE '{end}' THEN {n} "
        f"ELSE datediff('month', DATE '{origin}', day + {L}) END"
        if L is not None
        else "NULL"
    )
    return f"""
        SELECT day, mi, {", ".join(words)} FROM (
            SELECT day, datediff('month', DATE '{origin}', day) AS mi, {last} AS last
            FROM (SELECT CAST(range AS DATE) AS day
                  FROM range(DATE '{origin}', DATE '{end}' + 1, INTERVAL 1 DAY)))
    """


def _lowest_bit_sql(words: int) -> str:
    """SQL for the number of the lowest set bit of the words (the first purchase's month)."""
    whens = " ".join(
        f"WHEN w{w} <> 0 THEN {w * WORD_BITS - 1} + CAST(bit_count(xor(w{w}, w{w} - 1)) AS BIGINT)"
        for w in range(words)
    )
    return f"CASE {whens} END"


def _spread(column: str, span: int) -> str:
    """SQL: ``column`` OR-ed with itself shifted down by 1 .. span - 1 bits."""
    return " | ".join([column] + [f"({column} >> {k}::UBIGINT)" for k in range(1, span)])


def _bits_sql(counts: MonthlyCounts) -> str:
    """SQL for the ``BITS`` table from ``MASKS`` (see :class:`MonthlyCounts`)."""
    n, words = counts.months, counts.words
    month_words = range(-(-n // WORD_BITS))
    month_part = {w: f"(w{w} & {_ones(range(n), w)})" for w in month_words}
    parts = [
        f"SELECT 'n' AS kind, NULL::BIGINT AS fi, fi AS pos, sum(customers) AS customers "
        f"FROM {MASKS} GROUP BY fi"
    ]
    # a cohort's buyers per month: the month bits counted a byte at a time
    for w in month_words:
        width = min(WORD_BITS, n - w * WORD_BITS)
        parts.append(
            f"""SELECT 'm', fi, {w * WORD_BITS} + 8 * b + i, sum(customers) FROM (
                SELECT fi, b, (m >> CAST(8 * b AS UBIGINT)) & 255::UBIGINT AS v,
                       sum(customers) AS customers
                FROM (SELECT fi, {month_part[w]} AS m, customers FROM {MASKS}),
                     range({-(-width // 8)}) t(b)
                GROUP BY ALL), range(8) u(i)
            WHERE (v >> CAST(i AS UBIGINT)) & 1::UBIGINT <> 0 GROUP BY ALL"""
        )
    # buyers per quarter / year: a bit at the period's first month if any of its months is set
    for kind, span in (("q", 3), ("y", 12)):
        firsts = range(0, n, span)
        cols = ", ".join(
            f"({_spread(month_part[w], span)}) & {_ones(firsts, w)} AS {kind}{w}"
            for w in month_words
        )
        parts.append(
            f"""SELECT '{kind}', NULL, p, sum(customers) FROM (
                SELECT {", ".join(f"{kind}{w}" for w in month_words)},
                       sum(customers) AS customers
                FROM (SELECT {cols}, customers FROM {MASKS}) GROUP BY ALL),
                range({len(firsts)}) t(p)
            WHERE {_bit_set(kind, f"{span} * p", len(month_words))} GROUP BY ALL"""
        )
    if counts.active_days is not None:
        dates = range(n, 2 * n + 1)
        cols = ", ".join(f"w{w} & {_ones(dates, w)} AS w{w}" for w in range(words))
        parts.append(
            f"""SELECT 'a', NULL, j, sum(customers) FROM (
                SELECT {", ".join(f"w{w}" for w in range(words))}, sum(customers) AS customers
                FROM (SELECT {cols}, customers FROM {MASKS}) GROUP BY ALL), range({n + 1}) t(j)
            WHERE {_bit_set("w", f"{n} + j", words)} GROUP BY ALL"""
        )
        # per period (counting dates s and e: its start and end, for periods of every length):
        # kind 'r' the customers active at both (retained), 'x' those active at e only who
        # bought before the period (returning): fi is s, pos is e
        pairs = sorted(
            {
                (i, min(i + span, n))
                for span in SPAN.values()
                for i in range(counts.first_month // span * span, n, span)
            }
        )
        at_s, at_e = _bit_set("w", f"{n} + s", words), _bit_set("w", f"{n} + e", words)
        for kind, where in (
            ("r", f"{at_s} AND {at_e}"),
            ("x", f"NOT {at_s} AND {at_e} AND fi < s"),
        ):
            parts.append(
                f"""SELECT '{kind}', s, e, sum(customers) FROM (
                    SELECT fi, {", ".join(f"w{w}" for w in range(words))},
                           sum(customers) AS customers
                    FROM (SELECT fi, {cols}, customers FROM {MASKS}) GROUP BY ALL),
                    (VALUES {", ".join(f"({a}, {b})" for a, b in pairs)}) t(s, e)
                WHERE {where} GROUP BY ALL"""
            )
    return " UNION ALL ".join(parts)


def _build(con: duckdb.DuckDBPyConnection, counts: MonthlyCounts) -> None:
    """Create ``BITS``, ``TOTALS`` and ``CELLS`` (see :class:`MonthlyCounts`)."""
    words = ", ".join(f"w{w}" for w in range(counts.words))
    masks = ", ".join(f"bit_or(c.w{w}) AS w{w}" for w in range(counts.words))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CALENDAR} AS {_calendar_sql(counts)}")
    # per customer with a purchase by the end: the bits of their purchase days
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {CUSTOMERS} AS
        SELECT customer_id, {words}, {_lowest_bit_sql(counts.words)} AS fi FROM (
            SELECT d.customer_id, {masks}
            FROM customer_days d JOIN {CALENDAR} c ON d.local_date = c.day
            WHERE d.n_orders > 0
            GROUP BY d.customer_id)
        """
    )
    # the cohort's spend per month: the customer-days joined to their customer's first month
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {CELLS} AS
        SELECT p.fi, c.mi, sum(d.amount) AS revenue
        FROM customer_days d JOIN {CALENDAR} c ON d.local_date = c.day
        JOIN {CUSTOMERS} p ON d.customer_id = p.customer_id
        WHERE c.mi >= p.fi
        GROUP BY ALL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {TOTALS} AS
        SELECT c.mi, sum(d.n_orders) AS orders, sum(d.gross) AS gross,
               sum(d.amount) AS revenue
        FROM customer_days d JOIN {CALENDAR} c ON d.local_date = c.day
        GROUP BY ALL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {BITS} AS
        WITH {MASKS} AS MATERIALIZED (
            SELECT fi, {words}, count(*) AS customers FROM {CUSTOMERS} GROUP BY ALL
        )
        {_bits_sql(counts)}
        """
    )
    con.execute(f"DROP TABLE {CUSTOMERS}")
    con.execute(f"DROP TABLE {CALENDAR}")


def monthly_counts(ingested: Ingested, end: date, active_days: int | None) -> MonthlyCounts | None:
    """Build the tables of :class:`MonthlyCounts` for ``end`` (and L) once; None without a
    purchase by then. A build for some L also serves calls without one (cohorts need month
    bits only)."""
    cached = ingested.cache.get("monthly_counts")
    if (
        isinstance(cached, MonthlyCounts)
        and cached.end == end
        and (active_days is None or cached.active_days == active_days)
    ):
        return cached
    ensure_order_tables(ingested)
    con = ingested.con
    first: date | None = con.execute(
        "SELECT min(local_date) FROM customer_days WHERE n_orders > 0 AND local_date <= ?",
        [end],
    ).fetchall()[0][0]
    if first is None:
        return None
    origin = date(first.year, 1, 1)
    counts = MonthlyCounts(
        end=end,
        origin=origin,
        months=month_number(origin, end) + 1,
        first_month=month_number(origin, first),
        active_days=active_days,
    )
    ingested.cache.pop("monthly_counts", None)
    _build(con, counts)
    ingested.cache["monthly_counts"] = counts
    return counts


def _periods_sql(counts: MonthlyCounts, periods: tuple[Period, ...]) -> str:
    """SQL for the reported periods: ``period``, ``rank``, first month ``idx``, ``span``."""
    parts = ["SELECT '' AS period, 0 AS rank, 0 AS idx, 0 AS span WHERE false"]
    for rank, period in enumerate(PERIODS):
        if period in periods:
            span = SPAN[period]
            parts.append(
                f"SELECT '{period}' AS period, {rank} AS rank, p * {span} AS idx, "
                f"{span} AS span FROM range({counts.first_month // span}, "
                f"{(counts.months - 1) // span + 1}) t(p)"
            )
    return " UNION ALL ".join(parts)


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
    L = int(active_days)
    counts = monthly_counts(ingested, end, L)
    con = ingested.con
    if counts is None:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            SELECT '' AS period, DATE '{end}' AS period_start, DATE '{end}' AS period_end,
                   0::BIGINT AS customers_start, 0::BIGINT AS customers_end,
                   0::BIGINT AS new_customers, 0::BIGINT AS retained_customers,
                   0::BIGINT AS returning_customers, 0.0::DOUBLE AS crr, 0.0::DOUBLE AS churn_rate,
                   0::BIGINT AS buyers, 0::HUGEINT AS orders, 0.0::DOUBLE AS revenue,
                   0.0::DOUBLE AS aov, 0.0::DOUBLE AS purchase_frequency,
                   0.0::DOUBLE AS repeat_purchase_rate, {L} AS active_days
            WHERE false
            """
        )
        return
    n = counts.months
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH p AS ({_periods_sql(counts, periods)}
        ), bits AS (
            SELECT kind, pos, sum(customers) AS customers FROM {BITS} GROUP BY ALL
        ), totals AS (
            SELECT p.period, p.rank, p.idx, p.span, coalesce(sum(t.orders), 0) AS orders,
                   coalesce(sum(t.gross), 0) AS gross, coalesce(sum(t.revenue), 0) AS revenue
            FROM p LEFT JOIN {TOTALS} t ON t.mi >= p.idx AND t.mi < p.idx + p.span
            GROUP BY ALL
        ), new AS (
            SELECT p.period, p.idx, sum(b.customers) AS new
            FROM p JOIN bits b ON b.kind = 'n' AND b.pos >= p.idx AND b.pos < p.idx + p.span
            GROUP BY ALL
        ), per AS (
            SELECT t.*,
                   CAST(DATE '{counts.origin}' + to_months(CAST(t.idx AS INTEGER)) AS DATE)
                     AS period_start,
                   coalesce(sa.customers, 0) AS b, coalesce(ea.customers, 0) AS e,
                   coalesce(kept.customers, 0) AS retained,
                   coalesce(back.customers, 0) AS came_back,
                   coalesce(bought.customers, 0) AS buyers, coalesce(new.new, 0) AS new
            FROM totals t
            LEFT JOIN new USING (period, idx)
            -- B and E: active at the dates before the first and after the last month
            LEFT JOIN bits sa ON sa.kind = 'a' AND sa.pos = t.idx
            LEFT JOIN bits ea ON ea.kind = 'a' AND ea.pos = least(t.idx + t.span, {n})
            LEFT JOIN {BITS} kept
              ON kept.kind = 'r' AND kept.fi = t.idx AND kept.pos = least(t.idx + t.span, {n})
            LEFT JOIN {BITS} back
              ON back.kind = 'x' AND back.fi = t.idx AND back.pos = least(t.idx + t.span, {n})
            LEFT JOIN bits bought
              ON bought.kind = CASE t.span WHEN 1 THEN 'm' WHEN 3 THEN 'q' ELSE 'y' END
              AND bought.pos = t.idx // t.span
        )
        SELECT period, period_start,
               least(CAST(period_start + to_months(CAST(span AS INTEGER)) - INTERVAL 1 DAY
                 AS DATE), DATE '{end}') AS period_end,
               CAST(b AS BIGINT) AS customers_start,
               CAST(e AS BIGINT) AS customers_end,
               CAST(new AS BIGINT) AS new_customers,
               CAST(retained AS BIGINT) AS retained_customers,
               CAST(came_back AS BIGINT) AS returning_customers,
               CASE WHEN b > 0 THEN (e - new) * 100.0 / b END AS crr,
               CASE WHEN b > 0 THEN 100.0 - (e - new) * 100.0 / b END AS churn_rate,
               CAST(buyers AS BIGINT) AS buyers, orders,
               {money("revenue")} AS revenue,
               {money("CASE WHEN orders > 0 THEN gross / orders END")} AS aov,
               CASE WHEN buyers > 0 THEN orders / buyers END AS purchase_frequency,
               CASE WHEN buyers > 0 THEN (buyers - new) * 100.0 / buyers END
                 AS repeat_purchase_rate,
               {L} AS active_days
        FROM per
        ORDER BY rank, period_start
        """
    )


def retention_table(ingested: Ingested, *, end: date, active_days: int = 365) -> pd.DataFrame:
    """Retention per month, quarter and year as a pandas DataFrame."""
    compute_retention(ingested, end=end, active_days=active_days)
    return ingested.con.execute("SELECT * FROM retention").df()
