"""A UTC store's times are converted without ICU's time zone rules (see ``UTC_ZONES``): the
orders, customer-days and counts must be exactly those of the general path (ICU's conversions
in the UTC zone), taken here by emptying the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

import lifevalue.io.reader as reader
from lifevalue.io import ReadOptions, read_orders

# instants from 1901 to 2099, to the microsecond, often close to midnight
INSTANT = st.one_of(
    st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2099, 12, 31)),
    st.tuples(
        st.dates(min_value=datetime(1950, 1, 1).date(), max_value=datetime(2030, 1, 1).date()),
        st.integers(min_value=-2_000_000, max_value=2_000_000),
    ).map(lambda dm: datetime.combine(dm[0], datetime.min.time()) + timedelta(microseconds=dm[1])),
)
ROW = st.tuples(st.sampled_from(["a", "b", "c"]), INSTANT, st.sampled_from([5.0, -2.0, 0.0]))


def _tables(path: Path) -> tuple[list[tuple[object, ...]], ...]:
    ingested = read_orders([path], ReadOptions(timezone="UTC"))
    con = ingested.con
    try:
        orders = con.execute(
            "SELECT __line, ordered_at, local_date FROM orders ORDER BY __line"
        ).fetchall()
        days = con.execute("SELECT * EXCLUDE (contact) FROM customer_days ORDER BY ALL").fetchall()
        return orders, days, [tuple(sorted(ingested.stats.items(), key=str))]
    finally:
        con.close()


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(ROW, min_size=1, max_size=30), kind=st.sampled_from(["ts", "tstz", "date"]))
def test_utc_shortcut_equals_the_time_zone_rules(
    tmp_path_factory: object, rows: list[tuple[str, datetime, float]], kind: str
) -> None:
    path = tmp_path_factory.mktemp("utc") / "orders.parquet"  # type: ignore[attr-defined]
    stamps = [r[1] for r in rows]
    if kind == "tstz":
        column = pa.array([s.replace(tzinfo=UTC) for s in stamps], pa.timestamp("us", tz="UTC"))
    elif kind == "date":
        column = pa.array([s.date() for s in stamps], pa.date32())
    else:
        column = pa.array(stamps, pa.timestamp("us"))
    table = pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [f"o{i % 7}" for i in range(len(rows))],
            "ordered_at": column,
            "amount": [r[2] for r in rows],
            "email": [f"{r[0]}{i}@x.org" for i, r in enumerate(rows)],
        }
    )
    pq.write_table(table, path)
    shortcut = _tables(path)
    with mock.patch.object(reader, "UTC_ZONES", frozenset()):
        general = _tables(path)
    assert shortcut == general
