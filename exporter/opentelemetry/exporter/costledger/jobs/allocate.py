"""Step 4 — allocate: shared costs split over customers, and direct costs charged to them.

``allocate(db, bills="bills.toml", period="2025-05")`` reads the bills file (see
:mod:`.bills` for its format and the drivers), measures each proportional bill's driver per
customer with one ``GROUP BY`` over the period, splits the bill, and writes the result — all
in one transaction. CLI: ``costledger allocate``.

Vocabulary (OpenCost / Kubecost / FinOps): a *shared cost* is split by a *proportional*,
*even* or *weighted* method, or by *fixed* amounts; what cannot be assigned to a customer is
*unallocated* — reported and kept, never dropped.

Exact sums
----------
Every split is done in whole units of ``precision`` (default one cent) with the
largest-remainder method: each customer gets the floor of its exact share (rational
arithmetic, no float), and the units left over go one by one to the largest fractional
remainders (ties: larger driver quantity, then customer id). The allocations of a bill
therefore add up to the bill EXACTLY. A bill whose driver has no data in the period (no
customer called the API, nobody recorded vectors…) becomes one *unallocated* row carrying the
whole amount with the reason.

Re-running replaces
-------------------
A (bill, period) pair has one current allocation: re-running deletes the previous one (its
``cost_allocations`` rows and the ledger rows they made) and writes the new one. The run is
logged in ``allocation_runs`` so ``aggregate`` knows to recompute the affected buckets.

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

Direct costs (``[[direct_costs]]``: quantity × rate or an amount, for one customer) are written
the same way with method ``direct``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import nanos_to_decimal, ratio, to_dollars

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries
from ..ledger.tables import allocation_runs, cost_allocations
from ._db import bulk_insert
from .bills import Bill, BillsFile, DirectCost, load_bills
from .shares import active_customers, driver_quantities, largest_remainder

# Only inside the unallocated row's idempotency key (keys already stored must stay the same);
# records and tables carry customer_id None for it.
UNALLOCATED = "__unallocated__"
Progress = Callable[[int, int], None]


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


def allocate(
    database: Database = None,
    *,
    bills: str | os.PathLike[str] | BillsFile,
    period: str | None = None,
    time_zone: str | None = None,
    only: Sequence[str] = (),
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[Allocation]:
    """Allocate every bill (or those named in ``only``) for its period and record the result.

    ``period`` applies to entries without their own ``period``; relative periods such as
    ``last-month`` are resolved now, in ``time_zone``. ``dry_run`` computes without writing.
    """
    spec = bills if isinstance(bills, BillsFile) else load_bills(bills)
    tz = periods.resolve_time_zone(time_zone)
    chosen_bills = [b for b in spec.bills if not only or b.name in only]
    chosen_direct = [d for d in spec.direct_costs if not only or d.name in only]
    missing = set(only) - {b.name for b in chosen_bills} - {d.name for d in chosen_direct}
    if missing:
        raise InputError(f"no bill named {', '.join(sorted(missing))} in {spec.path}")
    started = now()
    results: list[Allocation] = []
    total = len(chosen_bills) + len(chosen_direct)
    # Periods first: a bill without one is refused before the ledger is opened.
    bill_periods = [_period_of(b.period or period, b.name, tz) for b in chosen_bills]
    direct_periods = [_period_of(d.period or period, d.name, tz) for d in chosen_direct]
    with open_ledger(database, create=False) as engine:
        with engine.begin() as conn:
            for index, (bill, bill_period) in enumerate(
                zip(chosen_bills, bill_periods, strict=True), 1
            ):
                allocation = _split(conn, bill, bill_period, spec.precision_nanos)
                if not dry_run:
                    _write(conn, allocation, bill_period)
                results.append(allocation)
                if progress:
                    progress(index, total)
            for index, (direct, direct_period) in enumerate(
                zip(chosen_direct, direct_periods, strict=True), len(chosen_bills) + 1
            ):
                allocation = _direct_allocation(direct, direct_period)
                if not dry_run:
                    _write(conn, allocation, direct_period)
                results.append(allocation)
                if progress:
                    progress(index, total)
        if not dry_run:
            unallocated = sum(a.unallocated_nanos for a in results)
            record_run(
                engine,
                "allocate",
                started,
                f"{len(results)} bill(s) from {spec.path}; unallocated ${to_dollars(unallocated)}",
                ok=True,
            )
    return results


def _period_of(text: str | None, name: str, tz: str) -> periods.Period:
    if not text:
        raise InputError(f"{name!r} has no period: give --period (e.g. 2025-05 or last-month)")
    return periods.parse_period(text, tz)


def _split(conn: sa.Connection, bill: Bill, period: periods.Period, precision: int) -> Allocation:
    units = bill.amount_nanos // precision
    quantities: dict[str, Decimal] = {}
    if bill.method == "proportional":
        assert bill.driver is not None
        quantities = driver_quantities(conn, bill.driver, period, bill.driver_aggregate)
        if bill.customers:
            quantities = {c: q for c, q in quantities.items() if c in bill.customers}
        quantities = {c: q for c, q in quantities.items() if q > 0}
    elif bill.method == "even":
        customers = bill.customers or active_customers(conn, period)
        quantities = {c: Decimal(1) for c in customers}
    elif bill.method == "weights":
        quantities = {c: w for c, w in bill.weights.items() if w > 0}
    driver_total = sum(quantities.values(), Decimal(0)) if quantities else None
    shares: list[Share] = []
    if bill.method == "fixed":
        for customer, amount in sorted(bill.fixed_nanos.items()):
            shares.append(Share(customer, amount, share=ratio(amount, bill.amount_nanos)))
        rest = bill.amount_nanos - sum(bill.fixed_nanos.values())
        if rest:
            shares.append(Share(None, rest, reason="not covered by the fixed amounts"))
    elif not quantities:
        shares.append(Share(None, bill.amount_nanos, reason=_no_data_reason(bill, period)))
    else:
        split = largest_remainder(units, quantities)
        remainder = bill.amount_nanos - units * precision  # zero: bills are checked on load
        for customer in sorted(split, key=lambda c: (-split[c], c)):
            shares.append(
                Share(
                    customer,
                    split[customer] * precision,
                    driver_quantity=quantities[customer],
                    share=ratio(quantities[customer], driver_total),
                )
            )
        if remainder:
            shares.append(Share(None, remainder, reason="below the allocation precision"))
    return Allocation(
        bill=bill.name,
        period=period.label,
        category=bill.category,
        method=bill.method,
        driver=bill.driver if bill.method == "proportional" else None,
        amount_nanos=bill.amount_nanos,
        driver_total=driver_total,
        shares=tuple(shares),
    )


def _no_data_reason(bill: Bill, period: periods.Period) -> str:
    if bill.method == "proportional":
        return f"no {bill.driver} data for any customer in {period.label}"
    if bill.method == "even":
        return f"no customer with ledger activity in {period.label}"
    return "no customer with a positive weight"


def _direct_allocation(direct: DirectCost, period: periods.Period) -> Allocation:
    return Allocation(
        bill=direct.name,
        period=period.label,
        category=direct.category,
        method="direct",
        driver=direct.unit,
        amount_nanos=direct.amount_nanos,
        driver_total=direct.quantity,
        shares=(Share(direct.customer_id, direct.amount_nanos, direct.quantity, Decimal(1)),),
    )


def _write(conn: sa.Connection, allocation: Allocation, period: periods.Period) -> None:
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
