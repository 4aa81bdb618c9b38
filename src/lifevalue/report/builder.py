"""Build the self-contained HTML report: sections of charts, tables and plain-language readings.

:func:`build_report` aggregates the inputs (see :mod:`lifevalue.report.aggregate`), turns them into
Plotly figures (:mod:`lifevalue.report.charts`) and renders ``templates/report.html.j2`` with
Jinja2. The page embeds plotly.js once, from the installed ``plotly`` package, and contains every
style and script it needs: it opens offline and makes no network request. A Content-Security-Policy
in the page forbids any connection, image, font or frame from elsewhere.

Only ``customers`` and ``retention`` are required; a section whose data is missing is replaced by
a short note saying what would fill it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from lifevalue.errors import ConfigError
from lifevalue.report import aggregate as agg
from lifevalue.report import charts
from lifevalue.report import modelfit as mf
from lifevalue.report.format import fmt_int, fmt_money, fmt_num, fmt_pct
from lifevalue.report.tracking import RepeatTracking, repeat_transactions_tracking

__all__ = ["Card", "Chart", "Section", "Table", "build_report", "render_report"]

#: Rows of the at-risk table (the page shows them 10 at a time).
AT_RISK_ROWS = 100
#: Product pairs listed in the table.
PAIR_ROWS = 25


@dataclass
class Card:
    """A headline number: label, formatted value and a short explanation."""

    label: str
    value: str
    hint: str = ""
    key: str = ""
    wide: bool = False
    """Value cards (CLV, expected revenue) are twice as wide and fill the second row."""


@dataclass
class Chart:
    """A Plotly figure with a title and its one-sentence reading."""

    id: str
    title: str
    reading: str
    figure: dict[str, Any]
    height: int = 360
    wide: bool = False

    @property
    def json(self) -> Markup:
        """The figure as JSON that is safe inside ``<script type="application/json">``."""
        return _script_json(self.figure)


@dataclass
class Table:
    """A table of formatted cells; ``sort`` holds a machine-sortable value per cell (or None)."""

    id: str
    title: str
    columns: list[str]
    numeric: list[bool]
    cells: list[list[str]]
    sort: list[list[str | None]]
    reading: str = ""
    page_size: int = 10

    @property
    def rows(self) -> list[list[tuple[str, str | None, bool]]]:
        """Rows as ``(text, sort value, numeric)`` triples for the template."""
        return [
            [(text, key, num) for text, key, num in zip(cells, keys, self.numeric, strict=True)]
            for cells, keys in zip(self.cells, self.sort, strict=True)
        ]


@dataclass
class Section:
    """One part of the report; ``notes`` explain what is missing and why."""

    id: str
    nav: str
    title: str
    reading: str = ""
    cards: list[Card] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def omitted(self) -> bool:
        """True when the section has nothing to show but its notes."""
        return not (self.cards or self.charts or self.tables)


def _script_json(value: Any) -> Markup:
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


# --- tables --------------------------------------------------------------------------------------

Formatter = Callable[[Any], str]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _date(value: Any) -> str:
    if _is_missing(value):
        return "–"
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _kinds(currency: str | None) -> dict[str, tuple[Formatter, bool]]:
    return {
        "text": (lambda v: "–" if _is_missing(v) else str(v), False),
        "money": (lambda v: fmt_money(_f(v), currency), True),
        "int": (lambda v: fmt_int(_f(v)), True),
        "pct": (lambda v: fmt_pct(_f(v), 1), True),
        "num": (lambda v: fmt_num(_f(v), 2), True),
        "num3": (lambda v: fmt_num(_f(v), 3), True),
        "num1": (lambda v: fmt_num(_f(v), 1), True),
        "date": (_date, False),
    }


def _f(value: Any) -> float | None:
    if _is_missing(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def make_table(
    table_id: str,
    title: str,
    frame: pd.DataFrame,
    spec: Sequence[tuple[str, str, str]],
    *,
    currency: str | None = None,
    reading: str = "",
    page_size: int = 10,
) -> Table:
    """Format ``frame`` into a :class:`Table` following ``spec`` = ``[(column, label, kind)]``.

    ``kind`` is one of ``text``, ``money``, ``int``, ``pct`` (a fraction), ``num``, ``num1``,
    ``num3``, ``date``; columns missing from ``frame`` are skipped.
    """
    kinds = _kinds(currency)
    used = [(col, label, kind) for col, label, kind in spec if col in frame.columns]
    cells: list[list[str]] = []
    sort: list[list[str | None]] = []
    columns = {col: frame[col].tolist() for col, _, _ in used}
    for i in range(len(frame)):
        row_cells, row_sort = [], []
        for col, _, kind in used:
            value = columns[col][i]
            fmt, num = kinds[kind]
            row_cells.append(fmt(value))
            if num:
                f = _f(value)
                row_sort.append(None if f is None or not math.isfinite(f) else repr(f))
            else:
                row_sort.append(None)
        cells.append(row_cells)
        sort.append(row_sort)
    return Table(
        id=table_id,
        title=title,
        columns=[label for _, label, _ in used],
        numeric=[kinds[kind][1] for _, _, kind in used],
        cells=cells,
        sort=sort,
        reading=reading,
        page_size=page_size,
    )


def _generic_table(table_id: str, title: str, frame: pd.DataFrame, reading: str = "") -> Table:
    """A table of any frame: numbers formatted with up to 4 significant decimals."""
    spec: list[tuple[str, str, str]] = []
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series):
            kind = "text"
        elif pd.api.types.is_integer_dtype(series):
            kind = "int"
        elif pd.api.types.is_numeric_dtype(series):
            kind = "num3"
        else:
            kind = "text"
        spec.append((str(col), str(col).replace("_", " "), kind))
    renamed = frame.copy()
    renamed.columns = [str(c) for c in frame.columns]
    return make_table(table_id, title, renamed, spec, reading=reading)


# --- sections ------------------------------------------------------------------------------------


@dataclass
class _Context:
    customers: pd.DataFrame
    retention: pd.DataFrame
    cohorts: pd.DataFrame | None
    model: Mapping[str, Any] | None
    pairs: pd.DataFrame | None
    segments: pd.DataFrame | None
    purchase_model: mf.PurchaseModel | None
    model_note: str
    tracking: RepeatTracking | None
    tracking_note: str
    holdout_length: float | None
    time_unit: str
    currency: str | None
    monthly: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def unit_days(self) -> float:
        return mf.time_unit_days(self.time_unit)

    @property
    def year(self) -> float:
        """Twelve months in the model's time unit."""
        return 365.25 / self.unit_days


def _clv_hint(model: Mapping[str, Any] | None) -> str:
    """``average per customer, next 52 weeks, discounted 10%/year`` from model.json."""
    text = "average per customer"
    prediction = model.get("prediction") if model is not None else None
    if not isinstance(prediction, Mapping):
        return text
    horizon, unit = prediction.get("horizon"), prediction.get("time_unit")
    if isinstance(horizon, (int, float)) and isinstance(unit, str):
        text += f", next {fmt_num(float(horizon), 0)} {unit}"
    rate = prediction.get("discount_rate")
    if isinstance(rate, (int, float)) and rate > 0:
        text += f", discounted {fmt_pct(float(rate))}/year"
    margin = prediction.get("margin")
    if isinstance(margin, (int, float)) and margin < 1:
        text += f", {fmt_pct(float(margin))} margin"
    return text


def _overview(ctx: _Context, h: agg.Headline) -> Section:
    c = ctx.currency
    crr_hint = f"customers kept in {h.crr_period}" if h.crr_period else "no monthly history yet"
    cards = [
        Card("Customers", fmt_int(h.customers), f"{fmt_int(h.orders)} orders", "customers"),
        Card("Revenue", fmt_money(h.revenue, c, compact=True), "net of refunds", "revenue"),
        Card("Average order value", fmt_money(h.aov, c), "gross revenue per order", "aov"),
        Card(
            "Orders per customer",
            fmt_num(h.orders_per_customer, 2),
            "over the whole period",
            "orders_per_customer",
        ),
        Card("Repeat rate", fmt_pct(h.repeat_rate), "bought on two or more days", "repeat_rate"),
        Card(
            "Retention (CRR)",
            "–" if h.crr_last is None else f"{h.crr_last:.1f}%",
            crr_hint,
            "crr",
        ),
        Card(
            "Historical CLV",
            fmt_money(h.avg_historical_clv, c),
            "average spend in the last 12 months",
            "historical_clv",
            wide=True,
        ),
        Card(
            "Predicted CLV",
            fmt_money(h.avg_predicted_clv, c),
            _clv_hint(ctx.model) if h.avg_predicted_clv is not None else "needs a model",
            "predicted_clv",
            wide=True,
        ),
        Card(
            "Expected revenue",
            fmt_money(h.expected_revenue_12m, c, compact=True),
            "next 12 months, undiscounted"
            if h.expected_revenue_12m is not None
            else "next 12 months: needs a model",
            "expected_revenue",
            wide=True,
        ),
    ]
    section = Section(
        "overview", "Overview", "Headline numbers", agg.headline_sentence(h, c), cards
    )
    if not ctx.monthly.empty and "revenue" in ctx.monthly.columns:
        last = ctx.monthly.iloc[-12:]
        rev = float(last["revenue"].sum())
        new = float(last["new_customers"].sum()) if "new_customers" in last.columns else math.nan
        reading = (
            f"The last {len(last)} months brought {fmt_money(rev, c, compact=True)} of revenue"
        )
        if math.isfinite(new):
            reading += f" and {fmt_int(new)} new customers"
        section.charts.append(
            Chart(
                "chart-overview",
                "Revenue and new customers by month",
                reading + ".",
                charts.overview_chart(ctx.monthly, c),
                height=320,
                wide=True,
            )
        )
    return section


def _concentration(ctx: _Context) -> Section:
    c = ctx.currency
    spend = agg.numeric(ctx.customers, "total_spend")
    x, y = agg.lorenz_curve(spend)
    top10, top1 = agg.top_share(spend, 0.10), agg.top_share(spend, 0.01)
    reading = agg.concentration_sentence(top10, top1)
    section = Section("value", "Value", "Who brings the revenue", reading)
    section.charts.append(
        Chart(
            "chart-lorenz",
            "Revenue concentration",
            reading,
            charts.lorenz_chart(x.tolist(), y.tolist(), top10),
        )
    )
    predicted = agg.numeric(ctx.customers, "predicted_clv")
    if np.isfinite(predicted).any():
        hist = agg.histogram(predicted)
        section.charts.append(
            Chart(
                "chart-clv",
                "Distribution of predicted CLV",
                agg.clv_distribution_sentence(hist, c),
                charts.clv_histogram_chart(hist, c, "Predicted CLV"),
            )
        )
    else:
        hist = agg.histogram(agg.numeric(ctx.customers, "spend_12m"))
        if hist.n:
            section.charts.append(
                Chart(
                    "chart-clv",
                    "Distribution of historical CLV (spend in the last 12 months)",
                    f"Half of your customers spent less than {fmt_money(hist.median, c)} in the "
                    f"last 12 months; the top 10% more than {fmt_money(hist.p90, c)}.",
                    charts.clv_histogram_chart(hist, c, "Spend in the last 12 months"),
                )
            )
        section.notes.append(
            "No predicted CLV: fit a model (e.g. not --model none) to see the predicted "
            "distribution."
        )
    return section


def _retention(ctx: _Context) -> Section:
    c = ctx.currency
    reading = agg.retention_sentence(ctx.monthly)
    section = Section("retention", "Retention", "Retention and cohorts", reading)
    if not ctx.monthly.empty:
        section.charts.append(
            Chart(
                "chart-crr",
                "Retention and churn by month",
                reading,
                charts.retention_chart(ctx.monthly),
                height=320,
                wide=True,
            )
        )
    else:
        section.notes.append("The retention table has no monthly rows.")
    if ctx.cohorts is not None and not ctx.cohorts.empty:
        m = agg.cohort_matrix(ctx.cohorts)
        height = max(320, min(760, 60 + 16 * len(m.cohorts)))
        section.charts.append(
            Chart(
                "chart-cohorts",
                "Monthly cohort retention",
                agg.cohort_sentence(m),
                charts.cohort_heatmap(m),
                height=height,
            )
        )
        section.charts.append(
            Chart(
                "chart-cohort-revenue",
                "Cohort revenue per customer",
                agg.cohort_revenue_sentence(m, c),
                charts.cohort_revenue_chart(m, c),
                height=height,
            )
        )
    else:
        section.notes.append("No cohort table was given, so cohort charts are omitted.")
    return section


SEGMENT_SPEC = [
    ("segment", "Segment", "text"),
    ("customers", "Customers", "int"),
    ("customer_share", "Share of customers", "pct"),
    ("revenue", "Revenue", "money"),
    ("revenue_share", "Share of revenue", "pct"),
    ("avg_historical_clv", "Avg historical CLV", "money"),
    ("avg_predicted_clv", "Avg predicted CLV", "money"),
]


def _segments(ctx: _Context) -> Section:
    c = ctx.currency
    section = Section("segments", "Segments", "Segments")
    readings: list[str] = []
    for column, label in (("segments", "Segments"), ("rfm_group", "RFM groups")):
        summary = agg.segment_summary(ctx.customers, column)
        if summary.empty:
            continue
        summary["segment"] = [agg.segment_label(str(v)) for v in summary["segment"]]
        if summary["avg_predicted_clv"].isna().all():
            summary = summary.drop(columns=["avg_predicted_clv"])
        else:
            summary["avg_predicted_clv"] = summary["avg_predicted_clv"].astype(float)
        if "avg_predicted_clv" not in summary.columns:
            summary["avg_predicted_clv"] = np.nan
        sentence = agg.segment_sentence(summary)
        readings.append(sentence)
        cid = column.replace("_", "-")
        section.charts.append(
            Chart(
                f"chart-{cid}",
                f"{label}: share of customers and of revenue",
                sentence
                + (" A customer can be in several segments." if column == "segments" else ""),
                charts.segments_chart(summary),
                height=max(300, min(640, 80 + 44 * min(len(summary), 12))),
                wide=column == "segments",
            )
        )
        spec = [s for s in SEGMENT_SPEC if s[0] in summary.columns]
        if summary["avg_predicted_clv"].isna().all():
            spec = [s for s in spec if s[0] != "avg_predicted_clv"]
        section.tables.append(
            make_table(f"table-{cid}", f"{label} summary", summary, spec, currency=c, page_size=15)
        )
    if not readings:
        section.notes.append(
            "No segments were assigned (the customers table has no segments or rfm_group column)."
        )
    grid = agg.rfm_grid(ctx.customers)
    if grid is not None and grid.total_customers:
        sentence = agg.rfm_sentence(grid)
        readings.append(sentence)
        section.charts.append(
            Chart(
                "chart-rfm", "RFM grid: recency × frequency", sentence, charts.rfm_heatmap(grid, c)
            )
        )
    if ctx.segments is not None and not ctx.segments.empty:
        section.tables.append(
            _generic_table("table-segments-given", "Segments table", ctx.segments.head(500))
        )
    section.reading = readings[0] if readings else "No segment data."
    return section


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _model(ctx: _Context) -> Section:
    section = Section("model", "Model", "Model fit")
    model, pm, unit = ctx.model, ctx.purchase_model, ctx.time_unit
    if model is None:
        section.notes.append(ctx.model_note or "No model was fitted.")
        section.reading = "No model was fitted, so there are no predictions to check."
        return section
    section.reading = mf.model_sentence(model)
    notes = model.get("notes")
    if isinstance(notes, list):
        section.notes.extend(_sentence(str(n)) for n in notes if n)
    if pm is None:
        if not notes:
            section.notes.append(ctx.model_note)
    else:
        t0 = time.perf_counter()
        mats = mf.fit_matrices(pm, ctx.customers, ctx.year)
        if mats is not None:
            e_text, a_text = mf.matrix_sentence(mats, unit)
            section.charts.append(
                Chart(
                    "chart-expected-matrix",
                    "Expected purchases in the next 12 months by frequency and recency",
                    e_text,
                    charts.matrix_heatmap(mats, "expected", unit),
                    height=420,
                )
            )
            section.charts.append(
                Chart(
                    "chart-alive-matrix",
                    "Probability of still being a customer by frequency and recency",
                    a_text,
                    charts.matrix_heatmap(mats, "alive", unit),
                    height=420,
                )
            )
        ctx.timings["model.matrices"] = time.perf_counter() - t0
    if ctx.tracking is not None:
        reading = ctx.tracking.sentence()
        section.charts.append(
            Chart(
                "chart-tracking",
                "Cumulative repeat transactions: model vs actual",
                reading,
                charts.tracking_chart(ctx.tracking, cumulative=True),
                wide=True,
            )
        )
    if pm is not None:
        t0 = time.perf_counter()
        cal = None
        if ctx.holdout_length is not None:
            cal = mf.calibration_holdout(pm, ctx.customers, ctx.holdout_length)
        if cal is not None:
            section.charts.append(
                Chart(
                    "chart-calibration",
                    "Calibration vs holdout purchases by frequency",
                    mf.calibration_sentence(cal, unit),
                    charts.calibration_chart(cal, unit),
                )
            )
        else:
            section.notes.append(
                "No holdout period (no calibration split with holdout_frequency), so the "
                "calibration-vs-holdout check is omitted."
            )
        ctx.timings["model.calibration"] = time.perf_counter() - t0
    if ctx.tracking is not None:
        section.charts.append(
            Chart(
                "chart-tracking-period",
                f"Repeat transactions per {unit.rstrip('s')}: model vs actual",
                ctx.tracking.period_sentence(),
                charts.tracking_chart(ctx.tracking, cumulative=False),
            )
        )
    elif ctx.tracking_note:
        section.notes.append(ctx.tracking_note)
    params = mf.parameter_table(model)
    if not params.empty:
        section.tables.append(
            make_table(
                "table-params",
                "Parameters (95% intervals)",
                params,
                [
                    ("model", "Model", "text"),
                    ("parameter", "Parameter", "text"),
                    ("estimate", "Estimate", "num3"),
                    ("standard_error", "Std. error", "num3"),
                    ("lower", "Lower 95%", "num3"),
                    ("upper", "Upper 95%", "num3"),
                ],
            )
        )
    card = mf.scorecard_table(model)
    if "candidate" in card.columns:
        section.tables.append(
            make_table(
                "table-scorecard",
                "Model scorecard (validation window)",
                card,
                [
                    (col, label, SCORECARD_KINDS.get(col, "num3"))
                    for col, label in mf.SCORECARD_COLUMNS.items()
                ],
                reading=mf.scorecard_sentence(model, card),
            )
        )
    elif not card.empty:
        section.tables.append(_generic_table("table-scorecard", "Model scorecard", card))
    return section


SCORECARD_KINDS = {
    "candidate": "text",
    "chosen": "text",
    "predicted": "num1",
    "actual": "num1",
    "total_error": "pct",
    "log_likelihood": "num1",
}


def _at_risk(ctx: _Context) -> Section:
    c = ctx.currency
    section = Section("at-risk", "At risk", "Valuable customers at risk")
    pm = ctx.purchase_model
    alive_before: Callable[[pd.DataFrame], Any] | None = None
    if pm is not None and {"frequency", "recency", "T"} <= set(ctx.customers.columns):
        model = pm

        def alive_before(frame: pd.DataFrame) -> Any:
            return mf.probability_alive_before(model, frame, 30, ctx.unit_days)

    table, found = agg.at_risk_customers(
        ctx.customers, alive_before=alive_before, top_n=AT_RISK_ROWS
    )
    has_model = "probability_alive" in table.columns
    section.reading = agg.at_risk_sentence(table, found, c, has_model)
    if not has_model:
        section.notes.append(
            "Without a model, customers are flagged when they are more than twice their usual gap "
            "past their last order."
        )
    if table.empty:
        return section
    section.charts.append(
        Chart(
            "chart-at-risk",
            "Listed customers: spend and chance they are still buying",
            section.reading,
            charts.at_risk_chart(table, c),
        )
    )
    section.tables.append(
        make_table(
            "table-at-risk",
            "Customers at risk (fastest-falling value first)"
            if alive_before is not None
            else "Customers at risk (largest value at stake first)",
            table,
            [
                ("customer_id", "Customer", "text"),
                ("orders", "Orders", "int"),
                ("total_spend", "Total spend", "money"),
                ("last_purchase", "Last order", "date"),
                ("days_since_last_order", "Days since", "int"),
                ("mean_days_between_orders", "Usual gap", "int"),
                ("probability_alive", "P(alive)", "pct"),
                ("alive_30d_ago", "30 days ago", "pct"),
                ("predicted_clv", "Predicted CLV", "money"),
                ("value_at_risk", "At stake", "money"),
            ],
            currency=c,
        )
    )
    return section


def _pairs(ctx: _Context) -> Section:
    section = Section("pairs", "Pairs", "Frequently bought together")
    if ctx.pairs is None or ctx.pairs.empty:
        section.notes.append(
            "No product pairs: the orders have no product column, or no pair is bought together "
            "often enough."
        )
        section.reading = "No product pairs to show."
        return section
    top = agg.top_pairs(ctx.pairs, PAIR_ROWS)
    section.reading = agg.pairs_sentence(top)
    section.charts.append(
        Chart(
            "chart-pairs",
            "Strongest product pairs",
            section.reading,
            charts.pairs_chart(top),
            height=max(300, 60 + 34 * min(len(top), 10)),
        )
    )
    section.tables.append(
        make_table(
            "table-pairs",
            "Top product pairs",
            top,
            [
                ("antecedent_label", "Bought", "text"),
                ("consequent_label", "Also bought", "text"),
                ("count", "Orders together", "int"),
                ("support", "Support", "pct"),
                ("confidence", "Confidence", "pct"),
                ("lift", "Lift", "num"),
            ],
        )
    )
    return section


def _balance(section: Section) -> Section:
    """Widen the last chart of an odd run of half-width charts, so no chart sits alone."""
    run: list[Chart] = []
    for chart in [*section.charts, None]:
        if chart is None or chart.wide:
            if len(run) % 2 == 1:
                run[-1].wide = True
            run = []
        else:
            run.append(chart)
    return section


# --- rendering -----------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("lifevalue.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _plotly_js() -> str:
    """plotly.js (minified) from the installed plotly package: the page embeds it once."""
    offline: Any = importlib.import_module("plotly.offline")
    return str(offline.get_plotlyjs())


def _package_version() -> str:
    try:
        return version("lifevalue")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


def _resolve_time_unit(
    time_unit: str | None, model: Mapping[str, Any] | None, customers: pd.DataFrame
) -> str:
    if time_unit:
        return time_unit
    if model is not None and isinstance(model.get("time_unit"), str):
        return str(model["time_unit"])
    if "time_unit" in customers.columns and len(customers):
        return str(customers["time_unit"].iloc[0])
    return "days"


#: The environment variable that fixes the time a report says it was generated (a Unix time in
#: seconds), as reproducible builds use it: the same data then gives the same bytes.
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def report_time() -> dt.datetime:
    """The time printed in a report: ``SOURCE_DATE_EPOCH`` when it is set, else now (UTC).

    Raises
    ------
    ConfigError
        ``SOURCE_DATE_EPOCH`` is set but is not a whole number of seconds.
    """
    raw = os.environ.get(SOURCE_DATE_EPOCH, "").strip()
    if not raw:
        return dt.datetime.now(dt.UTC)
    try:
        return dt.datetime.fromtimestamp(int(raw), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise ConfigError(
            f"{SOURCE_DATE_EPOCH} must be a Unix time in whole seconds (e.g. 1767225600), "
            f"not {raw!r}"
        ) from None


def _as_date(value: Any) -> dt.date | None:
    if value is None or _is_missing(value):
        return None
    try:
        return pd.Timestamp(value).date()
    except (TypeError, ValueError):
        return None


def render_report(
    customers: pd.DataFrame,
    retention: pd.DataFrame,
    cohorts: pd.DataFrame | None = None,
    model: Mapping[str, Any] | None = None,
    pairs: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    *,
    orders: Any = None,
    tracking: RepeatTracking | None = None,
    purchase_model: mf.PurchaseModel | None = None,
    calibration_end: dt.date | None = None,
    observation_end: dt.date | None = None,
    time_unit: str | None = None,
    currency: str | None = None,
    title: str = "Customer lifetime value report",
    generated_at: dt.datetime | None = None,
    timings: dict[str, float] | None = None,
) -> str:
    """Render the report to an HTML string; see :func:`build_report` for the parameters."""
    t_start = time.perf_counter()
    stamps = timings if timings is not None else {}
    unit = _resolve_time_unit(time_unit, model, customers)
    pm, note = (
        (purchase_model, "") if purchase_model is not None else mf.resolve_purchase_model(model)
    )
    if model is None and purchase_model is None:
        note = "No model was fitted (for example with --model none), so predictions are omitted."
    cal_end = calibration_end or (_as_date(model.get("calibration_end")) if model else None)
    obs_end = observation_end or (
        _as_date(model.get("observation_end") or model.get("end")) if model else None
    )
    if tracking is not None:
        cal_end = cal_end or tracking.calibration_end
        obs_end = obs_end or tracking.end
    holdout = None
    if cal_end is not None and obs_end is not None and obs_end > cal_end:
        holdout = (obs_end - cal_end).days / mf.time_unit_days(unit)
    elif model is not None:
        # model.json of ``lifevalue analyze`` with a calibration split: holdout.length (units)
        # and prediction.as_of (the calibration end)
        block = model.get("holdout")
        if isinstance(block, Mapping) and isinstance(block.get("length"), (int, float)):
            holdout = float(block["length"])
            prediction = model.get("prediction")
            if cal_end is None and isinstance(prediction, Mapping):
                cal_end = _as_date(prediction.get("as_of"))
    tracking_note = ""
    if tracking is None and orders is not None:
        t0 = time.perf_counter()
        try:
            tracking = repeat_transactions_tracking(
                orders, pm, time_unit=unit, end=obs_end, calibration_end=cal_end
            )
        except ValueError as exc:
            tracking_note = f"The repeat-transactions chart is omitted: {exc}."
        stamps["tracking"] = time.perf_counter() - t0
    elif tracking is None:
        tracking_note = (
            "No orders were given, so the cumulative repeat-transactions chart is omitted."
        )
    expected_rev = None
    if pm is not None and {"frequency", "recency", "T"} <= set(customers.columns):
        t0 = time.perf_counter()
        expected_rev = mf.expected_revenue(pm, customers, 365.25 / mf.time_unit_days(unit))
        stamps["expected_revenue"] = time.perf_counter() - t0
    ctx = _Context(
        customers=customers,
        retention=retention,
        cohorts=cohorts,
        model=model,
        pairs=pairs,
        segments=segments,
        purchase_model=pm,
        model_note=note,
        tracking=tracking,
        tracking_note=tracking_note,
        holdout_length=holdout,
        time_unit=unit,
        currency=currency,
        monthly=agg.monthly_retention(retention),
        timings=stamps,
    )
    headline = agg.headline_numbers(
        customers, retention, expected_revenue_12m=expected_rev, end=obs_end
    )
    sections: list[Section] = []
    builders: list[tuple[str, Callable[[], Section]]] = [
        ("overview", lambda: _overview(ctx, headline)),
        ("value", lambda: _concentration(ctx)),
        ("retention", lambda: _retention(ctx)),
        ("segments", lambda: _segments(ctx)),
        ("model", lambda: _model(ctx)),
        ("at-risk", lambda: _at_risk(ctx)),
        ("pairs", lambda: _pairs(ctx)),
    ]
    for name, make in builders:
        t0 = time.perf_counter()
        sections.append(_balance(make()))
        stamps[name] = time.perf_counter() - t0
    window = ""
    if headline.first_purchase and headline.last_purchase:
        window = f"Orders from {headline.first_purchase} to {headline.last_purchase}"
        if cal_end is not None:
            window += f" (calibration to {cal_end.isoformat()})"
    generated = (generated_at or report_time()).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.perf_counter()
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            window=window,
            generated=generated,
            time_unit=unit,
            version=_package_version(),
            sections=sections,
            plotly_js=Markup(_plotly_js()),
        )
    )
    stamps["render"] = time.perf_counter() - t0
    stamps["total"] = time.perf_counter() - t_start
    return html


def build_report(
    customers: pd.DataFrame,
    retention: pd.DataFrame,
    cohorts: pd.DataFrame | None = None,
    model: Mapping[str, Any] | None = None,
    pairs: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    *,
    out: str | Path,
    orders: Any = None,
    tracking: RepeatTracking | None = None,
    purchase_model: mf.PurchaseModel | None = None,
    calibration_end: dt.date | None = None,
    observation_end: dt.date | None = None,
    time_unit: str | None = None,
    currency: str | None = None,
    title: str = "Customer lifetime value report",
    generated_at: dt.datetime | None = None,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write the CLV report as one self-contained HTML file.

    Parameters
    ----------
    customers
        Per-customer summary (``customers.*`` of ``docs/contract.md``), with the model's predicted
        columns and ``segments`` / ``rfm_group`` when available. Required.
    retention
        Store retention table (``retention.csv``). Required (may be empty).
    cohorts
        Monthly cohorts table (``cohorts.csv``); cohort charts are omitted without it.
    model
        The ``model.json`` dict; the purchase model is loaded from it with
        ``lifevalue.models.load_model`` unless ``purchase_model`` is given. ``None`` omits the
        model section and predictions (``--model none``).
    pairs
        "Bought together" pairs (``pairs.csv``: antecedent, consequent, support, confidence,
        lift, count and product names).
    segments
        Segments summary table from :mod:`lifevalue.segments`, shown as is.
    out
        Path of the HTML file to write (parent folders are created).
    orders
        Canonical orders (pandas or Arrow) for the cumulative repeat-transactions chart, computed
        with :func:`lifevalue.report.tracking.repeat_transactions_tracking`.
    tracking
        That chart's data, if already computed (takes precedence over ``orders``).
    purchase_model
        A fitted purchase model with ``expected_purchases`` and ``probability_alive``.
    calibration_end, observation_end
        Last day of the calibration period and of the data; their difference is the holdout
        length. Read from ``model`` (``calibration_end``, ``observation_end``/``end``) if not given.
    time_unit
        ``"days"`` or ``"weeks"`` of ``frequency``/``recency``/``T`` and the model; default
        ``model["time_unit"]``.
    currency
        ISO code for money amounts (``USD`` shows ``$``).
    title
        Page title.
    generated_at
        Timestamp printed in the page (default: :func:`report_time`: now, or the time in
        ``SOURCE_DATE_EPOCH``).
    timings
        If given, filled with the seconds spent per section (for benchmarks).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    html = render_report(
        customers,
        retention,
        cohorts,
        model,
        pairs,
        segments,
        orders=orders,
        tracking=tracking,
        purchase_model=purchase_model,
        calibration_end=calibration_end,
        observation_end=observation_end,
        time_unit=time_unit,
        currency=currency,
        title=title,
        generated_at=generated_at,
        timings=timings,
    )
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
