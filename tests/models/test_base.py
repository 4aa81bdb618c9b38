"""Shared machinery: collapsing customers to unique rows, input handling, the optimiser."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lifevalue.models import BetaGeoModel, ParetoNBDModel, base
from lifevalue.models.base import PurchaseModel, RFTData, collapse_rows


def _reference(*cols: np.ndarray, weights: np.ndarray | None = None) -> pd.DataFrame:
    df = pd.DataFrame({f"c{i}": c for i, c in enumerate(cols)})
    df["w"] = 1.0 if weights is None else weights
    return df.groupby(list(df.columns[:-1]), sort=True)["w"].sum().reset_index()


@pytest.mark.parametrize("kind", ["integers", "floats", "huge"])
def test_collapse_rows_matches_groupby(kind: str) -> None:
    rng = np.random.default_rng(0)
    n = 5000
    x = rng.poisson(1.5, n).astype(float)
    if kind == "integers":
        t = rng.integers(0, 50, n).astype(float)
        T = rng.integers(50, 60, n).astype(float)
    elif kind == "floats":
        t = np.round(rng.uniform(0, 5, n), 1)
        T = np.round(rng.uniform(5, 6, n), 2)
    else:  # values spread so wide that the combined integer key would overflow
        t = rng.integers(0, 2**40, n).astype(float)
        T = rng.integers(2**40, 2**41, n).astype(float)
        x = rng.integers(0, 2**20, n).astype(float)
    w = rng.integers(1, 4, n).astype(float)
    (ux, ut, uT), uw = collapse_rows(x, t, T, weights=w)
    ref = _reference(x, t, T, weights=w)
    np.testing.assert_array_equal(ux, ref["c0"])
    np.testing.assert_array_equal(ut, ref["c1"])
    np.testing.assert_array_equal(uT, ref["c2"])
    np.testing.assert_allclose(uw, ref["w"])
    (_, _, _), counts = collapse_rows(x, t, T)
    assert counts.sum() == n


def test_rft_data_groups_by_frequency() -> None:
    x = np.array([0.0, 2.0, 1.0, 2.0, 0.0])
    tx = np.array([0.0, 3.0, 1.0, 3.0, 0.0])
    T = np.array([5.0, 6.0, 5.0, 6.0, 4.0])
    data = RFTData.build(x, tx, T)
    np.testing.assert_array_equal(data.ux, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(data.wx, [2.0, 1.0, 2.0])
    assert data.n_customers == 5
    np.testing.assert_array_equal(data.sum_by_x(np.ones(data.x.shape[0])), [2.0, 1.0, 1.0])


def test_time_unit_from_dataframe(cdnow_summary: pd.DataFrame) -> None:
    model = BetaGeoModel().fit(cdnow_summary)
    assert model.time_unit == "weeks"
    df = cdnow_summary.copy()
    df.attrs = {}
    df["time_unit"] = "days"
    assert BetaGeoModel().fit(df).time_unit == "days"
    assert BetaGeoModel(time_unit="months").fit(df).time_unit == "months"


def test_all_starts_finds_the_same_optimum(cdnow_summary: pd.DataFrame) -> None:
    one = BetaGeoModel().fit(cdnow_summary)
    many = BetaGeoModel(n_starts=4, all_starts=True, random_state=3).fit(cdnow_summary)
    assert many.log_likelihood_ == pytest.approx(one.log_likelihood_, abs=1e-6)
    for k, v in one.params_.items():
        assert many.params_[k] == pytest.approx(v, rel=1e-5)


@pytest.mark.parametrize("cls", [BetaGeoModel, ParetoNBDModel])
def test_initial_params_change_the_path_not_the_estimates(
    cls: type[PurchaseModel], cdnow_summary: pd.DataFrame
) -> None:
    """A start at (or near) the optimum and the default start reach the same estimates."""
    cold = cls().fit(cdnow_summary)
    near = {k: v * 1.3 for k, v in cold.params_.items()}
    for start in (cold.params_, near):
        warm = cls().fit(cdnow_summary, initial_params=start)
        assert warm.log_likelihood_ == pytest.approx(cold.log_likelihood_, abs=1e-6)
        for k, v in cold.params_.items():
            assert warm.params_[k] == pytest.approx(v, rel=1e-5)
        # the Hessian is taken where L-BFGS-B stopped (within 0.01 standard errors of the optimum)
        for k, v in cold.standard_errors_.items():
            assert warm.standard_errors_[k] == pytest.approx(v, rel=1e-3)
        np.testing.assert_allclose(_correlation(warm), _correlation(cold), atol=1e-3)
    with pytest.raises(ValueError, match="initial_params"):
        cls().fit(cdnow_summary, initial_params={"r": 1.0})
    # a fitted model as the start (its covariance the first guess of the curvature): the
    # estimates and standard errors are those of the new data
    part = cdnow_summary.iloc[:1800]
    alone = cls().fit(part)
    seeded = cls().fit(part, initial_params=cold)
    assert seeded.log_likelihood_ == pytest.approx(alone.log_likelihood_, abs=1e-6)
    for k, v in alone.params_.items():
        assert seeded.params_[k] == pytest.approx(v, rel=1e-5)
        assert seeded.standard_errors_[k] == pytest.approx(alone.standard_errors_[k], rel=1e-3)


def _correlation(model: PurchaseModel) -> np.ndarray:
    cov = model.covariance_
    se = np.sqrt(np.diag(cov))
    return np.asarray(cov / np.outer(se, se))


def test_newton_steps_finish_at_the_optimum(cdnow_summary: pd.DataFrame) -> None:
    """The fit ends where the gradient vanishes (Newton steps after L-BFGS-B's coarse stop)."""
    for cls in (BetaGeoModel, ParetoNBDModel):
        model = cls().fit(cdnow_summary)
        data = RFTData.build(
            *(cdnow_summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        )
        _, grad = model._objective(np.log(model._theta()), data)
        assert np.max(np.abs(grad)) < 1e-8


def test_large_fits_start_from_a_sample_and_reach_the_same_estimates() -> None:
    """On more than 200k customers the optimiser starts from the fit on a 50k-customer sample;
    the estimates and standard errors are those of the usual start."""
    rng = np.random.default_rng(5)
    T = rng.integers(1, 731, 220_000).astype(float)
    sim = BetaGeoModel.from_params(r=0.5, alpha=40.0, a=0.8, b=2.5).simulate(T, seed=6)
    x, tx = sim["frequency"].to_numpy(), np.floor(sim["recency"].to_numpy())
    data = RFTData.build(x, tx, T)
    assert data.x.shape[0] >= base.SUBSAMPLE_ROWS
    model = BetaGeoModel()
    start = model._subsample_start(data)
    assert start is not None
    sampled = BetaGeoModel().fit(x, tx, T)
    usual = BetaGeoModel(random_state=1)
    usual._subsample_start = lambda d: None  # type: ignore[method-assign]
    usual.fit(x, tx, T)
    assert sampled.log_likelihood_ == pytest.approx(usual.log_likelihood_, abs=1e-6)
    for k, v in usual.params_.items():
        assert sampled.params_[k] == pytest.approx(v, rel=1e-6)
        assert sampled.standard_errors_[k] == pytest.approx(usual.standard_errors_[k], rel=1e-3)
        # the sample's estimate is a few of the full data's standard errors away
        assert (
            abs(math.exp(start[list(usual.params_).index(k)]) - v) < 10 * usual.standard_errors_[k]
        )
