"""Money is added up exactly: totals are the decimal sums of the amounts, whatever the row order.

DuckDB adds floating-point numbers on several threads, in an order that changes from run to
run, so float sums of large amounts differ in the last digits between runs (a month's revenue
of 3,076,336.70 came out as ``3076336.699999`` once and ``3076336.700001`` the next time). The
amounts are added as decimals instead (:data:`lifevalue.io.order_totals.EXACT_MONEY`): here the
outputs are compared with sums done in Python's ``decimal``, exactly, on a log large enough for
float sums to be visibly off, and a shuffled copy of the log must give the same bytes.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from lifevalue.errors import InputError
from lifevalue.io.order_totals import MAX_AMOUNT
from lifevalue.pipeline import AnalysisOptions, run_analysis, write_outputs

START = date(2024, 1, 1)


def write_log(path: Path, rows: list[tuple[str, str, datetime, str]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "order_id", "ordered_at", "amount"])
        for c, o, t, a in rows:
            w.writerow([c, o, t.isoformat(sep=" "), a])


@pytest.fixture(scope="module")
def big_log() -> list[tuple[str, str, datetime, str]]:
    """60,000 orders of up to ten million with cents, 3,000 customers, over three months."""
    rnd = random.Random(7)
    rows = []
    for i in range(60_000):
        when = datetime.combine(START, datetime.min.time()) + timedelta(
            seconds=rnd.randrange(90 * 86_400)
        )
        cents = rnd.randrange(1, 10**9)
        rows.append((f"c{rnd.randrange(3000)}", f"o{i}", when, f"{cents // 100}.{cents % 100:02d}"))
    return rows


def analyse(tmp: Path, rows: list[tuple[str, str, datetime, str]], name: str) -> Path:
    src = tmp / f"{name}.csv"
    write_log(src, rows)
    result = run_analysis([src], options=AnalysisOptions(segments=True))
    out = tmp / name
    write_outputs(result, out)
    return out


def test_totals_are_the_exact_decimal_sums(
    tmp_path: Path, big_log: list[tuple[str, str, datetime, str]]
) -> None:
    out = analyse(tmp_path, big_log, "log")
    per_month: dict[date, Decimal] = defaultdict(Decimal)
    per_customer: dict[str, Decimal] = defaultdict(Decimal)
    for c, _, t, a in big_log:
        per_month[t.date().replace(day=1)] += Decimal(a)
        per_customer[c] += Decimal(a)
    got = duckdb.sql(
        f"SELECT period_start, revenue FROM read_csv('{out / 'retention.csv'}') "
        "WHERE period = 'month'"
    ).fetchall()
    assert len(got) == 3
    for start, revenue in got:
        # a month is about 2e11: a float sum is off there by 1e-5 or so, which shows at six places
        assert revenue == float(per_month[start]), start
    spend = dict(
        duckdb.sql(
            f"SELECT customer_id, total_spend FROM read_parquet('{out / 'customers.parquet'}')"
        ).fetchall()
    )
    assert spend == {c: float(v) for c, v in per_customer.items()}


def test_row_order_changes_no_byte_of_the_outputs(
    tmp_path: Path, big_log: list[tuple[str, str, datetime, str]]
) -> None:
    shuffled = big_log[:]
    random.Random(3).shuffle(shuffled)
    a = analyse(tmp_path, big_log, "as_read")
    b = analyse(tmp_path, shuffled, "shuffled")
    for name in ("customers.csv", "retention.csv", "cohorts.csv", "segments.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_an_amount_too_large_to_add_exactly_is_rejected_with_its_line(tmp_path: Path) -> None:
    when = datetime(2024, 3, 1, 12)
    rows = [
        ("c1", "o1", when, "10.00"),
        ("c1", "o2", when + timedelta(days=2), f"{MAX_AMOUNT:.0f}"),
        ("c2", "o3", when, "nan"),
        ("c2", "o4", when + timedelta(days=1), "5.5"),
    ]
    out = analyse(tmp_path, rows, "large")
    rejects = duckdb.sql(
        f"SELECT line, \"column\", reason FROM read_csv('{out / 'rejects.csv'}') ORDER BY line"
    ).fetchall()
    assert [(line, col) for line, col, _ in rejects] == [(3, "amount"), (4, "amount")]
    assert all("amount out of range" in why for *_, why in rejects)
    spend = dict(
        duckdb.sql(
            f"SELECT customer_id, total_spend FROM read_parquet('{out / 'customers.parquet'}')"
        ).fetchall()
    )
    assert spend == {"c1": 10.0, "c2": 5.5}


@pytest.mark.parametrize(
    ("name", "orders"),
    [
        # one order of two lines, each under the limit, together over it
        ("order", [("o1", "600000000000"), ("o1", "500000000000")]),
        # two orders of one customer on one day
        ("day", [("o1", "600000000000"), ("o2", "500000000000")]),
    ],
)
def test_a_total_too_large_to_add_exactly_stops_with_a_clear_error(
    tmp_path: Path, name: str, orders: list[tuple[str, str]]
) -> None:
    when = datetime(2024, 3, 1, 12)
    rows = [("c1", o, when + timedelta(minutes=i), a) for i, (o, a) in enumerate(orders)]
    rows.append(("c2", "o9", when, "5.5"))
    src = tmp_path / f"{name}.csv"
    write_log(src, rows)
    with pytest.raises(InputError, match=r"add up to 1,000,000,000,000 or more"):
        run_analysis([src])


def test_totals_just_under_the_limit_are_exact(tmp_path: Path) -> None:
    when = datetime(2024, 3, 1, 12)
    rows = [
        ("c1", "o1", when, "500000000000.25"),
        ("c1", "o2", when + timedelta(hours=1), "499999999999.74"),
        ("c1", "o3", when + timedelta(days=1), "999999999999.99"),
    ]
    out = analyse(tmp_path, rows, "under")
    got = duckdb.sql(
        f"SELECT total_spend, monetary_value FROM read_parquet('{out / 'customers.parquet'}')"
    ).fetchall()
    assert got == [(float(Decimal("1999999999999.98")), 999999999999.99)]
