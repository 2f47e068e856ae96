"""Steps 6 and 7 — rank: the profitability table, flags, and a suggested action per flagged
customer.

``rank(db, period="2025-05")`` runs :func:`~.normalize.normalize` for the period (so the table
is never stale), then ranks customers and stores the result. CLI: ``costledger rank``.

Columns: revenue, AI cost (fully loaded), margin, profitability = margin − AI cost, and
profitability % = profitability / margin (the seed's Step 6: $9,000 − $3,412.50 = $5,587.50,
62% of the margin). Everything is exact; the table *displays* money rounded half-even to the
cent, or to whole dollars with ``--round-to dollar`` — which reproduces the seed's Step 6
figures ($3,412.50 → $3,412, $5,587.50 → $5,588, $890.35 → $890, $245.80 → $246).

Sorting (``sort``): ``ai_cost`` (default, biggest first, as the seed's table), ``profitability``
and ``profitability_pct`` (worst first), ``ai_share`` (highest first), ``revenue``.

Flags (thresholds configurable):

* ``unprofitable`` — AI cost above the subscription margin (profitability < 0).
* ``high_ai_share`` — AI cost above ``ai_share_threshold`` of revenue (default 50%).
* ``no_business_data`` — cost but no revenue/margin imported for the period: cannot be judged.

Suggested Step 7 action for each flagged customer (people decide; this says why):

1. AI cost above the whole revenue → ``restrict``: restrict AI features for this customer
   (after ``sunset_after`` consecutive unprofitable periods, default 3 → ``sunset``).
2. Unprofitable, on a plan below the top of ``plan_order`` → ``tier up`` to the next plan.
3. Unprofitable, work items known → ``usage pricing``: the per-work-item fee that closes the gap.
4. Unprofitable otherwise → ``optimize``.
5. Only ``high_ai_share`` → ``optimize``: better prompts, smaller context, a cheaper model.

Result table ``profitability`` (per period × time zone × customer, replaced on re-run):
``rank``, ``plan``, ``revenue_nanos``, ``ai_cost_nanos``, ``margin_nanos``,
``profitability_nanos``, ``profitability_pct``, ``ai_share_of_revenue``, ``flags``
(comma-separated), ``action``, ``reason``, ``computed_at`` (one instant per run), and the
period's local dates ``period_start``, ``period_end`` (``[start, end)``, as
``unit_economics``). :func:`rank` returns these rows as :class:`Profitability`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import (
    format_usd,
    nanos_to_decimal,
    ratio,
)

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.tables import profitability
from .normalize import CustomerPnl, UnitEconomics, normalize

SORTS = ("ai_cost", "profitability", "profitability_pct", "ai_share", "revenue")


@dataclass(frozen=True, slots=True)
class Thresholds:
    ai_share: Decimal = Decimal("0.5")
    sunset_after: int = 3
    plan_order: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profitability(CustomerPnl):
    """One customer's place in the ranking: a row of ``profitability`` (module doc); money in
    nanos (``ai_cost_usd`` and the like give exact dollars), ``flags`` comma-separated."""

    period: str
    time_zone: str
    customer_id: str
    rank: int
    plan: str | None
    revenue_nanos: int | None
    ai_cost_nanos: int
    margin_nanos: int | None
    profitability_nanos: int | None
    profitability_pct: Decimal | None
    ai_share_of_revenue: Decimal | None
    flags: str
    action: str | None
    reason: str | None
    computed_at: datetime | None
    period_start: date | None = None  # the period's local dates [start, end), as normalize's
    period_end: date | None = None


def rank(
    database: Database = None,
    *,
    period: str,
    time_zone: str | None = None,
    thresholds: Thresholds | None = None,
    sort: str = "ai_cost",
) -> list[Profitability]:
    """Normalize, rank, flag and suggest actions for ``period``; store and return the rows."""
    if sort not in SORTS:
        raise InputError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    limits = thresholds or Thresholds()
    target = periods.parse_period(period, time_zone)
    started = now()
    with open_ledger(database, create=False) as engine:
        economics = normalize(engine, period=period, time_zone=time_zone)
        with engine.begin() as conn:
            history = _unprofitable_streaks(conn, target, limits.sunset_after)
            judged = [
                _judge(e, limits, history.get(e.customer_id, 0))
                for e in economics
                if e.ai_cost_nanos or e.revenue_nanos is not None
            ]
            judged.sort(key=_sort_key(sort))
            stamp = now()
            records = [
                replace(r, rank=position, computed_at=stamp) for position, r in enumerate(judged, 1)
            ]
            conn.execute(
                profitability.delete().where(
                    (profitability.c.period == target.label)
                    & (profitability.c.time_zone == target.time_zone)
                )
            )
            if records:
                conn.execute(profitability.insert(), [_row(r) for r in records])
        flagged = sum(1 for r in records if r.flags)
        record_run(
            engine,
            "rank",
            started,
            f"{target.label}: {len(records)} ranked, {flagged} flagged",
            ok=True,
        )
    return records


def _sort_key(sort: str) -> Any:
    def missing_last(value: Decimal | int | None, descending: bool) -> tuple[int, Decimal]:
        if value is None:
            return (1, Decimal(0))
        return (0, Decimal(-value if descending else value))

    def key(r: Profitability) -> tuple[Any, ...]:
        chosen = {
            "ai_cost": missing_last(r.ai_cost_nanos, True),
            "profitability": missing_last(r.profitability_nanos, False),
            "profitability_pct": missing_last(r.profitability_pct, False),
            "ai_share": missing_last(r.ai_share_of_revenue, True),
            "revenue": missing_last(r.revenue_nanos, True),
        }[sort]
        return (*chosen, r.customer_id)

    return key


def _judge(e: UnitEconomics, limits: Thresholds, streak: int) -> Profitability:
    flags: list[str] = []
    action = reason = None
    margin, share = e.margin_nanos, e.ai_share_of_revenue
    if e.revenue_nanos is None or margin is None or e.profitability_nanos is None:
        if e.ai_cost_nanos:
            flags.append("no_business_data")
            reason = "no revenue or margin imported for this period: import business data"
    else:
        if e.profitability_nanos < 0:
            flags.append("unprofitable")
        if share is not None and share > limits.ai_share:
            flags.append("high_ai_share")
        action, reason = _action(e, flags, limits, streak)
    return Profitability(
        period=e.period,
        time_zone=e.time_zone,
        customer_id=e.customer_id,
        rank=0,
        plan=e.plan,
        revenue_nanos=e.revenue_nanos,
        ai_cost_nanos=e.ai_cost_nanos,
        margin_nanos=margin,
        profitability_nanos=e.profitability_nanos,
        profitability_pct=(
            ratio(e.profitability_nanos, margin)
            if margin and margin > 0 and e.profitability_nanos is not None
            else None
        ),
        ai_share_of_revenue=share,
        flags=",".join(flags),
        action=action,
        reason=reason,
        computed_at=None,
        period_start=e.period_start,
        period_end=e.period_end,
    )


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)}%"


def _usd(nanos: int) -> str:
    return format_usd(nanos, places=2)


def _action(
    e: UnitEconomics, flags: Sequence[str], limits: Thresholds, streak: int
) -> tuple[str | None, str | None]:
    revenue, cost, margin = e.revenue_nanos, e.ai_cost_nanos, e.margin_nanos or 0
    plan = e.plan
    if "unprofitable" in flags:
        gap = cost - margin
        if revenue is not None and cost >= revenue:
            if streak + 1 >= limits.sunset_after:
                return "sunset", (
                    f"AI cost {_usd(cost)} has exceeded the whole revenue for {streak + 1}"
                    " consecutive periods: discontinue AI or move to a self-service tier"
                )
            return "restrict", (
                f"AI cost {_usd(cost)} exceeds the whole subscription revenue {_usd(revenue)}:"
                " restrict AI features for this plan"
            )
        if plan and plan in limits.plan_order and plan != limits.plan_order[-1]:
            following = limits.plan_order[limits.plan_order.index(plan) + 1]
            return "tier up", (
                f"AI cost {_usd(cost)} exceeds the margin {_usd(margin)} by {_usd(gap)}:"
                f" move from {plan} to {following}"
            )
        if e.work_items:
            fee = (nanos_to_decimal(gap) / e.work_items).quantize(
                Decimal("0.001"), rounding=ROUND_CEILING
            )
            return "usage pricing", (
                f"AI cost {_usd(cost)} exceeds the margin {_usd(margin)} by {_usd(gap)}:"
                f" a fee of ${fee} per work item over {e.work_items:,} work items"
                " closes the gap"
            )
        return "optimize", (
            f"AI cost {_usd(cost)} exceeds the margin {_usd(margin)} by {_usd(gap)}:"
            " reduce usage (better prompts, smaller context, a cheaper model)"
        )
    if "high_ai_share" in flags and e.ai_share_of_revenue is not None:
        return "optimize", (
            f"AI cost is {_pct(e.ai_share_of_revenue)} of revenue (threshold"
            f" {_pct(limits.ai_share)}): better prompts, smaller context, a cheaper model"
        )
    return None, None


def _unprofitable_streaks(
    conn: sa.Connection, target: periods.Period, length: int
) -> dict[str, int]:
    """How many periods in a row right before ``target`` each customer was unprofitable."""
    try:
        periods.period_granularity(target)
    except InputError:
        return {}
    previous = [periods.shift(target, -k).label for k in range(1, length)]
    if not previous:
        return {}
    query = sa.select(
        profitability.c.customer_id, profitability.c.period, profitability.c.flags
    ).where(profitability.c.period.in_(previous), profitability.c.time_zone == target.time_zone)
    unprofitable = {
        (c, p) for c, p, f in conn.execute(query) if f and "unprofitable" in f.split(",")
    }
    streaks: dict[str, int] = {}
    for customer in {c for c, _ in unprofitable}:
        count = 0
        for label in previous:
            if (customer, label) not in unprofitable:
                break
            count += 1
        streaks[customer] = count
    return streaks


def _row(record: Profitability) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in Profitability.__dataclass_fields__}
    row["flags"] = record.flags or None
    row["reason"] = (record.reason or "")[:600] or None
    return row
