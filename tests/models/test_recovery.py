"""Parameter recovery: fit each model to data simulated from it with known parameters.

A quick version of ``benchmarks/model_recovery.py`` (100k customers, 100 seeds, 95% interval
coverage): here 20k customers and 3 seeds per model, every estimate within 4 standard errors of
the truth and most 95% intervals covering it.
"""

from __future__ import annotations

import numpy as np
import pytest

from lifevalue.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
)
from lifevalue.models.base import PurchaseModel

N = 20_000
SEEDS = (1, 2, 3)
TRUE: dict[type[PurchaseModel], dict[str, float]] = {
    BetaGeoModel: {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5},
    ModifiedBetaGeoModel: {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6},
    ParetoNBDModel: {"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7},
}


def _check(estimates: list[tuple[dict[str, float], dict[str, float], dict]], true: dict) -> None:
    covered = total = 0
    for params, se, ci in estimates:
        for name, value in true.items():
            z = (params[name] - value) / se[name]
            assert abs(z) < 4, (name, params[name], value, se[name])
            lo, hi = ci[name]
            covered += lo <= value <= hi
            total += 1
    assert covered / total >= 0.75


@pytest.mark.parametrize("cls", list(TRUE))
def test_purchase_model_recovery(cls: type[PurchaseModel]) -> None:
    true = TRUE[cls]
    rng = np.random.default_rng(0)
    out = []
    for seed in SEEDS:
        # customers acquired over 70 weeks, time recorded to the nearest day (as real summaries are)
        T = rng.integers(70, 561, N) / 7.0
        sim = cls.from_params(**true).simulate(T, seed=seed)
        sim["recency"] = np.round(sim["recency"] * 7.0) / 7.0
        assert np.all(sim["recency"] <= sim["T"])
        model = cls().fit(sim)
        out.append((model.params_, model.standard_errors_, model.confidence_intervals_))
    _check(out, true)


def test_gamma_gamma_recovery() -> None:
    true = {"p": 6.0, "q": 3.7, "gamma": 15.0}
    gen = GammaGammaModel.from_params(**true)
    out = []
    for seed in SEEDS:
        freq = np.random.default_rng(seed).poisson(2.0, N) + 1.0
        spend = gen.simulate(freq, seed=seed + 100)
        model = GammaGammaModel().fit(freq, spend)
        out.append((model.params_, model.standard_errors_, model.confidence_intervals_))
    _check(out, true)


def test_sbg_recovery() -> None:
    true = {"alpha": 0.8, "beta": 2.5}
    gen = ShiftedBetaGeoModel.from_params(**true)
    out = []
    for seed in SEEDS:
        cohorts = [gen.simulate(2_000, 12 - k, seed=100 * seed + k) for k in range(6)]
        table = np.full((6, 13), np.nan)
        for i, c in enumerate(cohorts):
            table[i, : len(c)] = c
        model = ShiftedBetaGeoModel().fit(table)
        out.append((model.params_, model.standard_errors_, model.confidence_intervals_))
    _check(out, true)


def test_simulators_match_model_moments() -> None:
    """The simulated mean purchases agree with the model's own E[X(T)] for new customers."""
    for cls, true in TRUE.items():
        model = cls.from_params(**true)
        T = np.full(200_000, 30.0)
        sim = model.simulate(T, seed=5)
        expected = model.expected_purchases_new_customer(30.0)[0]
        assert sim["frequency"].mean() == pytest.approx(expected, rel=0.03), cls.__name__
