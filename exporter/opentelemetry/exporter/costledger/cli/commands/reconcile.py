"""``costledger reconcile``: the ledger against what the providers billed, per day × model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from ...columns import Column
from ...currency import Rates, converted_key, resolve_rates
from ...imports.invoices import import_provider_costs
from ...jobs.reconcile import reconcile
from ..output import as_record, emit
from ._options import db_option, job_params

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
@job_params("reconcile")
@db_option
def reconcile_command(
    period: str,
    imports: tuple[str, ...],
    tolerance: Decimal,
    tolerance_abs: Decimal,
    flagged: bool,
    fmt: str,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Compare the ledger with imported provider costs per UTC day × model: difference, drift,
    and whether it is a quantity (tokens the ledger lacks) or a price difference. Results go to
    the table reconciliation.

    \b
    Example:
      costledger reconcile --period 2025-05 --import anthropic-cost-2025-05.json
      costledger reconcile --period 2025-05 --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)
    for path in imports:
        import_provider_costs(database_url, path)
    rows = reconcile(
        database_url,
        period=period,
        tolerance=tolerance / 100,
        tolerance_abs=tolerance_abs,
    )
    if flagged:
        rows = [r for r in rows if r.flagged]
    shown = rows if rates.is_identity else [in_currency(r, rates) for r in rows]
    emit(shown, COLUMNS, fmt, title=f"Reconciliation {period}", currency=rates.currency)


_MONEY = (
    "ledger_cost_nanos",
    "provider_cost_nanos",
    "quantity_effect_nanos",
    "price_effect_nanos",
)


def in_currency(row: Any, rates: Rates) -> dict[str, Any]:
    """A reconciliation row (one UTC day) with its amounts at that day's rate beside the USD;
    the difference is billed − ledger of the converted amounts, as in USD."""
    record = as_record(row)
    values = {
        key: None if row_value is None else rates.convert(int(row_value), row.day)
        for key in _MONEY
        for row_value in [getattr(row, key)]
    }
    ledger, billed = values["ledger_cost_nanos"], values["provider_cost_nanos"]
    values["difference_nanos"] = (
        None
        if row.difference_nanos is None or billed is None or ledger is None
        else billed - ledger
    )
    record.update({converted_key(key, rates.currency): value for key, value in values.items()})
    return record
