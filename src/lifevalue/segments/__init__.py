"""Who is who: RFM scores and groups, behavioural segments, audience exports."""

from lifevalue.segments.assign import (
    SegmentResult,
    add_segments,
    segment_customers,
    segment_summary,
)
from lifevalue.segments.audience import AudienceExport, export_audience
from lifevalue.segments.behaviour import Rules, load_rules, read_cart_events
from lifevalue.segments.rfm import RFM_GROUPS, add_rfm, rfm_groups, rfm_scores

__all__ = [
    "RFM_GROUPS",
    "AudienceExport",
    "Rules",
    "SegmentResult",
    "add_rfm",
    "add_segments",
    "export_audience",
    "load_rules",
    "read_cart_events",
    "rfm_groups",
    "rfm_scores",
    "segment_customers",
    "segment_summary",
]
