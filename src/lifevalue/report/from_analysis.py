"""Build the report from an analysis run (what ``lifevalue report`` and ``analyze --report`` do).

:func:`report_from_analysis` reads the inputs of :func:`lifevalue.report.build_report` from a
:class:`lifevalue.pipeline.AnalysisResult`: the DuckDB tables ``customers``, ``retention``,
``cohorts`` and ``purchases`` (the purchases stay in DuckDB for the repeat-transactions chart), and,
when the run produced them, the fitted model (``result.extra["model"]``, the ``model.json`` dict,
and ``result.extra["purchase_model"]``, the fitted estimator), the "bought together" pairs
(``result.extra["pairs"]`` or a ``pairs`` table) and the segments summary
(``result.extra["segments"]`` or a ``segments`` table).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from lifevalue.report.builder import build_report
from lifevalue.report.modelfit import PurchaseModel

__all__ = ["report_from_analysis"]


def _tables(con: Any) -> set[str]:
    rows = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    return {str(r[0]) for r in rows}


def _frame(result: Any, tables: set[str], name: str) -> pd.DataFrame | None:
    value = result.extra.get(name)
    if isinstance(value, pd.DataFrame):
        return value
    if name in tables:
        frame: pd.DataFrame = result.con.execute(f'SELECT * FROM "{name}"').df()
        return frame
    return None


def report_from_analysis(
    result: Any,
    out: str | Path,
    *,
    title: str | None = None,
    currency: str | None = None,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write the HTML report of an analysis run.

    Parameters
    ----------
    result
        A :class:`lifevalue.pipeline.AnalysisResult` (its ``con`` holds the tables, its
        ``summary`` the window and time unit, its ``extra`` the model, pairs and segments when
        the run made them).
    out
        HTML file to write.
    title
        Page title (default: "Customer lifetime value report").
    currency
        Currency code for amounts (default: the currency read from the orders).
    timings
        Filled with seconds per step, as in :func:`build_report`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    con = result.con
    tables = _tables(con)
    customers: pd.DataFrame = con.execute("SELECT * FROM customers").df()
    retention: pd.DataFrame = con.execute("SELECT * FROM retention").df()
    cohorts = _frame(result, tables, "cohorts")
    model = result.extra.get("model")
    purchase_model = result.extra.get("purchase_model")
    summary = result.summary
    calibration_end: dt.date | None = getattr(summary, "calibration_end", None)
    end: dt.date | None = getattr(summary, "end", None)
    if currency is None:
        currency = getattr(getattr(result, "ingested", None), "currency", None)
    orders = con.table("purchases") if "purchases" in tables else None
    return build_report(
        customers,
        retention,
        cohorts,
        model if isinstance(model, Mapping) else None,
        _frame(result, tables, "pairs"),
        _frame(result, tables, "segments"),
        out=out,
        orders=orders,
        purchase_model=purchase_model if isinstance(purchase_model, PurchaseModel) else None,
        calibration_end=calibration_end,
        observation_end=end,
        time_unit=getattr(summary, "time_unit", None),
        currency=currency,
        title=title or "Customer lifetime value report",
        timings=timings,
    )
