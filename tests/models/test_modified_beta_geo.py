"""MBG/NBD (Batislam, Denizel & Filiztekin 2007) on CDNOW and against numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from lifevalue.models import BetaGeoModel, ModifiedBetaGeoModel
from lifevalue.models.base import RFTData, numerical_gradient


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel().fit(cdnow)


def test_cdnow_fit(fitted: ModifiedBetaGeoModel) -> None:
    # no published MBG/NBD estimates on this sample; the fit must be at least as good as the
    # BG/NBD (LL -9582.4) and is close to it
    assert fitted.converged_
    assert -9583.0 < fitted.log_likelihood_ < -9581.5
    p = fitted.params_
    assert p["r"] == pytest.approx(0.5248, rel=1e-3)
    assert p["alpha"] == pytest.approx(6.183, rel=1e-3)
    assert p["a"] == pytest.approx(0.8914, rel=1e-3)
    assert p["b"] == pytest.approx(1.614, rel=1e-3)


def test_one_time_buyers_may_be_dead(fitted: ModifiedBetaGeoModel, cdnow: pd.DataFrame) -> None:
    pa = fitted.probability_alive(cdnow)
    assert np.all(pa[cdnow["x"] == 0] < 1)
    bg = BetaGeoModel().fit(cdnow)
    assert np.all(bg.probability_alive(cdnow)[cdnow["x"] == 0] == 1)


def test_gradient_matches_finite_differences(cdnow: pd.DataFrame) -> None:
    data = RFTData.build(
        cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    )
    model = ModifiedBetaGeoModel()
    for z in (np.log([0.5, 6.0, 0.9, 1.6]), np.log([2.0, 0.5, 3.0, 0.2])):
        _, grad = model._objective(z, data)
        num = numerical_gradient(lambda v: model._objective(v, data)[0], z, 1e-6)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def _moments(
    params: dict[str, float], x: float, tx: float, T: float, t: float
) -> tuple[float, float]:
    """P(alive), E[X(t)] integrating λ by the Gamma integral and p by quadrature.

    Individual likelihood: alive (1-p)^(x+1) λ^x e^{-λT}; dropped out after the last purchase
    (also right after the first one): p (1-p)^x λ^x e^{-λ t_x}."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]

    def lg(c: float) -> float:
        return (
            math.lgamma(r + x)
            - math.lgamma(r)
            + r * math.log(alpha)
            - (r + x) * math.log(alpha + c)
        )

    def prior(p: float) -> float:
        return math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - special.betaln(a, b))

    def alive(p: float) -> float:
        return prior(p) * (1 - p) ** (x + 1) * math.exp(lg(T))

    def dead(p: float) -> float:
        return prior(p) * p * (1 - p) ** x * math.exp(lg(tx))

    def future(p: float) -> float:
        ratio = math.exp((r + x) * (math.log(alpha + T) - math.log(alpha + T + p * t)))
        return alive(p) * (1 - ratio) / p

    def q(f: object) -> float:
        return float(integrate.quad(f, 0, 1, epsabs=0, epsrel=1e-10, limit=500)[0])  # type: ignore[call-overload]

    a_int, d_int, e_int = q(alive), q(dead), q(future)
    return a_int / (a_int + d_int), e_int / (a_int + d_int)


@pytest.mark.parametrize("row", [0, 1, 2, 157, 1516])
def test_predictions_match_integration(
    fitted: ModifiedBetaGeoModel, cdnow: pd.DataFrame, row: int
) -> None:
    x, tx, T = (float(cdnow.loc[row, c]) for c in ("x", "t_x", "T"))
    for t in (5.0, 39.0):
        pa, ex = _moments(fitted.params_, x, tx, T, t)
        assert fitted.probability_alive(x, tx, T)[0] == pytest.approx(pa, rel=1e-6)
        assert fitted.expected_purchases(t, x, tx, T)[0] == pytest.approx(ex, rel=1e-6)


def test_new_customer_and_distribution(fitted: ModifiedBetaGeoModel, cdnow: pd.DataFrame) -> None:
    t = np.array([1.0, 39.0])
    new = fitted.expected_purchases_new_customer(t)
    # a new customer is a one-time buyer observed for T = 0 (P(alive) = 1/(1 + a/b) there)
    np.testing.assert_allclose(new, fitted.expected_purchases(t, 0.0, 0.0, 0.0), rtol=1e-12)
    probs = fitted.purchase_probabilities(39, cdnow.head(300), max_purchases=200)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(
        probs @ np.arange(201), fitted.expected_purchases(39, cdnow.head(300)), rtol=1e-8
    )
