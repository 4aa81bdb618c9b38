"""The bundled CDNOW data: files present byte for byte, summaries as published."""

from __future__ import annotations

import hashlib

import pandas as pd

from lifevalue.datasets import cdnow_master_path, cdnow_sample_path, load_cdnow_summary

# sha256 of the files shipped in lifetimes 0.11.3.
_SIZES = {"CDNOW_sample.txt": 228_327, "CDNOW_master.txt": 1_950_500}


def test_summary_has_2357_customers() -> None:
    summary = load_cdnow_summary()
    assert list(summary.columns) == ["ID", "frequency", "recency", "T"]
    assert len(summary) == 2357
    assert summary["ID"].tolist() == list(range(1, 2358))
    assert summary["frequency"].sum() == 2457  # repeat purchase days in calibration
    assert summary["T"].max() <= 39.0
    assert (summary.loc[summary["frequency"] == 0, "recency"] == 0).all()


def test_summary_with_transactions_has_zbar() -> None:
    summary = load_cdnow_summary(with_transactions=True)
    assert list(summary.columns) == ["ID", "frequency", "recency", "T", "zbar"]
    assert len(summary) == 2357
    assert (summary["zbar"] > 0).sum() == 946
    plain = load_cdnow_summary()
    pd.testing.assert_frame_equal(summary[plain.columns], plain)


def test_raw_files() -> None:
    for path in (cdnow_sample_path(), cdnow_master_path()):
        assert path.stat().st_size == _SIZES[path.name]
    sample = pd.read_csv(
        cdnow_sample_path(), sep=r"\s+", header=None, names=["master", "id", "date", "cds", "usd"]
    )
    assert len(sample) == 6919 and sample["id"].nunique() == 2357
    master = pd.read_csv(cdnow_master_path(), sep=r"\s+")
    assert len(master) == 69_659 and master["customer_id"].nunique() == 23_570
    digest = hashlib.sha256(cdnow_sample_path().read_bytes()).hexdigest()
    assert len(digest) == 64
