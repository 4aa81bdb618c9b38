"""Gamma-Gamma spend model on CDNOW.

Published estimates: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
base analysis", JMR 42(4) (and Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"):
p = 6.25, q = 3.74, gamma = 15.44 on the mean spend z̄ of the 946 repeat customers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from lifevalue.errors import InsufficientDataError
from lifevalue.models import GammaGammaModel
from lifevalue.models.base import numerical_gradient

PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow["x"], cdnow["zbar"])


def test_cdnow_matches_published_estimates(fitted: GammaGammaModel) -> None:
    """Fader, Hardie & Lee (2005) "RFM and CLV", CDNOW repeat buyers: within 1%."""
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, rel=0.01), name
    lifetimes = {"p": 6.2488, "q": 3.7446, "gamma": 15.4477}
    for name, value in lifetimes.items():
        assert fitted.params_[name] == pytest.approx(value, rel=2e-4), name
    assert fitted.n_customers_ == 946
    assert fitted.n_excluded_ == {"non_repeat": 1411, "zero_spend": 0, "negative_spend": 0}
    assert fitted.converged_


def test_dataframe_input(cdnow_summary: pd.DataFrame, fitted: GammaGammaModel) -> None:
    other = GammaGammaModel().fit(cdnow_summary)
    assert other.params_ == pytest.approx(fitted.params_, rel=1e-8)


def test_gradient_matches_finite_differences(cdnow: pd.DataFrame) -> None:
    rep = cdnow[cdnow["x"] > 0]
    data = (rep["x"].to_numpy(float), rep["zbar"].to_numpy(float), np.ones(len(rep)))
    model = GammaGammaModel()
    for z in (np.log([6.0, 3.7, 15.0]), np.log([1.0, 10.0, 2.0])):
        f, grad = model._objective(z, data)
        num = numerical_gradient(lambda v: model._objective(v, data)[0], z, 1e-6)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-10)
        # the objective (terms of the frequency once per distinct frequency) is the mean of the
        # row-wise log-likelihood
        rows = model._loglik_rows(np.exp(z), data[0], data[1])
        assert f == pytest.approx(-float(np.mean(rows)), rel=1e-13)


def test_excluded_customers_are_counted_not_fatal(cdnow: pd.DataFrame) -> None:
    x = cdnow["x"].to_numpy(float).copy()
    m = cdnow["zbar"].to_numpy(float).copy()
    rep = np.flatnonzero(x > 0)
    m[rep[:5]] = 0.0
    m[rep[5:8]] = -12.5
    model = GammaGammaModel().fit(x, m)
    assert model.n_excluded_ == {"non_repeat": 1411, "zero_spend": 5, "negative_spend": 3}
    assert model.n_customers_ == 946 - 8
    spend = model.expected_spend(x, m)
    assert np.all(np.isfinite(spend)) and np.all(spend > 0)


def _conditional_mean(params: dict[str, float], x: float, zbar: float) -> float:
    """E[spend per purchase | x, z̄] = p E[1/ν | data] by integrating over the posterior of ν.

    Posterior of ν ∝ Gamma(ν; q, γ) × density of z̄ ~ Gamma(p x, rate ν x) at z̄."""
    p, q, g = params["p"], params["q"], params["gamma"]
    mode = (p * x + q - 1) / (g + x * zbar)

    def log_post(nu: float) -> float:
        return (q - 1) * math.log(nu) - g * nu + p * x * math.log(nu) - nu * x * zbar

    shift = log_post(mode)
    num = integrate.quad(
        lambda nu: p / nu * math.exp(log_post(nu) - shift), 0, 60 * mode, epsabs=0, epsrel=1e-12
    )[0]
    den = integrate.quad(
        lambda nu: math.exp(log_post(nu) - shift), 0, 60 * mode, epsabs=0, epsrel=1e-12
    )[0]
    return float(num / den)


def test_expected_spend_matches_integration(fitted: GammaGammaModel, cdnow: pd.DataFrame) -> None:
    rep = cdnow[cdnow["x"] > 0]
    rows = [*rep.index[:4], rep["x"].idxmax(), rep["zbar"].idxmax(), rep["zbar"].idxmin()]
    for row in rows:
        x, zbar = float(cdnow.loc[row, "x"]), float(cdnow.loc[row, "zbar"])
        expected = _conditional_mean(fitted.params_, x, zbar)
        assert fitted.expected_spend(x, zbar)[0] == pytest.approx(expected, rel=1e-6)


def test_population_mean_for_one_time_buyers(fitted: GammaGammaModel) -> None:
    p, q, g = fitted.params_["p"], fitted.params_["q"], fitted.params_["gamma"]
    assert fitted.expected_spend_new_customer() == pytest.approx(p * g / (q - 1))
    assert fitted.expected_spend(0, 0)[0] == pytest.approx(p * g / (q - 1))
    assert list(fitted.predict(pd.DataFrame({"frequency": [0, 3], "monetary_value": [0, 20.0]})))


def test_too_few_repeat_buyers_is_insufficient_data() -> None:
    with pytest.raises(InsufficientDataError, match="historical CLV"):
        GammaGammaModel().fit([0, 0, 1, 0], [0, 0, 10.0, 0])
