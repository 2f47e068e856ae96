"""Alerts to a webhook: the JSON an alert is sent as (the ``alerts`` table's columns, money as
``X_nanos`` with its exact dollars ``X_usd`` beside it, as ``costledger alerts --format json``)
and the ``POST`` that delivers them::

    {"source": "costledger", "text": "<one line per alert>", "alerts": [{"kind": "spike", ...}]}

(``text`` makes it readable by Slack/Teams/Mattermost incoming webhooks). What was delivered is
recorded by :mod:`.alert_delivery`, so a failed POST is retried on the next run.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opentelemetry.instrumentation.costledger.money import to_dollars, usd_text

from ..errors import CostLedgerError, InputError

if TYPE_CHECKING:
    from .alerts import Alert

ALERT_FIELDS = (
    "alert_key",
    "kind",
    "period",
    "customer_id",
    "provider",
    "model",
    "amount_nanos",
    "reference_nanos",
    "change",
    "message",
    "scope",
    "scope_value",
    "threshold",
    "forecast_nanos",
    "forecast_date",
)


def alert_fields(alert: Alert) -> dict[str, Any]:
    """An alert as JSON fields: the ``alerts`` table's columns, money as ``X_nanos`` and its
    exact dollars ``X_usd`` beside it, the change as decimal text (as ``--format json``)."""
    record: dict[str, Any] = {}
    for name in ALERT_FIELDS:
        value = getattr(alert, name)
        if name.endswith("_nanos"):
            record[name] = value
            dollars = to_dollars(value)
            record[name.removesuffix("_nanos") + "_usd"] = (
                None if dollars is None else usd_text(dollars)
            )
        elif isinstance(value, date):
            record[name] = value.isoformat()
        else:
            record[name] = str(value) if isinstance(value, Decimal) else value
    return record


def alert_payload(found: Sequence[Alert]) -> dict[str, Any]:
    return {
        "source": "costledger",
        "text": "\n".join(a.message for a in found),
        "alerts": [alert_fields(a) for a in found],
    }


def post_webhook(url: str, found: Sequence[Alert], *, timeout: float = 10.0) -> None:
    """POST the alerts as JSON; CostLedgerError unless the server answers 2xx."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"webhook URL {url!r} must start with http:// or https://")
    body = json.dumps(alert_payload(found)).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "costledger-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise CostLedgerError(
            f"could not POST alerts to {url}: {exc}; they will be sent on the next run"
        ) from exc
    if not 200 <= status < 300:
        raise CostLedgerError(
            f"the webhook {url} answered HTTP {status}; the alerts will be sent on the next run"
        )
