"""The model step of the analysis: fit the purchase and spend models, write predicted columns.

:func:`run_models` works on the DuckDB connection of an analysis (tables ``customers`` and
``purchases``): it chooses and fits the purchase model (see :mod:`lifevalue.models.selection`),
fits Gamma-Gamma on the repeat buyers' spend, and adds to ``customers``:

* ``predicted_purchases``: expected number of purchase days in the horizon after the end of the
  data (a count, not a probability; can be fractional);
* ``probability_alive``: probability that the customer is still a customer at the end of the data;
* ``predicted_spend``: expected spend per future purchase (Gamma-Gamma conditional mean; the
  population mean for customers without repeat purchases);
* ``predicted_clv``: expected purchases x expected spend x margin over the horizon, each month's
  purchases discounted to the end of the data at the annual discount rate;
* ``predicted_purchases_low`` / ``_high``: 90 % prediction interval of the purchase count;
* ``expected_next_order``: end of the data + the customer's expected time between purchases while
  active, 1 / E[purchase rate | history] = (alpha + T) / (r + frequency); NULL when the probability
  of being alive is below 5 %.

"End of the data" is the calibration end when the data is split. The model is evaluated once per
distinct (frequency, recency, T) (a few hundred thousand rows for a million customers with daily
time), and the results are joined back in DuckDB.

When the data cannot identify a purchase model (fewer than 10 repeat buyers, or no fit converges),
the run still succeeds with the *historical* fallback: ``predicted_purchases`` = orders per year
(``purchase_frequency_per_year``) x horizon in years, ``predicted_spend`` = average order value,
``predicted_clv`` = their product x margin, discounted as spread evenly over the horizon;
``probability_alive``, the interval and ``expected_next_order`` are NULL.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lifevalue.errors import ConfigError, ConvergenceError, IdentificationWarning, InputError
from lifevalue.models import load_model
from lifevalue.models.base import FloatArray, PurchaseModel, pair_index
from lifevalue.models.gamma_gamma import GammaGammaModel
from lifevalue.models.seasonal import (
    DailyCounts,
    SeasonalProfile,
    SeasonalPurchaseModel,
    daily_purchase_counts,
    estimate_profile,
)
from lifevalue.models.selection import (
    CANDIDATES,
    LABELS,
    MIN_REPEAT_CUSTOMERS,
    UNIT_DAYS,
    AnyPurchaseModel,
    Histories,
    Seasonal,
    error_metrics,
    fit_plain,
    fit_seasonal,
    histories_from_customers,
    select_model,
)

Progress = Callable[[str], None]

MODEL_CHOICES = ("auto", *CANDIDATES, "none")
MODEL_JSON_VERSION = 1
ALIVE_FOR_NEXT_ORDER = 0.05
MONTH_DAYS = 365.25 / 12
HOLDOUT_MAX_FREQUENCY = 7
PREDICTED_COLUMNS = (
    "predicted_purchases",
    "probability_alive",
    "predicted_spend",
    "predicted_clv",
    "predicted_purchases_low",
    "predicted_purchases_high",
    "expected_next_order",
)


@dataclass
class ModelOptions:
    """What the model step does (see ``lifevalue analyze --help``).

    Attributes
    ----------
    model
        ``auto`` (choose on a validation window), ``bgnbd``, ``mbgnbd``, ``pnbd`` or ``none``.
    horizon
        Prediction horizon in the summary's time unit; default one year (365 days, 52 weeks).
    discount_rate
        Annual discount rate of the CLV (0.10 = 10 % a year).
    margin
        Share of revenue counted as value (1.0 = revenue).
    seasonal
        ``auto``: ``--model auto`` also compares the seasonal variants; ``yes``: use the seasonal
        variant; ``no``: never.
    level
        Coverage of the purchase prediction interval.
    """

    model: str = "auto"
    horizon: float | None = None
    discount_rate: float = 0.10
    margin: float = 1.0
    seasonal: Seasonal = "auto"
    level: float = 0.9

    def check(self) -> None:
        """Raise :class:`ConfigError` for values that cannot be used."""
        if self.model not in MODEL_CHOICES:
            raise ConfigError(
                f"--model must be one of {', '.join(MODEL_CHOICES)}, not '{self.model}'"
            )
        if self.seasonal not in ("auto", "yes", "no"):
            raise ConfigError(f"--seasonal must be auto, yes or no, not '{self.seasonal}'")
        if self.horizon is not None and not (self.horizon > 0 and math.isfinite(self.horizon)):
            raise ConfigError(f"--horizon must be a positive number, not {self.horizon}")
        if not (-1 < self.discount_rate < 10):
            raise ConfigError(
                f"--discount-rate is an annual rate such as 0.1 (10 %), not {self.discount_rate}"
            )
        if not (0 <= self.margin <= 1e6):
            raise ConfigError(f"--margin must be >= 0 (1.0 = revenue), not {self.margin}")
        if not 0 < self.level < 1:
            raise ConfigError(f"the interval level must be between 0 and 1, not {self.level}")

    def horizon_in(self, time_unit: str) -> float:
        """The horizon in ``time_unit``: the given one, else one year (365 days or 52 weeks)."""
        if self.horizon is not None:
            return float(self.horizon)
        return 52.0 if time_unit == "weeks" else 365.0


@dataclass
class ModelRun:
    """What the model step produced: the ``model.json`` content and the fitted estimators."""

    model: dict[str, Any]
    purchase_model: AnyPurchaseModel | None
    spend_model: GammaGammaModel | None
    holdout: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fallback(self) -> bool:
        """Whether the historical fallback was used instead of a purchase model."""
        return self.purchase_model is None


# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------


def run_models(
    con: Any,
    *,
    end: date,
    calibration_end: date | None,
    time_unit: str,
    options: ModelOptions,
    progress: Progress | None = None,
) -> ModelRun:
    """Choose and fit the models on the ``customers`` table and add the predicted columns.

    Parameters
    ----------
    con
        DuckDB connection with ``customers`` (the summary) and ``purchases``.
    end, calibration_end
        The summary's window: predictions are made as of ``calibration_end`` when given (and the
        purchases after it score them), else as of ``end``.
    time_unit
        ``days`` or ``weeks``: the unit of recency, T and the horizon.
    options
        Model choice, horizon, discount rate, margin.

    Returns
    -------
    ModelRun
        ``model.json`` content, fitted models, the holdout table (with a calibration split).
    """
    options.check()
    say = progress or (lambda _m: None)
    fit_end = calibration_end or end
    unit_days = UNIT_DAYS[time_unit]
    hist = histories_from_customers(con)
    notes: list[str] = []
    scorecard: list[dict[str, Any]] = []
    selection: dict[str, Any] = {"method": options.model}
    if hist.n_repeat < MIN_REPEAT_CUSTOMERS:
        reason = (
            f"only {hist.n_repeat} of {hist.n_customers} customers made a repeat purchase "
            f"(at least {MIN_REPEAT_CUSTOMERS} are needed to fit a purchase model)"
        )
        return _fallback_run(con, fit_end, time_unit, options, reason, selection, say)
    name, seasonal = options.model, options.seasonal == "yes"
    counts: DailyCounts | None = None
    if options.model == "auto":
        sel = select_model(con, fit_end, time_unit, seasonal=options.seasonal, progress=say)
        name, seasonal = sel.name, sel.seasonal
        scorecard = sel.scorecard
        selection["validation"] = sel.validation
        notes.extend(sel.notes)
        counts = sel.counts
    # with auto, a winner that cannot be fitted on the whole window gives way to the next best
    ranked = _ranking(scorecard, name, seasonal) if options.model == "auto" else [(name, seasonal)]
    failures: list[str] = []
    plain: PurchaseModel | None = None
    for candidate in ranked:
        name, seasonal = candidate  # the one fitted last is used
        say(f"fitting {LABELS[name]}")
        try:
            plain = fit_plain(name, hist, time_unit, notes)
        except ConvergenceError as exc:
            failures.append(f"{LABELS[name]}: {str(exc).rstrip('.')}")
            continue
        break
    if plain is None:
        reason = failures[0] if len(failures) == 1 else "; ".join(failures)
        return _fallback_run(con, fit_end, time_unit, options, reason, selection, say)
    if failures:
        notes.append(
            f"{'; '.join(failures)}; so {LABELS[name]}, the best model that could be fitted "
            "on the whole window, is used"
        )
        for row in scorecard:
            row["chosen"] = row.get("model") == name and bool(row.get("seasonal")) == seasonal
    selection["chosen"] = name + ("+seasonal" if seasonal else "")
    profile: SeasonalProfile | None = None
    if options.model == "auto" or seasonal:  # an explicit plain model skips it (faster)
        if counts is None:
            counts = daily_purchase_counts(con, fit_end)
        profile = estimate_profile(counts, plain, unit_days, fit_end)
    purchase: AnyPurchaseModel = plain
    if seasonal and profile is not None:
        say(f"fitting {LABELS[name]} (seasonal)")
        try:
            purchase = fit_seasonal(plain, hist, profile, fit_end, time_unit, notes)
        except ConvergenceError as exc:
            notes.append(f"the seasonal variant did not converge ({exc}); the plain model is used")
            selection["chosen"] = name
    say("fitting Gamma-Gamma")
    spend = fit_spend(con, time_unit, notes)
    say("predicting")
    preds = predict_into_customers(
        con,
        purchase,
        spend,
        as_of=fit_end,
        time_unit=time_unit,
        options=options,
        holdout_days=(end - calibration_end).days if calibration_end else None,
        hist=hist,
    )
    holdout = None
    notes[:] = list(dict.fromkeys(notes))  # the validation and the final fit may say the same
    model: dict[str, Any] = {
        "version": MODEL_JSON_VERSION,
        "time_unit": time_unit,
        "purchase_model": purchase.to_dict(),
        "spend_model": spend.to_dict() if spend is not None else None,
        "scorecard": [_public_row(r) for r in scorecard],
        "selection": selection,
        "seasonality": profile.to_dict() if profile is not None else None,
        "prediction": _prediction_block(fit_end, time_unit, options),
        "fallback": None,
        "notes": notes,
    }
    if calibration_end is not None:
        say("scoring the holdout")
        summary, holdout = holdout_report(con, preds, (end - calibration_end).days / unit_days)
        model["holdout"] = {**summary, "by_frequency": holdout.to_dict("records")}
    con.unregister("lv_predictions")
    return ModelRun(model, purchase, spend, holdout, notes)


def _ranking(scorecard: list[dict[str, Any]], name: str, seasonal: bool) -> list[tuple[str, bool]]:
    """The models to fit, best first: the chosen one (``name``, ``seasonal``), then the other
    models scored on validation, each by its best variant's RMSE; with no scores, the other
    candidates in their usual order."""
    order = [(name, seasonal)]
    scored = sorted(
        (r for r in scorecard if isinstance(r.get("rmse"), float) and math.isfinite(r["rmse"])),
        key=lambda r: r["rmse"],
    )
    if scored:
        rest = [(str(r["model"]), bool(r["seasonal"])) for r in scored]
    else:
        rest = [(c, seasonal) for c in CANDIDATES]
    for m, v in rest:
        if all(m != seen for seen, _ in order):
            order.append((m, v))
    return order


def fit_spend(con: Any, time_unit: str, notes: list[str]) -> GammaGammaModel | None:
    """Gamma-Gamma on the repeat buyers' (frequency, monetary_value); None (and a note) if the
    data cannot identify it or its mean spend is infinite (q <= 1)."""
    d = con.execute(
        "SELECT frequency, monetary_value, count(*) AS n FROM customers "
        "WHERE frequency > 0 GROUP BY ALL ORDER BY ALL"
    ).fetchnumpy()
    x, m, w = (np.asarray(d[k], dtype=np.float64) for k in ("frequency", "monetary_value", "n"))
    try:
        with warnings.catch_warnings():  # a ridge's IdentificationWarning becomes a note
            warnings.simplefilter("ignore", IdentificationWarning)
            model = GammaGammaModel(time_unit=time_unit).fit(x, m, weights=w)
    except ConvergenceError as exc:
        notes.append(f"spend model not fitted ({exc}); predicted_spend = the customer's mean spend")
        return None
    notes.extend(model.fit_notes_)
    if model.params_["q"] <= 1:
        notes.append(
            "the fitted Gamma-Gamma has no finite mean spend (q <= 1: a few very large spends); "
            "predicted_spend = the customer's mean spend"
        )
        return None
    return model


# --------------------------------------------------------------------------------------------
# predictions
# --------------------------------------------------------------------------------------------


def predict_into_customers(
    con: Any,
    purchase: AnyPurchaseModel,
    spend: GammaGammaModel | None,
    *,
    as_of: date,
    time_unit: str,
    options: ModelOptions,
    holdout_days: int | None = None,
    hist: Histories | None = None,
) -> pa.Table:
    """Add the predicted columns to ``customers`` (see the module docstring).

    Leaves the per-history predictions registered as ``lv_predictions`` (the caller unregisters
    it) and returns them.
    """
    unit_days = UNIT_DAYS[time_unit]
    horizon = options.horizon_in(time_unit)
    h = hist if hist is not None else histories_from_customers(con)
    x, tx, tt = h.x, h.tx, h.T
    if isinstance(purchase, SeasonalPurchaseModel):
        purchase = purchase.at(as_of)
        base = purchase.base
        tx_w, t_w = purchase.history(tx, tt)
        warp: Callable[[FloatArray], FloatArray] = purchase.horizon
    else:
        base, tx_w, t_w = purchase, tx, tt

        def warp(v: FloatArray) -> FloatArray:
            return v

    theta = base._theta()
    step = MONTH_DAYS / unit_days
    n_steps = max(1, math.ceil(horizon / step - 1e-9))
    ends = np.minimum(np.arange(1, n_steps + 1) * step, horizon)
    ends_op = warp(ends)
    discount = np.exp(-ends * unit_days / 365.25 * math.log1p(options.discount_rate))
    # the expected purchases of a customer who is alive depend on (frequency, T) only in all
    # three models: evaluate them once per distinct pair (several times fewer than histories)
    pair, inverse = pair_index(x, t_w)
    px, pt = x[pair], t_w[pair]
    with np.errstate(all="ignore"):
        alive = np.clip(base._p_alive(theta, x, tx_w, t_w), 0.0, 1.0)
        total = np.zeros_like(px)
        previous = np.zeros_like(px)
        for end_op, disc in zip(ends_op, discount, strict=True):
            cum = base._expected_alive(theta, np.full_like(px, end_op), px, pt, pt)
            total += (cum - previous) * disc
            previous = cum
    total, previous = total[inverse], previous[inverse]
    low, high = base.purchases_interval(
        float(warp(np.array([horizon]))[0]), x, tx_w, t_w, level=options.level
    )
    gap_op = (theta[1] + t_w) / (theta[0] + x)  # 1 / E[rate | alive], time units
    if isinstance(purchase, SeasonalPurchaseModel):
        gap_days = purchase.calendar_after(gap_op) * unit_days
    else:
        gap_days = gap_op * unit_days
    next_days = np.where((alive >= ALIVE_FOR_NEXT_ORDER) & (gap_days < 36525), gap_days, np.nan)
    cols: dict[str, Any] = {
        "frequency": x,
        "recency": tx,
        "T": tt,
        "predicted_purchases": alive * previous,
        "probability_alive": alive,
        "discounted_purchases": alive * total,
        "predicted_purchases_low": low,
        "predicted_purchases_high": high,
        "next_days": pa.array(np.round(next_days), mask=np.isnan(next_days)),
    }
    if holdout_days is not None:
        t_h = float(warp(np.array([holdout_days / unit_days]))[0])
        with np.errstate(all="ignore"):
            cum_h = base._expected_alive(theta, np.full_like(px, t_h), px, pt, pt)
        cols["holdout_predicted"] = alive * cum_h[inverse]
    table = pa.table(cols)
    con.register("lv_predictions", table)
    per_customer = _per_customer(con, table, [c for c in PREDICTED_SOURCE if c in cols])
    # the customers and their predictions side by side, streamed in record batches (the
    # columns of a batch are put together without a copy; both are in the customers' row
    # order, customer_id) into the new table: a POSITIONAL JOIN of the two takes about 40 %
    # longer, and collecting the customers as one Arrow table first would keep a third copy
    # of them in memory
    spend_sql = _spend_sql(con, spend)
    margin = float(options.margin)
    reader = _with_columns(con, f"SELECT {_customer_columns(con)} FROM customers c", per_customer)
    con.register("lv_customer_predictions", reader)
    p = {name: f'"__p_{name}"' for name in PREDICTED_SOURCE}
    keep = ", ".join(f'"{c}"' for c in reader.schema.names if not c.startswith("__p_"))
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE lv_customers_predicted AS
            SELECT {keep},
                   {p["predicted_purchases"]} AS predicted_purchases,
                   {p["probability_alive"]} AS probability_alive,
                   {spend_sql} AS predicted_spend,
                   {p["discounted_purchases"]} * {spend_sql} * {margin!r} AS predicted_clv,
                   {p["predicted_purchases_low"]} AS predicted_purchases_low,
                   {p["predicted_purchases_high"]} AS predicted_purchases_high,
                   DATE '{as_of.isoformat()}' + CAST({p["next_days"]} AS INTEGER)
                       AS expected_next_order
            FROM lv_customer_predictions c
            """
        )
    finally:
        con.unregister("lv_customer_predictions")
    con.execute("DROP TABLE customers")
    con.execute("ALTER TABLE lv_customers_predicted RENAME TO customers")
    return table


#: Columns of the per-history predictions that go to each customer.
PREDICTED_SOURCE = (
    "predicted_purchases",
    "probability_alive",
    "discounted_purchases",
    "predicted_purchases_low",
    "predicted_purchases_high",
    "next_days",
)


def _per_customer(con: Any, histories: pa.Table, columns: list[str]) -> pa.Table:
    """The ``columns`` of ``histories`` (one row per distinct frequency, recency and T) for
    each row of ``customers``, in the table's row order."""
    keys = pa.table(
        {
            "frequency": histories.column("frequency"),
            "recency": histories.column("recency"),
            "T": histories.column("T"),
            "__h": np.arange(histories.num_rows, dtype=np.int64),
        }
    )
    con.register("lv_history_keys", keys)
    try:
        index = (
            con.sql(
                """
            SELECT k.__h FROM customers c LEFT JOIN lv_history_keys k
              ON c.frequency = k.frequency AND c.recency = k.recency AND c."T" = k."T"
            ORDER BY c.rowid
            """
            )
            .to_arrow_table()
            .column(0)
        )
    finally:
        con.unregister("lv_history_keys")
    return pa.table({c: histories.column(c).take(index) for c in columns})


def _with_columns(con: Any, query: str, extra: pa.Table) -> pa.RecordBatchReader:
    """The rows of ``query`` (on a cursor of ``con``) with the columns of ``extra`` (as
    ``__p_<name>``, row for row) appended, as a stream of record batches."""
    reader = con.cursor().sql(query).to_arrow_reader(100_000)
    schema = reader.schema
    for name in extra.column_names:
        schema = schema.append(pa.field(f"__p_{name}", extra.schema.field(name).type))

    def batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        for batch in reader:
            n = batch.num_rows
            cols = [extra.column(c).slice(offset, n).combine_chunks() for c in extra.column_names]
            offset += n
            yield pa.RecordBatch.from_arrays([*batch.columns, *cols], schema=schema)
        if offset != extra.num_rows:
            raise RuntimeError(f"{offset} customers but {extra.num_rows} predictions")

    return pa.RecordBatchReader.from_batches(schema, batches())


def _customer_columns(con: Any) -> str:
    """``c.*`` without predicted columns of an earlier run (so a rerun replaces them)."""
    cols = {r[0] for r in con.execute("DESCRIBE customers").fetchall()}
    present = [c for c in PREDICTED_COLUMNS if c in cols]
    return f"c.* EXCLUDE ({', '.join(present)})" if present else "c.*"


def _spend_sql(con: Any, spend: GammaGammaModel | None) -> str:
    """SQL for the expected spend per purchase of each customer (``c`` = customers)."""
    if spend is not None:
        p, q, g = (spend.params_[k] for k in ("p", "q", "gamma"))
        return (
            f"(CASE WHEN c.frequency > 0 THEN {p!r} * ({g!r} + c.frequency * "
            f"greatest(c.monetary_value, 0.0)) / ({p!r} * c.frequency + {q!r} - 1) "
            f"ELSE {p * g / (q - 1)!r} END)"
        )
    mean = con.execute(
        "SELECT avg(monetary_value) FILTER (frequency > 0 AND monetary_value > 0), "
        "avg(average_order_value) FROM customers"
    ).fetchall()[0]
    fill = mean[0] if mean[0] is not None else (mean[1] or 0.0)
    return (
        "(CASE WHEN c.frequency > 0 AND c.monetary_value > 0 THEN c.monetary_value "
        f"ELSE {float(fill)!r} END)"
    )


def holdout_report(con: Any, preds: pa.Table, length: float) -> tuple[dict[str, Any], pd.DataFrame]:
    """Predicted vs actual purchases after the calibration end, overall and by frequency.

    Parameters
    ----------
    preds
        The per-history predictions with ``holdout_predicted`` (registered as
        ``lv_predictions``).
    length
        Holdout length in time units.

    Returns
    -------
    (dict, pandas.DataFrame)
        Overall metrics (``mae``, ``rmse``, ``correlation`` per customer, ``predicted``,
        ``actual`` totals, ``total_error``, ``length``) and one row per calibration frequency
        0, 1, ..., 7+ (customers, mean and total actual and predicted purchases).
    """
    # grouped and sorted, so that the sums below do not depend on the order of DuckDB's threads
    d = con.execute(
        f"""
        SELECT least(c.frequency, {HOLDOUT_MAX_FREQUENCY}) AS bucket,
               p.holdout_predicted AS pred, c.holdout_frequency AS actual, count(*) AS n
        FROM customers c JOIN lv_predictions p
          ON c.frequency = p.frequency AND c.recency = p.recency AND c."T" = p."T"
        GROUP BY ALL ORDER BY ALL
        """
    ).fetchnumpy()
    bucket = np.asarray(d["bucket"], dtype=np.int64)
    pred, actual, w = (np.asarray(d[k], dtype=np.float64) for k in ("pred", "actual", "n"))
    summary: dict[str, Any] = {**error_metrics(pred, actual, w), "length": length}
    by = (
        pd.DataFrame({"bucket": bucket, "customers": w, "actual": w * actual, "pred": w * pred})
        .groupby("bucket", sort=True)
        .sum()
    )
    frame = pd.DataFrame(
        {
            "calibration_frequency": [
                f"{int(b)}+" if b == HOLDOUT_MAX_FREQUENCY else str(int(b)) for b in by.index
            ],
            "customers": by["customers"].to_numpy().astype("int64"),
            "actual_mean": (by["actual"] / by["customers"]).to_numpy(),
            "predicted_mean": (by["pred"] / by["customers"]).to_numpy(),
            "actual_total": by["actual"].to_numpy(),
            "predicted_total": by["pred"].to_numpy(),
        }
    )
    return summary, frame


# --------------------------------------------------------------------------------------------
# fallback, saved models, files
# --------------------------------------------------------------------------------------------


def _fallback_run(
    con: Any,
    as_of: date,
    time_unit: str,
    options: ModelOptions,
    reason: str,
    selection: dict[str, Any],
    say: Progress,
) -> ModelRun:
    say("historical CLV (no purchase model)")
    apply_fallback(con, time_unit, options)
    reason = reason.rstrip(".")  # it is put into sentences that end with their own full stop
    note = (
        f"no purchase model: {reason}. Predictions use the historical fallback: predicted "
        "purchases = orders per year x horizon, predicted spend = average order value; "
        "probability_alive, the interval and expected_next_order are empty"
    )
    model = {
        "version": MODEL_JSON_VERSION,
        "time_unit": time_unit,
        "purchase_model": None,
        "spend_model": None,
        "scorecard": [],
        "selection": selection,
        "seasonality": None,
        "prediction": _prediction_block(as_of, time_unit, options),
        "fallback": {
            "method": "historical: orders per year x average order value x horizon in years",
            "reason": reason,
        },
        "notes": [note],
    }
    return ModelRun(model, None, None, None, [note])


def apply_fallback(con: Any, time_unit: str, options: ModelOptions) -> None:
    """Add the predicted columns from the historical formula (see the module docstring)."""
    horizon = options.horizon_in(time_unit)
    years = horizon * UNIT_DAYS[time_unit] / 365.25
    n = max(1, math.ceil(horizon * UNIT_DAYS[time_unit] / MONTH_DAYS - 1e-9))
    ends = np.minimum(np.arange(1, n + 1) * MONTH_DAYS / 365.25, years)
    widths = np.diff(np.concatenate([[0.0], ends]))
    factor = float(np.sum(widths * np.exp(-ends * math.log1p(options.discount_rate)))) / years
    con.execute(
        f"""
        CREATE OR REPLACE TABLE customers AS
        SELECT {_customer_columns(con)},
               c.purchase_frequency_per_year * {years!r} AS predicted_purchases,
               CAST(NULL AS DOUBLE) AS probability_alive,
               c.average_order_value AS predicted_spend,
               c.purchase_frequency_per_year * {years!r} * c.average_order_value
                 * {float(options.margin)!r} * {factor!r} AS predicted_clv,
               CAST(NULL AS DOUBLE) AS predicted_purchases_low,
               CAST(NULL AS DOUBLE) AS predicted_purchases_high,
               CAST(NULL AS DATE) AS expected_next_order
        FROM customers c
        """
    )


def _prediction_block(as_of: date, time_unit: str, options: ModelOptions) -> dict[str, Any]:
    return {
        "as_of": as_of.isoformat(),
        "horizon": options.horizon_in(time_unit),
        "time_unit": time_unit,
        "discount_rate": options.discount_rate,
        "discount_rate_period": "year",
        "margin": options.margin,
        "interval_level": options.level,
    }


def _public_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "params"}


def load_saved(path: Path) -> dict[str, Any]:
    """Read a ``model.json`` written by :func:`write_model_files`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("model file not found", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not a model.json (invalid JSON: {exc.msg})", file=str(path), line=exc.lineno
        ) from None
    if not isinstance(data, dict) or "purchase_model" not in data or "time_unit" not in data:
        raise InputError(
            "not a lifevalue model.json (no purchase_model / time_unit)",
            file=str(path),
            hint="pass the model.json written by lifevalue analyze",
        )
    if data.get("version") != MODEL_JSON_VERSION:
        raise InputError(f"unsupported model.json version {data.get('version')!r}", file=str(path))
    return data


def saved_models(
    saved: Mapping[str, Any], anchor: date
) -> tuple[AnyPurchaseModel | None, GammaGammaModel | None]:
    """The purchase and spend models of a ``model.json`` dict (seasonal models anchored)."""
    part = saved.get("purchase_model")
    purchase: AnyPurchaseModel | None = None
    if part is not None:
        base = load_model(part)
        if not isinstance(base, PurchaseModel):
            raise InputError(f"purchase_model is a {base.name!r} model, not a purchase model")
        seasonal = part.get("seasonal")
        if seasonal:
            profile = SeasonalProfile.from_dict(seasonal["profile"])
            purchase = SeasonalPurchaseModel(
                base, profile, anchor, UNIT_DAYS[str(saved["time_unit"])]
            )
        else:
            purchase = base
    spend_part = saved.get("spend_model")
    spend = load_model(spend_part) if spend_part is not None else None
    if spend is not None and not isinstance(spend, GammaGammaModel):
        raise InputError(f"spend_model is a {spend.name!r} model, not gamma_gamma")
    return purchase, spend


def predict_with_saved(
    con: Any, saved: Mapping[str, Any], *, as_of: date, options: ModelOptions
) -> ModelRun:
    """Add the predicted columns to ``customers`` with the models of a saved ``model.json``."""
    options.check()
    time_unit = str(saved["time_unit"])
    purchase, spend = saved_models(saved, as_of)
    model = {**dict(saved), "prediction": _prediction_block(as_of, time_unit, options)}
    model.pop("holdout", None)
    if purchase is None:
        apply_fallback(con, time_unit, options)
        return ModelRun(model, None, None, None, ["the saved model is the historical fallback"])
    predict_into_customers(con, purchase, spend, as_of=as_of, time_unit=time_unit, options=options)
    con.unregister("lv_predictions")
    return ModelRun(model, purchase, spend)


def options_from_saved(
    saved: Mapping[str, Any],
    *,
    horizon: float | None,
    discount_rate: float | None,
    margin: float | None,
) -> ModelOptions:
    """Prediction options: the given values, else those the saved model was run with."""
    block = saved.get("prediction") or {}
    return ModelOptions(
        model="auto",
        horizon=horizon if horizon is not None else block.get("horizon"),
        discount_rate=discount_rate
        if discount_rate is not None
        else float(block.get("discount_rate", 0.10)),
        margin=margin if margin is not None else float(block.get("margin", 1.0)),
        level=float(block.get("interval_level", 0.9)),
    )


def write_model_files(run: ModelRun, out: Path) -> dict[str, Path]:
    """Write ``model.json`` (and ``holdout.csv`` with a calibration split) to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"model.json": out / "model.json"}
    files["model.json"].write_text(
        json.dumps(_jsonable(run.model), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    if run.holdout is not None:
        files["holdout.csv"] = out / "holdout.csv"
        run.holdout.to_csv(files["holdout.csv"], index=False)
    return files


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, date):
        return value.isoformat()
    return value


__all__ = [
    "PREDICTED_COLUMNS",
    "ModelOptions",
    "ModelRun",
    "apply_fallback",
    "holdout_report",
    "load_saved",
    "options_from_saved",
    "predict_into_customers",
    "predict_with_saved",
    "run_models",
    "saved_models",
    "write_model_files",
]
