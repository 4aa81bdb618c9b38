"""Retention per month, quarter and year against its definition, recomputed by plain loops.

The reference reads ``customer_days`` (how orders become customer-days is tested elsewhere) and
counts from the definitions in the README: B / E are the customers with a purchase in the L days
up to the day before the period / its last day, N those whose first purchase lies in the
period, buyers those with a purchase in it. Logs of one month up to forty years are used, so the
per-customer masks take one word and many (``WORD_BITS`` bits each).
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifevalue.analytics.retention import (
    PERIODS,
    RETENTION_COLUMNS,
    WORD_BITS,
    compute_retention,
    monthly_counts,
)
from lifevalue.io import read_orders
from lifevalue.io.reader import Ingested

Order = tuple[str, str, datetime, float]  # customer_id, order_id, ordered_at, amount


def random_log(seed: int, first: date, days: int, customers: int = 40) -> list[Order]:
    """Orders over ``days`` days from ``first``: repeat buyers, linked partial refunds, refund
    documents (some before the customer's first purchase) and refund-only customers."""
    rnd = random.Random(seed)
    rows: list[Order] = []
    start = datetime(first.year, first.month, first.day)
    for c in range(customers):
        t = rnd.randrange(days)
        refund_only = rnd.random() < 0.1
        for k in range(1 + int(rnd.expovariate(1 / 3))):
            when = start + timedelta(days=t, hours=rnd.randrange(24))
            amount = round(rnd.uniform(1, 300), 2)
            rows.append((f"c{c}", f"o{c}-{k}", when, -amount if refund_only else amount))
            if rnd.random() < 0.15:  # a partial refund of the same order, days later
                rows.append((f"c{c}", f"o{c}-{k}", when + timedelta(days=3), -amount / 4))
            if rnd.random() < 0.1:  # a refund document up to 40 days before or after
                rows.append(
                    (f"c{c}", f"r{c}-{k}", when + timedelta(days=rnd.randrange(-40, 40)), -5.0)
                )
            t += int(rnd.expovariate(1 / rnd.choice([2, 20, 90, 400])))
            if t >= days:
                break
    return rows


def write_log(path: Path, rows: list[Order]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "order_id", "ordered_at", "amount"])
        for c, o, t, a in rows:
            writer.writerow([c, o, t.strftime("%Y-%m-%d %H:%M:%S"), f"{a:.2f}"])
    return path


@dataclass
class Day:
    customer: str
    day: date
    n_orders: int
    gross: float | None
    amount: float


def customer_days(ingested: Ingested, end: date) -> list[Day]:
    from lifevalue.analytics.orders import ensure_order_tables

    ensure_order_tables(ingested)
    rows = ingested.con.execute(
        "SELECT customer_id, local_date, n_orders, gross, amount FROM customer_days "
        "WHERE local_date <= ?",
        [end],
    ).fetchall()
    # money is kept as exact decimals there; the reference works in floats
    return [Day(c, d, n, None if g is None else float(g), float(a)) for c, d, n, g, a in rows]


def month_start(d: date, months: int = 0) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def period_start(d: date, period: str) -> date:
    step = {"month": 1, "quarter": 3, "year": 12}[period]
    return date(d.year, (d.month - 1) // step * step + 1, 1)


def expected_retention(days: list[Day], end: date, active_days: int) -> list[tuple[Any, ...]]:
    """Rows of the retention table (in ``RETENTION_COLUMNS`` order) by the definitions."""
    purchases: dict[str, list[date]] = {}
    for d in days:
        if d.n_orders > 0:
            purchases.setdefault(d.customer, []).append(d.day)
    if not purchases:
        return []
    first = {c: min(ds) for c, ds in purchases.items()}

    def active_set(at: date) -> set[str]:
        lo = at - timedelta(days=active_days - 1)
        return {c for c, ds in purchases.items() if any(lo <= p <= at for p in ds)}

    def active(at: date) -> int:
        return len(active_set(at))

    out = []
    for period in PERIODS:
        step = {"month": 1, "quarter": 3, "year": 12}[period]
        start = period_start(min(first.values()), period)
        while start <= end:
            stop = min(month_start(start, step) - timedelta(days=1), end)
            inside = [d for d in days if start <= d.day <= stop]
            b, e = active(start - timedelta(days=1)), active(stop)
            at_start, at_end = active_set(start - timedelta(days=1)), active_set(stop)
            retained = len(at_start & at_end)
            # active at the end, not at the start, bought before the period: came back
            returning = len({c for c in at_end - at_start if first[c] < start})
            new = sum(start <= f <= stop for f in first.values())
            buyers = len({d.customer for d in inside if d.n_orders > 0})
            orders = sum(d.n_orders for d in inside)
            gross = sum(d.gross or 0.0 for d in inside)
            crr = (e - new) * 100.0 / b if b else None
            out.append(
                (
                    period,
                    start,
                    stop,
                    b,
                    e,
                    new,
                    retained,
                    returning,
                    crr,
                    None if crr is None else 100.0 - crr,
                    buyers,
                    orders,
                    sum(d.amount for d in inside),
                    gross / orders if orders else None,
                    orders / buyers if buyers else None,
                    (buyers - new) * 100.0 / buyers if buyers else None,
                    active_days,
                )
            )
            start = month_start(start, step)
    return out


def assert_rows_equal(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(w)
        for x, y in zip(g, w, strict=True):
            if isinstance(y, float):
                assert x is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6), (g, w)
            else:
                assert x == y, (g, w)


def retention_rows(ingested: Ingested) -> list[tuple[Any, ...]]:
    return ingested.con.execute("SELECT * FROM retention").fetchall()


# first day, length in days: from one month to forty years (1 to 481 months: masks of 1 to 17
# words, around the word boundaries too)
SPANS = [
    (date(2024, 3, 5), 20),
    (date(2023, 11, 20), 75),
    (date(2021, 1, 1), 365 * 2 + 150),  # ~29 months: 59 bits, one word
    (date(2021, 1, 1), 365 * 2 + 200),  # ~30 months: 61 bits, two words
    (date(2019, 1, 1), 365 * 5),  # 60 months
    (date(2018, 6, 1), 365 * 10 + 40),
    (date(1985, 1, 1), 365 * 40 + 9),
]


@pytest.mark.parametrize(("first", "days"), SPANS)
@pytest.mark.parametrize("active_days", [1, 30, 365])
def test_retention_matches_its_definition(
    tmp_path: Path, first: date, days: int, active_days: int
) -> None:
    rows = random_log(days + active_days, first, days)
    ingested = read_orders([write_log(tmp_path / "orders.csv", rows)])
    last = max(t for *_, t, a in rows if a > 0).date()
    for end in (last, last + timedelta(days=50), first + timedelta(days=days // 2)):
        compute_retention(ingested, end=end, active_days=active_days)
        want = expected_retention(customer_days(ingested, end), end, active_days)
        assert_rows_equal(retention_rows(ingested), want)
    ingested.con.close()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    first=st.dates(date(1990, 1, 1), date(2024, 1, 1)),
    days=st.integers(1, 365 * 12),
    active_days=st.sampled_from([1, 7, 31, 90, 365, 800]),
    extra=st.integers(-400, 60),
)
def test_retention_on_random_logs(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    first: date,
    days: int,
    active_days: int,
    extra: int,
) -> None:
    rows = random_log(seed, first, days, customers=12)
    if not any(a > 0 for *_, a in rows):
        return
    path = write_log(tmp_path_factory.mktemp("log") / "orders.csv", rows)
    ingested = read_orders([path])
    end = max(t for *_, t, a in rows if a > 0).date() + timedelta(days=extra)
    compute_retention(ingested, end=end, active_days=active_days)
    want = expected_retention(customer_days(ingested, end), end, active_days)
    assert_rows_equal(retention_rows(ingested), want)
    ingested.con.close()


def test_columns_types_and_order(tmp_path: Path) -> None:
    rows = random_log(1, date(2024, 1, 1), 200)
    ingested = read_orders([write_log(tmp_path / "orders.csv", rows)])
    compute_retention(ingested, end=date(2024, 7, 18))
    described = ingested.con.execute("DESCRIBE retention").fetchall()
    assert tuple(r[0] for r in described) == RETENTION_COLUMNS
    types = dict((r[0], r[1]) for r in described)
    assert types["period_start"] == types["period_end"] == "DATE"
    assert types["customers_start"] == types["buyers"] == "BIGINT"
    assert types["orders"] == "HUGEINT"
    assert types["crr"] == types["revenue"] == types["aov"] == "DOUBLE"
    assert types["active_days"] == "INTEGER"
    keys = [(PERIODS.index(r[0]), r[1]) for r in retention_rows(ingested)]
    assert keys == sorted(keys)
    assert {r[0] for r in retention_rows(ingested)} == set(PERIODS)


def test_no_purchase_by_the_end_gives_an_empty_table(tmp_path: Path) -> None:
    rows = random_log(2, date(2024, 5, 1), 100)
    ingested = read_orders([write_log(tmp_path / "orders.csv", rows)])
    compute_retention(ingested, end=date(2024, 4, 30))
    assert retention_rows(ingested) == []
    described = ingested.con.execute("DESCRIBE retention").fetchall()
    assert tuple(r[0] for r in described) == RETENTION_COLUMNS
    assert dict((r[0], r[1]) for r in described)["orders"] == "HUGEINT"


def test_only_the_periods_asked_for(tmp_path: Path) -> None:
    rows = random_log(3, date(2023, 2, 1), 500)
    ingested = read_orders([write_log(tmp_path / "orders.csv", rows)])
    end = date(2024, 6, 15)
    compute_retention(ingested, end=end, periods=("quarter",), table="quarters")
    got = ingested.con.execute("SELECT * FROM quarters").fetchall()
    want = expected_retention(customer_days(ingested, end), end, 365)
    assert_rows_equal(got, [r for r in want if r[0] == "quarter"])


def test_counts_are_built_once_per_end_and_active_days(tmp_path: Path) -> None:
    rows = random_log(4, date(2022, 1, 1), 700)
    ingested = read_orders([write_log(tmp_path / "orders.csv", rows)])
    end = date(2023, 12, 31)
    a = monthly_counts(ingested, end, 30)
    assert monthly_counts(ingested, end, 30) is a
    assert monthly_counts(ingested, end, None) is a  # month bits only: any L will do
    b = monthly_counts(ingested, end, 365)
    assert b is not a and b is not None and b.active_days == 365
    c = monthly_counts(ingested, end - timedelta(days=1), None)
    assert c is not None and c.active_days is None and c.words == 1
    assert c.end == end - timedelta(days=1)
    assert WORD_BITS % 12 == 0
