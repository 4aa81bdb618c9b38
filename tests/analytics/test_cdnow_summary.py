"""`lifevalue analyze` on the CDNOW sample reproduces the published calibration summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lifevalue.analytics.orders import MONEY_DECIMALS
from lifevalue.datasets import cdnow_sample_path, load_cdnow_summary


@pytest.fixture(scope="module")
def cdnow_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the CLI once for the module; return the output folder."""
    out = tmp_path_factory.mktemp("cdnow")
    from typer.testing import CliRunner

    from lifevalue.cli import app

    result = CliRunner().invoke(
        app,
        [
            "analyze",
            str(cdnow_sample_path()),
            "--preset",
            "cdnow",
            "--calibration-end",
            "1997-09-30",
            "--time-unit",
            "weeks",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def merged(cdnow_run: Path) -> pd.DataFrame:
    ours = pd.read_csv(cdnow_run / "customers.csv", dtype={"customer_id": str})
    ours["ID"] = ours["customer_id"].astype(int)
    published = load_cdnow_summary(with_transactions=True)
    return published.merge(ours, on="ID", how="outer", suffixes=("_pub", ""), indicator=True)


def test_every_customer_of_the_sample_is_in_the_summary(merged: pd.DataFrame) -> None:
    assert len(merged) == 2357
    assert (merged["_merge"] == "both").all()


@pytest.mark.parametrize("column", ["frequency", "recency", "T"])
def test_frequency_recency_T_match_the_published_summary(merged: pd.DataFrame, column: str) -> None:
    # the published file rounds weeks (days / 7) to 2 decimals
    ours = merged[column].round(2)
    published = merged[f"{column}_pub"]
    mismatched = merged.loc[(ours - published).abs() > 1e-9, ["ID", column, f"{column}_pub"]]
    assert mismatched.empty, mismatched.head(10).to_string()


def test_published_totals(merged: pd.DataFrame) -> None:
    # CDNOW README: 2,457 repeat purchase days in calibration; 946 customers with x > 0
    assert merged["frequency"].sum() == 2457
    assert (merged["frequency"] > 0).sum() == 946
    # T runs to 1997-09-30 for everybody: first purchases 1997-01-01 .. 1997-03-25
    assert merged["T"].max() == pytest.approx(272 / 7)  # 01-01 -> 09-30 = 272 days
    assert merged["T"].min() == pytest.approx(189 / 7)  # 03-25 -> 09-30 = 189 days


def _cents(value: float) -> Decimal:
    """Round to cents, halves up (as the published file does: 22.345 -> 22.35)."""
    return Decimal(f"{value:.6f}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_monetary_value_matches_zbar(merged: pd.DataFrame) -> None:
    ours = merged["monetary_value"].map(_cents)
    published = merged["zbar"].map(_cents)
    bad = merged.loc[ours != published, ["ID", "monetary_value", "zbar"]]
    assert bad.empty, bad.head(10).to_string()
    assert (merged["monetary_value"] > 0).sum() == 946


def test_holdout_counts(merged: pd.DataFrame, cdnow_run: Path) -> None:
    # CDNOW README: 1,882 purchase days in the holdout period (1997-10-01 .. 1998-06-30)
    assert merged["holdout_frequency"].sum() == 1882
    report: dict[str, Any] = json.loads((cdnow_run / "ingest.json").read_text())
    assert report["rows_read"] == 6919
    assert report["rows_accepted"] == 6919
    assert report["customers_in_summary"] == 2357
    assert report["customers_first_seen_after_calibration"] == 0
    assert report["calibration_end"] == "1997-09-30"
    assert report["observation_end"] == "1998-06-30"
    assert report["time_unit"] == "weeks"
    assert report["currency"] == "USD"


def test_holdout_matches_a_plain_count_of_the_file(merged: pd.DataFrame) -> None:
    """holdout_frequency and holdout_monetary_value recounted from the raw text file."""
    days: dict[tuple[int, str], float] = {}
    for line in cdnow_sample_path().read_text().splitlines():
        _master, cid, day, _cds, dollars = line.split()
        if day > "19970930":
            key = (int(cid), day)
            days[key] = days.get(key, 0.0) + float(dollars)
    count: dict[int, int] = {}
    spend: dict[int, float] = {}
    for (cid, _day), dollars in days.items():
        count[cid] = count.get(cid, 0) + 1
        spend[cid] = spend.get(cid, 0.0) + dollars
    assert len(days) == 1882
    by_id = merged.set_index("ID")
    for cid in by_id.index:
        n = count.get(cid, 0)
        assert by_id.at[cid, "holdout_frequency"] == n, cid
        expected = spend[cid] / n if n else 0.0
        # money figures are written to MONEY_DECIMALS places: within half a unit of the last
        assert by_id.at[cid, "holdout_monetary_value"] == pytest.approx(
            expected, abs=0.5 * 10.0**-MONEY_DECIMALS + 1e-12
        ), cid


def test_cdnow_through_the_console_script_entry(cli: Callable[..., Any], tmp_path: Path) -> None:
    """Same run through main() in days: T of customer 0001 = 1997-01-01 -> 1997-09-30."""
    result = cli(
        "analyze",
        cdnow_sample_path(),
        "--preset",
        "cdnow",
        "--calibration-end",
        "1997-09-30",
        "--out",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "customers.csv", dtype={"customer_id": str})
    first = frame.set_index("customer_id").loc["0001"]
    assert first["T"] == 272.0
    assert first["frequency"] == 2
