"""Customer-base models: purchases (BG/NBD, MBG/NBD, Pareto/NBD), spend (Gamma-Gamma),
subscription retention (sBG), and discounted CLV.

Every model is an estimator in the scikit-learn style (hyper-parameters in ``__init__``,
``fit(...) -> self``, learned values in ``*_`` attributes) and is saved as small versioned JSON.

>>> from lifevalue.models import BetaGeoModel, GammaGammaModel, customer_lifetime_value
>>> purchases = BetaGeoModel().fit(summary)            # doctest: +SKIP
>>> spend = GammaGammaModel().fit(summary)             # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lifevalue.errors import InputError
from lifevalue.models.base import BaseModel, PurchaseModel
from lifevalue.models.beta_geo import BetaGeoModel
from lifevalue.models.clv import customer_lifetime_value, per_step_discount_rate
from lifevalue.models.gamma_gamma import GammaGammaModel
from lifevalue.models.modified_beta_geo import ModifiedBetaGeoModel
from lifevalue.models.pareto_nbd import ParetoNBDModel
from lifevalue.models.shifted_beta_geo import ShiftedBetaGeoModel

MODELS: dict[str, type[BaseModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pnbd": ParetoNBDModel,
    "gamma_gamma": GammaGammaModel,
    "sbg": ShiftedBetaGeoModel,
}
"""Model classes by the name stored in their JSON (``"model"`` key)."""

PURCHASE_MODELS: dict[str, type[PurchaseModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pnbd": ParetoNBDModel,
}


def load_model(source: str | Path | Mapping[str, Any]) -> BaseModel:
    """Load any model saved with ``model.save(path)`` (a path) or ``model.to_dict()`` (a dict)."""
    if isinstance(source, Mapping):
        data = source
    else:
        path = Path(source)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not a lifevalue model file (invalid JSON: {exc.msg})",
                file=str(path),
                line=exc.lineno,
            ) from exc
    name = data.get("model") if isinstance(data, Mapping) else None
    if name not in MODELS:
        raise InputError(
            f"unknown model {name!r}",
            file=None if isinstance(source, Mapping) else str(source),
            hint=f"known models: {', '.join(MODELS)}",
        )
    return MODELS[str(name)].from_dict(data)


__all__ = [
    "MODELS",
    "PURCHASE_MODELS",
    "BaseModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "PurchaseModel",
    "ShiftedBetaGeoModel",
    "customer_lifetime_value",
    "load_model",
    "per_step_discount_rate",
]
