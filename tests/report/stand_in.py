"""A tiny BG/NBD stand-in for the purchase model of :mod:`lifevalue.models` (tests only).

Formulas from Fader, Hardie & Lee (2005), "Counting your customers the easy way".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

#: Maximum-likelihood estimates on the CDNOW sample (weeks), from the paper.
CDNOW_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_STANDARD_ERRORS = {"r": 0.013, "alpha": 0.378, "a": 0.186, "b": 0.705}


class StandInBetaGeo:
    """BG/NBD with fixed parameters: the two predictions the report uses, vectorised."""

    def __init__(self, r: float, alpha: float, a: float, b: float) -> None:
        self.r, self.alpha, self.a, self.b = r, alpha, a, b

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        return (
            (a + b - 1) / (a - 1) * (1 - ((alpha / (alpha + t)) ** r) * hyp2f1(r, b, a + b - 1, z))
        )

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t, x, tx, T = np.broadcast_arrays(
            *(np.asarray(v, dtype=float) for v in (t, frequency, recency, T))
        )
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        first = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        return first / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, tx, T = np.broadcast_arrays(
            *(np.asarray(v, dtype=float) for v in (frequency, recency, T))
        )
        ratio = (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
        return np.where(x > 0, 1.0 / (1.0 + np.where(x > 0, ratio, 0.0)), 1.0)

    def log_likelihood(self, x: Any, tx: Any, T: Any) -> float:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + T)
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
        return float(np.sum(a1 + np.logaddexp(a2 + a3, a2 + a4)))
