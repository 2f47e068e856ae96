"""The AI Workforce P&L: each agent's cost structure, productivity and retirement trigger.

``agents(db, period="2025-05", targets="targets.toml")`` treats each agent (``gen_ai.agent.name``
on the ledger's rows) like an employee. CLI: ``costledger agents``; the report's ``agents``
section.

Cost structure (money exact, nano-dollars):

* ``api_cost`` — its LLM calls (``api``, ``embedding``), and ``api_by_model`` the same per model;
* ``tools_cost`` — its other cost events (``third_party``, tools, ...), not human review;
* ``human_review_cost`` — human review on its work items: review rows that name the agent, and
  review rows that name no agent, split evenly among the agents that worked on that work item
  in the period (the remainder nano-dollars to the first by name);
* ``allocated_cost`` — its share of allocated bills (``costledger allocate``): each customer's
  allocated amount × the agent's share of that customer's direct cost (rounded half-even; what
  no agent accounts for stays with the customer);
* ``total_cost`` — the four together.

Productivity: ``work_items`` (distinct work items among its rows), ``successful_outcomes`` and
``failed_outcomes`` (by each work item's latest outcome, :mod:`.outcomes`), ``success_rate`` =
successes / (successes + failures), ``cost_per_success`` = ``total_cost / successes``.

Against the user's file (:mod:`.agent_targets`): ``target_cost_per_success``,
``human_baseline`` (what people would have cost for the same successes) and ``savings`` =
baseline − total cost. ``met_target``: cost per success at most the target (and the success rate
at least the minimum, when given); an agent with cost and no success misses. ``missed_in_a_row``
counts this period and the ones before it that missed. The **retirement trigger**: after
``miss_periods`` misses in a row (default 3) the agent is flagged ``retire`` with a suggested
action; a single miss is flagged ``below_target``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import format_usd, per_unit, to_dollars

from .. import periods
from ..currency import USD, Rates, format_money
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries
from .agent_targets import NO_TARGETS, AgentTarget, AgentTargets, read_targets
from .converted import converted_sums
from .groups import LLM_CATEGORIES
from .outcomes import NO_OUTCOMES, outcome_counts

REVIEW = "human_review"


@dataclass(frozen=True, slots=True)
class AgentPnl:
    """One agent's P&L in a period (see the module docstring)."""

    period: str
    agent: str
    api_cost_nanos: int
    api_by_model: str  # "model $cost; ..." biggest first
    tools_cost_nanos: int
    human_review_cost_nanos: int
    allocated_cost_nanos: int
    total_cost_nanos: int
    work_items: int
    successful_outcomes: int
    failed_outcomes: int
    success_rate: Decimal | None
    cost_per_success: Decimal | None
    target_cost_per_success: Decimal | None
    human_baseline_nanos: int | None
    savings_nanos: int | None
    met_target: bool | None
    missed_in_a_row: int
    flag: str | None
    action: str | None
    # Of every amount: another with ``rates`` (nano-units of it; the flag and the action are
    # the USD P&L's, judged once).
    currency: str = USD

    @property
    def total_cost_usd(self) -> Decimal:
        return Decimal(self.total_cost_nanos) / 1_000_000_000

    @property
    def human_baseline_usd(self) -> Decimal | None:
        return to_dollars(self.human_baseline_nanos)

    @property
    def savings_usd(self) -> Decimal | None:
        return to_dollars(self.savings_nanos)


@dataclass
class _Costs:
    api: int = 0
    tools: int = 0
    review: int = 0
    allocated: int = 0
    by_model: dict[str, int] | None = None
    work_items: int = 0

    @property
    def total(self) -> int:
        return self.api + self.tools + self.review + self.allocated


def agents(
    database: Database = None,
    *,
    period: str,
    targets: AgentTargets | str | os.PathLike[str] | None = None,
    time_zone: str | None = None,
    rates: Rates | None = None,
) -> list[AgentPnl]:
    """Each agent's P&L in ``period``, biggest total cost first; its money in the currency of
    ``rates`` when given (:func:`agents_on`)."""
    plan = targets if isinstance(targets, AgentTargets) else read_targets(targets)
    target = periods.parse_period(period, time_zone)
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.connect() as conn:
            results = agents_on(conn, target, plan, rates)
        record_run(engine, "agents", started, f"{target.label}: {len(results)} agent(s)", ok=True)
    return results


def agents_on(
    conn: sa.Connection,
    target: periods.Period,
    plan: AgentTargets = NO_TARGETS,
    rates: Rates | None = None,
) -> list[AgentPnl]:
    """:func:`agents` on an open connection (the report's section), without a run record.

    ``rates`` of another currency: the P&L is judged in USD (flags, actions), then its money is
    measured again in the currency — every ledger sum per UTC day at its rate (:mod:`.converted`),
    the targets and human baselines (amounts of the period) spread over its days
    (:meth:`..currency.Rates.spread`), and what derives from them recomputed."""
    history = [periods.shift(target, -k) for k in range(1, plan.miss_periods)]
    earlier = [_judge(conn, p, plan) for p in history]
    current = _judge(conn, target, plan)
    results = []
    for pnl in current.values():
        streak = 0
        if pnl.met_target is False:
            streak = 1
            for before in earlier:
                if before.get(pnl.agent) is None or before[pnl.agent].met_target is not False:
                    break
                streak += 1
        results.append(_flagged(pnl, streak, plan))
    if rates is not None and not rates.is_identity:
        converted = _costs(conn, target, rates)
        results = [
            _in_currency(r, converted.get(r.agent, _Costs()), rates, target) for r in results
        ]
    return sorted(results, key=lambda r: (-r.total_cost_nanos, r.agent))


def _in_currency(pnl: AgentPnl, cost: _Costs, rates: Rates, period: periods.Period) -> AgentPnl:
    from dataclasses import replace

    last = period.end - timedelta(days=1)

    def spread(nanos: int | None) -> int | None:
        return None if nanos is None else rates.spread(nanos, period.start, last)

    total = cost.total
    target = pnl.target_cost_per_success
    baseline = spread(pnl.human_baseline_nanos)
    models = sorted((cost.by_model or {}).items(), key=lambda item: (-item[1], item[0]))
    return replace(
        pnl,
        api_cost_nanos=cost.api,
        api_by_model="; ".join(
            f"{model} {format_money(nanos, rates.currency)}" for model, nanos in models
        ),
        tools_cost_nanos=cost.tools,
        human_review_cost_nanos=cost.review,
        allocated_cost_nanos=cost.allocated,
        total_cost_nanos=total,
        cost_per_success=per_unit(total, pnl.successful_outcomes),
        target_cost_per_success=None if target is None else to_dollars(spread(_nanos(target))),
        human_baseline_nanos=baseline,
        savings_nanos=None if baseline is None else baseline - total,
        currency=rates.currency,
    )


def _judge(conn: sa.Connection, period: periods.Period, plan: AgentTargets) -> dict[str, AgentPnl]:
    costs = _costs(conn, period)
    outcomes = outcome_counts(conn, period, ledger_entries.c.agent)
    found = {}
    for agent, cost in costs.items():
        done = outcomes.get(agent, NO_OUTCOMES)
        found[agent] = _pnl(period.label, agent, cost, done.successful, done.failed, plan.of(agent))
    return found


def _pnl(
    label: str, agent: str, cost: _Costs, ok: int, failed: int, target: AgentTarget
) -> AgentPnl:
    total = cost.total
    judged = ok + failed
    rate = None if not judged else Decimal(ok) / Decimal(judged)
    per_success = per_unit(total, ok)
    per_person = target.human_cost_per_item()
    baseline = None if per_person is None else _nanos(per_person * ok)
    met: bool | None = None
    if target.target_cost_per_success is not None or target.min_success_rate is not None:
        met = not (ok == 0 and total > 0)
        if met and target.target_cost_per_success is not None and per_success is not None:
            met = per_success <= target.target_cost_per_success
        if met and target.min_success_rate is not None:
            met = rate is not None and rate >= target.min_success_rate
    models = sorted((cost.by_model or {}).items(), key=lambda item: (-item[1], item[0]))
    return AgentPnl(
        period=label,
        agent=agent,
        api_cost_nanos=cost.api,
        api_by_model="; ".join(f"{model} {format_usd(nanos)}" for model, nanos in models),
        tools_cost_nanos=cost.tools,
        human_review_cost_nanos=cost.review,
        allocated_cost_nanos=cost.allocated,
        total_cost_nanos=total,
        work_items=cost.work_items,
        successful_outcomes=ok,
        failed_outcomes=failed,
        success_rate=None if rate is None else rate.quantize(Decimal("1e-12")),
        cost_per_success=per_success,
        target_cost_per_success=target.target_cost_per_success,
        human_baseline_nanos=baseline,
        savings_nanos=None if baseline is None else baseline - total,
        met_target=met,
        missed_in_a_row=0,
        flag=None,
        action=None,
    )


def _nanos(usd: Decimal) -> int:
    return int((usd * 1_000_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))


def _flagged(pnl: AgentPnl, streak: int, plan: AgentTargets) -> AgentPnl:
    if not streak:
        return pnl
    from dataclasses import replace

    per = (
        "no successful outcome"
        if pnl.cost_per_success is None
        else (f"{format_usd(_nanos(pnl.cost_per_success))} per success")
    )
    target = pnl.target_cost_per_success
    against = "" if target is None else f" vs a target of {format_usd(_nanos(target))}"
    human = ""
    if pnl.human_baseline_nanos is not None and pnl.successful_outcomes:
        person = _nanos(Decimal(pnl.human_baseline_nanos) / pnl.successful_outcomes / 10**9)
        human = f"; people cost {format_usd(person)} per work item"
    if streak >= plan.miss_periods:
        return replace(
            pnl,
            missed_in_a_row=streak,
            flag="retire",
            action=f"retire or rework {pnl.agent}: missed its target {streak} periods in a row"
            f" ({per}{against}{human})",
        )
    return replace(
        pnl,
        missed_in_a_row=streak,
        flag="below_target",
        action=f"watch {pnl.agent}: {per}{against}{human}",
    )


def _summed(
    conn: sa.Connection,
    keys: list[Any],
    where: Any,
    rates: Rates | None,
) -> list[tuple[Any, ...]]:
    """``(*keys, cost)`` of the ledger rows ``where``, grouped by ``keys``: in USD, or with
    ``rates`` each group's UTC days converted at their rates and added."""
    if rates is None or rates.is_identity:
        cost = sa.func.coalesce(sa.func.sum(ledger_entries.c.cost_nanos), 0)
        return [tuple(r) for r in conn.execute(sa.select(*keys, cost).where(where).group_by(*keys))]
    return [(*key, nanos) for key, nanos in converted_sums(conn, rates, keys, where).items()]


def _costs(
    conn: sa.Connection, period: periods.Period, rates: Rates | None = None
) -> dict[str, _Costs]:
    le = ledger_entries
    lo, hi = period.utc_range()
    in_period = (le.c.timestamp >= lo) & (le.c.timestamp < hi)
    direct = in_period & (le.c.source != "allocation")
    found: dict[str, _Costs] = defaultdict(_Costs)
    rows = _summed(
        conn, [le.c.agent, le.c.category, le.c.model], direct & le.c.agent.is_not(None), rates
    )
    for agent, category, model, nanos in rows:
        entry = found[agent]
        if category in LLM_CATEGORIES:
            entry.api += int(nanos)
            entry.by_model = entry.by_model or {}
            entry.by_model[model or "?"] = entry.by_model.get(model or "?", 0) + int(nanos)
        elif category == REVIEW:
            entry.review += int(nanos)
        else:
            entry.tools += int(nanos)
    handled: dict[str, list[str]] = defaultdict(list)
    for agent, item in conn.execute(
        sa.select(le.c.agent, le.c.work_item_id)
        .where(in_period, le.c.agent.is_not(None), le.c.work_item_id.is_not(None))
        .distinct()
    ):
        handled[item].append(agent)
        found[agent].work_items += 1
    unassigned = _summed(
        conn,
        [le.c.work_item_id],
        direct & (le.c.category == REVIEW) & le.c.agent.is_(None) & le.c.work_item_id.is_not(None),
        rates,
    )
    for item, nanos in unassigned:
        workers = sorted(handled.get(item, ()))
        if workers:
            share, rest = divmod(int(nanos), len(workers))
            for index, agent in enumerate(workers):
                found[agent].review += share + (rest if index == 0 else 0)
    _allocate(conn, in_period, found, rates)
    return dict(found)


def _allocate(
    conn: sa.Connection, in_period: Any, found: dict[str, _Costs], rates: Rates | None
) -> None:
    le = ledger_entries
    allocated = {
        customer: int(nanos)
        for customer, nanos in _summed(
            conn,
            [le.c.customer_id],
            in_period & (le.c.source == "allocation") & le.c.customer_id.is_not(None),
            rates,
        )
    }
    if not allocated:
        return
    direct = in_period & (le.c.source != "allocation") & le.c.customer_id.in_(list(allocated))
    totals = {
        customer: int(nanos) for customer, nanos in _summed(conn, [le.c.customer_id], direct, rates)
    }
    for customer, agent, nanos in _summed(
        conn, [le.c.customer_id, le.c.agent], direct & le.c.agent.is_not(None), rates
    ):
        total = totals.get(customer, 0)
        if total:
            exact = Decimal(allocated[customer]) * int(nanos) / total
            found[agent].allocated += int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))
