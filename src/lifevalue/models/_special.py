"""Numerically guarded special functions shared by the models.

SciPy's ``hyp2f1`` is fast and accurate for most arguments met in practice but returns NaN, or
even wrong finite values, for large parameters with the argument close to 1 (e.g. a Pareto/NBD
customer with hundreds of purchases). The functions here use it only in forms whose result has
known bounds, check the bounds, and evaluate the rows that fail by Gauss's continued fraction
(vectorised) and, as a last resort, by adaptive quadrature of the Euler integral.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import integrate, special

from lifevalue.models.base import FloatArray

_TINY = 1e-300


def log_hyp2f1_one(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """``log 2F1(1, b; c; z)`` for ``c > b > 0`` and ``0 <= z < 1`` (elementwise, never NaN).

    The value is ``E[1 / (1 - z t)]`` for ``t ~ Beta(b, c - b)``, so it lies in
    ``[1, 1/(1-z)]``; rows where SciPy's result leaves that range are recomputed.
    """
    b, c, z = np.broadcast_arrays(
        np.asarray(b, dtype=np.float64), np.asarray(c, dtype=np.float64), np.asarray(z, np.float64)
    )
    out = np.zeros(b.shape)
    pos = z > 0
    if not np.any(pos):
        return out
    bb, cc, zz = b[pos], c[pos], z[pos]
    with np.errstate(all="ignore"):
        h = special.hyp2f1(1.0, bb, cc, zz)
        upper = 1.0 / (1.0 - zz)
        bad = ~np.isfinite(h) | (h < 1.0 - 1e-12) | (h > upper * (1 + 1e-10))
        # a second, independent bound when 2F1(1, b; c; 1) is finite: (c - 1) / (c - 1 - b)
        fin = cc - 1.0 - bb > 0
        lim = np.where(fin, (cc - 1.0) / np.where(fin, cc - 1.0 - bb, 1.0), np.inf)
        bad |= h > lim * (1 + 1e-10)
        res = np.log(np.clip(h, 1.0, None))
    if np.any(bad):
        res[bad] = _log_h2_fallback(bb[bad], cc[bad], zz[bad])
    out[pos] = res
    return out


def _log_h2_fallback(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    h, done = _h2_continued_fraction(b, c, z)
    out = np.log(np.clip(h, 1.0, None))
    ok = done & np.isfinite(out) & (h >= 1.0 - 1e-12) & (h <= (1.0 / (1.0 - z)) * (1 + 1e-10))
    for i in np.flatnonzero(~ok):  # rare: rows the continued fraction did not settle
        out[i] = math.log(_h2_quad(float(b[i]), float(c[i]), float(z[i])))
    return out


def _h2_continued_fraction(
    b: FloatArray, c: FloatArray, z: FloatArray, max_iter: int = 20_000, eps: float = 1e-15
) -> tuple[FloatArray, np.ndarray]:
    """2F1(1, b; c; z) by the continued fraction of the incomplete beta function (modified Lentz).

    2F1(1, b; c; z) = z^-a (1-z)^-bb a B_z(a, bb) with a = c - 1, bb = b - c + 1, whose continued
    fraction converges for every z < 1 (slowly near 1, hence only a fallback).
    """
    a = c - 1.0
    bb = b - c + 1.0
    qab, qap, qam = a + bb, a + 1.0, a - 1.0
    cc = np.ones_like(z)
    d = 1.0 - qab * z / qap
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    done = np.zeros(z.shape, dtype=bool)
    active = np.arange(z.shape[0])
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        za, aa_, bb_, qa, qm, qp = (
            z[active],
            a[active],
            bb[active],
            qab[active],
            qam[active],
            qap[active],
        )
        dd, c_, hh = d[active], cc[active], h[active]
        num = m * (bb_ - m) * za / ((qm + m2) * (aa_ + m2))
        dd = 1.0 + num * dd
        dd = 1.0 / np.where(np.abs(dd) < _TINY, _TINY, dd)
        c_ = 1.0 + num / c_
        c_ = np.where(np.abs(c_) < _TINY, _TINY, c_)
        hh = hh * dd * c_
        num = -(aa_ + m) * (qa + m) * za / ((aa_ + m2) * (qp + m2))
        dd = 1.0 + num * dd
        dd = 1.0 / np.where(np.abs(dd) < _TINY, _TINY, dd)
        c_ = 1.0 + num / c_
        c_ = np.where(np.abs(c_) < _TINY, _TINY, c_)
        delta = dd * c_
        hh = hh * delta
        d[active], cc[active], h[active] = dd, c_, hh
        fin = np.abs(delta - 1.0) < eps
        if np.any(fin):
            done[active[fin]] = True
            active = active[~fin]
            if active.size == 0:
                break
    return h, done


def _h2_quad(b: float, c: float, z: float) -> float:
    """2F1(1, b; c; z) = E[1/(1 - z t)], t ~ Beta(b, c - b), by adaptive quadrature in v = 1 - t."""
    s = c - b
    lb = special.betaln(b, s)

    def f(v: float) -> float:
        if v <= 0.0 or v >= 1.0:
            return 0.0
        return math.exp((s - 1) * math.log(v) + (b - 1) * math.log1p(-v) - lb) / (1 - z + z * v)

    pts = sorted({min(0.5, 1 - z), min(0.5, 1 / b), min(0.5, s / c)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(f, 0.0, 1.0, epsabs=0.0, epsrel=1e-12, limit=2000, points=pts)
    return max(val, 1.0)


def log_incomplete_power_integral(
    A: FloatArray, B: FloatArray, m1: FloatArray, m2: FloatArray, tau: FloatArray
) -> FloatArray:
    """``log G(tau)`` with ``G(tau) = ∫_tau^∞ (A+u)^-m1 (B+u)^-m2 du`` (A, B >= 0, m1, m2 > 0).

    Closed form (Fader & Hardie's Pareto/NBD integral): with ``m = m1 + m2 - 1 > 0``,
    ``G = (C+tau)^-m 2F1(m, k; m+1; z) / m`` where ``(C, k) = (A, m2)`` if ``A >= B`` else
    ``(B, m1)`` and ``z = |A-B|/(C+tau)``; by Euler's transformation
    ``2F1(m, k; m+1; z) = (1-z)^(1-k) 2F1(1, m+1-k; m+1; z)``.
    """
    A, B, m1, m2, tau = np.broadcast_arrays(A, B, m1, m2, tau)
    a_ge = A >= B
    C = np.where(a_ge, A, B)
    k = np.where(a_ge, m2, m1)
    m = m1 + m2 - 1.0
    with np.errstate(divide="ignore"):
        z = np.abs(A - B) / (C + tau)
    z = np.clip(z, 0.0, 1.0 - 1e-16)
    log_h = (1.0 - k) * np.log1p(-z) + log_hyp2f1_one(m + 1.0 - k, m + 1.0, z)
    out: FloatArray = -m * np.log(C + tau) - np.log(m) + log_h
    return out


def log1mexp(d: FloatArray) -> FloatArray:
    """``log(1 - exp(d))`` for ``d <= 0`` (``-inf`` at 0), accurately for all d."""
    d = np.minimum(d, 0.0)
    with np.errstate(divide="ignore"):
        out: FloatArray = np.where(
            d > -0.6931471805599453, np.log(-np.expm1(d)), np.log1p(-np.exp(d))
        )
    return out


def one_minus_pow_over(c: FloatArray, log_y: FloatArray) -> FloatArray:
    """``(1 - y^c) / c`` from ``log y`` (y <= 1), with the limit ``-log y`` at ``c = 0``."""
    cl = c * log_y
    small = np.abs(cl) < 1e-8
    safe_c = np.where(small, 1.0, c)
    out: FloatArray = np.where(small, -log_y * (1.0 + 0.5 * cl), -np.expm1(cl) / safe_c)
    return out


def bg_expected_alive(
    a: FloatArray, b: FloatArray, r: FloatArray, alpha: FloatArray, t: FloatArray
) -> FloatArray:
    """``E[(1/p) (1 - (alpha/(alpha + p t))^r)]`` for ``p ~ Beta(a, b)``.

    This is the expected number of purchases in a period of length t of a BG-process customer who
    is alive at its start, with purchase rate ~ Gamma(r, alpha) and dropout probability
    ~ Beta(a, b) (Fader, Hardie & Lee 2005, eq. 10 without the P(alive) factor):
    ``(a+b-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z)]`` with ``z = t/(alpha+t)``
    (Euler-transformed, so no large power of x appears). Bounded by ``r t / alpha``.
    """
    a, b, r, alpha, t = (np.asarray(v, dtype=np.float64) for v in (a, b, r, alpha, t))
    a, b, r, alpha, t = np.broadcast_arrays(a, b, r, alpha, t)
    # a = 1 is a removable singularity; move off it (relative effect ~1e-7)
    a_eff = np.where(np.abs(a - 1.0) < 1e-7, 1.0 + np.copysign(1e-7, a - 1.0 + 1e-300), a)
    z = t / (alpha + t)
    c = a_eff + b - 1.0
    with np.errstate(all="ignore"):
        hyp = special.hyp2f1(c - r, a_eff - 1.0, c, z)
        inner = np.exp((a_eff - 1.0) * np.log1p(-z)) * hyp
        val = c / (a_eff - 1.0) * (1.0 - inner)
    bound = r * t / alpha
    bad = (
        ~np.isfinite(val)
        | (val < -1e-12 * np.maximum(bound, 1e-300))
        | (val > bound * (1 + 1e-8) + 1e-300)
    )
    bad &= t > 0
    val = np.where(t > 0, val, 0.0)
    for i in np.flatnonzero(bad):  # rare rows where hyp2f1 is unreliable
        val[i] = _bg_expected_quad(
            float(a[i]), float(b[i]), float(r[i]), float(alpha[i]), float(t[i])
        )
    out: FloatArray = np.clip(val, 0.0, bound)
    return out


def _bg_expected_quad(a: float, b: float, r: float, alpha: float, t: float) -> float:
    lb = special.betaln(a, b)

    def f(p: float) -> float:
        if p <= 0.0 or p >= 1.0:
            return 0.0
        g = -math.expm1(-r * math.log1p(p * t / alpha)) / p
        return g * math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - lb)

    pts = sorted({min(0.5, a / (a + b)), min(0.5, alpha / max(t, 1e-300)), min(0.5, 1 / (a + b))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(f, 0.0, 1.0, epsabs=0.0, epsrel=1e-11, limit=2000, points=pts)
    return float(val)


def nbd_pmf_iter(r: FloatArray, alpha: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """First term and ratio base of the NBD pmf: P(N=0) and q = t/(alpha+t).

    With ``N ~ Poisson(λ t)``, ``λ ~ Gamma(r, alpha)``: ``P(N=k) = P(N=k-1) (r+k-1)/k q``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q0 = -r * np.log1p(t / alpha)
    p0: FloatArray = np.exp(log_q0)
    q: FloatArray = t / (alpha + t)
    return p0, q
