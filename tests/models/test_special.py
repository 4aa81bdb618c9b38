"""The guarded special functions behind the Pareto/NBD likelihood and BG/NBD predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from lifevalue.models._special import (
    _h2_continued_fraction,
    bg_expected_alive,
    log_hyp2f1_one,
    log_incomplete_power_integral,
)


def _h2_reference(b: float, c: float, z: float) -> float:
    """2F1(1, b; c; z) = E[1/(1 - z t)], t ~ Beta(b, c-b), by adaptive quadrature."""
    s = c - b
    lb = special.betaln(b, s)

    def f(v: float) -> float:
        if v <= 0 or v >= 1:
            return 0.0
        return math.exp((s - 1) * math.log(v) + (b - 1) * math.log1p(-v) - lb) / (1 - z + z * v)

    pts = sorted({min(0.5, 1 - z), min(0.5, 1 / b), min(0.5, s / c)})
    return float(integrate.quad(f, 0, 1, epsabs=0, epsrel=1e-12, limit=2000, points=pts)[0])


# (b, c, z) where SciPy's hyp2f1 returns NaN or a wrong value: large b, z close to 1
HARD = [
    (250.0, 251.6, 0.9985),
    (185.0, 186.56, 0.9977),
    (120.0, 121.3, 0.99995),
    (60.0, 61.2, 0.999),
]


@pytest.mark.parametrize(("b", "c", "z"), HARD)
def test_log_hyp2f1_one_in_the_hard_region(b: float, c: float, z: float) -> None:
    got = log_hyp2f1_one(np.array([b]), np.array([c]), np.array([z]))[0]
    assert np.isfinite(got)
    assert math.exp(got) == pytest.approx(_h2_reference(b, c, z), rel=1e-8)


def test_continued_fraction_agrees_with_scipy_where_scipy_is_good() -> None:
    rng = np.random.default_rng(0)
    b = rng.uniform(0.1, 30, 200)
    c = b + rng.uniform(0.1, 5, 200)
    z = rng.uniform(0, 0.95, 200)
    h, done = _h2_continued_fraction(b, c, z)
    assert done.all()
    np.testing.assert_allclose(h, special.hyp2f1(1.0, b, c, z), rtol=1e-10)


@pytest.mark.parametrize(
    ("A", "B", "m1", "m2", "tau"),
    [
        (10.6, 11.7, 0.55, 1.6, 0.0),
        (11.7, 10.6, 3.55, 1.6, 20.0),
        (50.0, 0.01, 300.0, 1.6, 0.1),
        (0.01, 50.0, 0.3, 40.0, 5.0),
        (3.0, 3.0, 2.0, 2.0, 1.0),
    ],
)
def test_incomplete_power_integral(A: float, B: float, m1: float, m2: float, tau: float) -> None:
    got = log_incomplete_power_integral(
        np.array([A]), np.array([B]), np.array([m1]), np.array([m2]), np.array([tau])
    )[0]
    # reference in log space: substitute u = tau + e^v
    log_f = lambda u: -m1 * math.log(A + u) - m2 * math.log(B + u)  # noqa: E731
    shift = log_f(tau)
    val = integrate.quad(
        lambda v: math.exp(log_f(tau + math.exp(v)) - shift + v),
        -40,
        40,
        epsabs=0,
        epsrel=1e-12,
        limit=500,
    )[0]
    assert got == pytest.approx(math.log(val) + shift, rel=1e-9, abs=1e-9)


def test_bg_expected_alive_bounds_and_a_near_one() -> None:
    t = np.array([1.0, 10.0, 1000.0])
    for a in (0.999999999, 1.0, 1.000000001):
        out = bg_expected_alive(np.full(3, a), np.full(3, 2.0), np.full(3, 0.5), np.full(3, 4.0), t)
        ref = bg_expected_alive(
            np.full(3, 1.001), np.full(3, 2.0), np.full(3, 0.5), np.full(3, 4.0), t
        )
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, ref, rtol=2e-3)
        assert np.all(out <= 0.5 * t / 4.0)
