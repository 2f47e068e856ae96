"""``costledger import usage|business|invoices``: the user's own numbers into the ledger DB."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import format_usd

from ...imports.calls import import_calls
from ...imports.invoices import import_provider_costs
from ...imports.user_data import import_business, import_usage
from ._options import db_option, job_params


def register(group: click.Group) -> None:
    group.add_command(import_group)


@click.group("import")
def import_group() -> None:
    """Import usage (allocation drivers), business data (revenue), provider invoices, or past
    LLM calls and costs."""


@import_group.command("calls")
@job_params("import_calls")
@db_option
def calls_command(path: str, prices: str | None, database_url: str | None) -> None:
    """Past LLM calls and costs, priced at their own time (CSV or JSON Lines: id, timestamp,
    customer_id, work_item_id, provider, model, input_tokens, output_tokens, ...).

    Each line is one ledger row, priced at the prices in force at its timestamp. Re-importing
    a line with the same id adds nothing. A file with bad lines is refused whole, naming them.

    \b
    Example:
      costledger import calls calls-2025-05.csv --prices prices.toml
    """
    result = import_calls(database_url, path, price_book=prices)
    unpriced = f", {result.unpriced} unpriced (costledger prices check)" if result.unpriced else ""
    click.echo(
        f"imported {result.rows} call/cost row(s) from {path}: {result.inserted} new,"
        f" {result.duplicates} already in the ledger; {format_usd(result.cost_nanos)}"
        f" priced{unpriced}"
    )


@import_group.command("usage")
@job_params("import_usage")
@db_option
def usage_command(path: str, database_url: str | None) -> None:
    """Usage per customer and day (CSV: customer_id, date, metric, quantity).

    Used by allocation drivers usage:<metric> (e.g. usage:vectors). Re-importing the same
    (day, customer, metric) replaces it.

    \b
    Example:
      costledger import usage vectors.csv
    """
    result = import_usage(database_url, path)
    click.echo(f"imported {result.rows} usage row(s) from {path}")


@import_group.command("business")
@job_params("import_business")
@db_option
def business_command(path: str, database_url: str | None) -> None:
    """Revenue and margin per customer and period (CSV: customer_id, period, revenue,
    margin_pct or margin, plan, work_items).

    \b
    Example:
      costledger import business revenue-2025-05.csv
    """
    result = import_business(database_url, path)
    click.echo(f"imported {result.rows} business row(s) from {path}")


@import_group.command("invoices")
@job_params("import_invoices")
@db_option
def invoices_command(
    path: str, export_format: str, provider: str | None, database_url: str | None
) -> None:
    """What a provider billed: Anthropic/OpenAI cost and usage exports, or a generic CSV.

    \b
    Example:
      costledger import invoices anthropic-cost-report-2025-05.json
      costledger import invoices billing.csv --provider openai
    """
    result = import_provider_costs(
        database_url,
        path,
        source_format=None if export_format == "auto" else export_format,
        provider=provider,
    )
    click.echo(
        f"imported {result.rows} {result.source_format} row(s) for {', '.join(result.providers)}"
        f" ({result.first_day} .. {result.last_day}) from {path}"
    )
