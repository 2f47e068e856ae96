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
(comma-separated), ``action``, ``reason``, ``computed_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.tables import profitability
from ..money import format_usd, ratio, to_nanos
from .normalize import normalize

SORTS = ("ai_cost", "profitability", "profitability_pct", "ai_share", "revenue")


@dataclass(frozen=True, slots=True)
class Thresholds:
    ai_share: Decimal = Decimal("0.5")
    sunset_after: int = 3
    plan_order: tuple[str, ...] = ()


def rank(
    database: Database = None,
    *,
    period: str,
    time_zone: str | None = None,
    thresholds: Thresholds | None = None,
    sort: str = "ai_cost",
) -> list[dict[str, Any]]:
    """Normalize, rank, flag and suggest actions for ``period``; store and return the records."""
    if sort not in SORTS:
        raise InputError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
    limits = thresholds or Thresholds()
    target = periods.parse_period(period, time_zone)
    started = now()
    with open_ledger(database) as engine:
        economics = normalize(engine, period=period, time_zone=time_zone)
        with engine.begin() as conn:
            history = _unprofitable_streaks(conn, target, limits.sunset_after)
            records = [_judge(r, limits, history.get(r["customer_id"], 0)) for r in economics]
            records = [r for r in records if r["ai_cost"] or r["revenue"] is not None]
            records.sort(key=_sort_key(sort))
            for position, record in enumerate(records, 1):
                record["rank"] = position
            conn.execute(
                profitability.delete().where(
                    (profitability.c.period == target.label)
                    & (profitability.c.time_zone == target.time_zone)
                )
            )
            if records:
                conn.execute(profitability.insert(), [_row(r, target) for r in records])
        flagged = sum(1 for r in records if r["flags"])
        record_run(
            engine,
            "rank",
            started,
            f"{target.label}: {len(records)} ranked, {flagged} flagged",
            ok=True,
        )
    return records


def _sort_key(sort: str) -> Any:
    def missing_last(value: Decimal | None, descending: bool) -> tuple[int, Decimal]:
        if value is None:
            return (1, Decimal(0))
        return (0, -value if descending else value)

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        chosen = {
            "ai_cost": missing_last(r["ai_cost"], True),
            "profitability": missing_last(r["profitability"], False),
            "profitability_pct": missing_last(r["profitability_pct"], False),
            "ai_share": missing_last(r["ai_share_of_revenue"], True),
            "revenue": missing_last(r["revenue"], True),
        }[sort]
        return (*chosen, r["customer_id"])

    return key


def _judge(record: dict[str, Any], limits: Thresholds, streak: int) -> dict[str, Any]:
    out = dict(record)
    flags: list[str] = []
    action = reason = None
    revenue, cost, margin = record["revenue"], record["ai_cost"], record["margin"]
    share = record["ai_share_of_revenue"]
    out["profitability_pct"] = (
        ratio(record["profitability"], margin) if margin and margin > 0 else None
    )
    if revenue is None or margin is None:
        if cost:
            flags.append("no_business_data")
            reason = "no revenue or margin imported for this period: import business data"
    else:
        if record["profitability"] < 0:
            flags.append("unprofitable")
        if share is not None and share > limits.ai_share:
            flags.append("high_ai_share")
        action, reason = _action(record, flags, limits, streak)
    out.update(flags=",".join(flags), action=action, reason=reason)
    return out


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)}%"


def _usd(value: Decimal) -> str:
    return format_usd(to_nanos(value), places=2)


def _action(
    record: dict[str, Any], flags: Sequence[str], limits: Thresholds, streak: int
) -> tuple[str | None, str | None]:
    revenue, cost, margin = record["revenue"], record["ai_cost"], record["margin"]
    plan = record["plan"]
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
        if record["work_items"]:
            fee = (gap / record["work_items"]).quantize(Decimal("0.001"), rounding=ROUND_CEILING)
            return "usage pricing", (
                f"AI cost {_usd(cost)} exceeds the margin {_usd(margin)} by {_usd(gap)}:"
                f" a fee of ${fee} per work item over {record['work_items']:,} work items"
                " closes the gap"
            )
        return "optimize", (
            f"AI cost {_usd(cost)} exceeds the margin {_usd(margin)} by {_usd(gap)}:"
            " reduce usage (better prompts, smaller context, a cheaper model)"
        )
    if "high_ai_share" in flags:
        return "optimize", (
            f"AI cost is {_pct(record['ai_share_of_revenue'])} of revenue (threshold"
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


def _row(record: dict[str, Any], target: periods.Period) -> dict[str, Any]:
    def nanos(value: Decimal | None) -> int | None:
        return None if value is None else to_nanos(value)

    return {
        "period": target.label,
        "time_zone": target.time_zone,
        "customer_id": record["customer_id"],
        "rank": record["rank"],
        "plan": record["plan"],
        "revenue_nanos": nanos(record["revenue"]),
        "ai_cost_nanos": nanos(record["ai_cost"]),
        "margin_nanos": nanos(record["margin"]),
        "profitability_nanos": nanos(record["profitability"]),
        "profitability_pct": record["profitability_pct"],
        "ai_share_of_revenue": record["ai_share_of_revenue"],
        "flags": record["flags"] or None,
        "action": record["action"],
        "reason": (record["reason"] or "")[:600] or None,
        "computed_at": now(),
    }
