"""``costledger aggregate``: Step 3, cost per customer × period (see ``jobs/aggregate.py``)."""

from __future__ import annotations

import click

from ... import periods
from ...columns import Column
from ...currency import converted_key, resolve_rates
from ...jobs.aggregate import aggregate, aggregate_rows
from ...jobs.converted import aggregate_key, converted_aggregates
from ...jobs.groups import DIM_COLUMNS
from ..output import as_record, emit
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
    "agent": Column("agent", "Agent"),
    "feature": Column("feature", "Feature"),
    "session_id": Column("session_id", "Session"),
    "environment": Column("environment", "Environment"),
    "status": Column("status", "Status"),
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
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Sum cost, calls, tokens by kind and distinct work items per customer and period.

    Incremental: only buckets that changed since the last run are recomputed. Results go to
    the table cost_aggregates.

    \b
    Example:
      costledger aggregate --by month --period 2025-05
      costledger aggregate --by day -d model --tz Europe/Berlin --format csv
      costledger aggregate -d agent -d status --period 2025-05
      costledger aggregate -d tag:plan
      costledger aggregate --period 2025-05 --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)
    dims = dimensions or ("customer",)
    with progress_bar("aggregate", enabled=not quiet) as advance:
        result = aggregate(
            database_url, granularity=by, dimensions=dims, time_zone=tz, full=full, progress=advance
        )
    if quiet:
        return
    chosen = periods.parse_period(period, tz) if period else None
    rows: list[object] = list(
        aggregate_rows(database_url, granularity=by, dimensions=dims, time_zone=tz, period=chosen)
    )
    if not rates.is_identity:
        # The table keeps USD; each bucket's cost is its UTC days converted at their own rates.
        converted = converted_aggregates(
            database_url, rates, granularity=by, dimensions=dims, time_zone=tz, period=chosen
        )
        key = converted_key("cost_nanos", rates.currency)
        rows = [{**as_record(r), key: converted.get(aggregate_key(r, dims), 0)} for r in rows]
    columns = [COLUMNS["period"]]
    for dim in result.dimensions.split(","):
        if dim.startswith("tag:"):
            columns.append(Column("tag_value", dim.capitalize()))
        else:
            columns.extend(COLUMNS[k] for k in DIM_COLUMNS[dim])
    emit(
        rows,
        [*columns, *(COLUMNS[k] for k in _MEASURES)],
        fmt,
        title=f"AI cost by {result.dimensions.replace(',', ', ')} per {by} ({result.time_zone})",
        currency=rates.currency,
    )
