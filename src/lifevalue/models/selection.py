"""Choosing the purchase model honestly: on a validation window inside the fitting data.

``--model auto`` compares BG/NBD, MBG/NBD and Pareto/NBD (and their seasonal variants, see
:mod:`lifevalue.models.seasonal`) on data the final model is *fitted* on, never on the reported
holdout:

1. The fitting window runs from the first purchase to the *fit end* (``--calibration-end`` when
   given, else the end of the data). Its last quarter (at least 28 days, whole days) is the
   *validation window*; its start is the *inner calibration end*.
2. The purchases up to the fit end are summarised again with that inner calibration end: each
   customer's frequency, recency and T up to the inner end, and the purchase days in the
   validation window.
3. Each candidate is fitted on the inner calibration summary and predicts every customer's
   purchases in the validation window. The scorecard records per-customer MAE and RMSE, total
   predicted and actual purchases and the correlation.
4. The winner is the candidate with the lowest per-customer RMSE (the error measure for which the
   expected value is the best forecast); it is then refitted on the whole fitting window.

With ``--calibration-end`` the holdout after it only *scores* the choice (``holdout.csv``); the
choice is the same whatever the holdout holds.

When the data cannot identify a model (fewer than :data:`MIN_REPEAT_CUSTOMERS` repeat buyers, or no
candidate fit converges), callers fall back to the historical CLV (see
:mod:`lifevalue.models.pipeline_step`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from lifevalue.errors import ConvergenceError, IdentificationWarning, InputError
from lifevalue.models import PURCHASE_MODELS
from lifevalue.models.base import FloatArray, PurchaseModel, pair_index
from lifevalue.models.seasonal import (
    DailyCounts,
    SeasonalProfile,
    SeasonalPurchaseModel,
    estimate_profile,
)

CANDIDATES: tuple[str, ...] = ("bgnbd", "mbgnbd", "pnbd")
VALIDATION_SHARE = 0.25
MIN_VALIDATION_DAYS = 28
MIN_REPEAT_CUSTOMERS = 10
"""Fewer repeat buyers than this and no purchase model is fitted (historical CLV instead)."""
RETRY_PENALIZER = 1e-3
UNIT_DAYS = {"days": 1.0, "weeks": 7.0}

Seasonal = Literal["auto", "yes", "no"]
AnyPurchaseModel = PurchaseModel | SeasonalPurchaseModel
Progress = Callable[[str], None]

LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pnbd": "Pareto/NBD"}


def variant_label(name: str, seasonal: bool) -> str:
    """``bgnbd`` / ``bgnbd+seasonal``: the id of a candidate in the scorecard."""
    return f"{name}+seasonal" if seasonal else name


@dataclass
class Histories:
    """Customer histories grouped to distinct rows: (frequency, recency, T[, holdout]) + count."""

    x: FloatArray
    tx: FloatArray
    T: FloatArray
    weight: FloatArray
    holdout: FloatArray | None = None

    @property
    def n_customers(self) -> int:
        """Number of customers."""
        return int(self.weight.sum())

    @property
    def n_repeat(self) -> int:
        """Number of customers with at least one repeat purchase."""
        return int(self.weight[self.x > 0].sum())


def histories_from_customers(con: Any, table: str = "customers") -> Histories:
    """Distinct (frequency, recency, T) rows of the customer summary, with counts (DuckDB)."""
    # in sorted order: sums over the rows (the log-likelihood) then do not depend on the order
    # DuckDB's threads hand the groups back in
    d = con.execute(
        f'SELECT frequency, recency, "T", count(*) AS n FROM {table} GROUP BY ALL ORDER BY ALL'
    ).fetchnumpy()
    return Histories(
        *(np.asarray(d[k], dtype=np.float64) for k in ("frequency", "recency", "T", "n"))
    )


def inner_histories(con: Any, inner_end: date, fit_end: date, unit_days: float) -> Histories:
    """Histories up to ``inner_end`` and purchase days in (inner_end, fit_end], grouped (DuckDB).

    Uses the ``purchases`` view: one row per customer and purchase day (a purchase period).
    """
    return inner_histories_and_counts(con, inner_end, fit_end, unit_days)[0]


def inner_histories_and_counts(
    con: Any, inner_end: date, fit_end: date, unit_days: float
) -> tuple[Histories, DailyCounts]:
    """:func:`inner_histories` and the daily counts up to ``fit_end``
    (:func:`~lifevalue.models.seasonal.daily_purchase_counts`) from one pass over the customer-days
    (the ``purchases`` view: one row per customer and purchase day)."""
    inner = f"DATE '{inner_end.isoformat()}'"
    d = con.execute(
        f"""
        WITH d AS (
            SELECT customer_id, local_date FROM purchases
            WHERE local_date <= DATE '{fit_end.isoformat()}'
        ), c AS (
            SELECT min(local_date) AS f,
                   max(local_date) FILTER (local_date <= {inner}) AS l,
                   count(*) FILTER (local_date <= {inner}) AS n,
                   count(*) FILTER (local_date > {inner}) AS h
            FROM d GROUP BY customer_id
        )
        SELECT 0 AS kind, n - 1 AS x, (l - f) / {unit_days} AS tx,
               ({inner} - f) / {unit_days} AS "T", h, count(*) AS w, NULL::DATE AS day
        FROM c WHERE n > 0 GROUP BY ALL
        UNION ALL
        SELECT 1, NULL, NULL, NULL, NULL, count(*), local_date FROM d GROUP BY ALL
        UNION ALL
        SELECT 2, NULL, NULL, NULL, NULL, count(*), f FROM c GROUP BY ALL
        ORDER BY ALL
        """
    ).fetchnumpy()
    kind = np.asarray(d["kind"])
    rows = kind == 0
    # the columns of the other kind's rows are NULL (masked): keep each kind's own rows
    arr = {
        k: np.asarray(np.ma.getdata(d[k])[rows], dtype=np.float64)
        for k in ("x", "tx", "T", "h", "w")
    }
    hist = Histories(arr["x"], arr["tx"], arr["T"], arr["w"], arr["h"])
    days = ~rows
    counts = DailyCounts.from_rows(
        kind[days] - 1, np.ma.getdata(d["day"])[days], np.ma.getdata(d["w"])[days], fit_end
    )
    return hist, counts


def new_model(name: str, time_unit: str, penalizer: float = 0.0) -> PurchaseModel:
    """An unfitted purchase model by name."""
    try:
        cls = PURCHASE_MODELS[name]
    except KeyError:
        raise InputError(
            f"unknown purchase model {name!r}", hint=f"use one of {', '.join(CANDIDATES)}"
        ) from None
    return cls(penalizer=penalizer, time_unit=time_unit)


def fit_plain(
    name: str,
    hist: Histories,
    time_unit: str,
    notes: list[str],
    start: Mapping[str, float] | PurchaseModel | None = None,
) -> PurchaseModel:
    """Fit a purchase model; if it does not converge, retry once with a small penalty.

    ``start`` (the same model fitted on similar data, or its parameters) is where the optimiser
    starts; the retry starts from the data-based guess. Raises the second
    :class:`ConvergenceError` (or the :class:`InsufficientDataError`) when that fails too.
    """
    with warnings.catch_warnings():  # a ridge's IdentificationWarning becomes a note
        warnings.simplefilter("ignore", IdentificationWarning)
        try:
            model = new_model(name, time_unit).fit(
                hist.x, hist.tx, hist.T, weights=hist.weight, initial_params=start
            )
        except ConvergenceError as exc:
            if type(exc).__name__ == "InsufficientDataError":
                raise
            model = new_model(name, time_unit, RETRY_PENALIZER).fit(
                hist.x, hist.tx, hist.T, weights=hist.weight
            )
            notes.append(
                f"{LABELS[name]} did not converge without a penalty; fitted with "
                f"penalizer={RETRY_PENALIZER:g} (parameters shrunk slightly towards 0)"
            )
    notes.extend(model.fit_notes_)
    return model


def fit_seasonal(
    plain: PurchaseModel,
    hist: Histories,
    profile: SeasonalProfile,
    anchor: date,
    time_unit: str,
    notes: list[str],
) -> SeasonalPurchaseModel:
    """Fit the seasonal variant of ``plain``'s model on histories measured at ``anchor``.

    The optimiser starts from ``plain``'s parameters: the seasonal model is the plain one on a
    clock that runs at the profile's pace, so its optimum is usually close by.
    """
    unit_days = UNIT_DAYS[time_unit]
    model = SeasonalPurchaseModel(new_model(plain.name, time_unit), profile, anchor, unit_days)
    tx_op, t_op = model.history(hist.tx, hist.T)
    model.base = fit_plain(
        plain.name,
        Histories(hist.x, tx_op, t_op, hist.weight),
        time_unit,
        notes,
        start=plain,
    )
    return model


def score(model: AnyPurchaseModel, hist: Histories, length: float) -> dict[str, float]:
    """Per-customer errors of the predicted purchases in ``length`` time units after the anchor.

    ``hist.holdout`` holds the actual purchase days. Returns ``mae``, ``rmse`` (per customer),
    ``predicted`` and ``actual`` (totals), ``total_error`` ((predicted - actual) / actual) and
    ``correlation`` (per customer, Pearson).
    """
    if hist.holdout is None:
        raise ValueError("histories without actual purchases cannot be scored")
    return error_metrics(expected_purchases(model, length, hist), hist.holdout, hist.weight)


def expected_purchases(model: AnyPurchaseModel, length: float, hist: Histories) -> FloatArray:
    """``model.expected_purchases(length, ...)`` of the histories (valid, as read from a
    summary), with the purchases of a live customer evaluated once per distinct (frequency, T)
    (they do not depend on recency in any of the models)."""
    if isinstance(model, SeasonalPurchaseModel):
        base = model.base
        tx, tt = model.history(hist.tx, hist.T)
        t = float(model.horizon(np.array([length]))[0])
    else:
        base, tx, tt, t = model, hist.tx, hist.T, length
    theta = base._theta()
    pair, inverse = pair_index(hist.x, tt)
    with np.errstate(all="ignore"):
        alive = np.clip(base._p_alive(theta, hist.x, tx, tt), 0.0, 1.0)
        px, pt = hist.x[pair], tt[pair]
        per_pair = base._expected_alive(theta, np.full_like(px, t), px, pt, pt)
    out: FloatArray = alive * per_pair[inverse]
    return out


def error_metrics(pred: FloatArray, actual: FloatArray, w: FloatArray) -> dict[str, float]:
    """Weighted per-customer MAE, RMSE, correlation and totals of predicted vs actual counts."""
    n = float(w.sum())
    err = pred - actual
    tp, ta = float(np.sum(w * pred)), float(np.sum(w * actual))
    mp, ma = tp / n, ta / n
    cov = float(np.sum(w * (pred - mp) * (actual - ma)))
    vp, va = float(np.sum(w * (pred - mp) ** 2)), float(np.sum(w * (actual - ma) ** 2))
    return {
        "customers": n,
        "mae": float(np.sum(w * np.abs(err))) / n,
        "rmse": math.sqrt(float(np.sum(w * err**2)) / n),
        "correlation": cov / math.sqrt(vp * va) if vp > 0 and va > 0 else math.nan,
        "predicted": tp,
        "actual": ta,
        "total_error": (tp - ta) / ta if ta > 0 else math.nan,
    }


@dataclass
class Selection:
    """The outcome of :func:`select_model`."""

    name: str
    seasonal: bool
    scorecard: list[dict[str, Any]]
    validation: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    counts: DailyCounts | None = None
    """Daily first and repeat purchases up to the fit end, when the selection counted them."""


def validation_window(first_day: date, fit_end: date) -> tuple[date, int] | None:
    """Inner calibration end and validation length in days, or None when the data is too short."""
    span = (fit_end - first_day).days
    days = max(MIN_VALIDATION_DAYS, round(span * VALIDATION_SHARE))
    if span - days < MIN_VALIDATION_DAYS:
        return None
    return fit_end - timedelta(days=days), days


def select_model(
    con: Any,
    fit_end: date,
    time_unit: str,
    *,
    candidates: tuple[str, ...] = CANDIDATES,
    seasonal: Seasonal = "auto",
    progress: Progress | None = None,
) -> Selection:
    """Fit every candidate on the inner calibration window and pick the best on validation.

    Parameters
    ----------
    con
        DuckDB connection with the ``purchases`` table.
    fit_end
        Last day of the data the model may be fitted on (the calibration end when there is one).
    time_unit
        ``days`` or ``weeks``.
    candidates
        Purchase model names to compare.
    seasonal
        ``auto``: compare the plain and seasonal variants; ``yes``: seasonal variants only;
        ``no``: plain models only.

    Returns
    -------
    Selection
        The chosen model name and variant and the scorecard (one record per candidate). When no
        validation window fits in the data the first candidate is chosen and ``validation`` says
        why.
    """
    say = progress or (lambda _m: None)
    unit_days = UNIT_DAYS[time_unit]
    notes: list[str] = []
    first = con.execute(
        f"SELECT min(local_date) FROM purchases WHERE local_date <= DATE '{fit_end.isoformat()}'"
    ).fetchall()[0][0]
    window = validation_window(first, fit_end) if first is not None else None
    want_plain = seasonal != "yes"
    want_seasonal = seasonal != "no"
    if window is None:
        reason = (
            f"the fitting window ({first} to {fit_end}) is too short for a validation window of "
            f"at least {MIN_VALIDATION_DAYS} days; {LABELS[candidates[0]]} used without comparison"
        )
        return Selection(candidates[0], not want_plain, [], {"skipped": reason}, [reason])
    inner_end, days = window
    length = days / unit_days
    validation = {
        "inner_calibration_end": inner_end.isoformat(),
        "validation_end": fit_end.isoformat(),
        "validation_days": days,
        "length": length,
        "time_unit": time_unit,
        "criterion": "lowest per-customer RMSE of purchases in the validation window",
    }
    hist, all_counts = inner_histories_and_counts(con, inner_end, fit_end, unit_days)
    validation["customers"] = hist.n_customers
    validation["repeat_customers"] = hist.n_repeat
    if hist.n_repeat < MIN_REPEAT_CUSTOMERS:
        reason = (
            f"only {hist.n_repeat} repeat buyers before the inner calibration end {inner_end}; "
            f"{LABELS[candidates[0]]} used without comparison"
        )
        validation["skipped"] = reason
        return Selection(candidates[0], not want_plain, [], validation, [reason])
    counts = all_counts.until(inner_end) if want_seasonal else None
    card: list[dict[str, Any]] = []
    for name in candidates:
        say(f"validating {LABELS[name]}")
        fit_notes: list[str] = []
        row: dict[str, Any] = {"model": name, "label": LABELS[name]}
        try:
            plain = fit_plain(name, hist, time_unit, fit_notes)
        except ConvergenceError as exc:
            variants = [v for v, wanted in ((False, want_plain), (True, want_seasonal)) if wanted]
            for variant in variants:
                card.append(_failed(row, name, variant, exc))
            continue
        if want_plain:
            card.append(_row(row, name, False, plain, hist, length, fit_notes))
        if want_seasonal and counts is not None:
            say(f"validating {LABELS[name]} (seasonal)")
            profile = estimate_profile(counts, plain, unit_days, inner_end)
            s_notes: list[str] = []
            try:
                model = fit_seasonal(plain, hist, profile, inner_end, time_unit, s_notes)
            except ConvergenceError as exc:
                card.append(_failed(row, name, True, exc))
                continue
            card.append(_row(row, name, True, model, hist, length, s_notes))
    scored = [r for r in card if "rmse" in r and math.isfinite(r["rmse"])]
    if not scored:
        reason = "no candidate model could be fitted on the inner calibration window"
        validation["skipped"] = reason
        return Selection(candidates[0], not want_plain, card, validation, [reason])
    best = min(scored, key=lambda r: r["rmse"])
    for r in card:
        r["chosen"] = r is best
    return Selection(best["model"], bool(best["seasonal"]), card, validation, notes, all_counts)


def _failed(base: dict[str, Any], name: str, seasonal: bool, exc: Exception) -> dict[str, Any]:
    return {
        **base,
        "variant": variant_label(name, seasonal),
        "seasonal": seasonal,
        "error": str(exc),
    }


def _row(
    base: dict[str, Any],
    name: str,
    seasonal: bool,
    model: AnyPurchaseModel,
    hist: Histories,
    length: float,
    notes: list[str],
) -> dict[str, Any]:
    inner = model.base if isinstance(model, SeasonalPurchaseModel) else model
    row = {
        **base,
        "variant": variant_label(name, seasonal),
        "seasonal": seasonal,
        **score(model, hist, length),
        "log_likelihood": inner.log_likelihood_,
        "params": inner.params_,
    }
    if notes:
        row["note"] = "; ".join(notes)
    return row
