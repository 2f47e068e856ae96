"""Per-customer billing: what to charge each customer for a period, from a pricing policy.

``charge_customers(db, period="2025-05", policy=load_policy("billing.toml"))`` computes every
customer's charge from the ledger and the policy (:mod:`.billing_policy`), stores it in
``billing_charges`` and ``billing_lines`` (replacing the period's previous computation) and
returns it. ``costledger bill`` runs it and then sends the charges as events
(:mod:`..export.billing_events`).

Who is billed: every customer with ledger rows in the period, and every customer named under
``[customers]`` in the policy (a minimum is owed without usage). All sources count (calls,
imports, allocated shares of shared bills, adjustments): the fully loaded cost, as ``rank``'s.

The order of operations, per customer and period:

1. **Resale tokens.** Rows of a model with a resale price (``token_prices``) are billed by
   their tokens, not their cost: one line per model and kind — uncached input, output,
   cache reads, cache writes — ``tokens × price / 1,000,000``.
2. **Cost plus.** The cost of every other row (other models, costs that are not tokens,
   allocated shares) is marked up: ``cost × (1 + markup_pct / 100)``, one line.
3. **Fee per work item.** ``distinct work items × fee_per_work_item``, one line.
4. Each line of 1–3 is rounded to the cent, half-even, on its own; their sum is the usage.
5. **Allowance.** ``included`` dollars of that usage are free: a line of
   ``−min(included, usage)``. The allowance is in the customer's dollars, after the markup.
6. **Minimum**, last: when usage less allowance is below ``minimum``, a line tops it up to the
   minimum. The total is the sum of the lines, a whole number of cents.

Rows without a price (``unpriced_entries``) that step 2 would bill are left out and counted:
run ``costledger reprice`` and bill again (an increase is sent as an adjustment).

Columns of ``billing_charges`` (period × time zone × customer): ``period_start``/``period_end``
(local dates ``[start, end)``), ``cost_nanos`` (the ledger's priced cost), ``usage_nanos``
(steps 1–4), ``allowance_nanos`` (the credit of step 5, positive), ``minimum_topup_nanos``,
``total_nanos``, ``work_items``, ``unpriced_entries``, ``computed_at``. ``billing_lines`` holds
each line: ``line_no``, ``kind`` (``tokens``, ``cost_plus``, ``work_item_fee``, ``allowance``,
``minimum``), ``model``, ``quantity``, ``unit_price`` (dollars per token kind's million, per
work item, or the markup factor), ``amount_nanos``, ``description``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import (
    NANOS_PER_USD,
    nanos_to_decimal,
    to_nanos,
    usd_text,
)

from .. import periods
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries as le
from ..ledger.tables import billing_charges, billing_lines
from .billing_policy import BillingPolicy, Terms

_CENT = Decimal("0.01")
_MILLION = Decimal(1_000_000)
# Token kinds as billed, with the ledger columns whose sums they are.
_TOKEN_KINDS = (
    ("input", "uncached input"),
    ("output", "output"),
    ("cache_read", "cache read"),
    ("cache_write", "cache write"),
)


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One line of a customer's charge (a row of ``billing_lines``); ``amount_nanos`` is a
    whole number of cents, negative for the allowance."""

    kind: str
    description: str
    amount_nanos: int
    model: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None

    @property
    def amount_usd(self) -> Decimal:
        return nanos_to_decimal(self.amount_nanos)


@dataclass(frozen=True, slots=True)
class CustomerCharge:
    """A customer's charge for a period: a row of ``billing_charges`` and its lines."""

    period: str
    time_zone: str
    customer_id: str
    period_start: date
    period_end: date
    cost_nanos: int
    usage_nanos: int
    allowance_nanos: int
    minimum_topup_nanos: int
    total_nanos: int
    work_items: int
    unpriced_entries: int
    computed_at: datetime
    lines: tuple[ChargeLine, ...] = ()

    @property
    def total_usd(self) -> Decimal:
        return nanos_to_decimal(self.total_nanos)

    @property
    def cents(self) -> int:
        return self.total_nanos // (NANOS_PER_USD // 100)


@dataclass
class _Usage:
    cost_nanos: int = 0
    cost_plus_nanos: int = 0
    unpriced: int = 0
    work_items: int = 0
    tokens: dict[str, dict[str, int]] | None = None  # model -> kind -> tokens


def charge_customers(
    database: Database = None,
    *,
    period: str | periods.Period,
    policy: BillingPolicy,
    time_zone: str | None = None,
) -> list[CustomerCharge]:
    """Compute, store and return every customer's charge for ``period`` (sorted by customer)."""
    target = (
        period if isinstance(period, periods.Period) else periods.parse_period(period, time_zone)
    )
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.begin() as conn:
            usage = _usage(conn, target, policy)
            stamp = now()
            charges = [
                _charge(target, customer, usage[customer], policy.terms(customer), stamp)
                for customer in sorted(usage.keys() | policy.customers.keys())
            ]
            where = (billing_charges.c.period == target.label) & (
                billing_charges.c.time_zone == target.time_zone
            )
            conn.execute(billing_charges.delete().where(where))
            conn.execute(
                billing_lines.delete().where(
                    (billing_lines.c.period == target.label)
                    & (billing_lines.c.time_zone == target.time_zone)
                )
            )
            if charges:
                conn.execute(billing_charges.insert(), [_charge_row(c) for c in charges])
                lines = [_line_row(c, n, ln) for c in charges for n, ln in enumerate(c.lines, 1)]
                if lines:
                    conn.execute(billing_lines.insert(), lines)
        total = sum(c.total_nanos for c in charges)
        record_run(
            engine,
            "bill",
            started,
            f"{target.label}: {len(charges)} customers, {usd_text(nanos_to_decimal(total))} USD",
            ok=True,
        )
    return charges


def _usage(
    conn: sa.Connection, target: periods.Period, policy: BillingPolicy
) -> defaultdict[str, _Usage]:
    lo, hi = target.utc_range()
    in_period = (le.c.timestamp >= lo, le.c.timestamp < hi, le.c.customer_id.is_not(None))
    unpriced = sa.func.sum(sa.case((le.c.cost_nanos.is_(None), 1), else_=0))
    query = (
        sa.select(
            le.c.customer_id,
            le.c.model,
            sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0),
            unpriced,
            sa.func.sum(le.c.uncached_input_tokens),
            sa.func.sum(le.c.output_tokens),
            sa.func.sum(le.c.cache_read_tokens),
            sa.func.sum(le.c.cache_write_5m_tokens + le.c.cache_write_1h_tokens),
        )
        .where(*in_period)
        .group_by(le.c.customer_id, le.c.model)
    )
    usage: defaultdict[str, _Usage] = defaultdict(_Usage)
    for customer, model, cost, missing, uncached, output, read, write in conn.execute(query):
        found = usage[customer]
        found.cost_nanos += int(cost)
        if policy.terms(customer).token_price(model) is None:
            found.cost_plus_nanos += int(cost)
            found.unpriced += int(missing or 0)
            continue
        counts = dict(zip(("input", "output", "cache_read", "cache_write"),
                          (uncached, output, read, write), strict=True))  # fmt: skip
        found.tokens = found.tokens or {}
        found.tokens[model] = {kind: int(count or 0) for kind, count in counts.items()}
    items = (
        sa.select(le.c.customer_id, sa.func.count(sa.distinct(le.c.work_item_id)))
        .where(*in_period, le.c.work_item_id.is_not(None))
        .group_by(le.c.customer_id)
    )
    for customer, count in conn.execute(items):
        usage[customer].work_items = int(count)
    return usage


def _cents(amount: Decimal) -> int:
    """Dollars rounded to the cent, half-even, as nanos: the one rounding of a bill."""
    return to_nanos(amount.quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _charge(
    target: periods.Period, customer: str, usage: _Usage, terms: Terms, stamp: datetime
) -> CustomerCharge:
    lines: list[ChargeLine] = []
    for model, counts in sorted((usage.tokens or {}).items()):
        price = terms.token_price(model)
        assert price is not None  # only priced models were put in tokens
        for kind, label in _TOKEN_KINDS:
            count = counts[kind]
            if not count:
                continue
            per_million = price.per_million(kind)
            lines.append(
                ChargeLine(
                    "tokens",
                    f"{model} {label}: {count:,} tokens × ${per_million}/M",
                    _cents(count * per_million / _MILLION),
                    model=model,
                    quantity=Decimal(count),
                    unit_price=per_million,
                )
            )
    if usage.cost_plus_nanos:
        factor = 1 + terms.markup_pct / 100
        cost = nanos_to_decimal(usage.cost_plus_nanos)
        lines.append(
            ChargeLine(
                "cost_plus",
                f"cost ${usd_text(cost)} + {terms.markup_pct.normalize():f}%",
                _cents(cost * factor),
                quantity=cost,
                unit_price=factor,
            )
        )
    if usage.work_items and terms.fee_per_work_item:
        fee = terms.fee_per_work_item
        lines.append(
            ChargeLine(
                "work_item_fee",
                f"{usage.work_items:,} work item{'s' if usage.work_items > 1 else ''}"
                f" × ${usd_text(fee)}",
                _cents(usage.work_items * fee),
                quantity=Decimal(usage.work_items),
                unit_price=fee,
            )
        )
    usage_nanos = sum(line.amount_nanos for line in lines)
    allowance = min(to_nanos(terms.included), usage_nanos)
    if allowance:
        lines.append(
            ChargeLine(
                "allowance",
                f"included ${usd_text(terms.included)}",
                -allowance,
                unit_price=terms.included,
            )
        )
    topup = max(0, to_nanos(terms.minimum) - (usage_nanos - allowance))
    if topup:
        lines.append(
            ChargeLine(
                "minimum",
                f"minimum ${usd_text(terms.minimum)}",
                topup,
                unit_price=terms.minimum,
            )
        )
    return CustomerCharge(
        period=target.label,
        time_zone=target.time_zone,
        customer_id=customer,
        period_start=target.start,
        period_end=target.end,
        cost_nanos=usage.cost_nanos,
        usage_nanos=usage_nanos,
        allowance_nanos=allowance,
        minimum_topup_nanos=topup,
        total_nanos=usage_nanos - allowance + topup,
        work_items=usage.work_items,
        unpriced_entries=usage.unpriced,
        computed_at=stamp,
        lines=tuple(lines),
    )


def _charge_row(charge: CustomerCharge) -> dict[str, Any]:
    return {
        name: getattr(charge, name)
        for name in CustomerCharge.__dataclass_fields__
        if name != "lines"
    }


def _line_row(charge: CustomerCharge, number: int, line: ChargeLine) -> dict[str, Any]:
    return {
        "period": charge.period,
        "time_zone": charge.time_zone,
        "customer_id": charge.customer_id,
        "line_no": number,
        "kind": line.kind,
        "model": line.model,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "amount_nanos": line.amount_nanos,
        "description": line.description[:400],
    }
