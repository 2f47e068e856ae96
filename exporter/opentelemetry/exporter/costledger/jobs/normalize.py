"""Step 5 — normalize: fully loaded cost per customer and period, per work item, against revenue
and subscription margin.

``normalize(db, period="2025-05")`` sums the ledger per customer over the period in one
``GROUP BY`` — every source: LLM calls, record_cost events, allocations of shared bills, direct
costs — and joins the business data imported with ``costledger import business``. CLI:
``costledger normalize``.

Definitions (money exact; ratios to 12 decimals):

* ``ai_cost`` — fully loaded AI cost: the sum of every priced ledger row of the customer in the
  period (unpriced rows are counted in ``unpriced_entries``, never as zero cost silently).
* ``api_cost`` — the part from LLM calls (categories ``api`` and ``embedding``);
  ``other_cost`` = ``ai_cost - api_cost``.
* ``work_items`` — the imported count from the business data when given, else the distinct
  ``work_item_id`` values in the ledger (``work_items_source`` says which);
  ``cost_per_work_item`` = ``ai_cost / work_items``.
* ``ai_share_of_revenue`` = ``ai_cost / revenue``.
* ``margin`` — the subscription margin: the imported amount, or ``revenue × margin %``.
* ``ai_cost_to_margin`` = ``ai_cost / margin``; ``profitability`` = ``margin - ai_cost`` (what
  is left of the margin once AI is paid for; negative = unprofitable).

Result table ``unit_economics`` (one row per period × time zone × customer, replaced on re-run):
``period``, ``time_zone``, ``customer_id``, ``period_start``, ``period_end``, ``plan``,
``ai_cost_nanos``, ``api_cost_nanos``, ``other_cost_nanos``, ``unpriced_entries``,
``work_items``, ``work_items_source`` (``imported``/``ledger``), ``cost_per_work_item``
(dollars, NUMERIC), ``revenue_nanos``, ``margin_nanos``, ``ai_share_of_revenue``,
``ai_cost_to_margin``, ``profitability_nanos``, ``computed_at``. Customers without business
data have NULL revenue-based columns.

:func:`normalize` and :func:`stored_unit_economics` return :class:`UnitEconomics`, one per row,
its fields the table's columns (money in nanos; ``ai_cost_usd`` and the like give exact
dollars). :func:`category_breakdown` gives the seed's Step 4 table: one customer's cost per
category, as :class:`CategoryCost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import (
    nanos_to_decimal,
    per_unit,
    ratio,
    to_dollars,
)

from .. import periods
from ..imports.user_data import business_rows
from ..ledger.customers import check_customer
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries
from ..ledger.tables import unit_economics
from .groups import LLM_CATEGORIES


class CustomerPnl:
    """The dollar views of a customer's P&L columns, shared by ``normalize``'s and ``rank``'s
    results (each a dataclass declaring these ``*_nanos`` fields)."""

    __slots__ = ()
    ai_cost_nanos: int
    revenue_nanos: int | None
    margin_nanos: int | None
    profitability_nanos: int | None

    @property
    def ai_cost_usd(self) -> Decimal:
        return nanos_to_decimal(self.ai_cost_nanos)

    @property
    def revenue_usd(self) -> Decimal | None:
        return to_dollars(self.revenue_nanos)

    @property
    def margin_usd(self) -> Decimal | None:
        return to_dollars(self.margin_nanos)

    @property
    def profitability_usd(self) -> Decimal | None:
        return to_dollars(self.profitability_nanos)


@dataclass(frozen=True, slots=True)
class UnitEconomics(CustomerPnl):
    """One customer's unit economics in a period: a row of ``unit_economics`` (module doc)."""

    period: str
    time_zone: str
    customer_id: str
    period_start: date
    period_end: date
    plan: str | None
    ai_cost_nanos: int
    api_cost_nanos: int
    other_cost_nanos: int
    unpriced_entries: int
    work_items: int | None
    work_items_source: str | None
    cost_per_work_item: Decimal | None
    revenue_nanos: int | None
    margin_nanos: int | None
    ai_share_of_revenue: Decimal | None
    ai_cost_to_margin: Decimal | None
    profitability_nanos: int | None
    computed_at: datetime | None

    @property
    def api_cost_usd(self) -> Decimal:
        return nanos_to_decimal(self.api_cost_nanos)

    @property
    def other_cost_usd(self) -> Decimal:
        return nanos_to_decimal(self.other_cost_nanos)


@dataclass(frozen=True, slots=True)
class CategoryCost:
    """A customer's cost in one ledger category of a period (``category`` ``total`` sums them)."""

    category: str
    cost_nanos: int
    entries: int

    @property
    def cost_usd(self) -> Decimal:
        return nanos_to_decimal(self.cost_nanos)


def normalize(
    database: Database = None, *, period: str, time_zone: str | None = None
) -> list[UnitEconomics]:
    """Compute and store ``unit_economics`` for ``period``; return its rows (see module doc)."""
    target = periods.parse_period(period, time_zone)
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.begin() as conn:
            rows = _compute(conn, target)
            conn.execute(
                unit_economics.delete().where(
                    (unit_economics.c.period == target.label)
                    & (unit_economics.c.time_zone == target.time_zone)
                )
            )
            if rows:
                conn.execute(unit_economics.insert(), rows)
        record_run(
            engine, "normalize", started, f"{target.label}: {len(rows)} customer(s)", ok=True
        )
    rows.sort(key=lambda r: (-r["ai_cost_nanos"], r["customer_id"]))
    return [_record(r) for r in rows]


def _compute(conn: sa.Connection, period: periods.Period) -> list[dict[str, Any]]:
    le = ledger_entries
    lo, hi = period.utc_range()
    is_api = le.c.category.in_(LLM_CATEGORIES)
    query = (
        sa.select(
            le.c.customer_id,
            sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0),
            sa.func.coalesce(sa.func.sum(sa.case((is_api, le.c.cost_nanos), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((le.c.cost_nanos.is_(None), 1), else_=0)), 0),
            sa.func.count(sa.distinct(le.c.work_item_id)),
        )
        .where(le.c.timestamp >= lo, le.c.timestamp < hi, le.c.customer_id.is_not(None))
        .group_by(le.c.customer_id)
    )
    costs = {c: (int(t), int(a), int(u), int(w)) for c, t, a, u, w in conn.execute(query)}
    business = business_rows(conn, period.label)
    stamp = now()
    rows = []
    for customer in sorted(set(costs) | set(business)):
        total, api, unpriced, distinct_items = costs.get(customer, (0, 0, 0, 0))
        biz = business.get(customer)
        imported_items = biz["work_items"] if biz else None
        work_items = imported_items if imported_items is not None else distinct_items
        revenue = biz["revenue_nanos"] if biz else None
        margin = _margin(biz)
        rows.append(
            {
                "period": period.label,
                "time_zone": period.time_zone,
                "customer_id": customer,
                "period_start": period.start,
                "period_end": period.end,
                "plan": biz["plan"] if biz else None,
                "ai_cost_nanos": total,
                "api_cost_nanos": api,
                "other_cost_nanos": total - api,
                "unpriced_entries": unpriced,
                "work_items": work_items,
                "work_items_source": "imported" if imported_items is not None else "ledger",
                "cost_per_work_item": per_unit(total, work_items),
                "revenue_nanos": revenue,
                "margin_nanos": margin,
                "ai_share_of_revenue": ratio(total, revenue),
                "ai_cost_to_margin": ratio(total, margin),
                "profitability_nanos": None if margin is None else margin - total,
                "computed_at": stamp,
            }
        )
    return rows


def _margin(biz: dict[str, Any] | None) -> int | None:
    if biz is None:
        return None
    if biz["margin_nanos"] is not None:
        return int(biz["margin_nanos"])
    if biz["margin_pct"] is not None:
        exact = Decimal(biz["revenue_nanos"]) * Decimal(biz["margin_pct"])
        return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))
    return None


def _record(row: Any) -> UnitEconomics:
    return UnitEconomics(**{name: row[name] for name in UnitEconomics.__dataclass_fields__})


def stored_unit_economics(
    database: Database = None, *, period: str, time_zone: str | None = None
) -> list[UnitEconomics]:
    """The stored ``unit_economics`` rows of a period."""
    target = periods.parse_period(period, time_zone)
    ue = unit_economics
    query = (
        sa.select(ue)
        .where((ue.c.period == target.label) & (ue.c.time_zone == target.time_zone))
        .order_by(ue.c.ai_cost_nanos.desc(), ue.c.customer_id)
    )
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        return [_record(r) for r in conn.execute(query).mappings()]


def category_breakdown(
    database: Database = None, *, period: str, customer_id: str, time_zone: str | None = None
) -> list[CategoryCost]:
    """One customer's cost per category in a period (the seed's Step 4 table), biggest first,
    with a final ``total`` record; :class:`~..ledger.customers.UnknownCustomer` for a customer
    the ledger does not know in the period (with the closest ids)."""
    target = periods.parse_period(period, time_zone)
    le = ledger_entries
    lo, hi = target.utc_range()
    query = (
        sa.select(
            le.c.category,
            sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0),
            sa.func.count(),
        )
        .where(le.c.timestamp >= lo, le.c.timestamp < hi, le.c.customer_id == customer_id)
        .group_by(le.c.category)
        .order_by(sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0).desc(), le.c.category)
    )
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        rows = [CategoryCost(c, int(n), int(k)) for c, n, k in conn.execute(query)]
        if not rows:  # $0.00 only for a customer the ledger knows
            check_customer(conn, customer_id, start=lo, end=hi, period=target.label)
    total = CategoryCost("total", sum(r.cost_nanos for r in rows), sum(r.entries for r in rows))
    return [*rows, total]
