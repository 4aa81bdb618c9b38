"""Data sets: a synthetic sample store and the bundled CDNOW data of Fader & Hardie."""

from lifevalue.datasets.cdnow import cdnow_master_path, cdnow_sample_path, load_cdnow_summary

__all__ = ["cdnow_master_path", "cdnow_sample_path", "load_cdnow_summary"]
