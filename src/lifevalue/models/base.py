"""What all models share: input handling, compression to unique rows, the optimiser, standard
errors, persistence, and the prediction API of purchase models.

Conventions
-----------
* Parameters are estimated by maximum likelihood in log space (every parameter is positive) with
  SciPy's L-BFGS-B and analytic gradients, finished by Newton steps (see
  :meth:`BaseModel._minimise`). The objective is the *mean* negative log-likelihood per customer
  plus ``penalizer * sum(theta**2)`` (natural-scale parameters), as in the lifetimes package, so a
  penalizer means the same on small and large data sets. Large fits start from the estimates on a
  sample of customers, or from a similar fit (``initial_params``); the estimates are the same.
* ``log_likelihood_`` is the full, unpenalised log-likelihood of the data (no constant dropped).
* Standard errors come from the inverse Hessian of the (penalised) total negative log-likelihood in
  log space, by forward differences of the analytic gradient at the optimum, mapped to natural
  scale by the delta method. The 95% confidence intervals are computed in log space and
  exponentiated (``exp(log θ ± 1.96 se)``), so they are asymmetric and always positive.
* Times (``recency``, ``T``, horizons ``t``) are in the time unit of the summary the model was
  fitted on (``time_unit``, e.g. ``"days"`` or ``"weeks"``); the models never convert time.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize

from lifevalue.errors import (
    ConvergenceError,
    IdentificationWarning,
    InputError,
    NotFittedError,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

FORMAT_VERSION = 1
"""Version of the JSON format written by :meth:`BaseModel.to_dict`."""

LOG_BOUND = 20.0
"""Log-parameters are kept in [-LOG_BOUND, LOG_BOUND] (about 2e-9 to 5e8)."""

RIDGE_RTOL = 1e-5
"""Eigenvalues of the Hessian (log-parameters) up to this share of the largest are flat
directions of the likelihood; below minus this share, a saddle (see ``_ridge_covariance``)."""

RIDGE_LOADING = 1e-3
"""A parameter whose log moves by more than this along a flat direction is not identified."""

Z95 = 1.959963984540054

HISTORICAL_CLV_HINT = (
    "use the simple historical CLV (spend in the last 12 or 24 months: the spend_12m / spend_24m "
    "columns of the customer summary) instead"
)


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def wdot(u: FloatArray, v: FloatArray) -> float:
    """Dot product of two 1-d arrays without BLAS.

    On small shared machines the BLAS thread pool behind ``np.dot`` competed with the optimiser
    and made fits several times slower; ``einsum`` runs single-threaded SIMD loops.
    """
    return float(np.einsum("i,i->", u, v))


def as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a 1-d float64 array, raising :class:`InputError` on NaN/inf."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"expected a 1-d array, got shape {arr.shape}", column=name)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InputError(
            f"value {arr[bad]} at position {bad} is not a finite number",
            column=name,
            hint="fill or drop missing values before fitting or predicting",
        )
    return arr


def column(data: pd.DataFrame, names: tuple[str, ...]) -> FloatArray:
    """The first of ``names`` that is a column of ``data``, as a float array."""
    for name in names:
        if name in data.columns:
            return as_float_array(data[name].to_numpy(dtype=np.float64), name)
    raise InputError(
        f"the data has no column {names[0]!r}",
        column=names[0],
        hint=f"expected one of {', '.join(names)}; columns present: {', '.join(map(str, data))}",
    )


FREQUENCY_COLUMNS = ("frequency", "x")
RECENCY_COLUMNS = ("recency", "t_x")
T_COLUMNS = ("T",)
MONETARY_COLUMNS = ("monetary_value", "zbar")
WEIGHT_COLUMNS = ("weights", "weight", "count")


def rft_arrays(
    frequency: ArrayLike | pd.DataFrame,
    recency: ArrayLike | None,
    T: ArrayLike | None,
    *,
    validate: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Frequency, recency and T as aligned float arrays, from arrays or from one DataFrame.

    Scalars broadcast against arrays. With ``validate`` the values are checked: frequency a
    non-negative whole number, ``0 <= recency <= T``, ``T >= 0``.
    """
    if isinstance(frequency, pd.DataFrame):
        if recency is not None or T is not None:
            raise InputError("pass either one DataFrame or three arrays, not both")
        x = column(frequency, FREQUENCY_COLUMNS)
        tx = column(frequency, RECENCY_COLUMNS)
        tt = column(frequency, T_COLUMNS)
    else:
        if recency is None or T is None:
            raise InputError(
                "recency and T are required with a frequency array",
                hint="pass frequency, recency, T arrays or one DataFrame with those columns",
            )
        x = as_float_array(frequency, "frequency")
        tx = as_float_array(recency, "recency")
        tt = as_float_array(T, "T")
        x, tx, tt = (np.ascontiguousarray(a) for a in np.broadcast_arrays(x, tx, tt))
    if validate:
        check_rft(x, tx, tt)
    return x, tx, tt


def check_rft(x: FloatArray, tx: FloatArray, T: FloatArray) -> None:
    """Raise :class:`InputError` unless the summary columns are consistent."""
    checks: list[tuple[BoolArray, str, str]] = [
        (x < 0, "frequency", "frequency (repeat purchases) must be >= 0"),
        (x != np.round(x), "frequency", "frequency must be a whole number of repeat purchases"),
        (tx < 0, "recency", "recency must be >= 0"),
        (T < 0, "T", "T (customer age) must be >= 0"),
        (tx > T * (1 + 1e-9) + 1e-12, "recency", "recency must not exceed T"),
    ]
    for bad, name, reason in checks:
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{reason}; row {i} has frequency={x[i]}, recency={tx[i]}, T={T[i]}",
                column=name,
                hint="check the customer summary (same time unit for recency and T)",
            )


def _codes(v: FloatArray) -> tuple[IntArray, int, FloatArray | None, float]:
    """Integer codes of ``v`` that sort like ``v``: ``v - min`` when ``v`` holds whole numbers in
    a moderate range (days, weeks, counts), else ranks from a sorted factorisation."""
    lo = float(v.min())
    c = v - lo
    if float(c.max()) < 2**24 and np.array_equal(c, np.floor(c)):
        return c.astype(np.int64), int(c.max()) + 1, None, lo
    codes, uniques = pd.factorize(v, sort=True)
    return codes.astype(np.int64), int(uniques.shape[0]), np.asarray(uniques, np.float64), lo


def collapse_rows(
    *columns: FloatArray, weights: FloatArray | None = None
) -> tuple[list[FloatArray], FloatArray]:
    """Collapse identical rows of the given columns into unique rows with summed weights.

    Returns the unique rows sorted lexicographically (first column first) and the weight (count
    of customers) of each. Each column is turned into integer codes, the codes into one int64 key,
    and the keys are sorted once: about 0.1 s for a million rows, no Python loop over rows.
    """
    n = columns[0].shape[0]
    w = np.ones(n) if weights is None else weights
    if n == 0:
        return [c.copy() for c in columns], w.copy()
    coded = [_codes(c) for c in columns]
    sizes = [k[1] for k in coded]
    if math.prod(float(s) for s in sizes) >= 2.0**62:  # key would overflow: sort the columns
        order = np.lexsort(columns[::-1])
        sorted_cols = [c[order] for c in columns]
        change = np.zeros(n, dtype=bool)
        change[0] = True
        for c in sorted_cols:
            change[1:] |= c[1:] != c[:-1]
        starts = np.flatnonzero(change)
        return [c[starts] for c in sorted_cols], np.add.reduceat(w[order], starts)
    key = np.zeros(n, dtype=np.int64)
    for codes, size, _, _ in coded:
        key = key * size + codes
    if weights is None:
        ukey, counts = np.unique(key, return_counts=True)
        uw = counts.astype(np.float64)
    else:
        ukey, inverse = np.unique(key, return_inverse=True)
        uw = np.bincount(inverse.reshape(-1), weights=w, minlength=ukey.shape[0]).astype(np.float64)
    out: list[FloatArray] = []
    rest = ukey
    for _, size, uniques, lo in reversed(coded):
        part = rest % size
        rest = rest // size
        out.append(part.astype(np.float64) + lo if uniques is None else uniques[part])
    return out[::-1], uw


def pair_index(x: FloatArray, t: FloatArray) -> tuple[IntArray, IntArray]:
    """The distinct (x, t) pairs: one row holding each (any of its rows), and each row's pair.

    ``x`` holds whole numbers (frequencies). Without sorting when the pairs' codes fit a small
    table (the usual case); else by :func:`numpy.unique`.
    """
    codes_t, uniq_t = pd.factorize(t)
    n_t = max(int(uniq_t.shape[0]), 1)
    key = x.astype(np.int64) * n_t + codes_t
    size = int(key.max()) + 1 if key.shape[0] else 0
    if size <= max(4 * key.shape[0], 1 << 20):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        slot = np.cumsum(present) - 1
        inverse = slot[key].astype(np.int64)
        rep = np.empty(int(present.sum()), dtype=np.int64)
        rep[inverse] = np.arange(key.shape[0])
        return rep, inverse
    _, first_u, inverse_u = np.unique(key, return_index=True, return_inverse=True)
    return first_u.astype(np.int64), inverse_u.reshape(-1).astype(np.int64)


def weights_array(weights: ArrayLike | None, n: int) -> FloatArray | None:
    """Validate optional per-row weights (counts of customers with that row)."""
    if weights is None:
        return None
    w: FloatArray = np.broadcast_to(as_float_array(weights, "weights"), (n,)).astype(np.float64)
    if np.any(w < 0):
        raise InputError("weights must be >= 0", column="weights")
    return w


@dataclass(frozen=True)
class RFTData:
    """Unique (frequency, recency, T) rows with weights, plus per-frequency aggregates.

    ``ux`` are the distinct frequencies, ``xi`` maps each row to its index in ``ux`` and ``wx`` is
    the total weight of each distinct frequency: terms of a log-likelihood that depend on the
    frequency only are evaluated once per distinct frequency.
    """

    x: FloatArray
    tx: FloatArray
    T: FloatArray
    w: FloatArray
    ux: FloatArray
    xi: IntArray
    wx: FloatArray
    xstart: IntArray | None = None

    @property
    def n_customers(self) -> float:
        """Total weight (number of customers)."""
        return float(self.w.sum())

    @classmethod
    def build(
        cls,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
        weights: FloatArray | None = None,
        *,
        collapse: bool = True,
    ) -> RFTData:
        """Collapse to unique rows (unless ``collapse`` is false) and drop zero-weight rows."""
        if collapse:
            (x, tx, T), w = collapse_rows(x, tx, T, weights=weights)
        else:
            w = np.ones(x.shape[0]) if weights is None else weights
        keep = w > 0
        if not np.all(keep):
            x, tx, T, w = x[keep], tx[keep], T[keep], w[keep]
        if x.shape[0] > 0 and np.all(x[1:] >= x[:-1]):  # sorted by frequency (after collapsing)
            xstart = np.flatnonzero(np.r_[True, x[1:] != x[:-1]]).astype(np.int64)
            ux = x[xstart]
            xi = np.repeat(
                np.arange(ux.shape[0], dtype=np.int64), np.diff(np.r_[xstart, x.shape[0]])
            )
            wx = np.add.reduceat(w, xstart)
            return cls(x, tx, T, w, ux, xi, wx.astype(np.float64), xstart)
        ux, xi = np.unique(x, return_inverse=True)
        wx = np.bincount(xi, weights=w, minlength=ux.shape[0])
        return cls(x, tx, T, w, ux, xi.astype(np.int64), wx.astype(np.float64))

    def sum_by_x(self, values: FloatArray) -> FloatArray:
        """Sum ``values`` (one per row) within each distinct frequency."""
        if self.xstart is not None:
            out: FloatArray = np.add.reduceat(values, self.xstart)
            return out
        summed = np.bincount(self.xi, weights=values, minlength=self.ux.shape[0])
        return np.asarray(summed, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# fit results and the optimiser
# --------------------------------------------------------------------------------------------


@dataclass
class FitResult:
    """Everything a fit learned; the ``*_`` attributes of a model read from it."""

    params: dict[str, float]
    log_likelihood: float | None = None
    covariance: FloatArray | None = None
    n_customers: float | None = None
    converged: bool = True
    n_iterations: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Caveats of the fit (e.g. parameters the data do not identify), in plain words."""


class _Optimum(NamedTuple):
    """What :meth:`BaseModel._minimise` found."""

    x: FloatArray  # log-parameters
    fun: float  # mean objective
    cov_log: FloatArray  # covariance of the log-parameters (NaN where not identified)
    converged: bool
    nit: int
    flat: str | None = None  # the parameters the likelihood is flat in, when it is


@dataclass
class _Attempt:
    x: FloatArray
    fun: float
    grad: FloatArray
    success: bool
    message: str
    nit: int


ObjectiveFn = Callable[[FloatArray], tuple[float, FloatArray]]


def numerical_gradient(fun: Callable[[FloatArray], float], x: FloatArray, h: float) -> FloatArray:
    """Central finite-difference gradient of ``fun`` at ``x`` (step ``h`` in each coordinate)."""
    g = np.empty_like(x)
    for j in range(x.shape[0]):
        e = np.zeros_like(x)
        e[j] = h
        g[j] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


def numerical_hessian(
    grad: Callable[[FloatArray], FloatArray], x: FloatArray, h: float
) -> FloatArray:
    """Symmetrised central finite-difference Hessian from a gradient function."""
    k = x.shape[0]
    hess = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        hess[:, j] = (grad(x + e) - grad(x - e)) / (2 * h)
    return 0.5 * (hess + hess.T)


def forward_hessian(
    grad: Callable[[FloatArray], FloatArray], x: FloatArray, g0: FloatArray, h: float
) -> FloatArray:
    """Symmetrised forward-difference Hessian from a gradient function and the gradient ``g0``
    at ``x`` (k gradient evaluations instead of 2k; relative error about h)."""
    k = x.shape[0]
    hess = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        hess[:, j] = (grad(x + e) - g0) / h
    return 0.5 * (hess + hess.T)


def hessian_from_values(fun: Callable[[FloatArray], float], x: FloatArray, h: float) -> FloatArray:
    """Central second-difference Hessian of ``fun`` at ``x`` (1 + 2k^2 evaluations)."""
    k = x.shape[0]
    f0 = fun(x)
    hess = np.empty((k, k))
    eye = np.eye(k) * h
    fp = [fun(x + eye[i]) for i in range(k)]
    fm = [fun(x - eye[i]) for i in range(k)]
    for i in range(k):
        hess[i, i] = (fp[i] - 2 * f0 + fm[i]) / h**2
        for j in range(i):
            fpp = fun(x + eye[i] + eye[j])
            fmm = fun(x - eye[i] - eye[j])
            # f(x+hi+hj) + f(x-hi-hj) - f(x+hi) - f(x-hi) - f(x+hj) - f(x-hj) + 2 f(x) = 2 h^2 H_ij
            hess[i, j] = hess[j, i] = (fpp + fmm - fp[i] - fm[i] - fp[j] - fm[j] + 2 * f0) / (
                2 * h**2
            )
    return hess


def _safe_objective(fun: ObjectiveFn, k: int) -> ObjectiveFn:
    """Wrap an objective so that a non-finite value turns into a large finite one."""

    def wrapped(z: FloatArray) -> tuple[float, FloatArray]:
        with np.errstate(all="ignore"):
            f, g = fun(z)
        if not np.isfinite(f):
            return 1e100, np.zeros(k)
        if not np.all(np.isfinite(g)):
            g = np.nan_to_num(g, nan=0.0, posinf=1e10, neginf=-1e10)
        return float(f), g

    return wrapped


SUBSAMPLE_CUSTOMERS = 50_000
SUBSAMPLE_ROWS = 50_000
"""Fits on more customers (4x) and unique rows than this start from a fit on a sample of
``SUBSAMPLE_CUSTOMERS`` (see :meth:`PurchaseModel._subsample_start`)."""

LBFGS_FTOL = 1e-12
LBFGS_GTOL = 1e-5
"""L-BFGS-B's tolerances (relative improvement of the objective, largest gradient component)
before the Newton steps of :meth:`BaseModel._minimise`."""

NEWTON_STEPS = 6
WARM_NEWTON_STEPS = 10


@dataclass
class _NewtonResult:
    att: _Attempt  # the optimum, or with ``converged`` false the best point reached
    hess: FloatArray  # the Hessian of the mean objective used last
    at: FloatArray | None  # where it was taken (None: not on these data)
    converged: bool = True


def _newton(
    fun: ObjectiveFn,
    att: _Attempt,
    hess: FloatArray,
    n_obs: float,
    steps: int,
    refresh: Callable[[FloatArray, FloatArray], FloatArray | None] | None = None,
    refreshes: int = 0,
    fail_fast: bool = False,
    taken_here: bool = True,
) -> _NewtonResult:
    """Newton steps from ``att`` with the Hessian ``hess`` of the mean objective (taken at
    ``att.x``).

    The Newton decrement n g'H^-1 g (twice the improvement of the total log-likelihood a full
    step promises) measures the distance to the optimum. The steps stop when it is below 1e-10
    (the point is then within about 1e-5 standard errors of the optimum), or below 1e-6 once it
    no longer shrinks (rounding noise of the gradient on very large data). When it shrinks
    slowly, or a step fails, ``refresh(z, g)`` takes the Hessian again (at most ``refreshes``
    times; ``taken_here`` false: ``hess`` is only a guess, e.g. another fit's). The result is not
    ``converged`` when the steps do not get there (a step halved three
    times still makes the objective worse), and with ``fail_fast`` as soon as a step gains less
    than an eighth of the improvement the quadratic model promised (when that is more than 0.5
    in total log-likelihood); it then holds the best point reached.
    """
    z, f, g = att.x, att.fun, att.grad
    at: FloatArray | None = z if taken_here else None
    noise = 1e-12 * max(1.0, abs(f))  # rounding noise of a mean over many customers
    previous = math.inf
    left = refreshes if refresh is not None else 0

    def renew() -> bool:
        nonlocal hess, at, left, previous
        if left <= 0 or refresh is None or at is z:
            return False
        left -= 1
        new = refresh(z, g)
        if new is None:
            return False
        hess, at, previous = new, z, math.inf
        return True

    def result(converged: bool) -> _NewtonResult:
        return _NewtonResult(
            _Attempt(z, f, g, att.success, att.message, att.nit), hess, at, converged
        )

    for _ in range(steps + refreshes):
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            return result(False)
        decrement = n_obs * float(g @ step)
        if not (np.all(np.isfinite(step)) and decrement >= 0):
            return result(False)
        if decrement < 1e-10 or (decrement < 1e-6 and decrement > 0.25 * previous):
            return result(True)
        if decrement > 0.25 * previous and renew():
            continue
        previous = decrement
        for t in (1.0, 0.5, 0.25, 0.125):
            zn = np.clip(z - t * step, -LOG_BOUND, LOG_BOUND)
            fn, gn = fun(zn)
            if fn <= f + noise:
                break
        else:
            if renew():
                continue
            return result(False)
        gain = n_obs * (f - fn)
        z, f, g = zn, fn, gn
        if fail_fast and decrement > 1.0 and gain < 0.125 * decrement:
            return result(False)  # far from quadratic here: the caller's line searches do better
    return result(False)


# --------------------------------------------------------------------------------------------
# the base class
# --------------------------------------------------------------------------------------------


class BaseModel(ABC):
    """Base of all lifevalue models: hyper-parameters, fitted attributes, optimiser, persistence.

    Parameters
    ----------
    penalizer
        L2 penalty on the natural-scale parameters, added to the mean negative log-likelihood per
        customer (``0`` = plain maximum likelihood). A small value such as ``0.001`` stabilises fits
        on small or degenerate data sets.
    n_starts
        Maximum number of optimiser starting points: the first is a data-based guess, the others
        random perturbations of it (fixed seed), tried when the previous start did not converge.
    all_starts
        Run all ``n_starts`` starts and keep the best optimum (a guard against local optima, at
        ``n_starts`` times the cost).
    max_iter
        Maximum L-BFGS-B iterations per start.
    random_state
        Seed for the extra starting points.
    time_unit
        Time unit of recency, T and horizons (``"days"``, ``"weeks"``, ...); recorded for
        persistence and CLV, taken from the data (``DataFrame.attrs["time_unit"]`` or a
        ``time_unit`` column) when not given.
    """

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    analytic_gradient: ClassVar[bool] = True

    def __init__(
        self,
        penalizer: float = 0.0,
        n_starts: int = 3,
        max_iter: int = 2000,
        random_state: int = 0,
        time_unit: str | None = None,
        all_starts: bool = False,
    ) -> None:
        if penalizer < 0:
            raise ValueError("penalizer must be >= 0")
        if n_starts < 1:
            raise ValueError("n_starts must be >= 1")
        self.penalizer = float(penalizer)
        self.n_starts = int(n_starts)
        self.max_iter = int(max_iter)
        self.random_state = int(random_state)
        self.time_unit = time_unit
        self.all_starts = bool(all_starts)
        self._fit: FitResult | None = None

    # ---- fitted attributes --------------------------------------------------------------

    def _result(self) -> FitResult:
        if self._fit is None:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(...) first, or build it with "
                f"{type(self).__name__}.from_params(...) / load_model(path)"
            )
        return self._fit

    @property
    def is_fitted(self) -> bool:
        """Whether parameters are available (fitted, loaded or set)."""
        return self._fit is not None

    @property
    def params_(self) -> dict[str, float]:
        """Estimated parameters, name -> value (natural scale)."""
        return dict(self._result().params)

    def _theta(self) -> FloatArray:
        p = self._result().params
        return np.array([p[n] for n in self.param_names], dtype=np.float64)

    @property
    def log_likelihood_(self) -> float:
        """Log-likelihood of the data at the estimates (full likelihood, no constant dropped)."""
        ll = self._result().log_likelihood
        if ll is None:
            raise NotFittedError("this model was built from parameters, not fitted: no likelihood")
        return ll

    @property
    def n_customers_(self) -> float:
        """Number of customers (total weight) the model was fitted on."""
        n = self._result().n_customers
        if n is None:
            raise NotFittedError("this model was built from parameters, not fitted")
        return n

    @property
    def converged_(self) -> bool:
        """Whether the optimiser reached a maximum of the likelihood inside the allowed range
        (a fit that does not raises :class:`~lifevalue.errors.ConvergenceError`; a maximum on a
        ridge counts, see :attr:`identified_`)."""
        return self._result().converged

    @property
    def identified_(self) -> bool:
        """Whether the data pin down every parameter (the Hessian at the optimum is positive
        definite). False: the likelihood is flat along a ridge there, :attr:`fit_notes_` names
        the parameters on it and their standard errors are NaN."""
        cov = self._result().covariance
        return cov is None or bool(np.all(np.isfinite(cov)))

    @property
    def fit_notes_(self) -> list[str]:
        """Caveats of the fit in plain words (empty when there are none)."""
        return list(self._result().notes)

    @property
    def covariance_(self) -> FloatArray:
        """Covariance matrix of the estimates (natural scale, order of ``param_names``)."""
        cov = self._result().covariance
        if cov is None:
            raise NotFittedError("no covariance: the model was built from parameters, not fitted")
        return cov.copy()

    @property
    def standard_errors_(self) -> dict[str, float]:
        """Standard errors of the estimates (natural scale, delta method)."""
        se = np.sqrt(np.clip(np.diag(self.covariance_), 0.0, None))
        return dict(zip(self.param_names, map(float, se), strict=True))

    @property
    def confidence_intervals_(self) -> dict[str, tuple[float, float]]:
        """95% confidence intervals, computed in log space: ``exp(log θ ± 1.96 · se(log θ))``."""
        theta = self._theta()
        se_log = np.sqrt(np.clip(np.diag(self.covariance_), 0.0, None)) / theta
        lo = theta * np.exp(-Z95 * se_log)
        hi = theta * np.exp(Z95 * se_log)
        return {n: (float(a), float(b)) for n, a, b in zip(self.param_names, lo, hi, strict=True)}

    @property
    def aic_(self) -> float:
        """Akaike information criterion, ``2k - 2 LL``."""
        return 2 * len(self.param_names) - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        """Bayesian information criterion, ``k log(n) - 2 LL`` with n the number of customers."""
        return len(self.param_names) * math.log(self.n_customers_) - 2 * self.log_likelihood_

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% intervals as a small table (one row per parameter)."""
        params = self.params_
        rows: dict[str, list[float]] = {"estimate": [params[n] for n in self.param_names]}
        if self._result().covariance is not None:
            se, ci = self.standard_errors_, self.confidence_intervals_
            rows["standard_error"] = [se[n] for n in self.param_names]
            rows["lower_95"] = [ci[n][0] for n in self.param_names]
            rows["upper_95"] = [ci[n][1] for n in self.param_names]
        return pd.DataFrame(rows, index=list(self.param_names))

    def __repr__(self) -> str:
        if self._fit is None:
            return f"{type(self).__name__}(penalizer={self.penalizer}, not fitted)"
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self._fit.params.items())
        return f"{type(self).__name__}({ps})"

    # ---- construction from parameters ----------------------------------------------------

    @classmethod
    def from_params(cls, time_unit: str | None = None, **params: float) -> Self:
        """A model with the given parameters and no fit (for prediction and simulation)."""
        missing = set(cls.param_names) - set(params)
        extra = set(params) - set(cls.param_names)
        if missing or extra:
            raise ValueError(
                f"{cls.__name__} needs parameters {', '.join(cls.param_names)}"
                f" (missing: {sorted(missing)}, unknown: {sorted(extra)})"
            )
        for k, v in params.items():
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"parameter {k} must be a positive number, got {v}")
        model = cls(time_unit=time_unit)
        model._fit = FitResult(params={n: float(params[n]) for n in cls.param_names})
        return model

    # ---- optimiser -------------------------------------------------------------------------

    def _penalised(self, fun: ObjectiveFn) -> ObjectiveFn:
        pen = self.penalizer

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            f, g = fun(z)
            if pen > 0:
                theta = np.exp(z)
                f = f + pen * float(np.sum(theta**2))
                g = g + pen * 2 * theta**2
            return f, g

        return objective

    def _minimise(
        self,
        objective: ObjectiveFn,
        x0: FloatArray,
        n_obs: float,
        *,
        fallback_hint: str,
        value: Callable[[FloatArray], float] | None = None,
        warm: bool = False,
        curvature: FloatArray | None = None,
    ) -> _Optimum:
        """Minimise the penalised mean negative log-likelihood from several starts.

        Returns the log-parameters, the mean objective, the covariance of the log-parameters
        (inverse Hessian of the total penalised negative log-likelihood), whether it converged,
        the number of iterations and, when the likelihood is flat along some direction at the
        optimum, a note naming the parameters involved (their variances are NaN; see
        :meth:`_ridge_covariance`). Raises :class:`ConvergenceError` when no start converged.
        ``value`` (the objective's value alone) is used for the Hessian, by second differences,
        when the gradient is itself numerical.

        L-BFGS-B stops once an iteration improves the mean objective by less than
        ``LBFGS_FTOL`` (relative) or the gradient is below ``LBFGS_GTOL``; Newton steps with the
        Hessian computed there (it is needed for the standard errors anyway) then finish the
        job. On a million customers the last digits of the objective are rounding noise, and
        L-BFGS-B's line searches spent most of a fit chasing it; the Newton steps reach the
        optimum to within 1e-5 standard errors. When they do not help, L-BFGS-B resumes with
        strict tolerances (``ftol=1e-14``, ``gtol=1e-9``).

        With ``warm`` (``x0`` is the optimum of a similar fit) Newton steps start right at
        ``x0``, with ``curvature`` (the similar fit's Hessian of the mean objective) or else the
        Hessian taken there; L-BFGS-B runs only if they do not converge.
        """
        k = x0.shape[0]
        fun = _safe_objective(self._penalised(objective), k)

        def hessian(z: FloatArray, g0: FloatArray) -> FloatArray:
            if value is None:
                return n_obs * forward_hessian(lambda v: fun(v)[1], z, g0, 1e-6)
            pen = self.penalizer

            def penalised_value(v: FloatArray) -> float:
                return value(v) + pen * float(np.sum(np.exp(2 * v)))

            return n_obs * hessian_from_values(penalised_value, z, 5e-4)

        nit = 0

        def refresh(z: FloatArray, g: FloatArray) -> FloatArray | None:
            h = hessian(z, g)
            return h / n_obs if self._invert_hessian(h) is not None else None

        found: _NewtonResult | None = None
        if warm:  # Newton steps from the given start
            f0, g0 = fun(x0)
            begin = _Attempt(x0, f0, g0, True, "Newton steps from the given start", 0)
            if self._failure_reason(begin) is None:
                h0 = curvature
                guess = h0 is not None and self._invert_hessian(h0 * n_obs) is not None
                if not guess:
                    h0 = refresh(x0, g0)
                if h0 is not None:
                    found = _newton(
                        fun,
                        begin,
                        h0,
                        n_obs,
                        WARM_NEWTON_STEPS,
                        refresh,
                        1,
                        fail_fast=True,
                        taken_here=not guess,
                    )
                    if not (found.converged and self._attempt_ok(found.att)):
                        x0 = found.att.x  # L-BFGS-B goes on from the best point reached
                        found = None
        if found is None:
            best, nit = self._search(fun, x0)
            reason = self._failure_reason(best)
            if reason is not None:
                raise ConvergenceError(self._failure_message(best, reason, fallback_hint))
            h1 = refresh(best.x, best.grad)
            if h1 is not None:
                found = _newton(fun, best, h1, n_obs, NEWTON_STEPS)
                if not found.converged:
                    found = None
            if found is None:  # Newton did not help: finish with L-BFGS-B's strict tolerance
                tight = self._lbfgs(fun, best.x, 1e-14, 1e-9)
                nit += tight.nit
                if tight.fun <= best.fun and self._attempt_ok(tight):
                    best = tight
                h_end = hessian(best.x, best.grad)
                found = _NewtonResult(best, h_end / n_obs, best.x)
        best = found.att
        hess = found.hess * n_obs
        # moving d standard errors changes the Hessian by about d / sqrt(n) (relative): take it
        # again at the optimum unless that is below 1e-5 (or it was only a guess)
        moved = best.x - (best.x if found.at is None else found.at)
        if found.at is None or float(moved @ found.hess @ moved) > 1e-10:
            hess = hessian(best.x, best.grad)
        cov_log = self._invert_hessian(hess)
        reason = self._failure_reason(best)
        flat: str | None = None
        if reason is None and cov_log is None:
            # the optimiser converged, the Hessian is singular: a ridge of equally likely
            # estimates (e.g. Pareto/NBD's s and beta growing together when few customers drop
            # out). Any point of it is a maximum-likelihood estimate: keep the one found, with
            # NaN variances for the parameters along the ridge. A saddle is still an error.
            x_best, f_best = best.x, best.fun

            def improves(v: FloatArray) -> bool:
                # a step along v (an eigenvector of negative curvature) that raises the
                # likelihood by more than rounding noise: a true saddle, not a flat ridge
                tol = 1e-9 * max(1.0, abs(f_best))
                return any(
                    fun(x_best + sign * h * v)[0] < f_best - tol
                    for h in (1e-2, 1e-1, 1.0)
                    for sign in (1.0, -1.0)
                )

            ridge = self._ridge_covariance(hess, improves)
            if ridge is None:
                reason = (
                    "the likelihood is not at a maximum there (the Hessian has a clearly "
                    "negative eigenvalue)"
                )
            else:
                cov_log, flat = ridge
        if reason is not None or cov_log is None:
            raise ConvergenceError(self._failure_message(best, reason or "", fallback_hint))
        return _Optimum(best.x, best.fun, cov_log, True, nit, flat)

    def _search(self, fun: ObjectiveFn, x0: FloatArray) -> tuple[_Attempt, int]:
        """L-BFGS-B from ``x0`` and, while they do not converge, from random perturbations of
        it (all ``n_starts`` with ``all_starts``); the best attempt and the iterations used."""
        k = x0.shape[0]
        rng = np.random.default_rng(self.random_state)
        attempts: list[_Attempt] = []
        good: list[_Attempt] = []
        for i in range(self.n_starts):
            start = x0 if i == 0 else x0 + rng.normal(0.0, 1.0, k)
            start = np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1)
            att = self._lbfgs(fun, start, LBFGS_FTOL, LBFGS_GTOL)
            attempts.append(att)
            if self._attempt_ok(att):
                good.append(att)
                if not self.all_starts:
                    break
        candidates = good if good else attempts
        return min(candidates, key=lambda a: a.fun), sum(a.nit for a in attempts)

    def _lbfgs(self, fun: ObjectiveFn, start: FloatArray, ftol: float, gtol: float) -> _Attempt:
        res = minimize(
            fun,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * start.shape[0],
            options={"maxiter": self.max_iter, "ftol": ftol, "gtol": gtol, "maxls": 50},
        )
        x = np.asarray(res.x, dtype=np.float64)
        return _Attempt(
            x,
            float(res.fun),
            np.asarray(res.jac, dtype=np.float64),
            bool(res.success),
            str(res.message),
            int(res.nit),
        )

    @staticmethod
    def _invert_hessian(hess: FloatArray) -> FloatArray | None:
        if not np.all(np.isfinite(hess)):
            return None
        try:
            evals = np.linalg.eigvalsh(hess)
        except np.linalg.LinAlgError:
            return None
        if evals.min() <= 1e-12 * max(1.0, abs(evals.max())):
            return None
        cov: FloatArray = np.asarray(np.linalg.inv(hess), dtype=np.float64)
        return 0.5 * (cov + cov.T)

    def _warn_flat(self, flat: str | None) -> list[str]:
        """The notes of a fit: ``flat`` (from :meth:`_minimise`), also issued as an
        :class:`~lifevalue.errors.IdentificationWarning`."""
        if flat is None:
            return []
        note = f"{type(self).__name__}: {flat}"
        warnings.warn(note, IdentificationWarning, stacklevel=3)
        return [note]

    def _ridge_covariance(
        self, hess: FloatArray, improves: Callable[[FloatArray], bool] | None = None
    ) -> tuple[FloatArray, str] | None:
        """The covariance of the log-parameters at an optimum whose Hessian is singular, and a
        note naming the parameters that move along the flat directions; None at a saddle.

        Eigenvalues up to ``RIDGE_RTOL`` times the largest are flat directions (second
        differences of a flat likelihood give small values of either sign). A clearly negative
        one is a saddle, unless ``improves`` (whether a step along an eigenvector raises the
        likelihood) finds no higher point along it: on a ridge where several parameters run
        off together the differences are noisy enough to come out clearly negative, and the
        likelihood is flat there all the same. The covariance is the inverse on the other
        directions, with NaN in the rows and columns of every parameter that a flat direction
        moves (loading above ``RIDGE_LOADING``): its variance is unbounded.
        """
        if not np.all(np.isfinite(hess)):
            return None
        evals, vecs = np.linalg.eigh(0.5 * (hess + hess.T))
        scale = max(1.0, float(np.max(np.abs(evals))))
        negative = np.flatnonzero(evals < -RIDGE_RTOL * scale)
        if negative.size and (improves is None or any(improves(vecs[:, i]) for i in negative)):
            return None
        flat = evals <= RIDGE_RTOL * scale
        solid = ~flat
        cov: FloatArray = (vecs[:, solid] / evals[solid]) @ vecs[:, solid].T
        loose = np.any(np.abs(vecs[:, flat]) > RIDGE_LOADING, axis=1)
        cov[loose, :] = np.nan
        cov[:, loose] = np.nan
        names = [n for n, lo in zip(self.param_names, loose, strict=True) if lo]
        together = ", ".join(names) if len(names) > 1 else names[0]
        note = (
            f"the likelihood is flat along a ridge at the optimum: these data do not pin down "
            f"{together} (other values on the ridge fit equally well); the estimates are the "
            f"point of it the optimiser reached and the standard error"
            f"{'s' if len(names) > 1 else ''} of {together} "
            f"{'are' if len(names) > 1 else 'is'} undefined (NaN)"
        )
        return 0.5 * (cov + cov.T), note

    def _attempt_ok(self, att: _Attempt) -> bool:
        return self._failure_reason(att) is None

    def _failure_reason(self, att: _Attempt) -> str | None:
        if not np.isfinite(att.fun) or att.fun >= 1e99:
            return "the log-likelihood could not be evaluated (it is not finite) at the estimates"
        at_bound = np.abs(att.x) >= LOG_BOUND - 1e-6
        if np.any(at_bound):
            names = [
                f"{n} -> {'0' if v < 0 else 'infinity'}"
                for n, v, b in zip(self.param_names, att.x, at_bound, strict=True)
                if b
            ]
            return f"parameters ran to the edge of the allowed range ({', '.join(names)})"
        gnorm = float(np.max(np.abs(att.grad)))
        if not att.success and gnorm > 1e-5:
            return f"the optimiser stopped without converging ({att.message}; gradient {gnorm:.2g})"
        return None

    def _failure_message(self, att: _Attempt, reason: str, fallback_hint: str) -> str:
        vals = ", ".join(
            f"{n}={math.exp(v):.4g}" for n, v in zip(self.param_names, att.x, strict=True)
        )
        tips = []
        if self.penalizer == 0:
            tips.append("add a small penalty, e.g. penalizer=0.001")
        else:
            tips.append(f"try a larger penalizer than {self.penalizer}")
        tips.append(f"more starting points (n_starts={max(5, 2 * self.n_starts)})")
        tips.append(fallback_hint)
        return (
            f"{type(self).__name__} fit did not converge: {reason}. Last estimates: {vals}. "
            f"What to try: {'; '.join(tips)}."
        )

    # ---- persistence ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The model as a small JSON-compatible dict (parameters, fit statistics, covariance)."""
        res = self._result()
        d: dict[str, Any] = {
            "model": self.name,
            "version": FORMAT_VERSION,
            "params": dict(res.params),
            "log_likelihood": res.log_likelihood,
            "standard_errors": None,
            "covariance": None,
            "n_customers": res.n_customers,
            "converged": res.converged,
            "time_unit": self.time_unit,
            "hyperparameters": {
                "penalizer": self.penalizer,
                "n_starts": self.n_starts,
                "max_iter": self.max_iter,
                "random_state": self.random_state,
                "all_starts": self.all_starts,
            },
            "extra": _jsonable(res.extra),
        }
        if res.covariance is not None:  # NaN (not identified) is written as null
            d["standard_errors"] = {
                k: v if math.isfinite(v) else None for k, v in self.standard_errors_.items()
            }
            d["covariance"] = [
                [v if math.isfinite(v) else None for v in row] for row in res.covariance.tolist()
            ]
        if res.notes:
            d["notes"] = list(res.notes)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a model written by :meth:`to_dict`."""
        if data.get("model") != cls.name:
            raise InputError(
                f"this is a {data.get('model')!r} model, not {cls.name!r}",
                hint="use lifevalue.models.load_model to load any model",
            )
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise InputError(
                f"unsupported model file version {version!r} "
                f"(this lifevalue reads {FORMAT_VERSION})"
            )
        hyper = dict(data.get("hyperparameters") or {})
        model = cls(time_unit=data.get("time_unit"), **hyper)
        cov = data.get("covariance")
        params = {n: float(data["params"][n]) for n in cls.param_names}
        model._fit = FitResult(
            params=params,
            log_likelihood=None
            if data.get("log_likelihood") is None
            else float(data["log_likelihood"]),
            covariance=None
            if cov is None
            else np.array([[np.nan if v is None else v for v in row] for row in cov], np.float64),
            n_customers=None if data.get("n_customers") is None else float(data["n_customers"]),
            converged=bool(data.get("converged", True)),
            extra=dict(data.get("extra") or {}),
            notes=[str(n) for n in data.get("notes") or []],
        )
        return model

    def save(self, path: str | Path) -> None:
        """Write the model as JSON (see :meth:`to_dict`); never a pickle."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def _set_time_unit(self, data: object) -> None:
        if self.time_unit is not None or not isinstance(data, pd.DataFrame):
            return
        unit = data.attrs.get("time_unit")
        if unit is None and "time_unit" in data.columns and len(data) > 0:
            values = data["time_unit"].unique()
            if len(values) == 1:
                unit = values[0]
        if unit is not None:
            self.time_unit = str(unit)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# --------------------------------------------------------------------------------------------
# purchase models
# --------------------------------------------------------------------------------------------

PMF_CHUNK = 50_000


class PurchaseModel(BaseModel):
    """Base of the purchase ("buy till you die") models: BG/NBD, MBG/NBD, Pareto/NBD.

    Subclasses implement the log-likelihood (with its gradient), the probability that a customer
    is alive, the conditional expected number of purchases and the predictive distribution of
    purchases given that the customer is alive; everything else is shared here.
    """

    pmf_uses_recency: ClassVar[bool] = False
    """Whether :meth:`_pmf_alive` depends on recency (it does not in BG/NBD, MBG/NBD and
    Pareto/NBD: given that the customer is alive, the future depends on frequency and T only),
    so that prediction intervals may compute it once per distinct (frequency, T)."""

    # ---- to implement ----------------------------------------------------------------------

    @abstractmethod
    def _objective(self, z: FloatArray, data: RFTData) -> tuple[float, FloatArray]:
        """Mean negative log-likelihood per customer and its gradient in log-parameters ``z``."""

    def _objective_value(self, z: FloatArray, data: RFTData) -> float:
        """Mean negative log-likelihood alone (for the Hessian of numerical-gradient models)."""
        return self._objective(z, data)[0]

    @abstractmethod
    def _loglik_rows(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Log-likelihood of each row at natural parameters ``theta``."""

    @abstractmethod
    def _initial(self, data: RFTData) -> FloatArray:
        """A data-based starting point in log-parameter space."""

    @abstractmethod
    def _p_alive(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Probability of being alive at T."""

    @abstractmethod
    def _expected_alive(
        self, theta: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Expected purchases in (T, T+t] given the history and given alive at T."""

    @abstractmethod
    def _pmf_alive(
        self, theta: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> Iterator[FloatArray]:
        """Yield P(X(t)=k | history, alive at T) for k = 0, 1, 2, ..."""

    @abstractmethod
    def _expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        """Expected purchases in (0, t] of a customer who just made a first purchase."""

    @abstractmethod
    def _simulate(
        self, theta: FloatArray, T: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Simulate (frequency, recency) for customers observed for T."""

    # ---- fit -------------------------------------------------------------------------------

    def fit(
        self,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        initial_params: Mapping[str, float] | BaseModel | None = None,
    ) -> Self:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        frequency
            Repeat purchases per customer (count), or a DataFrame with columns ``frequency``,
            ``recency``, ``T`` (and optionally ``weights``), e.g. the customer summary.
        recency
            Time from first to last purchase, in the model's time unit.
        T
            Time from first purchase to the end of the calibration period, same unit.
        weights
            Number of customers each row stands for (for pre-collapsed rows); default 1 each.
        initial_params
            Where the optimiser starts: natural-scale parameters, or a model of the same kind
            fitted on similar data (its estimates, and its covariance as the first guess of the
            curvature); default a guess from the data. A start near the optimum saves
            iterations; the estimates are the same.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InsufficientDataError
            If no customer made a repeat purchase (the model is not identified).
        ConvergenceError
            If no starting point led to a converged, interior optimum.
        """
        self._set_time_unit(frequency)
        if isinstance(frequency, pd.DataFrame) and weights is None:
            for name in WEIGHT_COLUMNS:
                if name in frequency.columns:
                    weights = frequency[name].to_numpy(dtype=np.float64)
                    break
        x, tx, tt = rft_arrays(frequency, recency, T)
        w = weights_array(weights, x.shape[0])
        data = RFTData.build(x, tx, tt, w)
        self._check_identifiable(data)
        h0: FloatArray | None = None
        if isinstance(initial_params, BaseModel):
            x0: FloatArray | None = self._start(initial_params.params_)
            h0 = self._curvature_of(initial_params)
        elif initial_params is not None:
            x0 = self._start(initial_params)
        else:
            x0 = self._subsample_start(data)
        opt = self._minimise(
            lambda v: self._objective(v, data),
            self._initial(data) if x0 is None else x0,
            data.n_customers,
            fallback_hint=HISTORICAL_CLV_HINT,
            value=None if self.analytic_gradient else (lambda v: self._objective_value(v, data)),
            warm=x0 is not None,
            curvature=h0,
        )
        theta = np.exp(opt.x)
        ll = self._total_loglik(theta, data)
        self._fit = FitResult(
            params=dict(zip(self.param_names, map(float, theta), strict=True)),
            log_likelihood=ll,
            covariance=opt.cov_log * np.outer(theta, theta),
            n_customers=data.n_customers,
            converged=opt.converged,
            n_iterations=opt.nit,
            extra={"n_unique_rows": int(data.x.shape[0])},
            notes=self._warn_flat(opt.flat),
        )
        return self

    def _start(self, params: Mapping[str, float]) -> FloatArray:
        """Log-parameters of a starting point given as natural-scale parameters."""
        try:
            theta = np.array([float(params[n]) for n in self.param_names])
        except KeyError as exc:
            raise ValueError(
                f"initial_params needs {', '.join(self.param_names)} (missing {exc})"
            ) from None
        if not np.all(np.isfinite(theta) & (theta > 0)):
            raise ValueError(f"initial_params must be positive numbers, got {dict(params)}")
        out: FloatArray = np.clip(np.log(theta), -LOG_BOUND + 1, LOG_BOUND - 1)
        return out

    def _curvature_of(self, other: BaseModel) -> FloatArray | None:
        """The Hessian of the mean objective (log parameters) of another fit of this model, from
        its covariance; None when it has none or is another kind of model."""
        res = other._fit
        if (
            type(other) is not type(self)
            or res is None
            or res.covariance is None
            or not res.n_customers
        ):
            return None
        theta = other._theta()
        try:
            h = np.asarray(np.linalg.inv(res.covariance / np.outer(theta, theta)), np.float64)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(h)):
            return None
        out: FloatArray = 0.5 * (h + h.T) / res.n_customers
        return out

    def _subsample_start(self, data: RFTData) -> FloatArray | None:
        """On large data, the estimates on a random sample of about ``SUBSAMPLE_CUSTOMERS``
        customers (log scale): a start a few standard errors from the optimum, from where Newton
        steps on all the data converge in a few evaluations (cheaper than L-BFGS-B's dozens).
        None on small data, or when the sample cannot be fitted (the usual start is used).
        """
        n = data.n_customers
        if n < 4 * SUBSAMPLE_CUSTOMERS or data.x.shape[0] < SUBSAMPLE_ROWS:
            return None
        rng = np.random.default_rng(self.random_state)
        w = rng.poisson(data.w * (SUBSAMPLE_CUSTOMERS / n)).astype(np.float64)
        keep = w > 0
        sample = RFTData.build(data.x[keep], data.tx[keep], data.T[keep], w[keep], collapse=False)
        model = copy.copy(self)
        model._fit = None
        try:
            model._check_identifiable(sample)
            z = model._minimise(
                lambda v: model._objective(v, sample),
                model._initial(sample),
                sample.n_customers,
                fallback_hint=HISTORICAL_CLV_HINT,
                value=None
                if self.analytic_gradient
                else (lambda v: model._objective_value(v, sample)),
            ).x
        except ConvergenceError:
            return None
        return z

    def _total_loglik(self, theta: FloatArray, data: RFTData) -> float:
        """Log-likelihood of all the (weighted) rows at natural parameters ``theta``."""
        return wdot(data.w, self._loglik_rows(theta, data.x, data.tx, data.T))

    def _check_identifiable(self, data: RFTData) -> None:
        from lifevalue.errors import InsufficientDataError

        n = data.n_customers
        if n == 0:
            raise InsufficientDataError(
                f"{type(self).__name__}: no customers to fit. Fallback: {HISTORICAL_CLV_HINT}."
            )
        repeat = float(data.w[data.x > 0].sum())
        if repeat == 0:
            raise InsufficientDataError(
                f"{type(self).__name__}: none of the {n:.0f} customers made a repeat purchase "
                "(all frequency 0), so the data cannot identify the purchase rate or the dropout "
                "process. Check that frequency counts repeat purchases over a long enough "
                f"calibration period; fallback: {HISTORICAL_CLV_HINT}."
            )
        if np.all(data.T <= 0):
            raise InsufficientDataError(
                f"{type(self).__name__}: every customer has T = 0 (no observation time). "
                f"Fallback: {HISTORICAL_CLV_HINT}."
            )

    # ---- likelihood access -----------------------------------------------------------------

    def individual_log_likelihood(
        self,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
    ) -> FloatArray:
        """Log-likelihood of each customer's (frequency, recency, T) at the current parameters.

        Returns
        -------
        numpy.ndarray
            One log-likelihood value (a log-density, unitless) per customer.
        """
        x, tx, tt = rft_arrays(frequency, recency, T)
        with np.errstate(all="ignore"):
            return self._loglik_rows(self._theta(), x, tx, tt)

    # ---- predictions -----------------------------------------------------------------------

    def probability_alive(
        self,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
    ) -> FloatArray:
        """Probability that each customer is still active ("alive") at the end of the data.

        Parameters
        ----------
        frequency, recency, T
            Per-customer summary (arrays, or one DataFrame as first argument); recency and T in
            the model's time unit.

        Returns
        -------
        numpy.ndarray
            A probability between 0 and 1 per customer.
        """
        x, tx, tt = rft_arrays(frequency, recency, T)
        with np.errstate(all="ignore"):
            return np.clip(self._p_alive(self._theta(), x, tx, tt), 0.0, 1.0)

    def expected_purchases(
        self,
        t: ArrayLike,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
    ) -> FloatArray:
        """Expected number of purchases each customer makes in the next ``t`` time units.

        Parameters
        ----------
        t
            Length of the future period, in the model's time unit (scalar or one per customer).
        frequency, recency, T
            Per-customer summary (arrays, or one DataFrame as first argument).

        Returns
        -------
        numpy.ndarray
            Expected number of purchases in (T, T+t] per customer: a count (can be fractional),
            not a probability.
        """
        x, tx, tt = rft_arrays(frequency, recency, T)
        th = self._theta()
        tf, x, tx, tt = _broadcast(as_float_array(t, "t"), x, tx, tt)
        _check_horizon(tf)
        with np.errstate(all="ignore"):
            pa = np.clip(self._p_alive(th, x, tx, tt), 0.0, 1.0)
            ea = self._expected_alive(th, tf, x, tx, tt)
        return pa * ea

    def probability_purchase(
        self,
        t: ArrayLike,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
    ) -> FloatArray:
        """Probability that each customer makes at least one purchase in the next ``t`` time units.

        Returns
        -------
        numpy.ndarray
            P(X(t) >= 1 | history), a probability between 0 and 1 per customer.
        """
        x, tx, tt = rft_arrays(frequency, recency, T)
        th = self._theta()
        tf, x, tx, tt = _broadcast(as_float_array(t, "t"), x, tx, tt)
        _check_horizon(tf)
        with np.errstate(all="ignore"):
            pa = np.clip(self._p_alive(th, x, tx, tt), 0.0, 1.0)
            out = np.empty_like(x)
            for sl in _chunks(x.shape[0]):
                p0 = next(self._pmf_alive(th, tf[sl], x[sl], tx[sl], tt[sl]))
                out[sl] = pa[sl] * np.clip(1.0 - p0, 0.0, 1.0)
        return out

    def expected_purchases_new_customer(self, t: ArrayLike) -> FloatArray:
        """Expected number of repeat purchases of a new customer in the ``t`` time units after the
        first purchase.

        Returns
        -------
        numpy.ndarray
            Expected count of repeat purchases (same shape as ``t``), not a probability.
        """
        tf = np.atleast_1d(np.asarray(t, dtype=np.float64))
        _check_horizon(tf)
        with np.errstate(all="ignore"):
            return self._expected_new(self._theta(), tf)

    def purchase_probabilities(
        self,
        t: ArrayLike,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        max_purchases: int = 20,
    ) -> FloatArray:
        """Predictive distribution of each customer's number of purchases in the next ``t``.

        Returns
        -------
        numpy.ndarray
            Array of shape (n_customers, max_purchases + 1); entry [i, k] is the probability that
            customer i makes exactly k purchases in (T, T+t]. Rows sum to 1 minus the (small)
            probability of more than ``max_purchases`` purchases.
        """
        x, tx, tt = rft_arrays(frequency, recency, T)
        th = self._theta()
        tf, x, tx, tt = _broadcast(as_float_array(t, "t"), x, tx, tt)
        _check_horizon(tf)
        out = np.zeros((x.shape[0], max_purchases + 1))
        with np.errstate(all="ignore"):
            pa = np.clip(self._p_alive(th, x, tx, tt), 0.0, 1.0)
            for sl in _chunks(x.shape[0]):
                it = self._pmf_alive(th, tf[sl], x[sl], tx[sl], tt[sl])
                for k in range(max_purchases + 1):
                    out[sl, k] = pa[sl] * np.clip(next(it), 0.0, 1.0)
                out[sl, 0] += 1.0 - pa[sl]
        return out

    def purchases_interval(
        self,
        t: ArrayLike,
        frequency: ArrayLike | pd.DataFrame,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        level: float = 0.9,
        max_purchases: int = 10_000,
    ) -> tuple[FloatArray, FloatArray]:
        """Prediction interval for each customer's number of purchases in the next ``t``.

        The bounds are quantiles of the model's predictive distribution P(X(t)=k | history): the
        lower bound is the smallest k with P(X(t) <= k) >= (1 - level)/2, the upper bound the
        smallest k with P(X(t) <= k) >= (1 + level)/2. Because purchases are counts, the interval
        covers at least ``level`` of the predictive probability.

        Parameters
        ----------
        t
            Length of the future period, in the model's time unit.
        frequency, recency, T
            Per-customer summary (arrays, or one DataFrame as first argument).
        level
            Coverage of the central interval, between 0 and 1 (default 0.9).
        max_purchases
            Counts are not searched beyond this; an upper bound equal to it means "at least".

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Lower and upper bounds, whole numbers of purchases, per customer.
        """
        if not 0 < level < 1:
            raise ValueError("level must be between 0 and 1")
        x, tx, tt = rft_arrays(frequency, recency, T)
        th = self._theta()
        tf, x, tx, tt = _broadcast(as_float_array(t, "t"), x, tx, tt)
        _check_horizon(tf)
        q_lo, q_hi = (1 - level) / 2, (1 + level) / 2
        low = np.full(x.shape[0], float(max_purchases))
        high = np.full(x.shape[0], float(max_purchases))
        with np.errstate(all="ignore"):
            pa = np.clip(self._p_alive(th, x, tx, tt), 0.0, 1.0)
            # first pass for everybody; once only a few customers (heavy buyers) still need higher
            # counts they are left for a second pass on their own, so that they do not keep
            # whole chunks iterating
            rest: list[IntArray] = []
            for sl in _chunks(x.shape[0]):
                idx = np.arange(sl.start, sl.stop)
                done = self._interval_pass(
                    th, tf, x, tx, tt, pa, idx, max_purchases, q_lo, q_hi, low, high, defer=True
                )
                rest.append(idx[~done])
            redo = np.concatenate(rest) if rest else np.zeros(0, dtype=np.int64)
            for start in range(0, redo.size, PMF_CHUNK):
                idx = redo[start : start + PMF_CHUNK]
                self._interval_pass(
                    th, tf, x, tx, tt, pa, idx, max_purchases, q_lo, q_hi, low, high, defer=False
                )
        return low, high

    def _interval_pass(
        self,
        th: FloatArray,
        tf: FloatArray,
        x: FloatArray,
        tx: FloatArray,
        tt: FloatArray,
        pa: FloatArray,
        idx: IntArray,
        k_max: int,
        q_lo: float,
        q_hi: float,
        low: FloatArray,
        high: FloatArray,
        *,
        defer: bool,
    ) -> BoolArray:
        """Walk the predictive CDF of rows ``idx`` up to ``k_max``; write the bounds found into
        ``low`` / ``high`` and return which rows have both."""
        eps = 1e-12
        pa_s = pa[idx]
        cdf = 1.0 - pa_s
        lo_s = np.full(idx.shape[0], -1.0)
        hi_s = np.full(idx.shape[0], -1.0)
        t_s = tf[idx]
        if not self.pmf_uses_recency and t_s.shape[0] and np.all(t_s == t_s[0]):
            # the distribution given alive depends on (frequency, T) only: once per distinct pair
            rep, inverse = pair_index(x[idx], tt[idx])
            r_idx = idx[rep]
            it = self._pmf_alive(th, tf[r_idx], x[r_idx], tx[r_idx], tt[r_idx])
        else:
            inverse = None
            it = self._pmf_alive(th, t_s, x[idx], tx[idx], tt[idx])
        for k in range(k_max + 1):
            pmf = next(it)
            cdf = cdf + pa_s * np.clip(pmf if inverse is None else pmf[inverse], 0.0, 1.0)
            lo_s[(lo_s < 0) & (cdf >= q_lo - eps)] = k
            new_hi = (hi_s < 0) & (cdf >= q_hi - eps)
            hi_s[new_hi] = k
            if new_hi.any() or defer:
                left = int(np.count_nonzero(hi_s < 0))
                if left == 0 or (defer and k >= 20 and left <= max(10, idx.shape[0] // 100)):
                    break
        done: BoolArray = (lo_s >= 0) & (hi_s >= 0)
        low[idx[done]] = lo_s[done]
        high[idx[done]] = hi_s[done]
        return done

    def predict(
        self,
        data: pd.DataFrame,
        t: float,
        level: float = 0.9,
    ) -> pd.DataFrame:
        """Per-customer predictions for the next ``t`` time units, as a DataFrame.

        Parameters
        ----------
        data
            Customer summary with ``frequency``, ``recency``, ``T`` columns.
        t
            Length of the future period, in the model's time unit.
        level
            Coverage of the purchase prediction interval.

        Returns
        -------
        pandas.DataFrame
            Same index as ``data``; columns ``predicted_purchases`` (expected count),
            ``probability_alive`` (probability), ``probability_purchase`` (probability of at least
            one purchase), ``predicted_purchases_low`` / ``predicted_purchases_high`` (interval
            bounds, counts).
        """
        x, tx, tt = rft_arrays(data, None, None)
        low, high = self.purchases_interval(t, x, tx, tt, level=level)
        return pd.DataFrame(
            {
                "predicted_purchases": self.expected_purchases(t, x, tx, tt),
                "probability_alive": self.probability_alive(x, tx, tt),
                "probability_purchase": self.probability_purchase(t, x, tx, tt),
                "predicted_purchases_low": low,
                "predicted_purchases_high": high,
            },
            index=data.index,
        )

    # ---- simulation -------------------------------------------------------------------------

    def simulate(self, T: ArrayLike, seed: int | None = 0) -> pd.DataFrame:
        """Simulate customers from the model with the current parameters.

        Parameters
        ----------
        T
            Observation time of each customer (time from first purchase to the end of the data),
            in the model's time unit; one simulated customer per value.
        seed
            Seed of the random generator (results are reproducible for a given seed).

        Returns
        -------
        pandas.DataFrame
            Columns ``frequency`` (repeat purchases), ``recency`` and ``T`` (time unit of T).
        """
        tt = as_float_array(T, "T")
        rng = np.random.default_rng(seed)
        x, tx = self._simulate(self._theta(), tt, rng)
        return pd.DataFrame({"frequency": x, "recency": tx, "T": tt})


def _broadcast(*arrays: FloatArray) -> tuple[FloatArray, ...]:
    """Broadcast arrays against each other, as contiguous float copies."""
    return tuple(np.ascontiguousarray(a, dtype=np.float64) for a in np.broadcast_arrays(*arrays))


def _check_horizon(t: FloatArray) -> None:
    if np.any(t < 0):
        raise InputError("the prediction horizon t must be >= 0", column="t")


def _chunks(n: int, size: int = PMF_CHUNK) -> Iterator[slice]:
    for start in range(0, max(n, 1), size):
        yield slice(start, min(start + size, n))
