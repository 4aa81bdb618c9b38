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


def test_report_command(cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "deep" / "cdnow.html"
    result = cli("report", *CDNOW, "--out", out, "--title", "CDNOW & friends")
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stdout.replace("\n", "")
    html = out.read_text(encoding="utf-8")
    assert html.count(get_plotlyjs()[:200]) == 1
    assert "<title>CDNOW &amp; friends</title>" in html
    assert "2,357 customers spent" in html
    assert 'id="chart-cohorts"' in html and 'id="chart-rfm"' in html
    assert "calibration" in html  # the window of the split is shown


def test_analyze_report_flag(cli: Callable[..., Any], tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    result = cli("analyze", *CDNOW, "--out", tmp_path / "out", "--report", report)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "customers.csv").is_file()
    assert report.is_file() and "2,357 customers spent" in report.read_text(encoding="utf-8")
    assert str(report) in result.stdout.replace("\n", "")


def test_report_help_and_bad_option(cli: Callable[..., Any]) -> None:
    result = cli("report", "--help")
    assert (
        result.exit_code == 0 and "lifevalue report orders.csv --out report.html" in result.stdout
    )
    bad = cli("report", *CDNOW[:3], "--time-unit", "months")
    assert bad.exit_code == 2 and "--time-unit must be days or weeks" in bad.stderr
