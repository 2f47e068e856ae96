"""An allocation and its rows: what ``allocate`` (:mod:`.allocate`) writes, and reads back.

:class:`Share` and :class:`Allocation`: one bill's split as :func:`.allocate.allocate` returns
it; :class:`CostAllocation`: one share as a row of ``cost_allocations``.
:func:`write_allocation` replaces a (bill, period)'s current allocation in one transaction;
:func:`allocation_records` gives an allocation's rows as they are written (``--output``),
:func:`stored_allocations` the rows stored.

Where results go
----------------
* ``ledger_entries`` — one row per customer (``customer_id`` NULL for unallocated) with
  ``source = 'allocation'``, the bill's ``category``, ``cost_nanos``, the driver quantity in
  ``quantity``/``unit``, ``price_rule`` explaining the split, timestamped at the UTC mid-point
  of the period (see below); so ``aggregate``, ``normalize`` and every report see fully loaded
  costs.
  ``idempotency_key`` = ``allocation:<bill>:<period>:<customer or __unallocated__>``.
* ``cost_allocations`` — the split itself: ``bill``, ``period``, ``category``, ``method``,
  ``driver``, ``customer_id`` (NULL = unallocated), ``driver_quantity``, ``driver_total``,
  ``share`` (exact ratio), ``amount_nanos``, ``unallocated``, ``reason``, ``ledger_key``,
  ``run_id``.
* ``allocation_runs`` — one row per (bill, period) run: ``amount_nanos``, ``allocated_nanos``,
  ``unallocated_nanos``, the period's UTC range, ``run_at``.

When the rows are booked
------------------------
A bill covers its whole period, but a ledger row has one instant. The rows get the period's UTC
mid-point (2025-05 → 2025-05-16T12:00Z), which lies inside the same month or week in every time
zone (zones are at most 26 hours apart; the mid-point is 3.5 days or more from either edge), so
a report or ``normalize`` run with another ``--tz`` than ``allocate`` still counts them in that
period. The period's first instant would be the previous day in zones west of the one
``allocate`` ran in (a UTC month's bills fell into September in New York). A one-day period is
the exception: its mid-point is 12 hours from its edges, so zones more than 12 hours away from
the one allocate used count it on a neighbouring day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import nanos_to_decimal, to_dollars

from .. import periods
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now
from ..ledger.schema import ledger_entries
from ..ledger.tables import allocation_runs, cost_allocations
from ._db import bulk_insert

# Only inside the unallocated row's idempotency key (keys already stored must stay the same);
# records and tables carry customer_id None for it.
UNALLOCATED = "__unallocated__"


@dataclass(frozen=True, slots=True)
class Share:
    customer_id: str | None  # None = unallocated
    amount_nanos: int
    driver_quantity: Decimal | None = None
    share: Decimal | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    bill: str
    period: str
    category: str
    method: str
    driver: str | None
    amount_nanos: int
    driver_total: Decimal | None
    shares: tuple[Share, ...]

    @property
    def unallocated_nanos(self) -> int:
        return sum(s.amount_nanos for s in self.shares if s.customer_id is None)


@dataclass(frozen=True, slots=True)
class CostAllocation:
    """One customer's share of a bill (or its unallocated part, ``customer_id`` None): a row of
    ``cost_allocations`` (module doc), money in nanos; ``run_id`` None before it is stored."""

    bill: str
    period: str
    category: str
    method: str
    driver: str | None
    customer_id: str | None
    driver_quantity: Decimal | None
    driver_total: Decimal | None
    share: Decimal | None
    amount_nanos: int
    unallocated: bool
    reason: str | None
    ledger_key: str
    run_id: int | None = None

    @property
    def amount_usd(self) -> Decimal:
        return nanos_to_decimal(self.amount_nanos)


def write_allocation(conn: sa.Connection, allocation: Allocation, period: periods.Period) -> None:
    """Replace the current allocation of ``allocation``'s (bill, period) with it (module doc)."""
    ca = cost_allocations
    previous = (ca.c.bill == allocation.bill) & (ca.c.period == allocation.period)
    conn.execute(
        ledger_entries.delete().where(
            ledger_entries.c.idempotency_key.in_(sa.select(ca.c.ledger_key).where(previous))
        )
    )
    conn.execute(ca.delete().where(previous))
    lo, hi = period.utc_range()
    booked_at = booking_instant(lo, hi)
    run_at = now()
    run_id = conn.execute(
        allocation_runs.insert()
        .values(
            bill=allocation.bill,
            period=allocation.period,
            period_start_utc=lo,
            period_end_utc=hi,
            category=allocation.category,
            method=allocation.method,
            driver=allocation.driver,
            amount_nanos=allocation.amount_nanos,
            allocated_nanos=allocation.amount_nanos - allocation.unallocated_nanos,
            unallocated_nanos=allocation.unallocated_nanos,
            run_at=run_at,
        )
        .returning(allocation_runs.c.id)
    ).scalar_one()
    ledger_rows: list[dict[str, Any]] = []
    split_rows: list[dict[str, Any]] = []
    for share in allocation.shares:
        key = _ledger_key(allocation, share)
        ledger_rows.append(_ledger_row(allocation, share, key, booked_at, run_at))
        split_rows.append(
            {
                "run_id": run_id,
                "bill": allocation.bill,
                "period": allocation.period,
                "category": allocation.category,
                "method": allocation.method,
                "driver": allocation.driver,
                "customer_id": share.customer_id,
                "driver_quantity": share.driver_quantity,
                "driver_total": allocation.driver_total,
                "share": share.share,
                "amount_nanos": share.amount_nanos,
                "unallocated": share.customer_id is None,
                "reason": share.reason,
                "ledger_key": key,
            }
        )
    bulk_insert(conn, ledger_entries, ledger_rows)
    bulk_insert(conn, ca, split_rows)


def booking_instant(start: datetime, end: datetime) -> datetime:
    """The instant allocation rows of the period ``[start, end)`` are booked at (module doc)."""
    return start + timedelta(seconds=(end - start) // timedelta(seconds=2))


def _ledger_row(
    allocation: Allocation, share: Share, key: str, booked_at: datetime, recorded_at: datetime
) -> dict[str, Any]:
    amount = to_dollars(allocation.amount_nanos)
    if share.customer_id is None:
        rule = f"unallocated part of {allocation.bill} (${amount}): {share.reason}"
    elif allocation.method == "direct":
        rule = f"direct cost {allocation.bill}"
    elif allocation.method == "proportional":
        rule = (
            f"{allocation.bill} ${amount} split by {allocation.driver}:"
            f" {share.driver_quantity} of {allocation.driver_total}"
        )
    else:
        rule = f"{allocation.bill} ${amount} split {allocation.method}"
    return {
        "idempotency_key": key,
        "timestamp": booked_at,
        "customer_id": share.customer_id,
        "category": allocation.category,
        "source": "allocation",
        "quantity": share.driver_quantity,
        "unit": allocation.driver,
        "cost_nanos": share.amount_nanos,
        "currency": "USD",
        "price_rule": rule[:400],
        "flags": "unallocated" if share.customer_id is None else None,
        "recorded_at": recorded_at,
    }


def _ledger_key(allocation: Allocation, share: Share) -> str:
    return f"allocation:{allocation.bill}:{allocation.period}:{share.customer_id or UNALLOCATED}"


def allocation_records(allocations: Sequence[Allocation]) -> list[CostAllocation]:
    """One :class:`CostAllocation` per share, as :func:`allocate` writes them (no ``run_id``).

    The unallocated part has ``customer_id`` None (null in JSON, an empty CSV cell, a dash in
    the table) and its ``reason``, as in ``cost_allocations`` and ``ledger_entries``: a sentinel
    string there would read as a customer to whatever loads the file."""
    return [
        CostAllocation(
            bill=allocation.bill,
            period=allocation.period,
            category=allocation.category,
            method=allocation.method,
            driver=allocation.driver,
            customer_id=share.customer_id,
            driver_quantity=share.driver_quantity,
            driver_total=allocation.driver_total,
            share=share.share,
            amount_nanos=share.amount_nanos,
            unallocated=share.customer_id is None,
            reason=share.reason,
            ledger_key=_ledger_key(allocation, share),
        )
        for allocation in allocations
        for share in allocation.shares
    ]


def stored_allocations(
    database: Database = None, *, period: str | None = None
) -> list[CostAllocation]:
    """The current allocations (``cost_allocations``), optionally for one period.

    As in :func:`allocation_records`, the unallocated part has ``customer_id`` None,
    ``unallocated`` True and its ``reason`` (the ``__unallocated__`` string it had before read
    as a customer id to code grouping or exporting by customer)."""
    ca = cost_allocations
    query = sa.select(ca).order_by(ca.c.period, ca.c.bill, ca.c.amount_nanos.desc())
    if period is not None:
        query = query.where(ca.c.period == period)
    fields = CostAllocation.__dataclass_fields__
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        return [
            CostAllocation(**{k: v for k, v in row.items() if k in fields})
            for row in conn.execute(query).mappings()
        ]
