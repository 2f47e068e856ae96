"""Charges as billing events: which to send (``billing_events``) and each destination's shape.

:func:`plan_events` compares a period's charges (:mod:`..jobs.billing`) with what the
``billing_events`` table already holds for the destination, per customer:

* nothing yet, and a charge above zero → revision 0, the charge;
* the charge grew since (the ledger changed, a reprice, a late import) → the next revision, an
  **adjustment** for the difference only, with an idempotency key of its own;
* the same → nothing new: billing a period again sends nothing twice;
* the charge shrank → nothing is sent (a meter cannot be decreased safely): it is reported as
  a credit due, for a credit note in the billing system.

An event's idempotency key is ``cl-<period>-r<revision>-<digest>`` (the digest of period, time
zone and customer: ids stay short and keep no customer name), fixed when the event is first
planned; so are its amount and time (the period's last second, or the planning time for a
period not over yet). Each destination receives it as its own idempotency field:

``stripe`` (a Billing meter event, the official SDK)
    ``event_name`` (the meter's), ``identifier`` = the key (also sent as the
    ``Idempotency-Key`` header), ``timestamp``, ``payload`` = ``{"stripe_customer_id": ...,
    "value": "<cents>"}``: the meter sums whole cents; price it at $0.01 per unit.
``openmeter`` (a CloudEvent built with the ``cloudevents`` SDK, structured JSON)
    ``id`` = the key, ``source``, ``type`` (the event name), ``subject`` (the customer), ``time``,
    ``data`` = ``{"amount": "123.50", "amount_cents": 12350, "currency": "USD", "period": ...,
    "revision": ..., "customer_id": ...}``; a meter sums ``$.amount_cents`` (or ``$.amount``).
``lago`` (its events API)
    ``{"event": {"transaction_id": <key>, "external_customer_id": ..., "code": ...,
    "timestamp": <unix seconds>, "properties": {"amount": "123.50", "amount_cents": 12350, ...}}}``

The mapping of our ``customer_id`` to the billing system's is the policy's (``stripe_customer``
is required for Stripe; ``lago_customer`` and ``openmeter_subject`` default to our id).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD, nanos_to_decimal

from .. import periods
from ..errors import ConfigError, InputError
from ..jobs.billing import CustomerCharge
from ..jobs.billing_policy import BillingPolicy, Destination
from ..ledger.runs import now
from ..ledger.tables import billing_events

_NANOS_PER_CENT = NANOS_PER_USD // 100
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BillingEvent:
    """A row of ``billing_events``: one charge or adjustment for one destination."""

    idempotency_key: str
    destination: str
    period: str
    time_zone: str
    customer_id: str
    revision: int
    billing_customer: str
    amount_nanos: int
    total_nanos: int
    event_time: datetime
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None

    @property
    def cents(self) -> int:
        return self.amount_nanos // _NANOS_PER_CENT

    @property
    def amount_text(self) -> str:
        return f"{nanos_to_decimal(self.amount_nanos).quantize(_CENT):f}"


@dataclass(frozen=True, slots=True)
class CreditDue:
    """A charge that shrank after it was sent: ``sent_nanos`` went out, ``total_nanos`` is due."""

    customer_id: str
    sent_nanos: int
    total_nanos: int


def idempotency_key(period: str, time_zone: str, customer_id: str, revision: int) -> str:
    digest = hashlib.sha256(f"{period}\0{time_zone}\0{customer_id}".encode()).hexdigest()[:24]
    return f"cl-{period}-r{revision}-{digest}"


def billing_customer(policy: BillingPolicy, destination: str, customer_id: str) -> str | None:
    terms = policy.terms(customer_id)
    if destination == "stripe":
        return terms.stripe_customer
    if destination == "lago":
        return terms.lago_customer or customer_id
    return terms.openmeter_subject or customer_id


def plan_events(
    conn: sa.Connection,
    charges: list[CustomerCharge],
    destination: str,
    policy: BillingPolicy,
) -> list[CreditDue]:
    """Record the events one period's charges call for (module doc); return the credits due."""
    missing = [
        c.customer_id
        for c in charges
        if c.total_nanos > 0 and billing_customer(policy, destination, c.customer_id) is None
    ]
    if missing:
        raise ConfigError(
            f"{policy.source}: no stripe_customer for {', '.join(missing)}: add"
            f' [customers.{missing[0]}] stripe_customer = "cus_..." (the customer\'s Stripe id)'
        )
    credits: list[CreditDue] = []
    planned_at = now()
    by_customer: dict[str, list[BillingEvent]] = {}
    if charges:
        first = charges[0]
        _refuse_overlaps(conn, destination, first)
        for held_event in stored_events(conn, destination, first.period, first.time_zone):
            by_customer.setdefault(held_event.customer_id, []).append(held_event)
    for charge in charges:
        held = by_customer.get(charge.customer_id, [])
        sent = sum(e.amount_nanos for e in held)
        difference = charge.total_nanos - sent
        if difference < 0:
            credits.append(CreditDue(charge.customer_id, sent, charge.total_nanos))
        if difference <= 0:
            continue
        revision = max((e.revision for e in held), default=-1) + 1
        starts_at, ends_at = _utc_range(charge)
        end = ends_at - timedelta(seconds=1)
        customer = billing_customer(policy, destination, charge.customer_id)
        assert customer is not None
        conn.execute(
            billing_events.insert().values(
                idempotency_key=idempotency_key(
                    charge.period, charge.time_zone, charge.customer_id, revision
                ),
                destination=destination,
                period=charge.period,
                time_zone=charge.time_zone,
                customer_id=charge.customer_id,
                revision=revision,
                period_starts_at=starts_at,
                period_ends_at=ends_at,
                billing_customer=customer,
                amount_nanos=difference,
                total_nanos=charge.total_nanos,
                event_time=min(end, planned_at).replace(microsecond=0),
                created_at=planned_at,
                attempts=0,
            )
        )
    # A customer sent a charge before but without one now (its rows moved away): all of it.
    charged = {c.customer_id for c in charges}
    for customer, held in sorted(by_customer.items()):
        if customer not in charged and sum(e.amount_nanos for e in held) > 0:
            credits.append(CreditDue(customer, sum(e.amount_nanos for e in held), 0))
    return credits


def _utc_range(charge: CustomerCharge) -> tuple[datetime, datetime]:
    period = periods.Period(charge.period, charge.period_start, charge.period_end, charge.time_zone)
    return period.utc_range()


def _refuse_overlaps(conn: sa.Connection, destination: str, charge: CustomerCharge) -> None:
    """Billing ``2025-05`` and then ``2025-05-10..2025-05-20`` would charge those days twice."""
    starts_at, ends_at = _utc_range(charge)
    t = billing_events
    other = conn.execute(
        sa.select(t.c.period, t.c.time_zone)
        .where(t.c.destination == destination)
        .where(t.c.period_starts_at < ends_at, t.c.period_ends_at > starts_at)
        .where(sa.or_(t.c.period != charge.period, t.c.time_zone != charge.time_zone))
        .limit(1)
    ).first()
    if other is not None:
        raise InputError(
            f"{charge.period} ({charge.time_zone}) overlaps {other.period} ({other.time_zone}),"
            f" already billed to {destination}: bill periods that do not overlap (whole months"
            " in one time zone, for example), or the overlapping days would be charged twice"
        )


def stored_events(
    conn: sa.Connection, destination: str, period: str, time_zone: str
) -> list[BillingEvent]:
    """The period's events for ``destination``, in customer and revision order."""
    t = billing_events
    rows = conn.execute(
        sa.select(*(t.c[name] for name in BillingEvent.__dataclass_fields__))
        .where(t.c.destination == destination, t.c.period == period, t.c.time_zone == time_zone)
        .order_by(t.c.customer_id, t.c.revision)
    ).mappings()
    return [BillingEvent(**{**row, "event_time": _aware(row["event_time"])}) for row in rows]


def _aware(value: datetime) -> datetime:
    # SQLite gives naive datetimes back: they were stored as UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stripe_params(event: BillingEvent, destination: Destination) -> dict[str, Any]:
    """The ``billing.meter_events.create`` parameters of ``event``."""
    return {
        "event_name": destination.event_name,
        "identifier": event.idempotency_key,
        "timestamp": int(event.event_time.timestamp()),
        "payload": {"stripe_customer_id": event.billing_customer, "value": str(event.cents)},
    }


def _data(event: BillingEvent) -> dict[str, Any]:
    return {
        "amount": event.amount_text,
        "amount_cents": event.cents,
        "currency": "USD",
        "period": event.period,
        "revision": event.revision,
        "customer_id": event.customer_id,
    }


def cloud_event(event: BillingEvent, destination: Destination) -> tuple[dict[str, str], bytes]:
    """``(headers, body)`` of ``event`` as a structured-mode CloudEvent (the CNCF SDK)."""
    from cloudevents.core.bindings.http import to_structured
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    built = CloudEvent(
        attributes={
            "id": event.idempotency_key,
            "source": destination.source,
            "type": destination.event_name,
            "subject": event.billing_customer,
            "time": event.event_time,
            "specversion": "1.0",
            "datacontenttype": "application/json",
        },
        data=_data(event),
    )
    message = to_structured(built, JSONFormat())
    return dict(message.headers), message.body


def lago_body(event: BillingEvent, destination: Destination) -> dict[str, Any]:
    """The body Lago's ``POST /api/v1/events`` takes for ``event``."""
    return {
        "event": {
            "transaction_id": event.idempotency_key,
            "external_customer_id": event.billing_customer,
            "code": destination.event_name,
            "timestamp": int(event.event_time.timestamp()),
            "properties": _data(event),
        }
    }


def event_document(event: BillingEvent, destination: Destination) -> dict[str, Any]:
    """One line of ``bill --out``: the event's bookkeeping and what would be sent."""
    if event.destination == "stripe":
        body: Any = stripe_params(event, destination)
    elif event.destination == "openmeter":
        body = json.loads(cloud_event(event, destination)[1])
    elif event.destination == "lago":
        body = lago_body(event, destination)
    else:
        raise InputError(f"unknown destination {event.destination!r}")
    return {
        "destination": event.destination,
        "idempotency_key": event.idempotency_key,
        "customer_id": event.customer_id,
        "period": event.period,
        "time_zone": event.time_zone,
        "revision": event.revision,
        "amount_usd": event.amount_text,
        "sent": event.sent_at is not None,
        "body": body,
    }
