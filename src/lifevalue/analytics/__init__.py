"""Per-customer and store-level metrics computed in SQL by DuckDB."""

from lifevalue.analytics.summary import (
    SUMMARY_COLUMNS,
    SummaryInfo,
    compute_summary,
    customer_summary,
)

__all__ = ["SUMMARY_COLUMNS", "SummaryInfo", "compute_summary", "customer_summary"]
