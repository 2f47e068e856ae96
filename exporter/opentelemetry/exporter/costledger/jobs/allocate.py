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

Where results go (``ledger_entries``, ``cost_allocations``, ``allocation_runs``) and when the
rows are booked: :mod:`.allocations`, which writes an allocation and reads them back.

Direct costs (``[[direct_costs]]``: quantity × rate or an amount, for one customer) are written
the same way with method ``direct``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from decimal import Decimal

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import ratio, to_dollars

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from .allocations import (
    UNALLOCATED,
    Allocation,
    CostAllocation,
    Share,
    allocation_records,
    booking_instant,
    stored_allocations,
    write_allocation,
)
from .bills import Bill, BillsFile, DirectCost, load_bills
from .shares import active_customers, driver_quantities, largest_remainder

# Re-exported: the job's results and reading them back are documented as ``jobs.allocate``'s.
__all__ = [
    "UNALLOCATED",
    "Allocation",
    "CostAllocation",
    "Progress",
    "Share",
    "allocate",
    "allocation_records",
    "booking_instant",
    "stored_allocations",
]

Progress = Callable[[int, int], None]


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
                    write_allocation(conn, allocation, bill_period)
                results.append(allocation)
                if progress:
                    progress(index, total)
            for index, (direct, direct_period) in enumerate(
                zip(chosen_direct, direct_periods, strict=True), len(chosen_bills) + 1
            ):
                allocation = _direct_allocation(direct, direct_period)
                if not dry_run:
                    write_allocation(conn, allocation, direct_period)
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
