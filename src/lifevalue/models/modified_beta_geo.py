"""MBG/NBD: the modified BG/NBD purchase model.

Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and comparison of models
for customer base analysis. *International Journal of Research in Marketing* 24(3), 201-209.

As BG/NBD, except that a customer may also drop out right after the *first* purchase, so a one-time
buyer is not certainly alive (P(alive) < 1 for frequency 0). The likelihood is

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + B(a+1, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)).

The numerics are shared with :mod:`lifevalue.models.beta_geo` (posterior of p given alive is
Beta(a, b+x+1) instead of Beta(a, b+x)).
"""

from __future__ import annotations

from typing import ClassVar

from lifevalue.models.beta_geo import BetaGeoModel


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD purchase model (Batislam et al. 2007), fitted by maximum likelihood.

    Parameters ``r``, ``alpha`` (purchase rate ~ Gamma(r, alpha)) and ``a``, ``b`` (dropout
    probability after the first and each repeat purchase ~ Beta(a, b)).
    """

    name: ClassVar[str] = "mbgnbd"
    _modified: ClassVar[bool] = True
