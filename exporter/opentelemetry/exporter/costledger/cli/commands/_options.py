"""Click options and the progress bar shared by the ``costledger`` verbs (``commands/*.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

F = TypeVar("F", bound=Callable[..., Any])

PERIOD_HELP = (
    "2025-05, 2025-W19, 2025-05-02, 2025, 2025-05-01..2025-05-15, today, yesterday,"
    " this-week, last-week, this-month, last-month"
)


def check_database_url(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``--db`` (else ``COSTLEDGER_DATABASE_URL``) names a database costledger can use.

    Checked before the command runs (see :func:`..db.check_database_url`).
    """
    import os

    from ...ledger.db import DATABASE_URL_ENV, DatabaseURLError
    from ...ledger.db import check_database_url as check

    text = value or os.environ.get(DATABASE_URL_ENV)
    if not text:  # unset: the default file
        return value
    try:
        check(text)
    except DatabaseURLError as exc:
        where = "" if value else f"{DATABASE_URL_ENV}: "  # click names --db itself
        raise click.BadParameter(f"{where}{exc}", ctx, param) from None
    return value


# click.ParamType is generic from click 8.2 on; subscripting it would fail on the 8.1 floor.
class Amount(click.ParamType):  # type: ignore[type-arg]
    """A non-negative decimal amount of dollars, read exactly (``0.01``, ``5``, ``$1,000``)."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ...jobs.amounts import parse_amount

        amount = parse_amount(value)
        if amount is None:
            self.fail(f"{value!r} is not an amount of dollars such as 0.01 or 5", param, ctx)
        return amount


def db_option(func: F) -> F:
    return click.option(
        "--db",
        "database_url",
        metavar="URL",
        callback=check_database_url,
        help="Ledger database URL or SQLite file path [env COSTLEDGER_DATABASE_URL; default"
        " ~/.local/share/costledger/ledger.db].",
    )(func)


def prices_option(func: F) -> F:
    return click.option(
        "--prices",
        "price_file",
        type=click.Path(dir_okay=False, exists=True),
        help="Your price file (TOML/YAML) [env COSTLEDGER_PRICES].",
    )(func)


def max_attribute_length_option(func: F) -> F:
    return click.option(
        "--max-attribute-length",
        type=click.IntRange(16),
        default=4096,
        show_default=True,
        help="Attribute values (prompts!) are cut to this many characters before storage.",
    )(func)


def tz_option(func: F) -> F:
    return click.option(
        "--tz",
        "time_zone",
        help="IANA time zone periods are cut in (default $COSTLEDGER_TIMEZONE, else UTC).",
    )(func)


def period_option(default: str | None = None, required: bool = False) -> Callable[[F], F]:
    return click.option(
        "--period",
        default=default,
        required=required,
        show_default=default is not None,
        help=PERIOD_HELP,
    )


def _no_progress(done: int, total: int) -> None:
    pass


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal) as a callback."""
    console = Console(stderr=True)  # stdout carries the csv/json/table output
    if not enabled or not console.is_terminal:
        # No Progress at all: one that cannot show still writes a blank line to stderr on
        # exit in some rich releases (13.0), which lands in front of csv/json output that a
        # caller reads with stderr merged.
        yield _no_progress
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield advance
