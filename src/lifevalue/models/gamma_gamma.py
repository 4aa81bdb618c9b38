"""Gamma-Gamma: the spend-per-purchase model.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for customer
base analysis. *Journal of Marketing Research* 42(4), 415-430; Fader & Hardie (2013), "The
Gamma-Gamma model of monetary value".

The spend of each purchase is Gamma(p, ν); ν varies across customers as Gamma(q, γ). For a customer
with x repeat purchases of mean spend z̄, z̄ | ν ~ Gamma(p x, ν x), and integrating ν out,

    f(z̄ | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q x^(px) z̄^(px-1) / (γ + x z̄)^(px+q).

The model is fitted on repeat customers (x > 0) with z̄ > 0; everybody else is left out and counted
in ``n_excluded_``. It assumes spend is independent of the purchase process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import special

from lifevalue.errors import InputError, InsufficientDataError
from lifevalue.models.base import (
    FREQUENCY_COLUMNS,
    HISTORICAL_CLV_HINT,
    MONETARY_COLUMNS,
    WEIGHT_COLUMNS,
    ArrayLike,
    BaseModel,
    FitResult,
    FloatArray,
    as_float_array,
    collapse_rows,
    column,
    wdot,
    weights_array,
)


def _spend_arrays(
    frequency: ArrayLike | pd.DataFrame, monetary_value: ArrayLike | None
) -> tuple[FloatArray, FloatArray]:
    if isinstance(frequency, pd.DataFrame):
        if monetary_value is not None:
            raise InputError("pass either one DataFrame or two arrays, not both")
        x = column(frequency, FREQUENCY_COLUMNS)
        m = column(frequency, MONETARY_COLUMNS)
    else:
        if monetary_value is None:
            raise InputError(
                "monetary_value is required with a frequency array",
                hint="pass frequency and monetary_value arrays or one DataFrame with those columns",
            )
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        x, m = (np.ascontiguousarray(a) for a in np.broadcast_arrays(x, m))
    if np.any(x < 0):
        raise InputError("frequency must be >= 0", column="frequency")
    return x, m


@dataclass(frozen=True)
class _SpendData:
    """Repeat buyers' (frequency, mean spend) rows with weights, and what the likelihood needs of
    them that does not depend on the parameters."""

    w: FloatArray
    xm: FloatArray  # x * m (total spend)
    wx_row: FloatArray  # w * x
    ux: FloatArray  # distinct frequencies
    log_ux: FloatArray
    wx: FloatArray  # total weight of each distinct frequency
    n: float
    s_xlm: float  # sum of w x log m
    s_lm: float  # sum of w log m

    @classmethod
    def build(cls, x: FloatArray, m: FloatArray, w: FloatArray) -> _SpendData:
        ux, xi = np.unique(x, return_inverse=True)
        wx = np.bincount(xi.reshape(-1), weights=w, minlength=ux.shape[0]).astype(np.float64)
        log_m = np.log(m)
        with np.errstate(divide="ignore"):
            log_ux = np.log(ux)
        return cls(
            w,
            x * m,
            w * x,
            ux,
            log_ux,
            wx,
            float(w.sum()),
            wdot(w * x, log_m),
            wdot(w, log_m),
        )


class GammaGammaModel(BaseModel):
    """Gamma-Gamma model of the mean spend per repeat purchase (Fader, Hardie & Lee 2005).

    Parameters ``p`` (shape of the spend of one purchase), ``q`` and ``gamma`` (shape and rate of
    the customers' spend-rate ν; gamma is in currency units). The mean spend per purchase over all
    customers is ``p gamma / (q - 1)`` (for q > 1).

    Attributes
    ----------
    n_excluded_
        Customers left out of the fit, by reason: ``non_repeat`` (frequency 0), ``zero_spend``
        (repeat buyer with mean spend 0) and ``negative_spend`` (negative after refunds).
    """

    name: ClassVar[str] = "gamma_gamma"
    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    def fit(
        self,
        frequency: ArrayLike | pd.DataFrame,
        monetary_value: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Estimate p, q, gamma by maximum likelihood on the repeat customers.

        Parameters
        ----------
        frequency
            Repeat purchases per customer (count), or a DataFrame with ``frequency`` and
            ``monetary_value`` columns (``x``/``zbar`` are accepted too).
        monetary_value
            Mean spend per repeat purchase, in currency units.
        weights
            Number of customers each row stands for; default 1 each.

        Returns
        -------
        self
            The fitted model. Customers with frequency 0 or spend <= 0 are left out and counted in
            ``n_excluded_``.

        Raises
        ------
        InsufficientDataError
            If fewer than 3 customers remain, or all remaining spends are equal.
        """
        self._set_time_unit(frequency)
        if isinstance(frequency, pd.DataFrame) and weights is None:
            for name in WEIGHT_COLUMNS:
                if name in frequency.columns:
                    weights = frequency[name].to_numpy(dtype=np.float64)
                    break
        x, m = _spend_arrays(frequency, monetary_value)
        w = weights_array(weights, x.shape[0])
        wt = np.ones(x.shape[0]) if w is None else w
        non_repeat = x == 0
        zero = (x > 0) & (m == 0)
        negative = (x > 0) & (m < 0)
        excluded = {
            "non_repeat": float(wt[non_repeat].sum()),
            "zero_spend": float(wt[zero].sum()),
            "negative_spend": float(wt[negative].sum()),
        }
        keep = (x > 0) & (m > 0) & (wt > 0)
        (ux, um), uw = collapse_rows(x[keep], m[keep], weights=wt[keep])
        n = float(uw.sum())
        if n < 3 or np.unique(um).shape[0] < 2:
            raise InsufficientDataError(
                f"GammaGammaModel: only {n:.0f} repeat customers with positive spend "
                f"(left out: {excluded}); the spend model needs several repeat buyers with "
                f"different spends. Fallback: {HISTORICAL_CLV_HINT}, or use the mean spend."
            )
        data = _SpendData.build(ux, um, uw)
        x0 = np.log(np.array([1.0, 2.0, float(np.average(um, weights=uw))]))
        opt = self._minimise(
            lambda v: self._objective(v, data), x0, n, fallback_hint="use the mean spend instead"
        )
        theta = np.exp(opt.x)
        ll = wdot(uw, self._loglik_rows(theta, ux, um))
        extra: dict[str, Any] = {"n_excluded": {k: int(v) for k, v in excluded.items()}}
        self._fit = FitResult(
            params=dict(zip(self.param_names, map(float, theta), strict=True)),
            log_likelihood=ll,
            covariance=opt.cov_log * np.outer(theta, theta),
            n_customers=n,
            converged=opt.converged,
            n_iterations=opt.nit,
            extra=extra,
            notes=self._warn_flat(opt.flat),
        )
        return self

    @property
    def n_excluded_(self) -> dict[str, int]:
        """Customers left out of the fit, by reason (see the class docstring)."""
        ex = self._result().extra.get("n_excluded")
        return dict(ex) if ex else {"non_repeat": 0, "zero_spend": 0, "negative_spend": 0}

    @staticmethod
    def _loglik_rows(theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        p, q, g = theta
        px = p * x
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = (
                special.gammaln(px + q)
                - special.gammaln(px)
                - special.gammaln(q)
                + q * np.log(g)
                + px * np.log(x)
                + (px - 1.0) * np.log(m)
                - (px + q) * np.log(g + x * m)
            )
        return out

    def _objective(
        self, z: FloatArray, data: tuple[FloatArray, FloatArray, FloatArray] | _SpendData
    ) -> tuple[float, FloatArray]:
        d = data if isinstance(data, _SpendData) else self._spend_data(data)
        p, q, g = np.exp(z)
        n = d.n
        # terms of the frequency alone, once per distinct frequency
        pux = p * d.ux
        psi_pxq = special.digamma(pux + q)
        # the only terms of each row: log(gamma + x m) and 1 / (gamma + x m)
        gm = g + d.xm
        lgm = np.log(gm)
        inv = 1.0 / gm
        s_xl, s_l = wdot(d.wx_row, lgm), wdot(d.w, lgm)
        ll = (
            wdot(d.wx, special.gammaln(pux + q) - special.gammaln(pux) + pux * d.log_ux)
            - n * special.gammaln(q)
            + n * q * np.log(g)
            + p * d.s_xlm
            - d.s_lm
            - p * s_xl
            - q * s_l
        )
        d_p = wdot(d.wx, d.ux * (psi_pxq - special.digamma(pux) + d.log_ux)) + d.s_xlm - s_xl
        d_q = wdot(d.wx, psi_pxq) - n * special.digamma(q) + n * np.log(g) - s_l
        d_g = n * q / g - p * wdot(d.wx_row, inv) - q * wdot(d.w, inv)
        grad = -np.array([d_p * p, d_q * q, d_g * g]) / n
        return -float(ll) / n, grad

    @staticmethod
    def _spend_data(data: tuple[FloatArray, FloatArray, FloatArray]) -> _SpendData:
        return _SpendData.build(*data)

    def individual_log_likelihood(
        self, frequency: ArrayLike | pd.DataFrame, monetary_value: ArrayLike | None = None
    ) -> FloatArray:
        """Log-density of each customer's mean spend given the frequency (repeat buyers only).

        Returns
        -------
        numpy.ndarray
            Log-density (unitless log of a density in 1/currency) per customer; ``-inf`` where
            frequency is 0 or spend <= 0 (outside the model's support).
        """
        x, m = _spend_arrays(frequency, monetary_value)
        out = np.full(x.shape[0], -np.inf)
        ok = (x > 0) & (m > 0)
        out[ok] = self._loglik_rows(self._theta(), x[ok], m[ok])
        return out

    def expected_spend(
        self, frequency: ArrayLike | pd.DataFrame, monetary_value: ArrayLike | None = None
    ) -> FloatArray:
        """Expected spend per future purchase of each customer, given the spend observed so far.

        The conditional mean ``p (gamma + x z̄) / (p x + q - 1)``: a weighted average of the
        population mean and the customer's own mean spend z̄ (weight grows with x). Customers with
        frequency 0 get the population mean; a negative mean spend (refunds) is treated as 0.

        Parameters
        ----------
        frequency
            Repeat purchases per customer (count), or a DataFrame with ``frequency`` and
            ``monetary_value`` columns.
        monetary_value
            Mean spend per repeat purchase (currency).

        Returns
        -------
        numpy.ndarray
            Expected spend per purchase, in the currency of ``monetary_value``.
        """
        x, m = _spend_arrays(frequency, monetary_value)
        p, q, g = self._theta()
        m = np.where(x > 0, np.clip(m, 0.0, None), 0.0)
        den = p * x + q - 1.0
        if np.any(den <= 0):
            raise InputError(
                f"the expected spend is infinite for these parameters (q={q:.3g} <= 1 and small "
                "frequency): the fitted spend distribution has no mean",
                hint="refit with a penalizer, or cap spend outliers",
            )
        out: FloatArray = p * (g + x * m) / den
        return out

    def expected_spend_new_customer(self) -> float:
        """Mean spend per purchase over all customers, ``p gamma / (q - 1)`` (currency units)."""
        p, q, g = self._theta()
        if q <= 1:
            return float("inf")
        return float(p * g / (q - 1.0))

    def predict(self, data: pd.DataFrame) -> pd.DataFrame:
        """Per-customer expected spend as a DataFrame (column ``predicted_spend``, currency)."""
        return pd.DataFrame({"predicted_spend": self.expected_spend(data)}, index=data.index)

    def simulate(self, frequency: ArrayLike, seed: int | None = 0) -> FloatArray:
        """Simulate each customer's mean spend over ``frequency`` purchases.

        Returns
        -------
        numpy.ndarray
            Mean spend per purchase (currency); 0 where frequency is 0.
        """
        x = as_float_array(frequency, "frequency")
        p, q, g = self._theta()
        rng = np.random.default_rng(seed)
        nu = rng.gamma(q, 1.0 / g, x.shape[0])
        pos = x > 0
        out = np.zeros(x.shape[0])
        out[pos] = rng.gamma(p * x[pos], 1.0 / (nu[pos] * x[pos]))
        return out
