"""The ``lifevalue`` command line: thin wrappers that parse options, call the library, print.

Each command lives in one function here; the work happens in the library packages.
User errors (:class:`lifevalue.errors.LifevalueError`) print one red line and exit with code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lifevalue.cli_display import console, err_console, print_analysis, step_progress
from lifevalue.cli_options import (
    AmountColOpt,
    AmountLevelOpt,
    CurrencyColOpt,
    CurrencyOpt,
    CustomerColOpt,
    DateColOpt,
    DateFormatOpt,
    DelimiterOpt,
    EncodingOpt,
    OrderColOpt,
    OrdersArg,
    PresetOpt,
    StrictOpt,
    TimezoneOpt,
    build_read_options,
    parse_date,
)
from lifevalue.errors import ConfigError, LifevalueError

app = typer.Typer(
    name="lifevalue",
    # no help= here: it would hide the callback's docstring (and its example) from --help
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

__all__ = ["app", "console", "err_console", "main"]


@app.callback()
def _root() -> None:
    """Customer lifetime value for online stores: measure, understand, act.

    Start with [bold]lifevalue analyze ORDERS --out DIR[/]; every command has --help.

    [bold]Example[/]

      lifevalue analyze orders.csv --out results/
    """


def main() -> None:
    """Entry point of the console script: run the app, turning user errors into exit code 2."""
    try:
        app()
    except LifevalueError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)


# --- commands ------------------------------------------------------------------------------------


@app.command()
def analyze(
    orders: OrdersArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the output files.")] = Path(
        "lifevalue-out"
    ),
    end: Annotated[
        str | None,
        typer.Option(help="Last day of observation, YYYY-MM-DD (default: the last order's day)."),
    ] = None,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end",
            help="Split at this day: frequency/recency/T/monetary_value describe the days up to "
            "it; holdout_frequency and holdout_monetary_value the days after it up to --end.",
        ),
    ] = None,
    time_unit: Annotated[
        str, typer.Option("--time-unit", help="Unit of recency and T: days or weeks.")
    ] = "days",
    active_days: Annotated[
        int,
        typer.Option(
            "--active-days",
            help="For retention: a customer counts as active at a date if they bought within "
            "this many previous days.",
        ),
    ] = 365,
    preset: PresetOpt = None,
    customer_col: CustomerColOpt = None,
    order_col: OrderColOpt = None,
    date_col: DateColOpt = None,
    amount_col: AmountColOpt = None,
    currency_col: CurrencyColOpt = None,
    date_format: DateFormatOpt = None,
    timezone: TimezoneOpt = None,
    currency: CurrencyOpt = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    amount_level: AmountLevelOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Value every customer and measure the store's retention.

    Writes to --out: customers.parquet and customers.csv (one row per customer), retention.csv
    (CRR, churn, repeat rate, AOV per month/quarter/year), cohorts.csv (monthly first-purchase
    cohorts), ingest.json (counts) and rejects.csv (every row not used, with file, line, column
    and reason).

    [bold]Examples[/]

      lifevalue analyze orders.csv --out results/

      lifevalue analyze 'exports/*.csv.gz' --preset shopify --timezone America/New_York

      lifevalue analyze CDNOW_sample.txt --preset cdnow --calibration-end 1997-09-30 \
        --time-unit weeks
    """
    from lifevalue.pipeline import AnalysisOptions, run_analysis, write_outputs

    if time_unit not in ("days", "weeks"):
        raise ConfigError(f"--time-unit must be days or weeks, not '{time_unit}'")
    read = build_read_options(
        preset=preset,
        customer_col=customer_col,
        order_col=order_col,
        date_col=date_col,
        amount_col=amount_col,
        currency_col=currency_col,
        date_format=date_format,
        timezone=timezone,
        currency=currency,
        delimiter=delimiter,
        encoding=encoding,
        amount_level=amount_level,
        strict=strict,
    )
    options = AnalysisOptions(
        end=parse_date(end, "--end"),
        calibration_end=parse_date(calibration_end, "--calibration-end"),
        time_unit=time_unit,  # type: ignore[arg-type]
        active_days=active_days,
    )
    with step_progress() as say:
        result = run_analysis(orders, read, options, progress=say)
        say("writing files")
        files = write_outputs(result, out)
    print_analysis(result, files)


@app.command()
def sample(
    customers: Annotated[
        int,
        typer.Option(
            "--customers",
            "-n",
            help="Number of customers to simulate (at least 1). Each places about 3 orders "
            "(5.5 rows) over two years.",
        ),
    ] = 10_000,
    seed: Annotated[
        int, typer.Option(help="Random seed (0 or more): the same seed gives the same file.")
    ] = 0,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="File to write; the extension picks the format: .csv, .csv.gz or .parquet. "
            "Missing folders are created, an existing file is replaced.",
        ),
    ] = Path("orders.csv"),
    start: Annotated[
        str | None,
        typer.Option(help="First day of the store's window, YYYY-MM-DD (default 2024-01-01)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="Last day of the window, YYYY-MM-DD, included (default 2025-12-31)."),
    ] = None,
) -> None:
    """Write the order log of a synthetic online store, to try lifevalue on.

    Customers arrive over the window, buy and drop out as in the BG/NBD
    model and spend as in the Gamma-Gamma model. Each order has 1-4 line
    items (one row each) from a catalogue of 320 products, with bundles
    often bought together; some orders are discounted, refunded (an extra
    negative row) or cancelled.

    Columns: customer_id, order_id, ordered_at (UTC), amount, currency,
    discount, sku, product, category, quantity, unit_price, status, email,
    phone, country.

    [bold]Examples[/]

      lifevalue sample --customers 20000 --seed 7 --out orders.csv

      lifevalue sample -n 1000000 --seed 1 --out big/orders.parquet

      lifevalue sample --start 2025-01-01 --end 2025-06-30 --out h1.csv.gz
    """
    from datetime import date

    from lifevalue.datasets.sample import (
        generate_sample,
        sample_file_format,
        summarize_sample,
        write_sample,
    )

    first = parse_date(start, "--start") or date(2024, 1, 1)
    last = parse_date(end, "--end") or date(2025, 12, 31)
    sample_file_format(out)  # a bad extension fails before the work, not after
    with step_progress() as say:
        say(f"simulating {customers:,} customers")
        table = generate_sample(customers, seed, start=first, end=last)
        say(f"writing {out}")
        write_sample(table, out)
    info = summarize_sample(table)
    size = out.stat().st_size / 1e6
    console.print(
        f"{info.customers:,} customers, {info.orders:,} orders, {info.rows:,} rows, revenue "
        f"{info.revenue:,.2f} {info.currency or ''} -> {out} ({size:,.1f} MB)",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
