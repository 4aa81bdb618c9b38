"""sBG: the shifted-beta-geometric model of subscriber retention (contractual setting).

Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. *Journal of Interactive
Marketing* 21(1), 76-90.

Each subscriber renews at the end of every period with a constant probability 1 - θ; the churn
probability θ varies across subscribers as Beta(α, β). The probability of churning in period t
and of surviving beyond period t are

    P(T = t) = B(α+1, β+t-1) / B(α, β),      S(t) = B(α, β+t) / B(α, β),

so the retention rate S(t)/S(t-1) = (β+t-1)/(α+β+t-1) rises over time (sorting effect). Time is
counted in whole periods (months, years, ...), the unit of the data.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from lifevalue.errors import InputError, InsufficientDataError
from lifevalue.models._special import log_hyp2f1_one
from lifevalue.models.base import BaseModel, FitResult, FloatArray, wdot


def _cohort_matrix(active: npt.ArrayLike | pd.DataFrame) -> FloatArray:
    """Cohorts x periods matrix of active counts (NaN where not observed)."""
    if isinstance(active, pd.DataFrame):
        cols = {str(c).lower(): c for c in active.columns}
        if {"cohort", "period", "active"} <= set(cols):
            wide = active.pivot_table(
                index=cols["cohort"], columns=cols["period"], values=cols["active"], aggfunc="sum"
            )
            mat = wide.sort_index(axis=1).to_numpy(dtype=np.float64)
        else:
            mat = active.to_numpy(dtype=np.float64)
    else:
        mat = np.asarray(active, dtype=np.float64)
    if mat.ndim == 1:
        mat = mat[None, :]
    if mat.ndim != 2 or mat.shape[1] < 2:
        raise InputError(
            "expected active counts per period: at least the starting count and one more period",
            hint="pass e.g. [1000, 631, 468, ...] or a cohorts x periods table",
        )
    return mat


class ShiftedBetaGeoModel(BaseModel):
    """Shifted-beta-geometric retention model for subscriptions (Fader & Hardie 2007).

    Fitted from the number of subscribers of each cohort still active at the start (period 0) and
    after each period. Parameters ``alpha`` and ``beta`` of the Beta distribution of the per-period
    churn probability; the mean churn probability of a new subscriber is alpha / (alpha + beta).
    """

    name: ClassVar[str] = "sbg"
    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")

    def fit(self, active: npt.ArrayLike | pd.DataFrame) -> Self:
        """Estimate alpha and beta by maximum likelihood.

        Parameters
        ----------
        active
            Subscribers still active after 0, 1, 2, ... periods. One cohort as a sequence
            (``[1000, 631, 468, ...]``, the first value the cohort size), several cohorts as a 2-d
            array or a wide DataFrame (one row per cohort, NaN after a cohort's last observed
            period), or a long DataFrame with columns ``cohort``, ``period``, ``active``.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InputError
            If counts are negative or increase over time.
        InsufficientDataError
            If no subscriber churned (nothing identifies the churn distribution).
        """
        mat = _cohort_matrix(active)
        churn, surv_end, size = self._aggregate(mat)
        if churn.sum() <= 0:
            raise InsufficientDataError(
                "ShiftedBetaGeoModel: no subscriber churned in the data, so the churn "
                "distribution cannot be estimated; observe more periods or use the observed "
                "retention rate"
            )
        if surv_end.sum() <= 0 and np.count_nonzero(churn) < 2:
            raise InsufficientDataError(
                "ShiftedBetaGeoModel: every subscriber churned in the same period; the data "
                "cannot separate alpha from beta"
            )
        data = (churn, surv_end)
        mean_churn = float(churn[0] / size) if size > 0 else 0.5
        mean_churn = min(max(mean_churn, 0.01), 0.99)
        x0 = np.log(np.array([mean_churn, 1.0 - mean_churn]))
        opt = self._minimise(
            lambda v: self._objective(v, data),
            x0,
            size,
            fallback_hint="use the observed period-on-period retention rates",
        )
        theta = np.exp(opt.x)
        ll = -self._objective(opt.x, data)[0] * size
        extra: dict[str, Any] = {"n_periods": int(mat.shape[1] - 1), "n_cohorts": int(mat.shape[0])}
        self._fit = FitResult(
            params=dict(zip(self.param_names, map(float, theta), strict=True)),
            log_likelihood=float(ll),
            covariance=opt.cov_log * np.outer(theta, theta),
            n_customers=size,
            converged=opt.converged,
            n_iterations=opt.nit,
            extra=extra,
            notes=self._warn_flat(opt.flat),
        )
        return self

    @staticmethod
    def _aggregate(mat: FloatArray) -> tuple[FloatArray, FloatArray, float]:
        """Total churn in each period 1..L and survivors at each cohort's last observed period."""
        n_per = mat.shape[1] - 1
        churn = np.zeros(n_per)
        surv_end = np.zeros(n_per + 1)
        size = 0.0
        for i, row in enumerate(mat):  # loop over cohorts (a few dozen), not customers
            obs = row[~np.isnan(row)]
            if obs.shape[0] != np.flatnonzero(~np.isnan(row)).max(initial=-1) + 1:
                raise InputError(f"cohort {i}: missing values before the last observed period")
            if obs.shape[0] == 0:
                continue
            if np.any(obs < 0) or np.any(np.diff(obs) > 0):
                raise InputError(
                    f"cohort {i}: active counts must be >= 0 and must not increase over time",
                    hint="pass the number still active after each period, cohort size first",
                )
            size += float(obs[0])
            churn[: obs.shape[0] - 1] += -np.diff(obs)
            surv_end[obs.shape[0] - 1] += obs[-1]
        return churn, surv_end, size

    def _objective(
        self, z: FloatArray, data: tuple[FloatArray, FloatArray]
    ) -> tuple[float, FloatArray]:
        churn, surv_end = data
        a, b = np.exp(z)
        n = float(churn.sum() + surv_end.sum())
        t = np.arange(1, churn.shape[0] + 1, dtype=np.float64)
        L = np.arange(0, surv_end.shape[0], dtype=np.float64)
        base = special.betaln(a, b)
        ll = float(
            wdot(churn, special.betaln(a + 1.0, b + t - 1.0) - base)
            + wdot(surv_end, special.betaln(a, b + L) - base)
        )
        psi_ab = special.digamma(a + b)
        d_base_a = special.digamma(a) - psi_ab
        d_base_b = special.digamma(b) - psi_ab
        psi_abt = special.digamma(a + b + t)
        psi_abl = special.digamma(a + b + L)
        d_a = float(
            wdot(churn, special.digamma(a + 1.0) - psi_abt - d_base_a)
            + wdot(surv_end, special.digamma(a) - psi_abl - d_base_a)
        )
        d_b = float(
            wdot(churn, special.digamma(b + t - 1.0) - psi_abt - d_base_b)
            + wdot(surv_end, special.digamma(b + L) - psi_abl - d_base_b)
        )
        return -ll / n, -np.array([d_a * a, d_b * b]) / n

    # ---- predictions -------------------------------------------------------------------------

    def projected_retention(self, periods: npt.ArrayLike) -> FloatArray:
        """Share of a starting cohort still subscribed after each number of periods.

        Parameters
        ----------
        periods
            Numbers of periods elapsed (0, 1, 2, ...).

        Returns
        -------
        numpy.ndarray
            The survival curve S(t) = B(alpha, beta+t)/B(alpha, beta): a fraction between 0 and 1
            (1 at t = 0). Multiply by the cohort size for a head count.
        """
        t = np.asarray(periods, dtype=np.float64)
        if np.any(t < 0):
            raise InputError("periods must be >= 0")
        a, b = self._theta()
        out: FloatArray = np.exp(special.betaln(a, b + t) - special.betaln(a, b))
        return out

    survival_function = projected_retention

    def retention_rate(self, periods: npt.ArrayLike) -> FloatArray:
        """Period-on-period retention rate: share of those active after t-1 periods who renew.

        Returns
        -------
        numpy.ndarray
            r(t) = S(t)/S(t-1) = (beta+t-1)/(alpha+beta+t-1), a probability, for t >= 1.
        """
        t = np.asarray(periods, dtype=np.float64)
        if np.any(t < 1):
            raise InputError("retention rates are defined for periods >= 1")
        a, b = self._theta()
        out: FloatArray = (b + t - 1.0) / (a + b + t - 1.0)
        return out

    def churn_probability(self, periods: npt.ArrayLike) -> FloatArray:
        """Probability that a new subscriber churns in period t (is active t-1 periods, not t).

        Returns
        -------
        numpy.ndarray
            P(T = t) = B(alpha+1, beta+t-1)/B(alpha, beta), a probability, for t >= 1.
        """
        t = np.asarray(periods, dtype=np.float64)
        if np.any(t < 1):
            raise InputError("churn probabilities are defined for periods >= 1")
        a, b = self._theta()
        out: FloatArray = np.exp(special.betaln(a + 1.0, b + t - 1.0) - special.betaln(a, b))
        return out

    def expected_lifetime(self, horizon: int | None = None) -> float:
        """Expected number of periods a new subscriber stays (its number of payments).

        Counts the first period: E[T] = sum over t >= 0 of S(t), which is
        (alpha+beta-1)/(alpha-1) for alpha > 1 and infinite otherwise (heavy-tailed loyalty).

        Parameters
        ----------
        horizon
            If given, the expectation of min(T, horizon): the mean number of periods within the
            first ``horizon`` periods.

        Returns
        -------
        float
            Expected lifetime in periods (may be ``inf`` without a horizon).
        """
        a, b = self._theta()
        if horizon is None:
            return float((a + b - 1.0) / (a - 1.0)) if a > 1 else float("inf")
        if horizon < 0:
            raise InputError("horizon must be >= 0")
        return float(np.sum(self.projected_retention(np.arange(int(horizon)))))

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """Discounted expected lifetime (DEL) of a new subscriber.

        The sum over periods t >= 0 of S(t) / (1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d))
        (Fader & Hardie 2010): the present value, in "payments", of a subscriber paying 1 at the
        start of every period while active. Multiply by the payment per period for a CLV.

        Parameters
        ----------
        discount_rate
            Discount rate per period (e.g. 0.1 for 10% per period), > 0.

        Returns
        -------
        float
            Discounted number of periods (payments).
        """
        if discount_rate <= 0:
            raise InputError("discount_rate must be > 0 (the undiscounted sum may be infinite)")
        a, b = self._theta()
        z = np.array([1.0 / (1.0 + discount_rate)])
        return float(np.exp(log_hyp2f1_one(np.array([b]), np.array([a + b]), z))[0])

    def simulate(self, n_customers: int, n_periods: int, seed: int | None = 0) -> FloatArray:
        """Simulate one cohort: number still active after 0, 1, ..., n_periods periods.

        Returns
        -------
        numpy.ndarray
            Counts of active subscribers (length n_periods + 1, first value n_customers).
        """
        a, b = self._theta()
        rng = np.random.default_rng(seed)
        theta = rng.beta(a, b, n_customers)
        lifetime = rng.geometric(theta)  # period of churn, 1, 2, ...
        t = np.arange(n_periods + 1)
        out: FloatArray = (lifetime[None, :] > t[:, None]).sum(axis=1).astype(np.float64)
        return out
