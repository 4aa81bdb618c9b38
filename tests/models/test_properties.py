"""Property tests: no NaN or infinity in log-likelihoods, gradients or predictions, for extreme
customers (no repeat purchase, hundreds of purchases, recency = T, tiny T, huge spend) and a wide
range of parameters."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifevalue.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
)
from lifevalue.models.base import PurchaseModel, RFTData

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

log_param = st.floats(min_value=np.log(0.02), max_value=np.log(50.0))
positive_time = st.one_of(st.just(1e-3), st.just(1e4), st.floats(min_value=1e-3, max_value=2000.0))


@st.composite
def customers(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small batch of customers including the extreme kinds."""
    n = draw(st.integers(min_value=1, max_value=6))
    xs, txs, ts = [], [], []
    for _ in range(n):
        T = draw(positive_time)
        kind = draw(st.sampled_from(["zero", "many", "recent", "any"]))
        if kind == "zero":
            x, tx = 0.0, 0.0
        elif kind == "many":
            x = float(draw(st.integers(min_value=100, max_value=600)))
            tx = T * draw(st.floats(min_value=0.0, max_value=1.0))
        elif kind == "recent":
            x, tx = float(draw(st.integers(min_value=1, max_value=50))), T
        else:
            x = float(draw(st.integers(min_value=0, max_value=30)))
            tx = 0.0 if x == 0 else T * draw(st.floats(min_value=0.0, max_value=1.0))
        xs.append(x)
        txs.append(tx)
        ts.append(T)
    return np.array(xs), np.array(txs), np.array(ts)


PURCHASE = {
    BetaGeoModel: ("r", "alpha", "a", "b"),
    ModifiedBetaGeoModel: ("r", "alpha", "a", "b"),
    ParetoNBDModel: ("r", "alpha", "s", "beta"),
}


def _check_purchase(
    cls: type[PurchaseModel], z: list[float], data: tuple[np.ndarray, ...], t: float
) -> None:
    x, tx, T = data
    params = dict(zip(PURCHASE[cls], np.exp(z), strict=True))
    model = cls.from_params(**params)
    ll = model.individual_log_likelihood(x, tx, T)
    assert np.all(np.isfinite(ll)), ll
    rft = RFTData.build(x, tx, T)
    f, g = model._objective(np.array(z), rft)
    assert np.isfinite(f) and np.all(np.isfinite(g)), (f, g)
    pa = model.probability_alive(x, tx, T)
    assert np.all((pa >= 0) & (pa <= 1))
    ex = model.expected_purchases(t, x, tx, T)
    assert np.all(np.isfinite(ex)) and np.all(ex >= 0), ex
    pp = model.probability_purchase(t, x, tx, T)
    assert np.all((pp >= 0) & (pp <= 1)), pp
    lo, hi = model.purchases_interval(t, x, tx, T, max_purchases=2000)
    assert np.all(np.isfinite(lo)) and np.all(lo <= hi)
    new = model.expected_purchases_new_customer(t)
    assert np.all(np.isfinite(new)) and np.all(new >= 0)


@SETTINGS
@given(st.lists(log_param, min_size=4, max_size=4), customers(), positive_time)
def test_bg_nbd_is_finite(z: list[float], data: tuple[np.ndarray, ...], t: float) -> None:
    _check_purchase(BetaGeoModel, z, data, t)


@SETTINGS
@given(st.lists(log_param, min_size=4, max_size=4), customers(), positive_time)
def test_mbg_nbd_is_finite(z: list[float], data: tuple[np.ndarray, ...], t: float) -> None:
    _check_purchase(ModifiedBetaGeoModel, z, data, t)


@SETTINGS
@given(st.lists(log_param, min_size=4, max_size=4), customers(), positive_time)
def test_pareto_nbd_is_finite(z: list[float], data: tuple[np.ndarray, ...], t: float) -> None:
    _check_purchase(ParetoNBDModel, z, data, t)


@SETTINGS
@given(
    st.lists(log_param, min_size=3, max_size=3),
    st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=5),
    st.lists(
        st.one_of(st.just(1e7), st.just(1e-2), st.floats(min_value=1e-2, max_value=1e7)),
        min_size=5,
        max_size=5,
    ),
)
def test_gamma_gamma_is_finite(z: list[float], freq: list[int], spend: list[float]) -> None:
    x = np.array(freq, dtype=float)
    m = np.array(spend[: len(freq)])
    params = dict(zip(("p", "q", "gamma"), np.exp(z), strict=True))
    model = GammaGammaModel.from_params(**params)
    assert np.all(np.isfinite(model.individual_log_likelihood(x, m)))
    f, g = model._objective(np.array(z), (x, m, np.ones_like(x)))
    assert np.isfinite(f) and np.all(np.isfinite(g))
    if np.all(params["p"] * x + params["q"] > 1):
        out = model.expected_spend(x, m)
        assert np.all(np.isfinite(out)) and np.all(out > 0)


@SETTINGS
@given(st.lists(log_param, min_size=2, max_size=2), st.integers(min_value=1, max_value=500))
def test_sbg_is_finite(z: list[float], periods: int) -> None:
    model = ShiftedBetaGeoModel.from_params(alpha=float(np.exp(z[0])), beta=float(np.exp(z[1])))
    s = model.projected_retention(np.arange(periods + 1))
    assert np.all(np.isfinite(s)) and np.all(np.diff(s) <= 0)
    assert np.isfinite(model.expected_lifetime(horizon=periods))
    assert np.isfinite(model.discounted_expected_lifetime(0.05))
    data = (np.array([100.0] + [0.0] * (periods - 1)), np.array([0.0] * periods + [50.0]))
    f, g = model._objective(np.array(z), data)
    assert np.isfinite(f) and np.all(np.isfinite(g))
