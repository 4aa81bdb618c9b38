"""The calendar profile and the seasonal variants of the purchase models."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from lifevalue.models import BetaGeoModel, ParetoNBDModel
from lifevalue.models.seasonal import (
    MONTHS,
    SeasonalProfile,
    SeasonalPurchaseModel,
    TimeWarp,
    daily_purchase_counts,
    estimate_profile,
)
from lifevalue.models.selection import (
    Histories,
    fit_seasonal,
    histories_from_customers,
    inner_histories,
    inner_histories_and_counts,
    score,
    select_model,
)

# a store that sells twice as much per customer in November and December, less in summer
TRUE = (1.0, 0.9, 0.9, 0.9, 0.9, 0.7, 0.6, 0.6, 0.9, 1.1, 2.0, 2.2)


def _profile(factors: tuple[float, ...] = TRUE) -> SeasonalProfile:
    days = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    f = np.asarray(factors) / np.average(factors, weights=days)
    return SeasonalProfile(tuple(map(float, f)), (True,) * 12, 0, date(2024, 12, 31))


def simulate_store(
    n: int, start: date, end: date, profile: SeasonalProfile, seed: int = 0
) -> pd.DataFrame:
    """Purchase days of a BG/NBD store (r=0.5, alpha=20 days, a=1, b=4) on the store's clock."""
    rng = np.random.default_rng(seed)
    span = (end - start).days
    warp = TimeWarp(profile, start)
    horizon = np.arange(0, span + 2, dtype=np.float64)
    op = warp.op(horizon)  # operational days from `start`
    first = rng.integers(0, span - 30, n)
    lam = rng.gamma(0.5, 1 / 20.0, n)
    p = rng.beta(1.0, 4.0, n)
    rows_c, rows_d = [list(range(n))], [first]
    for i in range(n):  # a few thousand customers: fine for a test
        t = op[first[i]]
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t >= op[span]:
                break
            day = int(np.searchsorted(op, t, side="right") - 1)
            rows_c.append([i])
            rows_d.append(np.array([day]))
            if rng.random() < p[i]:
                break
    cust = np.concatenate([np.asarray(c) for c in rows_c])
    days = np.concatenate(rows_d)
    frame = pd.DataFrame(
        {
            "customer_id": cust.astype(str),
            "local_date": np.datetime64(start, "D") + days.astype("timedelta64[D]"),
        }
    )
    return frame.drop_duplicates()


def _con(frame: pd.DataFrame, cal: date) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("frame", frame)
    # as the pipeline's ``purchases`` view: one row per customer and purchase day
    con.execute(
        "CREATE TABLE purchases AS "
        "SELECT DISTINCT customer_id, CAST(local_date AS DATE) AS local_date FROM frame"
    )
    con.execute(
        f"""
        CREATE TABLE customers AS
        SELECT customer_id, count(*) - 1 AS frequency,
               CAST(max(local_date) - min(local_date) AS DOUBLE) AS recency,
               CAST(DATE '{cal}' - min(local_date) AS DOUBLE) AS "T"
        FROM purchases WHERE local_date <= DATE '{cal}' GROUP BY customer_id
        """
    )
    return con


@pytest.fixture(scope="module")
def store() -> pd.DataFrame:
    return simulate_store(6000, date(2022, 1, 1), date(2024, 12, 31), _profile(), seed=3)


def test_profile_round_trip_and_flat() -> None:
    p = _profile()
    again = SeasonalProfile.from_dict(p.to_dict())
    assert again == p
    assert list(p.to_dict()["factors"]) == list(MONTHS)
    flat = SeasonalProfile.flat(date(2024, 1, 1))
    assert flat.amplitude == 1.0
    days = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    assert np.average(p.factors, weights=days) == pytest.approx(1.0)


def test_time_warp_integrates_the_profile() -> None:
    p = _profile()
    warp = TimeWarp(p, date(2024, 1, 1))
    # the whole of November 2024 counts as 30 days x the November factor
    nov = (date(2024, 10, 31) - date(2024, 1, 1)).days  # (nov, nov + 30] = November
    assert warp.op(np.array([nov + 30.0]))[0] - warp.op(np.array([float(nov)]))[0] == (
        pytest.approx(30 * p.factors[10])
    )
    # before the anchor: negative operational time; half a day is half the day's factor
    # (-31, 0] before the anchor 2024-01-01: December 2 to 31, and the anchor day itself
    assert warp.op(np.array([-31.0]))[0] == pytest.approx(-30 * p.factors[11] - p.factors[0])
    assert warp.op(np.array([0.5]))[0] == pytest.approx(0.5 * p.factors[0])
    assert warp.op(np.array([-0.5]))[0] == pytest.approx(-0.5 * p.factors[0])  # day Jan 1
    # calendar() inverts op()
    u = np.array([0.0, 3.25, 100.0, 400.0, 1000.0])
    assert warp.calendar(warp.op(u)) == pytest.approx(u)
    # a flat profile is the identity
    flat = TimeWarp(SeasonalProfile.flat(date(2024, 1, 1)), date(2024, 1, 1))
    assert flat.op(np.array([-40.0, 7.5])) == pytest.approx([-40.0, 7.5])


def test_flat_seasonal_model_is_the_plain_model(cdnow_summary: pd.DataFrame) -> None:
    plain = ParetoNBDModel().fit(cdnow_summary)
    flat = SeasonalPurchaseModel(
        plain, SeasonalProfile.flat(date(1997, 9, 30)), date(1997, 9, 30), 7
    )
    f, r, t = (cdnow_summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(flat.probability_alive(f, r, t), plain.probability_alive(f, r, t))
    np.testing.assert_allclose(
        flat.expected_purchases(39, f, r, t), plain.expected_purchases(39, f, r, t), rtol=1e-12
    )
    lo, hi = flat.purchases_interval(39, f[:50], r[:50], t[:50])
    lo2, hi2 = plain.purchases_interval(39, f[:50], r[:50], t[:50])
    assert (lo == lo2).all() and (hi == hi2).all()
    d = flat.to_dict()
    assert d["model"] == "pnbd" and d["seasonal"]["anchor"] == "1997-09-30"


def test_warped_history_measures_recency_and_t_on_the_store_clock() -> None:
    p = _profile()
    model = SeasonalPurchaseModel(BetaGeoModel(), p, date(2024, 12, 31), 1.0)
    # first purchase on 2024-11-01 (T = 60 days), last on 2024-11-30 (recency 29 days): the
    # time (k - 1, k] after the first purchase is the k-th day after it
    tx, tt = model.history(np.array([29.0]), np.array([60.0]))
    assert tx[0] == pytest.approx(29 * p.factors[10])
    assert tt[0] == pytest.approx(29 * p.factors[10] + 31 * p.factors[11])
    # a horizon over January only (the days after the anchor)
    assert model.horizon(np.array([31.0]))[0] == pytest.approx(31 * p.factors[0])


def test_profile_recovers_the_store_calendar(store: pd.DataFrame) -> None:
    cal = date(2024, 12, 31)
    con = _con(store, cal)
    hist = histories_from_customers(con)
    plain = BetaGeoModel(time_unit="days").fit(hist.x, hist.tx, hist.T, weights=hist.weight)
    est = estimate_profile(daily_purchase_counts(con, cal), plain, 1.0, cal)
    truth = np.asarray(_profile().factors)
    got = np.asarray(est.factors)
    assert all(est.observed)
    assert np.corrcoef(got, truth)[0, 1] > 0.95
    assert np.max(np.abs(got - truth)) < 0.3
    assert got[10] > 1.5 and got[11] > 1.5 and got[6] < 0.8


def test_seasonal_variant_wins_validation_and_predicts_the_busy_season(
    store: pd.DataFrame,
) -> None:
    """Calibrate to the end of September 2024: the plain model, which averages the year,
    under-predicts the purchases of the busy autumn; the seasonal variant does not, and the
    choice made on the inner validation window (inside the calibration period) picks it."""
    cal = date(2024, 9, 30)
    con = _con(store, cal)
    sel = select_model(con, cal, "days", candidates=("bgnbd",), seasonal="auto")
    assert sel.name == "bgnbd" and sel.seasonal
    assert [r["variant"] for r in sel.scorecard] == ["bgnbd", "bgnbd+seasonal"]
    # holdout: October to December 2024, never seen by the choice
    end = date(2024, 12, 31)
    full = _con(store, end)
    hold = inner_histories(full, cal, end, 1.0)
    fit_hist = Histories(hold.x, hold.tx, hold.T, hold.weight)
    plain = BetaGeoModel(time_unit="days").fit(hold.x, hold.tx, hold.T, weights=hold.weight)
    counts = daily_purchase_counts(full, cal)
    profile = estimate_profile(counts, plain, 1.0, cal)
    seasonal = fit_seasonal(plain, fit_hist, profile, cal, "days", [])
    length = float((end - cal).days)
    s_plain = score(plain, hold, length)
    s_seasonal = score(seasonal, hold, length)
    assert s_plain["total_error"] < -0.2  # the plain model misses the season by a fifth or more
    assert abs(s_seasonal["total_error"]) < 0.1
    assert s_seasonal["rmse"] < s_plain["rmse"]


def test_inner_histories_match_the_summary_definitions(store: pd.DataFrame) -> None:
    con = _con(store, date(2024, 12, 31))
    inner, fit_end = date(2024, 6, 30), date(2024, 12, 31)
    h = inner_histories(con, inner, fit_end, 7.0)
    direct = con.execute(
        f"""
        SELECT count(*) FILTER (local_date <= DATE '{inner}') - 1 AS x,
               count(*) FILTER (local_date > DATE '{inner}') AS h,
               (max(local_date) FILTER (local_date <= DATE '{inner}')
                 - min(local_date)) / 7 AS tx,
               (DATE '{inner}' - min(local_date)) / 7 AS t
        FROM purchases GROUP BY customer_id HAVING min(local_date) <= DATE '{inner}'
        """
    ).df()
    assert h.n_customers == len(direct)
    assert h.holdout is not None
    assert float(np.sum(h.holdout * h.weight)) == direct["h"].sum()
    assert float(np.sum(h.x * h.weight)) == direct["x"].sum()
    assert float(np.sum(h.T * h.weight)) == pytest.approx(direct["t"].sum())
    assert float(np.sum(h.tx * h.weight)) == pytest.approx(direct["tx"].sum())
    assert (timedelta(days=1).days) == 1


def test_daily_counts_match_a_direct_count(store: pd.DataFrame) -> None:
    """The daily counts (first purchases, repeat purchase days), whether counted on their own or
    in the same pass as the inner histories, and cut at an earlier end, are the direct counts."""
    # a second order on some customer-days (one purchase day, as in the purchases view)
    frame = pd.concat([store, store.iloc[::7]])
    con = _con(frame, date(2024, 12, 31))
    fit_end, inner = date(2024, 12, 31), date(2024, 6, 30)

    def direct(end: date) -> tuple[np.ndarray, np.ndarray]:
        rows = con.execute(
            f"""
            WITH d AS (SELECT DISTINCT customer_id, local_date FROM purchases
                       WHERE local_date <= DATE '{end}'),
            f AS (SELECT customer_id, min(local_date) AS first_day FROM d GROUP BY customer_id)
            SELECT d.local_date - DATE '2022-01-01' AS k,
                   count(*) FILTER (d.local_date = f.first_day) AS first,
                   count(*) FILTER (d.local_date > f.first_day) AS repeat
            FROM d JOIN f USING (customer_id) GROUP BY ALL
            """
        ).df()
        size = (end - date(2022, 1, 1)).days + 1
        first, repeat = np.zeros(size), np.zeros(size)
        first[rows["k"]] = rows["first"]
        repeat[rows["k"]] = rows["repeat"]
        return first, repeat

    _, together = inner_histories_and_counts(con, inner, fit_end, 1.0)
    for counts, end in (
        (daily_purchase_counts(con, fit_end), fit_end),
        (together, fit_end),
        (together.until(inner), inner),
        (daily_purchase_counts(con, inner), inner),
    ):
        first, repeat = direct(end)
        assert counts.origin == np.datetime64("2022-01-01")
        np.testing.assert_array_equal(counts.first, first)
        np.testing.assert_array_equal(counts.repeat, repeat)
    hist = inner_histories(con, inner, fit_end, 1.0)
    assert hist.n_customers == inner_histories_and_counts(con, inner, fit_end, 1.0)[0].n_customers
