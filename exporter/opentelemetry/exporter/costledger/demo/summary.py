"""The seed's Step 3 table, queried from the ``cost_ledger`` view.

The query is the seed's own (sum of cost, input and output tokens, and count of rows per
customer and month), restricted to one month and written with each database's month function
(``strftime`` on SQLite, ``date_trunc`` in UTC on PostgreSQL). Money is summed as integer
nano-dollars (``cost_nanos``) and turned into an exact ``Decimal``: SQLite's ``cost_usd`` is a
float meant for display only. Rows without a price are counted, never summed as zero silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ..ledger.schema import NANOS_PER_USD

# Only the columns the summary reads; the view itself is made by the ledger migrations.
cost_ledger = sa.table(
    "cost_ledger",
    sa.column("timestamp", sa.DateTime(timezone=True)),
    sa.column("customer_id", sa.String),
    sa.column("category", sa.String),
    sa.column("input_tokens", sa.BigInteger),
    sa.column("output_tokens", sa.BigInteger),
    sa.column("cost_nanos", sa.BigInteger),
    sa.column("trace_id", sa.String),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
)


@dataclass(frozen=True, slots=True)
class CustomerMonth:
    """One line of the seed's Step 3 result."""

    customer_id: str | None
    month: str
    total_cost: Decimal  # priced rows only; see ``unpriced_rows``
    total_input_tokens: int
    total_output_tokens: int
    calls: int
    unpriced_rows: int


@dataclass(frozen=True, slots=True)
class CategoryCost:
    customer_id: str | None
    category: str
    cost: Decimal
    rows: int


def month_expression(dialect: str) -> sa.ColumnElement[str]:
    ts = cost_ledger.c.timestamp
    if dialect == "postgresql":
        utc = sa.func.timezone("UTC", ts)
        return sa.func.to_char(sa.func.date_trunc("month", utc), "YYYY-MM")
    return sa.func.strftime("%Y-%m", ts)


def _dollars(nanos: int | None) -> Decimal:
    return Decimal(nanos or 0) / NANOS_PER_USD


def customer_month_table(engine: sa.Engine, start: datetime, end: datetime) -> list[CustomerMonth]:
    """Step 3 for ``[start, end)``: one line per customer and month, costliest first."""
    month = month_expression(engine.dialect.name).label("month")
    cost = sa.func.sum(cost_ledger.c.cost_nanos).label("total_cost_nanos")
    query = (
        sa.select(
            cost_ledger.c.customer_id,
            month,
            cost,
            sa.func.sum(cost_ledger.c.input_tokens),
            sa.func.sum(cost_ledger.c.output_tokens),
            sa.func.count(),
            sa.func.count() - sa.func.count(cost_ledger.c.cost_nanos),
        )
        .where(cost_ledger.c.timestamp >= start, cost_ledger.c.timestamp < end)
        .group_by(cost_ledger.c.customer_id, month)
        .order_by(sa.desc(sa.func.coalesce(cost, 0)), cost_ledger.c.customer_id)
    )
    with engine.connect() as conn:
        return [
            CustomerMonth(
                customer_id=row[0],
                month=row[1],
                total_cost=_dollars(row[2]),
                total_input_tokens=int(row[3] or 0),
                total_output_tokens=int(row[4] or 0),
                calls=int(row[5]),
                unpriced_rows=int(row[6]),
            )
            for row in conn.execute(query)
        ]


def category_table(engine: sa.Engine, start: datetime, end: datetime) -> list[CategoryCost]:
    """Cost per customer and category for ``[start, end)`` (the seed's Step 4 breakdown)."""
    query = (
        sa.select(
            cost_ledger.c.customer_id,
            cost_ledger.c.category,
            sa.func.sum(cost_ledger.c.cost_nanos),
            sa.func.count(),
        )
        .where(cost_ledger.c.timestamp >= start, cost_ledger.c.timestamp < end)
        .group_by(cost_ledger.c.customer_id, cost_ledger.c.category)
        .order_by(cost_ledger.c.customer_id, cost_ledger.c.category)
    )
    with engine.connect() as conn:
        return [
            CategoryCost(row[0], row[1], _dollars(row[2]), int(row[3]))
            for row in conn.execute(query)
        ]


def rows_in_month(engine: sa.Engine, start: datetime, end: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        cost_ledger.c.timestamp >= start, cost_ledger.c.timestamp < end
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True, slots=True)
class TraceRows:
    total: int  # rows of these traces in the ledger
    in_window: int  # of which timestamped inside [start, end)
    recorded_since: int  # of which recorded at or after ``since``


def rows_of_traces(
    engine: sa.Engine,
    trace_ids: Iterable[int],
    start: datetime,
    end: datetime,
    since: datetime,
) -> TraceRows:
    """The ledger rows of these traces (the demo's own rows): all, in the month, new."""
    hexes = sorted(f"{trace_id:032x}" for trace_id in trace_ids)
    ts, recorded = cost_ledger.c.timestamp, cost_ledger.c.recorded_at
    in_window = sa.case((sa.and_(ts >= start, ts < end), 1), else_=0)
    new = sa.case((recorded >= since, 1), else_=0)
    found = [0, 0, 0]
    with engine.connect() as conn:
        for i in range(0, len(hexes), 500):
            query = sa.select(sa.func.count(), sa.func.sum(in_window), sa.func.sum(new)).where(
                cost_ledger.c.trace_id.in_(hexes[i : i + 500])
            )
            row = conn.execute(query).one()
            found = [
                found[0] + int(row[0]),
                found[1] + int(row[1] or 0),
                found[2] + int(row[2] or 0),
            ]
    return TraceRows(*found)
