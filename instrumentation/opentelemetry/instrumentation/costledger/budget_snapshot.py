"""The budget snapshot: the small JSON document the jobs publish and the budget guard reads.

The publisher (the exporter's ``costledger budgets snapshot`` and ``costledger serve --budgets``,
at ``GET /v1/budgets``) writes it; the guard (:mod:`.guard`) reads it, in the user's app. This
module owns the format, so both sides agree on it::

    {
      "version": 1,
      "generated_at": "2025-05-20T09:30:00Z",
      "limits": [
        {"scope": "customer", "value": "cust_12345",
         "period_start": "2025-05-01", "period_end": "2025-06-01",
         "limit_usd": "2500.00", "spent_usd": "2610.50", "exceeded": true}
      ]
    }

- ``version``: 1. A reader refuses another version (a newer publisher than the guard).
- ``generated_at``: when the publisher computed it, UTC, ``Z``. The guard ignores a snapshot
  older than its maximum age (``COSTLEDGER_BUDGET_MAX_AGE``): a publisher that stopped
  publishing must not keep blocking calls.
- ``limits``: one entry per budget with a hard limit and concrete scope value. ``scope`` is
  ``customer``, ``workspace``, ``feature``, ``agent`` or ``tag``; ``value`` the customer id,
  workspace id, feature or agent name, or for a tag ``name=value`` (``team=search``).
  ``[period_start, period_end)`` are the budget period's local dates; ``limit_usd`` and
  ``spent_usd`` exact decimal dollars as text (never a JSON number: no float carries money);
  ``exceeded`` whether ``spent_usd`` has reached ``limit_usd``, as the publisher decided —
  the guard acts on this flag alone, never on a clock or on the amounts.

Which span attribute each scope is matched on (:data:`SCOPE_ATTRIBUTES`): ``customer.id``,
``workspace.id``, ``costledger.feature``, ``gen_ai.agent.name``, and ``costledger.tag.<name>``
for a tag ``name=value``.

Standard library only: the guard reads this in users' processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from .attributes import CUSTOMER_ID, FEATURE, GEN_AI_AGENT_NAME, TAG_PREFIX, WORKSPACE_ID
from .money import parse_usd, usd_text

SNAPSHOT_VERSION: Final = 1
SCOPE_ATTRIBUTES: Final = {
    "customer": CUSTOMER_ID,
    "workspace": WORKSPACE_ID,
    "feature": FEATURE,
    "agent": GEN_AI_AGENT_NAME,
}
"""The span attribute each scope but ``tag`` is matched on (a tag: ``costledger.tag.<name>``)."""
SCOPES: Final = (*SCOPE_ATTRIBUTES, "tag")


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """One hard limit of the snapshot (see the module docstring for the fields)."""

    scope: str
    value: str
    period_start: date
    period_end: date
    limit_usd: Decimal
    spent_usd: Decimal
    exceeded: bool

    @property
    def key(self) -> str:
        """``customer:cust_12345``, ``tag:team=search``: the ``costledger.budget.exceeded`` mark."""
        return f"{self.scope}:{self.value}"

    @property
    def attribute(self) -> tuple[str, str]:
        """The span attribute and value this limit matches: ``("customer.id", "cust_12345")``,
        ``("costledger.tag.team", "search")``."""
        if self.scope == "tag":
            name, _, value = self.value.partition("=")
            return TAG_PREFIX + name, value
        return SCOPE_ATTRIBUTES[self.scope], self.value

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "value": self.value,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "limit_usd": usd_text(self.limit_usd),
            "spent_usd": usd_text(self.spent_usd),
            "exceeded": self.exceeded,
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A parsed snapshot: when it was generated (aware, UTC) and its limits."""

    generated_at: datetime
    limits: tuple[BudgetLimit, ...] = ()

    def to_json(self) -> str:
        """The document as JSON text (indented, ending in a newline)."""
        stamp = self.generated_at.astimezone(UTC).isoformat(timespec="seconds")
        document = {
            "version": SNAPSHOT_VERSION,
            "generated_at": stamp.replace("+00:00", "Z"),
            "limits": [limit.as_json() for limit in self.limits],
        }
        return json.dumps(document, indent=2) + "\n"

    def exceeded(self) -> tuple[tuple[str, dict[str, BudgetLimit]], ...]:
        """The exceeded limits by span attribute, in scope order: ``((attribute, {value:
        limit}), ...)``, what the guard looks a call's attributes up in; the first limit of a
        value wins."""
        found: dict[str, dict[str, BudgetLimit]] = {}
        for limit in sorted(self.limits, key=lambda lim: SCOPES.index(lim.scope)):
            if limit.exceeded:
                attribute, value = limit.attribute
                found.setdefault(attribute, {}).setdefault(value, limit)
        return tuple(found.items())


def parse_snapshot(data: bytes | str) -> Snapshot:
    """A snapshot document (JSON text); ``ValueError`` saying what is wrong with it."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(document, Mapping):
        raise ValueError("not a JSON object")
    version = document.get("version")
    if version != SNAPSHOT_VERSION:
        raise ValueError(
            f"version {version!r} is not {SNAPSHOT_VERSION}: upgrade costledger in this app to"
            " read what the publisher writes"
        )
    generated = document.get("generated_at")
    try:
        generated_at = datetime.fromisoformat(str(generated).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"generated_at {generated!r} is not an ISO 8601 time") from None
    if generated_at.tzinfo is None:
        raise ValueError(f"generated_at {generated!r} has no time zone (end it with Z)")
    entries = document.get("limits")
    if not isinstance(entries, list):
        raise ValueError("limits is not a list")
    limits = tuple(_limit(entry, n) for n, entry in enumerate(entries, 1))
    return Snapshot(generated_at.astimezone(UTC), limits)


def _limit(entry: Any, n: int) -> BudgetLimit:
    if not isinstance(entry, Mapping):
        raise ValueError(f"limit #{n} is not an object")
    scope, value = entry.get("scope"), entry.get("value")
    if scope not in SCOPES:
        raise ValueError(f"limit #{n}: scope {scope!r} is not one of {', '.join(SCOPES)}")
    if not isinstance(value, str) or not value or (scope == "tag" and "=" not in value):
        raise ValueError(f"limit #{n}: value {value!r} is not a {scope} (a tag: name=value)")
    exceeded = entry.get("exceeded")
    if not isinstance(exceeded, bool):
        raise ValueError(f"limit #{n}: exceeded {exceeded!r} is not true or false")
    try:
        start = date.fromisoformat(str(entry.get("period_start")))
        end = date.fromisoformat(str(entry.get("period_end")))
        limit_usd = parse_usd(_text(entry.get("limit_usd")), what="limit_usd")
        spent_usd = parse_usd(_text(entry.get("spent_usd")), what="spent_usd")
    except ValueError as exc:
        raise ValueError(f"limit #{n}: {exc}") from None
    return BudgetLimit(str(scope), value, start, end, limit_usd, spent_usd, exceeded)


def _text(value: Any) -> str:
    if not isinstance(value, str):  # a JSON number would have been a float on the way
        raise ValueError(f'amount {value!r} must be decimal text such as "2500.00"')
    return value


def snapshot(limits: Iterable[BudgetLimit], generated_at: datetime | None = None) -> Snapshot:
    """A snapshot of ``limits`` generated at ``generated_at`` (default now)."""
    moment = generated_at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("generated_at needs a time zone")
    return Snapshot(moment.astimezone(UTC), tuple(limits))
