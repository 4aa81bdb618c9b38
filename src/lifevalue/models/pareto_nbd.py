"""Pareto/NBD: the Pareto / negative binomial purchase model.

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who are they and
what will they do next? *Management Science* 33(1), 1-24. Likelihood as in Fader, P. S. & Hardie,
B. G. S. (2005), "A note on deriving the Pareto/NBD model and related expressions".

While alive, a customer buys at Poisson rate λ ~ Gamma(r, α); the lifetime is exponential with
rate μ ~ Gamma(s, β). The likelihood of (x, t_x, T) is

    L = Γ(r+x) α^r β^s / Γ(r)
        · [(α+T)^-(r+x) (β+T)^-s + s ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ].

The integral has a closed form in the Gaussian hypergeometric function 2F1 (the α >= β and α < β
branches of Fader & Hardie); it is evaluated in log space by
:func:`lifevalue.models._special.log_incomplete_power_integral`, which checks SciPy's ``hyp2f1``
against known bounds and falls back to a continued fraction, so it never returns NaN.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from lifevalue.models._special import (
    log1mexp,
    log_incomplete_power_integral,
    nbd_pmf_iter,
    one_minus_pow_over,
)
from lifevalue.models.base import (
    FloatArray,
    IntArray,
    PurchaseModel,
    RFTData,
    collapse_rows,
    wdot,
)

_N_NODES = 48
_GL_Y, _GL_W = np.polynomial.legendre.leggauss(_N_NODES)
_GL_Y = 0.5 * (_GL_Y + 1.0)  # nodes on [0, 1]
_GL_W = 0.5 * _GL_W

# Gauss-Legendre rules for the likelihood integral: (largest c·L, nodes, weights on [0, 1]). An
# n-node rule integrates exp(c v) over a piece of length L with relative error about
# (c L)^(2n) (n!)^4 / ((2n+1) ((2n)!)^3), below 2e-16 up to each rule's limit.
_RULES: tuple[tuple[float, FloatArray, FloatArray], ...] = tuple(
    (limit, 0.5 * (y + 1.0), 0.5 * w)
    for limit, (y, w) in (
        (0.03, np.polynomial.legendre.leggauss(3)),
        (0.15, np.polynomial.legendre.leggauss(4)),
        (0.4, np.polynomial.legendre.leggauss(5)),
        (0.9, np.polynomial.legendre.leggauss(6)),
        (2.5, np.polynomial.legendre.leggauss(8)),
    )
)
_MAX_CL = 2.5
_BLOCK_RANGE = 500.0
"""Largest decrease of the log-integrand within one block of the cumulative sums (e^-500 is far
from underflow, e^-708)."""
_NEGLIGIBLE = 60.0
"""Parts of a piece where the integrand is below e^-60 of its value at the piece's start are
dropped (they change no sum by more than e^-60 relative)."""


def _bincount(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Sum of ``weights`` per value of ``index`` (0 to size - 1)."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


@dataclass(frozen=True)
class _Grid:
    """The recency and T values of the rows, per distinct frequency, as one sorted grid.

    Grid point k is the time ``tau[k]`` of group ``gid[k]`` (frequency ``gx[gid[k]]``); times are
    increasing within a group. Row i's recency is grid point ``k_tx[i]`` and its T ``k_T[i]``;
    ``wk_tx`` is the total weight of the rows whose recency is each grid point.
    """

    tau: FloatArray
    gid: IntArray
    gstart: IntArray
    gx: FloatArray
    left: IntArray
    k_tx: IntArray
    k_T: IntArray
    wk_tx: FloatArray

    @classmethod
    def build(cls, data: RFTData) -> _Grid:
        n = data.x.shape[0]
        xs = np.concatenate([data.x, data.x])
        ts = np.concatenate([data.tx, data.T])
        order = np.lexsort((ts, xs))
        sx, st = xs[order], ts[order]
        new = np.ones(2 * n, dtype=bool)
        new[1:] = (sx[1:] != sx[:-1]) | (st[1:] != st[:-1])
        pos = np.empty(2 * n, dtype=np.int64)
        pos[order] = np.cumsum(new) - 1
        gxs, tau = sx[new], st[new]
        first = np.ones(gxs.shape[0], dtype=bool)
        first[1:] = gxs[1:] != gxs[:-1]
        gstart = np.flatnonzero(first).astype(np.int64)
        gid = (np.cumsum(first) - 1).astype(np.int64)
        last = np.append(gstart[1:] - 1, gxs.shape[0] - 1)
        is_left = np.ones(gxs.shape[0], dtype=bool)
        is_left[last] = False
        k_tx = pos[:n]
        wk = _bincount(k_tx, data.w, tau.shape[0])
        return cls(tau, gid, gstart, gxs[gstart], np.flatnonzero(is_left), k_tx, pos[n:], wk)


@dataclass
class _Integrals:
    """Cumulative integrals over the grid, scaled by ``exp(-ref)`` of each point's block."""

    value: FloatArray  # ∫_tau^top g
    log_a: FloatArray  # ∫ log(alpha+u) g
    log_b: FloatArray  # ∫ log(beta+u) g
    inv_a: FloatArray  # ∫ g / (alpha+u)
    inv_b: FloatArray  # ∫ g / (beta+u)
    ref: FloatArray  # log scale of each grid point's block
    block: IntArray  # block of each grid point
    bstart: IntArray  # first grid point of each block (blocks ordered along the grid)


def _grid_integrals(
    theta: FloatArray, grid: _Grid, v: FloatArray, q: FloatArray, grad: bool
) -> _Integrals:
    """∫_tau^top of g(u) = (alpha+u)^-(r+x) (beta+u)^-(s+1) (and of its derivatives' integrands)
    from every grid point to the end of its block, by Gauss-Legendre quadrature on the pieces
    between consecutive grid points.

    The integrals are taken in v = log(D + u), D = min(alpha, beta): there the log-integrand
    psi(v) = -(r+x+s) v - k log(1 + |alpha-beta| e^-v) is concave with slope at most
    c = r+x+s+k (k = s+1 when alpha <= beta, else r+x) and analytic within pi of the real axis,
    so a rule chosen from c·L (L the piece's length in v) is exact to rounding. Each block (the
    stretch of a group where psi stays within ``_BLOCK_RANGE`` of its maximum ``ref``) is summed
    on the scale exp(ref), so that nothing underflows.
    """
    r, alpha, s, beta = theta
    a_lt_b = alpha <= beta
    dl = abs(beta - alpha)
    ag = r + grid.gx  # per group
    ke_g = np.full_like(ag, s + 1.0) if a_lt_b else ag
    rate_g = ag + s
    gid = grid.gid
    psi = -rate_g[gid] * v - ke_g[gid] * q
    # blocks: normally one per group; a group whose log-integrand falls by more than
    # _BLOCK_RANGE is cut where it crosses multiples of it (psi is concave and rises by little)
    top = np.maximum.reduceat(psi, grid.gstart)
    low = np.minimum.reduceat(psi, grid.gstart)
    if float(np.max(top - low)) <= _BLOCK_RANGE:
        block, bstart, ref = gid, grid.gstart, top
    else:
        level = np.floor((top[gid] - psi) / _BLOCK_RANGE)
        change = np.ones(psi.shape[0], dtype=bool)
        change[1:] = (gid[1:] != gid[:-1]) | (level[1:] != level[:-1])
        bstart = np.flatnonzero(change).astype(np.int64)
        block = (np.cumsum(change) - 1).astype(np.int64)
        ref = np.maximum.reduceat(psi, bstart)
    n_grid = v.shape[0]
    parts = np.zeros((5 if grad else 1, n_grid))
    left = grid.left
    lg = gid[left]
    length = v[left + 1] - v[left]
    c = rate_g[lg] + ke_g[lg] + 1.0
    cl = c * length
    # pieces too long for one 8-node rule are cut into equal sub-pieces (parts of them where the
    # integrand is negligible are dropped)
    cut = cl > _MAX_CL
    owner = left
    start = v[left]
    if np.any(cut):
        idx = np.flatnonzero(cut)
        n_sub = np.ceil(cl[idx] / _MAX_CL).astype(np.int64)
        rep = np.repeat(idx, n_sub)
        offset = np.arange(rep.shape[0]) - np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
        sub_len = length[rep] / n_sub.repeat(n_sub)
        sub_start = v[left[rep]] + offset * sub_len
        gs = lg[rep]
        with np.errstate(over="ignore"):
            psi_start = -rate_g[gs] * sub_start - ke_g[gs] * np.log1p(dl * np.exp(-sub_start))
        keep = psi_start >= psi[left[rep]] - _NEGLIGIBLE
        whole = np.flatnonzero(~cut)
        owner = np.concatenate([left[whole], left[rep[keep]]])
        start = np.concatenate([start[whole], sub_start[keep]])
        length = np.concatenate([length[whole], sub_len[keep]])
        cl = np.concatenate([cl[whole], (c[rep] * sub_len)[keep]])
        unique_owner = False
    else:
        unique_owner = True
    og = gid[owner]
    lower = -1.0
    for limit, nodes, weights in _RULES:
        sel = np.flatnonzero((cl > lower) & (cl <= limit))
        lower = limit
        if sel.size == 0:
            continue
        o = owner[sel]
        g_sel = og[sel]
        v0, h = start[sel], length[sel]
        rate, ke, shift = rate_g[g_sel], ke_g[g_sel], ref[block[o]]
        acc = np.zeros((parts.shape[0], sel.shape[0]))
        for y, wt in zip(nodes, weights, strict=True):
            vv = v0 + h * y
            em = np.exp(-vv)
            qq = np.log1p(dl * em)
            f = np.exp(-rate * vv - ke * qq - shift) * (h * wt)
            acc[0] += f
            if grad:
                inv_e = em / (1.0 + dl * em)
                if a_lt_b:
                    acc[1] += f * vv
                    acc[2] += f * (vv + qq)
                    acc[3] += f * em
                    acc[4] += f * inv_e
                else:
                    acc[1] += f * (vv + qq)
                    acc[2] += f * vv
                    acc[3] += f * inv_e
                    acc[4] += f * em
        if unique_owner:
            parts[:, o] = acc
        else:
            for j in range(parts.shape[0]):
                parts[j] += _bincount(o, acc[j], n_grid)
    # reverse cumulative sums within each block: from each grid point to the block's end
    cum = np.empty_like(parts)
    bounds = np.append(bstart, n_grid)
    for lo, hi in itertools.pairwise(bounds):
        cum[:, lo:hi] = np.cumsum(parts[:, lo:hi][:, ::-1], axis=1)[:, ::-1]
    if grad:
        return _Integrals(cum[0], cum[1], cum[2], cum[3], cum[4], ref, block, bstart)
    return _Integrals(cum[0], cum[0], cum[0], cum[0], cum[0], ref, block, bstart)


@dataclass(frozen=True)
class _Pairs:
    """Distinct (x, t_x) and (x, T) pairs and, for each row, the index of its pair."""

    x1: FloatArray
    tx: FloatArray
    i1: IntArray
    x2: FloatArray
    T: FloatArray
    i2: IntArray


def _locate(ux: FloatArray, ut: FloatArray, x: FloatArray, t: FloatArray) -> IntArray:
    """Index of each row's pair (x, t) among the unique pairs (ux, ut), sorted by x then t."""
    vx, vt = np.unique(ux), np.unique(ut)
    code_u = np.searchsorted(vx, ux) * vt.shape[0] + np.searchsorted(vt, ut)
    code_row = np.searchsorted(vx, x) * vt.shape[0] + np.searchsorted(vt, t)
    idx: IntArray = np.searchsorted(code_u, code_row).astype(np.int64)
    return idx


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987), fitted by maximum
    likelihood.

    Parameters ``r``, ``alpha`` (purchase rate ~ Gamma(r, alpha)) and ``s``, ``beta`` (dropout rate
    ~ Gamma(s, beta)); alpha and beta are in the model's time unit. The optimiser gets the
    log-likelihood and its analytic gradient from one quadrature over the grid of distinct
    (frequency, time) values (see :meth:`_grid_loglik`); predictions and
    :meth:`individual_log_likelihood` use the closed form in 2F1.
    """

    name: ClassVar[str] = "pnbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _pair_cache: tuple[RFTData, _Pairs] | None = None
    _grid_cache: tuple[RFTData, _Grid] | None = None

    def _initial(self, data: RFTData) -> FloatArray:
        rate = wdot(data.w, data.x) / max(wdot(data.w, data.T), 1e-12)
        alpha = 1.0 / max(rate, 1e-8)
        beta = float(np.average(data.T, weights=data.w))
        out: FloatArray = np.log(np.array([1.0, min(max(alpha, 1e-6), 1e6), 1.0, max(beta, 1e-6)]))
        return out

    def _log_terms(
        self,
        theta: FloatArray,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
        pairs: _Pairs | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """log of the "alive at T" and "died in (t_x, T)" terms of the likelihood bracket.

        The 2F1 integrals depend on (x, t_x) and (x, T) only; with ``pairs`` they are evaluated
        once per distinct pair (several times fewer calls than rows).
        """
        r, alpha, s, beta = theta
        log_e1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        if pairs is None:
            lg_tx = log_incomplete_power_integral(alpha, beta, r + x, s + 1.0, tx)
            lg_T = log_incomplete_power_integral(alpha, beta, r + x, s + 1.0, T)
        else:
            lg_tx = np.take(
                log_incomplete_power_integral(alpha, beta, r + pairs.x1, s + 1.0, pairs.tx),
                pairs.i1,
            )
            lg_T = np.take(
                log_incomplete_power_integral(alpha, beta, r + pairs.x2, s + 1.0, pairs.T), pairs.i2
            )
        log_e2 = np.log(s) + lg_tx + log1mexp(lg_T - lg_tx)
        return log_e1, log_e2

    def _loglik_rows(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = theta
        with np.errstate(divide="ignore", invalid="ignore"):
            log_e1, log_e2 = self._log_terms(theta, x, tx, T)
            out: FloatArray = (
                special.gammaln(r + x)
                - special.gammaln(r)
                + r * np.log(alpha)
                + s * np.log(beta)
                + np.logaddexp(log_e1, log_e2)
            )
        return out

    def _pairs(self, data: RFTData) -> _Pairs:
        cached = self._pair_cache
        if cached is not None and cached[0] is data:
            return cached[1]
        (x1, tx1), _ = collapse_rows(data.x, data.tx)
        (x2, t2), _ = collapse_rows(data.x, data.T)
        i1 = _locate(x1, tx1, data.x, data.tx)
        i2 = _locate(x2, t2, data.x, data.T)
        pairs = _Pairs(x1, tx1, i1, x2, t2, i2)
        self._pair_cache = (data, pairs)
        return pairs

    def _grid(self, data: RFTData) -> _Grid:
        cached = self._grid_cache
        if cached is not None and cached[0] is data:
            return cached[1]
        grid = _Grid.build(data)
        self._grid_cache = (data, grid)
        return grid

    def _grid_loglik(
        self, theta: FloatArray, data: RFTData, grad: bool
    ) -> tuple[float, FloatArray]:
        """Total log-likelihood and (with ``grad``) its gradient in natural parameters.

        The bracket of the likelihood is E1 + s ∫_{t_x}^T g(u) du with E1 = (α+T)^-(r+x)
        (β+T)^-s and g(u) = (α+u)^-(r+x) (β+u)^-(s+1). The integral is a difference of the
        cumulative integrals of :func:`_grid_integrals` (one quadrature per grid piece, shared by
        all rows), and its derivatives are the integrals of g times -log(α+u), -log(β+u),
        -(r+x)/(α+u) and -(s+1)/(β+u), taken on the same nodes: an exact analytic gradient for
        little more than the cost of the value.
        """
        r, alpha, s, beta = theta
        grid = self._grid(data)
        dl = abs(beta - alpha)
        v = np.log(min(alpha, beta) + grid.tau)
        em = np.exp(-v)
        q = np.log1p(dl * em)
        inv_e = em / (1.0 + dl * em)
        if alpha <= beta:
            log_a, log_b, inv_a, inv_b = v, v + q, em, inv_e
        else:
            log_a, log_b, inv_a, inv_b = v + q, v, inv_e, em
        a = r + grid.gx[grid.gid]
        ints = _grid_integrals(theta, grid, v, q, grad)
        ref_k = ints.ref[ints.block]
        e1 = np.exp(-a * log_a - s * log_b - ref_k)  # E1 at each grid point, on its block's scale
        k1, k2 = grid.k_tx, grid.k_T
        w = data.w
        val = ints.value
        if ints.bstart.shape[0] == grid.gstart.shape[0]:  # one block per group
            diff = val[k1] - val[k2]
            e1_row = e1[k2]
            cross = None
        else:
            b1, b2 = ints.block[k1], ints.block[k2]
            nb = np.minimum(b1 + 1, ints.bstart.shape[0] - 1)
            ns = ints.bstart[nb]
            cross = b2 != b1
            in_next = cross & (b2 == nb)
            with np.errstate(over="ignore", under="ignore"):
                fac = np.where(cross, np.exp(ints.ref[nb] - ints.ref[b1]), 0.0)
                e1_scale = np.exp(ints.ref[b2] - ints.ref[b1])
            diff = np.where(
                cross,
                val[k1] + fac * (val[ns] - np.where(in_next, val[k2], 0.0)),
                val[k1] - val[k2],
            )
            e1_row = e1[k2] * e1_scale
        bracket = e1_row + s * diff
        with np.errstate(divide="ignore"):
            log_bracket = np.log(bracket)
        lg = special.gammaln(r + data.ux) - special.gammaln(r)
        n = data.n_customers
        ll = (
            wdot(data.wx, lg)
            + n * (r * np.log(alpha) + s * np.log(beta))
            + wdot(grid.wk_tx, ref_k)
            + wdot(w, log_bracket)
        )
        if not grad:
            return float(ll), np.zeros(4)
        omega = w / bracket
        n_grid = grid.tau.shape[0]
        if cross is None:
            w_tx = _bincount(k1, omega, n_grid)
            w_e1 = _bincount(k2, omega, n_grid)
            w_diff = w_tx - w_e1
        else:
            on_t = np.where(cross, 0.0, -omega)
            idx = np.concatenate([k1, k2, ns, k2])
            wts = np.concatenate([omega, on_t, omega * fac, np.where(in_next, -omega * fac, 0.0)])
            w_diff = _bincount(idx, wts, n_grid)
            w_e1 = _bincount(k2, omega * e1_scale, n_grid)
        g_e1 = w_e1 * e1
        d_r = (
            wdot(data.wx, special.digamma(r + data.ux) - special.digamma(r))
            + n * np.log(alpha)
            - wdot(g_e1, log_a)
            - s * wdot(w_diff, ints.log_a)
        )
        d_alpha = n * r / alpha - wdot(g_e1, a * inv_a) - s * wdot(w_diff, a * ints.inv_a)
        d_s = (
            n * np.log(beta)
            - wdot(g_e1, log_b)
            - s * wdot(w_diff, ints.log_b)
            + wdot(w_diff, ints.value)
        )
        d_beta = n * s / beta - s * wdot(g_e1, inv_b) - s * (s + 1.0) * wdot(w_diff, ints.inv_b)
        return float(ll), np.array([d_r, d_alpha, d_s, d_beta])

    def _total_loglik(self, theta: FloatArray, data: RFTData) -> float:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            return self._grid_loglik(theta, data, grad=False)[0]

    def _objective(self, z: FloatArray, data: RFTData) -> tuple[float, FloatArray]:
        theta = np.exp(z)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            ll, grad = self._grid_loglik(theta, data, grad=True)
        n = data.n_customers
        return -ll / n, -grad * theta / n

    def _objective_value(self, z: FloatArray, data: RFTData) -> float:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            ll, _ = self._grid_loglik(np.exp(z), data, grad=False)
        return -ll / data.n_customers

    def _p_alive(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        log_e1, log_e2 = self._log_terms(theta, x, tx, T)
        out: FloatArray = special.expit(log_e1 - log_e2)
        return out

    def _expected_alive(
        self, theta: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        # E[λ] E[(1 - e^{-μ t}) / μ] with λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T)
        r, alpha, s, beta = theta
        bt = beta + T
        out: FloatArray = (
            (r + x)
            / (alpha + T)
            * bt
            * one_minus_pow_over(np.full_like(bt, s - 1.0), np.log(bt) - np.log(bt + t))
        )
        return out

    def _expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, s, beta = theta
        out: FloatArray = (
            r
            / alpha
            * beta
            * one_minus_pow_over(np.full_like(t, s - 1.0), np.log(beta) - np.log(beta + t))
        )
        return out

    def _pmf_alive(
        self, theta: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> Iterator[FloatArray]:
        """P(X(t)=k | alive at T): purchases of an NBD process (λ ~ Gamma(r+x, α+T)) observed for
        min(ω, t), ω the remaining lifetime, Lomax(s, β+T) distributed. k = 0 in closed form,
        k >= 1 by Gauss-Legendre quadrature over the lifetime's distribution function."""
        r, alpha, s, beta = theta
        rp, ap, bp = r + x, alpha + T, beta + T
        log_surv = s * (np.log(bp) - np.log(bp + t))  # log P(ω > t)
        surv = np.exp(log_surv)
        nb_t, q_t = nbd_pmf_iter(rp, ap, t)
        # k = 0: P(ω>t) NB0(t) + ∫_0^t f(u) (α'/(α'+u))^r' du, the integral in closed form
        lg0 = log_incomplete_power_integral(ap, bp, rp, s + 1.0, np.zeros_like(t))
        lgt = log_incomplete_power_integral(ap, bp, rp, s + 1.0, t)
        log_int = np.log(s) + s * np.log(bp) + rp * np.log(ap) + lg0 + log1mexp(lgt - lg0)
        yield surv * nb_t + np.where(t > 0, np.exp(log_int), 0.0)
        # k >= 1: quadrature nodes u_j in (0, t), uniform in F(u) = 1 - (β'/(β'+u))^s
        f_t = -np.expm1(log_surv)  # F(t)
        wq = f_t[:, None] * _GL_W[None, :]
        wnode = f_t[:, None] * _GL_Y[None, :]
        u = bp[:, None] * np.expm1(-np.log1p(-wnode) / s)
        nb_u, q_u = nbd_pmf_iter(rp[:, None], ap[:, None], u)
        k = 1
        while True:
            nb_t = nb_t * (rp + k - 1) / k * q_t
            nb_u = nb_u * (rp[:, None] + k - 1) / k * q_u
            yield surv * nb_t + np.sum(wq * nb_u, axis=1)
            k += 1

    def _simulate(
        self, theta: FloatArray, T: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        r, alpha, s, beta = theta
        n = T.shape[0]
        lam = rng.gamma(r, 1.0 / alpha, n)
        mu = rng.gamma(s, 1.0 / beta, n)
        lifetime = rng.exponential(1.0, n) / mu
        active = np.minimum(lifetime, T)
        x = rng.poisson(lam * active).astype(np.float64)
        pos = x > 0
        tx = np.zeros(n)
        tx[pos] = active[pos] * rng.beta(x[pos], 1.0)  # last of x uniform times on (0, active)
        return x, tx
