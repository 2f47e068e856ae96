"""Outcomes of the work items a period's costs went to, per group: :func:`outcome_counts`.

The rule: the work items of a group (a customer, an agent, a feature) in a period are the
distinct ``work_item_id`` values of its ledger rows in the period; each counts by its
**latest** outcome (``ledger/outcomes.py``), whenever that was recorded — a ticket worked on
31 May and resolved on 1 June counts as a May success. Work items without an outcome count
neither as successes nor as failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .. import periods
from ..ledger.outcomes import latest_outcomes
from ..ledger.schema import ledger_entries


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """A group's work items by latest outcome, and the sum of the successes' values."""

    successful: int = 0
    failed: int = 0
    value_nanos: int | None = None  # NULL when no success carried a value


NO_OUTCOMES = OutcomeCounts()


def outcome_counts(
    conn: sa.Connection, period: periods.Period, group: sa.ColumnElement[Any]
) -> dict[Any, OutcomeCounts]:
    """Per value of ``group`` (a ``ledger_entries`` column or expression; rows where it is
    NULL are left out), the outcomes of its work items in ``period``."""
    le = ledger_entries
    lo, hi = period.utc_range()
    items = (
        sa.select(group.label("group_value"), le.c.work_item_id)
        .where(
            le.c.timestamp >= lo,
            le.c.timestamp < hi,
            group.is_not(None),
            le.c.work_item_id.is_not(None),
        )
        .distinct()
        .subquery("group_items")
    )
    latest = latest_outcomes()
    success = latest.c.success == sa.true()
    query = (
        sa.select(
            items.c.group_value,
            sa.func.count().filter(success),
            sa.func.count().filter(sa.not_(success)),
            sa.func.sum(sa.case((success, latest.c.value_nanos))),
        )
        .select_from(items.join(latest, latest.c.work_item_id == items.c.work_item_id))
        .group_by(items.c.group_value)
    )
    return {
        value: OutcomeCounts(int(ok), int(failed), None if worth is None else int(worth))
        for value, ok, failed, worth in conn.execute(query)
    }
