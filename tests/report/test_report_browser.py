"""Open the report in real headless Chromium with the network cut: charts draw, nothing leaks.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and the ``playwright`` Python
package (its bundled driver only; no downloaded browser). Without them the test is skipped,
except in CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lifevalue.report import build_report

from .conftest import Tables

CHROMIUM = os.environ.get("LIFEVALUE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "report"
SECTIONS_WITH_CHARTS = ["overview", "value", "retention", "segments", "model", "at-risk", "pairs"]


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    return None


@dataclass
class Browser:
    """A Chromium context with every non-file request aborted and recorded."""

    context: Any
    outgoing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the browser test")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile,  # a fresh user-data dir
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            offline=True,
            viewport={"width": 1280, "height": 900},
        )
        b = Browser(context)

        def route(r: Any) -> None:
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                b.outgoing.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        context.on("requestfailed", lambda req: b.failed.append(req.url))
        try:
            yield b
        finally:
            context.close()


@dataclass
class Opened:
    page: Any
    console: list[tuple[str, str]]
    requests: list[str]


def _open(browser: Browser, path: Path, width: int = 1280) -> Opened:
    page = browser.context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    console: list[tuple[str, str]] = []
    requests: list[str] = []
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_function(
        "document.querySelectorAll('div.chart').length === "
        "document.querySelectorAll('div.chart.js-plotly-plot').length",
        timeout=20_000,
    )
    return Opened(page, console, requests)


def _assert_clean(browser: Browser, opened: Opened, path: Path) -> None:
    errors = [(kind, text) for kind, text in opened.console if kind in ("error", "pageerror")]
    assert errors == []
    assert [text for kind, text in opened.console if kind in ("warning", "trace")] == []
    assert opened.requests == [path.resolve().as_uri()]
    assert browser.outgoing == [] and browser.failed == []


CHARTS_PER_SECTION = """
() => Array.from(document.querySelectorAll('section')).map(s => [
    s.id,
    s.querySelectorAll('div.chart').length,
    Array.from(s.querySelectorAll('div.chart')).filter(el =>
        el.classList.contains('js-plotly-plot') && el.data && el.data.length > 0
        && el.querySelector('svg.main-svg') !== null
        && el.getBoundingClientRect().width > 200).length,
])
"""


def test_full_report_offline_on_desktop_phone_and_print(
    browser: Browser, full_report_kwargs: dict[str, Any], tmp_path: Path
) -> None:
    path = build_report(**full_report_kwargs, out=tmp_path / "report.html")
    opened = _open(browser, path)
    page = opened.page
    per_section = {sid: (n, ok) for sid, n, ok in page.evaluate(CHARTS_PER_SECTION)}
    for sid in SECTIONS_WITH_CHARTS:
        n, ok = per_section[sid]
        assert n >= 1 and ok == n, (sid, n, ok)
    assert page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 16
    ticks = page.evaluate(
        "Array.from(document.querySelectorAll('#chart-pairs .ytick text')).map(t => t.textContent)"
    )
    assert "<b>Opera</b> & more → Film scores" in ticks  # user text shown as typed, not markup
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-desktop.png"), full_page=True)

    # tables: 10 rows a page, a filter, a pager, sortable headers
    visible = (
        "() => Array.from(document.querySelectorAll('#table-at-risk tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[0].textContent)"
    )
    first_page = page.evaluate(visible)
    assert len(first_page) == 10
    page.click("#table-at-risk .pager button[data-step='1']")
    second_page = page.evaluate(visible)
    assert len(second_page) == 10 and not set(first_page) & set(second_page)
    page.fill("#table-at-risk input[type=search]", first_page[3])
    assert first_page[3] in page.evaluate(visible)
    assert len(page.evaluate(visible)) < 10
    page.fill("#table-at-risk input[type=search]", "")
    page.click("#table-at-risk th:nth-child(3)")  # total spend, ascending
    spends = page.evaluate(
        "() => Array.from(document.querySelectorAll('#table-at-risk tbody tr'))"
        ".filter(r => !r.hidden).map(r => parseFloat(r.cells[2].dataset.v))"
    )
    assert spends == sorted(spends)

    # phone width: charts follow the column, the page never scrolls sideways
    page.set_viewport_size({"width": 390, "height": 900})
    page.wait_for_function(
        "Array.from(document.querySelectorAll('div.chart')).every(e => "
        "e.querySelector('svg.main-svg').getBoundingClientRect().width <= 390)",
        timeout=10_000,
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # no sideways scrolling (wide tables scroll inside their box)
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('div.chart')).map(e => e.getBoundingClientRect()"
        ".width)"
    )
    assert min(widths) > 300 and max(widths) <= 390
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-phone.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    hidden_rows = page.evaluate(
        "Array.from(document.querySelectorAll('#table-at-risk tbody tr'))"
        ".filter(r => getComputedStyle(r).display === 'none').length"
    )
    assert hidden_rows == 0  # print shows every row
    _assert_clean(browser, opened, path)
    page.close()


def test_minimal_report_renders_offline(browser: Browser, cdnow: Tables, tmp_path: Path) -> None:
    path = build_report(cdnow.customers, cdnow.retention, out=tmp_path / "minimal.html")
    opened = _open(browser, path)
    per_section = {sid: n for sid, n, _ in opened.page.evaluate(CHARTS_PER_SECTION)}
    assert per_section["model"] == 0 and per_section["pairs"] == 0
    assert per_section["value"] == 2
    opened.page.screenshot(path=str(ARTIFACTS / "report-minimal.png"), full_page=True)
    _assert_clean(browser, opened, path)
    opened.page.close()
