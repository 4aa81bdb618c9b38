"""Discounted CLV: units, discounting and agreement with a step-by-step computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lifevalue.errors import ConfigError
from lifevalue.models import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
    per_step_discount_rate,
)


@pytest.fixture(scope="module")
def models(cdnow: pd.DataFrame) -> tuple[BetaGeoModel, GammaGammaModel]:
    return BetaGeoModel().fit(cdnow), GammaGammaModel().fit(cdnow["x"], cdnow["zbar"])


def test_per_step_rate() -> None:
    assert per_step_discount_rate(0.1, 1, "weeks") == pytest.approx(1.1 ** (7 / 365.25) - 1)
    assert per_step_discount_rate(0.1, 12, "months") == pytest.approx(0.1)
    assert per_step_discount_rate(0.1, 365.25, "days") == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="unknown time unit"):
        per_step_discount_rate(0.1, 1, "fortnights")


def test_matches_step_by_step_sum(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow: pd.DataFrame
) -> None:
    bg, gg = models
    x, tx, T, m = (cdnow[c].to_numpy(float) for c in ("x", "t_x", "T", "zbar"))
    clv = customer_lifetime_value(
        bg, gg, x, tx, T, m, horizon=52, discount_rate=0.12, time_unit="weeks", margin=0.3
    )
    spend = gg.expected_spend(x, m)
    weekly = per_step_discount_rate(0.12, 1, "weeks")
    manual = np.zeros_like(x)
    for k in range(1, 53):
        step = bg.expected_purchases(k, x, tx, T) - bg.expected_purchases(k - 1, x, tx, T)
        manual += step * spend * 0.3 / (1 + weekly) ** k
    np.testing.assert_allclose(clv, manual, rtol=1e-10)
    assert np.all(clv >= 0)


def test_no_discount_single_step_is_expected_revenue(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow_summary: pd.DataFrame
) -> None:
    bg, gg = models
    clv = customer_lifetime_value(bg, gg, cdnow_summary, horizon=39, discount_rate=0.0, step=39)
    expected = bg.expected_purchases(39, cdnow_summary) * gg.expected_spend(cdnow_summary)
    np.testing.assert_allclose(clv, expected, rtol=1e-12)
    # partial last step: horizon 10 in steps of 4 -> steps end at 4, 8, 10
    a = customer_lifetime_value(bg, gg, cdnow_summary, horizon=10, discount_rate=0.0, step=4)
    b = bg.expected_purchases(10, cdnow_summary) * gg.expected_spend(cdnow_summary)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_monotone_in_horizon_and_rate(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow_summary: pd.DataFrame
) -> None:
    bg, gg = models
    df = cdnow_summary.head(200)
    short = customer_lifetime_value(bg, gg, df, horizon=26, discount_rate=0.1)
    long = customer_lifetime_value(bg, gg, df, horizon=52, discount_rate=0.1)
    steep = customer_lifetime_value(bg, gg, df, horizon=52, discount_rate=0.5)
    assert np.all(long >= short) and np.all(steep <= long)
    # without a spend model the monetary value is used as is
    raw = customer_lifetime_value(bg, None, df, horizon=52, discount_rate=0.1)
    np.testing.assert_allclose(
        raw, long / gg.expected_spend(df) * df["monetary_value"].to_numpy(), rtol=1e-10
    )


def test_pareto_purchase_model(cdnow_summary: pd.DataFrame) -> None:
    pnbd = ParetoNBDModel().fit(cdnow_summary)
    gg = GammaGammaModel().fit(cdnow_summary)
    clv = customer_lifetime_value(pnbd, gg, cdnow_summary, horizon=52, discount_rate=0.1)
    assert np.all(np.isfinite(clv)) and np.all(clv >= 0)


def test_time_unit_errors(
    models: tuple[BetaGeoModel, GammaGammaModel], cdnow: pd.DataFrame
) -> None:
    bg, gg = models
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"])
    with pytest.raises(ConfigError, match="disagrees"):
        customer_lifetime_value(bg, gg, *args, horizon=52, discount_rate=0.1, time_unit="days")
    unitless = BetaGeoModel.from_params(**bg.params_)
    with pytest.raises(ConfigError, match="time_unit is unknown"):
        customer_lifetime_value(unitless, gg, *args, horizon=52, discount_rate=0.1)
    with pytest.raises(ConfigError, match="horizon"):
        customer_lifetime_value(bg, gg, *args, discount_rate=0.1)
