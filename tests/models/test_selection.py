"""Model choice on an inner validation window, and the model step on the customer table."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from lifevalue.errors import ConfigError
from lifevalue.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from lifevalue.models.base import pair_index
from lifevalue.models.pipeline_step import ModelOptions, apply_fallback, run_models
from lifevalue.models.seasonal import SeasonalProfile, SeasonalPurchaseModel
from lifevalue.models.selection import (
    MIN_VALIDATION_DAYS,
    Histories,
    error_metrics,
    expected_purchases,
    select_model,
    validation_window,
)


def test_validation_window_is_the_last_quarter() -> None:
    inner, days = validation_window(date(2024, 1, 1), date(2024, 12, 31)) or (None, 0)
    assert days == round(365 * 0.25)
    assert inner == date(2024, 12, 31) - pd.Timedelta(days=days).to_pytimedelta()
    # short data: at least 28 days, and 28 days left to fit on, else no window
    assert validation_window(date(2024, 1, 1), date(2024, 3, 1)) == (date(2024, 2, 2), 28)
    assert validation_window(date(2024, 1, 1), date(2024, 1, 31)) is None
    assert MIN_VALIDATION_DAYS == 28


def test_error_metrics_weighted_as_one_row_per_customer() -> None:
    rng = np.random.default_rng(0)
    pred = rng.gamma(1.0, 1.0, 50)
    actual = rng.poisson(1.0, 50).astype(float)
    w = rng.integers(1, 4, 50).astype(float)
    got = error_metrics(pred, actual, w)
    p, a = np.repeat(pred, w.astype(int)), np.repeat(actual, w.astype(int))
    assert got["customers"] == len(p)
    assert got["mae"] == pytest.approx(np.mean(np.abs(p - a)))
    assert got["rmse"] == pytest.approx(math.sqrt(np.mean((p - a) ** 2)))
    assert got["correlation"] == pytest.approx(np.corrcoef(p, a)[0, 1])
    assert got["total_error"] == pytest.approx((p.sum() - a.sum()) / a.sum())


@pytest.mark.parametrize("spread", [1.0, 1e9])
def test_pair_index_groups_equal_pairs(spread: float) -> None:
    """Dense table of codes, or np.unique when the codes would not fit one."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 40, 5000).astype(float) * (1.0 if spread == 1.0 else 1e6)
    t = np.round(rng.uniform(0, 30, 5000), 1) * spread
    rep, inverse = pair_index(x, t)
    assert np.array_equal(x[rep][inverse], x) and np.array_equal(t[rep][inverse], t)
    assert rep.shape[0] == len({(a, b) for a, b in zip(x, t, strict=True)})


def test_scored_predictions_are_the_models_expected_purchases(cdnow: pd.DataFrame) -> None:
    """The validation score evaluates each (frequency, T) pair once: same numbers as the
    models' expected_purchases, plain and seasonal."""
    hist = Histories(
        cdnow["x"].to_numpy(float),
        cdnow["t_x"].to_numpy(float),
        cdnow["T"].to_numpy(float),
        np.ones(len(cdnow)),
    )
    profile = SeasonalProfile(
        (1.2, 0.8, 1.0, 1.0, 1.1, 0.9, 1.0, 1.0, 0.7, 1.3, 1.0, 1.0),
        (True,) * 12,
        0,
        date(1997, 9, 30),
    )
    for cls in (BetaGeoModel, ParetoNBDModel):
        plain = cls(time_unit="weeks").fit(hist.x, hist.tx, hist.T)
        seasonal = SeasonalPurchaseModel(plain, profile, date(1997, 9, 30), 7.0)
        for model in (plain, seasonal):
            ref = model.expected_purchases(26.0, hist.x, hist.tx, hist.T)
            # (rtol: the time warp's table of cumulative factors grows as needed; its rounding
            # depends on its extent)
            np.testing.assert_allclose(expected_purchases(model, 26.0, hist), ref, rtol=1e-12)


def _cdnow_con(cdnow: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """The CDNOW calibration summary as a ``customers`` table (weeks)."""
    con = duckdb.connect()
    frame = cdnow.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    frame = frame.assign(customer_id=frame["ID"].astype(str), average_order_value=30.0)
    frame = frame.assign(purchase_frequency_per_year=2.0)
    con.register("frame", frame)
    con.execute(
        'CREATE TABLE customers AS SELECT customer_id, frequency, recency, "T", '
        "monetary_value, average_order_value, purchase_frequency_per_year FROM frame"
    )
    return con


def test_model_step_on_a_summary_table_matches_the_library(cdnow: pd.DataFrame) -> None:
    """Predicted columns equal the models' own predictions (BG/NBD, weeks, CLV by months)."""
    con = _cdnow_con(cdnow)
    run = run_models(
        con,
        end=date(1998, 6, 30),
        calibration_end=None,
        time_unit="weeks",
        options=ModelOptions(model="bgnbd", horizon=52, discount_rate=0.1, margin=0.5),
    )
    out = con.execute("SELECT * FROM customers ORDER BY customer_id").df()
    df = cdnow.assign(customer_id=cdnow["ID"].astype(str)).sort_values("customer_id")
    x, tx, t, m = (df[c].to_numpy(float) for c in ("x", "t_x", "T", "zbar"))
    bg = BetaGeoModel.from_params(time_unit="weeks", **run.model["purchase_model"]["params"])
    gg = GammaGammaModel.from_params(**run.model["spend_model"]["params"])
    np.testing.assert_allclose(out["predicted_purchases"], bg.expected_purchases(52, x, tx, t))
    np.testing.assert_allclose(out["probability_alive"], bg.probability_alive(x, tx, t))
    np.testing.assert_allclose(out["predicted_spend"], gg.expected_spend(x, m), rtol=1e-12)
    clv = customer_lifetime_value(
        bg, gg, x, tx, t, m, horizon=52, discount_rate=0.1, margin=0.5, step=365.25 / 12 / 7
    )
    np.testing.assert_allclose(out["predicted_clv"], clv, rtol=1e-10)
    lo, hi = bg.purchases_interval(52, x, tx, t, level=0.9)
    np.testing.assert_array_equal(out["predicted_purchases_low"], lo)
    np.testing.assert_array_equal(out["predicted_purchases_high"], hi)
    # next order: the end + (alpha + T) / (r + x) weeks, for customers likely alive
    p = run.model["purchase_model"]["params"]
    gap = np.round((p["alpha"] + t) / (p["r"] + x) * 7)
    alive = out["probability_alive"].to_numpy() >= 0.05
    days = (pd.to_datetime(out["expected_next_order"]) - pd.Timestamp("1998-06-30")).dt.days
    np.testing.assert_array_equal(days[alive].to_numpy(), gap[alive])
    assert days[~alive].isna().all()
    # rerunning replaces the columns instead of adding a second set
    run_models(con, end=date(1998, 6, 30), calibration_end=None, time_unit="weeks",
               options=ModelOptions(model="bgnbd"))  # fmt: skip
    cols = [r[0] for r in con.execute("DESCRIBE customers").fetchall()]
    assert cols.count("predicted_clv") == 1


def test_fallback_formula() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM (VALUES ('a', 0, 4.0, 25.0), ('b', 0, 1.0, 10.0)) "
        "t(customer_id, frequency, purchase_frequency_per_year, average_order_value)"
    )
    apply_fallback(con, "days", ModelOptions(horizon=730.5, discount_rate=0.0, margin=0.5))
    a = con.execute("SELECT * FROM customers ORDER BY customer_id").df()
    assert a["predicted_purchases"].tolist() == pytest.approx([8.0, 2.0])
    assert a["predicted_clv"].tolist() == pytest.approx([100.0, 10.0])
    assert a["probability_alive"].isna().all()


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="--model must be one of"):
        ModelOptions(model="xgboost").check()
    with pytest.raises(ConfigError, match="--horizon"):
        ModelOptions(horizon=0).check()
    assert ModelOptions().horizon_in("weeks") == 52
    assert ModelOptions().horizon_in("days") == 365


def test_too_short_data_uses_the_first_candidate() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE purchases AS SELECT 'a' AS customer_id, "
        "DATE '2024-01-01' + CAST(i AS INTEGER) AS local_date FROM range(40) r(i)"
    )
    sel = select_model(con, date(2024, 2, 9), "days")
    assert sel.name == "bgnbd" and sel.scorecard == []
    assert "too short" in sel.validation["skipped"]


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_intervals_by_distinct_frequency_and_t_are_the_rowwise_ones(
    cls: type[BetaGeoModel] | type[ParetoNBDModel], cdnow: pd.DataFrame
) -> None:
    """The predictive distribution given alive is computed once per distinct (frequency, T):
    the bounds are exactly those of the walk over every customer."""

    class RowWise(cls):  # type: ignore[valid-type,misc]
        pmf_uses_recency = True

    x, tx, T = (cdnow[c].to_numpy(float) for c in ("x", "t_x", "T"))
    params = cls().fit(x, tx, T).params_
    fast, slow = cls.from_params(**params), RowWise.from_params(**params)
    for level in (0.5, 0.9):
        got = fast.purchases_interval(39.0, x, tx, T, level=level)
        ref = slow.purchases_interval(39.0, x, tx, T, level=level)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
    # horizons that differ by customer: every customer on its own
    t = np.linspace(1.0, 80.0, x.shape[0])
    np.testing.assert_array_equal(
        fast.purchases_interval(t, x, tx, T)[1], slow.purchases_interval(t, x, tx, T)[1]
    )
