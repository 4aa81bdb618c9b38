"""BG/NBD: the beta-geometric / negative binomial purchase model.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way: an
alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.

While alive, a customer buys at Poisson rate λ ~ Gamma(r, α) (rate α); after each repeat purchase
the customer drops out for good with probability p ~ Beta(a, b). The likelihood of a customer with
x repeat purchases, the last at t_x, observed for T, is

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + δ(x>0) B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)).

The modified model (MBG/NBD, :mod:`lifevalue.models.modified_beta_geo`) shares this module's
code with ``_modified = True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from lifevalue.models._special import bg_expected_alive, nbd_pmf_iter
from lifevalue.models.base import FloatArray, IntArray, PurchaseModel, RFTData, _codes, wdot

_CHUNK = 32_768
"""Rows per chunk of the likelihood loop (its arrays stay in the processor's cache)."""


@dataclass(frozen=True)
class _Times:
    """The distinct T values of the rows (``uT``, row i's is ``uT[iT[i]]``) with the total
    weight ``wT`` and weighted frequency ``wxT`` of the rows with each."""

    uT: FloatArray
    iT: IntArray
    wT: FloatArray
    wxT: FloatArray

    @classmethod
    def build(cls, data: RFTData) -> _Times:
        codes, n_codes, uniques, lo = _codes(data.T)
        if uniques is None and n_codes <= 4 * codes.shape[0] + 1024:  # whole numbers: no sort
            present = np.zeros(n_codes, dtype=bool)
            present[codes] = True
            slot = np.cumsum(present) - 1
            uT = np.flatnonzero(present).astype(np.float64) + lo
            iT = slot[codes].astype(np.int64)
        else:
            uT, iT = np.unique(data.T, return_inverse=True)
            iT = iT.reshape(-1).astype(np.int64)
        size = uT.shape[0]
        wT = np.bincount(iT, weights=data.w, minlength=size).astype(np.float64)
        wxT = np.bincount(iT, weights=data.w * data.x, minlength=size).astype(np.float64)
        return cls(uT, iT, wT, wxT)


class BetaGeoModel(PurchaseModel):
    """BG/NBD purchase model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    Parameters ``r``, ``alpha`` (purchase rate: Gamma shape and rate, alpha in the model's time
    unit) and ``a``, ``b`` (dropout probability after each purchase: Beta). See
    :class:`~lifevalue.models.base.BaseModel` for the hyper-parameters.

    Examples
    --------
    >>> model = BetaGeoModel().fit(summary)  # doctest: +SKIP
    >>> model.expected_purchases(52, summary)  # doctest: +SKIP
    """

    name: ClassVar[str] = "bgnbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _modified: ClassVar[bool] = False
    _times_cache: tuple[RFTData, _Times] | None = None

    # offset of the posterior b: Beta(a, b + x + off) given alive
    @property
    def _off(self) -> float:
        return 1.0 if self._modified else 0.0

    def _initial(self, data: RFTData) -> FloatArray:
        rate = wdot(data.w, data.x) / max(wdot(data.w, data.T), 1e-12)
        r = 1.0
        alpha = r / max(rate, 1e-8)
        out: FloatArray = np.log(np.array([r, min(max(alpha, 1e-6), 1e6), 1.0, 3.0]))
        return out

    def _log_k(self, a: float, b: float, ux: FloatArray) -> FloatArray:
        """Per-frequency log weight of the "dropped out after the last purchase" branch."""
        off = self._off
        den = b + ux - 1.0 + off
        ok = (ux > 0) | self._modified
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(ok, np.log(a) - np.log(np.where(ok, den, 1.0)), -np.inf)
        return out

    def _times(self, data: RFTData) -> _Times:
        cached = self._times_cache
        if cached is not None and cached[0] is data:
            return cached[1]
        times = _Times.build(data)
        self._times_cache = (data, times)
        return times

    def _objective(self, z: FloatArray, data: RFTData) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(z)
        off = self._off
        ux, xi, wx = data.ux, data.xi, data.wx
        tm = self._times(data)
        # terms that depend on the frequency only, once per distinct frequency
        bx = b + ux + off
        gx = (
            special.gammaln(r + ux)
            - special.gammaln(r)
            + r * np.log(alpha)
            + special.betaln(a, bx)
            - special.betaln(a, b)
        )
        kx = self._log_k(a, b, ux)
        # terms of T alone, once per distinct T (weighted by the rows' w and w x)
        lt_u = np.log(alpha + tm.uT)
        it_u = 1.0 / (alpha + tm.uT)
        ll = wdot(wx, gx) - r * wdot(tm.wT, lt_u) - wdot(tm.wxT, lt_u)
        # per unique row: log L = g(x) - (r+x) log(α+T) + softplus(d), d = k(x) - (r+x) Δ,
        # Δ = log(α+t_x) - log(α+T); p2 = sigmoid(d) is the weight of the "dropped out" branch.
        # (written with exp/log only: NumPy's logaddexp/log1p/expit are several times slower;
        # in chunks that stay in the processor's cache)
        sp_sum = 0.0
        wp2_delta = 0.0
        wp2_inv = 0.0
        s2x = np.zeros(ux.shape[0])
        for lo in range(0, data.x.shape[0], _CHUNK):
            sl = slice(lo, lo + _CHUNK)
            x, w, ix = data.x[sl], data.w[sl], xi[sl]
            t_idx = tm.iT[sl]
            atx = alpha + data.tx[sl]
            delta = np.log(atx) - lt_u[t_idx]
            rx = r + x
            d = kx[ix] - rx * delta
            e = np.exp(-np.abs(d))
            sp_sum += wdot(w, np.maximum(d, 0.0) + np.log(1.0 + e))
            q = 1.0 / (1.0 + e)
            wp2 = w * np.where(d >= 0, q, e * q)
            s2x += np.bincount(ix, weights=wp2, minlength=ux.shape[0])
            wp2_delta += wdot(wp2, delta)
            wp2_inv += wdot(wp2 * rx, 1.0 / atx - it_u[t_idx])
        ll += sp_sum
        psi_ab = special.digamma(a + b)
        psi_abx = special.digamma(a + bx)
        den = b + ux - 1.0 + off
        has_k = (ux > 0) | self._modified
        dkb = np.where(has_k, -1.0 / np.where(den > 0, den, 1.0), 0.0)
        n_x = float(np.sum(wx))
        d_r = (
            wdot(wx, special.digamma(r + ux) - special.digamma(r) + np.log(alpha))
            - wdot(tm.wT, lt_u)
            - wp2_delta
        )
        d_alpha = n_x * r / alpha - r * wdot(tm.wT, it_u) - wdot(tm.wxT, it_u) - wp2_inv
        d_a = wdot(wx, psi_ab - psi_abx) + float(np.sum(s2x)) / a
        d_b = wdot(wx, special.digamma(bx) - psi_abx - special.digamma(b) + psi_ab) + wdot(s2x, dkb)
        n = data.n_customers
        grad = -np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b]) / n
        return -ll / n, grad

    def _loglik_rows(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = theta
        off = self._off
        with np.errstate(divide="ignore", invalid="ignore"):
            g = (
                special.gammaln(r + x)
                - special.gammaln(r)
                + r * np.log(alpha)
                + special.betaln(a, b + x + off)
                - special.betaln(a, b)
            )
            u1 = -(r + x) * np.log(alpha + T)
            u2 = self._log_k(a, b, x) - (r + x) * np.log(alpha + tx)
            out: FloatArray = g + np.logaddexp(u1, u2)
        return out

    def _p_alive(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = theta
        k = self._log_k(a, b, x)
        d = k + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        out: FloatArray = special.expit(-d)
        return out

    def _expected_alive(
        self, theta: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, a, b = theta
        return bg_expected_alive(a, b + x + self._off, r + x, alpha + T, t)

    def _expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        r, alpha, a, b = theta
        if self._modified:
            # the customer may drop out right after the first purchase (probability p)
            out: FloatArray = b / (a + b) * bg_expected_alive(a, b + 1.0, r, alpha, t)
            return out
        return bg_expected_alive(a, b, r, alpha, t)

    def _pmf_alive(
        self, theta: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> Iterator[FloatArray]:
        """P(X(t)=k | alive): with λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x(+1)) independent,
        P(k) = E[p(1-p)^(k-1)] P(N >= k) + E[(1-p)^k] P(N = k) for k >= 1, N ~ NBD."""
        r, alpha, a, b = theta
        rp = r + x
        bp = b + x + self._off
        nb, q = nbd_pmf_iter(rp, alpha + T, t)
        yield nb
        tail = 1.0 - nb  # P(N >= 1)
        e_surv = np.ones_like(x)  # E[(1-p)^(k-1)]
        k = 1
        while True:
            e_die = e_surv * a / (a + bp + k - 1)  # E[p (1-p)^(k-1)]
            e_surv = e_surv * (bp + k - 1) / (a + bp + k - 1)  # E[(1-p)^k]
            nb = nb * (rp + k - 1) / k * q
            yield e_die * np.clip(tail, 0.0, 1.0) + e_surv * nb
            tail = tail - nb
            k += 1

    def _simulate(
        self, theta: FloatArray, T: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        r, alpha, a, b = theta
        n = T.shape[0]
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = rng.beta(a, b, n)
        events = rng.poisson(lam * T).astype(np.float64)
        # number of repeat purchases before dropping out, if time were unlimited
        limit = rng.geometric(p).astype(np.float64) - self._off
        x = np.minimum(events, limit)
        pos = x > 0
        tx = np.zeros(n)
        # the x-th of `events` uniform event times on (0, T]
        tx[pos] = T[pos] * rng.beta(x[pos], events[pos] - x[pos] + 1.0)
        return x, tx
