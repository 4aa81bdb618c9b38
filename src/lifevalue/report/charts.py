"""Plotly figures (plain ``{"data": [...], "layout": {...}}`` dicts) for the report's charts.

Each function takes already-aggregated numbers (see :mod:`lifevalue.report.aggregate`) and returns
a figure that serialises to a few kilobytes. Colours follow the Okabe-Ito palette, safe for the
common forms of colour blindness; heatmaps use the perceptually uniform, colour-blind-safe Cividis
scale. Titles live in the HTML around the chart, not in the figure, so they wrap on phones.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.report.aggregate import CohortMatrix, Histogram, RfmGrid
from lifevalue.report.format import currency_symbol, fmt_money
from lifevalue.report.modelfit import CalibrationHoldout, FitMatrices
from lifevalue.report.tracking import RepeatTracking

__all__ = [
    "FONT",
    "OKABE_ITO",
    "at_risk_chart",
    "calibration_chart",
    "clv_histogram_chart",
    "cohort_heatmap",
    "cohort_revenue_chart",
    "lorenz_chart",
    "matrix_heatmap",
    "overview_chart",
    "pairs_chart",
    "retention_chart",
    "rfm_heatmap",
    "segments_chart",
    "tracking_chart",
]

Figure = dict[str, Any]

#: Okabe & Ito (2008) colour-blind-safe qualitative palette, most distinct colours first.
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]
BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW, BLACK = OKABE_ITO
INK = "#1f2933"
GRID = "#e4e7eb"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
HEAT = "Cividis"


def _num(values: Any, digits: int = 4) -> list[float | None]:
    """A JSON-safe list: rounded to ``digits`` significant decimals, NaN/inf as null."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    out: list[float | None] = []
    for v in arr.tolist():
        out.append(round(v, digits) if math.isfinite(v) else None)
    return out


def _grid(values: npt.NDArray[np.float64], digits: int = 4) -> list[list[float | None]]:
    return [_num(row, digits) for row in np.asarray(values, dtype=np.float64)]


def _axis(title: str = "", **extra: Any) -> dict[str, Any]:
    axis: dict[str, Any] = {
        "title": {"text": title, "standoff": 8},
        "gridcolor": GRID,
        "zeroline": False,
        "automargin": True,
        "linecolor": "#9aa5b1",
        "ticks": "outside",
        "tickcolor": "#9aa5b1",
    }
    axis.update(extra)
    return axis


def _layout(x: str = "", y: str = "", **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 8, "r": 12, "t": 8, "b": 8},
        "font": {"family": FONT, "size": 13, "color": INK},
        "colorway": OKABE_ITO,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hoverlabel": {"font": {"family": FONT}},
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
        "xaxis": _axis(x),
        "yaxis": _axis(y),
        "autosize": True,
    }
    for key, value in extra.items():
        if key in ("xaxis", "yaxis", "yaxis2") and isinstance(value, dict) and key in layout:
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _money_axis(currency: str | None) -> dict[str, Any]:
    prefix, suffix = currency_symbol(currency)
    return {"tickprefix": prefix, "ticksuffix": suffix, "separatethousands": True}


def overview_chart(monthly: pd.DataFrame, currency: str | None = None) -> Figure:
    """Revenue (bars) and new customers (line, right axis) by month."""
    x = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in monthly["period_start"]]
    prefix, suffix = currency_symbol(currency)
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "Revenue",
            "x": x,
            "y": _num(monthly.get("revenue", pd.Series(np.nan, index=monthly.index)), 2),
            "marker": {"color": SKY},
            "hovertemplate": f"%{{x|%b %Y}}<br>Revenue {prefix}%{{y:,.0f}}{suffix}<extra></extra>",
        }
    ]
    if "new_customers" in monthly.columns:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "New customers",
                "x": x,
                "y": _num(monthly["new_customers"], 0),
                "yaxis": "y2",
                "line": {"color": VERMILLION, "width": 2.5},
                "hovertemplate": "%{x|%b %Y}<br>%{y:,} new customers<extra></extra>",
            }
        )
    return {
        "data": data,
        "layout": _layout(
            "",
            "Revenue",
            yaxis=_money_axis(currency),
            yaxis2={
                **_axis("New customers"),
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "rangemode": "tozero",
                "tickmode": "auto",
                "separatethousands": True,
            },
            bargap=0.15,
        ),
    }


def lorenz_chart(x: Sequence[float], y: Sequence[float], top10: float) -> Figure:
    """Share of revenue brought by the top x% of customers, with the line of perfect equality."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Equal spend",
                "x": [0, 1],
                "y": [0, 1],
                "line": {"color": "#9aa5b1", "dash": "dot", "width": 1.5},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Your customers",
                "x": _num(x),
                "y": _num(y),
                "line": {"color": BLUE, "width": 3},
                "fill": "tonexty",
                "fillcolor": "rgba(0,114,178,0.10)",
                "hovertemplate": "Top %{x:.0%} of customers<br>bring %{y:.1%} of revenue"
                "<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "Top 10%",
                "x": [0.1],
                "y": [round(top10, 4)],
                "marker": {"color": ORANGE, "size": 11, "line": {"color": "white", "width": 1.5}},
                "text": [f"top 10% → {top10 * 100:.0f}%"],
                "textposition": "middle right",
                "hoverinfo": "skip",
                "showlegend": False,
            },
        ],
        "layout": _layout(
            "Share of customers (best first)",
            "Share of revenue",
            xaxis={"tickformat": ".0%", "range": [0, 1]},
            yaxis={"tickformat": ".0%", "range": [0, 1.02]},
        ),
    }


def clv_histogram_chart(hist: Histogram, currency: str | None = None, label: str = "CLV") -> Figure:
    """Customers per value bin; values above the clip quantile in one extra bar."""
    edges = hist.edges
    width = float(edges[1] - edges[0]) if edges.size > 1 else 1.0
    centers = (edges[:-1] + edges[1:]) / 2
    text = [
        f"{fmt_money(lo, currency)} – {fmt_money(hi, currency)}"
        for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "Customers",
            "x": _num(centers, 2),
            "y": [int(c) for c in hist.counts],
            "width": width * 0.92,
            "customdata": text,
            "marker": {"color": BLUE},
            "hovertemplate": f"{label} %{{customdata}}<br>%{{y:,}} customers<extra></extra>",
            "showlegend": False,
        }
    ]
    if hist.overflow:
        data.append(
            {
                "type": "bar",
                "name": "Above",
                "x": [round(float(edges[-1]) + width, 2)],
                "y": [hist.overflow],
                "width": width * 0.92,
                "customdata": [f"over {fmt_money(float(edges[-1]), currency)}"],
                "marker": {"color": ORANGE},
                "hovertemplate": f"{label} %{{customdata}}<br>%{{y:,}} customers<extra></extra>",
                "showlegend": False,
            }
        )
    shapes = [
        {
            "type": "line",
            "x0": hist.median,
            "x1": hist.median,
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "line": {"color": VERMILLION, "dash": "dash", "width": 2},
        }
    ]
    annotations = [
        {
            "x": hist.median,
            "y": 1,
            "yref": "paper",
            "text": f"median {fmt_money(hist.median, currency)}",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "top",
            "xshift": 4,
            "font": {"color": VERMILLION},
        }
    ]
    return {
        "data": data,
        "layout": _layout(
            label,
            "Customers",
            xaxis=_money_axis(currency),
            yaxis={"separatethousands": True},
            bargap=0,
            shapes=shapes,
            annotations=annotations,
        ),
    }


def retention_chart(monthly: pd.DataFrame) -> Figure:
    """Customer retention rate (top panel) and churn rate (bottom panel) by month, in percent.

    Two panels with their own ranges: CRR near 95% and churn near 5% would both look flat on
    one 0-100 axis.
    """
    x = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in monthly["period_start"]]
    crr = monthly["crr"] if "crr" in monthly.columns else pd.Series(np.nan, index=monthly.index)
    churn = monthly["churn_rate"] if "churn_rate" in monthly.columns else 100 - crr
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Retention (CRR)",
                "x": x,
                "y": _num(crr, 2),
                "line": {"color": BLUE, "width": 2.5},
                "marker": {"size": 5},
                "hovertemplate": "%{x|%b %Y}<br>CRR %{y:.1f}%<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Churn",
                "x": x,
                "y": _num(churn, 2),
                "line": {"color": VERMILLION, "width": 2.5, "dash": "dash"},
                "marker": {"size": 5, "symbol": "square"},
                "yaxis": "y2",
                "hovertemplate": "%{x|%b %Y}<br>Churn %{y:.1f}%<extra></extra>",
            },
        ],
        "layout": _layout(
            "",
            "Retention",
            xaxis={"anchor": "y2"},
            yaxis={"domain": [0.54, 1.0], "ticksuffix": "%"},
            yaxis2={**_axis("Churn"), "domain": [0.0, 0.46], "ticksuffix": "%", "anchor": "x"},
        ),
    }


def cohort_heatmap(m: CohortMatrix) -> Figure:
    """Share of each monthly cohort buying k months after its first month (k >= 1)."""
    cols = [i for i, k in enumerate(m.months) if k >= 1]
    months = [m.months[i] for i in cols]
    z = m.retention[:, cols] * 100 if cols else np.zeros((len(m.cohorts), 0))
    finite = z[np.isfinite(z)]
    zmax = float(np.quantile(finite, 0.98)) if finite.size else 1.0
    custom = [[f"{size:,}"] * len(months) for size in m.sizes]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": months,
                "y": m.cohorts,
                "z": _grid(z, 2),
                "customdata": custom,
                "colorscale": HEAT,
                "zmin": 0,
                "zmax": max(zmax, 1.0),
                "xgap": 1,
                "ygap": 1,
                "colorbar": {
                    "title": {"text": "% of cohort buying", "side": "right"},
                    "ticksuffix": "%",
                    "thickness": 12,
                },
                "hovertemplate": "Cohort %{y} (%{customdata} customers)<br>month %{x}: "
                "%{z:.1f}% bought<extra></extra>",
                "hoverongaps": False,
            }
        ],
        "layout": _layout(
            "Months since first purchase",
            "First-purchase month",
            xaxis={"dtick": 3 if len(months) > 12 else 1, "showgrid": False},
            yaxis={"autorange": "reversed", "type": "category", "showgrid": False},
        ),
    }


def _cividis(n: int) -> list[str]:
    """``n`` colours along (an approximation of) the Cividis scale, dark blue to yellow."""
    stops = np.array([[0, 32, 76], [87, 92, 109], [166, 157, 117], [253, 231, 55]], dtype=float)
    out = []
    for i in range(n):
        t = i / max(n - 1, 1) * (len(stops) - 1)
        j = min(int(t), len(stops) - 2)
        c = stops[j] + (stops[j + 1] - stops[j]) * (t - j)
        out.append("#" + "".join(f"{round(float(v)):02x}" for v in c))
    return out


def cohort_revenue_chart(m: CohortMatrix, currency: str | None = None) -> Figure:
    """Cumulative revenue per customer by months since first purchase: each cohort and the mean."""
    prefix, suffix = currency_symbol(currency)
    colours = _cividis(len(m.cohorts))
    data: list[dict[str, Any]] = []
    for i, cohort in enumerate(m.cohorts):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Each cohort (dark: oldest, light: newest)" if i == 0 else cohort,
                "x": m.months,
                "y": _num(m.revenue_per_customer[i], 2),
                "line": {"color": colours[i], "width": 1.2},
                "opacity": 0.8,
                "legendgroup": "cohorts",
                "showlegend": i == 0,
                "hovertemplate": f"Cohort {cohort}<br>month %{{x}}: {prefix}%{{y:,.2f}}{suffix}"
                "<extra></extra>",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "All cohorts (weighted mean)",
            "x": m.months,
            "y": _num(m.avg_revenue_per_customer, 2),
            "line": {"color": VERMILLION, "width": 4},
            "hovertemplate": f"Mean, month %{{x}}: {prefix}%{{y:,.2f}}{suffix}<extra></extra>",
        }
    )
    return {
        "data": data,
        "layout": _layout(
            "Months since first purchase",
            "Cumulative revenue per customer",
            yaxis=_money_axis(currency),
            showlegend=True,
        ),
    }


def segments_chart(summary: pd.DataFrame, top: int = 12) -> Figure:
    """Share of customers vs share of revenue per segment (horizontal bars)."""
    s = summary.head(top).iloc[::-1]
    names = [_text(v) for v in s["segment"]]
    avg = (
        s["avg_predicted_clv"] if s["avg_predicted_clv"].notna().any() else s["avg_historical_clv"]
    )
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "Customers",
                "y": names,
                "x": _num(s["customer_share"]),
                "marker": {"color": SKY},
                "customdata": [int(c) for c in s["customers"]],
                "hovertemplate": "%{y}: %{x:.1%} of customers (%{customdata:,})<extra></extra>",
            },
            {
                "type": "bar",
                "orientation": "h",
                "name": "Revenue",
                "y": names,
                "x": _num(s["revenue_share"]),
                "marker": {"color": BLUE},
                "customdata": _num(avg, 2),
                "hovertemplate": "%{y}: %{x:.1%} of revenue<br>average CLV %{customdata:,.2f}"
                "<extra></extra>",
            },
        ],
        "layout": _layout(
            "Share",
            "",
            xaxis={"tickformat": ".0%"},
            yaxis={"type": "category", "showgrid": False},
            barmode="group",
            bargap=0.25,
            bargroupgap=0.05,
        ),
    }


def rfm_heatmap(grid: RfmGrid, currency: str | None = None) -> Figure:
    """Customers by days since last order (columns) and number of purchase days (rows)."""
    share = grid.customers / max(grid.total_customers, 1) * 100
    nonzero = share[share > 0]
    # One big cell (one-time buyers) would flatten the rest: saturate the top tenth of cells.
    zmax = float(np.quantile(nonzero, 0.9)) if nonzero.size else 1.0
    rev_share = grid.revenue / grid.total_revenue * 100 if grid.total_revenue > 0 else share * 0
    avg = grid.avg_spend()
    prefix, suffix = currency_symbol(currency)
    custom = [
        [
            [int(grid.customers[i, j]), round(float(rev_share[i, j]), 1), _num([avg[i, j]], 2)[0]]
            for j in range(grid.customers.shape[1])
        ]
        for i in range(grid.customers.shape[0])
    ]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": grid.recency_labels,
                "y": grid.frequency_labels,
                "z": _grid(share, 2),
                "customdata": custom,
                "colorscale": HEAT,
                "zmin": 0,
                "zmax": max(zmax, 0.1),
                "xgap": 2,
                "ygap": 2,
                "texttemplate": "%{z:.1f}%",
                "colorbar": {
                    "title": {"text": "% of customers", "side": "right"},
                    "ticksuffix": "%",
                    "thickness": 12,
                },
                "hovertemplate": "%{y}, last order %{x}<br>%{customdata[0]:,} customers "
                "(%{z:.1f}%)<br>%{customdata[1]:.1f}% of revenue<br>average spend "
                f"{prefix}%{{customdata[2]:,.2f}}{suffix}<extra></extra>",
            }
        ],
        "layout": _layout(
            "Time since last order",
            "Purchase days",
            # Fixed margins: automargin and a side title on the colour bar can redraw forever.
            margin={"l": 64, "r": 12, "t": 8, "b": 56},
            xaxis={"type": "category", "showgrid": False, "tickangle": 0, "automargin": False},
            yaxis={"type": "category", "showgrid": False, "automargin": False},
        ),
    }


def matrix_heatmap(m: FitMatrices, which: str, unit: str) -> Figure:
    """Expected purchases (``which="expected"``) or probability alive over frequency x recency."""
    expected = which == "expected"
    z = m.expected if expected else m.alive * 100
    title = "purchases in 12 months" if expected else "% still a customer"
    fmt = "%{z:.2f} purchases" if expected else "%{z:.0f}% alive"
    digits = 1 if len(m.recencies) > 20 or m.recencies[-1] > 20 else 2
    return {
        "data": [
            {
                "type": "heatmap",
                "x": _num(m.recencies, digits),
                "y": _num(m.frequencies, 0),
                "z": _grid(z, 3),
                "colorscale": HEAT,
                "zmin": 0,
                "zmax": None if expected else 100,
                "colorbar": {
                    "title": {"text": title, "side": "right"},
                    "thickness": 12,
                    "ticksuffix": "" if expected else "%",
                },
                "hovertemplate": f"%{{y}} repeat purchases, last at %{{x}} {unit}<br>{fmt}"
                "<extra></extra>",
                "hoverongaps": False,
            }
        ],
        "layout": _layout(
            f"Recency ({unit}, first to last purchase)",
            "Repeat purchases",
            xaxis={"showgrid": False},
            yaxis={"showgrid": False},
        ),
    }


def calibration_chart(c: CalibrationHoldout, unit: str) -> Figure:
    """Mean holdout purchases per customer, actual vs predicted, by calibration repeat count."""
    return {
        "data": [
            {
                "type": "bar",
                "name": "Actual",
                "x": c.labels,
                "y": _num(c.actual, 3),
                "marker": {"color": BLACK},
                "customdata": c.customers,
                "hovertemplate": "%{x} repeat purchases in calibration (%{customdata:,} customers)"
                "<br>actual %{y:.2f} per customer<extra></extra>",
            },
            {
                "type": "bar",
                "name": "Model",
                "x": c.labels,
                "y": _num(c.predicted, 3),
                "marker": {"color": ORANGE},
                "hovertemplate": "%{x} repeat purchases in calibration<br>model %{y:.2f} per "
                "customer<extra></extra>",
            },
        ],
        "layout": _layout(
            "Repeat purchases in calibration",
            "Holdout purchases per customer",
            xaxis={"type": "category"},
            barmode="group",
            bargap=0.25,
        ),
    }


def tracking_chart(t: RepeatTracking, cumulative: bool = True) -> Figure:
    """Actual vs expected repeat transactions per period (cumulative or per period)."""
    table = t.table
    if not cumulative and len(table) > 1 and table["period"].iloc[-1] % 1 > 1e-9:
        table = table.iloc[:-1]  # a short last period would look like a sudden drop
    actual = table["actual_cumulative"] if cumulative else table["actual"]
    expected = table["expected_cumulative"] if cumulative else table["expected"]
    unit = t.time_unit.rstrip("s")
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Actual",
            "x": _num(table["period"], 3),
            "y": _num(actual, 1),
            "line": {"color": BLACK, "width": 2.5},
            "hovertemplate": f"{unit} %{{x}}<br>actual %{{y:,.0f}}<extra></extra>",
        }
    ]
    if expected.notna().any():
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Model",
                "x": _num(table["period"], 3),
                "y": _num(expected, 1),
                "line": {"color": ORANGE, "width": 2.5, "dash": "dash"},
                "hovertemplate": f"{unit} %{{x}}<br>model %{{y:,.0f}}<extra></extra>",
            }
        )
    shapes, annotations = [], []
    cal = t.calibration_period
    if cal is not None:
        shapes.append(
            {
                "type": "line",
                "x0": cal,
                "x1": cal,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": VERMILLION, "dash": "dot", "width": 2},
            }
        )
        annotations.append(
            {
                "x": cal,
                "y": 1,
                "yref": "paper",
                "text": f"calibration end ({unit} {cal:g})",
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "top",
                "xshift": -4,
                "font": {"color": VERMILLION},
            }
        )
    label = "Cumulative repeat transactions" if cumulative else "Repeat transactions"
    return {
        "data": data,
        "layout": _layout(
            f"{t.time_unit.capitalize()} since {t.start.isoformat()}",
            label,
            yaxis={"separatethousands": True, "rangemode": "tozero"},
            xaxis={"rangemode": "tozero"},
            shapes=shapes,
            annotations=annotations,
        ),
    }


def at_risk_chart(at_risk: pd.DataFrame, currency: str | None = None) -> Figure:
    """Listed at-risk customers: spend (y) against probability alive or days since last order."""
    prefix, suffix = currency_symbol(currency)
    ids = [_text(v) for v in at_risk["customer_id"]] if "customer_id" in at_risk.columns else []
    spend = np.asarray(at_risk["total_spend"], dtype=np.float64)
    ticks = _log_ticks(spend)
    if "probability_alive" in at_risk.columns and at_risk["probability_alive"].notna().any():
        x = at_risk["probability_alive"]
        xaxis: dict[str, Any] = {"tickformat": ".0%", "range": [0, 0.52]}
        xtitle = "Probability still a customer"
        xhover = "P(alive) %{x:.0%}"
    else:
        x = at_risk.get("days_since_last_order", pd.Series(np.nan, index=at_risk.index))
        xaxis = {}
        xtitle = "Days since last order"
        xhover = "%{x:,.0f} days since last order"
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Customers at risk",
                "x": _num(x, 3),
                "y": _num(at_risk["total_spend"], 2),
                "text": ids,
                "marker": {
                    "color": VERMILLION,
                    "size": 9,
                    "opacity": 0.8,
                    "line": {"color": "white", "width": 1},
                },
                "hovertemplate": f"Customer %{{text}}<br>{xhover}<br>spent {prefix}%{{y:,.2f}}"
                f"{suffix}<extra></extra>",
            }
        ],
        "layout": _layout(
            xtitle,
            "Total spend",
            xaxis=xaxis,
            yaxis={
                "type": "log",
                "tickvals": ticks,
                "ticktext": [_tick_money(v, currency) for v in ticks],
            },
            showlegend=False,
        ),
    }


def pairs_chart(top: pd.DataFrame, n: int = 10) -> Figure:
    """Lift of the strongest product pairs (horizontal bars, strongest on top)."""
    s = top.head(n).iloc[::-1]
    labels = [
        f"{_text(_short(a))} → {_text(_short(c))}"
        for a, c in zip(s["antecedent_label"], s["consequent_label"], strict=True)
    ]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "Lift",
                "y": labels,
                "x": _num(s["lift"], 3),
                "marker": {"color": GREEN},
                "customdata": [
                    [_num([c], 4)[0], _num([sp], 5)[0]]
                    for c, sp in zip(s["confidence"], s["support"], strict=True)
                ],
                "hovertemplate": "%{y}<br>lift %{x:.2f}, confidence %{customdata[0]:.0%}, "
                "support %{customdata[1]:.2%}<extra></extra>",
            }
        ],
        "layout": _layout(
            "Lift (× chance)",
            "",
            yaxis={"type": "category", "showgrid": False},
            showlegend=False,
        ),
    }


def _tick_money(value: float, currency: str | None) -> str:
    return fmt_money(value, currency, compact=True).replace(".0k", "k").replace(".0M", "M")


def _log_ticks(values: npt.NDArray[np.float64]) -> list[float]:
    """1-2-5 tick values covering the positive ``values`` (for a log axis)."""
    v = values[np.isfinite(values) & (values > 0)]
    if v.size == 0:
        return [1.0]
    lo, hi = float(v.min()), float(v.max())
    ticks = [
        m * 10.0**e
        for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for m in (1, 2, 5)
    ]
    inside = [t for t in ticks if lo / 1.5 <= t <= hi * 1.5]
    return inside or [ticks[0]]


def _text(value: Any) -> str:
    """User text (names, ids) for Plotly, which reads ``<b>``, ``<a href>``... as markup:
    escaped so it shows as typed."""
    return html.escape(str(value), quote=False)


def _short(text: str, limit: int = 28) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
