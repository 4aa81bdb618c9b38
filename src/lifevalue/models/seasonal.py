"""The store's calendar profile of purchases, and seasonal variants of the purchase models.

Profile
-------
The *calendar profile* is the relative repeat-purchase intensity of each calendar month, normalised
so that its mean over the year (weighted by days per month) is 1: a profile value of 1.3 for
November means that a customer buys 30 % more often in November than in an average month.

It is estimated from the repeat purchase days (a customer's first purchase day is left out) up to
the end of the fitting window, against what the purchase model fitted *without* seasonality
expects: a customer acquired on day f is expected to make E(k) - E(k-1) repeat purchases on day
f + k (E the model's expected repeat purchases of a new customer), and the expected counts of all
customers are added up per calendar day (a convolution of the daily acquisitions with these
increments). The profile of a month is actual over expected repeat purchases in that month of the
year (pooled over years), so what the model already explains (customers dropping out, a growing
base, a short first year of data) is not mistaken for season. Months not in the data get 1, and a
weak prior (5 pseudo purchases at the model's rate) keeps thinly observed months near 1.

Seasonal purchase models
------------------------
A seasonal variant runs a purchase model (BG/NBD, MBG/NBD, Pareto/NBD) on the store's clock
instead of the calendar: a customer's purchase rate at date ``s`` is ``λ · profile(month(s))``.
Equivalently, time is warped: operational time ``τ(t) = ∫ profile(month(s)) ds``, and the model is
the ordinary one in operational time. A customer's recency and T are measured in operational time
(from the first purchase day), and the expected purchases over a horizon integrate the profile over
the calendar days of the horizon. In the Pareto/NBD variant the dropout hazard follows the same
clock (customers also drop out faster in busy months); in BG/NBD and MBG/NBD dropout happens at
purchases, so only the purchase rate is warped.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.models.base import ArrayLike, FloatArray, PurchaseModel, as_float_array, rft_arrays

MONTHS = tuple(calendar.month_abbr[1:])
PRIOR_PURCHASES = 5.0
"""Pseudo repeat purchases pulling each month's value towards 1 (a weak Gamma prior)."""

PROFILE_METHOD = (
    "repeat purchase days per calendar month divided by the number the non-seasonal purchase "
    "model expects in that month (from every customer's first purchase day), up to the end of "
    "the fitting window; normalised to a day-weighted mean of 1 over the year"
)


@dataclass(frozen=True)
class SeasonalProfile:
    """Relative purchase intensity of each calendar month (January first), mean 1 over the year.

    Attributes
    ----------
    factors
        Twelve multipliers of the purchase rate, one per calendar month.
    observed
        Whether each month had customer-days in the data (unobserved months are 1).
    repeat_purchases
        Repeat purchase days the profile was estimated from.
    fit_end
        Last day of the data used.
    """

    factors: tuple[float, ...]
    observed: tuple[bool, ...]
    repeat_purchases: int
    fit_end: date

    @classmethod
    def flat(cls, fit_end: date) -> SeasonalProfile:
        """The profile of a store without seasonality (every month 1)."""
        return cls((1.0,) * 12, (False,) * 12, 0, fit_end)

    @property
    def amplitude(self) -> float:
        """Highest over lowest monthly factor (1 for a flat profile)."""
        return max(self.factors) / min(self.factors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (as stored in ``model.json``)."""
        return {
            "method": PROFILE_METHOD,
            "factors": dict(zip(MONTHS, self.factors, strict=True)),
            "observed": {m: o for m, o in zip(MONTHS, self.observed, strict=True)},
            "repeat_purchases": self.repeat_purchases,
            "fit_end": self.fit_end.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeasonalProfile:
        """Rebuild a profile written by :meth:`to_dict`."""
        f = data["factors"]
        o = data.get("observed") or {}
        return cls(
            tuple(float(f[m]) for m in MONTHS),
            tuple(bool(o.get(m, True)) for m in MONTHS),
            int(data.get("repeat_purchases", 0)),
            date.fromisoformat(str(data["fit_end"])),
        )

    def daily(self, start: date, n_days: int) -> FloatArray:
        """The factor of each of ``n_days`` calendar days from ``start``."""
        days = np.datetime64(start, "D") + np.arange(n_days)
        month = days.astype("datetime64[M]").astype(np.int64) % 12
        out: FloatArray = np.asarray(self.factors, dtype=np.float64)[month]
        return out


def daily_purchase_counts(con: Any, fit_end: date, *, table: str = "purchases") -> DailyCounts:
    """First purchases and repeat purchase days per calendar day up to ``fit_end``, from DuckDB."""
    end = fit_end.isoformat()
    rows = con.execute(
        f"""
        WITH d AS (SELECT DISTINCT customer_id, local_date FROM {table}
                   WHERE local_date <= DATE '{end}'),
        f AS (SELECT min(local_date) AS day FROM d GROUP BY customer_id)
        SELECT 0 AS kind, local_date AS day, count(*) AS n FROM d GROUP BY ALL
        UNION ALL
        SELECT 1, day, count(*) FROM f GROUP BY ALL
        """
    ).fetchnumpy()
    return DailyCounts.from_rows(
        np.asarray(rows["kind"]), np.asarray(rows["day"]), np.asarray(rows["n"]), fit_end
    )


@dataclass(frozen=True)
class DailyCounts:
    """Customers acquired (first purchase) and repeat purchase days on each day from ``origin``."""

    origin: np.datetime64
    first: FloatArray
    repeat: FloatArray

    @classmethod
    def from_rows(
        cls, kind: npt.NDArray[Any], day: npt.NDArray[Any], n: npt.NDArray[Any], fit_end: date
    ) -> DailyCounts:
        """Counts from query rows: ``kind`` 0 = customer-days on ``day``, 1 = first purchases."""
        days = np.asarray(day).astype("datetime64[D]")
        if days.shape[0] == 0:
            return cls(np.datetime64(fit_end, "D"), np.zeros(1), np.zeros(1))
        origin = days.min()
        size = int((np.datetime64(fit_end, "D") - origin).astype(np.int64)) + 1
        idx = (days - origin).astype(np.int64)
        k = np.asarray(kind)
        counts = np.asarray(n, dtype=np.float64)
        all_days: FloatArray = np.bincount(idx[k == 0], weights=counts[k == 0], minlength=size)[
            :size
        ].astype(np.float64)
        first: FloatArray = np.bincount(idx[k == 1], weights=counts[k == 1], minlength=size)[
            :size
        ].astype(np.float64)
        # every customer-day is a first purchase day or a repeat purchase day
        return cls(origin, first, all_days - first)

    def until(self, end: date) -> DailyCounts:
        """The counts up to ``end`` (the same as counting with ``end`` as the end of the data:
        a customer's first purchase day does not depend on later purchases)."""
        size = int((np.datetime64(end, "D") - self.origin).astype(np.int64)) + 1
        if size <= 0:
            return DailyCounts(np.datetime64(end, "D"), np.zeros(1), np.zeros(1))
        first = np.zeros(size)
        repeat = np.zeros(size)
        m = min(size, self.first.shape[0])
        first[:m] = self.first[:m]
        repeat[:m] = self.repeat[:m]
        return DailyCounts(self.origin, first, repeat)

    def expected_repeat(self, model: PurchaseModel, unit_days: float) -> FloatArray:
        """Repeat purchase days a (non-seasonal) model expects on each day, summed over cohorts.

        A customer acquired on day f is expected to make E(k) - E(k-1) repeat purchases on day
        f + k, with E the model's expected repeat purchases of a new customer (k in days).
        """
        n = self.first.shape[0]
        ages = np.arange(n + 1, dtype=np.float64) / unit_days
        cum = np.asarray(model.expected_purchases_new_customer(ages), dtype=np.float64)
        inc = np.diff(cum)  # inc[k-1]: expected on day k after the first purchase, k = 1..n
        out: FloatArray = np.convolve(self.first, np.concatenate([[0.0], inc]))[:n]
        return out


def estimate_profile(
    counts: DailyCounts, model: PurchaseModel, unit_days: float, fit_end: date
) -> SeasonalProfile:
    """Estimate the calendar profile: actual over model-expected repeat purchases per month.

    Parameters
    ----------
    counts
        Daily first and repeat purchases up to ``fit_end`` (:func:`daily_purchase_counts`).
    model
        A purchase model fitted, without seasonality, on the same data.
    unit_days
        Length of the model's time unit in days.

    Returns
    -------
    SeasonalProfile
        Twelve factors, day-weighted mean 1 over the year; months not in the data are 1.
    """
    n_repeat = int(counts.repeat.sum())
    if n_repeat == 0:
        return SeasonalProfile.flat(fit_end)
    with np.errstate(all="ignore"):
        expected = counts.expected_repeat(model, unit_days)
    dates = counts.origin + np.arange(counts.first.shape[0])
    moy = dates.astype("datetime64[M]").astype(np.int64) % 12
    actual_m = np.bincount(moy, weights=counts.repeat, minlength=12)
    expected_m = np.bincount(moy, weights=np.nan_to_num(expected), minlength=12)
    observed = expected_m > 0
    # a weak prior (PRIOR_PURCHASES pseudo purchases at the model's rate) keeps thin months near 1
    ratio = np.where(observed, (actual_m + PRIOR_PURCHASES) / (expected_m + PRIOR_PURCHASES), 1.0)
    days = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    ratio = np.where(observed, ratio / np.average(ratio[observed], weights=days[observed]), 1.0)
    ratio = ratio / np.average(ratio, weights=days)
    return SeasonalProfile(
        tuple(float(v) for v in ratio), tuple(bool(v) for v in observed), n_repeat, fit_end
    )


class TimeWarp:
    """Operational time of a calendar profile around an anchor date (the end of the data).

    Times are in days relative to the anchor (negative before it); ``op(u)`` is the operational
    time from the anchor to ``u`` (``∫_0^u profile``), piecewise linear within days. The time
    interval (k - 1, k] is calendar day anchor + k (a purchase k days after another is k time
    units later, as in the summary).
    """

    def __init__(self, profile: SeasonalProfile, anchor: date) -> None:
        self.profile = profile
        self.anchor = anchor
        self._lo = 0
        self._hi = 0
        self._grid: FloatArray = np.zeros(1)
        self._cum: FloatArray = np.zeros(1)

    def _cover(self, lo: float, hi: float) -> None:
        lo_i = int(np.floor(min(lo, 0.0))) - 1
        hi_i = int(np.ceil(max(hi, 0.0))) + 1
        if lo_i >= self._lo and hi_i <= self._hi and self._grid.shape[0] > 1:
            return
        lo_i = min(lo_i, self._lo)
        hi_i = max(hi_i, self._hi)
        # the interval (u - 1, u] of time is the day anchor + u: a purchase on the k-th day after
        # the first is at time k (as recency and T count days), so the grid step [j, j + 1)
        # takes the factor of day anchor + j + 1
        f = self.profile.daily(self.anchor + timedelta(days=lo_i + 1), hi_i - lo_i)
        cum = np.concatenate([[0.0], np.cumsum(f)])
        self._cum = cum - cum[-lo_i]
        self._grid = np.arange(lo_i, hi_i + 1, dtype=np.float64)
        self._lo, self._hi = lo_i, hi_i

    def op(self, u: FloatArray) -> FloatArray:
        """Operational days from the anchor to ``u`` days after it (negative before it)."""
        u = np.asarray(u, dtype=np.float64)
        if u.size:
            self._cover(float(u.min()), float(u.max()))
        # whole days (the usual case: recency and T count days) are grid points: look them up
        # (the same values np.interp returns there, without its search)
        pos = u - self._grid[0]
        k = pos.astype(np.int64)
        if np.array_equal(k, pos):
            looked_up: FloatArray = self._cum[k]
            return looked_up
        out: FloatArray = np.interp(u, self._grid, self._cum)
        return out

    def calendar(self, op_days: FloatArray, max_days: float = 36525.0) -> FloatArray:
        """Calendar days after the anchor at which ``op_days`` operational days have passed."""
        v = np.asarray(op_days, dtype=np.float64)
        top = float(np.nanmax(v, initial=0.0))
        need = max(400.0, min(top * 2.0 / max(min(self.profile.factors), 1e-3), max_days))
        self._cover(0.0, need)
        start = -self._lo
        out: FloatArray = np.interp(v, self._cum[start:], self._grid[start:], right=np.inf)
        return out


class SeasonalPurchaseModel:
    """A fitted purchase model on the store's clock (see the module docstring).

    Takes and returns calendar times in the model's time unit, like the plain models: recency and T
    of a summary measured at ``anchor`` (the end of the data), and horizons from ``anchor`` on.

    Parameters
    ----------
    base
        The purchase model, fitted (or to be fitted) in operational time.
    profile
        The calendar profile.
    anchor
        The date at which the customers' T is measured (the calibration end).
    unit_days
        Length of the model's time unit in days (1 or 7).
    """

    def __init__(
        self, base: PurchaseModel, profile: SeasonalProfile, anchor: date, unit_days: float
    ) -> None:
        self.base = base
        self.profile = profile
        self.anchor = anchor
        self.unit_days = float(unit_days)
        self.warp = TimeWarp(profile, anchor)

    @property
    def name(self) -> str:
        """The base model's name (``bgnbd``, ``mbgnbd``, ``pnbd``)."""
        return self.base.name

    @property
    def time_unit(self) -> str | None:
        """Time unit of recency, T and horizons."""
        return self.base.time_unit

    def at(self, anchor: date) -> SeasonalPurchaseModel:
        """The same model for a summary measured at another date."""
        return SeasonalPurchaseModel(self.base, self.profile, anchor, self.unit_days)

    # ---- time conversion -------------------------------------------------------------------

    def history(self, recency: FloatArray, T: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Recency and T in operational time (model time unit) from calendar recency and T."""
        ud = self.unit_days
        first = -T * ud
        op_first = self.warp.op(first)
        tx_op = (self.warp.op(first + recency * ud) - op_first) / ud
        t_op = -op_first / ud
        return np.maximum(tx_op, 0.0), np.maximum(t_op, tx_op)

    def horizon(self, t: FloatArray) -> FloatArray:
        """Operational length (model time unit) of ``t`` calendar time units after the anchor."""
        out: FloatArray = self.warp.op(np.asarray(t, dtype=np.float64) * self.unit_days)
        return out / self.unit_days

    def calendar_after(self, t_op: FloatArray) -> FloatArray:
        """Calendar time units after the anchor at which ``t_op`` operational units have passed."""
        out: FloatArray = self.warp.calendar(np.asarray(t_op) * self.unit_days) / self.unit_days
        return out

    # ---- fit and predictions (calendar inputs) ----------------------------------------------

    def fit(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None
    ) -> SeasonalPurchaseModel:
        """Fit the base model on the histories measured in operational time."""
        x, tx, tt = rft_arrays(frequency, recency, T)
        tx_op, t_op = self.history(tx, tt)
        self.base.fit(x, tx_op, t_op, weights=weights)
        return self

    def _warped(
        self, frequency: ArrayLike | pd.DataFrame, recency: ArrayLike | None, T: ArrayLike | None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x, tx, tt = rft_arrays(frequency, recency, T)
        tx_op, t_op = self.history(tx, tt)
        return x, tx_op, t_op

    def probability_alive(
        self,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
    ) -> FloatArray:
        """Probability that each customer is still active at the anchor date."""
        return self.base.probability_alive(*self._warped(frequency, recency, T))

    def expected_purchases(
        self,
        t: ArrayLike,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
    ) -> FloatArray:
        """Expected purchases in the ``t`` calendar time units after the anchor (a count)."""
        t_op = self.horizon(as_float_array(t, "t"))
        return self.base.expected_purchases(t_op, *self._warped(frequency, recency, T))

    def purchases_interval(
        self,
        t: ArrayLike,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        level: float = 0.9,
    ) -> tuple[FloatArray, FloatArray]:
        """Prediction interval of the purchases in the ``t`` calendar units after the anchor."""
        t_op = self.horizon(as_float_array(t, "t"))
        return self.base.purchases_interval(t_op, *self._warped(frequency, recency, T), level=level)

    def to_dict(self) -> dict[str, Any]:
        """The base model's dict plus the profile under ``"seasonal"``."""
        d = self.base.to_dict()
        d["seasonal"] = {"profile": self.profile.to_dict(), "anchor": self.anchor.isoformat()}
        return d
