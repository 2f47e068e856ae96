"""The allocation results next to the ledger: how each shared bill was split.

Allocated shares (and unallocated remainders) are ledger rows of their own (``source`` =
``allocation``), so every export already carries their money. This module adds the *why*:

* :func:`allocation_details` — ``ledger key → bill, method, driver, share`` for the allocation
  rows of a time range (one small query; a bill has one row per customer), used to fill the
  FOCUS ``x_Allocation*`` columns of those rows.
* :func:`iter_allocations` — the ``cost_allocations`` table itself (with its run's period) for
  ``costledger export --dataset allocations``: one row per bill × customer, unallocated rows
  included, so finance can check that each bill's shares add up to the bill.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import sqlalchemy as sa

from ..ledger.tables import allocation_runs, cost_allocations
from .ledger_rows import UtcRange

ALLOCATION_COLUMNS: tuple[str, ...] = (
    "run_id",
    "bill",
    "period",
    "period_start_utc",
    "period_end_utc",
    "category",
    "method",
    "driver",
    "customer_id",
    "unallocated",
    "driver_quantity",
    "driver_total",
    "share",
    "amount_nanos",
    "amount_usd",
    "reason",
    "ledger_key",
    "run_at",
)


def _has_tables(conn: sa.Connection) -> bool:
    inspector = sa.inspect(conn)
    return inspector.has_table(cost_allocations.name) and inspector.has_table(allocation_runs.name)


def _overlaps(utc_range: UtcRange) -> sa.ColumnElement[bool]:
    if utc_range is None:
        return sa.true()
    runs = allocation_runs.c
    return sa.and_(runs.period_start_utc < utc_range[1], runs.period_end_utc > utc_range[0])


def _query(utc_range: UtcRange) -> sa.Select[Any]:
    ca, runs = cost_allocations.c, allocation_runs.c
    return (
        sa.select(
            ca.run_id,
            ca.bill,
            ca.period,
            runs.period_start_utc,
            runs.period_end_utc,
            ca.category,
            ca.method,
            ca.driver,
            ca.customer_id,
            ca.unallocated,
            ca.driver_quantity,
            ca.driver_total,
            ca.share,
            ca.amount_nanos,
            ca.reason,
            ca.ledger_key,
            runs.run_at,
        )
        .select_from(cost_allocations.join(allocation_runs, runs.id == ca.run_id))
        .where(_overlaps(utc_range))
    )


def allocation_details(engine: sa.Engine, utc_range: UtcRange) -> dict[str, dict[str, Any]]:
    """``ledger idempotency key → allocation row`` for the range (empty without the jobs)."""
    with engine.connect() as conn:
        if not _has_tables(conn):
            return {}
        return {row["ledger_key"]: dict(row) for row in conn.execute(_query(utc_range)).mappings()}


def iter_allocations(
    engine: sa.Engine, utc_range: UtcRange, *, batch_size: int = 2000
) -> Generator[dict[str, Any], None, None]:
    """The ``cost_allocations`` rows of runs overlapping the range, bill by bill."""
    ca = cost_allocations.c
    query = _query(utc_range).order_by(ca.period, ca.bill, ca.unallocated, ca.customer_id)
    with engine.connect() as conn:
        if not _has_tables(conn):
            return
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        yield from (dict(row) for row in result.mappings())
