"""``costledger allocate``: Step 4, shared and direct costs per customer (``jobs/allocate.py``)."""

from __future__ import annotations

from datetime import date

import click

from ... import periods
from ...columns import Column
from ...currency import converted_key, dated, resolve_rates
from ...jobs.allocate import allocate, allocation_records, booking_instant
from ..output import as_record, emit
from ._options import db_option, job_params, progress_bar

COLUMNS = [
    Column("bill", "Bill"),
    Column("period", "Period"),
    Column("category", "Category"),
    Column("method", "Method"),
    Column("driver", "Driver"),
    Column("customer_id", "Customer"),
    Column("driver_quantity", "Driver qty", "decimal"),
    Column("share", "Share", "pct"),
    Column("amount_nanos", "Allocated", "money"),
    Column("reason", "Unallocated because", wrap=True),
]


def register(group: click.Group) -> None:
    group.add_command(allocate_command)


@click.command("allocate")
@job_params("allocate")
@db_option
def allocate_command(
    bills: str,
    period: str | None,
    bill: tuple[str, ...],
    dry_run: bool,
    tz: str | None,
    fmt: str,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Split the shared bills of BILLS (TOML/YAML) over customers and charge direct costs.

    Each allocation adds up to its bill exactly; what has no driver data is reported as
    unallocated. Re-running a bill for a period replaces its previous allocation. Results:
    ledger rows with source 'allocation', and the tables cost_allocations / allocation_runs.

    \b
    Example:
      costledger allocate bills.toml --period 2025-05
      costledger allocate bills.toml --period 2025-05 --dry-run --currency EUR
    """
    rates = resolve_rates(currency, rates_file)
    with progress_bar("allocate", enabled=fmt == "table") as advance:
        allocations = allocate(
            database_url,
            bills=bills,
            period=period,
            time_zone=tz,
            only=bill,
            dry_run=dry_run,
            progress=advance,
        )
    title = "Allocation (dry run, nothing written)" if dry_run else "Allocation"
    records: list[object] = list(allocation_records(allocations))
    if not rates.is_identity:
        key = converted_key("amount_nanos", rates.currency)
        records = [
            {**as_record(r), key: rates.convert(r.amount_nanos, _booked_on(r.period, tz))}
            for r in allocation_records(allocations)
        ]
    emit(records, COLUMNS, fmt, title=title, currency=rates.currency)


def _booked_on(period: str, tz: str | None) -> date:
    """The UTC date a share of ``period`` is booked on in the ledger (its mid-point): the rate
    in force then converts it, as every command converts that ledger row."""
    return dated(booking_instant(*periods.parse_period(period, tz).utc_range()))
