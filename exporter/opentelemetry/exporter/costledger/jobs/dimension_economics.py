"""Steps 5 and 6 per agent and per feature: ``normalize --by agent|feature`` and
``rank --by agent|feature``.

``normalize_by(db, period="2025-05", by="agent")`` sums the ledger of the period per agent (or
feature) in one ``GROUP BY`` — every source, as :mod:`.normalize` does per customer — and adds
the outcomes of each group's work items (:mod:`.outcomes`). Rows that name no agent (allocated
bills, calls made outside any agent) form the group ``""``, shown as ``(none)``.

Definitions (money exact):

* ``ai_cost``, ``api_cost``, ``other_cost``, ``unpriced_entries`` — as per customer.
* ``work_items`` — distinct ``work_item_id`` values among the group's rows;
  ``cost_per_work_item`` = ``ai_cost / work_items``.
* ``successful_outcomes``, ``failed_outcomes`` — the group's work items by their latest outcome;
  ``cost_per_successful_outcome`` = ``ai_cost / successful_outcomes``. A work item two agents
  worked on counts for both (each agent's cost is its own; the success is shared).
* ``value`` — the sum of the values of the successful outcomes (``record_outcome(value=...)``;
  NULL when none carried one); ``profitability`` = ``value - ai_cost``.

``rank``: 1 is the best — highest profitability first where values are known, then lowest cost
per successful outcome, then the groups without successes by cost (highest last).

Result table ``dimension_economics`` (one row per period × time zone × dimension × group,
replaced on re-run): ``period``, ``time_zone``, ``dimension`` (``agent``/``feature``),
``group_value``, ``period_start``, ``period_end``, ``ai_cost_nanos``, ``api_cost_nanos``,
``other_cost_nanos``, ``unpriced_entries``, ``work_items``, ``cost_per_work_item``,
``successful_outcomes``, ``failed_outcomes``, ``cost_per_successful_outcome``, ``value_nanos``,
``profitability_nanos``, ``rank``, ``computed_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import nanos_to_decimal, per_unit, to_dollars

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries
from ..ledger.tables import dimension_economics
from .groups import LLM_CATEGORIES
from .outcomes import NO_OUTCOMES, outcome_counts

BY = ("agent", "feature")
NONE_LABEL = "(none)"


@dataclass(frozen=True, slots=True)
class DimensionEconomics:
    """One agent's (or feature's) economics in a period: a row of ``dimension_economics``."""

    period: str
    time_zone: str
    dimension: str
    group_value: str
    period_start: date
    period_end: date
    ai_cost_nanos: int
    api_cost_nanos: int
    other_cost_nanos: int
    unpriced_entries: int
    work_items: int
    cost_per_work_item: Decimal | None
    successful_outcomes: int
    failed_outcomes: int
    cost_per_successful_outcome: Decimal | None
    value_nanos: int | None
    profitability_nanos: int | None
    rank: int | None
    computed_at: datetime | None

    @property
    def name(self) -> str:
        """The group for people: its value, or ``(none)``."""
        return self.group_value or NONE_LABEL

    @property
    def ai_cost_usd(self) -> Decimal:
        return nanos_to_decimal(self.ai_cost_nanos)

    @property
    def value_usd(self) -> Decimal | None:
        return to_dollars(self.value_nanos)

    @property
    def profitability_usd(self) -> Decimal | None:
        return to_dollars(self.profitability_nanos)


def _check(by: str) -> None:
    if by not in BY:
        raise InputError(f"cannot group by {by!r}: use {', '.join(BY)} (or customer)")


def group_column(by: str) -> sa.ColumnElement[Any]:
    """The ledger's column of ``by``, with ``''`` for rows that name none."""
    return sa.func.coalesce(ledger_entries.c[by], "")


def normalize_by(
    database: Database = None, *, period: str, by: str, time_zone: str | None = None
) -> list[DimensionEconomics]:
    """Compute, rank and store ``dimension_economics`` for ``period`` grouped ``by`` agent or
    feature; return its rows, best first (see the module docstring)."""
    _check(by)
    target = periods.parse_period(period, time_zone)
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.begin() as conn:
            rows = _compute(conn, target, by)
            conn.execute(
                dimension_economics.delete().where(
                    (dimension_economics.c.period == target.label)
                    & (dimension_economics.c.time_zone == target.time_zone)
                    & (dimension_economics.c.dimension == by)
                )
            )
            if rows:
                conn.execute(dimension_economics.insert(), rows)
        record_run(
            engine,
            f"normalize --by {by}",
            started,
            f"{target.label}: {len(rows)} group(s)",
            ok=True,
        )
    return [DimensionEconomics(**row) for row in rows]


def _compute(conn: sa.Connection, period: periods.Period, by: str) -> list[dict[str, Any]]:
    le = ledger_entries
    lo, hi = period.utc_range()
    group = group_column(by)
    is_api = le.c.category.in_(LLM_CATEGORIES)
    query = (
        sa.select(
            group,
            sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0),
            sa.func.coalesce(sa.func.sum(sa.case((is_api, le.c.cost_nanos), else_=0)), 0),
            sa.func.count().filter(le.c.cost_nanos.is_(None)),
            sa.func.count(sa.distinct(le.c.work_item_id)),
        )
        .where(le.c.timestamp >= lo, le.c.timestamp < hi)
        .group_by(group)
    )
    outcomes = outcome_counts(conn, period, group)
    stamp = now()
    rows = []
    for value, total, api, unpriced, items in conn.execute(query):
        total, api = int(total), int(api)
        done = outcomes.get(value, NO_OUTCOMES)
        rows.append(
            {
                "period": period.label,
                "time_zone": period.time_zone,
                "dimension": by,
                "group_value": value,
                "period_start": period.start,
                "period_end": period.end,
                "ai_cost_nanos": total,
                "api_cost_nanos": api,
                "other_cost_nanos": total - api,
                "unpriced_entries": int(unpriced),
                "work_items": int(items),
                "cost_per_work_item": per_unit(total, int(items)),
                "successful_outcomes": done.successful,
                "failed_outcomes": done.failed,
                "cost_per_successful_outcome": per_unit(total, done.successful),
                "value_nanos": done.value_nanos,
                "profitability_nanos": (
                    None if done.value_nanos is None else done.value_nanos - total
                ),
                "rank": None,
                "computed_at": stamp,
            }
        )
    rows.sort(key=_rank_key)
    for position, row in enumerate(rows, 1):
        row["rank"] = position
    return rows


def _rank_key(row: dict[str, Any]) -> tuple[Any, ...]:
    profit = row["profitability_nanos"]
    per_success = row["cost_per_successful_outcome"]
    return (
        profit is None,
        -(profit or 0),
        per_success is None,
        per_success or Decimal(0),
        row["ai_cost_nanos"],
        row["group_value"],
    )


def stored_dimension_economics(
    database: Database = None, *, period: str, by: str, time_zone: str | None = None
) -> list[DimensionEconomics]:
    """The stored rows of a period and dimension, best first."""
    _check(by)
    target = periods.parse_period(period, time_zone)
    de = dimension_economics
    query = (
        sa.select(de)
        .where(
            (de.c.period == target.label)
            & (de.c.time_zone == target.time_zone)
            & (de.c.dimension == by)
        )
        .order_by(de.c.rank)
    )
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        return [
            DimensionEconomics(**{k: v for k, v in row.items()})
            for row in conn.execute(query).mappings()
        ]
