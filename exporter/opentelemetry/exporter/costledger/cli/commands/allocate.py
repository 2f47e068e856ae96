"""``costledger allocate``: Step 4, shared and direct costs per customer (``jobs/allocate.py``)."""

from __future__ import annotations

import click

from ...columns import Column
from ...jobs.allocate import allocate, allocation_records
from ..output import emit
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
    database_url: str | None,
) -> None:
    """Split the shared bills of BILLS (TOML/YAML) over customers and charge direct costs.

    Each allocation adds up to its bill exactly; what has no driver data is reported as
    unallocated. Re-running a bill for a period replaces its previous allocation. Results:
    ledger rows with source 'allocation', and the tables cost_allocations / allocation_runs.

    \b
    Example:
      costledger allocate bills.toml --period 2025-05
    """
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
    emit(allocation_records(allocations), COLUMNS, fmt, title=title)
