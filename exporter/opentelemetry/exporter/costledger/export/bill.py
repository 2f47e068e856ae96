"""``costledger bill``: charge each customer for a period, and send the charges.

Python API::

    from opentelemetry.exporter.costledger.export.bill import bill
    from opentelemetry.exporter.costledger.jobs.billing_policy import load_policy
    result = bill(None, period="2025-05", policy=load_policy("billing.toml"), to="stripe")
    result.charges                  # per customer: lines and total (jobs/billing.py)
    result.sent, result.failed      # events pushed now, and those left for the next run

Steps: compute and store the charges (:func:`..jobs.billing.charge_customers`); with ``to``,
record the events they call for (:func:`.billing_events.plan_events`: a charge, or an
adjustment for an increase; a decrease is a credit due, never sent); then either push the unsent
ones (:mod:`.billing_push`) or, with ``out``, write the period's events for that destination as
JSON lines (each with its idempotency key and the body it would send) and push nothing.
Billing a period again gives the same events with the same keys; nothing is sent twice.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import periods
from ..errors import InputError
from ..jobs.billing import CustomerCharge, charge_customers
from ..jobs.billing_policy import BillingPolicy
from ..ledger.open import Database, open_ledger
from .billing_events import BillingEvent, CreditDue, event_document, plan_events, stored_events
from .billing_push import push_pending


@dataclass(frozen=True, slots=True)
class BillResult:
    """What ``bill`` did: the charges, and for a destination its events: ``planned`` (new
    this run), ``sent``, ``failed`` (unsent, with the error), ``already_sent``, ``written``
    (to ``out``) and ``credits_due`` (charges that shrank after they were sent)."""

    charges: list[CustomerCharge]
    destination: str | None = None
    planned: int = 0
    sent: list[BillingEvent] = field(default_factory=list)
    failed: list[tuple[BillingEvent, str]] = field(default_factory=list)
    already_sent: int = 0
    written: int = 0
    credits_due: list[CreditDue] = field(default_factory=list)


def bill(
    database: Database = None,
    *,
    period: str,
    policy: BillingPolicy,
    time_zone: str | None = None,
    to: str | None = None,
    out: str | os.PathLike[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BillResult:
    """Charge every customer for ``period``; with ``to``, push the events (or write ``out``)."""
    if out is not None and to is None:
        raise InputError("--out writes one destination's events: add --to stripe|openmeter|lago")
    destination = policy.destination(to) if to is not None else None
    target = periods.parse_period(period, time_zone)
    with open_ledger(database, create=False) as engine:
        charges = charge_customers(engine, period=target, policy=policy)
        if destination is None:
            return BillResult(charges)
        with engine.begin() as conn:
            before = len(stored_events(conn, destination.name, target.label, target.time_zone))
            credits = plan_events(conn, charges, destination.name, policy)
            events = stored_events(conn, destination.name, target.label, target.time_zone)
        planned = len(events) - before
        if out is not None:
            _write(Path(out), [event_document(e, destination) for e in events])
            return BillResult(
                charges, destination.name, planned, written=len(events), credits_due=credits
            )
        pushed = push_pending(
            engine,
            destination,
            period=target.label,
            time_zone=target.time_zone,
            retry=policy.retry,
            sleep=sleep,
        )
    return BillResult(
        charges,
        destination.name,
        planned,
        sent=pushed.sent,
        failed=pushed.failed,
        already_sent=pushed.already_sent,
        credits_due=credits,
    )


def _write(path: Path, documents: list[dict[str, object]]) -> None:
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: there is no directory {path.parent}")
    # Beside it, then renamed: a failed write never leaves half a file under the final name.
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps(document, sort_keys=True) + "\n")
    temp.replace(path)
