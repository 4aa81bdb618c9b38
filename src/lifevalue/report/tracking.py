"""Actual and expected repeat transactions per time unit: the "tracking" chart of BTYD models.

How it is computed (:func:`repeat_transactions_tracking`):

1. From the orders, keep one row per customer and purchase day (rows with ``amount <= 0``, i.e.
   refunds and cancellations, are not purchases). A customer's *first purchase day* is their
   earliest day; every later day is a *repeat transaction*.
2. Time runs from ``start`` (by default the first purchase day in the data) to ``end`` (by default
   the last one), cut into periods of one time unit (7 days for ``weeks``); the last period may be
   shorter. Actual repeat transactions are counted per period and accumulated.
3. Customers are grouped by first purchase day ``d`` (days after ``start``): ``n_d`` customers. At
   the end ``B`` of each period (days after ``start``, exclusive), the expected cumulative number of
   repeat transactions is ``sum_{d < B} n_d * E[X((B - d) / u)]``, where ``u`` is the unit in days
   and ``E[X(t)]`` is the model's ``expected_purchases_new_customer(t)``: the repeat purchases a
   new customer is expected to make within ``t`` units of the first purchase. The sum is one
   convolution over days, so the model is evaluated once per day of the window, not per customer.

The model is fitted on the calibration period only, so the curves agreeing *after* the calibration
end (marked on the chart) is the test of the model. On the CDNOW sample (weeks) the window is 78
weeks and the calibration end is week 39.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.report.format import fmt_num, fmt_pct
from lifevalue.report.modelfit import PurchaseModel, expected_new_customer, time_unit_days

__all__ = ["PurchaseDays", "RepeatTracking", "purchase_days", "repeat_transactions_tracking"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PurchaseDays:
    """Daily counts over the window: new customers by first purchase day, repeat transactions."""

    start: dt.date
    end: dt.date
    first: npt.NDArray[np.int64]
    """``first[d]``: customers whose first purchase is ``d`` days after ``start``."""
    repeat: npt.NDArray[np.int64]
    """``repeat[d]``: repeat purchase days falling ``d`` days after ``start``."""


def _to_date(value: Any) -> dt.date:
    return pd.Timestamp(value).date()


def purchase_days(
    orders: Any,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> PurchaseDays:
    """Count first purchases and repeat purchase days per day, in DuckDB.

    Parameters
    ----------
    orders
        Orders or purchases with ``customer_id`` and ``local_date`` (or ``ordered_at``), as a
        pandas DataFrame, an Arrow table or a DuckDB relation (e.g. ``con.table("purchases")`` of
        :func:`lifevalue.pipeline.run_analysis`, which is queried in place); rows with
        ``amount <= 0`` are ignored when there is an ``amount`` column.
    start, end
        First and last day of the window (inclusive); default: the first and last purchase day.
    """
    if hasattr(orders, "columns"):
        columns = [str(c) for c in orders.columns]
    else:
        columns = [str(c) for c in orders.schema.names]
    if "customer_id" not in columns:
        raise ValueError("orders need a customer_id column")
    if "local_date" in columns:
        day = "CAST(local_date AS DATE)"
    elif "ordered_at" in columns:
        day = "CAST(ordered_at AS DATE)"
    else:
        raise ValueError("orders need a local_date or ordered_at column")
    where = ["customer_id IS NOT NULL", f"{day} IS NOT NULL"]
    if "amount" in columns:
        where.append("amount > 0")
    if start is not None:
        where.append(f"{day} >= DATE '{start.isoformat()}'")
    if end is not None:
        where.append(f"{day} <= DATE '{end.isoformat()}'")
    # kind 0: first purchases per day; kind 1: all purchase days per day, of which all but each
    # customer's first are repeat purchase days (no join of the days back to the firsts)
    sql = f"""
        with days as materialized (
            select distinct CAST(customer_id AS VARCHAR) as cid, {day} as d
            from orders where {" and ".join(where)}),
        firsts as (select min(d) as f from days group by cid),
        bounds as (select min(d) as s from days)
        select 0 as kind, datediff('day', (select s from bounds), f) as off, count(*) as n
            from firsts group by off
        union all
        select 1, datediff('day', (select s from bounds), d), count(*)
            from days group by 2
    """
    bounds_sql = f"select min({day}) as s, max({day}) as e from orders where {' and '.join(where)}"
    bounds: tuple[Any, ...] | None
    if isinstance(orders, duckdb.DuckDBPyRelation):
        # Run on the relation's own connection: no copy of the orders leaves DuckDB.
        counts_rel = orders.query("orders", sql)
        bounds_rel = orders.query("orders", bounds_sql)
        assert counts_rel is not None and bounds_rel is not None
        counts = counts_rel.df()
        bounds = bounds_rel.fetchall()[0]
    else:
        con = duckdb.connect()
        try:
            con.register("orders", orders)
            counts = con.execute(sql).df()
            bounds = con.execute(bounds_sql).fetchone()
        finally:
            con.close()
    if bounds is None or bounds[0] is None:
        raise ValueError("orders contain no purchases in the window")
    data_start, data_end = _to_date(bounds[0]), _to_date(bounds[1])
    s = start or data_start
    e = end or data_end
    shift = (data_start - s).days  # offsets above are relative to the first purchase day
    length = (e - s).days + 1
    first = np.zeros(length, dtype=np.int64)
    repeat = np.zeros(length, dtype=np.int64)
    for kind, target in ((0, first), (1, repeat)):
        rows = counts[counts["kind"] == kind]
        off = rows["off"].to_numpy(dtype=np.int64) + shift
        np.add.at(target, off, rows["n"].to_numpy(dtype=np.int64))
    repeat -= first
    return PurchaseDays(start=s, end=e, first=first, repeat=repeat)


@dataclass(frozen=True)
class RepeatTracking:
    """Actual and expected repeat transactions per time unit (see the module docstring).

    ``table`` has one row per period with columns ``period`` (1-based: units since ``start`` at
    the period end), ``period_start`` (date), ``actual``, ``actual_cumulative``, ``expected``,
    ``expected_cumulative`` (NaN without a model).
    """

    table: pd.DataFrame
    time_unit: str
    start: dt.date
    end: dt.date
    calibration_end: dt.date | None

    @property
    def calibration_period(self) -> float | None:
        """Position of the calibration end on the period axis (units after ``start``)."""
        if self.calibration_end is None:
            return None
        days = (self.calibration_end - self.start).days + 1
        return days / time_unit_days(self.time_unit)

    def sentence(self) -> str:
        """Plain-language reading: expected vs actual cumulative repeat transactions at the end."""
        last = self.table.iloc[-1]
        actual = float(last["actual_cumulative"])
        expected = float(last["expected_cumulative"])
        unit = self.time_unit.rstrip("s")
        where = f"By {unit} {int(last['period'])}"
        if not math.isfinite(expected):
            return f"{where} customers had made {fmt_num(actual, 0)} repeat purchases."
        err = (expected - actual) / actual if actual else math.nan
        text = (
            f"{where} the model expected {fmt_num(expected, 0)} repeat purchases and customers "
            f"made {fmt_num(actual, 0)} ({'+' if err >= 0 else '−'}{fmt_pct(abs(err), 1)})"
        )
        cal = self.calibration_period
        if cal is not None and cal < float(last["period"]):
            text += f"; the model only saw the first {fmt_num(cal, 0)} {self.time_unit}"
        return text + "."

    def period_sentence(self) -> str:
        """Reading of the per-period chart: mean actual vs expected per period after calibration."""
        table = self.table
        cal = self.calibration_period
        after = table[table["period"] > cal] if cal is not None else table
        if after.empty:
            after = table
        unit = self.time_unit.rstrip("s")
        actual = float(after["actual"].mean())
        expected = float(after["expected"].mean())
        span = "after the calibration end" if cal is not None and len(after) < len(table) else ""
        if not math.isfinite(expected):
            return f"Customers made {fmt_num(actual, 1)} repeat purchases per {unit} on average."
        lead = "Actual counts swing around the model's smooth expectation: "
        return (
            f"{lead}{span + ', ' if span else ''}customers made {fmt_num(actual, 1)} repeat "
            f"purchases per {unit} on average against "
            f"{fmt_num(expected, 1)} expected."
        )


def repeat_transactions_tracking(
    orders: Any,
    model: PurchaseModel | None,
    *,
    time_unit: str = "weeks",
    start: dt.date | None = None,
    end: dt.date | None = None,
    calibration_end: dt.date | None = None,
) -> RepeatTracking:
    """Actual and model-expected repeat transactions per time unit from start to end of the data.

    Parameters
    ----------
    orders
        Canonical orders (see :func:`purchase_days`).
    model
        Fitted purchase model; ``None`` gives the actual curve only.
    time_unit
        ``"weeks"`` or ``"days"``: the model's time unit and the chart's period.
    start, end
        Window (inclusive dates); default: first and last purchase day in ``orders``.
    calibration_end
        Last day of the calibration period, marked on the chart.

    Returns
    -------
    RepeatTracking
    """
    days = purchase_days(orders, start=start, end=end)
    u = time_unit_days(time_unit)
    length = days.first.size
    periods = max(1, math.ceil(length / u - 1e-9))
    bounds = np.minimum(np.round(np.arange(1, periods + 1) * u).astype(np.int64), length)
    starts = np.concatenate([[0], bounds[:-1]])
    cum_repeat = np.concatenate([[0], np.cumsum(days.repeat)])
    actual = (cum_repeat[bounds] - cum_repeat[starts]).astype(np.float64)
    if model is not None:
        ev = np.zeros(length + 1)
        ev[1:] = expected_new_customer(model, np.arange(1, length + 1) / u)
        conv = np.convolve(days.first.astype(np.float64), ev)
        expected_cum = conv[bounds]
    else:
        expected_cum = np.full(periods, np.nan)
    table = pd.DataFrame(
        {
            "period": bounds / u,
            "period_start": [days.start + dt.timedelta(days=int(s)) for s in starts],
            "actual": actual,
            "actual_cumulative": np.cumsum(actual),
            "expected": np.diff(np.concatenate([[0.0], expected_cum])),
            "expected_cumulative": expected_cum,
        }
    )
    return RepeatTracking(
        table=table,
        time_unit=time_unit,
        start=days.start,
        end=days.end,
        calibration_end=calibration_end,
    )
