"""``costledger report``: the self-contained HTML report, or its tables in the terminal."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import to_nanos

from ...columns import FORMATS
from ...currency import converted_key, resolve_rates
from ...report import DEFAULT_TOP_N, convert_report_data, report_data, write_report
from ...report.tables import SECTIONS, section
from ..output import emit
from ._options import currency_options, db_option

TZ_HELP = "Time zone of the days (default: $COSTLEDGER_TIMEZONE, else UTC)."
DB_HELP = "Ledger database URL (default: $COSTLEDGER_DATABASE_URL)."


def register(group: click.Group) -> None:
    group.add_command(report)


@click.command("report")
@click.option(
    "--period",
    default="this-month",
    show_default=True,
    help="2025-05, 2025-W19, 2025-05-02, 2025, 2025-05-01..2025-05-15, today, last-month, ...",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the HTML report to this file (one self-contained page that works offline).",
)
@click.option(
    "--show",
    type=click.Choice(SECTIONS),
    multiple=True,
    help="Without --out: the section(s) to print (default: customers, categories, ranking).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Terminal output: table for people; csv/json are exact, for one --show section.",
)
@click.option("--top", "top_n", default=DEFAULT_TOP_N, show_default=True, help="Customers charted.")
@click.option(
    "--tz", "time_zone", help="Time zone of the days (default $COSTLEDGER_TIMEZONE or UTC)."
)
@currency_options
@db_option
def report(
    period: str,
    out: str | None,
    show: tuple[str, ...],
    fmt: str,
    top_n: int,
    time_zone: str | None,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """AI cost per day, customer, work item and category; ranking, alerts, unpriced models.

    \b
    Examples:
      costledger report --period 2025-05 --out report.html
      costledger report --period 2025-05                      # tables in the terminal
      costledger report --period 2025-05 --show daily --format csv
      costledger report --period 2025-05 --currency EUR --rates eurofxref-hist.csv --out r.html
    """
    rates = resolve_rates(currency, rates_file)
    if out:
        path = write_report(
            database_url, out=out, period=period, time_zone=time_zone, top_n=top_n, rates=rates
        )
        click.echo(f"wrote {path}", err=True)
        return
    sections = show or ("customers", "categories", "ranking")
    if fmt != "table" and len(sections) != 1:
        raise click.UsageError("--format csv/json prints one table: pick it with --show")
    data = report_data(database_url, period=period, time_zone=time_zone, top_n=top_n)
    converted = convert_report_data(database_url, data, rates)
    for name in sections:
        records, columns, title = section(data, name)
        if converted is not None:
            # The USD figures stay beside each converted one (X_usd, X_eur), as in the jobs.
            in_currency, _, _ = section(converted, name)
            for record, other in zip(records, in_currency, strict=True):
                for column in columns:
                    if column.kind == "money":
                        value = other[column.key]
                        record[converted_key(column.key, rates.currency)] = (
                            value if value is None or isinstance(value, int) else to_nanos(value)
                        )
        emit(records, columns, fmt, title=title, currency=rates.currency)
