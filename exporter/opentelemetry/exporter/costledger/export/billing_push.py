"""Sending billing events: each once, with its idempotency key, retried on failure.

:func:`push_pending` sends a period's unsent events (``billing_events.sent_at`` NULL) for one
destination, in customer and revision order, and marks each sent the moment the destination
accepts it (its own transaction), so an interrupted run never sends an accepted event again and
the next run sends whatever is left.

Retries: a 5xx, a 429 or a connection error is tried again, ``max_attempts`` times in all per
run, waiting ``backoff`` seconds, doubled after each failure (the policy's ``[retry]``). Every
attempt carries the same idempotency key, so a request that reached the destination but whose
answer was lost is not counted twice there either. Any other answer (a 4xx: a wrong key, an
unknown customer or meter) is not retried; the event stays unsent with ``last_error`` and the
run reports it.

``stripe``: the official SDK, ``StripeClient(api_key, base_addresses={"api": url})`` and
``v1.billing.meter_events.create(params, {"idempotency_key": key})``, its own retries off (ours
apply, the same for every destination). ``openmeter``: ``POST`` of the structured CloudEvent to
the ingest URL with ``Authorization: Bearer``. ``lago``: ``POST`` of the event JSON to
``/api/v1/events`` with ``Authorization: Bearer``. Lago is plain HTTP (the standard library)
rather than ``lago-python-client``: that client brings pydantic, httpx, orjson, typeguard and the
unmaintained ``classes`` into a user's application for one ``POST``, and retries only on 429.
Both plain-HTTP posts carry the key in an ``Idempotency-Key`` header too.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import InputError
from ..jobs.billing_policy import Destination, Retry
from ..ledger.runs import now
from ..ledger.tables import billing_events
from .billing_events import BillingEvent, cloud_event, lago_body, stored_events, stripe_params

_TIMEOUT = 30.0


class SendFailed(Exception):
    """One attempt failed; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push did: events ``sent`` now, ``failed`` (still unsent, with their errors) and
    ``already_sent`` (sent by an earlier run: not sent again)."""

    sent: list[BillingEvent]
    failed: list[tuple[BillingEvent, str]]
    already_sent: int


Sender = Callable[[BillingEvent], None]


def push_pending(
    engine: sa.Engine,
    destination: Destination,
    *,
    period: str,
    time_zone: str,
    retry: Retry,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """Send the period's unsent events to ``destination`` (module doc)."""
    with engine.connect() as conn:
        events = stored_events(conn, destination.name, period, time_zone)
    pending = [e for e in events if e.sent_at is None]
    sent: list[BillingEvent] = []
    failed: list[tuple[BillingEvent, str]] = []
    if pending:
        send = _sender(destination)
        for event in pending:
            attempts, error = _attempt(send, event, retry, sleep)
            _record(engine, event, attempts, error)
            if error is None:
                sent.append(event)
            else:
                failed.append((event, error))
    return PushResult(sent, failed, len(events) - len(pending))


def _attempt(
    send: Sender, event: BillingEvent, retry: Retry, sleep: Callable[[float], None]
) -> tuple[int, str | None]:
    wait = float(retry.backoff)
    for attempt in range(1, retry.max_attempts + 1):
        try:
            send(event)
            return attempt, None
        except SendFailed as exc:
            if not exc.retryable or attempt == retry.max_attempts:
                return attempt, str(exc)
            sleep(wait)
            wait *= 2
    raise AssertionError("unreachable: max_attempts is at least 1")


def _record(engine: sa.Engine, event: BillingEvent, attempts: int, error: str | None) -> None:
    t = billing_events
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.destination == event.destination)
            .where(t.c.idempotency_key == event.idempotency_key)
            .values(
                attempts=t.c.attempts + attempts,
                sent_at=now() if error is None else None,
                last_error=None if error is None else error[:600],
            )
        )


def _sender(destination: Destination) -> Sender:
    key = destination.api_key()
    if destination.name == "stripe":
        return _stripe_sender(destination, key)
    if destination.name == "openmeter":

        def send_openmeter(event: BillingEvent) -> None:
            headers, body = cloud_event(event, destination)
            _post(destination.url, body, headers, key, event.idempotency_key)

        return send_openmeter
    if destination.name == "lago":

        def send_lago(event: BillingEvent) -> None:
            body = json.dumps(lago_body(event, destination)).encode()
            headers = {"Content-Type": "application/json"}
            _post(destination.url, body, headers, key, event.idempotency_key)

        return send_lago
    raise InputError(f"unknown destination {destination.name!r}")


def _stripe_sender(destination: Destination, key: str) -> Sender:
    try:
        import stripe
    except ImportError as exc:
        raise InputError(
            "pushing to Stripe needs the official SDK: pip install 'costledger[billing]'"
        ) from exc
    client = stripe.StripeClient(
        key, base_addresses={"api": destination.url.rstrip("/")}, max_network_retries=0
    )

    def send(event: BillingEvent) -> None:
        params: Any = stripe_params(event, destination)
        try:
            client.v1.billing.meter_events.create(
                params, {"idempotency_key": event.idempotency_key}
            )
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise SendFailed(f"Stripe: {exc.user_message or exc}", retryable=True) from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            raise SendFailed(
                f"Stripe answered {status}: {exc.user_message or exc}",
                retryable=status >= 500,
            ) from exc

    return send


def _post(url: str, body: bytes, headers: dict[str, str], key: str, idempotency: str) -> None:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            **headers,
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": idempotency,
            "User-Agent": "costledger",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise SendFailed(
            f"{url} answered {exc.code} {exc.reason}: {detail}",
            retryable=exc.code >= 500 or exc.code == 429,
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendFailed(f"cannot reach {url}: {reason}", retryable=True) from exc
