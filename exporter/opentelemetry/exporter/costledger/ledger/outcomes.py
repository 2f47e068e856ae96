"""What became of work items: :class:`OutcomeRow` and writing them to the ``outcomes`` table.

An outcome says whether a work item (a ticket, a task) succeeded, and optionally what it was
worth in USD. Outcomes come from ``record_outcome`` spans (``source = span``) and from
``costledger import outcomes`` (``source = import``). Each has an idempotency key, so a span
delivered twice or a file imported twice is stored once.

The rule the jobs use: a work item's outcome is its **latest** (by timestamp, then id), so a
ticket reopened and then resolved counts as resolved. :func:`latest_outcomes` is that rule in
SQL.

Table ``outcomes`` (``migrations/m0060_dimensions.py``): ``idempotency_key``, ``timestamp``
(UTC), ``work_item_id``, ``customer_id``, ``agent``, ``feature``, ``success``,
``value_nanos`` (the outcome's worth, nano-dollars, NULL when not given), ``currency``,
``source``, ``trace_id``, ``span_id``, ``recorded_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .tables import outcomes


class OutcomeRow(NamedTuple):
    """One outcome, as :func:`insert_outcomes` stores it (``timestamp`` an aware datetime)."""

    idempotency_key: str
    timestamp: datetime
    work_item_id: str
    success: bool
    customer_id: str | None = None
    agent: str | None = None
    feature: str | None = None
    value_nanos: int | None = None
    currency: str = "USD"
    source: str = "span"
    trace_id: str | None = None
    span_id: str | None = None


def insert_outcomes(conn: sa.Connection, rows: Sequence[OutcomeRow]) -> int:
    """Store ``rows`` in the transaction of ``conn``, skipping keys already stored; how many
    were new."""
    if not rows:
        return 0
    recorded_at = datetime.now(UTC)
    values = [{**row._asdict(), "recorded_at": recorded_at} for row in rows]
    insert: Any = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(outcomes)
    statement = insert.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(
        outcomes.c.idempotency_key
    )
    # RETURNING names the rows inserted, not those skipped (the drivers' executemany row
    # counts are not reliable for that).
    return len(conn.execute(statement, values).all())


def latest_outcomes(start: datetime | None = None, end: datetime | None = None) -> sa.Subquery:
    """``(work_item_id, success, value_nanos)``: each work item's latest outcome among those
    recorded in ``[start, end)`` (all when not given)."""
    o = outcomes
    order = sa.func.row_number().over(
        partition_by=o.c.work_item_id, order_by=(o.c.timestamp.desc(), o.c.id.desc())
    )
    ranked = sa.select(o.c.work_item_id, o.c.success, o.c.value_nanos, order.label("position"))
    if start is not None:
        ranked = ranked.where(o.c.timestamp >= start)
    if end is not None:
        ranked = ranked.where(o.c.timestamp < end)
    inner = ranked.subquery("ranked_outcomes")
    return (
        sa.select(inner.c.work_item_id, inner.c.success, inner.c.value_nanos)
        .where(inner.c.position == 1)
        .subquery("latest_outcomes")
    )
