"""The files of the main job: customers.csv as written in parts by several threads."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from lifevalue import pipeline


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # text that needs quoting, NULLs, dates, integers and doubles without a short decimal form
    con.execute(
        """
        CREATE TABLE t AS
        SELECT printf('C%05d', i) AS customer_id,
               DATE '2024-01-01' + CAST(i % 400 AS INTEGER) AS first_purchase,
               i AS orders,
               i / 3.0 AS monetary_value,
               CASE WHEN i % 7 = 0 THEN NULL ELSE CAST(i AS DOUBLE) * 0.1 END AS spend,
               CASE WHEN i % 5 = 0 THEN 'a, "quoted" name' WHEN i % 11 = 0 THEN NULL
                    ELSE 'repeat;vip' END AS segments
        FROM range(1, 2502) r(i) ORDER BY customer_id
        """
    )
    return con


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("rows_per_part", [100, 10**9])  # four parts; one
def test_customers_csv_in_parts_keeps_every_row_in_order(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows_per_part: int,
) -> None:
    monkeypatch.setattr(pipeline, "CSV_ROWS_PER_PART", rows_per_part)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    path = tmp_path / "customers.csv"
    pipeline._write_csv(con, "t", path)
    rows = read(path)
    header, body = rows[0], rows[1:]
    assert header == [
        "customer_id",
        "first_purchase",
        "orders",
        "monetary_value",
        "spend",
        "segments",
    ]
    assert len(body) == 2501
    assert [r[0] for r in body] == [f"C{i:05d}" for i in range(1, 2502)]
    # the values read back are the table's: doubles round-trip exactly, NULL is empty
    expected = con.execute("SELECT * FROM t ORDER BY customer_id").fetchall()
    for got, want in zip(body, expected, strict=True):
        assert got[1] == want[1].isoformat()
        assert int(got[2]) == want[2]
        assert float(got[3]) == want[3]
        assert (got[4] == "") if want[4] is None else (float(got[4]) == want[4])
        assert got[5] == ("" if want[5] is None else want[5])
    assert not list(tmp_path.glob("*.part*"))  # the parts are gone


def test_customers_csv_of_an_empty_table_has_its_header(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    con.execute("CREATE TABLE e AS SELECT * FROM t WHERE false")
    path = tmp_path / "customers.csv"
    pipeline._write_csv(con, "e", path)
    assert read(path) == [
        ["customer_id", "first_purchase", "orders", "monetary_value", "spend", "segments"]
    ]
