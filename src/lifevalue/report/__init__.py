"""The HTML report: one self-contained page of charts, tables and plain-language readings.

Build it with :func:`build_report` (or :func:`render_report` for the HTML string). The data behind
the cumulative repeat-transactions chart comes from :func:`repeat_transactions_tracking`.
"""

from lifevalue.report.builder import build_report, render_report
from lifevalue.report.modelfit import PurchaseModel
from lifevalue.report.tracking import RepeatTracking, repeat_transactions_tracking

__all__ = [
    "PurchaseModel",
    "RepeatTracking",
    "build_report",
    "render_report",
    "repeat_transactions_tracking",
]
