"""Reading order logs: files in, the canonical orders table (and the rejected rows) out."""

from lifevalue.io.presets import CANONICAL_COLUMNS, PRESETS, Preset, get_preset
from lifevalue.io.reader import FileReport, Ingested, ReadOptions, read_orders

__all__ = [
    "CANONICAL_COLUMNS",
    "PRESETS",
    "FileReport",
    "Ingested",
    "Preset",
    "ReadOptions",
    "get_preset",
    "read_orders",
]
