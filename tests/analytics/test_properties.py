"""Invariants on random small order logs (Hypothesis).

* Row order, the split of the log into files and exact duplicate rows change no customer's
  metrics.
* The customer retention rate of retention.csv equals the definition, recomputed here with a
  plain loop over customers and days.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifevalue.analytics.summary import compute_summary
from lifevalue.io import read_orders
from lifevalue.pipeline import AnalysisOptions, run_analysis, write_outputs

Row = tuple[str, str, datetime, float]  # customer_id, order_id, ordered_at, amount

START = datetime(2023, 1, 1)
SPAN_DAYS = 600  # up to 2024-08-23: several months, quarters and two years


@st.composite
def order_logs(draw: st.DrawFn) -> list[Row]:
    """Orders of up to 6 customers; some with a linked partial refund, some refund documents."""
    n_orders = draw(st.integers(min_value=1, max_value=14))
    rows: list[Row] = []
    for k in range(n_orders):
        customer = f"c{draw(st.integers(0, 5))}"
        when = START + timedelta(
            days=draw(st.integers(0, SPAN_DAYS)), minutes=draw(st.integers(0, 24 * 60 - 1))
        )
        cents = draw(st.integers(100, 50_000))
        order = f"o{k}"
        rows.append((customer, order, when, cents / 100))
        if draw(st.integers(0, 4)) == 0:  # a refund row of the same order, later, partial
            back = draw(st.integers(1, cents - 1))
            later = when + timedelta(days=draw(st.integers(0, 30)))
            rows.append((customer, order, later, -back / 100))
    for j in range(draw(st.integers(0, 2))):  # refund documents not linked to an order
        customer = f"c{draw(st.integers(0, 5))}"
        when = START + timedelta(days=draw(st.integers(0, SPAN_DAYS)))
        rows.append((customer, f"r{j}", when, -draw(st.integers(1, 5_000)) / 100))
    return rows


def _write(path: Path, rows: list[Row]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "order_id", "ordered_at", "amount"])
        for c, o, t, a in rows:
            writer.writerow([c, o, t.strftime("%Y-%m-%d %H:%M:%S"), f"{a:.2f}"])
    return path


def _summary(paths: list[Path], end: date) -> list[tuple[Any, ...]]:
    ingested = read_orders(paths)
    compute_summary(ingested, end=end)
    rows = ingested.con.execute("SELECT * FROM customers ORDER BY customer_id").fetchall()
    ingested.con.close()
    return rows


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    """Equal row by row; floats equal up to summation-order rounding."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra, rb, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def _end(rows: list[Row]) -> date:
    # a fixed end for both runs: the last day of the log (possibly a refund's day)
    return max(t for *_, t, _a in rows).date()


def _has_purchase(rows: list[Row]) -> bool:
    return any(a > 0 for *_, a in rows)


PROPERTY = settings(max_examples=25, deadline=None)


@PROPERTY
@given(rows=order_logs(), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(rows: list[Row], seed: int) -> None:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        base = _summary([_write(Path(tmp) / "a.csv", rows)], _end(rows))
        other = _summary([_write(Path(tmp) / "b.csv", shuffled)], _end(rows))
    assert _same(base, other)
    assert len(base) == len({c for c, _o, _t, a in rows if a > 0})


@PROPERTY
@given(rows=order_logs(), cuts=st.lists(st.integers(0, 40), min_size=1, max_size=3))
def test_splitting_into_files_does_not_matter(rows: list[Row], cuts: list[int]) -> None:
    bounds = sorted({min(c, len(rows)) for c in cuts} | {0, len(rows)})
    parts = [rows[lo:hi] for lo, hi in itertools.pairwise(bounds)]
    parts = [p for p in parts if p]
    with tempfile.TemporaryDirectory() as tmp:
        base = _summary([_write(Path(tmp) / "all.csv", rows)], _end(rows))
        files = [_write(Path(tmp) / f"part{i}.csv", p) for i, p in enumerate(parts)]
        split = _summary(files, _end(rows))
    assert _same(base, split)


@PROPERTY
@given(rows=order_logs(), picks=st.lists(st.integers(0, 100), min_size=1, max_size=5))
def test_exact_duplicate_rows_do_not_matter(rows: list[Row], picks: list[int]) -> None:
    repeated = list(rows)
    for p in picks:  # repeat some rows, each copy right after a random later row
        repeated.insert(min(len(repeated), p % (len(repeated) + 1)), rows[p % len(rows)])
    with tempfile.TemporaryDirectory() as tmp:
        base = _summary([_write(Path(tmp) / "a.csv", rows)], _end(rows))
        other = _summary([_write(Path(tmp) / "b.csv", repeated)], _end(rows))
    assert _same(base, other)


# --- customer retention rate from first principles ---------------------------------------------


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def _period_start(d: date, period: str) -> date:
    if period == "month":
        return date(d.year, d.month, 1)
    if period == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return date(d.year, 1, 1)


def _periods(first: date, end: date, period: str) -> list[tuple[date, date]]:
    step = {"month": 1, "quarter": 3, "year": 12}[period]
    out = []
    start = _period_start(first, period)
    while start <= end:
        nxt = _add_months(start, step)
        out.append((start, min(nxt - timedelta(days=1), end)))
        start = nxt
    return out


def _expected_retention(
    rows: list[Row], end: date, active_days: int
) -> dict[tuple[str, date], tuple[date, int, int, int, float | None]]:
    # purchases: orders with a positive row (partial refunds keep them purchases)
    purchase_orders = {(c, o) for c, o, _t, a in rows if a > 0}
    order_day: dict[tuple[str, str], date] = {}
    for c, o, t, a in rows:
        if (c, o) in purchase_orders and a > 0:
            order_day[(c, o)] = min(order_day.get((c, o), t.date()), t.date())
    days: dict[str, set[date]] = {}
    for (c, _o), d in order_day.items():
        if d <= end:
            days.setdefault(c, set()).add(d)
    first = {c: min(ds) for c, ds in days.items()}

    def active(customer: str, day: date) -> bool:
        # active on D: a purchase on some day in [D - L + 1, D]
        lo = day - timedelta(days=active_days - 1)
        return any(lo <= d <= day for d in days[customer])

    expected = {}
    for period in ("month", "quarter", "year"):
        for start, stop in _periods(min(first.values()), end, period):
            b = sum(active(c, start - timedelta(days=1)) for c in days)
            e = sum(active(c, stop) for c in days)
            n = sum(start <= f <= stop for f in first.values())
            crr = (e - n) * 100.0 / b if b else None
            expected[(period, start)] = (stop, b, e, n, crr)
    return expected


@settings(max_examples=30, deadline=None)
@given(
    rows=order_logs(),
    active_days=st.sampled_from([1, 7, 30, 90, 365]),
    extra_days=st.integers(0, 45),
)
def test_crr_matches_its_definition(rows: list[Row], active_days: int, extra_days: int) -> None:
    if not _has_purchase(rows):
        return
    last_purchase = max(t for _c, _o, t, a in rows if a > 0).date()
    end = last_purchase + timedelta(days=extra_days)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "orders.csv", rows)
        result = run_analysis([path], options=AnalysisOptions(end=end, active_days=active_days))
        write_outputs(result, Path(tmp) / "out")
        result.con.close()
        with open(Path(tmp) / "out" / "retention.csv", newline="") as fh:
            got = list(csv.DictReader(fh))
    expected = _expected_retention(rows, end, active_days)
    assert len(got) == len(expected)
    for row in got:
        key = (row["period"], date.fromisoformat(row["period_start"]))
        stop, b, e, n, crr = expected[key]
        assert date.fromisoformat(row["period_end"]) == stop, key
        assert (int(row["customers_start"]), int(row["customers_end"])) == (b, e), key
        assert int(row["new_customers"]) == n, key
        assert int(row["active_days"]) == active_days
        if crr is None:
            assert row["crr"] == "", key
        else:
            assert float(row["crr"]) == pytest.approx(crr), key
            assert float(row["churn_rate"]) == pytest.approx(100.0 - crr), key


def test_period_helpers() -> None:
    # the helpers of the reference computation, checked on fixed dates
    assert _periods(date(2024, 2, 15), date(2024, 4, 10), "month") == [
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 31)),
        (date(2024, 4, 1), date(2024, 4, 10)),
    ]
    assert _periods(date(2023, 11, 30), date(2024, 1, 2), "quarter") == [
        (date(2023, 10, 1), date(2023, 12, 31)),
        (date(2024, 1, 1), date(2024, 1, 2)),
    ]
    assert _periods(date(2023, 5, 5), date(2023, 5, 5), "year") == [
        (date(2023, 1, 1), date(2023, 5, 5))
    ]
