"""Pareto/NBD on the CDNOW sample and against numerical integration over (λ, μ).

Published estimates: Fader, Hardie & Lee (2005), "'Counting your customers' the easy way", Table 1
(and "RFM and CLV", JMR 2005): r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669, LL = -9595.0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from lifevalue.models import ParetoNBDModel
from lifevalue.models.base import RFTData
from lifevalue.models.pareto_nbd import _grid_integrals, _long_pieces

PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow)


def test_cdnow_matches_published_estimates(fitted: ParetoNBDModel) -> None:
    """Fader, Hardie & Lee (2005) Pareto/NBD on CDNOW: parameters within 1%, LL within 0.5."""
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, rel=0.01), name
    assert fitted.log_likelihood_ == pytest.approx(-9595.0, abs=0.5)
    assert fitted.converged_
    lifetimes = {"r": 0.5533, "alpha": 10.5777, "s": 0.6062, "beta": 11.6669}
    for name, value in lifetimes.items():
        assert fitted.params_[name] == pytest.approx(value, rel=3e-4), name
    se = fitted.standard_errors_
    assert all(0 < v < fitted.params_[k] for k, v in se.items())


def test_pair_deduplication_matches_rowwise(fitted: ParetoNBDModel, cdnow: pd.DataFrame) -> None:
    data = RFTData.build(
        cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)
    )
    z = np.log(list(fitted.params_.values()))
    mean_ll = -fitted._objective_value(z, data)
    rows = fitted._loglik_rows(np.exp(z), data.x, data.tx, data.T)
    assert mean_ll * data.n_customers == pytest.approx(float(np.dot(data.w, rows)), rel=1e-12)
    assert mean_ll * data.n_customers == pytest.approx(fitted.log_likelihood_, rel=1e-9)


def _richardson_gradient(f: Callable[[np.ndarray], float], z: np.ndarray) -> np.ndarray:
    """Central differences with one Richardson step (error ~h^4): a reference gradient."""
    h = 1e-3
    g = np.empty_like(z)
    for j in range(z.shape[0]):
        e = np.zeros_like(z)
        e[j] = h
        d1 = (f(z + e) - f(z - e)) / (2 * h)
        d2 = (f(z + 2 * e) - f(z - 2 * e)) / (4 * h)
        g[j] = (4 * d1 - d2) / 3
    return g


@pytest.mark.parametrize(
    "theta",
    [
        (0.553, 10.578, 0.606, 11.669),
        (1.5, 1000.0, 4.0, 20.0),  # alpha > beta
        (0.3, 5.0, 0.2, 5000.0),
        (3.0, 50.0, 0.1, 0.5),
    ],
)
def test_analytic_gradient_matches_finite_differences(
    cdnow: pd.DataFrame, theta: tuple[float, ...]
) -> None:
    """The quadrature likelihood equals the closed form (2F1) and its analytic gradient equals
    a Richardson-extrapolated central difference of it."""
    model = ParetoNBDModel()
    data = RFTData.build(*(cdnow[c].to_numpy(float) for c in ("x", "t_x", "T")))
    z = np.log(np.array(theta))
    f, grad = model._objective(z, data)
    rows = model._loglik_rows(np.exp(z), data.x, data.tx, data.T)
    assert f == pytest.approx(-float(np.dot(data.w, rows)) / data.n_customers, rel=1e-13)
    num = _richardson_gradient(lambda v: model._objective_value(v, data), z)
    np.testing.assert_allclose(grad, num, rtol=1e-7, atol=1e-10)


def test_likelihood_on_extreme_customers_matches_the_closed_form() -> None:
    """Hundreds of purchases, T from 0.001 to 10,000, recency = T, tiny and huge parameters:
    integrals falling by far more than the floating-point range are summed block by block (the
    cross-block path is exercised), and value and gradient stay exact."""
    rng = np.random.default_rng(7)
    crossed = 0
    for _ in range(60):
        n = 30
        T = np.where(rng.random(n) < 0.3, rng.choice([1e-3, 1e4], n), rng.uniform(1e-3, 2000, n))
        heavy = rng.random(n) < 0.3
        x = np.where(heavy, rng.integers(100, 600, n), rng.integers(0, 30, n)).astype(float)
        tx = np.where(x == 0, 0.0, T * np.where(rng.random(n) < 0.3, 1.0, rng.random(n)))
        theta = np.exp(rng.uniform(np.log(0.02), np.log(50.0), 4))
        model = ParetoNBDModel()
        data = RFTData.build(x, tx, T)
        z = np.log(theta)
        f, grad = model._objective(z, data)
        ref = -float(np.dot(data.w, model._loglik_rows(theta, data.x, data.tx, data.T)))
        assert f == pytest.approx(ref / data.n_customers, rel=1e-12)
        num = _richardson_gradient(lambda v: model._objective_value(v, data), z)  # noqa: B023
        scale = 1e-3 * max(1.0, abs(f))
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=scale * 1e-2)
        grid = model._grid(data)
        with np.errstate(all="ignore"):
            v = np.log(min(theta[1], theta[3]) + grid.tau)
            q = np.log1p(abs(theta[3] - theta[1]) * np.exp(-v))
            ints = _grid_integrals(theta, grid, v, q, grad=False)
        crossed += int(np.any(ints.block[grid.k_tx] != ints.block[grid.k_T]))
    assert crossed > 10


@pytest.mark.parametrize(
    "theta",
    [
        # s and beta running off together (nobody seems to leave): where a fit on a small
        # slice of Online Retail II went, whose quadrature once asked for 8.6 GiB of nodes
        (2.13, 315.8, 4.85e8, 4.85e8),
        (2.13, 315.8, 4.85e8, 4.9e8),
        (0.3, 5.0, 1e7, 2e7),
        (0.8, 1.0, 1e8, 3e8),
        (5e6, 1e7, 0.5, 3.0),  # r and alpha huge, alpha > beta
    ],
)
def test_parameters_off_on_a_ridge_are_evaluated(
    cdnow: pd.DataFrame, theta: tuple[float, ...]
) -> None:
    """With parameters in the hundreds of millions the quadrature still splits its long pieces
    into a few sub-pieces (where the integrand changes), not by the global slope bound, and the
    value agrees with the closed form. Not to rounding there: the log-integrand is then the
    difference of two terms of some 1e9, which leaves about 1e-6 of it (relative)."""
    model = ParetoNBDModel()
    data = RFTData.build(*(cdnow[c].to_numpy(float) for c in ("x", "t_x", "T")))
    th = np.array(theta)
    f, grad = model._objective(np.log(th), data)
    ref = -float(np.dot(data.w, model._loglik_rows(th, data.x, data.tx, data.T)))
    assert f == pytest.approx(ref / data.n_customers, rel=1e-5)
    assert np.all(np.isfinite(grad))


def test_long_pieces_are_cut_where_the_integrand_changes() -> None:
    """A piece of length 0.3 (in log time) with s = beta = 4.85e8: the global bound on the
    slope (about 1e9) would cut it into some 1e8 sub-pieces; the integrand falls by e^-60 within
    it, and the slope on the stretch before that is a few hundred."""
    r, alpha, s, beta, x = 2.13, 315.8, 4.85e8, 4.85e8 + 1e3, 3.0
    v0 = np.array([np.log(alpha + 10.0)])
    dl = beta - alpha
    rate = np.array([r + x + s])
    ke = np.array([s + 1.0])
    psi0 = -rate * v0 - ke * np.log1p(dl * np.exp(-v0))
    c = rate + ke + 1.0
    span, n_sub = _long_pieces(
        v0, np.array([0.3]), psi0, rate, ke, c, np.abs(1.0 - np.array([r + x])), dl
    )
    assert c[0] * 0.3 / 2.5 > 1e8
    assert 0 < span[0] <= 0.3
    assert 1 <= n_sub[0] < 1000
    # the stretch ends where the integrand has fallen by e^-60
    end = v0 + span
    fall = psi0 - (-rate * end - ke * np.log1p(dl * np.exp(-end)))
    assert fall[0] == pytest.approx(60.0, abs=1e-3)  # psi itself holds ~1e-6 of rounding


def test_probability_alive_matches_the_closed_form(cdnow: pd.DataFrame) -> None:
    """P(alive) from the grid quadrature equals the 2F1 closed form, on CDNOW and on extreme
    customers."""
    rng = np.random.default_rng(3)
    n = 300
    T = rng.uniform(1e-3, 3000.0, n)
    x = np.where(rng.random(n) < 0.2, rng.integers(100, 600, n), rng.integers(0, 40, n))
    tx = np.where(x == 0, 0.0, T * rng.random(n))
    cases = [
        (cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(float), cdnow["T"].to_numpy(float)),
        (x.astype(float), tx, T),
    ]
    for theta in ([0.553, 10.578, 0.606, 11.669], [2.0, 0.5, 30.0, 0.05], [0.05, 40.0, 0.3, 900.0]):
        model = ParetoNBDModel.from_params(**dict(zip(PUBLISHED, theta, strict=True)))
        for xs, txs, ts in cases:
            log_e1, log_e2 = model._log_terms(np.array(theta), xs, txs, ts)
            expected = special.expit(log_e1 - log_e2)
            np.testing.assert_allclose(
                model.probability_alive(xs, txs, ts), expected, rtol=1e-11, atol=1e-300
            )
        assert model.probability_alive([], [], []).shape == (0,)


def _moments(
    params: dict[str, float], x: float, tx: float, T: float, t: float
) -> tuple[float, float]:
    """P(alive) and E[X(t)] by a double integral over the purchase rate λ and dropout rate μ.

    Individual likelihood: λ^x e^{-(λ+μ)T} (alive at T) + λ^x μ/(λ+μ) (e^{-(λ+μ)t_x} -
    e^{-(λ+μ)T}) (died in (t_x, T)); future purchases of a live customer (λ/μ)(1 - e^{-μt}).
    Gamma(r, α) and Gamma(s, β) priors; scipy.integrate.dblquad on a log-scale grid."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]

    def log_prior(lam: float, mu: float) -> float:
        return (
            r * math.log(alpha)
            + (r - 1) * math.log(lam)
            - alpha * lam
            - math.lgamma(r)
            + s * math.log(beta)
            + (s - 1) * math.log(mu)
            - beta * mu
            - math.lgamma(s)
        )

    def parts(u: float, v: float) -> tuple[float, float, float]:
        lam, mu = math.exp(u), math.exp(v)  # integrate in log space: d lam = lam du
        base = log_prior(lam, mu) + x * u + u + v
        alive = math.exp(base - (lam + mu) * T)
        dead = math.exp(base + math.log(mu / (lam + mu)) - (lam + mu) * tx) * -math.expm1(
            -(lam + mu) * (T - tx)
        )
        future = alive * lam / mu * -math.expm1(-mu * t)
        return alive, dead, future

    lam_hi = math.log(60 * (r + x + 1) / (alpha + tx))
    mu_hi = math.log(60 * (s + 1) / beta)

    def dbl(k: int) -> float:
        val, _ = integrate.dblquad(
            lambda v, u: parts(u, v)[k], -30, lam_hi, -40, mu_hi, epsabs=0, epsrel=1e-10
        )
        return float(val)

    a_int, d_int, e_int = dbl(0), dbl(1), dbl(2)
    return a_int / (a_int + d_int), e_int / (a_int + d_int)


@pytest.mark.parametrize("row", [1, 157])
def test_predictions_match_double_integral(
    fitted: ParetoNBDModel, cdnow: pd.DataFrame, row: int
) -> None:
    x, tx, T = (float(cdnow.loc[row, c]) for c in ("x", "t_x", "T"))
    pa, ex = _moments(fitted.params_, x, tx, T, 39.0)
    assert fitted.probability_alive(x, tx, T)[0] == pytest.approx(pa, rel=1e-6)
    assert fitted.expected_purchases(39.0, x, tx, T)[0] == pytest.approx(ex, rel=1e-6)


def _moments_over_mu(
    params: dict[str, float], x: float, tx: float, T: float, t: float
) -> tuple[float, float]:
    """The same with λ integrated out exactly (Gamma integral) and μ by quadrature:
    E_λ[λ^x e^{-λc}] ∝ (α+c)^-(r+x) and E_λ[λ^x (λ/(λ+μ)) ...] handled via the time integral
    ∫_{t_x}^T μ e^{-μτ} (α+τ)^-(r+x) dτ (died at τ)."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]

    def prior(mu: float) -> float:
        return math.exp(s * math.log(beta) + (s - 1) * math.log(mu) - beta * mu - math.lgamma(s))

    def alive(mu: float) -> float:
        return prior(mu) * math.exp(-mu * T - (r + x) * math.log(alpha + T))

    def dead(mu: float) -> float:
        f = lambda tau: mu * math.exp(-mu * tau - (r + x) * math.log(alpha + tau))  # noqa: E731
        return prior(mu) * integrate.quad(f, tx, T, epsabs=0, epsrel=1e-12, limit=200)[0]

    def future(mu: float) -> float:
        return alive(mu) * (r + x) / (alpha + T) / mu * -math.expm1(-mu * t)

    def q(f: object) -> float:
        return float(
            integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-10, limit=500)[0]  # type: ignore[call-overload]
        )

    a_int, d_int, e_int = q(alive), q(dead), q(future)
    return a_int / (a_int + d_int), e_int / (a_int + d_int)


@pytest.mark.parametrize("row", [0, 2, 10, 1516])
def test_predictions_match_integration_over_mu(
    fitted: ParetoNBDModel, cdnow: pd.DataFrame, row: int
) -> None:
    x, tx, T = (float(cdnow.loc[row, c]) for c in ("x", "t_x", "T"))
    for t in (5.0, 39.0):
        pa, ex = _moments_over_mu(fitted.params_, x, tx, T, t)
        assert fitted.probability_alive(x, tx, T)[0] == pytest.approx(pa, rel=1e-6)
        assert fitted.expected_purchases(t, x, tx, T)[0] == pytest.approx(ex, rel=1e-6)


def test_predictive_distribution_is_consistent(fitted: ParetoNBDModel, cdnow: pd.DataFrame) -> None:
    df = cdnow.head(400)
    probs = fitted.purchase_probabilities(39, df, max_purchases=200)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-7)
    np.testing.assert_allclose(probs @ np.arange(201), fitted.expected_purchases(39, df), rtol=1e-6)
    lo, hi = fitted.purchases_interval(39, df, level=0.8)
    assert np.all(lo <= hi)
    assert np.all(fitted.probability_purchase(39, df) <= fitted.probability_alive(df) + 1e-12)
