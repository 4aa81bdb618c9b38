"""Rich output of the CLI: progress on stderr, summaries on stdout."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from lifevalue.models.pipeline_step import ModelRun
    from lifevalue.pipeline import AnalysisResult

console = Console()
err_console = Console(stderr=True)


@contextmanager
def step_progress() -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the current step; yields the function that sets the step."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    start = time.perf_counter()
    with progress:
        task = progress.add_task("starting", total=None)

        def say(message: str) -> None:
            progress.update(task, description=message)

        yield say
    err_console.print(f"[dim]done in {time.perf_counter() - start:.1f} s[/]")


def _money(value: float | None, currency: str | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}"


def print_analysis(result: AnalysisResult, files: dict[str, Path]) -> None:
    """Counts, top customers by value and the CRR trend."""
    stats = result.ingest_report()
    cur = stats.get("currency")
    counts = Table(title="Order log", show_header=False, title_justify="left")
    counts.add_column("what")
    counts.add_column("count", justify="right")
    counts.add_row("rows read", f"{stats['rows_read']:,}")
    counts.add_row("accepted", f"{stats['rows_accepted']:,}")
    counts.add_row("rejected (bad data)", f"{stats['rows_rejected']:,}")
    counts.add_row("skipped (expected for this source)", f"{stats['rows_skipped']:,}")
    counts.add_row("exact duplicates removed", f"{stats['rows_duplicate']:,}")
    counts.add_row("cancellation / return rows (netted)", f"{stats['negative_amount_rows']:,}")
    counts.add_row("customers with a purchase", f"{stats['customers_in_summary']:,}")
    counts.add_row("orders", f"{stats['orders']:,}")
    counts.add_row(
        "window",
        f"{stats['first_order_at'][:10]} to {stats['observation_end']}"
        + (f" (calibration to {stats['calibration_end']})" if stats["calibration_end"] else ""),
    )
    console.print(counts)
    for r in stats["reasons"]:
        if r["kind"] != "duplicate":
            console.print(f"  [yellow]{r['kind']}[/] {r['rows']:,} rows: {r['reason']}")

    con = result.con
    top = con.execute(
        "SELECT customer_id, orders, total_spend, spend_12m, average_order_value, "
        "days_since_last_order FROM customers ORDER BY total_spend DESC LIMIT 10"
    ).fetchall()
    table = Table(
        title="Top customers by spend" + (f" ({cur})" if cur else ""), title_justify="left"
    )
    for col in ("customer", "orders", "total spend", "last 12 months", "AOV", "days since"):
        table.add_column(col, justify="left" if col == "customer" else "right")
    for cid, n, total, s12, aov, since in top:
        table.add_row(
            str(cid), f"{n:,}", _money(total, cur), _money(s12, cur), _money(aov, cur), str(since)
        )
    console.print(table)

    trend = con.execute(
        "SELECT period_start, customers_start, customers_end, new_customers, "
        "returning_customers, crr, repeat_purchase_rate FROM retention WHERE period = 'month' "
        "ORDER BY period_start DESC LIMIT 6"
    ).fetchall()
    crr = Table(
        title=f"Customer retention rate by month (active = bought in the last "
        f"{stats['active_days']} days)",
        title_justify="left",
    )
    cols = ("month", "B (start)", "E (end)", "N (new)", "came back", "CRR %", "repeat buyers %")
    for col in cols:
        crr.add_column(col, justify="left" if col == "month" else "right")
    for start, b, e, n, back, rate, rep in reversed(trend):
        crr.add_row(
            str(start)[:7],
            f"{b:,}",
            f"{e:,}",
            f"{n:,}",
            f"{back:,}",
            "-" if rate is None else f"{rate:.1f}",
            "-" if rep is None else f"{rep:.1f}",
        )
    console.print(crr)
    console.print("Wrote: " + ", ".join(str(p) for p in files.values()))


def _num(value: object, spec: str) -> str:
    if value is None or not isinstance(value, int | float) or value != value:
        return "-"
    return format(value, spec)


def print_models(run: ModelRun, con: object | None = None) -> None:
    """The model choice (scorecard), calendar profile, holdout check and top predicted CLV."""
    model = run.model
    for note in run.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    pm = model.get("purchase_model")
    unit = model.get("time_unit", "")
    card = model.get("scorecard") or []
    validation = (model.get("selection") or {}).get("validation") or {}
    if card:
        title = "Model choice: purchases in the validation window"
        if "inner_calibration_end" in validation:
            title += (
                f" ({validation['inner_calibration_end']} to {validation['validation_end']}, "
                "inside the fitting data; lowest RMSE wins)"
            )
        table = Table(title=title, title_justify="left")
        for col in ("model", "MAE", "RMSE", "corr.", "predicted", "actual", "error %", ""):
            table.add_column(
                col, justify="left" if col == "model" else "right", no_wrap=col == "model"
            )
        for row in card:
            if "error" in row:
                table.add_row(str(row["variant"]), "-", "-", "-", "-", "-", "-", "did not fit")
                continue
            table.add_row(
                str(row["variant"]),
                _num(row.get("mae"), ".3f"),
                _num(row.get("rmse"), ".3f"),
                _num(row.get("correlation"), ".3f"),
                _num(row.get("predicted"), ",.0f"),
                _num(row.get("actual"), ",.0f"),
                _num(
                    100 * row["total_error"] if row.get("total_error") is not None else None, "+.1f"
                ),
                "chosen" if row.get("chosen") else "",
            )
        console.print(table)
    season = model.get("seasonality")
    if season:
        prof = Table(
            title="Calendar profile of repeat purchases (1 = an average month)",
            title_justify="left",
            padding=(0, 0),
        )
        factors = season["factors"]
        for month in factors:
            prof.add_column(month, justify="right", min_width=4)
        prof.add_row(*(f"{v:.2f}" for v in factors.values()))
        console.print(prof)
    if pm is None:
        fb = model.get("fallback") or {}
        console.print(
            f"[yellow]No purchase model[/]: {fb.get('reason', '')}. Columns from the historical "
            "fallback (orders per year x average order value x horizon).",
            highlight=False,
            soft_wrap=True,
        )
    else:
        params = ", ".join(f"{k}={v:.4g}" for k, v in pm["params"].items())
        name = str(pm["model"]) + (" + seasonal profile" if pm.get("seasonal") else "")
        line = f"Purchase model {name}: {params} (log-likelihood {pm['log_likelihood']:,.1f}"
        console.print(line + f", time unit {unit})", highlight=False, soft_wrap=True)
        sm = model.get("spend_model")
        if sm is not None:
            sp = ", ".join(f"{k}={v:.4g}" for k, v in sm["params"].items())
            console.print(f"Spend model gamma_gamma: {sp}", highlight=False, soft_wrap=True)
    hold = model.get("holdout")
    if hold:
        console.print(
            f"Holdout ({hold['length']:g} {unit} after the calibration end; not used to choose): "
            f"predicted {hold['predicted']:,.0f} purchases, actual {hold['actual']:,.0f} "
            f"({100 * (hold['total_error'] or 0):+.1f} %); per customer MAE {hold['mae']:.3f}, "
            f"RMSE {hold['rmse']:.3f}, correlation {_num(hold['correlation'], '.3f')}",
            highlight=False,
            soft_wrap=True,
        )
        if run.holdout is not None:
            by = Table(title="Holdout purchases per customer by calibration frequency")
            for col in ("frequency", "customers", "actual", "predicted"):
                by.add_column(col, justify="right")
            for r in run.holdout.to_dict("records"):
                by.add_row(
                    str(r["calibration_frequency"]),
                    f"{r['customers']:,}",
                    f"{r['actual_mean']:.2f}",
                    f"{r['predicted_mean']:.2f}",
                )
            console.print(by)
    if con is not None:
        pred = model.get("prediction") or {}
        top = con.execute(  # type: ignore[attr-defined]
            "SELECT customer_id, predicted_purchases, probability_alive, predicted_spend, "
            "predicted_clv, expected_next_order FROM customers "
            "ORDER BY predicted_clv DESC NULLS LAST, customer_id LIMIT 10"
        ).fetchall()
        table = Table(
            title=f"Top customers by predicted CLV (next {pred.get('horizon', ''):g} {unit}, "
            f"discounted at {100 * pred.get('discount_rate', 0):g} % a year, margin "
            f"{pred.get('margin', 1):g})",
            title_justify="left",
        )
        for col in ("customer", "purchases", "P(alive)", "spend/purchase", "CLV", "next order"):
            table.add_column(col, justify="left" if col == "customer" else "right")
        for cid, n, alive, spend, clv, nxt in top:
            table.add_row(
                str(cid),
                _num(n, ".2f"),
                _num(alive, ".2f"),
                _num(spend, ",.2f"),
                _num(clv, ",.2f"),
                "-" if nxt is None else str(nxt),
            )
        console.print(table)
