"""``lifevalue sample``: writes the file, prints a one-line summary, user errors exit with 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lifevalue.datasets import generate_sample

Cli = Callable[..., Any]  # the ``cli`` fixture of tests/conftest.py


def test_sample_writes_csv_and_summarises(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "run" / "orders.csv"
    result = cli("sample", "--customers", "300", "--seed", "7", "--out", out)
    assert result.exit_code == 0, result.output
    table = generate_sample(300, 7)
    orders = len(set(table["order_id"].to_pylist()))
    line = result.stdout.strip()
    assert line.startswith(f"300 customers, {orders:,} orders, {table.num_rows:,} rows, revenue ")
    assert "GBP" in line and str(out) in line and "MB)" in line
    assert out.read_text().count("\n") == table.num_rows + 1


def test_sample_parquet_with_window(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "orders.parquet"
    result = cli("sample", "-n", "50", "--start", "2025-01-01", "--end", "2025-03-31", "-o", out)
    assert result.exit_code == 0, result.output
    meta = pq.read_schema(out).metadata[b"lifevalue.sample"].decode()
    assert '"start": "2025-01-01"' in meta and '"end": "2025-03-31"' in meta


def test_sample_user_errors_exit_2(cli: Cli, tmp_path: Path) -> None:
    cases = [
        (["--customers", "0"], "at least 1"),
        (["--seed", "-3"], "seed"),
        (["--out", tmp_path / "orders.xlsx"], ".csv, .csv.gz or .parquet"),
        (["--start", "2025-02-30"], "--start must be a date"),
        (["--start", "2025-03-01", "--end", "2025-01-01"], "before the start"),
    ]
    for args, message in cases:
        result = cli("sample", "--out", tmp_path / "x.csv", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / "orders.xlsx").exists()


def test_sample_help_explains_options_with_an_example(cli: Cli) -> None:
    result = cli("sample", "--help")
    assert result.exit_code == 0
    for text in ("--customers", "--seed", "--out", "--start", "--end", ".parquet", "Examples"):
        assert text in result.stdout
    assert "lifevalue sample --customers 20000 --seed 7 --out orders.csv" in result.stdout
