"""The HTML file: self-contained, every section there or explained, numbers agree with inputs."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from lifevalue.report import aggregate as agg
from lifevalue.report import build_report, render_report

from .conftest import Tables


class _Page(HTMLParser):
    """Collect the tags, script blocks, card values and section notes of a report."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.cards: dict[str, str] = {}
        self.readings: dict[str, str] = {}
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._text: list[str] = []
        self._metric: str | None = None
        self._in_value = False
        self._reading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._text = []
        if "data-metric" in a:
            self._metric = a["data-metric"]
        if self._metric and a.get("class") == "value":
            self._in_value, self._text = True, []
        if "data-reading" in a:
            self._reading, self._text = a["data-reading"], []
        self._stack.append((tag, a))

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        _, attrs = self._stack.pop() if self._stack else ("", {})
        if tag == "script":
            self.scripts.append((attrs, "".join(self._text)))
        if tag == "div" and self._in_value and self._metric:
            self.cards[self._metric] = "".join(self._text).strip()
            self._in_value, self._metric = False, None
        if tag == "p" and self._reading:
            self.readings[self._reading] = "".join(self._text).strip()
            self._reading = None


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def full_html(full_report_kwargs: dict[str, Any]) -> str:
    return render_report(**full_report_kwargs)


def _figures(page: _Page) -> dict[str, dict[str, Any]]:
    return {
        str(a["id"]).removesuffix("-data"): json.loads(text)
        for a, text in page.scripts
        if a.get("type") == "application/json"
    }


def test_self_contained_with_plotly_embedded_once(full_html: str) -> None:
    page = _parse(full_html)
    plotly_js = get_plotlyjs()
    assert full_html.count(plotly_js[:200]) == 1  # the library itself, once
    inline = [text for a, text in page.scripts if "src" not in a]
    assert len(inline) == len(page.scripts)  # no <script src=...>
    assert not [t for t, a in page.tags if t in ("link", "iframe", "img", "object", "embed")]
    assert not [t for t, a in page.tags if t in ("a",) and not str(a.get("href")).startswith("#")]
    without_lib = full_html.replace(plotly_js, "")
    assert "cdn.plot.ly" not in without_lib and "@import" not in without_lib
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", without_lib)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", without_lib)
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert "default-src 'none'" in str(csp[0]["content"])
    assert len(full_html.encode()) < 6_000_000


def test_every_section_and_chart_is_present(full_html: str) -> None:
    page = _parse(full_html)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == ["overview", "value", "retention", "segments", "model", "at-risk", "pairs"]
    figures = _figures(page)
    assert set(figures) == {
        "chart-overview",
        "chart-lorenz",
        "chart-clv",
        "chart-crr",
        "chart-cohorts",
        "chart-cohort-revenue",
        "chart-segments",
        "chart-rfm-group",
        "chart-rfm",
        "chart-expected-matrix",
        "chart-alive-matrix",
        "chart-tracking",
        "chart-calibration",
        "chart-tracking-period",
        "chart-at-risk",
        "chart-pairs",
    }
    for name, fig in figures.items():
        assert fig["data"], name
        assert fig["layout"]["colorway"][0] == "#0072B2"  # Okabe-Ito
    tables = [a["id"] for t, a in page.tags if t == "div" and a.get("class") == "tbl"]
    assert tables == [
        "table-segments",
        "table-rfm-group",
        "table-params",
        "table-scorecard",
        "table-at-risk",
        "table-pairs",
    ]
    assert set(page.readings) == set(sections)
    assert all(text.endswith(".") for text in page.readings.values())


def test_headline_cards_agree_with_the_inputs(full_html: str, cdnow: Tables) -> None:
    cards = _parse(full_html).cards
    c = cdnow.customers
    assert cards["customers"] == f"{len(c):,}" == "2,357"
    assert cards["revenue"] == f"${c['total_spend'].sum() / 1000:,.1f}k"
    assert cards["repeat_rate"] == f"{(c['purchase_periods'] >= 2).mean() * 100:.0f}%"
    assert cards["predicted_clv"] == f"${c['predicted_clv'].mean():,.2f}"
    assert cards["historical_clv"] == f"${c['spend_12m'].mean():,.2f}"
    month = cdnow.retention[cdnow.retention["period"] == "month"].sort_values("period_start")
    assert cards["crr"] == f"{month['crr'].iloc[-1]:.1f}%"
    aov = (c["average_order_value"] * c["orders"]).sum() / c["orders"].sum()
    assert cards["aov"] == f"${aov:,.2f}"
    assert cards["expected_revenue"].startswith("$") and cards["expected_revenue"].endswith("k")


def test_chart_data_agree_with_the_inputs(full_html: str, cdnow: Tables) -> None:
    page = _parse(full_html)
    figures = _figures(page)
    c = cdnow.customers
    lorenz = figures["chart-lorenz"]["data"][1]
    top10 = agg.top_share(c["total_spend"], 0.1)
    assert lorenz["y"][lorenz["x"].index(0.1)] == pytest.approx(top10, abs=1e-4)
    assert page.readings["value"].startswith(f"Your top 10% of customers bring {top10:.0%}")
    clv = figures["chart-clv"]["data"]
    assert sum(clv[0]["y"]) + sum(clv[1]["y"]) == c["predicted_clv"].notna().sum()
    tracking = figures["chart-tracking"]
    assert tracking["data"][0]["y"][-1] == 4339  # actual cumulative repeat transactions
    assert tracking["layout"]["shapes"][0]["x0"] == 39  # calibration end marked at week 39
    rfm = figures["chart-rfm"]["data"][0]
    counts = [cell[0] for row in rfm["customdata"] for cell in row]
    assert sum(counts) == len(c)
    seg = figures["chart-segments"]["data"]
    summary = agg.segment_summary(c, "segments")
    shown = dict(zip(seg[0]["y"], seg[0]["x"], strict=True))
    for name, share in zip(summary["segment"], summary["customer_share"], strict=True):
        assert shown[agg.segment_label(name)] == pytest.approx(share, abs=1e-4)
    revenue = figures["chart-overview"]["data"][0]["y"]
    month = cdnow.retention[cdnow.retention["period"] == "month"]
    assert sum(revenue) == pytest.approx(month["revenue"].sum(), rel=1e-6)


def test_user_text_is_escaped(full_html: str) -> None:
    assert "CDNOW &lt;sample&gt; report" in full_html
    assert "<b>Opera</b>" not in full_html.replace(get_plotlyjs(), "")
    assert "&lt;b&gt;Opera&lt;/b&gt; &amp; more" in full_html


def test_minimal_report_explains_what_is_missing(cdnow: Tables, tmp_path: Path) -> None:
    customers = cdnow.customers.drop(
        columns=["probability_alive", "predicted_purchases", "predicted_spend", "predicted_clv"]
    )
    customers = customers.drop(columns=["segments", "rfm_group"])
    out = build_report(customers, cdnow.retention, out=tmp_path / "sub" / "minimal.html")
    html = out.read_text(encoding="utf-8")
    page = _parse(html)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert len(sections) == 7
    notes = " ".join(text for text in re.findall(r'<p class="note">(.*?)</p>', html))
    assert "No model was fitted" in notes
    assert "No cohort table" in notes
    assert "No product pairs" in notes
    assert "No segments were assigned" in notes
    assert "twice their usual gap" in notes
    assert _parse(html).cards["predicted_clv"] == "–"
    figures = _figures(page)
    assert "chart-expected-matrix" not in figures and "chart-clv" in figures  # historical CLV
    assert 'class="section omitted" id="model"' in html


def test_model_that_cannot_be_loaded_keeps_tables(cdnow: Tables) -> None:
    model = {"purchase_model": {"model": "mystery", "params": {"r": 1.0}}, "time_unit": "weeks"}
    html = render_report(cdnow.customers, cdnow.retention, model=model)
    assert "could not be loaded" in html
    assert 'id="table-params"' in html


def test_one_million_customers_aggregate_to_a_small_page() -> None:
    """Charts bin and tables cut: the page grows by kilobytes, not with the customers."""
    rng = np.random.default_rng(3)
    n = 200_000
    periods = rng.geometric(0.5, n)
    customers = pd.DataFrame(
        {
            "customer_id": np.char.add("c", np.arange(n).astype(str)),
            "orders": periods,
            "purchase_periods": periods,
            "total_spend": rng.gamma(1.0, 50.0, n) * periods,
            "spend_12m": rng.gamma(1.0, 20.0, n),
            "days_since_last_order": rng.integers(0, 900, n),
            "mean_days_between_orders": np.where(periods > 1, 60.0, np.nan),
            "segments": rng.choice(["repeat;vip", "lapsed", ""], n),
        }
    )
    html = render_report(customers, pd.DataFrame(columns=["period", "period_start", "crr"]))
    assert len(html.encode()) - len(get_plotlyjs().encode()) < 300_000
