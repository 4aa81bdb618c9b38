"""Typer option types shared by the commands that read an order log (analyze, report, ...)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lifevalue.errors import ConfigError
from lifevalue.io.reader import ReadOptions

if TYPE_CHECKING:
    from lifevalue.pipeline import AnalysisOptions

_READ = "Reading the order log"

OrdersArg = Annotated[
    list[Path],
    typer.Argument(
        help="Order files, folders or glob patterns (CSV, Parquet, JSON Lines; .gz/.zst ok), "
        "read as one log.",
        show_default=False,
    ),
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        help="Column layout of a known export: shopify, woocommerce, cdnow, online_retail. "
        "Default: lifevalue's canonical names (customer_id, order_id, ordered_at, amount, ...).",
        rich_help_panel=_READ,
    ),
]
CustomerColOpt = Annotated[
    str | None,
    typer.Option("--customer-col", help="Column with the customer id.", rich_help_panel=_READ),
]
OrderColOpt = Annotated[
    str | None,
    typer.Option("--order-col", help="Column with the order id.", rich_help_panel=_READ),
]
DateColOpt = Annotated[
    str | None,
    typer.Option("--date-col", help="Column with the order timestamp.", rich_help_panel=_READ),
]
AmountColOpt = Annotated[
    str | None,
    typer.Option("--amount-col", help="Column with the amount (revenue).", rich_help_panel=_READ),
]
CurrencyColOpt = Annotated[
    str | None,
    typer.Option("--currency-col", help="Column with the currency.", rich_help_panel=_READ),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime format of the dates, e.g. '%d/%m/%Y'. Default: ISO 8601, then "
        "month-first formats (day-first dates are never guessed).",
        rich_help_panel=_READ,
    ),
]
TimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="Store time zone (IANA name) for timestamps without an offset; purchase days are "
        "calendar days in it. Default: the preset's, else $LIFEVALUE_STORE_TIMEZONE or UTC.",
        rich_help_panel=_READ,
    ),
]
CurrencyOpt = Annotated[
    str | None,
    typer.Option(help="Currency to record when the file has none.", rich_help_panel=_READ),
]
DelimiterOpt = Annotated[
    str | None,
    typer.Option(help="CSV delimiter (default: sniffed).", rich_help_panel=_READ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        help="Text encoding (default: sniffed: utf-8, latin-1 or cp1252).", rich_help_panel=_READ
    ),
]
AmountLevelOpt = Annotated[
    str | None,
    typer.Option(
        "--amount-level",
        help="'line': amounts of an order's rows add up; 'order': the amount is the order "
        "total (repeated or given once). Default: the preset's, else line.",
        rich_help_panel=_READ,
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Stop at the first bad row (exit code 2) instead of writing it to rejects.csv.",
        rich_help_panel=_READ,
    ),
]


def parse_date(value: str | None, option: str) -> date | None:
    """Parse an ISO date given on the command line, with a clear error."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"{option} must be a date like 2024-12-31, not '{value}'") from None


#: Parameter names of the shared reading options (as in :func:`build_read_options`).
READ_OPTION_NAMES: tuple[str, ...] = (
    "preset",
    "customer_col",
    "order_col",
    "date_col",
    "amount_col",
    "currency_col",
    "date_format",
    "timezone",
    "currency",
    "delimiter",
    "encoding",
    "amount_level",
    "strict",
)


def read_options_from(params: dict[str, Any]) -> ReadOptions:
    """ReadOptions from a command's parameters (pass ``locals()``; other names are ignored)."""
    return build_read_options(**{k: params[k] for k in READ_OPTION_NAMES})


def analysis_options_from(params: dict[str, Any], *, segments: bool = True) -> AnalysisOptions:
    """AnalysisOptions (with the model step) from a command's parameters, checked up front."""
    from lifevalue.pipeline import AnalysisOptions

    time_unit = params["time_unit"]
    if time_unit not in ("days", "weeks"):
        raise ConfigError(f"--time-unit must be days or weeks, not '{time_unit}'")
    model = None
    if params["model"] != "none":  # --model none does not even load the models (SciPy)
        from lifevalue.models.pipeline_step import ModelOptions

        model = ModelOptions(
            model=params["model"],
            horizon=params["horizon"],
            discount_rate=params["discount_rate"],
            margin=params["margin"],
            seasonal=params["seasonal"],
        )
        model.check()  # bad model options fail before the work
    return AnalysisOptions(
        end=parse_date(params["end"], "--end"),
        calibration_end=parse_date(params["calibration_end"], "--calibration-end"),
        time_unit=time_unit,
        active_days=params["active_days"],
        segments=segments,
        model=model,
    )


def build_read_options(
    *,
    preset: str | None,
    customer_col: str | None,
    order_col: str | None,
    date_col: str | None,
    amount_col: str | None,
    currency_col: str | None,
    date_format: str | None,
    timezone: str | None,
    currency: str | None,
    delimiter: str | None,
    encoding: str | None,
    amount_level: str | None,
    strict: bool,
) -> ReadOptions:
    """ReadOptions from the shared command-line options."""
    if amount_level not in (None, "line", "order"):
        raise ConfigError(f"--amount-level must be line or order, not '{amount_level}'")
    return ReadOptions(
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
        amount_level=amount_level,  # type: ignore[arg-type]
        strict=strict,
    )
