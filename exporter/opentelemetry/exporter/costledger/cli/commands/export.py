"""``costledger export``: the ledger of a period as CSV, Parquet or FinOps FOCUS 1.2 / 1.3."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import format_usd, nanos_to_text

from ...currency import amount_text, format_money, resolve_rates
from ...export import DATASETS, DEFAULT_FOCUS_VERSION, FOCUS_VERSIONS, FORMATS, export_ledger
from ._options import currency_options, db_option


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
    "focus: FinOps FOCUS columns (--focus-version) plus x_ columns.",
)
@click.option(
    "--focus-version",
    type=click.Choice(FOCUS_VERSIONS),
    default=DEFAULT_FOCUS_VERSION,
    show_default=True,
    help="FOCUS version of --format focus: 1.2 (57 columns) or 1.3 (65: adds the split cost "
    "allocation columns and ServiceProviderName/HostProviderName).",
)
@click.option(
    "--dataset",
    type=click.Choice(DATASETS),
    default="ledger",
    show_default=True,
    help="ledger: every cost row (allocated shares included); allocations: how each shared "
    "bill was split (csv/parquet).",
)
@click.option(
    "--period",
    default="all",
    show_default=True,
    help="all, or a period: 2025-05, 2025-W19, 2025-05-02, 2025, 2025-05-01..2025-05-15, "
    "last-month, ...",
)
@click.option(
    "--tz", "time_zone", help="Time zone of the period (default: $COSTLEDGER_TIMEZONE, UTC)."
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    default="-",
    show_default=True,
    help="File to write ('-' = standard output; parquet needs a file).",
)
@currency_options
@db_option
def export(
    fmt: str,
    focus_version: str,
    dataset: str,
    period: str,
    time_zone: str | None,
    out: str,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Export the ledger rows of a period for finance tools.

    \b
    Examples:
      costledger export --format csv --period 2025-05 --out may.csv
      costledger export --format parquet --period 2025 --out ledger-2025.parquet
      costledger export --format focus --period 2025-05 --out may-focus.csv
      costledger export --format focus --focus-version 1.3 --period 2025-05 --out may-1.3.csv
      costledger export --dataset allocations --period 2025-05 --out may-allocations.csv
      costledger export --period 2025-05 --currency EUR --rates eurofxref-hist.csv --out may.csv
    """
    if focus_version != DEFAULT_FOCUS_VERSION and fmt != "focus":
        raise click.UsageError("--focus-version goes with --format focus")
    rates = resolve_rates(currency, rates_file)
    result = export_ledger(
        database_url,
        fmt=fmt,
        period=period,
        dataset=dataset,
        out=out,
        time_zone=time_zone,
        focus_version=focus_version,
        rates=rates,
    )
    label = f"focus {focus_version}" if fmt == "focus" else result.format
    if result.out != "-":
        total = f"{format_usd(result.cost_nanos)} (exactly {nanos_to_text(result.cost_nanos)} USD"
        if result.converted_nanos is not None:
            total = (
                f"{format_money(result.converted_nanos, result.currency)} (exactly"
                f" {amount_text(result.converted_nanos)} {result.currency}, each row at its"
                f" day's rate; {nanos_to_text(result.cost_nanos)} USD"
            )
        click.echo(
            f"wrote {result.rows} {dataset} rows ({result.unpriced_rows} without amount) to "
            f"{result.out}: {total}; {label}, period {result.period})",
            err=True,
        )
