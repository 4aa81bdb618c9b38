"""BG/NBD on the CDNOW sample and against independent numerical checks.

Published estimates: Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2): r = 0.243, alpha = 4.414,
a = 0.793, b = 2.426, LL = -9582.4 (CDNOW 1/10 sample, 39-week calibration, weeks).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from lifevalue.models import BetaGeoModel, ModifiedBetaGeoModel
from lifevalue.models.base import RFTData, numerical_gradient

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


def test_cdnow_matches_published_estimates(fitted: BetaGeoModel) -> None:
    """Fader, Hardie & Lee (2005) "Counting your customers the easy way", CDNOW: within 1%."""
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, rel=0.01), name
    assert fitted.log_likelihood_ == pytest.approx(-9582.4, abs=0.5)
    assert fitted.converged_
    assert fitted.n_customers_ == 2357
    assert fitted.time_unit == "weeks"
    # the lifetimes 0.11.3 optimum, to 4 significant digits
    lifetimes = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    for name, value in lifetimes.items():
        assert fitted.params_[name] == pytest.approx(value, rel=2e-4), name


def test_standard_errors_and_intervals(fitted: BetaGeoModel) -> None:
    se = fitted.standard_errors_
    # published standard errors are not in the paper; these are the Hessian values (lifetimes
    # reports the same to 3 digits: 0.0126, 0.378, 0.186, 0.705)
    assert se["r"] == pytest.approx(0.0126, rel=0.02)
    assert se["alpha"] == pytest.approx(0.378, rel=0.02)
    assert se["a"] == pytest.approx(0.186, rel=0.02)
    assert se["b"] == pytest.approx(0.705, rel=0.02)
    for name, (lo, hi) in fitted.confidence_intervals_.items():
        assert 0 < lo < fitted.params_[name] < hi
    assert fitted.aic_ == pytest.approx(2 * 4 + 2 * 9582.43, abs=1)
    assert fitted.bic_ > fitted.aic_
    assert list(fitted.summary().index) == ["r", "alpha", "a", "b"]


def test_fit_accepts_arrays_collapsed_rows_and_weights(
    cdnow: pd.DataFrame, fitted: BetaGeoModel
) -> None:
    by_arrays = BetaGeoModel().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    grouped = cdnow.groupby(["x", "t_x", "T"]).size().reset_index(name="n")
    by_weights = BetaGeoModel().fit(
        grouped["x"], grouped["t_x"], grouped["T"], weights=grouped["n"]
    )
    for name, value in fitted.params_.items():
        assert by_arrays.params_[name] == pytest.approx(value, rel=1e-6)
        assert by_weights.params_[name] == pytest.approx(value, rel=1e-6)
    assert by_weights.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-9)
    assert by_weights.n_customers_ == 2357


def test_analytic_gradient_matches_finite_differences(cdnow: pd.DataFrame) -> None:
    data = RFTData.build(
        cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    )
    model = BetaGeoModel()
    for z in (np.log([0.3, 5.0, 0.9, 2.0]), np.log([2.0, 0.5, 3.0, 0.2]), np.zeros(4)):
        _, grad = model._objective(z, data)
        num = numerical_gradient(lambda v: model._objective(v, data)[0], z, 1e-6)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_objective_is_the_mean_row_log_likelihood(cls: type[BetaGeoModel]) -> None:
    """On more rows than one chunk of the likelihood loop, with terms of T summed per distinct
    T: the objective equals the row-wise log-likelihood, and its gradient finite differences."""
    model = cls()
    sim = cls.from_params(r=0.5, alpha=30.0, a=0.8, b=2.5).simulate(
        np.random.default_rng(0).integers(1, 400, 90_000).astype(float), seed=1
    )
    x, tx, T = (sim[c].to_numpy() for c in ("frequency", "recency", "T"))
    data = RFTData.build(x, np.floor(tx), T)
    assert data.x.shape[0] > 32_768  # more than one chunk
    for z in (np.log([0.5, 30.0, 0.8, 2.5]), np.log([2.0, 0.5, 3.0, 0.2])):
        f, grad = model._objective(z, data)
        rows = model._loglik_rows(np.exp(z), data.x, data.tx, data.T)
        assert f == pytest.approx(-float(np.dot(data.w, rows)) / data.n_customers, rel=1e-13)
        num = numerical_gradient(lambda v: model._objective(v, data)[0], z, 1e-5)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)  # differences' rounding


def _posterior_moments(
    params: dict[str, float], x: float, tx: float, T: float, t: float
) -> tuple[float, float]:
    """P(alive) and E[X(t)] by numerical integration over the latent (lambda, p).

    Independent of the closed forms: the individual-level likelihood
    (1-p)^x λ^x e^{-λT} + δ(x>0) p (1-p)^(x-1) λ^x e^{-λ t_x} is weighted by the Gamma and Beta
    priors and integrated with scipy.integrate.quad (λ inner, p outer).
    """
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    lam_scale = (r + x) / (alpha + tx)  # where the λ mass is

    def log_prior(lam: float, p: float) -> float:
        return (
            r * math.log(alpha)
            + (r - 1) * math.log(lam)
            - alpha * lam
            - math.lgamma(r)
            + (a - 1) * math.log(p)
            + (b - 1) * math.log1p(-p)
            - special.betaln(a, b)
        )

    def alive(lam: float, p: float) -> float:
        return math.exp(log_prior(lam, p) + x * math.log1p(-p) + x * math.log(lam) - lam * T)

    def dead(lam: float, p: float) -> float:
        if x == 0:
            return 0.0
        return math.exp(
            log_prior(lam, p)
            + math.log(p)
            + (x - 1) * math.log1p(-p)
            + x * math.log(lam)
            - lam * tx
        )

    def future(lam: float, p: float) -> float:
        return -math.expm1(-lam * p * t) / p

    def integrate2(f: object) -> float:
        def inner(p: float) -> float:
            upper = 50 * lam_scale + 50 / (alpha + tx)
            val, _ = integrate.quad(
                lambda lam: f(lam, p),
                0,
                upper,
                epsabs=0,
                epsrel=1e-10,
                limit=200,
            )
            return val

        val, _ = integrate.quad(inner, 0, 1, epsabs=0, epsrel=1e-10, limit=200)
        return val

    a_int = integrate2(alive)
    d_int = integrate2(dead)
    e_int = integrate2(lambda lam, p: alive(lam, p) * future(lam, p))
    return a_int / (a_int + d_int), e_int / (a_int + d_int)


def _moments_over_p(
    params: dict[str, float], x: float, tx: float, T: float, t: float
) -> tuple[float, float]:
    """As :func:`_posterior_moments` with λ integrated out by the Gamma integral
    ∫ Gamma(λ; r, α) λ^x e^{-λc} dλ = Γ(r+x) α^r / (Γ(r) (α+c)^(r+x)), and p by quadrature."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]

    def log_gamma_part(c: float) -> float:
        return (
            math.lgamma(r + x)
            - math.lgamma(r)
            + r * math.log(alpha)
            - (r + x) * math.log(alpha + c)
        )

    def prior(p: float) -> float:
        return math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - special.betaln(a, b))

    def alive(p: float) -> float:
        return prior(p) * (1 - p) ** x * math.exp(log_gamma_part(T))

    def dead(p: float) -> float:
        if x == 0:
            return 0.0
        return prior(p) * p * (1 - p) ** (x - 1) * math.exp(log_gamma_part(tx))

    def future(p: float) -> float:
        # E over λ of (1/p)(1 - e^{-λ p t}) λ^x e^{-λT}, relative to the alive term
        ratio = math.exp((r + x) * (math.log(alpha + T) - math.log(alpha + T + p * t)))
        return alive(p) * (1 - ratio) / p

    def q(f: object) -> float:
        val, _ = integrate.quad(f, 0, 1, epsabs=0, epsrel=1e-10, limit=500)
        return float(val)

    a_int, d_int, e_int = q(alive), q(dead), q(future)
    return a_int / (a_int + d_int), e_int / (a_int + d_int)


@pytest.mark.parametrize("row", [0, 1, 2, 10, 157, 1516])
def test_predictions_match_integration_over_p(
    fitted: BetaGeoModel, cdnow: pd.DataFrame, row: int
) -> None:
    x, tx, T = (float(cdnow.loc[row, c]) for c in ("x", "t_x", "T"))
    for t in (1.0, 39.0, 200.0):
        p_alive, expected = _moments_over_p(fitted.params_, x, tx, T, t)
        assert fitted.probability_alive(x, tx, T)[0] == pytest.approx(p_alive, rel=1e-6)
        assert fitted.expected_purchases(t, x, tx, T)[0] == pytest.approx(expected, rel=1e-6)


def test_high_frequency_customer_against_double_integral(fitted: BetaGeoModel) -> None:
    x, tx, T = 25.0, 30.0, 38.0
    p_alive, expected = _posterior_moments(fitted.params_, x, tx, T, 52.0)
    assert fitted.probability_alive(x, tx, T)[0] == pytest.approx(p_alive, rel=1e-6)
    assert fitted.expected_purchases(52.0, x, tx, T)[0] == pytest.approx(expected, rel=1e-6)


def test_predictive_distribution_is_consistent(fitted: BetaGeoModel, cdnow: pd.DataFrame) -> None:
    probs = fitted.purchase_probabilities(39, cdnow, max_purchases=200)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    mean = probs @ np.arange(201)
    np.testing.assert_allclose(mean, fitted.expected_purchases(39, cdnow), rtol=1e-8, atol=1e-12)
    p_any = fitted.probability_purchase(39, cdnow)
    np.testing.assert_allclose(p_any, 1 - probs[:, 0], atol=1e-12)
    lo, hi = fitted.purchases_interval(39, cdnow, level=0.9)
    cdf = np.cumsum(probs, axis=1)
    rows = np.arange(len(cdnow))
    assert np.all(cdf[rows, hi.astype(int)] >= 0.95 - 1e-9)
    assert np.all((hi == 0) | (cdf[rows, np.maximum(hi.astype(int) - 1, 0)] < 0.95))
    assert np.all(lo <= hi)


def test_holdout_total_close_to_published(fitted: BetaGeoModel, cdnow: pd.DataFrame) -> None:
    """FHL (2005) and lifetimes predict about 1,653 purchases in the 39-week holdout
    (1,882 observed): the sum of expected purchases over the 39 weeks after calibration."""
    total = fitted.expected_purchases(39, cdnow).sum()
    assert total == pytest.approx(1653, rel=0.01)


def test_new_customer_expectation_matches_population_integral(fitted: BetaGeoModel) -> None:
    # E[X(t)] of a new customer = expected purchases of an x = 0, T = 0 customer
    t = np.array([1.0, 10.0, 52.0])
    new = fitted.expected_purchases_new_customer(t)
    as_zero = fitted.expected_purchases(t, np.zeros(3), np.zeros(3), np.zeros(3))
    np.testing.assert_allclose(new, as_zero, rtol=1e-12)
    assert np.all(np.diff(new) > 0)


def test_predict_dataframe(fitted: BetaGeoModel, cdnow_summary: pd.DataFrame) -> None:
    out = fitted.predict(cdnow_summary.head(50), t=39)
    assert list(out.columns) == [
        "predicted_purchases",
        "probability_alive",
        "probability_purchase",
        "predicted_purchases_low",
        "predicted_purchases_high",
    ]
    assert out.index.equals(cdnow_summary.head(50).index)
    assert out.notna().all().all()


def test_interval_of_heavy_buyer_same_alone_and_in_a_crowd(fitted: BetaGeoModel) -> None:
    x = np.r_[np.zeros(5000), 500.0]
    tx = np.r_[np.zeros(5000), 38.99]
    T = np.full(5001, 39.0)
    lo, hi = fitted.purchases_interval(52, x, tx, T)
    lo1, hi1 = fitted.purchases_interval(52, x[-1:], tx[-1:], T[-1:])
    assert (lo[-1], hi[-1]) == (lo1[0], hi1[0])
    assert lo1[0] > 10 and hi1[0] > fitted.expected_purchases(52, 500.0, 38.99, 39.0)[0]
