"""``costledger aggregate``: Step 3, cost per customer × period (see ``jobs/aggregate.py``)."""

from __future__ import annotations

import click

from ... import periods
from ...columns import Column
from ...jobs.aggregate import aggregate, aggregate_rows
from ..output import emit
from ._options import db_option, job_params, progress_bar

COLUMNS = {
    "period": Column("period", "Period"),
    "customer_id": Column("customer_id", "Customer"),
    "workspace_id": Column("workspace_id", "Workspace"),
    "work_item_id": Column("work_item_id", "Work item"),
    "provider": Column("provider", "Provider"),
    "model": Column("model", "Model"),
    "category": Column("category", "Category"),
    "service": Column("service", "Service"),
    "cost_nanos": Column("cost_nanos", "AI cost", "money"),
    "calls": Column("calls", "Calls", "int"),
    "input_tokens": Column("input_tokens", "Input tok", "int"),
    "output_tokens": Column("output_tokens", "Output tok", "int"),
    "cache_read_tokens": Column("cache_read_tokens", "Cache read", "int"),
    "cache_write_5m_tokens": Column("cache_write_5m_tokens", "Cache write 5m", "int"),
    "cache_write_1h_tokens": Column("cache_write_1h_tokens", "Cache write 1h", "int"),
    "reasoning_tokens": Column("reasoning_tokens", "Reasoning", "int"),
    "work_items": Column("work_items", "Work items", "int"),
    "entries": Column("entries", "Entries", "int"),
    "unpriced_entries": Column("unpriced_entries", "Unpriced", "int"),
}
_DIM_KEYS = {
    "customer": ("customer_id",),
    "workspace": ("workspace_id",),
    "work_item": ("work_item_id",),
    "model": ("provider", "model"),
    "category": ("category",),
    "service": ("service",),
}
_MEASURES = (
    "cost_nanos", "calls", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens", "work_items",
    "entries", "unpriced_entries",
)  # fmt: skip


def register(group: click.Group) -> None:
    group.add_command(aggregate_command)


@click.command("aggregate")
@job_params("aggregate")
@db_option
def aggregate_command(
    by: str,
    dimensions: tuple[str, ...],
    period: str | None,
    full: bool,
    quiet: bool,
    tz: str | None,
    fmt: str,
    database_url: str | None,
) -> None:
    """Sum cost, calls, tokens by kind and distinct work items per customer and period.

    Incremental: only buckets that changed since the last run are recomputed. Results go to
    the table cost_aggregates.

    \b
    Example:
      costledger aggregate --by month --period 2025-05
      costledger aggregate --by day -d model --tz Europe/Berlin --format csv
    """
    dims = dimensions or ("customer",)
    with progress_bar("aggregate", enabled=not quiet) as advance:
        result = aggregate(
            database_url, granularity=by, dimensions=dims, time_zone=tz, full=full, progress=advance
        )
    if quiet:
        return
    chosen = periods.parse_period(period, tz) if period else None
    rows = aggregate_rows(
        database_url, granularity=by, dimensions=dims, time_zone=tz, period=chosen
    )
    keys = ["period", *(k for d in result.dimensions.split(",") for k in _DIM_KEYS[d]), *_MEASURES]
    emit(
        rows,
        [COLUMNS[k] for k in keys],
        fmt,
        title=f"AI cost by {result.dimensions.replace(',', ', ')} per {by} ({result.time_zone})",
    )
