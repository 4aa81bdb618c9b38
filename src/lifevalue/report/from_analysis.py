"""Build the report from an analysis run (what ``lifevalue report`` and ``analyze --report`` do).

:func:`report_from_analysis` reads the inputs of :func:`lifevalue.report.build_report` from a
:class:`lifevalue.pipeline.AnalysisResult`: the DuckDB tables ``customers``, ``retention``,
``cohorts`` and ``purchases`` (the purchases stay in DuckDB for the repeat-transactions chart), and,
when the run produced them, the fitted model (``result.extra["model"]``, the ``model.json`` dict,
and ``result.extra["purchase_model"]``, the fitted estimator), the "bought together" pairs
(``result.extra["pairs"]`` or a ``pairs`` table) and the segments summary
(``result.extra["segments"]`` or a ``segments`` table).

:func:`lifevalue.pipeline.run_analysis` segments the customers (``rfm_group`` and ``segments``
in the ``customers`` table) unless told not to; the report uses those columns as they are and
segments the customers itself (:func:`lifevalue.segments.segment_customers`, the defaults of
``lifevalue segments``) only when they are missing. The "bought together" pairs are mined here
with the defaults of ``lifevalue recommend`` (:func:`product_pairs`) from the line items of the
``orders`` table, unless the run has them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from lifevalue.errors import LifevalueError
from lifevalue.report.builder import build_report
from lifevalue.report.modelfit import PurchaseModel

__all__ = ["add_segments", "product_pairs", "read_table", "report_from_analysis"]


def _tables(con: Any) -> set[str]:
    """Tables and views (``purchases`` may be either) of the connection."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE NOT internal"
    ).fetchall()
    return {str(r[0]) for r in rows}


def read_table(con: Any, name: str) -> pd.DataFrame:
    """A DuckDB table as pandas, as ``SELECT * ... .df()`` gives it, but faster.

    Text columns come through Arrow: DuckDB's ``.df()`` makes a Python string per value, which
    pandas then converts to its Arrow-backed ``str`` (2 s of the 2.5 s it takes for a million
    customers); the other columns keep ``.df()``'s types (dates, nullable integers, decimals).
    """
    table = '"' + name.replace('"', '""') + '"'
    columns = [(str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {table}").fetchall()]
    text = [c for c, kind in columns if kind == "VARCHAR"]
    other = [c for c, kind in columns if kind != "VARCHAR"]

    def select(names: list[str]) -> str:
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in names)
        return f"SELECT {quoted} FROM {table}"  # both in the table's order (no ORDER BY)

    parts: list[pd.DataFrame] = []
    if other or not text:
        parts.append(con.execute(select(other) if other else f"SELECT * FROM {table}").df())
    if text:
        parts.append(con.sql(select(text)).to_arrow_table().to_pandas())
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)
    return frame[[c for c, _ in columns]] if len(parts) > 1 else frame


def _frame(result: Any, tables: set[str], name: str) -> pd.DataFrame | None:
    value = result.extra.get(name)
    if isinstance(value, pd.DataFrame):
        return value
    if name in tables:
        return read_table(result.con, name)
    return None


def add_segments(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers with ``segments`` and ``rfm_group`` (the default rules of ``lifevalue segments``).

    The report summarises them itself (size, revenue share, average CLV per segment).
    """
    from lifevalue.segments.assign import segment_customers

    segmented: pd.DataFrame = segment_customers(customers).customers
    return segmented


def product_pairs(con: Any) -> pd.DataFrame | None:
    """ "Bought together" pairs of the line items in the ``orders`` table (None without items).

    The rules of ``lifevalue recommend`` (:func:`lifevalue.recommend.frequently_bought_together`,
    1% support); when they find fewer than 10 pairs (a large catalogue), the support goes down to
    0.1% of the orders (and at least 20 orders) so that the report can show the strongest pairs.
    The item and pair counts are read once from DuckDB
    (:meth:`lifevalue.recommend.cooccurrence.PairCounts.from_duckdb`) and serve both supports.
    """
    from lifevalue.recommend import frequently_bought_together
    from lifevalue.recommend.cooccurrence import PairCounts

    try:
        counts = PairCounts.from_duckdb(con, "orders")
    except (LifevalueError, duckdb.Error):  # no orders table, no product / sku, no line items
        return None
    pairs: pd.DataFrame = frequently_bought_together(counts)
    if len(pairs) < 10 and counts.n_orders > 0:
        support = max(0.001, 20 / counts.n_orders)
        if support < 0.01:
            pairs = frequently_bought_together(counts, min_support=support)
    return pairs


def report_from_analysis(
    result: Any,
    out: str | Path,
    *,
    title: str | None = None,
    currency: str | None = None,
    segments: bool = True,
    pairs: bool = True,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write the HTML report of an analysis run.

    Parameters
    ----------
    result
        A :class:`lifevalue.pipeline.AnalysisResult` (its ``con`` holds the tables, its
        ``summary`` the window and time unit, its ``extra`` the model, pairs and segments when
        the run made them, and ``customers``, a pandas copy of the ``customers`` table, when
        the run kept one: it is then used instead of reading the table again).
    out
        HTML file to write.
    title
        Page title (default: "Customer lifetime value report").
    currency
        Currency code for amounts (default: the currency read from the orders).
    segments
        Segment the customers (when the run did not) for the segments section.
    pairs
        Mine "bought together" product pairs (when the run did not) for the pairs section.
    timings
        Filled with seconds per step, as in :func:`build_report`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    con = result.con
    tables = _tables(con)
    stamps = timings if timings is not None else {}
    t0 = time.perf_counter()
    given = result.extra.get("customers")  # the run's own frame of the table, if it kept one
    customers = given if isinstance(given, pd.DataFrame) else read_table(con, "customers")
    retention = read_table(con, "retention")
    cohorts = _frame(result, tables, "cohorts")
    summary_table = _frame(result, tables, "segments")
    stamps["read tables"] = time.perf_counter() - t0
    if segments and "segments" not in customers.columns and len(customers):
        t0 = time.perf_counter()
        customers = add_segments(customers)
        stamps["segments (compute)"] = time.perf_counter() - t0
    pair_table = _frame(result, tables, "pairs")
    if pairs and pair_table is None:
        t0 = time.perf_counter()
        pair_table = product_pairs(con)
        stamps["pairs (compute)"] = time.perf_counter() - t0
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
        pair_table,
        summary_table,
        out=out,
        orders=orders,
        purchase_model=purchase_model if isinstance(purchase_model, PurchaseModel) else None,
        calibration_end=calibration_end,
        observation_end=end,
        time_unit=getattr(summary, "time_unit", None),
        currency=currency,
        title=title or "Customer lifetime value report",
        timings=stamps,
    )
