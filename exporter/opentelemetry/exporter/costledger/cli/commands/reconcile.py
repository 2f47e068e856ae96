"""``costledger reconcile``: the ledger against what the providers billed, per day × model."""

from __future__ import annotations

from decimal import Decimal

import click

from ...columns import Column
from ...imports.invoices import import_provider_costs
from ...jobs.reconcile import reconcile
from ..output import emit, format_option
from ._options import Amount, db_option, period_option

COLUMNS = [
    Column("day", "Day"),
    Column("provider", "Provider"),
    Column("model", "Model"),
    Column("ledger_cost_nanos", "Ledger", "money"),
    Column("provider_cost_nanos", "Billed", "money"),
    Column("difference_nanos", "Difference", "money"),
    Column("drift", "Drift", "pct"),
    Column("ledger_tokens", "Ledger tok", "int"),
    Column("provider_tokens", "Billed tok", "int"),
    Column("quantity_effect_nanos", "Quantity", "money"),
    Column("price_effect_nanos", "Price", "money"),
    Column("cost_source", "Billed from"),
    Column("cause", "Cause"),
    Column("flagged", "Flagged", "flags"),
]


def register(group: click.Group) -> None:
    group.add_command(reconcile_command)


@click.command("reconcile")
@period_option(default="last-month")
@click.option(
    "--import",
    "imports",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Import this provider export first (same as `costledger import invoices`); repeatable.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0, None),
    default=1.0,
    show_default=True,
    help="Flag a day × model whose difference exceeds this percentage ...",
)
@click.option(
    "--tolerance-abs",
    type=Amount(),
    default="0.01",
    show_default=True,
    help="... and this many dollars.",
)
@click.option("--flagged", "only_flagged", is_flag=True, help="Show only flagged rows.")
@db_option
@format_option()
def reconcile_command(
    period: str,
    imports: tuple[str, ...],
    tolerance: float,
    tolerance_abs: Decimal,
    only_flagged: bool,
    database_url: str | None,
    fmt: str,
) -> None:
    """Compare the ledger with imported provider costs per UTC day × model: difference, drift,
    and whether it is a quantity (tokens the ledger lacks) or a price difference. Results go to
    the table reconciliation.

    \b
    Example:
      costledger reconcile --period 2025-05 --import anthropic-cost-2025-05.json
    """
    for path in imports:
        import_provider_costs(database_url, path)
    rows = reconcile(
        database_url,
        period=period,
        tolerance=Decimal(str(tolerance)) / 100,
        tolerance_abs=tolerance_abs,
    )
    if only_flagged:
        rows = [r for r in rows if r.flagged]
    emit(rows, COLUMNS, fmt, title=f"Reconciliation {period}")
