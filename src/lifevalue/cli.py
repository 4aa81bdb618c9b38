"""The ``lifevalue`` command line: thin wrappers that parse options, call the library, print.

Each command lives in one function here; the work happens in the library packages.
User errors (:class:`lifevalue.errors.LifevalueError`) print one red line and exit with code 2.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from lifevalue.errors import LifevalueError

app = typer.Typer(
    name="lifevalue",
    help="Customer lifetime value for online stores: measure, understand, act.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

#: Tables and summaries go to stdout; progress and errors to stderr.
console = Console()
err_console = Console(stderr=True)


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
