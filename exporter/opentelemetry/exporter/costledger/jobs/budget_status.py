"""Where each budget stands at a moment: spent in its period so far, the forecast to the
period's end, the thresholds crossed — what the budget alerts, the report's budgets table and
the in-app guard read.

``budget_status(db, budgets, as_of)`` gives one :class:`BudgetStatus` per budget and concrete
scope value (a ``"*"`` budget: each value with cost in the period that no other budget of its
scope and period names; a named value: always, with zero when it spent nothing). The period is
the one ``as_of`` ends or falls in — ``start < as_of ≤ end``, cut in the job's time zone
(``--tz`` / ``COSTLEDGER_TIMEZONE``), so ``as_of`` at midnight on June 1 is the whole of May —
and ``spent`` counts the ledger's rows from the period's start up to ``as_of`` (later rows are
left out: an ``as_of`` in the past gives the state at that moment).

The forecast rule, exact in integer nano-dollars and microseconds::

    elapsed  = as_of − period start            remaining = period end − as_of
    forecast = spent + usage × remaining / elapsed          (half-even to a nano-dollar)
    crossing = as_of + (amount − spent) × elapsed / usage   (rounded up to a microsecond)

``spent`` is every cost of the period (fully loaded, as ``over_budget`` counts); ``usage`` the
same without allocated shared costs (``source = 'allocation'``), which ``costledger allocate``
books once per bill period and which are no run rate. ``forecast_date`` is the local date of
``crossing`` when ``spent`` is still under the amount and the forecast is over it (strictly);
otherwise None. A threshold (a percentage of the amount) is crossed when ``spent`` reaches it
and is more than zero; ``percent`` is ``spent`` over the amount, half-even to 0.01 (None for an
amount of zero).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import per_unit_nanos, to_dollars, to_nanos

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.schema import ledger_entries
from .budgets import Budget
from .groups import tag_value

# The ledger column of each scope but ``tag`` (read from the ``tags`` JSON).
_COLUMNS = {
    "customer": "customer_id",
    "workspace": "workspace_id",
    "feature": "feature",
    "agent": "agent",
}


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget for one concrete scope value at ``as_of`` (module docstring for the rules).

    ``value`` is concrete: the customer (``cust_12345``), workspace, feature or agent, or for a
    tag budget ``name=value`` (``team=search``). ``period`` is the period's label (``2025-05``,
    ``2025-W19``, ``2025-05-02``, ``2025-Q2``), ``[period_start, period_end)`` its local dates.
    Money is integer nano-dollars; the ``_usd`` properties give exact dollars."""

    budget: Budget
    value: str
    period: str
    time_zone: str
    period_start: date
    period_end: date
    as_of: datetime
    spent_nanos: int
    usage_nanos: int  # spent without allocated shared costs: the run rate's base
    amount_nanos: int
    hard_limit_nanos: int | None
    percent: Decimal | None
    thresholds_crossed: tuple[Decimal, ...]
    forecast_nanos: int
    forecast_date: date | None

    @property
    def scope(self) -> str:
        return self.budget.scope

    @property
    def over_hard_limit(self) -> bool:
        """Whether ``spent`` has reached the hard limit (False without one)."""
        return self.hard_limit_nanos is not None and self.spent_nanos >= self.hard_limit_nanos

    @property
    def spent_usd(self) -> Decimal:
        return Decimal(self.spent_nanos) / 10**9

    @property
    def amount_usd(self) -> Decimal:
        return Decimal(self.amount_nanos) / 10**9

    @property
    def forecast_usd(self) -> Decimal:
        return Decimal(self.forecast_nanos) / 10**9

    @property
    def hard_limit_usd(self) -> Decimal | None:
        return to_dollars(self.hard_limit_nanos)


def budget_status(
    database: Database,
    budgets: Sequence[Budget],
    as_of: datetime | None = None,
    *,
    time_zone: str | None = None,
) -> list[BudgetStatus]:
    """Each budget's status at ``as_of`` (an aware datetime; default now), in the order of
    ``budgets`` and then of the scope values; ``time_zone`` cuts the periods (default
    ``COSTLEDGER_TIMEZONE``, else UTC)."""
    tz = periods.resolve_time_zone(time_zone)
    moment = instant(as_of)
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        return statuses(conn, budgets, moment, tz)


def instant(as_of: datetime | None) -> datetime:
    """``as_of`` in UTC (now when None); a naive datetime is refused: it names no moment."""
    if as_of is None:
        return datetime.now(UTC)
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InputError(f"as_of {as_of.isoformat()} needs a time zone (an aware datetime)")
    return as_of.astimezone(UTC)


def parse_as_of(text: str, time_zone: str | None = None) -> datetime:
    """``--as-of``: a date means the end of that day (``2025-05-20`` = up to midnight after May
    20, local), a date and time without an offset is local time in ``time_zone``, one with an
    offset is that moment."""
    tz = periods.zone_info(periods.resolve_time_zone(time_zone))
    spec = text.strip()
    try:
        if len(spec) == 10:
            day = date.fromisoformat(spec)
            return periods.local_midnight_utc(day + timedelta(days=1), tz)
        moment = datetime.fromisoformat(spec)
    except ValueError as exc:
        raise InputError(
            f"--as-of {text!r} is not a date (2025-05-20) or a date and time"
            f" (2025-05-20T14:30, 2025-05-20T14:30+02:00): {exc}"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def budget_period(period: str, as_of: datetime, time_zone: str) -> periods.Period:
    """The day, week, month or quarter that ``as_of`` ends or falls in (``start < as_of ≤
    end``), as local dates in ``time_zone``."""
    local = instant(as_of).astimezone(periods.zone_info(time_zone))
    day = local.date()
    if local.time() == time(0):  # a midnight ends the day before: June 1 00:00 is all of May
        day -= timedelta(days=1)
    if period == "quarter":
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        month = first.month + 3
        end = date(first.year + (month > 12), (month - 1) % 12 + 1, 1)
        return periods.Period(f"{first.year}-Q{(first.month + 2) // 3}", first, end, time_zone)
    return periods.bucket_period(periods.bucket_start(day, period), period, time_zone)


def statuses(
    conn: sa.Connection, budgets: Sequence[Budget], as_of: datetime, time_zone: str
) -> list[BudgetStatus]:
    """:func:`budget_status` inside the caller's connection (the alerts job's transaction)."""
    groups: dict[tuple[str, str | None, str], list[int]] = defaultdict(list)
    for index, budget in enumerate(budgets):
        groups[(budget.scope, budget.tag_name, budget.period)].append(index)
    found: dict[int, list[BudgetStatus]] = {}
    for (scope, tag, kind), indexes in groups.items():
        period = budget_period(kind, as_of, time_zone)
        members = [budgets[i] for i in indexes]
        costs = _costs(conn, scope, tag, period, as_of, members)
        named = {b.match for b in members if not b.is_everyone}
        for index, budget in zip(indexes, members, strict=True):
            values = (
                sorted(v for v in costs if v not in named) if budget.is_everyone else [budget.match]
            )
            found[index] = [
                _status(budget, value, period, as_of, *costs.get(value, (0, 0))) for value in values
            ]
    return [status for index in range(len(budgets)) for status in found[index]]


def _costs(
    conn: sa.Connection,
    scope: str,
    tag: str | None,
    period: periods.Period,
    as_of: datetime,
    members: Sequence[Budget],
) -> dict[str, tuple[int, int]]:
    """``{value: (spent, usage)}`` of the scope's values from the period's start to ``as_of``."""
    le = ledger_entries
    column: sa.ColumnElement[Any] = (
        tag_value(conn.dialect.name, tag) if tag is not None else le.c[_COLUMNS[scope]]
    )
    lo, _ = period.utc_range()
    cost = sa.func.coalesce(le.c.cost_nanos, 0)
    query = (
        sa.select(
            column,
            sa.func.coalesce(sa.func.sum(cost), 0),
            sa.func.coalesce(sa.func.sum(sa.case((le.c.source != "allocation", cost), else_=0)), 0),
        )
        .where(le.c.timestamp >= lo, le.c.timestamp < as_of, column.is_not(None))
        .group_by(column)
    )
    if not any(b.is_everyone for b in members):
        query = query.where(column.in_(sorted({b.match for b in members})))
    return {str(value): (int(spent), int(usage)) for value, spent, usage in conn.execute(query)}


def _micros(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def _status(
    budget: Budget, value: str, period: periods.Period, as_of: datetime, spent: int, usage: int
) -> BudgetStatus:
    start, end = period.utc_range()
    elapsed, remaining = _micros(as_of - start), _micros(end - as_of)
    amount = to_nanos(budget.amount)
    forecast = spent + (per_unit_nanos(usage * remaining, elapsed) or 0)
    crossing = None
    if spent < amount and usage > 0 and usage * remaining > (amount - spent) * elapsed:
        micros = -(-(amount - spent) * elapsed // usage)  # ceiling division
        moment = as_of + timedelta(microseconds=micros)
        crossing = moment.astimezone(periods.zone_info(period.time_zone)).date()
    percent = None
    if amount:
        percent = (Decimal(spent * 100) / amount).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return BudgetStatus(
        budget=budget,
        value=f"{budget.tag_name}={value}" if budget.tag_name is not None else value,
        period=period.label,
        time_zone=period.time_zone,
        period_start=period.start,
        period_end=period.end,
        as_of=as_of,
        spent_nanos=spent,
        usage_nanos=usage,
        amount_nanos=amount,
        hard_limit_nanos=None if budget.hard_limit is None else to_nanos(budget.hard_limit),
        percent=percent,
        thresholds_crossed=tuple(
            t for t in budget.thresholds if spent > 0 and Decimal(spent * 100) >= t * amount
        ),
        forecast_nanos=forecast,
        forecast_date=crossing,
    )
