"""The model step's columns in the customers table: right customer, same row order."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from lifevalue.errors import ConvergenceError
from lifevalue.io import ReadOptions
from lifevalue.models import BetaGeoModel, pipeline_step
from lifevalue.models.pipeline_step import ModelOptions, predict_into_customers
from lifevalue.models.selection import LABELS
from lifevalue.pipeline import AnalysisOptions, AnalysisResult, run_analysis

#: Superstore (Tableau's sample orders): customer, order, date and sales columns.
SUPERSTORE = Path(__file__).resolve().parent.parent / "data" / "superstore_orders.csv.gz"


def test_predictions_land_on_their_customers_in_customer_id_order() -> None:
    # enough rows (several DuckDB row groups) for the join to run on both threads: a join on
    # the history used to hand the rows back in two interleaved runs
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE customers AS
        SELECT printf('C%07d', i) AS customer_id,
               CAST(i % 9 AS BIGINT) AS frequency,
               CAST((i * 7) % 50 AS DOUBLE) AS recency,
               50.0 + (i * 13) % 30 AS "T",
               CASE WHEN i % 9 > 0 THEN 10.0 + i % 5 ELSE 0.0 END AS monetary_value,
               12.0 AS average_order_value
        FROM range(400000) r(i) ORDER BY customer_id
        """
    )
    model = BetaGeoModel.from_params(time_unit="days", r=0.5, alpha=20.0, a=0.8, b=2.5)
    options = ModelOptions(model="bgnbd", horizon=30.0)
    predict_into_customers(
        con, model, None, as_of=date(2024, 6, 30), time_unit="days", options=options
    )
    con.unregister("lv_predictions")
    got = con.execute(
        'SELECT customer_id, frequency, recency, "T", predicted_purchases, probability_alive '
        "FROM customers"
    ).fetchnumpy()
    ids = got["customer_id"]
    assert list(ids) == sorted(ids) and len(ids) == 400000
    x, tx, t = (np.asarray(got[k], dtype=np.float64) for k in ("frequency", "recency", "T"))
    np.testing.assert_allclose(
        got["probability_alive"], model.probability_alive(x, tx, t), rtol=1e-12
    )
    np.testing.assert_allclose(
        got["predicted_purchases"], model.expected_purchases(30.0, x, tx, t), rtol=1e-9
    )


def superstore_auto_to_mid_2017() -> AnalysisResult:
    """``--model auto --calibration-end 2017-06-30`` on Superstore."""
    options = AnalysisOptions(
        calibration_end=date(2017, 6, 30), model=ModelOptions(model="auto"), segments=False
    )
    return run_analysis([SUPERSTORE], ReadOptions(), options)


def test_auto_falls_to_the_next_best_model_when_the_winner_cannot_be_refitted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the validation winner cannot be fitted on the whole window, the next best on
    validation is fitted and used, and a note says why, instead of the historical fallback.

    The failure is injected (the final fit of the winner raises, as BG/NBD's did on these data
    until its flat maximum was no longer taken for a saddle); the validation fits and the fit
    that replaces it are real. On these data the three models reach nearly the same fit in
    the validation window (the winner leads by a few millionths of RMSE), so the winner is
    taken from a run without the failure."""
    plain = superstore_auto_to_mid_2017().extra["model"]
    winner = plain["purchase_model"]["model"]
    label = LABELS[winner]
    real_fit = pipeline_step.fit_plain

    def failing_winner(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == winner:
            raise ConvergenceError(f"{label} fit did not converge: injected failure.")
        return real_fit(name, *args, **kwargs)

    monkeypatch.setattr(pipeline_step, "fit_plain", failing_winner)
    result = superstore_auto_to_mid_2017()
    model = result.extra["model"]
    assert model["fallback"] is None
    card = model["scorecard"]
    ranked = sorted((r for r in card if "rmse" in r), key=lambda r: r["rmse"])
    assert ranked[0]["model"] == winner  # the validation winner, whose final fit fails
    runner_up = next(r for r in ranked if r["model"] != winner)
    chosen = [r for r in card if r.get("chosen")]
    assert chosen == [runner_up]
    used = runner_up["model"] + ("+seasonal" if runner_up["seasonal"] else "")
    assert model["selection"]["chosen"] == used
    assert model["purchase_model"]["model"] == runner_up["model"]
    assert any(n.startswith(f"{label}: ") and "injected failure" in n for n in model["notes"])
    assert len(model["notes"]) == len(set(model["notes"]))
    probs = result.con.execute(
        "SELECT count(*), count(probability_alive), min(probability_alive) FROM customers"
    ).fetchall()[0]
    assert probs[0] == probs[1] and probs[2] > 0


def test_when_no_model_can_be_refitted_the_fallback_names_every_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing(name: str, *args: Any, **kwargs: Any) -> Any:
        raise ConvergenceError(f"{name} fit did not converge: injected failure.")

    monkeypatch.setattr(pipeline_step, "fit_plain", failing)
    reason = superstore_auto_to_mid_2017().extra["model"]["fallback"]["reason"]
    for label in ("BG/NBD: bgnbd", "MBG/NBD: mbgnbd", "Pareto/NBD: pnbd"):
        assert label in reason
    assert not reason.endswith(".")
