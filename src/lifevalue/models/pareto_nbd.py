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
against known bounds and falls back to a continued fraction, so it never returns NaN. That closed
form is the reference (:meth:`ParetoNBDModel.individual_log_likelihood`). Fits and P(alive) take
the integral by Gauss-Legendre quadrature instead, on the grid of each frequency's distinct
recency and T values, summed from the top of the grid down (:func:`_grid_integrals`): exact to
rounding (tested against the closed form), shared by all the customers of a frequency, and giving
the derivatives in r, α, s and β from the same nodes, so the fit has an analytic gradient; a
million customers with seasonal (non-integer) times cost some 40 ms per evaluation of the
log-likelihood and its gradient.
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
    BoolArray,
    FloatArray,
    IntArray,
    PurchaseModel,
    RFTData,
    _codes,
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
        (1e-3, np.polynomial.legendre.leggauss(2)),
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
_CHUNK = 32_768
"""Pieces per chunk of the quadrature loop (its arrays stay in the processor's cache)."""
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
    x: FloatArray  # frequency of each grid point
    left: IntArray
    left_gid: IntArray
    k_tx: IntArray
    k_T: IntArray
    wk_tx: FloatArray

    @classmethod
    def build(cls, x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray) -> _Grid:
        n = x.shape[0]
        xs = np.concatenate([x, x])
        ts = np.concatenate([tx, T])
        # sort by (frequency, time): one integer key when the codes fit (they usually do)
        cx, nx, _, _ = _codes(xs)
        ct, nt, _, _ = _codes(ts)
        if float(nx) * float(nt) < 2.0**62:
            order = np.argsort(cx * nt + ct, kind="stable")
        else:
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
        left = np.flatnonzero(is_left).astype(np.int64)
        k_tx = pos[:n]
        wk = _bincount(k_tx, w, tau.shape[0])
        return cls(tau, gid, gstart, gxs[gstart], gxs, left, gid[left], k_tx, pos[n:], wk)


@dataclass
class _Integrals:
    """Integrals over the grid, scaled by ``exp(-ref)`` of each point's block.

    ``value[k]`` is ∫ g from grid point k to the end of its block; ``pieces[:, k]`` are the
    integrals over the piece from point k to k + 1 of g, g log(alpha+u), g log(beta+u),
    g / (alpha+u) and g / (beta+u) (only the first without the gradient).
    """

    value: FloatArray
    pieces: FloatArray
    ref: FloatArray  # log scale of each block
    block: IntArray  # block of each grid point
    bstart: IntArray  # first grid point of each block (blocks ordered along the grid)


def _block_cumsum(values: FloatArray, bstart: IntArray, *, reverse: bool) -> FloatArray:
    """Cumulative sums of ``values`` within each block (from its start, or with ``reverse`` to
    its end)."""
    n = values.shape[0]
    out = values[::-1].copy() if reverse else values.copy()
    bounds = n - np.append(bstart, n)[::-1] if reverse else np.append(bstart, n)
    for lo, hi in itertools.pairwise(bounds):
        np.cumsum(out[lo:hi], out=out[lo:hi])
    return out[::-1] if reverse else out


_LIMITS = np.array([rule[0] for rule in _RULES[:-1]])


def _piece_integrals(
    v0: FloatArray,
    h: FloatArray,
    rate: FloatArray,
    ke: FloatArray,
    shift: FloatArray,
    dl: float,
    a_lt_b: bool,
    nodes: FloatArray,
    weights: FloatArray,
    k: int,
) -> FloatArray:
    """Gauss-Legendre integrals over pieces [v0, v0 + h] (in v = log(D + u)) of
    f = exp(psi(v) - shift), and with ``k == 5`` also of f log(alpha+u), f log(beta+u),
    f / (alpha+u), f / (beta+u)."""
    acc = np.zeros((k, v0.shape[0]))
    base = -rate * v0 - shift
    slope = -rate * h
    for y, wt in zip(nodes, weights, strict=True):
        vv = v0 + h * y
        em = np.exp(-vv)
        qq = np.log1p(dl * em)
        f = np.exp(base + slope * y - ke * qq) * (h * wt)
        acc[0] += f
        if k > 1:
            inv_e = em / (1.0 + dl * em)
            fv = f * vv
            if a_lt_b:
                acc[1] += fv
                acc[2] += fv + f * qq
                acc[3] += f * em
                acc[4] += f * inv_e
            else:
                acc[1] += fv + f * qq
                acc[2] += fv
                acc[3] += f * inv_e
                acc[4] += f * em
    return acc


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
    psi = -(r + s + grid.x) * v - (s + 1.0 if a_lt_b else r + grid.x) * q
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
    k = 5 if grad else 1
    # the integrals over the piece from grid point o to o + 1 go to parts[:, o]
    parts = np.zeros((k, n_grid))
    left, lg = grid.left, grid.left_gid
    length = np.diff(v)[left]
    c_g = rate_g + ke_g + 1.0
    cl = c_g[lg] * length
    # rule of each piece (len(_RULES): too long for one 8-node rule, cut below)
    cls = np.zeros(cl.shape[0], dtype=np.int8)
    for limit in (*_LIMITS, _MAX_CL):
        cls += cl > limit
    shift_g = ref if block is gid else None  # one block per group: the group's scale
    for j, (_, nodes, weights) in enumerate(_RULES):
        sel = np.flatnonzero(cls == j)
        for lo in range(0, sel.shape[0], _CHUNK):
            idx = sel[lo : lo + _CHUNK]
            o, g = left[idx], lg[idx]
            shift = shift_g[g] if shift_g is not None else ref[block[o]]
            parts[:, o] = _piece_integrals(
                v[o], length[idx], rate_g[g], ke_g[g], shift, dl, a_lt_b, nodes, weights, k
            )
    # pieces too long for one 8-node rule: equal sub-pieces (those where the integrand has
    # fallen below e^-_NEGLIGIBLE of its value at the piece's start are dropped)
    idx = np.flatnonzero(cls == len(_RULES))
    if idx.shape[0]:
        span, n_sub = _long_pieces(
            v[left[idx]],
            length[idx],
            psi[left[idx]],
            rate_g[lg[idx]],
            ke_g[lg[idx]],
            c_g[lg[idx]],
            np.abs(1.0 - ag[lg[idx]]) if a_lt_b else np.zeros(idx.shape[0]),
            dl,
        )
        rep = np.repeat(idx, n_sub)
        offset = np.arange(rep.shape[0]) - np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
        sub_len = (span / n_sub).repeat(n_sub)
        sub_start = v[left[rep]] + offset * sub_len
        gs = lg[rep]
        with np.errstate(over="ignore"):
            psi_start = -rate_g[gs] * sub_start - ke_g[gs] * np.log1p(dl * np.exp(-sub_start))
        keep = np.flatnonzero(psi_start >= psi[left[rep]] - _NEGLIGIBLE)
        nodes, weights = _RULES[-1][1], _RULES[-1][2]
        for lo in range(0, keep.shape[0], _CHUNK):
            kk = keep[lo : lo + _CHUNK]
            o, g = left[rep[kk]], gs[kk]
            acc = _piece_integrals(
                sub_start[kk],
                sub_len[kk],
                rate_g[g],
                ke_g[g],
                ref[block[o]],
                dl,
                a_lt_b,
                nodes,
                weights,
                k,
            )
            for i in range(k):
                np.add.at(parts[i], o, acc[i])
    value = _block_cumsum(parts[0], bstart, reverse=True)
    return _Integrals(value, parts, ref, block, bstart)


def _long_pieces(
    v0: FloatArray,
    length: FloatArray,
    psi0: FloatArray,
    rate: FloatArray,
    ke: FloatArray,
    c: FloatArray,
    bend: FloatArray,
    dl: float,
) -> tuple[FloatArray, IntArray]:
    """The stretch of each long piece that matters and the number of equal sub-pieces it needs.

    On a piece starting at ``v0`` the log-integrand psi(u) = -rate u - ke log(1 + dl e^-u)
    (``psi0`` at ``v0``) is concave: its slope psi'(u) = -rate + ke / (1 + e^u / dl) falls
    with u, and it is negative after its root (if any). The stretch ends where psi has fallen
    ``_NEGLIGIBLE`` below ``psi0`` (found by bisection; what lies beyond adds less than
    e^-_NEGLIGIBLE of the piece's start), or at the piece's end. Each sub-piece's rule is
    chosen from the largest slope on the stretch (at one of its ends, the slope being
    monotone) plus ``bend`` (|1 - r - x| when alpha < beta, else 0) plus 1, which bound the
    derivatives of the non-linear part there as well, instead of the global bound ``c``:
    with s and beta running off together (hundreds of millions, on the ridge of a store where
    nobody seems to leave) ``c`` is about 1e9 while the integrand changes by a few hundred
    per unit over the stretch, and splitting by ``c`` would take a billion sub-pieces.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):

        def slope(u: FloatArray) -> FloatArray:
            return -rate + ke / (1.0 + np.exp(u) / dl) if dl > 0 else -rate + 0.0 * u

        def log_integrand(u: FloatArray) -> FloatArray:
            return -rate * u - ke * np.log1p(dl * np.exp(-u))

        end = v0 + length
        # where psi stops rising (the root of its slope), if inside the piece
        top = np.where(
            (slope(v0) > 0) & (ke > rate) & (dl > 0),
            np.log(dl * np.maximum(ke - rate, 0.0) / rate),
            v0,
        )
        lo = np.clip(np.where(np.isnan(top), v0, top), v0, end)
        hi = end.copy()
        target = psi0 - _NEGLIGIBLE
        short = log_integrand(end) < target  # psi falls below the target inside the piece
        lo_s, hi_s, t_s = lo[short], hi[short], target[short]
        r_s, k_s = rate[short], ke[short]
        for _ in range(60):  # bisection: psi is decreasing on [lo, hi]
            mid = 0.5 * (lo_s + hi_s)
            below = -r_s * mid - k_s * np.log1p(dl * np.exp(-mid)) < t_s
            hi_s = np.where(below, mid, hi_s)
            lo_s = np.where(below, lo_s, mid)
        hi[short] = hi_s
        span = np.maximum(hi - v0, 0.0)
        steep = np.maximum(np.abs(slope(v0)), np.abs(slope(hi))) + bend + 1.0
        bound = np.minimum(c, np.nan_to_num(steep, nan=np.inf, posinf=np.inf))
        n_sub = np.maximum(np.ceil(bound * span / _MAX_CL), 1.0).astype(np.int64)
    return np.where(span > 0, span, length), n_sub


@dataclass
class _Terms:
    """Per-row terms of the likelihood bracket and the grid arrays of :meth:`_grid_terms`."""

    ints: _Integrals
    ref_k: FloatArray  # log scale of each grid point (its block's)
    e1: FloatArray  # E1 at each grid point (as a T), on the point's scale
    log_a: FloatArray  # log(alpha + tau)
    log_b: FloatArray  # log(beta + tau)
    inv_a: FloatArray  # 1 / (alpha + tau)
    inv_b: FloatArray  # 1 / (beta + tau)
    a: FloatArray  # r + x of each grid point
    e1_row: FloatArray  # E1 of each row, on the scale of the block of its recency
    diff: FloatArray  # ∫_{t_x}^T g of each row, same scale
    cross: tuple[BoolArray, BoolArray, IntArray, FloatArray, FloatArray] | None = None


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
    _grid_cache: tuple[RFTData, _Grid] | None = None

    def _initial(self, data: RFTData) -> FloatArray:
        rate = wdot(data.w, data.x) / max(wdot(data.w, data.T), 1e-12)
        alpha = 1.0 / max(rate, 1e-8)
        beta = float(np.average(data.T, weights=data.w))
        out: FloatArray = np.log(np.array([1.0, min(max(alpha, 1e-6), 1e6), 1.0, max(beta, 1e-6)]))
        return out

    def _log_terms(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """log of the "alive at T" and "died in (t_x, T)" terms of the likelihood bracket, in
        closed form (2F1): the reference for :meth:`individual_log_likelihood` and the tests."""
        r, alpha, s, beta = theta
        log_e1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        lg_tx = log_incomplete_power_integral(alpha, beta, r + x, s + 1.0, tx)
        lg_T = log_incomplete_power_integral(alpha, beta, r + x, s + 1.0, T)
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

    def _grid(self, data: RFTData) -> _Grid:
        cached = self._grid_cache
        if cached is not None and cached[0] is data:
            return cached[1]
        grid = _Grid.build(data.x, data.tx, data.T, data.w)
        self._grid_cache = (data, grid)
        return grid

    def _grid_terms(self, theta: FloatArray, grid: _Grid, grad: bool) -> _Terms:
        """The two terms of each row's likelihood bracket, E1 + s ∫_{t_x}^T g(u) du, with
        E1 = (α+T)^-(r+x) (β+T)^-s and g(u) = (α+u)^-(r+x) (β+u)^-(s+1), on the scale of the
        row's block (see :func:`_grid_integrals`)."""
        r, alpha, s, beta = theta
        dl = abs(beta - alpha)
        v = np.log(min(alpha, beta) + grid.tau)
        em = np.exp(-v)
        q = np.log1p(dl * em)
        inv_e = em / (1.0 + dl * em)
        if alpha <= beta:
            log_a, log_b, inv_a, inv_b = v, v + q, em, inv_e
        else:
            log_a, log_b, inv_a, inv_b = v + q, v, inv_e, em
        a = r + grid.x
        ints = _grid_integrals(theta, grid, v, q, grad)
        ref_k = ints.ref[ints.block]
        e1 = np.exp(-a * log_a - s * log_b - ref_k)  # E1 at each grid point, on its block's scale
        k1, k2 = grid.k_tx, grid.k_T
        val = ints.value
        terms = _Terms(ints, ref_k, e1, log_a, log_b, inv_a, inv_b, a, e1[k2], val[k1] - val[k2])
        if ints.bstart.shape[0] > grid.gstart.shape[0]:  # rows whose T is in a later block
            b1, b2 = ints.block[k1], ints.block[k2]
            nb = np.minimum(b1 + 1, ints.bstart.shape[0] - 1)
            ns = ints.bstart[nb]
            cross = b2 != b1
            in_next = cross & (b2 == nb)
            with np.errstate(over="ignore", under="ignore"):
                fac = np.where(cross, np.exp(ints.ref[nb] - ints.ref[b1]), 0.0)
                e1_scale = np.exp(ints.ref[b2] - ints.ref[b1])
            # the integral over the next block (blocks after it are below e^-500 of the row's
            # own terms)
            terms.diff = np.where(
                cross, val[k1] + fac * (val[ns] - np.where(in_next, val[k2], 0.0)), terms.diff
            )
            terms.e1_row = terms.e1_row * e1_scale
            terms.cross = (cross, in_next, ns, fac, e1_scale)
        return terms

    def _grid_loglik(
        self, theta: FloatArray, data: RFTData, grad: bool
    ) -> tuple[float, FloatArray]:
        """Total log-likelihood and (with ``grad``) its gradient in natural parameters.

        The integral ∫_{t_x}^T g is a difference of the cumulative integrals of
        :func:`_grid_integrals` (one quadrature per grid piece, shared by all rows), and its
        derivatives are the integrals of g times -log(α+u), -log(β+u), -(r+x)/(α+u) and
        -(s+1)/(β+u), taken on the same nodes: an exact analytic gradient for little more than
        the cost of the value.
        """
        r, alpha, s, beta = theta
        grid = self._grid(data)
        t = self._grid_terms(theta, grid, grad)
        w = data.w
        bracket = t.e1_row + s * t.diff
        with np.errstate(divide="ignore"):
            log_bracket = np.log(bracket)
        lg = special.gammaln(r + data.ux) - special.gammaln(r)
        n = data.n_customers
        ll = (
            wdot(data.wx, lg)
            + n * (r * np.log(alpha) + s * np.log(beta))
            + wdot(grid.wk_tx, t.ref_k)
            + wdot(w, log_bracket)
        )
        if not grad:
            return float(ll), np.zeros(4)
        omega = w / bracket
        n_grid = grid.tau.shape[0]
        k1, k2 = grid.k_tx, grid.k_T
        if t.cross is None:
            w_tx = _bincount(k1, omega, n_grid)
            w_e1 = _bincount(k2, omega, n_grid)
            w_diff = w_tx - w_e1
        else:
            cross, in_next, ns, fac, e1_scale = t.cross
            on_t = np.where(cross, 0.0, -omega)
            idx = np.concatenate([k1, k2, ns, k2])
            wts = np.concatenate([omega, on_t, omega * fac, np.where(in_next, -omega * fac, 0.0)])
            w_diff = _bincount(idx, wts, n_grid)
            w_e1 = _bincount(k2, omega * e1_scale, n_grid)
        ints = t.ints
        g_e1 = w_e1 * t.e1
        # sum_k w_diff[k] * (integral from k to the end of its block), for each integrand: the
        # sum over pieces i of the piece's integral times w_diff summed from i's block start to i
        acc = _block_cumsum(w_diff, ints.bstart, reverse=False)
        p = ints.pieces
        s_val, s_log_a, s_log_b, s_inv_b = (wdot(p[j], acc) for j in (0, 1, 2, 4))
        s_inv_a = wdot(p[3], t.a * acc)  # r + x is the same within a block
        d_r = (
            wdot(data.wx, special.digamma(r + data.ux) - special.digamma(r))
            + n * np.log(alpha)
            - wdot(g_e1, t.log_a)
            - s * s_log_a
        )
        d_alpha = n * r / alpha - wdot(g_e1, t.a * t.inv_a) - s * s_inv_a
        d_s = n * np.log(beta) - wdot(g_e1, t.log_b) - s * s_log_b + s_val
        d_beta = n * s / beta - s * wdot(g_e1, t.inv_b) - s * (s + 1.0) * s_inv_b
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
        # E1 / (E1 + s ∫_{t_x}^T g) with the integral from the grid quadrature (exact to
        # rounding, several times faster than two 2F1 per row on large data)
        if x.shape[0] == 0:
            return np.zeros(0)
        grid = _Grid.build(x, tx, T, np.ones(x.shape[0]))
        k1, k2 = grid.k_tx, grid.k_T
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            t = self._grid_terms(theta, grid, grad=False)
            # in logs: E1 can be below the floating-point range on the scale of the recency's
            # block when T is in a later block
            log_odds = np.log(t.e1[k2]) - np.log(theta[2] * t.diff) + (t.ref_k[k2] - t.ref_k[k1])
            out: FloatArray = special.expit(log_odds)
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
