"""Model-fit figures computed from a fitted purchase model (BG/NBD-like) and ``model.json``.

The report only needs two predictions from the purchase model, the interface of
:mod:`lifevalue.models` estimators (:class:`PurchaseModel`):

* ``expected_purchases(t, frequency, recency, T)``: expected purchases in the next ``t`` time units
  of a customer with the given history (arrays broadcast together);
* ``probability_alive(frequency, recency, T)``.

and, when the model has it, ``expected_purchases_new_customer(t)`` (expected repeat purchases in the
first ``t`` time units after a first purchase); otherwise that is taken as
``expected_purchases(t, 0, 0, 0)``, which is the same quantity for BG/NBD and Pareto/NBD.

Customer histories are compressed to unique ``(frequency, recency, T)`` rows in DuckDB before the
model is evaluated, so a million customers cost a few hundred thousand evaluations at most.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.report.aggregate import numeric
from lifevalue.report.format import fmt_num, fmt_pct

__all__ = [
    "SCORECARD_COLUMNS",
    "CalibrationHoldout",
    "FitMatrices",
    "PurchaseModel",
    "calibration_holdout",
    "calibration_sentence",
    "customer_spend",
    "expected_new_customer",
    "expected_revenue",
    "fit_matrices",
    "matrix_sentence",
    "model_label",
    "model_sentence",
    "parameter_table",
    "probability_alive_before",
    "resolve_purchase_model",
    "scorecard_sentence",
    "scorecard_table",
    "time_unit_days",
]

FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class PurchaseModel(Protocol):
    """What the report needs from a fitted purchase model (see the module docstring)."""

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Expected purchases in the next ``t`` time units."""

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that the customer is still active."""


def time_unit_days(time_unit: str) -> float:
    """Length of a time unit in days: ``days`` 1, ``weeks`` 7 (singular forms accepted)."""
    unit = time_unit.strip().lower().rstrip("s")
    if unit == "day":
        return 1.0
    if unit == "week":
        return 7.0
    if unit == "month":
        return 365.25 / 12
    raise ValueError(f"unknown time unit {time_unit!r}: use 'days' or 'weeks'")


def resolve_purchase_model(model: Mapping[str, Any] | None) -> tuple[PurchaseModel | None, str]:
    """Load the fitted purchase model from a ``model.json`` dict (``lifevalue.models.load_model``).

    ``model`` is either the whole ``model.json`` (the purchase model under ``"purchase_model"``)
    or one model's own dict (``BaseModel.to_dict()``).

    Returns
    -------
    tuple
        ``(model, "")`` on success, else ``(None, reason)`` where ``reason`` says in plain words
        why the model-fit figures cannot be drawn.
    """
    if model is None:
        return None, "No model was fitted (run with a purchase model to see this section)."
    part = model.get("purchase_model", model)
    if not isinstance(part, Mapping):
        return None, "The model has no purchase model."
    try:
        models = importlib.import_module("lifevalue.models")
        loaded: Any = models.load_model(dict(part))
    except Exception as exc:  # a report without model figures beats no report
        return None, f"The fitted model could not be loaded ({type(exc).__name__}: {exc})."
    for cand in (loaded, getattr(loaded, "purchase_model", None)):
        if isinstance(cand, PurchaseModel):
            return cand, ""
    if isinstance(loaded, Mapping) and isinstance(loaded.get("purchase_model"), PurchaseModel):
        return loaded["purchase_model"], ""
    return None, "The loaded model has no purchase-model predictions."


def _arr(values: Any) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def expected_new_customer(model: PurchaseModel, t: npt.ArrayLike) -> FloatArray:
    """Expected repeat purchases of a new customer within ``t`` time units of the first purchase."""
    tt = _arr(t)
    fn: Callable[[Any], Any] | None = getattr(model, "expected_purchases_new_customer", None)
    if callable(fn):
        return _arr(fn(tt))
    zero = np.zeros_like(tt)
    return _arr(model.expected_purchases(tt, zero, zero, zero))


def _compress(customers: pd.DataFrame, sums: Mapping[str, FloatArray]) -> pd.DataFrame:
    """Unique ``(frequency, recency, T)`` rows with ``n`` customers and sums of the given arrays."""
    data: dict[str, FloatArray] = {
        "frequency": numeric(customers, "frequency"),
        "recency": numeric(customers, "recency"),
        "T": numeric(customers, "T"),
    }
    data.update(sums)
    view = pd.DataFrame(data)
    extra = "".join(f', sum("{k}") as "{k}"' for k in sums)
    sql = f"""
        select frequency, recency, "T", count(*) as n {extra}
        from v
        where frequency is not null and recency is not null and "T" is not null
              and isfinite(frequency) and isfinite(recency) and isfinite("T")
        group by frequency, recency, "T"
    """
    con = duckdb.connect()
    try:
        con.register("v", view)
        return con.execute(sql).df()
    finally:
        con.close()


def customer_spend(customers: pd.DataFrame) -> FloatArray:
    """Expected spend per future purchase: ``predicted_spend``, else ``monetary_value`` when > 0,
    else ``average_order_value`` (0 when none is known)."""
    spend = numeric(customers, "predicted_spend")
    for col in ("monetary_value", "average_order_value"):
        alt = numeric(customers, col)
        use = ~np.isfinite(spend) | (spend <= 0) if col == "monetary_value" else ~np.isfinite(spend)
        spend = np.where(use & np.isfinite(alt) & (alt > 0), alt, spend)
    return np.nan_to_num(spend, nan=0.0)


def expected_revenue(model: PurchaseModel, customers: pd.DataFrame, horizon: float) -> float:
    """Revenue expected from today's customers in the next ``horizon`` time units (undiscounted).

    ``sum_i E[purchases_i(horizon) | frequency_i, recency_i, T_i] * spend_i`` with ``spend_i`` from
    :func:`customer_spend`.
    """
    grouped = _compress(customers, {"spend": customer_spend(customers)})
    if grouped.empty:
        return 0.0
    e = _arr(
        model.expected_purchases(
            horizon,
            grouped["frequency"].to_numpy(),
            grouped["recency"].to_numpy(),
            grouped["T"].to_numpy(),
        )
    )
    return float(np.nansum(e * grouped["spend"].to_numpy(dtype=np.float64)))


def probability_alive_before(
    model: PurchaseModel, frame: pd.DataFrame, days: float, unit_days: float
) -> FloatArray:
    """Probability alive of each customer ``days`` ago (NaN if they bought since then)."""
    f = numeric(frame, "frequency")
    r = numeric(frame, "recency")
    t_then = numeric(frame, "T") - days / unit_days
    ok = np.isfinite(f) & np.isfinite(r) & (t_then >= r)
    out = np.full(len(frame), np.nan)
    if ok.any():
        out[ok] = _arr(model.probability_alive(f[ok], r[ok], t_then[ok]))
    return out


# --- frequency / recency matrices ----------------------------------------------------------------


@dataclass(frozen=True)
class FitMatrices:
    """Expected purchases and probability alive over a frequency x recency grid at fixed ``T``."""

    frequencies: FloatArray
    recencies: FloatArray
    T: float
    horizon: float
    expected: FloatArray
    """Shape (frequencies, recencies); NaN for impossible histories (0 repeats, recency > 0)."""
    alive: FloatArray


def fit_matrices(
    model: PurchaseModel,
    customers: pd.DataFrame,
    horizon: float,
    *,
    max_cells: int = 40,
) -> FitMatrices | None:
    """Evaluate the model on a grid of histories for a customer as old as the oldest one.

    The frequency axis runs from 0 to the 99.5th percentile of ``frequency`` (at most ``max_cells``
    rows), the recency axis from 0 to ``T = max(T)`` in at most ``max_cells`` steps.
    """
    f = numeric(customers, "frequency")
    t_all = numeric(customers, "T")
    f, t_all = f[np.isfinite(f)], t_all[np.isfinite(t_all)]
    if f.size == 0 or t_all.size == 0:
        return None
    t_max = float(t_all.max())
    f_max = max(3, math.ceil(float(np.quantile(f, 0.995))))
    step_f = max(1, math.ceil(f_max / max_cells))
    freqs = np.arange(0, f_max + 1, step_f, dtype=np.float64)
    if t_max <= max_cells:
        recs = np.arange(0, math.floor(t_max) + 1, dtype=np.float64)
        if recs[-1] < t_max:
            recs = np.append(recs, t_max)
    else:
        recs = np.linspace(0.0, t_max, max_cells + 1)
    ff, rr = np.meshgrid(freqs, recs, indexing="ij")
    possible = ~((ff == 0) & (rr > 0))  # no repeat purchase means recency 0
    f1, r1 = ff[possible], rr[possible]
    t1 = np.full_like(f1, t_max)
    expected = np.full(ff.shape, np.nan)
    alive = np.full(ff.shape, np.nan)
    expected[possible] = _arr(model.expected_purchases(horizon, f1, r1, t1))
    alive[possible] = _arr(model.probability_alive(f1, r1, t1))
    return FitMatrices(freqs, recs, t_max, horizon, expected, alive)


def matrix_sentence(m: FitMatrices, unit: str) -> tuple[str, str]:
    """Readings of the expected-purchases and probability-alive matrices.

    Compares two customers as old as the oldest one, with the same number of repeat purchases (a
    quarter of the way up the frequency axis): one who bought recently and one silent for about
    half of their life.
    """
    row = min(len(m.frequencies) - 1, max(1, len(m.frequencies) // 4))
    f = int(m.frequencies[row])
    mid = int(np.argmin(np.abs(m.recencies - m.T / 2)))
    silent = fmt_num(m.T - float(m.recencies[mid]), 0)
    age = fmt_num(m.T, 0)
    e_text = (
        f"A customer {age} {unit} old with {f} repeat purchases is expected to buy "
        f"{fmt_num(m.expected[row, -1], 1)} times in the next 12 months if they bought recently, "
        f"but only {fmt_num(m.expected[row, mid], 1)} if their last purchase was {silent} {unit} "
        "ago."
    )
    a_text = (
        f"The same customer is {fmt_pct(m.alive[row, -1])} likely to still be a customer after a "
        f"recent purchase, but {fmt_pct(m.alive[row, mid])} after {silent} {unit} of silence: "
        "frequent buyers who stop are the likeliest to have left."
    )
    return e_text, a_text


# --- calibration vs holdout ----------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationHoldout:
    """Mean actual vs predicted holdout purchases per calibration repeat count."""

    labels: list[str]
    customers: list[int]
    actual: FloatArray
    predicted: FloatArray
    holdout_length: float
    total_actual: float
    total_predicted: float


def calibration_holdout(
    model: PurchaseModel,
    customers: pd.DataFrame,
    holdout_length: float,
    max_frequency: int = 7,
) -> CalibrationHoldout | None:
    """Compare holdout purchase days with the model's prediction, by calibration frequency.

    Parameters
    ----------
    customers
        Customer summary of a calibration split: ``frequency``, ``recency``, ``T`` measured at the
        calibration end, and ``holdout_frequency`` (purchase days after it).
    holdout_length
        Length of the holdout period in time units.
    max_frequency
        Calibration frequencies from this value up are pooled in one ``7+`` group.
    """
    if "holdout_frequency" not in customers.columns or holdout_length <= 0:
        return None
    grouped = _compress(
        customers, {"holdout": np.nan_to_num(numeric(customers, "holdout_frequency"))}
    )
    if grouped.empty:
        return None
    e = _arr(
        model.expected_purchases(
            holdout_length,
            grouped["frequency"].to_numpy(),
            grouped["recency"].to_numpy(),
            grouped["T"].to_numpy(),
        )
    )
    grouped["pred"] = e * grouped["n"].to_numpy(dtype=np.float64)
    grouped["bucket"] = np.minimum(grouped["frequency"].to_numpy(), max_frequency).astype(np.int64)
    by = grouped.groupby("bucket")[["n", "holdout", "pred"]].sum().sort_index()
    n = by["n"].to_numpy(dtype=np.float64)
    labels = [f"{b}+" if b == max_frequency else str(b) for b in by.index]
    return CalibrationHoldout(
        labels=labels,
        customers=[int(x) for x in n],
        actual=by["holdout"].to_numpy(dtype=np.float64) / n,
        predicted=by["pred"].to_numpy(dtype=np.float64) / n,
        holdout_length=holdout_length,
        total_actual=float(by["holdout"].sum()),
        total_predicted=float(by["pred"].sum()),
    )


def calibration_sentence(c: CalibrationHoldout, unit: str) -> str:
    """``Over the 39-week holdout the model predicted 1,654 repeat purchases and customers made
    1,882 (under-estimate of 12.1%).``"""
    err = (c.total_predicted - c.total_actual) / c.total_actual if c.total_actual else math.nan
    direction = "over" if err > 0 else "under"
    return (
        f"Over the {fmt_num(c.holdout_length, 0)}-{unit.rstrip('s')} holdout the model predicted "
        f"{fmt_num(c.total_predicted, 0)} repeat purchases and customers made "
        f"{fmt_num(c.total_actual, 0)} ({direction}-estimate of {fmt_pct(abs(err), 1)})."
    )


# --- parameter and scorecard tables --------------------------------------------------------------


def _intervals(part: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("intervals", "confidence_intervals", "conf_intervals"):
        value = part.get(key)
        if isinstance(value, Mapping):
            return value
    return {}


def parameter_table(model: Mapping[str, Any]) -> pd.DataFrame:
    """Fitted parameters with standard errors and 95% intervals, from a ``model.json`` dict.

    Intervals come from the model's own ``intervals`` when present, else estimate ± 1.96 standard
    errors.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``parameter``, ``estimate``, ``standard_error``, ``lower``, ``upper``.
    """
    rows: list[dict[str, Any]] = []
    for key in ("purchase_model", "spend_model"):
        part = model.get(key)
        if not isinstance(part, Mapping):
            continue
        params = part.get("params")
        if not isinstance(params, Mapping):
            continue
        ses = part.get("standard_errors")
        ses = ses if isinstance(ses, Mapping) else {}
        ivs = _intervals(part)
        for name, value in params.items():
            try:
                est = float(value)
            except (TypeError, ValueError):
                continue
            se = ses.get(name)
            se_f = float(se) if isinstance(se, (int, float)) else math.nan
            iv = ivs.get(name)
            if isinstance(iv, (list, tuple)) and len(iv) == 2:
                lo, hi = float(iv[0]), float(iv[1])
            else:
                lo, hi = est - 1.96 * se_f, est + 1.96 * se_f
            rows.append(
                {
                    "model": model_label(str(part.get("model", key))),
                    "parameter": str(name),
                    "estimate": est,
                    "standard_error": se_f,
                    "lower": lo,
                    "upper": hi,
                }
            )
    return pd.DataFrame(
        rows, columns=["model", "parameter", "estimate", "standard_error", "lower", "upper"]
    )


SCORECARD_COLUMNS: dict[str, str] = {
    "candidate": "Model",
    "chosen": "Chosen",
    "mae": "MAE",
    "rmse": "RMSE",
    "correlation": "Correlation",
    "predicted": "Predicted",
    "actual": "Actual",
    "total_error": "Total error",
    "log_likelihood": "Log-likelihood",
}
"""Columns of the scorecard of ``lifevalue analyze`` shown in the report, with their labels."""


def scorecard_table(model: Mapping[str, Any]) -> pd.DataFrame:
    """The model scorecard of ``model.json`` (a list of records, or a dict) as a table.

    For the scorecard of ``lifevalue analyze`` (records with ``model``, ``variant``, ``mae``,
    ...) the columns are those of :data:`SCORECARD_COLUMNS`, ``candidate`` being the model's
    name (with "+ seasonal" for seasonal variants) and ``chosen`` a check mark; other layouts
    are returned as they are.
    """
    card = model.get("scorecard")
    if isinstance(card, list) and card and all(isinstance(r, Mapping) for r in card):
        frame = pd.DataFrame([dict(r) for r in card])
        if {"model", "mae"} <= set(frame.columns):
            labels = frame["label"] if "label" in frame.columns else frame["model"]
            names = [model_label(str(v)) for v in labels]
            seasonal = (
                frame["seasonal"].tolist() if "seasonal" in frame.columns else [False] * len(frame)
            )
            frame["candidate"] = [
                f"{n} + seasonal" if s is True else n for n, s in zip(names, seasonal, strict=True)
            ]
            if "chosen" in frame.columns:
                frame["chosen"] = ["✓" if c is True else "" for c in frame["chosen"].tolist()]
            keep = [c for c in SCORECARD_COLUMNS if c in frame.columns]
            return frame[keep].reset_index(drop=True)
    if isinstance(card, Mapping):
        if all(isinstance(v, Mapping) for v in card.values()):
            return pd.DataFrame([{"model": k, **dict(v)} for k, v in card.items()])
        return pd.DataFrame([{"metric": k, "value": v} for k, v in card.items()])
    if isinstance(card, list) and card and all(isinstance(r, Mapping) for r in card):
        return pd.DataFrame([dict(r) for r in card])
    return pd.DataFrame()


_MODEL_NAMES = {
    "bgnbd": "BG/NBD",
    "bg_nbd": "BG/NBD",
    "beta_geo": "BG/NBD",
    "mbgnbd": "MBG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "paretonbd": "Pareto/NBD",
    "bgbb": "BG/BB",
    "gamma_gamma": "Gamma-Gamma",
}


def model_label(name: str) -> str:
    """A model id written the way papers write it: ``bgnbd`` -> ``BG/NBD``."""
    return _MODEL_NAMES.get(name.strip().lower(), name)


def _seasonal(part: Mapping[str, Any]) -> bool:
    flag = part.get("seasonal")
    return bool(flag) and flag is not False


def model_sentence(model: Mapping[str, Any]) -> str:
    """``The BG/NBD purchase model was fitted on 2,357 customers (log-likelihood -9,582.4).``

    Also says when the model has a seasonal profile, how it was chosen, and when no purchase
    model could be fitted (the historical fallback of ``lifevalue analyze``).
    """
    part = model.get("purchase_model")
    if not isinstance(part, Mapping):
        fallback = model.get("fallback")
        if isinstance(fallback, Mapping) and fallback.get("reason"):
            return (
                f"No purchase model could be fitted ({fallback['reason']}); predictions use the "
                "historical fallback: orders per year × average order value."
            )
        return "No purchase model was fitted."
    name = model_label(str(part.get("model", "purchase")))
    text = f"The {name} purchase model"
    if _seasonal(part):
        text += " with a seasonal profile"
    selection = model.get("selection")
    card = model.get("scorecard")
    if isinstance(selection, Mapping) and isinstance(card, list) and len(card) > 1:
        text += f", chosen among {len(card)} candidates on a validation window,"
    text += " was fitted"
    n = part.get("n_customers")
    if isinstance(n, (int, float)):
        text += f" on {int(n):,} customers"
    ll = part.get("log_likelihood")
    if isinstance(ll, (int, float)):
        text += f" (log-likelihood {fmt_num(float(ll), 1)})"
    spend = model.get("spend_model")
    if isinstance(spend, Mapping) and spend.get("model"):
        text += f", with a {model_label(str(spend['model']))} spend model"
    return text + "; intervals are 95%."


def scorecard_sentence(model: Mapping[str, Any], table: pd.DataFrame) -> str:
    """Which candidate won and on what criterion, from ``model.json``'s ``selection``."""
    selection = model.get("selection")
    chosen = table[table["chosen"] == "✓"] if "chosen" in table.columns else table.iloc[0:0]
    if chosen.empty or "candidate" not in table.columns:
        return ""
    text = f"{chosen['candidate'].iloc[0]} was chosen"
    if isinstance(selection, Mapping):
        val = selection.get("validation")
        if isinstance(val, Mapping) and val.get("criterion"):
            text += f": {val['criterion']}"
            start, stop = val.get("inner_calibration_end"), val.get("validation_end")
            if start and stop:
                text += f" ({start} to {stop})"
    return text + "."
