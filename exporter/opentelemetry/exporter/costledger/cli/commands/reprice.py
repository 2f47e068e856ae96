"""``costledger reprice``: price ledger rows again with the current prices."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import nanos_to_text

from ...ledger.reprice import DEFAULT_BATCH_SIZE, reprice
from ._options import db_option, prices_option


def register(group: click.Group) -> None:
    group.add_command(reprice_command)


@click.command("reprice")
@click.option("--period", help="Rows of this period (2025-06, 2025-W23, 2025-06-01..2025-06-15).")
@click.option(
    "--model", help="Rows of this model (glob: 'claude-*'; case-sensitive, as model ids are)."
)
@click.option("--provider", help="Rows of this provider (anthropic, openai, ...).")
@click.option("--unpriced", is_flag=True, help="Only rows that have no price.")
@prices_option
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, help="Rows per transaction."
)
@db_option
def reprice_command(
    period: str | None,
    model: str | None,
    provider: str | None,
    unpriced: bool,
    price_file: str | None,
    dry_run: bool,
    batch_size: int,
    database_url: str | None,
) -> None:
    """Price ledger rows again with the current prices and record each change.

    Each row is priced at its own timestamp from its token counts (or quantity and unit).
    Rows whose cost or price rule changes are updated, and each change is recorded in
    ledger_repricings (old and new cost and rule, when, why). Running it twice changes
    nothing the second time.

    \b
    Examples:
      costledger reprice --unpriced
      costledger reprice --period 2025-06 --prices prices.toml
      costledger reprice --model 'claude-*' --dry-run
    """
    result = reprice(
        database_url,
        period=period,
        model=model,
        provider=provider,
        unpriced=unpriced,
        price_file=price_file,
        dry_run=dry_run,
        batch_size=batch_size,
    )
    verb = "would change" if dry_run else "changed"
    delta = result.delta_nanos
    sign = "+" if delta >= 0 else "-"
    click.echo(
        f"examined {result.examined} rows: {verb} {result.changed}"
        f" ({result.newly_priced} newly priced, {result.lost_price} lost their price),"
        f" {result.still_unpriced} still unpriced, {result.skipped} skipped;"
        f" cost {sign}${nanos_to_text(abs(delta))}"
    )
    for change in result.changes:
        old = (
            "unpriced"
            if change.old_cost_nanos is None
            else f"${nanos_to_text(change.old_cost_nanos)}"
        )
        new = (
            f"unpriced ({change.new_unpriced_reason})"
            if change.new_cost_nanos is None
            else f"${nanos_to_text(change.new_cost_nanos)} by {change.new_rule}"
        )
        what = change.model or change.category
        if change.model and change.category not in ("api", "embedding"):
            what = f"{change.category} {change.model}"
        click.echo(f"  #{change.entry_id} {change.timestamp:%Y-%m-%d} {what}: {old} -> {new}")
    if result.changed > len(result.changes):
        click.echo(f"  ... and {result.changed - len(result.changes)} more")
