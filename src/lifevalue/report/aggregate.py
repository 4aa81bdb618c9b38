"""Aggregations behind the report's charts and the plain-language sentence that reads each one.

Every function here reduces customer-level data (up to millions of rows) to a few hundred numbers:
bins, percentiles, top-N rows, per-segment and per-cohort totals. Heavy group-bys run in DuckDB;
NumPy does sorting and binning. The sentence functions take those small results and return one
sentence each, so they can be tested on their own.

Definitions (per-customer columns as in ``docs/contract.md``):

* *revenue* is ``total_spend`` (net of refunds); in the concentration curve negative totals count
  as zero;
* *AOV* is gross revenue per order, ``sum(average_order_value * orders) / sum(orders)``;
* *orders per customer* is ``sum(orders) / customers`` over the whole window;
* *repeat rate* is the share of customers with two or more purchase days (``purchase_periods``);
* *historical CLV* is ``spend_12m`` (net spend in the last 12 months), *predicted CLV* is
  ``predicted_clv``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.report.format import fmt_money, fmt_num, fmt_pct

__all__ = [
    "CohortMatrix",
    "Headline",
    "Histogram",
    "RfmGrid",
    "at_risk_customers",
    "at_risk_sentence",
    "clv_distribution_sentence",
    "cohort_matrix",
    "cohort_revenue_sentence",
    "cohort_sentence",
    "concentration_sentence",
    "headline_numbers",
    "headline_sentence",
    "histogram",
    "lorenz_curve",
    "monthly_retention",
    "pairs_sentence",
    "retention_sentence",
    "rfm_grid",
    "rfm_sentence",
    "segment_label",
    "segment_sentence",
    "segment_summary",
    "top_pairs",
    "top_share",
]

FloatArray = npt.NDArray[np.float64]


# --- helpers -------------------------------------------------------------------------------------


def numeric(frame: pd.DataFrame, column: str) -> FloatArray:
    """Column ``column`` of ``frame`` as a float array (missing column or values: NaN)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return np.asarray(pd.to_numeric(frame[column], errors="coerce"), dtype=np.float64)


def _finite_mean(values: FloatArray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _connect(**tables: Any) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    return con


# --- headline numbers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The store's key numbers (money in the store currency, shares as fractions 0-1)."""

    customers: int
    revenue: float
    orders: int
    aov: float | None
    orders_per_customer: float | None
    repeat_rate: float | None
    crr_last: float | None
    """Customer retention rate of the last month in ``retention``, in percent."""
    crr_period: str | None
    """That month, ``YYYY-MM``."""
    avg_historical_clv: float | None
    avg_predicted_clv: float | None
    expected_revenue_12m: float | None
    first_purchase: str | None
    last_purchase: str | None


def _date_text(values: pd.Series) -> tuple[str | None, str | None]:
    dates = pd.to_datetime(values, errors="coerce").dropna()
    if dates.empty:
        return None, None
    return dates.min().strftime("%Y-%m-%d"), dates.max().strftime("%Y-%m-%d")


def headline_numbers(
    customers: pd.DataFrame,
    retention: pd.DataFrame,
    *,
    expected_revenue_12m: float | None = None,
    end: Any = None,
) -> Headline:
    """Compute the headline numbers from the customer summary and the store retention table.

    Parameters
    ----------
    customers
        One row per customer (``orders``, ``total_spend``, ``purchase_periods``, ...).
    retention
        Store retention rows (``period``, ``period_start``, ``crr``).
    expected_revenue_12m
        Revenue the model expects in the next 12 months (see
        :func:`lifevalue.report.modelfit.expected_revenue`), or ``None`` without a model.
    end
        Last day of the data (default: the latest ``last_purchase``, which with a calibration
        split is only the calibration end).

    Returns
    -------
    Headline
    """
    n = len(customers)
    spend = numeric(customers, "total_spend")
    revenue = float(np.nansum(spend))
    orders_col = numeric(customers, "orders")
    orders = int(np.nansum(orders_col))
    aov_col = numeric(customers, "average_order_value")
    if orders == 0:
        aov = None
    elif np.isfinite(aov_col).any():
        ok = np.isfinite(aov_col) & np.isfinite(orders_col)
        aov = float((aov_col[ok] * orders_col[ok]).sum() / orders_col[ok].sum())
    else:
        aov = revenue / orders
    periods = numeric(customers, "purchase_periods")
    if not np.isfinite(periods).any():
        periods = orders_col
    repeat_rate = float(np.mean(periods >= 2)) if n and np.isfinite(periods).any() else None
    crr_last, crr_period = None, None
    monthly = monthly_retention(retention)
    crr = monthly.dropna(subset=["crr"]) if "crr" in monthly.columns else monthly.iloc[0:0]
    if not crr.empty:
        crr_last = float(crr["crr"].iloc[-1])
        crr_period = pd.Timestamp(crr["period_start"].iloc[-1]).strftime("%Y-%m")
    first, last = None, None
    if "first_purchase" in customers.columns:
        first, _ = _date_text(customers["first_purchase"])
    if end is not None:
        last = pd.Timestamp(end).strftime("%Y-%m-%d")
    elif "last_purchase" in customers.columns:
        _, last = _date_text(customers["last_purchase"])
    return Headline(
        customers=n,
        revenue=revenue,
        orders=orders,
        aov=aov,
        orders_per_customer=orders / n if n else None,
        repeat_rate=repeat_rate,
        crr_last=crr_last,
        crr_period=crr_period,
        avg_historical_clv=_finite_mean(numeric(customers, "spend_12m")),
        avg_predicted_clv=_finite_mean(numeric(customers, "predicted_clv")),
        expected_revenue_12m=expected_revenue_12m,
        first_purchase=first,
        last_purchase=last,
    )


def headline_sentence(h: Headline, currency: str | None = None) -> str:
    """One sentence summing up the store: customers, revenue, repeat rate, expected revenue."""
    text = f"{h.customers:,} customers spent {fmt_money(h.revenue, currency, compact=True)}"
    if h.first_purchase and h.last_purchase:
        text += f" between {h.first_purchase} and {h.last_purchase}"
    if h.repeat_rate is not None:
        text += f"; {fmt_pct(h.repeat_rate)} of them came back for a second purchase"
    if h.expected_revenue_12m is not None:
        text += (
            f", and the model expects {fmt_money(h.expected_revenue_12m, currency, compact=True)}"
            " from them in the next 12 months"
        )
    return text + "."


# --- revenue concentration and distributions -----------------------------------------------------


def lorenz_curve(values: npt.ArrayLike, points: int = 201) -> tuple[FloatArray, FloatArray]:
    """Cumulative share of revenue brought by the top x share of customers (a Pareto curve).

    Parameters
    ----------
    values
        Revenue per customer; NaN and negative values count as zero.
    points
        Number of evenly spaced customer shares from 0 to 1 to return.

    Returns
    -------
    tuple of arrays
        ``(customer_share, revenue_share)``, both from 0 to 1, customers sorted from the most to
        the least valuable.
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    v = np.sort(np.clip(v, 0.0, None))[::-1]
    x = np.linspace(0.0, 1.0, points)
    if v.size == 0 or v.sum() <= 0:
        return x, np.zeros_like(x)
    cum = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.ceil(x * v.size - 1e-9).astype(np.int64)
    return x, cum[idx] / cum[-1]


def top_share(values: npt.ArrayLike, fraction: float) -> float:
    """Share of revenue brought by the top ``fraction`` of customers (rounded up to whole ones)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    v = np.clip(v, 0.0, None)
    total = v.sum()
    if v.size == 0 or total <= 0:
        return 0.0
    k = max(1, math.ceil(fraction * v.size - 1e-9))
    top = np.partition(v, v.size - k)[v.size - k :]
    return float(top.sum() / total)


def concentration_sentence(top10: float, top1: float | None = None) -> str:
    """``Your top 10% of customers bring 47% of revenue (the top 1%: 12%).``"""
    text = f"Your top 10% of customers bring {fmt_pct(top10)} of revenue"
    if top1 is not None:
        text += f" (the top 1%: {fmt_pct(top1)})"
    return text + "."


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal-width bins up to a high quantile, plus the count beyond it."""

    edges: FloatArray
    counts: npt.NDArray[np.int64]
    overflow: int
    """Values above the last edge (shown as one extra bar)."""
    median: float
    p90: float
    n: int


def histogram(values: npt.ArrayLike, bins: int = 40, clip_quantile: float = 0.99) -> Histogram:
    """Bin values into ``bins`` equal bins between their minimum (or 0) and a high quantile.

    Parameters
    ----------
    values
        One value per customer; NaN values are ignored.
    bins
        Number of bins up to the clip quantile.
    clip_quantile
        Values above this quantile are counted in ``overflow`` so a long tail does not squash the
        chart.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Histogram(np.zeros(1), np.zeros(0, dtype=np.int64), 0, math.nan, math.nan, 0)
    lo = min(0.0, float(v.min()))
    hi = float(np.quantile(v, clip_quantile))
    if hi <= lo:
        hi = float(v.max()) if v.max() > lo else lo + 1.0
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    overflow = int((v > hi).sum())
    return Histogram(
        edges=edges.astype(np.float64),
        counts=counts.astype(np.int64),
        overflow=overflow,
        median=float(np.median(v)),
        p90=float(np.quantile(v, 0.9)),
        n=int(v.size),
    )


def clv_distribution_sentence(hist: Histogram, currency: str | None = None) -> str:
    """``Half of your customers are predicted to be worth less than $35; the top 10% over $210.``"""
    return (
        f"Half of your customers are predicted to be worth less than "
        f"{fmt_money(hist.median, currency)}; the top 10% more than {fmt_money(hist.p90, currency)}"
        " each."
    )


# --- retention and cohorts -----------------------------------------------------------------------


def monthly_retention(retention: pd.DataFrame) -> pd.DataFrame:
    """The monthly rows of the retention table, oldest first (``period_start`` as Timestamp)."""
    frame = retention
    if "period" in frame.columns:
        frame = frame[frame["period"].astype(str) == "month"]
    frame = frame.copy()
    if "period_start" not in frame.columns:
        return frame.iloc[0:0]
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    for col in ("crr", "churn_rate", "new_customers", "revenue", "customers_end"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame.sort_values("period_start").reset_index(drop=True)


def retention_sentence(monthly: pd.DataFrame, months: int = 12) -> str:
    """Average CRR / churn over the last ``months`` months and the latest CRR."""
    crr = monthly.dropna(subset=["crr"]) if "crr" in monthly.columns else monthly.iloc[0:0]
    if crr.empty:
        return "There is not enough history yet to measure monthly retention."
    recent = crr.tail(months)
    mean = float(recent["crr"].mean())
    last = float(recent["crr"].iloc[-1])
    label = pd.Timestamp(recent["period_start"].iloc[-1]).strftime("%Y-%m")
    n = len(recent)
    span = f"the last {n} months" if n > 1 else "the last month"
    return (
        f"Over {span}, on average {mean:.1f}% of active customers stayed each month "
        f"(monthly churn {100 - mean:.1f}%); in {label} the retention rate was {last:.1f}%."
    )


@dataclass(frozen=True)
class CohortMatrix:
    """Retention and cumulative revenue per customer by cohort (rows) and month index (columns)."""

    cohorts: list[str]
    sizes: list[int]
    months: list[int]
    retention: FloatArray
    """Share of the cohort buying in month k (NaN where not observed yet)."""
    revenue_per_customer: FloatArray
    """Cumulative revenue per cohort customer up to month k (NaN where not observed)."""
    avg_retention: FloatArray
    """Size-weighted mean of ``retention`` over the cohorts observed at each month index."""
    avg_revenue_per_customer: FloatArray


def cohort_matrix(
    cohorts: pd.DataFrame,
    max_cohorts: int = 36,
    max_months: int = 36,
    min_weight: float = 0.25,
) -> CohortMatrix:
    """Pivot the long cohorts table into matrices, keeping the latest ``max_cohorts`` cohorts.

    The averages are weighted by cohort size and use all cohorts (not only the ones kept); they
    are NaN at month indexes observed for cohorts holding less than ``min_weight`` of all cohort
    customers.
    """
    frame = cohorts.copy()
    frame["cohort"] = frame["cohort"].astype(str)
    frame["month_index"] = pd.to_numeric(frame["month_index"]).astype(np.int64)
    frame = frame[frame["month_index"] <= max_months]
    for col in ("cohort_size", "active_customers", "retention", "cumulative_revenue_per_customer"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    if "retention" not in frame.columns:
        frame["retention"] = frame["active_customers"] / frame["cohort_size"]
    months = sorted(int(m) for m in frame["month_index"].unique())
    all_cohorts = sorted(frame["cohort"].unique())
    sizes = frame.groupby("cohort")["cohort_size"].max()
    ret = frame.pivot_table(index="cohort", columns="month_index", values="retention")
    ret = ret.reindex(index=all_cohorts, columns=months)
    if "cumulative_revenue_per_customer" in frame.columns:
        rev = frame.pivot_table(
            index="cohort", columns="month_index", values="cumulative_revenue_per_customer"
        ).reindex(index=all_cohorts, columns=months)
    else:
        rev = pd.DataFrame(np.nan, index=all_cohorts, columns=months)
    w = sizes.reindex(all_cohorts).to_numpy(dtype=np.float64)[:, None]
    ret_np = ret.to_numpy(dtype=np.float64)
    rev_np = rev.to_numpy(dtype=np.float64)

    total = float(np.nansum(w))

    def wmean(m: FloatArray) -> FloatArray:
        ok = np.isfinite(m)
        num = np.where(ok, m * w, 0.0).sum(axis=0)
        den = np.where(ok, w, 0.0).sum(axis=0)
        # Skip month indexes reached by cohorts holding under a quarter of the customers: the mean
        # would follow the few oldest cohorts, not the store.
        enough = (den > 0) & (den >= min_weight * total)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(enough, num / np.where(den > 0, den, 1.0), np.nan)

    keep = slice(max(0, len(all_cohorts) - max_cohorts), None)
    return CohortMatrix(
        cohorts=all_cohorts[keep],
        sizes=[int(s) for s in sizes.reindex(all_cohorts[keep]).fillna(0)],
        months=months,
        retention=ret_np[keep],
        revenue_per_customer=rev_np[keep],
        avg_retention=wmean(ret_np),
        avg_revenue_per_customer=wmean(rev_np),
    )


def _at(months: Sequence[int], values: FloatArray, k: int) -> float | None:
    if k in months:
        v = float(values[list(months).index(k)])
        return v if math.isfinite(v) else None
    return None


def cohort_sentence(matrix: CohortMatrix) -> str:
    """How many new customers buy again in their second month, and a year later."""
    m1 = _at(matrix.months, matrix.avg_retention, 1)
    if m1 is None:
        return "Cohorts are too young to show repeat buying yet."
    text = f"On average {fmt_pct(m1, 1)} of new customers buy again in the month after their first"
    m12 = _at(matrix.months, matrix.avg_retention, 12)
    if m12 is not None:
        text += f", and {fmt_pct(m12, 1)} are still buying 12 months later"
    return text + "."


def cohort_revenue_sentence(matrix: CohortMatrix, currency: str | None = None) -> str:
    """Average revenue per customer in the first month and after 6 / 12 months."""
    m0 = _at(matrix.months, matrix.avg_revenue_per_customer, 0)
    if m0 is None:
        return "No cohort revenue to show."
    text = f"A new customer spends {fmt_money(m0, currency)} in their first month"
    later = [
        (k, v)
        for k in (12, 6, 3)
        if (v := _at(matrix.months, matrix.avg_revenue_per_customer, k)) is not None
    ]
    if later:
        k, v = later[0]
        text += f" and {fmt_money(v, currency)} in total after {k} months"
    return text + " on average."


# --- segments ------------------------------------------------------------------------------------


def segment_summary(customers: pd.DataFrame, column: str = "segments") -> pd.DataFrame:
    """Size, revenue share and average CLV per segment.

    Parameters
    ----------
    customers
        Customer summary with ``column``: semicolon-separated segment names for ``segments``
        (a customer counts in each of its segments, so shares may add up to more than 100%), one
        name for ``rfm_group``.
    column
        ``"segments"`` or ``"rfm_group"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``segment``, ``customers``, ``customer_share``, ``revenue``, ``revenue_share``,
        ``avg_historical_clv`` (mean ``spend_12m``), ``avg_predicted_clv`` (mean
        ``predicted_clv``), largest revenue first; empty without ``column``.
    """
    cols = [
        "segment",
        "customers",
        "customer_share",
        "revenue",
        "revenue_share",
        "avg_historical_clv",
        "avg_predicted_clv",
    ]
    if column not in customers.columns or customers.empty:
        return pd.DataFrame(columns=cols)
    # one pass over the customers per distinct value (a few dozen combinations of segments),
    # then each value's totals go to the segments it names
    codes, uniques = pd.factorize(customers[column], use_na_sentinel=True)
    valid = codes >= 0
    codes = codes[valid]
    k = len(uniques)

    def total(values: FloatArray) -> tuple[FloatArray, FloatArray]:
        v = values[valid]
        ok = ~np.isnan(v)
        sums = np.bincount(codes[ok], weights=v[ok], minlength=k).astype(np.float64)
        return sums, np.bincount(codes[ok], minlength=k).astype(np.float64)

    per_value = np.stack(
        [
            np.bincount(codes, minlength=k).astype(np.float64),
            *total(numeric(customers, "total_spend")),
            *total(numeric(customers, "spend_12m")),
            *total(numeric(customers, "predicted_clv")),
        ],
        axis=1,
    )
    index: dict[str, int] = {}
    rows: list[FloatArray] = []
    for i, value in enumerate(uniques):
        parts = str(value).split(";") if column == "segments" else [str(value)]
        for name in (p.strip(" ") for p in parts):
            if not name:
                continue
            if name not in index:
                index[name] = len(rows)
                rows.append(np.zeros(per_value.shape[1]))
            rows[index[name]] += per_value[i]
    table = np.asarray(rows, dtype=np.float64).reshape(len(rows), per_value.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "segment": list(index),
                "customers": table[:, 0],
                "revenue": table[:, 1],
                "avg_historical_clv": np.where(table[:, 4] > 0, table[:, 3] / table[:, 4], np.nan),
                "avg_predicted_clv": np.where(table[:, 6] > 0, table[:, 5] / table[:, 6], np.nan),
            }
        )
    total_rev = float(np.nansum(numeric(customers, "total_spend")))
    out["customers"] = out["customers"].astype(np.int64)
    out["customer_share"] = out["customers"] / len(customers)
    out["revenue_share"] = out["revenue"] / total_rev if total_rev else np.nan
    out = out.sort_values(["revenue", "customers"], ascending=False).reset_index(drop=True)
    return out[cols]


def segment_sentence(summary: pd.DataFrame, min_share: float = 0.05) -> str:
    """Name the segment (of at least ``min_share`` of customers) whose revenue share most exceeds
    its share of customers."""
    if summary.empty:
        return "No segments were assigned."
    s = summary[summary["customer_share"] >= min_share]
    if s.empty:
        s = summary[summary["customer_share"] > 0]
    ratio = (s["revenue_share"] / s["customer_share"]).fillna(0)
    best = s.iloc[int(np.argmax(ratio.to_numpy(dtype=np.float64)))]
    verb = "but bring" if best["revenue_share"] > best["customer_share"] else "and bring"
    return (
        f"“{segment_label(str(best['segment']))}” customers are {fmt_pct(best['customer_share'])} "
        f"of customers {verb} {fmt_pct(best['revenue_share'])} of revenue."
    )


def segment_label(name: str) -> str:
    """A segment id written for people: ``cant_lose_them`` -> ``Can't lose them``."""
    text = name.replace("_", " ").strip()
    text = re.sub(r"\bcant\b", "can't", text)
    text = re.sub(r"\baov\b", "AOV", text, flags=re.IGNORECASE)
    text = re.sub(r"\bvip\b", "VIP", text, flags=re.IGNORECASE)
    return text[:1].upper() + text[1:] if text else name


RECENCY_BUCKETS: list[tuple[str, float]] = [
    ("≤1 mo", 30),
    ("1–3 mo", 90),
    ("3–6 mo", 180),
    ("6–12 mo", 365),
    ("1–2 y", 730),
    (">2 y", math.inf),
]
FREQUENCY_BUCKETS: list[tuple[str, float]] = [
    ("1", 1),
    ("2", 2),
    ("3", 3),
    ("4–5", 5),
    ("6–9", 9),
    ("10+", math.inf),
]


@dataclass(frozen=True)
class RfmGrid:
    """Customers, revenue and mean spend by recency bucket (columns) and frequency bucket (rows)."""

    recency_labels: list[str]
    frequency_labels: list[str]
    customers: npt.NDArray[np.int64]
    revenue: FloatArray
    total_customers: int
    total_revenue: float

    def avg_spend(self) -> FloatArray:
        """Mean total spend per customer in each cell (NaN for empty cells)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                self.customers > 0, self.revenue / np.maximum(self.customers, 1), np.nan
            )


def _bucket_case(column: str, buckets: list[tuple[str, float]]) -> str:
    parts = [
        f"when {column} <= {limit} then {i}"
        for i, (_, limit) in enumerate(buckets)
        if math.isfinite(limit)
    ]
    return f"case {' '.join(parts)} else {len(buckets) - 1} end"


def rfm_grid(customers: pd.DataFrame) -> RfmGrid | None:
    """Count customers by days since their last order and by number of purchase days.

    Recency buckets use ``days_since_last_order``; frequency buckets use ``purchase_periods``
    (or ``orders``). Returns ``None`` when those columns are missing.
    """
    fcol = "purchase_periods" if "purchase_periods" in customers.columns else "orders"
    if "days_since_last_order" not in customers.columns or fcol not in customers.columns:
        return None
    view = pd.DataFrame(
        {
            "rec": numeric(customers, "days_since_last_order"),
            "freq": numeric(customers, fcol),
            "spend": np.nan_to_num(numeric(customers, "total_spend")),
        }
    )
    sql = f"""
        select {_bucket_case("freq", FREQUENCY_BUCKETS)} as fi,
               {_bucket_case("rec", RECENCY_BUCKETS)} as ri,
               count(*) as n, sum(spend) as revenue
        from v where rec is not null and freq is not null and freq >= 1 group by 1, 2
    """
    con = _connect(v=view)
    try:
        cells = con.execute(sql).df()
    finally:
        con.close()
    counts = np.zeros((len(FREQUENCY_BUCKETS), len(RECENCY_BUCKETS)), dtype=np.int64)
    revenue = np.zeros(counts.shape, dtype=np.float64)
    fi = cells["fi"].to_numpy(dtype=np.int64)
    ri = cells["ri"].to_numpy(dtype=np.int64)
    counts[fi, ri] = cells["n"].to_numpy(dtype=np.int64)
    revenue[fi, ri] = cells["revenue"].to_numpy(dtype=np.float64)
    return RfmGrid(
        recency_labels=[b[0] for b in RECENCY_BUCKETS],
        frequency_labels=[b[0] for b in FREQUENCY_BUCKETS],
        customers=counts,
        revenue=revenue,
        total_customers=int(counts.sum()),
        total_revenue=float(revenue.sum()),
    )


def rfm_sentence(grid: RfmGrid) -> str:
    """How many customers bought once and not in the last 180 days, and what they brought."""
    if grid.total_customers == 0:
        return "No customers to place on the grid."
    lapsed = grid.customers[0, 3:].sum()
    rev = grid.revenue[0, 3:].sum()
    share_rev = rev / grid.total_revenue if grid.total_revenue > 0 else 0.0
    return (
        f"{fmt_pct(lapsed / grid.total_customers)} of customers bought only once and have not "
        f"come back in over 180 days; they brought {fmt_pct(share_rev)} of revenue."
    )


# --- customers at risk ---------------------------------------------------------------------------


def at_risk_customers(
    customers: pd.DataFrame,
    *,
    alive_before: Callable[[pd.DataFrame], FloatArray] | None = None,
    value_quantile: float = 0.8,
    alive_below: float = 0.5,
    top_n: int = 100,
) -> tuple[pd.DataFrame, int]:
    """Valuable repeat customers who are probably slipping away, largest value at stake first.

    A customer is listed when they bought on two or more days, their ``total_spend`` is in the top
    ``1 - value_quantile`` share of customers, and either (with a model) their
    ``probability_alive`` is below ``alive_below`` and falling (lower than ``alive_before`` says
    it was), or (without a model) the time since their last order is more than twice their usual
    gap between orders.

    Parameters
    ----------
    customers
        Customer summary.
    alive_before
        Function giving the probability alive 30 days ago of the customers in a frame (NaN where
        unknown); applied only to the candidates, to tell falling from steady.
    value_quantile, alive_below, top_n
        Thresholds and the number of rows returned.

    Returns
    -------
    tuple[pandas.DataFrame, int]
        The top ``top_n`` customers and how many were found in all. The frame holds the customer
        columns that exist among ``customer_id``, ``orders``, ``total_spend``,
        ``last_purchase``, ``days_since_last_order``, ``mean_days_between_orders``,
        ``probability_alive``, ``predicted_clv``, plus ``alive_30d_ago`` and ``value_at_risk``
        (``total_spend * (1 - probability_alive)``; ``total_spend`` without a model).
    """
    spend = numeric(customers, "total_spend")
    periods = numeric(customers, "purchase_periods")
    if not np.isfinite(periods).any():
        periods = numeric(customers, "orders")
    finite = spend[np.isfinite(spend)]
    threshold = float(np.quantile(finite, value_quantile)) if finite.size else math.inf
    mask = (periods >= 2) & (spend >= threshold) & (spend > 0)
    alive = numeric(customers, "probability_alive")
    has_model = bool(np.isfinite(alive).any())
    before = np.full(len(customers), np.nan)
    if has_model:
        mask &= alive < alive_below
        value = spend * (1.0 - alive)
        score = value
        if alive_before is not None and mask.any():
            cand = np.flatnonzero(mask)
            before[cand] = alive_before(customers.iloc[cand])
            mask[cand] &= ~(before[cand] <= alive[cand])  # falling, or unknown
            drop = np.where(np.isfinite(before), before - alive, 0.0)
            # Fastest-falling first: spend times the fall of P(alive) over the last 30 days.
            score = np.where(np.isfinite(before), spend * drop, value * 1e-6)
    else:
        gap = numeric(customers, "mean_days_between_orders")
        since = numeric(customers, "days_since_last_order")
        mask &= since > 2.0 * gap
        value = spend
        score = value
    idx = np.flatnonzero(mask)
    found = int(idx.size)
    if idx.size > top_n:
        idx = idx[np.argpartition(-score[idx], top_n - 1)[:top_n]]
    idx = idx[np.argsort(-score[idx], kind="stable")]
    keep = [
        c
        for c in (
            "customer_id",
            "orders",
            "total_spend",
            "last_purchase",
            "days_since_last_order",
            "mean_days_between_orders",
            "probability_alive",
            "predicted_clv",
        )
        if c in customers.columns
    ]
    out = customers.iloc[idx][keep].reset_index(drop=True)
    if has_model:
        out["alive_30d_ago"] = before[idx]
    out["value_at_risk"] = value[idx]
    return out, found


def at_risk_sentence(
    at_risk: pd.DataFrame, total_found: int, currency: str | None = None, has_model: bool = True
) -> str:
    """``42 valuable customers are probably slipping away; together they have spent $12,345.``"""
    if total_found == 0:
        return "No valuable repeat customer looks at risk right now."
    spent = float(at_risk["total_spend"].sum()) if "total_spend" in at_risk.columns else math.nan
    why = (
        "their probability of still being a customer is below 50% and falling"
        if has_model
        else "they are more than twice their usual gap past their last order"
    )
    shown = "" if total_found <= len(at_risk) else f" (the top {len(at_risk):,} are listed)"
    return (
        f"{total_found:,} of your most valuable repeat customers (top 20% by spend) are slipping "
        f"away: {why}{shown}. The listed ones have spent {fmt_money(spent, currency)} so far."
    )


# --- product pairs -------------------------------------------------------------------------------


def _name_column(pairs: pd.DataFrame, side: str) -> str | None:
    for cand in (f"{side}_name", f"{side}_product", f"{side}_product_name", f"{side}_title"):
        if cand in pairs.columns:
            return cand
    return None


def top_pairs(pairs: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """The strongest "bought together" pairs: one direction per unordered pair, highest lift first.

    Returns
    -------
    pandas.DataFrame
        Columns ``antecedent``, ``consequent``, ``antecedent_label``, ``consequent_label`` (product
        name when given, else id), ``support``, ``confidence``, ``lift``, ``count``.
    """
    frame = pairs.copy()
    for c in ("support", "confidence", "lift", "count"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce") if c in frame.columns else np.nan
    for side in ("antecedent", "consequent"):
        frame[side] = frame[side].astype(str)
        name = _name_column(frame, side)
        label = frame[name].astype(str) if name else frame[side]
        frame[f"{side}_label"] = label.where(label.notna() & (label != "nan"), frame[side])
    ante, cons = frame["antecedent"], frame["consequent"]
    frame["_key"] = np.where(ante < cons, ante + "\x00" + cons, cons + "\x00" + ante)
    frame = frame.sort_values(["confidence", "lift"], ascending=False)
    frame = frame.drop_duplicates("_key")
    frame = frame.sort_values(["lift", "count", "confidence"], ascending=False).head(n)
    cols = [
        "antecedent",
        "consequent",
        "antecedent_label",
        "consequent_label",
        "support",
        "confidence",
        "lift",
        "count",
    ]
    return frame[cols].reset_index(drop=True)


def pairs_sentence(top: pd.DataFrame) -> str:
    """``Customers who buy A also buy B in 34% of cases, 3.2 times more often than average.``"""
    if top.empty:
        return "No product pairs are bought together often enough to show."
    row = top.iloc[0]
    return (
        f"Customers who buy {row['antecedent_label']} also buy {row['consequent_label']} in "
        f"{fmt_pct(row['confidence'])} of cases, {fmt_num(row['lift'], 1)} times more often than "
        "customers overall."
    )
