"""Click options and the progress bar shared by the ``costledger`` verbs (``commands/*.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ...jobs.option_table import CURRENCY_OPTIONS, OPTIONS, JobOption

# PERIOD_HELP: one spelling of periods in every --help
from ...jobs.option_table import PERIOD_HELP as PERIOD_HELP

F = TypeVar("F", bound=Callable[..., Any])


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


def _split(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """A repeatable option that also takes comma-separated values (``-d customer,model``)."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _param(spec: JobOption, defaults: bool) -> Callable[[F], F]:
    """The click argument or option of one declared job option (see ``jobs/option_table.py``)."""
    name = spec.param or spec.name
    a_file = click.Path(exists=True, dir_okay=False)
    if spec.argument:
        return click.argument(name, type=a_file)
    decls = [spec.cli_flag, *([spec.short] if spec.short else []), name]
    settings: dict[str, Any] = {"help": spec.help}
    if spec.kind == "flag":
        return click.option(*decls, is_flag=True, **settings)
    if spec.kind in ("list", "files"):
        kind = a_file if spec.kind == "files" else None
        return click.option(*decls, multiple=True, type=kind, callback=_split, **settings)
    settings["type"] = {
        "choice": click.Choice(spec.choices),
        "amount": Amount(),
        "percent": Percent(),
        "count": click.IntRange(spec.minimum),
        "file": a_file,
        "budgets": a_file,
    }.get(spec.kind)
    if spec.default is not None:
        if defaults or spec.display:
            settings.update(default=spec.default, show_default=True)
        else:  # resolved after a --config file, whose values the defaults must not override
            settings["help"] += f" [default: {spec.default}]"
    return click.option(*decls, **settings)


def job_params(job: str, *, defaults: bool = True) -> Callable[[F], F]:
    """The arguments and options of ``job``'s command, made from the job's declared options:
    the command and ``jobs run`` / schedules accept the same names by construction."""

    def decorate(func: F) -> F:
        for spec in reversed(OPTIONS[job]):
            func = _param(spec, defaults)(func)
        return func

    return decorate


class Percent(Amount):
    """A non-negative percentage, read exactly (``20``, ``0.5``)."""

    name = "percent"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ...jobs.amounts import parse_amount

        amount = parse_amount(value)
        if amount is None:
            self.fail(f"{value!r} is not a percentage such as 20 or 0.5", param, ctx)
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


def currency_options(func: F) -> F:
    """``--currency CODE`` and ``--rates FILE`` of a command that is not a job (the jobs
    declare them in ``jobs/option_table.py``, whose declaration this is): show money in another
    currency; the command reads them with :func:`...currency.resolve_rates`."""
    for spec in reversed(CURRENCY_OPTIONS):
        func = _param(spec, True)(func)
    return func
