"""``costledger normalize``: Step 5, cost per work item and against revenue and margin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from opentelemetry.instrumentation.costledger.money import UNIT_COST_PLACES

from ... import periods
from ...columns import Column
from ...currency import Rates, converted_key, resolve_rates
from ...jobs.converted import category_costs, group_costs, pnl
from ...jobs.dimension_economics import group_column, normalize_by
from ...jobs.normalize import category_breakdown, normalize
from ..output import as_record, emit
from ._options import db_option, job_params

COLUMNS = [
    Column("customer_id", "Customer"),
    Column("plan", "Plan"),
    Column("ai_cost_nanos", "AI cost", "money"),
    Column("api_cost_nanos", "API", "money"),
    Column("other_cost_nanos", "Other", "money"),
    Column("work_items", "Work items", "int"),
    Column("cost_per_work_item", "Per work item", "money", places=UNIT_COST_PLACES),
    Column("revenue_nanos", "Revenue", "money"),
    Column("ai_share_of_revenue", "% of revenue", "pct"),
    Column("margin_nanos", "Margin", "money"),
    Column("profitability_nanos", "Margin − AI", "money"),
    Column("successful_outcomes", "Successes", "int"),
    Column("cost_per_successful_outcome", "Per success", "money", places=UNIT_COST_PLACES),
    Column("unpriced_entries", "Unpriced", "int"),
]
BREAKDOWN = [
    Column("category", "Cost category"),
    Column("cost_nanos", "Amount", "money"),
    Column("entries", "Entries", "int"),
]


def by_columns(by: str, *, ranked: bool) -> list[Column]:
    """The columns of ``normalize --by`` / ``rank --by`` (an agent or a feature per row)."""
    columns = [
        Column("name", by.capitalize()),
        Column("ai_cost_nanos", "AI cost", "money"),
        Column("api_cost_nanos", "API", "money"),
        Column("other_cost_nanos", "Other", "money"),
        Column("work_items", "Work items", "int"),
        Column("cost_per_work_item", "Per work item", "money", places=UNIT_COST_PLACES),
        Column("successful_outcomes", "Successes", "int"),
        Column("failed_outcomes", "Failures", "int"),
        Column("cost_per_successful_outcome", "Per success", "money", places=UNIT_COST_PLACES),
        Column("value_nanos", "Outcome value", "money"),
        Column("profitability_nanos", "Value − AI", "money"),
    ]
    return [Column("rank", "Rank", "int"), *columns] if ranked else columns


def register(group: click.Group) -> None:
    group.add_command(normalize_command)


@click.command("normalize")
@job_params("normalize")
@db_option
def normalize_command(
    period: str,
    customer: str | None,
    by: str,
    tz: str | None,
    fmt: str,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Fully loaded AI cost per customer, per work item, as a share of revenue and vs margin.

    Uses the business data imported with `costledger import business`. Results go to the
    table unit_economics.

    \b
    Example:
      costledger normalize --period 2025-05
      costledger normalize --period 2025-05 --customer cust_12345
      costledger normalize --period 2025-05 --by agent
      costledger normalize --period 2025-05 --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)
    shown = rates.currency
    if by != "customer":
        groups = normalize_by(database_url, period=period, by=by, time_zone=tz)
        rows = converted_pnl(database_url, groups, rates, period, tz, by)
        title = f"Unit economics per {by} {period}"
        emit(rows, by_columns(by, ranked=False), fmt, title=title, currency=shown)
        return
    records = normalize(database_url, period=period, time_zone=tz)
    if customer:
        breakdown = category_breakdown(
            database_url, period=period, customer_id=customer, time_zone=tz
        )
        rows = list(breakdown)
        if not rates.is_identity:
            chosen = periods.parse_period(period, tz)
            costs = category_costs(database_url, rates, chosen, customer)
            key = converted_key("cost_nanos", shown)
            rows = [{**as_record(r), key: costs.get(r.category, 0)} for r in breakdown]
            rows[-1][key] = sum(costs.values())  # the total
        emit(rows, BREAKDOWN, fmt, title=f"Cost to serve {customer} in {period}", currency=shown)
        return
    rows = converted_pnl(database_url, records, rates, period, tz)
    emit(rows, COLUMNS, fmt, title=f"Unit economics {period}", currency=shown)


def converted_pnl(
    database_url: str | None,
    records: Sequence[Any],
    rates: Rates,
    period: str,
    tz: str | None,
    by: str = "customer",
) -> list[Any]:
    """``normalize``/``rank`` records with their money in ``--currency`` beside the USD
    (:func:`...jobs.converted.pnl`); the records themselves in USD."""
    if rates.is_identity:
        return list(records)
    chosen = periods.parse_period(period, tz)
    column = None if by == "customer" else group_column(by)
    costs = group_costs(database_url, rates, chosen, column)
    return [
        {**as_record(r), **pnl(r, costs.get(_group(r, by), (0, 0)), rates, chosen)} for r in records
    ]


def _group(record: Any, by: str) -> Any:
    return record.customer_id if by == "customer" else record.group_value
