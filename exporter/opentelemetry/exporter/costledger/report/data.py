"""What the report shows, gathered from the ledger and the jobs' result tables.

:func:`collect_report` runs a handful of ``GROUP BY`` queries (the ledger never travels to
Python) and reads the jobs' tables:

* totals per day, per customer per day (top N customers by cost, the rest summed as
  ``other``), per category, per customer (with distinct work items and cost per work item), the
  most expensive work items, and the calls no price covers — straight from ``ledger_entries``,
  bucketed by day in the report's time zone with the jobs' own bucketing (:mod:`..periods`), so
  each figure equals what ``costledger aggregate`` stores — except that the daily views spread
  allocated bills evenly over their billing period's days (amortized, :mod:`.amortize`);
* the profitability ranking (``profitability``, written by ``costledger rank``), cost per work
  item from imported counts (``unit_economics``, ``costledger normalize``) and the alerts
  (``alerts``, ``costledger alerts``) about the period: those whose own period overlaps it, and
  likewise the budgets as the last alerts run found them (``budget_status``, :mod:`.budgets`).
  A job that has not run leaves its part empty, and the page says which command fills it.

Money is integer nano-dollars throughout; rendering decides how to round for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import per_unit_nanos

from .. import periods
from ..jobs.agents import AgentPnl, agents_on
from ..jobs.iceberg import Iceberg, iceberg_on
from ..ledger.schema import ledger_entries
from .amortize import Spread, spread_rows, spreads
from .budgets import budgets_about

UNATTRIBUTED = "(unattributed)"
OTHER = "(other customers)"
LLM_CATEGORIES = ("api", "embedding")

CATEGORY_LABELS = {
    "api": "API",
    "embedding": "Embeddings",
    "vector_storage": "Vector storage",
    "observability": "Observability",
    "human_review": "Human review",
    "third_party": "Third-party",
}
CATEGORY_ORDER = tuple(CATEGORY_LABELS)


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category.replace("_", " ").capitalize())


@dataclass(slots=True)
class CustomerSummary:
    customer_id: str
    customer_name: str | None
    cost_nanos: int
    api_cost_nanos: int
    calls: int
    work_items: int
    unpriced: int

    @property
    def cost_per_work_item_nanos(self) -> int | None:
        """The same division as ``normalize``'s ``cost_per_work_item`` (:mod:`..money`)."""
        return per_unit_nanos(self.cost_nanos, self.work_items)


@dataclass(slots=True)
class ReportData:
    period: periods.Period
    generated_at: datetime
    days: list[date]
    daily_nanos: list[int]
    daily_calls: list[int]
    # series name → nanos per day (aligned with ``days``): top customers, then ``other``.
    customer_series: dict[str, list[int]]
    customers: list[CustomerSummary]
    categories: list[tuple[str, int, int]]  # (category, cost_nanos, entries)
    top_work_items: list[dict[str, Any]]
    unpriced: list[dict[str, Any]]
    ranking: list[dict[str, Any]] = field(default_factory=list)
    unit_economics: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    budgets: list[dict[str, Any]] = field(default_factory=list)  # :mod:`.budgets`
    missing_jobs: list[str] = field(default_factory=list)
    # The allocated bills spread evenly over their billing period's days in the daily views
    # (``daily_nanos``, ``customer_series``): see :mod:`.amortize`.
    amortized: list[Spread] = field(default_factory=list)
    # day → nanos of allocation rows without a known allocation run, left on the day they are
    # booked on (included above), which the chart must explain.
    allocated_by_day: dict[date, int] = field(default_factory=dict)
    # The AI Workforce P&L (agents named on the ledger's rows) and the AI Cost Iceberg.
    agents: list[AgentPnl] = field(default_factory=list)
    iceberg: Iceberg | None = None

    @property
    def total_nanos(self) -> int:
        """The ledger's total for the period (the daily views may spread part of an allocated
        bill over days outside it)."""
        return sum(c.cost_nanos for c in self.customers)

    @property
    def total_calls(self) -> int:
        return sum(self.daily_calls)

    @property
    def unpriced_calls(self) -> int:
        return sum(int(u["calls"]) for u in self.unpriced)


def _customer_key(value: str | None) -> str:
    return value if value is not None else UNATTRIBUTED


def collect_report(
    engine: sa.Engine,
    period: periods.Period,
    *,
    top_n: int = 8,
    top_work_items: int = 10,
) -> ReportData:
    """Everything the report page shows for ``period`` (see the module docstring)."""
    le = ledger_entries
    start, end = period.utc_range()
    in_period = sa.and_(le.c.timestamp >= start, le.c.timestamp < end)
    dialect = engine.dialect.name
    day = periods.bucket_expression(
        le.c.timestamp, "day", period.time_zone, dialect, span=(start, end)
    ).label("day")
    cost = sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0)
    is_call = sa.case((le.c.category.in_(LLM_CATEGORIES), 1), else_=0)
    calls = sa.func.coalesce(sa.func.sum(is_call), 0)
    unpriced = sa.func.coalesce(sa.func.sum(sa.case((le.c.cost_nanos.is_(None), 1), else_=0)), 0)

    days = [period.start + timedelta(days=n) for n in range(period.days)]
    index = {d: i for i, d in enumerate(days)}
    with engine.connect() as conn:
        daily_nanos = [0] * len(days)
        daily_calls = [0] * len(days)
        spread = spread_rows()
        for bucket, nanos, count in conn.execute(
            sa.select(day, cost, calls).where(in_period, ~spread).group_by(day)
        ):
            i = index[periods.as_date(bucket)]
            daily_nanos[i], daily_calls[i] = int(nanos), int(count)
        amortized = spreads(conn, period)
        for item in amortized:
            for d, nanos in item.per_day().items():
                if d in index:
                    daily_nanos[index[d]] += nanos
        allocated_by_day = {
            periods.as_date(bucket): int(nanos)
            for bucket, nanos in conn.execute(
                sa.select(day, cost)
                .where(in_period, le.c.source == "allocation", ~spread)
                .group_by(day)
            )
            if nanos
        }

        customers = [
            CustomerSummary(
                customer_id=_customer_key(r.customer_id),
                customer_name=r.customer_name,
                cost_nanos=int(r.cost),
                api_cost_nanos=int(r.api_cost),
                calls=int(r.calls),
                work_items=int(r.work_items),
                unpriced=int(r.unpriced),
            )
            for r in conn.execute(
                sa.select(
                    le.c.customer_id,
                    sa.func.max(le.c.customer_name).label("customer_name"),
                    cost.label("cost"),
                    sa.func.coalesce(
                        sa.func.sum(
                            sa.case((le.c.category.in_(LLM_CATEGORIES), le.c.cost_nanos), else_=0)
                        ),
                        0,
                    ).label("api_cost"),
                    calls.label("calls"),
                    sa.func.count(sa.distinct(le.c.work_item_id)).label("work_items"),
                    unpriced.label("unpriced"),
                )
                .where(in_period)
                .group_by(le.c.customer_id)
            )
        ]
        customers.sort(key=lambda c: (-c.cost_nanos, c.customer_id))
        top = [c.customer_id for c in customers[:top_n]]
        series: dict[str, list[int]] = {name: [0] * len(days) for name in top}
        if len(customers) > top_n:
            series[OTHER] = [0] * len(days)
        by_day_and_customer = [
            (periods.as_date(bucket), customer_id, int(nanos))
            for bucket, customer_id, nanos in conn.execute(
                sa.select(day, le.c.customer_id, cost)
                .where(in_period, ~spread)
                .group_by(day, le.c.customer_id)
            )
        ]
        by_day_and_customer += [
            (d, item.customer_id, nanos)
            for item in amortized
            for d, nanos in item.per_day().items()
            if d in index
        ]
        for bucket_day, customer_id, nanos in by_day_and_customer:
            name = _customer_key(customer_id)
            key = name if name in top else OTHER
            if key in series:
                series[key][index[bucket_day]] += nanos

        categories = [
            (r.category, int(r.cost), int(r.entries))
            for r in conn.execute(
                sa.select(le.c.category, cost.label("cost"), sa.func.count().label("entries"))
                .where(in_period)
                .group_by(le.c.category)
            )
        ]
        order = {name: i for i, name in enumerate(CATEGORY_ORDER)}
        categories.sort(key=lambda c: (order.get(c[0], len(order)), -c[1], c[0]))

        items = [
            {
                "customer_id": _customer_key(r.customer_id),
                "work_item_id": r.work_item_id,
                "cost_nanos": int(r.cost),
                "entries": int(r.entries),
            }
            for r in conn.execute(
                sa.select(
                    le.c.customer_id,
                    le.c.work_item_id,
                    cost.label("cost"),
                    sa.func.count().label("entries"),
                )
                .where(in_period, le.c.work_item_id.is_not(None))
                .group_by(le.c.customer_id, le.c.work_item_id)
                .order_by(cost.desc(), le.c.customer_id, le.c.work_item_id)
                .limit(top_work_items)
            )
        ]

        unpriced_models = [
            {
                "provider": r.provider,
                "model": r.model,
                "reason": r.unpriced_reason,
                "calls": int(r.calls),
                "first_seen": _aware(r.first_seen),
                "last_seen": _aware(r.last_seen),
            }
            for r in conn.execute(
                sa.select(
                    le.c.provider,
                    le.c.model,
                    le.c.unpriced_reason,
                    sa.func.count().label("calls"),
                    sa.func.min(le.c.timestamp).label("first_seen"),
                    sa.func.max(le.c.timestamp).label("last_seen"),
                )
                .where(in_period, le.c.cost_nanos.is_(None))
                .group_by(le.c.provider, le.c.model, le.c.unpriced_reason)
                .order_by(sa.func.count().desc(), le.c.provider, le.c.model)
            )
        ]

    data = ReportData(
        period=period,
        generated_at=datetime.now(UTC),
        days=days,
        daily_nanos=daily_nanos,
        daily_calls=daily_calls,
        customer_series=series,
        customers=customers,
        categories=categories,
        top_work_items=items,
        unpriced=unpriced_models,
        amortized=amortized,
        allocated_by_day=dict(sorted(allocated_by_day.items())),
    )
    _add_job_results(engine, data)
    with engine.connect() as conn:
        data.agents = agents_on(conn, period)
        data.iceberg = iceberg_on(conn, period)
    return data


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    when: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _alerts_about(conn: sa.Connection, period: periods.Period) -> list[dict[str, Any]]:
    """The alerts whose period overlaps ``period`` — what they are about, not when they were
    raised: a spike of the last week of November is in November's report even when it was
    raised in December. Periods cut in other time zones compare by their UTC instants."""
    from ..ledger import tables

    a = tables.alerts
    start, end = period.utc_range()
    day = timedelta(days=1)  # the widest gap between two time zones' local dates
    candidates = conn.execute(
        sa.select(a)
        .where(a.c.period_start < period.end + day, a.c.period_end > period.start - day)
        .order_by(a.c.period_start.desc(), a.c.first_seen_at.desc(), a.c.id.desc())
    ).mappings()
    found = []
    for alert in candidates:
        about = periods.Period(
            str(alert["period"]),
            periods.as_date(alert["period_start"]),
            periods.as_date(alert["period_end"]),
            str(alert["time_zone"] or "UTC"),
        )
        lo, hi = about.utc_range()
        if lo < end and hi > start:
            found.append(dict(alert))
    return found


def _add_job_results(engine: sa.Engine, data: ReportData) -> None:
    """The jobs' results for the period, read from their tables (see :mod:`..jobs`)."""
    from ..ledger import tables

    period, tz = data.period.label, data.period.time_zone
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        if not inspector.has_table(tables.profitability.name):
            data.missing_jobs.append("the jobs' tables (run costledger aggregate first)")
            return
        p = tables.profitability
        data.ranking = [
            dict(r)
            for r in conn.execute(
                sa.select(p)
                .where(p.c.period == period, p.c.time_zone == tz)
                .order_by(p.c.rank, p.c.customer_id)
            ).mappings()
        ]
        u = tables.unit_economics
        data.unit_economics = [
            dict(r)
            for r in conn.execute(
                sa.select(u)
                .where(u.c.period == period, u.c.time_zone == tz)
                .order_by(u.c.ai_cost_nanos.desc(), u.c.customer_id)
            ).mappings()
        ]
        data.alerts = _alerts_about(conn, data.period)
        data.budgets = budgets_about(conn, data.period)
    if not data.ranking:
        data.missing_jobs.append(f"profitability ranking: run costledger rank --period {period}")
    if not data.unit_economics:
        data.missing_jobs.append(f"unit economics: run costledger normalize --period {period}")
