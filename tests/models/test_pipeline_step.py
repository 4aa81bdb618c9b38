"""The model step's columns in the customers table: right customer, same row order."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np

from lifevalue.models import BetaGeoModel
from lifevalue.models.pipeline_step import ModelOptions, predict_into_customers


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
