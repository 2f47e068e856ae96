"""``costledger export``: the ledger of a period as CSV, Parquet or FinOps FOCUS 1.2."""

from __future__ import annotations

import click

from ..export import FORMATS, export_ledger
from ..export.money import nanos_to_text


def register(group: click.Group) -> None:
    group.add_command(export)


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="csv",
    show_default=True,
    help="csv: ledger columns; parquet: the same, typed (needs costledger[parquet]); "
    "focus: FinOps FOCUS 1.2 columns plus x_ columns.",
)
@click.option(
    "--period",
    default="all",
    show_default=True,
    help="YYYY, YYYY-MM, YYYY-Www, YYYY-MM-DD, YYYY-MM-DD..YYYY-MM-DD, last-Nd or all (UTC).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    show_default=True,
    help="File to write ('-' = standard output; parquet needs a file).",
)
@click.option(
    "--db", "database_url", help="Ledger database URL (default: $COSTLEDGER_DATABASE_URL)."
)
def export(fmt: str, period: str, out: str, database_url: str | None) -> None:
    """Export the ledger rows of a period for finance tools.

    \b
    Examples:
      costledger export --format csv --period 2025-05 --out may.csv
      costledger export --format parquet --period 2025 --out ledger-2025.parquet
      costledger export --format focus --period 2025-05 --out may-focus.csv
    """
    result = export_ledger(fmt, period, out=out, database_url=database_url)
    if result.out != "-":
        click.echo(
            f"wrote {result.rows} rows ({result.unpriced_rows} unpriced) to {result.out}: "
            f"${nanos_to_text(result.cost_nanos)} {result.format}, period {period}",
            err=True,
        )
