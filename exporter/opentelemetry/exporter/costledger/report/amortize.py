"""Daily views, amortized: an allocated bill spread evenly over the days of its billing period.

``costledger allocate`` books each customer's share of a shared bill (and each direct cost) as
ONE ledger row at the middle of its period, so that the row falls inside that period in every
time zone. Summed by day, a month's Pinecone bill is then a tower on the 16th beside days of
a few dollars. Daily views (the report's charts and daily table, and the dashboard's) show it
the way cloud cost tools show amortized commitments instead: the share divided evenly over the
days of its period, in whole nano-dollars, the remainder going one nano to each of the first
days, so the days add up to the share exactly. The ledger rows stay as they are; totals per
period, customer or category are the ledger's.

A row is spread when its allocation run is known (``cost_allocations.ledger_key`` →
``allocation_runs`` with the period's UTC bounds); an allocation row without one (written by
other means) stays on the day it is booked on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from .. import periods
from ..ledger.schema import ledger_entries
from ..ledger.tables import allocation_runs, cost_allocations


@dataclass(frozen=True, slots=True)
class Spread:
    """One allocated row, spread: ``nanos`` over the local days ``first`` to ``last``."""

    customer_id: str | None
    nanos: int
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def per_day(self) -> dict[date, int]:
        """Each day's share, summing exactly to ``nanos``."""
        share, rest = divmod(self.nanos, self.days)
        return {
            self.first + timedelta(days=n): share + (1 if n < rest else 0) for n in range(self.days)
        }


def spread_rows() -> sa.ColumnElement[bool]:
    """SQL: this ledger row is an allocation spread over its period (leave it out of per-day
    sums by timestamp; :func:`spreads` adds it back, day by day)."""
    le = ledger_entries
    return sa.and_(
        le.c.source == "allocation",
        sa.exists().where(cost_allocations.c.ledger_key == le.c.idempotency_key),
    )


def spreads(conn: sa.Connection, period: periods.Period) -> list[Spread]:
    """The allocated rows whose billing period overlaps ``period``, spread over that billing
    period's days in ``period``'s time zone."""
    le, ca, ar = ledger_entries, cost_allocations, allocation_runs
    start, end = period.utc_range()
    query = (
        sa.select(le.c.customer_id, le.c.cost_nanos, ar.c.period_start_utc, ar.c.period_end_utc)
        .select_from(
            le.join(ca, ca.c.ledger_key == le.c.idempotency_key).join(ar, ar.c.id == ca.c.run_id)
        )
        .where(
            le.c.source == "allocation",
            le.c.cost_nanos.is_not(None),
            ar.c.period_start_utc < end,
            ar.c.period_end_utc > start,
        )
    )
    zone = periods.zone_info(period.time_zone)
    found = []
    for customer, nanos, begins, ends in conn.execute(query):
        first = periods.as_utc(begins).astimezone(zone).date()
        last = (periods.as_utc(ends) - timedelta(microseconds=1)).astimezone(zone).date()
        found.append(Spread(customer, int(nanos), first, max(first, last)))
    return found


def amortized_note(items: list[Spread], days: list[date]) -> dict[str, Any]:
    """What the page says under the daily chart: how much was spread over which days, and how
    much of it falls outside the page's days (a billing period longer than the report)."""
    shown = set(days)
    total = sum(s.nanos for s in items)
    inside = sum(n for s in items for d, n in s.per_day().items() if d in shown)
    ranges = sorted({(s.first, s.last) for s in items})
    return {"total_nanos": total, "inside_nanos": inside, "ranges": ranges}
