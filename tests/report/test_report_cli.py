"""``lifevalue report`` and ``lifevalue analyze --report`` write the report of the analysis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs

from lifevalue.datasets import cdnow_sample_path

CDNOW = [
    str(cdnow_sample_path()),
    "--preset",
    "cdnow",
    "--calibration-end",
    "1997-09-30",
    "--time-unit",
    "weeks",
]


def test_report_command_with_models(cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "deep" / "cdnow.html"
    result = cli("report", *CDNOW, "--out", out, "--title", "CDNOW & friends")
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stdout.replace("\n", "")
    html = out.read_text(encoding="utf-8")
    assert html.count(get_plotlyjs()[:200]) == 1
    assert "<title>CDNOW &amp; friends</title>" in html
    assert "2,357 customers spent" in html
    assert "(calibration to 1997-09-30)" in html
    for chart in ("cohorts", "rfm", "segments", "expected-matrix", "calibration", "tracking"):
        assert f'id="chart-{chart}"' in html, chart
    assert "chosen among" in html and 'id="table-scorecard"' in html
    assert "customers made 1,882" in html  # the CDNOW holdout, from the model's predictions
    assert 'id="chart-pairs"' not in html  # CDNOW has no products


def test_report_without_model_segments_or_pairs(cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "quick.html"
    result = cli("report", *CDNOW, "--model", "none", "--no-segments", "--out", out)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'id="chart-expected-matrix"' not in html and 'id="chart-segments"' not in html
    assert "No model was fitted" in html and "No segments were assigned" in html


def test_report_mines_pairs_of_the_sample_store(cli: Callable[..., Any], tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    made = cli("sample", "--customers", "3000", "--seed", "3", "--out", orders)
    assert made.exit_code == 0, made.output
    out = tmp_path / "store.html"
    result = cli("report", orders, "--model", "none", "--out", out)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'id="chart-pairs"' in html and 'id="table-pairs"' in html
    assert "Customers who buy " in html


def test_analyze_report_flag(cli: Callable[..., Any], tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    args = ("analyze", *CDNOW, "--model", "bgnbd", "--out", tmp_path / "out", "--report", report)
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "customers.csv").is_file()
    html = report.read_text(encoding="utf-8")
    assert "2,357 customers spent" in html and 'id="chart-tracking"' in html
    assert str(report) in result.stdout.replace("\n", "")


def test_report_help_and_bad_option(cli: Callable[..., Any]) -> None:
    result = cli("report", "--help")
    assert result.exit_code == 0
    assert "lifevalue report orders.csv --out report.html" in result.stdout
    bad = cli("report", *CDNOW[:3], "--time-unit", "months")
    assert bad.exit_code == 2 and "--time-unit must be days or weeks" in bad.stderr
    bad = cli("report", *CDNOW[:3], "--model", "magic")
    assert bad.exit_code == 2 and "--model must be one of" in bad.stderr


def test_source_date_epoch_fixes_the_time_and_the_bytes(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: Any
) -> None:
    # the page says when it was made; with SOURCE_DATE_EPOCH it says that time, so the same
    # data gives the same file (2026-01-01 00:00 UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    pages = []
    for name in ("a.html", "b.html"):
        out = tmp_path / name
        result = cli("report", *CDNOW, "--model", "bgnbd", "--out", out)
        assert result.exit_code == 0, result.output
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]
    assert b"generated 2026-01-01 00:00 UTC" in pages[0]


def test_a_bad_source_date_epoch_stops_before_the_analysis(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    for args in (
        ("report", *CDNOW, "--out", tmp_path / "r.html"),
        ("analyze", *CDNOW, "--out", tmp_path / "out", "--report", tmp_path / "r.html"),
    ):
        result = cli(*args)
        assert result.exit_code == 2
        assert "SOURCE_DATE_EPOCH must be a Unix time in whole seconds" in result.stderr
        assert "'yesterday'" in result.stderr
        assert not (tmp_path / "out").exists()  # nothing was analysed
