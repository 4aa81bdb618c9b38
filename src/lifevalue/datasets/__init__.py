"""Data sets: a synthetic sample store and the bundled CDNOW data of Fader & Hardie."""

from lifevalue.datasets.cdnow import cdnow_master_path, cdnow_sample_path, load_cdnow_summary
from lifevalue.datasets.sample import (
    SAMPLE_COLUMNS,
    SampleParams,
    SampleSummary,
    customer_truth,
    generate_sample,
    product_bundles,
    product_catalogue,
    sample_file_format,
    sample_schema,
    summarize_sample,
    write_sample,
)

__all__ = [
    "SAMPLE_COLUMNS",
    "SampleParams",
    "SampleSummary",
    "cdnow_master_path",
    "cdnow_sample_path",
    "customer_truth",
    "generate_sample",
    "load_cdnow_summary",
    "product_bundles",
    "product_catalogue",
    "sample_file_format",
    "sample_schema",
    "summarize_sample",
    "write_sample",
]
