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
        "SELECT period_start, customers_start, customers_end, new_customers, crr, "
        "repeat_purchase_rate FROM retention WHERE period = 'month' "
        "ORDER BY period_start DESC LIMIT 6"
    ).fetchall()
    crr = Table(
        title=f"Customer retention rate by month (active = bought in the last "
        f"{stats['active_days']} days)",
        title_justify="left",
    )
    for col in ("month", "B (start)", "E (end)", "N (new)", "CRR %", "repeat buyers %"):
        crr.add_column(col, justify="left" if col == "month" else "right")
    for start, b, e, n, rate, rep in reversed(trend):
        crr.add_row(
            str(start)[:7],
            f"{b:,}",
            f"{e:,}",
            f"{n:,}",
            "-" if rate is None else f"{rate:.1f}",
            "-" if rep is None else f"{rep:.1f}",
        )
    console.print(crr)
    console.print("Wrote: " + ", ".join(str(p) for p in files.values()))
