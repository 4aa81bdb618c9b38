"""The ``lifevalue`` command line: thin wrappers that parse options, call the library, print.

Each command lives in one function here; the work happens in the library packages.
User errors (:class:`lifevalue.errors.LifevalueError`) print one red line and exit with code 2.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from lifevalue.cli_display import (
    console,
    err_console,
    print_analysis,
    print_models,
    step_progress,
)
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
    analysis_options_from,
    build_read_options,
    parse_date,
    read_options_from,
)
from lifevalue.errors import ConfigError, IdentificationWarning, LifevalueError

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

_MODEL = "Predictions (models)"
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="Purchase model: auto (compare bgnbd, mbgnbd, pnbd and their seasonal variants on "
        "the last quarter of the fitting data, refit the best), bgnbd, mbgnbd, pnbd, or none "
        "(no predictions, fastest). Example: --model bgnbd",
        rich_help_panel=_MODEL,
    ),
]
HorizonOpt = Annotated[
    float | None,
    typer.Option(
        "--horizon",
        help="Prediction horizon in the time unit (--time-unit). Default one year: 365 days "
        "or 52 weeks. Example: --horizon 182 (half a year in days)",
        rich_help_panel=_MODEL,
        show_default=False,
    ),
]
DiscountOpt = Annotated[
    float,
    typer.Option(
        "--discount-rate",
        help="Annual discount rate of predicted_clv (0.10 = 10 %% a year; 0 = none). "
        "Example: --discount-rate 0.08",
        rich_help_panel=_MODEL,
    ),
]
MarginOpt = Annotated[
    float,
    typer.Option(
        "--margin",
        help="Share of revenue counted in predicted_clv (1.0 = revenue, 0.3 = 30 %% margin). "
        "Example: --margin 0.3",
        rich_help_panel=_MODEL,
    ),
]
SeasonalOpt = Annotated[
    str,
    typer.Option(
        "--seasonal",
        help="Seasonal variants (purchase rate scaled by the store's calendar profile): auto "
        "(--model auto also compares them and picks one only if it wins), yes (use the seasonal "
        "variant), no. Example: --seasonal no",
        rich_help_panel=_MODEL,
    ),
]


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
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write the HTML report (as lifevalue report) to this file.",
        ),
    ] = None,
    model: ModelOpt = "auto",
    horizon: HorizonOpt = None,
    discount_rate: DiscountOpt = 0.10,
    margin: MarginOpt = 1.0,
    seasonal: SeasonalOpt = "auto",
) -> None:
    """Value every customer and measure the store's retention.

    Writes to --out: customers.parquet and customers.csv (one row per customer), retention.csv
    (CRR with its B, E, N and the retained and returning customers, churn, repeat rate, AOV per
    month/quarter/year), cohorts.csv (monthly first-purchase
    cohorts), ingest.json (counts) and rejects.csv (every row not used, with file, line, column
    and reason). Unless --model none: the predicted columns in customers.* (predicted_purchases,
    probability_alive, predicted_spend, predicted_clv, predicted_purchases_low/_high,
    expected_next_order) and model.json; with --calibration-end also holdout.csv (predicted vs
    actual purchases after the calibration end).

    [bold]Examples[/]

      lifevalue analyze orders.csv --out results/

      lifevalue analyze 'exports/*.csv.gz' --preset shopify --timezone America/New_York

      lifevalue analyze CDNOW_sample.txt --preset cdnow --calibration-end 1997-09-30 \
        --time-unit weeks

      lifevalue analyze orders.parquet --model bgnbd --horizon 365 --margin 0.3
    """
    from lifevalue.pipeline import run_analysis, write_outputs

    read = read_options_from(locals())
    options = analysis_options_from(locals())
    if report is not None:
        from lifevalue.report.builder import report_time

        report_time()  # a bad SOURCE_DATE_EPOCH stops the run before the analysis
    with step_progress() as say:
        result = run_analysis(orders, read, options, progress=say, rejects_to=out)
        say("writing files")
        files = write_outputs(result, out)
        if report is not None:
            from lifevalue.report.from_analysis import report_from_analysis

            say("writing the report")
            files["report"] = report_from_analysis(result, report)
    run = result.extra.get("model_run")
    if run is not None:
        print_models(run, result.con)
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

    def count(n: int, noun: str) -> str:
        return f"{n:,} {noun}{'' if n == 1 else 's'}"

    console.print(
        f"{count(info.customers, 'customer')}, {count(info.orders, 'order')}, "
        f"{count(info.rows, 'row')}, revenue {info.revenue:,.2f} {info.currency or ''} "
        f"-> {out} ({size:,.1f} MB)",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


# --- segments, audience, recommend ---------------------------------------------------------------

RulesOpt = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Your segment rules (TOML), read on top of the defaults: change a rule's "
        "parameters, switch one off, add your own. Print the defaults with --show-rules.",
    ),
]
CartsOpt = Annotated[
    Path | None,
    typer.Option(
        "--carts",
        help="Cart events (CSV, Parquet or JSON Lines with customer_id, created_at, converted) "
        "for the cart_abandoner segment; without them it is skipped.",
    ),
]


def _show_rules(value: bool) -> None:
    if value:
        from lifevalue.segments.behaviour import default_rules_text

        console.print(default_rules_text(), markup=False, highlight=False, end="")
        raise typer.Exit()


@app.command()
def segments(
    orders: Annotated[
        list[Path],
        typer.Argument(
            help="customers.parquet (or .csv) written by `lifevalue analyze`, or the order "
            "log itself (files, folders or globs, as for analyze).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the output files.")] = Path(
        "lifevalue-out"
    ),
    rules: RulesOpt = None,
    carts: CartsOpt = None,
    show_rules: Annotated[
        bool,
        typer.Option(
            "--show-rules",
            help="Print the default rules file (a starting point for --rules) and exit.",
            is_eager=True,
            callback=_show_rules,
        ),
    ] = False,
    end: Annotated[
        str | None,
        typer.Option(help="With an order log: last day of observation, YYYY-MM-DD."),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="With an order log: fit this purchase model first (auto, bgnbd, mbgnbd, pnbd) "
            "so that vip and at_risk use predicted CLV and P(alive); none (default) uses "
            "historical spend and gaps between orders instead.",
        ),
    ] = "none",
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
    """Put every customer in an RFM group and in behavioural segments.

    RFM: recency, frequency and monetary scores 1-5 by quintiles and one of 11 groups
    (champions, loyal, potential_loyalist, new, promising, need_attention, about_to_sleep,
    at_risk, cant_lose_them, hibernating, lost). Behavioural segments (a customer can be in
    several): first_time, repeat, big_spender, high_aov, full_price, discount_shopper, vip,
    at_risk, lapsed, cart_abandoner; each a rule you can change with --rules. Model predictions
    (predicted_clv, probability_alive) in the customer file are used when present.

    Writes to --out: customers.parquet and customers.csv (the summary plus r_score, f_score,
    m_score, rfm_group and segments, semicolon-separated) and segments.csv (customers, share,
    revenue share and average historical / predicted CLV per segment and RFM group).

    [bold]Examples[/]

      lifevalue segments results/customers.parquet --out results/

      lifevalue segments orders.csv --out results/ --rules my_rules.toml --carts carts.csv

      lifevalue segments orders.csv --out results/ --model auto

      lifevalue segments --show-rules > my_rules.toml
    """
    from lifevalue.segments import segment_summary
    from lifevalue.segments.assign import segment_input, write_customers

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
    with step_progress() as say:
        result = segment_input(
            orders,
            read,
            end=parse_date(end, "--end"),
            rules=rules,
            carts=carts,
            model=model,
            progress=say,
        )
        say("writing files")
        summary = segment_summary(result.customers, result.segments)
        files = write_customers(result.customers, out)
        files["segments.csv"] = out / "segments.csv"
        summary.to_csv(files["segments.csv"], index=False)
    for notice in result.notices:
        err_console.print(f"[yellow]note:[/] {notice}", highlight=False, soft_wrap=True)
    from rich.table import Table

    table = Table(
        title=f"Segments of {len(result.customers):,} customers (avg: historical / predicted CLV)",
        title_justify="left",
    )
    for col in ("segment", "customers", "% cust.", "% revenue", "avg 12m", "avg pred. CLV"):
        table.add_column(col, justify="left" if col == "segment" else "right")
    numbers = (
        ("share_of_customers", 100.0, ".1f"),
        ("revenue_share", 100.0, ".1f"),
        ("avg_historical_clv", 1.0, ",.2f"),
        ("avg_predicted_clv", 1.0, ",.2f"),
    )
    for row in summary.to_dict("records"):
        prefix = "rfm:" if row["kind"] == "rfm" else ""  # as --segment of `lifevalue audience`
        cells = [f"{prefix}{row['segment']}", f"{row['customers']:,}"]
        for key, scale, spec in numbers:
            value = float(row[key])
            cells.append("-" if value != value else format(scale * value, spec))
        table.add_row(*cells)
    console.print(table)
    console.print("Wrote: " + ", ".join(str(p) for p in files.values()), soft_wrap=True)


@app.command()
def audience(
    orders: Annotated[
        list[Path],
        typer.Argument(
            help="customers.parquet written by `lifevalue segments` (with email/phone), "
            "customers.parquet of analyze, or the order log itself.",
            show_default=False,
        ),
    ],
    segment: Annotated[
        str,
        typer.Option(
            "--segment",
            "-s",
            help="Behavioural segment (e.g. at_risk, vip) or RFM group written rfm:NAME "
            "(e.g. rfm:champions; a plain RFM group name works when no behavioural segment "
            "has it).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="CSV file to write (default audience-SEGMENT-PLATFORM.csv)."
        ),
    ] = None,
    platform: Annotated[
        str,
        typer.Option(
            help="google: Customer Match (headers Email, Phone; phone hashed as E.164 with "
            "'+'). meta: custom audience (headers email, phone; digits only, no '+').",
        ),
    ] = "google",
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="hashed: SHA-256 hex of the normalised value (trimmed, lower-case e-mail; "
            "E.164 phone). plain: the normalised values.",
        ),
    ] = "hashed",
    region: Annotated[
        str | None,
        typer.Option(
            help="Country (ISO code such as GB) for phone numbers written without "
            "international prefix when the customer's country is unknown.",
        ),
    ] = None,
    rules: RulesOpt = None,
    carts: CartsOpt = None,
    end: Annotated[
        str | None,
        typer.Option(help="With an order log: last day of observation, YYYY-MM-DD."),
    ] = None,
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
    """Export one segment as a customer list for Google Ads or Meta uploads.

    E-mails are trimmed and lower-cased; phones are parsed with libphonenumber (in the
    customer's country, else --region) and written in E.164; with --format hashed (default)
    each is replaced by the hex SHA-256 of that text, as the platforms require. One row per
    customer with a usable e-mail or phone. The customer file needs segments (from
    `lifevalue segments`); without them the segments are computed here (--rules, --carts).

    [bold]Examples[/]

      lifevalue audience results/customers.parquet --segment at_risk --out at_risk.csv

      lifevalue audience orders.csv --segment rfm:champions --platform meta --region GB
    """
    from lifevalue.errors import InputError
    from lifevalue.segments import export_audience
    from lifevalue.segments.assign import is_customer_file, read_customers, segment_input

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
    if platform not in ("google", "meta"):
        raise ConfigError(f"--platform must be google or meta, not '{platform}'")
    if fmt not in ("hashed", "plain"):
        raise ConfigError(f"--format must be hashed or plain, not '{fmt}'")
    target = out or Path(f"audience-{segment.replace(':', '-')}-{platform}.csv")
    with step_progress() as say:
        customers = None
        notices: list[str] = []
        if is_customer_file(orders):
            customers = read_customers(orders[0])
        if customers is None or "segments" not in customers.columns:
            seg = segment_input(
                orders, read, end=parse_date(end, "--end"), rules=rules, carts=carts, progress=say
            )
            customers, notices = seg.customers, seg.notices
        say(f"exporting {segment}")
        export = export_audience(
            customers,
            segment,
            platform=platform,  # type: ignore[arg-type]
            format=fmt,  # type: ignore[arg-type]
            default_region=region,
        )
        if export.customers == 0:
            raise InputError(f"no customer is in segment '{segment}'; nothing written")
        export.write_csv(target)
    for notice in notices:
        err_console.print(f"[yellow]note:[/] {notice}", highlight=False, soft_wrap=True)
    console.print(
        f"{export.customers:,} customers in {segment}: {export.emails:,} e-mails, "
        f"{export.phones:,} phones usable, {export.skipped:,} without either; "
        f"{len(export.frame):,} rows ({platform}, {fmt}) -> {target}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command()
def recommend(
    orders: OrdersArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the output files.")] = Path(
        "lifevalue-out"
    ),
    k: Annotated[
        int, typer.Option("--k", help="Products recommended per customer (and the k of @k).")
    ] = 10,
    min_support: Annotated[
        float,
        typer.Option(
            "--min-support",
            help="pairs.csv: minimum share of orders holding both products (0.01 = 1 %).",
        ),
    ] = 0.01,
    top_k: Annotated[
        int, typer.Option("--top-k", help="pairs.csv: products listed per product.")
    ] = 10,
    min_lift: Annotated[
        float,
        typer.Option(
            "--min-lift", help="pairs.csv: minimum lift (1 = together as often as by chance)."
        ),
    ] = 1.0,
    exclude_item: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude-item",
            help="Item (sku) never counted nor recommended, e.g. postage; repeat the option "
            "for several.",
        ),
    ] = None,
    evaluate: Annotated[
        bool,
        typer.Option(
            "--evaluate",
            help="Also hold out orders, recommend from the rest and compare hit rate, "
            "precision, recall @k and MRR with a popularity baseline (evaluation.json).",
        ),
    ] = False,
    split: Annotated[
        str,
        typer.Option(
            help="With --evaluate: last_order (each customer's last order is held out) or a "
            "date YYYY-MM-DD (orders from that day on are held out).",
        ),
    ] = "last_order",
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
    """Products bought together, and the next products to offer each customer.

    Needs line items (sku or product per row). Cancelled/refunded lines and returns are left
    out. Writes to --out: pairs.csv (per product the products most often in the same order,
    with support, confidence, lift and count), customer_recommendations.csv (k products per
    customer: re-buys, products that go with what they bought, popular ones for new
    customers), cross_sell.csv and up_sell.csv when products have a category, and with
    --evaluate evaluation.json.

    [bold]Examples[/]

      lifevalue recommend orders.csv --out results/ --evaluate

      lifevalue recommend online_retail.csv.gz --preset online_retail --exclude-item POST --k 10
    """
    from lifevalue.io import read_orders
    from lifevalue.recommend import Recommender, frequently_bought_together
    from lifevalue.recommend import evaluate as run_evaluation
    from lifevalue.recommend.cooccurrence import Baskets, orders_table
    from lifevalue.recommend.evaluate import parse_split
    from lifevalue.segments.assign import write_frame

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
    if k < 1:
        raise ConfigError(f"--k must be at least 1, not {k}")
    if evaluate:
        parse_split(split)  # a bad --split fails before the work
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    with step_progress() as say:
        ingested = read_orders(orders, read, progress=say)
        say("building baskets")
        baskets = Baskets.from_orders(
            orders_table(ingested.con), exclude_items=tuple(exclude_item or ())
        )
        say("mining pairs")
        pairs = frequently_bought_together(
            baskets, min_support=min_support, top_k=top_k, min_lift=min_lift
        )
        files["pairs.csv"] = write_frame(pairs, out / "pairs.csv")
        say("recommending")
        model = Recommender().fit(baskets)
        recs = model.recommend(k)
        files["customer_recommendations.csv"] = write_frame(
            recs, out / "customer_recommendations.csv"
        )
        if baskets.has_categories:
            files["cross_sell.csv"] = write_frame(model.cross_sell(), out / "cross_sell.csv")
            files["up_sell.csv"] = write_frame(model.up_sell(), out / "up_sell.csv")
        result = None
        if evaluate:
            say("evaluating")
            result = run_evaluation(baskets, k=k, split=split)
            files["evaluation.json"] = result.write_json(out / "evaluation.json")
    console.print(
        f"{baskets.n_orders:,} orders, {baskets.n_items:,} products, "
        f"{baskets.customers.size:,} customers; {len(pairs):,} pairs at support >= "
        f"{min_support:g}",
        highlight=False,
        soft_wrap=True,
    )
    if not baskets.has_categories:
        err_console.print("[yellow]note:[/] no product categories: no cross-sell or up-sell")
    if result is not None:
        from rich.table import Table

        console.print(
            f"Next-order products @{result.k}, split {result.split}, "
            f"{result.customers:,} customers evaluated",
            highlight=False,
        )
        table = Table()
        for col in ("", "hit rate", "precision", "recall", "MRR"):
            table.add_column(col, justify="left" if not col else "right")
        for name, m in (("lifevalue", result.lifevalue), ("popularity", result.popularity)):
            table.add_row(
                name, f"{m.hit_rate:.3f}", f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.mrr:.3f}"
            )
        console.print(table)
        if result.weights is not None:
            console.print(
                f"lifevalue's blend: repeat weight {result.weights[0]:g}, co-occurrence weight "
                f"{result.weights[1]:g} (chosen on the orders before the held-out ones)",
                highlight=False,
            )
    console.print("Wrote: " + ", ".join(str(p) for p in files.values()), soft_wrap=True)


@app.command()
def report(
    orders: OrdersArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="HTML file to write (folders are created).")
    ] = Path("report.html"),
    title: Annotated[
        str | None,
        typer.Option(help="Title of the page (default: Customer lifetime value report)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="Last day of observation, YYYY-MM-DD (default: the last order's day)."),
    ] = None,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end",
            help="Split at this day, as in analyze: the report then compares the model's "
            "predictions with the purchases after it.",
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
    model: ModelOpt = "auto",
    horizon: HorizonOpt = None,
    discount_rate: DiscountOpt = 0.10,
    margin: MarginOpt = 1.0,
    seasonal: SeasonalOpt = "auto",
    segments: Annotated[
        bool,
        typer.Option(
            "--segments/--no-segments",
            help="Segment the customers (RFM groups and the default rules of lifevalue "
            "segments) for the segments section.",
        ),
    ] = True,
    pairs: Annotated[
        bool,
        typer.Option(
            "--pairs/--no-pairs",
            help="Mine products bought together (as lifevalue recommend) for the pairs section; "
            "needs line items with a sku or product column.",
        ),
    ] = True,
) -> None:
    """Write the CLV report: one self-contained HTML page of charts, tables and plain words.

    Runs the analysis of [bold]lifevalue analyze[/] (same options, models included) and writes
    one HTML file that opens in any browser, offline: headline numbers, revenue concentration,
    retention and cohorts, segments, model fit, valuable customers at risk and products bought
    together. Sections without data (no model, no products) say what is missing. The page says
    when it was generated; set SOURCE_DATE_EPOCH (a Unix time in seconds) to print that time
    instead, so that the same data gives the same file.

    [bold]Examples[/]

      lifevalue report orders.csv --out report.html

      lifevalue report CDNOW_sample.txt --preset cdnow --calibration-end 1997-09-30 \
        --time-unit weeks --out cdnow.html

      lifevalue report orders.parquet --model none --out quick.html
    """
    from lifevalue.pipeline import run_analysis
    from lifevalue.report.builder import report_time
    from lifevalue.report.from_analysis import report_from_analysis

    read = read_options_from(locals())
    options = analysis_options_from(locals(), segments=segments)
    report_time()  # a bad SOURCE_DATE_EPOCH stops the run before the analysis
    with step_progress() as say:
        result = run_analysis(orders, read, options, progress=say)
        say("writing the report")
        path = report_from_analysis(result, out, title=title, segments=segments, pairs=pairs)
    size = path.stat().st_size / 1e6
    console.print(f"Wrote {path} ({size:.1f} MB)", highlight=False, soft_wrap=True)


# --- predict, subscriptions ----------------------------------------------------------------------


@app.command()
def predict(
    orders: OrdersArg,
    model_file: Annotated[
        Path,
        typer.Option(
            "--model",
            "-m",
            help="model.json written by `lifevalue analyze` (its parameters are used as they "
            "are, nothing is refitted).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the output files.")] = Path(
        "lifevalue-out"
    ),
    end: Annotated[
        str | None,
        typer.Option(
            help="Last day of observation, YYYY-MM-DD (default: the last order's day); the "
            "predictions start after it."
        ),
    ] = None,
    horizon: Annotated[
        float | None,
        typer.Option(
            "--horizon",
            help="Prediction horizon in the model's time unit (default: the one the model was "
            "run with). Example: --horizon 52",
            show_default=False,
        ),
    ] = None,
    discount_rate: Annotated[
        float | None,
        typer.Option(
            "--discount-rate",
            help="Annual discount rate (default: the model's). Example: --discount-rate 0.08",
            show_default=False,
        ),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            help="Share of revenue counted (default: the model's). Example: --margin 0.3",
            show_default=False,
        ),
    ] = None,
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
    """Score an order log with a saved model: the predicted columns without refitting.

    Summarises the customers of ORDERS as `lifevalue analyze` does (same reading options, the
    model's time unit) and adds predicted_purchases, probability_alive, predicted_spend,
    predicted_clv, predicted_purchases_low/_high and expected_next_order from the models in
    model.json. Writes the same files as analyze to --out (model.json with this run's
    prediction settings).

    [bold]Examples[/]

      lifevalue analyze orders_2024.csv --out fit/

      lifevalue predict orders_2025.csv --model fit/model.json --out scored/

      lifevalue predict orders.parquet -m fit/model.json --horizon 90 --margin 0.3
    """
    from lifevalue.models.pipeline_step import load_saved, options_from_saved
    from lifevalue.pipeline import AnalysisOptions, run_analysis, write_outputs

    saved = load_saved(model_file)
    model_options = options_from_saved(
        saved, horizon=horizon, discount_rate=discount_rate, margin=margin
    )
    model_options.check()
    time_unit = str(saved["time_unit"])
    if time_unit not in ("days", "weeks"):
        raise ConfigError(f"{model_file}: time unit '{time_unit}' is not days or weeks")
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
        time_unit=time_unit,  # type: ignore[arg-type]
        model=model_options,
        saved_model=saved,
    )
    with step_progress() as say:
        result = run_analysis(orders, read, options, progress=say, rejects_to=out)
        say("writing files")
        files = write_outputs(result, out)
    print_models(result.extra["model_run"], result.con)
    console.print("Wrote: " + ", ".join(str(p) for p in files.values()), soft_wrap=True)


@app.command()
def subscriptions(
    cohorts: Annotated[
        Path,
        typer.Argument(
            help="CSV of active subscribers per cohort and period: long (columns cohort, "
            "period, active) or wide (cohort, then columns 0, 1, 2, ...; period 0 = the "
            "cohort's size, empty cells after its last observed period).",
            show_default=False,
        ),
    ],
    periods: Annotated[
        int,
        typer.Option(
            "--periods",
            "-n",
            help="Periods to project past each cohort's last observed period. Example: -n 24",
        ),
    ] = 12,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="CSV to write: cohort, period, observed_active, projected_active, "
            "projected_retention (one row per cohort and period).",
        ),
    ] = None,
) -> None:
    """Project subscriber retention per cohort (shifted-beta-geometric model).

    Fits one sBG model (Fader & Hardie 2007: each subscriber renews every period with a
    constant probability that varies across subscribers as a Beta distribution) on all
    cohorts, then prints per cohort: size, subscribers left, projected retention --periods
    ahead and the expected lifetime in periods (how many periods a subscriber of the cohort
    pays for, counting the first).

    [bold]Examples[/]

      lifevalue subscriptions cohorts.csv

      lifevalue subscriptions cohorts.csv --periods 24 --out projection.csv

    A wide cohorts.csv: [dim]cohort,0,1,2,3[/] then [dim]2024-01,1000,631,468,382[/]
    """
    from rich.table import Table

    from lifevalue.models import ShiftedBetaGeoModel
    from lifevalue.models.subscriptions import project_cohorts, read_cohorts

    if periods < 0 or periods > 10_000:
        raise ConfigError(f"--periods must be between 0 and 10000, not {periods}")
    labels, mat = read_cohorts(cohorts)
    if mat.shape[1] < 2:
        raise ConfigError(
            f"{cohorts}: at least two periods (the cohort size and one more) are needed"
        )
    with warnings.catch_warnings():  # shown as a note below
        warnings.simplefilter("ignore", IdentificationWarning)
        model = ShiftedBetaGeoModel().fit(mat)
    for note in model.fit_notes_:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    summary, curve = project_cohorts(model, labels, mat, periods)
    a, b = model.params_["alpha"], model.params_["beta"]
    console.print(
        f"sBG fitted on {len(labels):,} cohorts ({model.n_customers_:,.0f} subscribers): "
        f"alpha={a:.4g}, beta={b:.4g}; mean churn probability of a new subscriber "
        f"{a / (a + b):.1%}, retention rising over time (log-likelihood "
        f"{model.log_likelihood_:,.1f})",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(
        title=f"Retention per cohort, projected {periods} periods ahead", title_justify="left"
    )
    for col in (
        "cohort",
        "size",
        "periods seen",
        "active now",
        "retention now",
        f"retention +{periods}",
        "exp. lifetime",
        f"lifetime ≤ +{periods}",
    ):
        table.add_column(col, justify="left" if col == "cohort" else "right")
    for r in summary.to_dict("records"):
        life = r["expected_lifetime"]
        table.add_row(
            str(r["cohort"]),
            f"{r['size']:,.0f}",
            str(r["last_period"]),
            f"{r['active']:,.0f}",
            f"{r['retention_now']:.1%}",
            f"{r['projected_retention_end']:.1%}",
            "unbounded" if life == float("inf") else f"{life:.2f}",
            f"{r['expected_lifetime_within']:.2f}",
        )
    console.print(table)
    if a <= 1:
        err_console.print(
            "[yellow]note:[/] alpha <= 1: the fitted churn distribution leaves a share of very "
            "loyal subscribers, so the expected lifetime has no finite value; the lifetime "
            "within the projection window is shown beside it",
            highlight=False,
            soft_wrap=True,
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        curve.to_csv(out, index=False)
        console.print(f"Wrote {out}", highlight=False, soft_wrap=True)
