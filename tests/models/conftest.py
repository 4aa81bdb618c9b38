"""Fixtures of the model tests: the CDNOW calibration summary (a copy kept in tests/models/data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def cdnow() -> pd.DataFrame:
    """CDNOW 1/10 sample, 39-week calibration: columns x, t_x, T (weeks), zbar (US dollars).

    Copied byte for byte from the file distributed with lifetimes 0.11.3 (2,357 customers).
    """
    df = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    df.attrs["time_unit"] = "weeks"
    return df


@pytest.fixture(scope="session")
def cdnow_summary(cdnow: pd.DataFrame) -> pd.DataFrame:
    """The same data with the column names of lifevalue's customer summary."""
    out = cdnow.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"}).drop(
        columns=["ID"]
    )
    out.attrs["time_unit"] = "weeks"
    return out
