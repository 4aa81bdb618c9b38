"""Monthly cohorts against their definition, recomputed by plain loops over customer-days.

A customer's cohort is the month of their first purchase up to ``end``; in month k of it the
cohort's active customers are those with a purchase in that month and its revenue the spend of
all their customer-days in it (refund documents too). Logs of a few weeks up to forty years.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifevalue.analytics.cohorts import COHORT_COLUMNS, compute_cohorts
from lifevalue.analytics.retention import compute_retention
from lifevalue.io import read_orders
from lifevalue.io.reader import Ingested

from .test_retention import SPANS, Day, customer_days, random_log, write_log


def month_number(d: date) -> int:
    return d.year * 12 + d.month - 1


def expected_cohorts(days: list[Day], end: date) -> list[tuple[Any, ...]]:
    """Rows of the cohorts table (in ``COHORT_COLUMNS`` order) by the definitions."""
    first: dict[str, int] = {}
    for d in days:
        if d.n_orders > 0:
            first[d.customer] = min(first.get(d.customer, 10**9), month_number(d.day))
    out = []
    for cohort in sorted(set(first.values())):
        members = {c for c, f in first.items() if f == cohort}
        total = 0.0
        for k in range(month_number(end) - cohort + 1):
            month = cohort + k
            mine = [d for d in days if d.customer in members and month_number(d.day) == month]
            active = len({d.customer for d in mine if d.n_orders > 0})
            revenue = sum(d.amount for d in mine)
            total += revenue
            label = f"{cohort // 12:04d}-{cohort % 12 + 1:02d}"
            size = len(members)
            out.append((label, k, size, active, active / size, revenue, total / size))
    return out


def cohort_rows(ingested: Ingested) -> list[tuple[Any, ...]]:
    return ingested.con.execute("SELECT * FROM cohorts").fetchall()


def assert_rows_equal(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for x, y in zip(g, w, strict=True):
            if isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6), (g, w)
            else:
                assert x == y, (g, w)


@pytest.mark.parametrize(("first", "days"), SPANS)
def test_cohorts_match_their_definition(tmp_path: Path, first: date, days: int) -> None:
    rows = random_log(days, first, days)
    ingested = read_orders([write_log(tmp_path / "orders.csv", rows)])
    last = max(t for *_, t, a in rows if a > 0).date()
    for end in (last, last + timedelta(days=40), first + timedelta(days=days // 2)):
        compute_cohorts(ingested, end=end)
        assert_rows_equal(
            cohort_rows(ingested), expected_cohorts(customer_days(ingested, end), end)
        )
    ingested.con.close()


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    first=st.dates(date(1995, 1, 1), date(2024, 1, 1)),
    days=st.integers(1, 365 * 8),
    extra=st.integers(-300, 60),
    active_days=st.sampled_from([None, 30, 365]),
)
def test_cohorts_on_random_logs(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    first: date,
    days: int,
    extra: int,
    active_days: int | None,
) -> None:
    rows = random_log(seed, first, days, customers=12)
    if not any(a > 0 for *_, a in rows):
        return
    path = write_log(tmp_path_factory.mktemp("log") / "orders.csv", rows)
    ingested = read_orders([path])
    end = max(t for *_, t, a in rows if a > 0).date() + timedelta(days=extra)
    if active_days is not None:  # as the pipeline does: retention first, its counts reused
        compute_retention(ingested, end=end, active_days=active_days)
    compute_cohorts(ingested, end=end)
    assert_rows_equal(cohort_rows(ingested), expected_cohorts(customer_days(ingested, end), end))
    ingested.con.close()


def test_columns_and_types(tmp_path: Path) -> None:
    rows = random_log(5, date(2023, 6, 1), 300)
    ingested = read_orders([write_log(tmp_path / "orders.csv", rows)])
    compute_cohorts(ingested, end=date(2024, 3, 31))
    described = ingested.con.execute("DESCRIBE cohorts").fetchall()
    assert tuple(r[0] for r in described) == COHORT_COLUMNS
    assert [r[1] for r in described] == [
        "VARCHAR",
        "BIGINT",
        "BIGINT",
        "BIGINT",
        "DOUBLE",
        "DOUBLE",
        "DOUBLE",
    ]
    compute_cohorts(ingested, end=date(2023, 5, 31))  # before the first order: no cohorts
    assert cohort_rows(ingested) == []
    described = ingested.con.execute("DESCRIBE cohorts").fetchall()
    assert tuple(r[0] for r in described) == COHORT_COLUMNS
