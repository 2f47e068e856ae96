"""``costledger normalize``: Step 5, cost per work item and against revenue and margin."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import UNIT_COST_PLACES

from ...columns import Column
from ...jobs.normalize import category_breakdown, normalize
from ..output import emit
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
    Column("unpriced_entries", "Unpriced", "int"),
]
BREAKDOWN = [
    Column("category", "Cost category"),
    Column("cost_nanos", "Amount", "money"),
    Column("entries", "Entries", "int"),
]


def register(group: click.Group) -> None:
    group.add_command(normalize_command)


@click.command("normalize")
@job_params("normalize")
@db_option
def normalize_command(
    period: str, customer: str | None, tz: str | None, fmt: str, database_url: str | None
) -> None:
    """Fully loaded AI cost per customer, per work item, as a share of revenue and vs margin.

    Uses the business data imported with `costledger import business`. Results go to the
    table unit_economics.

    \b
    Example:
      costledger normalize --period 2025-05
      costledger normalize --period 2025-05 --customer cust_12345
    """
    records = normalize(database_url, period=period, time_zone=tz)
    if customer:
        rows = category_breakdown(database_url, period=period, customer_id=customer, time_zone=tz)
        emit(rows, BREAKDOWN, fmt, title=f"Cost to serve {customer} in {period}")
        return
    emit(records, COLUMNS, fmt, title=f"Unit economics {period}")
