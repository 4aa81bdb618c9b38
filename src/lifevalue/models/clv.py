"""Discounted customer lifetime value from a purchase model and a spend model.

CLV over a horizon H, cut into steps of length Δ (both in the purchase model's time unit):

    CLV = Σ_k  E[purchases in step k] · E[spend per purchase] · margin / (1 + d)^(t_k / year)

where t_k is the end of step k and d the *annual* discount rate, so each step's cash flow is
discounted at its end with the per-step rate ``(1 + d)^(Δ in years) - 1`` (see
:func:`per_step_discount_rate`). A "month" is 365.25/12 days and a "year" 365.25 days (note:
lifetimes and PyMC-Marketing take a month as 30 days and a monthly rate).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lifevalue.errors import ConfigError
from lifevalue.models.base import (
    MONETARY_COLUMNS,
    ArrayLike,
    FloatArray,
    PurchaseModel,
    as_float_array,
    column,
    rft_arrays,
)
from lifevalue.models.gamma_gamma import GammaGammaModel

DAYS_PER_UNIT: dict[str, float] = {
    "days": 1.0,
    "day": 1.0,
    "weeks": 7.0,
    "week": 7.0,
    "months": 365.25 / 12.0,
    "month": 365.25 / 12.0,
    "years": 365.25,
    "year": 365.25,
}
"""Length of each supported time unit in days."""


def per_step_discount_rate(annual_rate: float, step: float, time_unit: str) -> float:
    """Discount rate for one step of ``step`` time units, from an annual rate.

    Parameters
    ----------
    annual_rate
        Annual discount rate, e.g. 0.10 for 10% a year.
    step
        Step length in ``time_unit``.
    time_unit
        ``"days"``, ``"weeks"``, ``"months"`` (365.25/12 days) or ``"years"``.

    Returns
    -------
    float
        ``(1 + annual_rate) ** (step in years) - 1``; e.g. 10% a year is about 0.183% a week.
    """
    years = step * _days_per_unit(time_unit) / 365.25
    return math.expm1(years * math.log1p(annual_rate))


def _days_per_unit(time_unit: str) -> float:
    try:
        return DAYS_PER_UNIT[time_unit.lower()]
    except KeyError:
        raise ConfigError(
            f"unknown time unit {time_unit!r}; use one of days, weeks, months, years"
        ) from None


def customer_lifetime_value(
    purchase_model: PurchaseModel,
    spend_model: GammaGammaModel | None,
    frequency: ArrayLike | pd.DataFrame,
    recency: ArrayLike | None = None,
    T: ArrayLike | None = None,
    monetary_value: ArrayLike | None = None,
    horizon: float | None = None,
    discount_rate: float = 0.1,
    time_unit: str | None = None,
    margin: float = 1.0,
    step: float = 1.0,
) -> FloatArray:
    """Discounted expected margin each customer brings over the next ``horizon`` time units.

    Parameters
    ----------
    purchase_model
        A fitted purchase model (BG/NBD, MBG/NBD, Pareto/NBD).
    spend_model
        A fitted Gamma-Gamma model for the spend per purchase, or ``None`` to take
        ``monetary_value`` as each customer's spend per purchase as it is.
    frequency, recency, T, monetary_value
        Per-customer summary arrays (recency and T in the model's time unit, monetary value in
        currency), or one DataFrame with those columns as ``frequency``.
    horizon
        How far ahead to sum, in the model's time unit (e.g. 52 with weekly data for one year).
    discount_rate
        *Annual* discount rate (0.1 = 10% a year); converted to the per-step rate
        ``(1 + d)^(step in years) - 1``. Use 0 for no discounting.
    time_unit
        Time unit of the model (``"days"``, ``"weeks"``, ``"months"``, ``"years"``); defaults to
        the model's ``time_unit``. An explicit value must agree with the model's.
    margin
        Profit margin applied to revenue (1.0 = value counted as revenue).
    step
        Length of a discounting step, in the model's time unit (e.g. 7 with daily data for weekly
        steps; cost grows with horizon/step). Each step's purchases are discounted at its end.

    Returns
    -------
    numpy.ndarray
        Discounted CLV per customer, in the currency of ``monetary_value`` (times ``margin``).
    """
    if horizon is None or horizon < 0:
        raise ConfigError("horizon (in the model's time unit) is required and must be >= 0")
    if step <= 0:
        raise ConfigError("step must be > 0")
    if discount_rate <= -1:
        raise ConfigError("discount_rate must be > -1 (it is an annual rate, e.g. 0.1)")
    unit = time_unit or purchase_model.time_unit
    if unit is None:
        raise ConfigError(
            "time_unit is unknown: pass time_unit='days' (or weeks/months) matching the summary"
        )
    if (
        time_unit is not None
        and purchase_model.time_unit is not None
        and _days_per_unit(time_unit) != _days_per_unit(purchase_model.time_unit)
    ):
        raise ConfigError(
            f"time_unit {time_unit!r} disagrees with the purchase model's "
            f"{purchase_model.time_unit!r}"
        )
    days = _days_per_unit(unit)
    if isinstance(frequency, pd.DataFrame):
        x, tx, tt = rft_arrays(frequency, None, None)
        m = column(frequency, MONETARY_COLUMNS)
    else:
        x, tx, tt = rft_arrays(frequency, recency, T)
        if monetary_value is None:
            raise ConfigError("monetary_value is required")
        m = np.broadcast_to(as_float_array(monetary_value, "monetary_value"), x.shape).astype(
            np.float64
        )
    spend = m if spend_model is None else spend_model.expected_spend(x, m)
    n_steps = max(1, math.ceil(horizon / step - 1e-9))
    ends = np.minimum(np.arange(1, n_steps + 1) * step, horizon)
    discount = np.exp(-ends * days / 365.25 * math.log1p(discount_rate))
    theta = purchase_model._theta()
    with np.errstate(all="ignore"):
        pa = np.clip(purchase_model._p_alive(theta, x, tx, tt), 0.0, 1.0)
        total = np.zeros_like(x)
        previous = np.zeros_like(x)
        for end, disc in zip(ends, discount, strict=True):
            cum = purchase_model._expected_alive(theta, np.full_like(x, end), x, tx, tt)
            total += (cum - previous) * disc
            previous = cum
    out: FloatArray = pa * total * spend * margin
    return out
