"""Who is who: RFM scores and groups, behavioural segments, audience exports.

The names are imported on first use, so that ``lifevalue.segments.assign.segment_table`` (the
analyze path) loads neither pandas nor the audience exports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifevalue.segments.assign import (
        SegmentResult,
        SegmentSummary,
        TableSegments,
        add_segments,
        segment_customers,
        segment_summary,
        segment_table,
    )
    from lifevalue.segments.audience import AudienceExport, export_audience
    from lifevalue.segments.behaviour import Rules, load_rules, read_cart_events
    from lifevalue.segments.rfm import RFM_GROUPS, add_rfm, rfm_groups, rfm_scores

_MODULES = {
    "SegmentResult": "assign",
    "SegmentSummary": "assign",
    "TableSegments": "assign",
    "add_segments": "assign",
    "segment_customers": "assign",
    "segment_summary": "assign",
    "segment_table": "assign",
    "AudienceExport": "audience",
    "export_audience": "audience",
    "Rules": "behaviour",
    "load_rules": "behaviour",
    "read_cart_events": "behaviour",
    "RFM_GROUPS": "rfm",
    "add_rfm": "rfm",
    "rfm_groups": "rfm",
    "rfm_scores": "rfm",
}

__all__ = [
    "RFM_GROUPS",
    "AudienceExport",
    "Rules",
    "SegmentResult",
    "SegmentSummary",
    "TableSegments",
    "add_rfm",
    "add_segments",
    "export_audience",
    "load_rules",
    "read_cart_events",
    "rfm_groups",
    "rfm_scores",
    "segment_customers",
    "segment_summary",
    "segment_table",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
