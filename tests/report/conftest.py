"""Fixtures for the report tests: the CDNOW sample through the real pipeline, a stand-in model."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifevalue.datasets import cdnow_sample_path
from lifevalue.io.reader import ReadOptions
from lifevalue.pipeline import AnalysisOptions, run_analysis
from lifevalue.segments import add_segments

from .stand_in import CDNOW_PARAMS, CDNOW_STANDARD_ERRORS, StandInBetaGeo

DATA = Path(__file__).parent / "data"
CALIBRATION_END = dt.date(1997, 9, 30)
OBSERVATION_END = dt.date(1998, 6, 30)


@dataclass
class Tables:
    """Inputs of the report for the CDNOW sample (weeks, 39-week calibration split)."""

    customers: pd.DataFrame
    retention: pd.DataFrame
    cohorts: pd.DataFrame
    purchases: pd.DataFrame
    model: dict[str, Any]
    pairs: pd.DataFrame
    purchase_model: StandInBetaGeo


def model_json() -> dict[str, Any]:
    """A model.json dict as in docs/contract.md, with the published CDNOW estimates."""
    return {
        "purchase_model": {
            "model": "bgnbd",
            "params": dict(CDNOW_PARAMS),
            "log_likelihood": -9582.4,
            "standard_errors": dict(CDNOW_STANDARD_ERRORS),
            "n_customers": 2357,
        },
        "spend_model": {"model": "gamma_gamma", "params": {"p": 6.25, "q": 3.74, "gamma": 15.44}},
        "time_unit": "weeks",
        "scorecard": [
            {"model": "bgnbd", "log_likelihood": -9582.4, "aic": 19172.8},
            {"model": "pnbd", "log_likelihood": -9595.0, "aic": 19198.0},
        ],
        "version": 1,
    }


@pytest.fixture(scope="session")
def cdnow() -> Tables:
    """Run the analysis pipeline once on the CDNOW sample and add stand-in predictions."""
    result = run_analysis(
        [cdnow_sample_path()],
        ReadOptions(preset="cdnow"),
        AnalysisOptions(calibration_end=CALIBRATION_END, time_unit="weeks"),
    )
    con = result.con
    customers = con.execute("SELECT * FROM customers ORDER BY customer_id").df()
    retention = con.execute("SELECT * FROM retention").df()
    cohorts = con.execute("SELECT * FROM cohorts").df()
    purchases = con.execute("SELECT customer_id, local_date FROM purchases").df()
    model = StandInBetaGeo(**CDNOW_PARAMS)
    f, r, t = (customers[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    customers["probability_alive"] = model.probability_alive(f, r, t)
    customers["predicted_purchases"] = model.expected_purchases(52, f, r, t)
    customers["predicted_spend"] = np.where(
        customers["monetary_value"] > 0, customers["monetary_value"], 35.0
    )
    customers["predicted_clv"] = customers["predicted_purchases"] * customers["predicted_spend"]
    customers = add_segments(customers)
    return Tables(
        customers=customers,
        retention=retention,
        cohorts=cohorts,
        purchases=purchases,
        model=model_json(),
        pairs=pd.read_csv(DATA / "pairs.csv"),
        purchase_model=model,
    )


@pytest.fixture(scope="session")
def full_report_kwargs(cdnow: Tables) -> dict[str, Any]:
    """Every input of ``build_report`` for the CDNOW sample."""
    return {
        "customers": cdnow.customers,
        "retention": cdnow.retention,
        "cohorts": cdnow.cohorts,
        "model": cdnow.model,
        "pairs": cdnow.pairs,
        "orders": cdnow.purchases,
        "purchase_model": cdnow.purchase_model,
        "calibration_end": CALIBRATION_END,
        "observation_end": OBSERVATION_END,
        "currency": "USD",
        "title": "CDNOW <sample> report",
        "generated_at": dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC),
    }
