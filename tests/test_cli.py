"""The `lifevalue` command line: help, the analyze command's outputs, user errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from lifevalue.analytics.cohorts import COHORT_COLUMNS
from lifevalue.analytics.retention import RETENTION_COLUMNS
from lifevalue.analytics.summary import SUMMARY_COLUMNS
from lifevalue.cli import app
from lifevalue.models.pipeline_step import PREDICTED_COLUMNS
from lifevalue.segments import RFM_GROUPS

Cli = Callable[..., Any]
Writer = Callable[..., Path]

SCRIPT = Path(sys.executable).parent / "lifevalue"

LOG = """\
customer_id,order_id,ordered_at,amount
A,1,2024-01-10 10:00:00,10
A,2,2024-02-20 10:00:00,20
B,3,2024-01-15 10:00:00,5
B,4,2024-03-01 10:00:00,7
C,5,2024-04-05 10:00:00,100
"""


def test_root_help_shows_an_example() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "analyze" in result.output
    assert "lifevalue analyze orders.csv --out results/" in result.output


def test_analyze_help_shows_examples() -> None:
    result = CliRunner().invoke(app, ["analyze", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Examples" in result.output
    assert "lifevalue analyze orders.csv --out results/" in result.output
    assert "--preset cdnow --calibration-end 1997-09-30" in result.output
    for option in ("--end", "--calibration-end", "--time-unit", "--strict", "--timezone"):
        assert option in result.output


@pytest.mark.skipif(not SCRIPT.exists(), reason=f"console script not installed at {SCRIPT}")
def test_console_script_help_and_user_error(tmp_path: Path) -> None:
    """The installed `lifevalue` script: help exits 0; a user error is one line, exit 2."""
    shown = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    assert "lifevalue analyze orders.csv --out results/" in shown.stdout
    bad = tmp_path / "orders.csv"
    bad.write_text("cust,when\nA,2024-01-01\n")
    run = subprocess.run(
        [SCRIPT, "analyze", bad, "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert f"{bad}:1: missing required column(s)" in errors[0]


def test_usage_error_exits_2(cli: Cli, write_file: Writer) -> None:
    result = cli("analyze", write_file("o.csv", LOG), "--no-such-option")
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert "Traceback" not in result.output


def test_analyze_writes_every_output(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("analyze", write_file("orders.csv", LOG), "--out", out)
    assert result.exit_code == 0, result.output
    names = {"customers.parquet", "customers.csv", "retention.csv", "cohorts.csv"}
    assert names | {"ingest.json", "rejects.csv"} <= {p.name for p in out.iterdir()}
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    # the model step adds the predicted columns (here from the historical fallback: 2 repeat
    # buyers are too few for a purchase model), then the segment step RFM scores and segments
    segment_columns = ("r_score", "f_score", "m_score", "rfm_group", "segments")
    assert tuple(customers.columns) == SUMMARY_COLUMNS + PREDICTED_COLUMNS + segment_columns
    assert (out / "model.json").exists()
    assert (out / "segments.csv").exists()
    assert set(customers["rfm_group"]) <= set(RFM_GROUPS)
    parquet = pd.read_parquet(out / "customers.parquet")
    assert list(parquet["customer_id"]) == ["A", "B", "C"]
    assert list(parquet["total_spend"]) == [30.0, 12.0, 100.0]
    with open(out / "retention.csv", newline="") as fh:
        retention = list(csv.DictReader(fh))
    assert tuple(retention[0]) == RETENTION_COLUMNS
    # months 2024-01 .. 2024-04, quarters Q1, Q2, one year
    assert [r["period"] for r in retention].count("month") == 4
    assert [r["period"] for r in retention].count("quarter") == 2
    assert [r["period"] for r in retention].count("year") == 1
    with open(out / "cohorts.csv", newline="") as fh:
        cohorts = list(csv.DictReader(fh))
    assert tuple(cohorts[0]) == COHORT_COLUMNS
    # January cohort: A and B (2 customers), 4 months (index 0..3); April cohort: C
    jan = [r for r in cohorts if r["cohort"] == "2024-01"]
    assert [int(r["month_index"]) for r in jan] == [0, 1, 2, 3]
    assert [int(r["active_customers"]) for r in jan] == [2, 1, 1, 0]
    assert float(jan[-1]["cumulative_revenue_per_customer"]) == pytest.approx((30 + 12) / 2)
    with open(out / "rejects.csv", newline="") as fh:
        assert next(csv.reader(fh)) == ["file", "line", "column", "value", "reason", "kind"]
    report = json.loads((out / "ingest.json").read_text())
    assert (report["rows_read"], report["customers"], report["orders"]) == (5, 3, 5)
    # the printed summary: counts and the top customer
    assert "rows read" in result.stdout
    assert "100.00" in result.stdout


def test_end_defaults_to_the_last_order_day(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("analyze", write_file("orders.csv", LOG), "--out", out).exit_code == 0
    report = json.loads((out / "ingest.json").read_text())
    assert report["observation_end"] == "2024-04-05"
    assert report["purchases_after_end"] == 0
    customers = pd.read_csv(out / "customers.csv").set_index("customer_id")
    assert customers.loc["A", "T"] == 86.0  # 2024-01-10 -> 2024-04-05: 21 + 29 + 31 + 5
    assert customers.loc["C", "T"] == 0.0


def test_orders_after_end_are_left_out(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("analyze", write_file("orders.csv", LOG), "--end", "2024-02-29", "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "ingest.json").read_text())
    assert report["observation_end"] == "2024-02-29"
    assert report["purchases_after_end"] == 2  # B's 03-01 and C's 04-05
    customers = pd.read_csv(out / "customers.csv").set_index("customer_id")
    assert sorted(customers.index) == ["A", "B"]
    assert customers.loc["B", "total_spend"] == 5.0
    assert customers.loc["B", "frequency"] == 0
    assert customers.loc["A", "T"] == 50.0  # 01-10 -> 02-29: 21 + 29


def test_calibration_split_in_weeks(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("--calibration-end", "2024-01-31", "--time-unit", "weeks", "--out", out)
    result = cli("analyze", write_file("orders.csv", LOG), *args)
    assert result.exit_code == 0, result.output
    customers = pd.read_csv(out / "customers.csv").set_index("customer_id")
    assert sorted(customers.index) == ["A", "B"]  # C's first purchase is after 01-31
    assert customers.loc["A", "T"] == pytest.approx(21 / 7)  # 01-10 -> 01-31
    assert customers.loc["A", "holdout_frequency"] == 1
    assert customers.loc["A", "holdout_monetary_value"] == 20.0
    report = json.loads((out / "ingest.json").read_text())
    assert report["customers_first_seen_after_calibration"] == 1
    assert report["time_unit"] == "weeks"
