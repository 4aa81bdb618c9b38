"""Model-fit figures: compressed evaluations equal per-customer ones; tables from model.json."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from lifevalue.report import modelfit as mf
from lifevalue.report.tracking import purchase_days, repeat_transactions_tracking

from .conftest import CALIBRATION_END, OBSERVATION_END, Tables, model_json
from .stand_in import CDNOW_PARAMS, StandInBetaGeo


class NoNewCustomerMethod:
    """A purchase model without ``expected_purchases_new_customer`` (the fallback path)."""

    def __init__(self, inner: StandInBetaGeo) -> None:
        self.inner = inner

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        return self.inner.expected_purchases(t, frequency, recency, T)

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        return self.inner.probability_alive(frequency, recency, T)


def test_stand_in_reproduces_the_published_log_likelihood(cdnow: Tables) -> None:
    c = cdnow.customers
    ll = cdnow.purchase_model.log_likelihood(c["frequency"], c["recency"], c["T"])
    assert ll == pytest.approx(-9582.4, abs=0.1)


def test_expected_revenue_equals_the_per_customer_sum(cdnow: Tables) -> None:
    m, c = cdnow.purchase_model, cdnow.customers
    got = mf.expected_revenue(m, c, 52.0)
    per_customer = m.expected_purchases(52.0, c["frequency"], c["recency"], c["T"])
    assert got == pytest.approx(float((per_customer * c["predicted_spend"]).sum()), rel=1e-9)


def test_customer_spend_falls_back_to_monetary_value_then_aov() -> None:
    frame = pd.DataFrame(
        {
            "predicted_spend": [10.0, np.nan, np.nan, np.nan],
            "monetary_value": [5.0, 7.0, 0.0, np.nan],
            "average_order_value": [1.0, 2.0, 3.0, np.nan],
        }
    )
    assert mf.customer_spend(frame).tolist() == [10.0, 7.0, 3.0, 0.0]


def test_calibration_holdout_matches_brute_force(cdnow: Tables) -> None:
    m, c = cdnow.purchase_model, cdnow.customers
    holdout = (OBSERVATION_END - CALIBRATION_END).days / 7
    assert holdout == 39
    cal = mf.calibration_holdout(m, c, holdout)
    assert cal is not None
    assert cal.labels == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(cal.customers) == len(c)
    assert cal.total_actual == c["holdout_frequency"].sum() == 1882  # as in the BG/NBD paper
    pred = m.expected_purchases(holdout, c["frequency"], c["recency"], c["T"])
    assert cal.total_predicted == pytest.approx(pred.sum())
    ones = (c["frequency"] == 1).to_numpy()
    assert cal.actual[1] == pytest.approx(c.loc[ones, "holdout_frequency"].mean())
    assert cal.predicted[1] == pytest.approx(pred[ones].mean())
    sentence = mf.calibration_sentence(cal, "weeks")
    assert sentence.startswith("Over the 39-week holdout the model predicted 1,654 repeat")
    assert "customers made 1,882 (under-estimate of 12.1%)" in sentence
    assert mf.calibration_holdout(m, c.drop(columns="holdout_frequency"), holdout) is None


def test_fit_matrices(cdnow: Tables) -> None:
    m = mf.fit_matrices(cdnow.purchase_model, cdnow.customers, 52.0)
    assert m is not None
    age = m.T
    assert age == pytest.approx(cdnow.customers["T"].max())
    assert m.expected.shape == (len(m.frequencies), len(m.recencies))
    assert np.isnan(m.expected[0, 1:]).all() and np.isfinite(m.expected[1:]).all()
    f, r = 3, 5
    j = int(np.flatnonzero(m.recencies == r)[0])
    assert m.expected[f, j] == pytest.approx(
        cdnow.purchase_model.expected_purchases(52.0, f, r, m.T)
    )
    # recent buyers are worth more and more likely alive
    assert (np.diff(m.alive[3]) >= -1e-12).all()
    e_text, a_text = mf.matrix_sentence(m, "weeks")
    assert e_text.startswith("A customer 39 weeks old with 3 repeat purchases is expected")
    assert "frequent buyers who stop" in a_text


def test_probability_alive_before() -> None:
    m = StandInBetaGeo(**CDNOW_PARAMS)
    frame = pd.DataFrame({"frequency": [2, 2], "recency": [10.0, 19.0], "T": [30.0, 20.0]})
    before = mf.probability_alive_before(m, frame, 14, 7.0)
    assert before[0] == pytest.approx(m.probability_alive(2, 10.0, 28.0))
    assert np.isnan(before[1])  # bought within the last 14 days


def test_parameter_table_and_scorecard() -> None:
    params = mf.parameter_table(model_json())
    row = params.set_index("parameter").loc["alpha"]
    assert row["model"] == "BG/NBD"
    assert row["lower"] == pytest.approx(4.414 - 1.96 * 0.378)
    assert row["upper"] == pytest.approx(4.414 + 1.96 * 0.378)
    gamma = params.set_index("parameter").loc["gamma"]
    assert gamma["model"] == "Gamma-Gamma" and np.isnan(gamma["standard_error"])
    given = {
        "purchase_model": {"model": "bgnbd", "params": {"r": 1.0}, "intervals": {"r": [0.5, 2]}}
    }
    assert mf.parameter_table(given)[["lower", "upper"]].iloc[0].tolist() == [0.5, 2.0]
    card = mf.scorecard_table(model_json())
    assert list(card.columns) == ["model", "log_likelihood", "aic"] and len(card) == 2
    assert mf.scorecard_table({"scorecard": {"mae": 0.5}}).to_dict("records") == [
        {"metric": "mae", "value": 0.5}
    ]
    assert mf.model_sentence(model_json()) == (
        "The BG/NBD purchase model was fitted on 2,357 customers (log-likelihood -9,582.4), "
        "with a Gamma-Gamma spend model; intervals are 95%."
    )


def test_resolve_purchase_model_from_model_json() -> None:
    model, note = mf.resolve_purchase_model(None)
    assert model is None and "No model" in note
    models = pytest.importorskip("lifevalue.models")
    base = pytest.importorskip("lifevalue.models.base")
    bg = models.BetaGeoModel(time_unit="weeks")
    data = {"model": "bgnbd", "version": base.FORMAT_VERSION, "params": dict(CDNOW_PARAMS)}
    fitted = models.load_model(data)
    assert isinstance(bg, mf.PurchaseModel)
    loaded, note = mf.resolve_purchase_model({"purchase_model": data, "time_unit": "weeks"})
    assert note == "" and loaded is not None
    stand_in = StandInBetaGeo(**CDNOW_PARAMS)
    args = (np.array([0.0, 2.0]), np.array([0.0, 10.0]), np.array([30.0, 30.0]))
    assert loaded.probability_alive(*args) == pytest.approx(stand_in.probability_alive(*args))
    assert fitted.expected_purchases(10.0, *args) == pytest.approx(
        stand_in.expected_purchases(10.0, *args), rel=1e-6
    )
    broken, note = mf.resolve_purchase_model({"purchase_model": {"model": "nope"}})
    assert broken is None and "could not be loaded" in note


# --- the cumulative repeat-transactions helper ---------------------------------------------------


def test_tracking_counts_on_cdnow(cdnow: Tables) -> None:
    t = repeat_transactions_tracking(
        cdnow.purchases,
        cdnow.purchase_model,
        time_unit="weeks",
        calibration_end=CALIBRATION_END,
    )
    table = t.table
    assert len(table) == 78 and t.calibration_period == 39
    assert t.start == dt.date(1997, 1, 1) and t.end == OBSERVATION_END
    calibration = cdnow.customers["frequency"].sum()
    assert table["actual_cumulative"].iloc[38] == calibration == 2457
    assert table["actual_cumulative"].iloc[-1] == calibration + 1882
    # the model, fitted on the first 39 weeks, tracks them within a few percent
    assert table["expected_cumulative"].iloc[38] == pytest.approx(2457, rel=0.03)
    assert table["expected"].sum() == pytest.approx(table["expected_cumulative"].iloc[-1])
    assert t.sentence().startswith("By week 78 the model expected 4,1")
    assert "customers made 4,339" in t.sentence()
    assert "after the calibration end" in t.period_sentence()


def test_tracking_expected_curve_is_the_sum_over_customers(cdnow: Tables) -> None:
    """E[cumulative repeat transactions at t] = sum_i E[X(t - first_i)] for first_i < t."""
    m = cdnow.purchase_model
    t = repeat_transactions_tracking(cdnow.purchases, m, time_unit="weeks")
    firsts = cdnow.purchases.groupby("customer_id")["local_date"].min()
    offset_days = (pd.to_datetime(firsts) - pd.Timestamp("1997-01-01")).dt.days.to_numpy()
    for k in (0, 5, 11, 40, 77):
        boundary = (k + 1) * 7
        age = (boundary - offset_days[offset_days < boundary]) / 7
        want = m.expected_purchases_new_customer(age).sum()
        assert t.table["expected_cumulative"].iloc[k] == pytest.approx(want, rel=1e-9)
    # a model without the new-customer method gives the same curve through expected_purchases
    fallback = repeat_transactions_tracking(
        cdnow.purchases, NoNewCustomerMethod(m), time_unit="weeks"
    )
    np.testing.assert_allclose(
        fallback.table["expected_cumulative"], t.table["expected_cumulative"], rtol=1e-9
    )


def test_purchase_days_from_a_duckdb_relation_and_refund_rows() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "b"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 10:00",
                    "2024-01-01 18:00",  # same day: one purchase day
                    "2024-01-09 09:00",
                    "2024-01-10 09:00",  # a refund row: not a purchase
                    "2024-01-03 12:00",
                    "2024-01-16 12:00",
                ]
            ),
            "amount": [10.0, 5.0, 7.0, -7.0, 3.0, 4.0],
        }
    )
    days = purchase_days(orders)
    assert days.start == dt.date(2024, 1, 1) and days.end == dt.date(2024, 1, 16)
    assert days.first.sum() == 2 and days.first[0] == 1 and days.first[2] == 1
    assert days.repeat.sum() == 2 and days.repeat[8] == 1 and days.repeat[15] == 1
    con = duckdb.connect()
    con.register("src", orders)
    con.execute("CREATE TABLE o AS SELECT * FROM src")
    same = purchase_days(con.table("o"))
    assert (same.first == days.first).all() and (same.repeat == days.repeat).all()
    t = repeat_transactions_tracking(orders, None, time_unit="weeks")
    assert t.table["actual"].tolist() == [0.0, 1.0, 1.0]  # weeks: days 0-6, 7-13, 14-15
    assert t.table["period"].tolist() == pytest.approx([1, 2, 16 / 7])
    assert t.table["expected_cumulative"].isna().all()
    assert t.sentence() == "By week 2 customers had made 2 repeat purchases."
    with pytest.raises(ValueError, match="no purchases"):
        purchase_days(orders[orders["amount"] < 0])
