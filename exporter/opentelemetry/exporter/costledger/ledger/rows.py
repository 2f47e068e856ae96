"""One ledger row: :class:`LedgerRow`, a field per ``ledger_entries`` column.

The same typed form from conversion to store: the ingest builds one per cost span, the
in-process exporter and the receiver buffer them, and the store hands them to the driver as
they are (a ``NamedTuple`` is a tuple: ``executemany`` and ``COPY`` take it without a copy).
So every field holds what the database column takes from every driver:

* ``timestamp``: UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (what SQLAlchemy's DateTime stores on
  SQLite; PostgreSQL reads it in UTC) — :func:`timestamp_text` makes it from a datetime,
  :attr:`LedgerRow.time` reads it back;
* ``quantity``: exact decimal text (or ``None``) — :attr:`LedgerRow.exact_quantity` is the
  ``Decimal``;
* money is ``cost_nanos`` (integer nano-dollars, ``None`` = unpriced, see ``unpriced_reason``).

:meth:`LedgerRow.make` builds a row from Python values (an aware or UTC-naive datetime, a
``Decimal`` quantity); :meth:`LedgerRow.values` gives them back as a dict.

``id`` and ``recorded_at`` are not fields: the database numbers rows and the store stamps the
time it recorded them. The fields are exactly the other columns of ``ledger_entries`` in
:mod:`.schema` (a test checks it). Token buckets are non-overlapping: ``uncached_input_tokens +
cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens == input_tokens`` and
``reasoning_tokens`` is part of ``output_tokens`` (a row whose counts break that says so in
``flags``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD

# ``price_rule`` of a cost event whose span carried its own amount (``record_cost(amount=...)``):
# such rows are never priced by the price book, so never unpriced gaps and never repriced.
EXPLICIT_AMOUNT_RULE = "explicit amount on the span"
# The rule of a call priced at its producer's own cost (``producer:litellm``): no price of
# ours covered it. ``costledger reprice`` replaces it once one does, and keeps it otherwise.
PRODUCER_RULE_PREFIX = "producer:"


class LedgerRow(NamedTuple):
    """One ledger row, as the store inserts it (see the module docs for the field types)."""

    idempotency_key: str
    timestamp: str  # UTC text, see timestamp_text
    category: str
    source: str = "span"
    customer_id: str | None = None
    customer_name: str | None = None
    workspace_id: str | None = None
    work_item_id: str | None = None
    user_id: str | None = None
    service: str | None = None
    provider: str | None = None
    model: str | None = None
    operation: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    uncached_input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    quantity: str | None = None  # exact decimal text
    unit: str | None = None
    cost_nanos: int | None = None
    currency: str = "USD"
    price_rule: str | None = None
    unpriced_reason: str | None = None
    flags: str | None = None
    batch: bool = False
    service_tier: str | None = None
    trace_id: str | None = None
    span_id: str | None = None

    @classmethod
    def make(
        cls,
        idempotency_key: str,
        timestamp: datetime,
        category: str,
        *,
        quantity: Decimal | None = None,
        **fields: Any,
    ) -> LedgerRow:
        """A row from Python values: ``timestamp`` a datetime (naive = UTC), ``quantity`` a
        ``Decimal``; ``fields`` are the other fields by name."""
        return cls(
            idempotency_key,
            timestamp_text(timestamp),
            category,
            quantity=None if quantity is None else str(quantity),
            **fields,
        )

    @property
    def time(self) -> datetime:
        """``timestamp`` as an aware UTC datetime."""
        return datetime.fromisoformat(self.timestamp).replace(tzinfo=UTC)

    @property
    def exact_quantity(self) -> Decimal | None:
        return None if self.quantity is None else Decimal(self.quantity)

    @property
    def cost_usd(self) -> Decimal | None:
        """The cost in dollars, exact (``None`` when unpriced)."""
        if self.cost_nanos is None:
            return None
        return Decimal(self.cost_nanos) / NANOS_PER_USD

    def values(self) -> dict[str, Any]:
        """The fields by name with Python values: ``timestamp`` an aware datetime, ``quantity``
        a ``Decimal`` (what SQLAlchemy Core binds on any dialect)."""
        values = self._asdict()
        values["timestamp"] = self.time
        values["quantity"] = self.exact_quantity
        return values


# --- timestamp text ---------------------------------------------------------------------------
# Formatting a datetime costs more than the rest of a row: the text is assembled from cached
# pieces instead, straight from the span's integer nanoseconds.

_MINUTE_SECOND = tuple(f"{m:02d}:{s:02d}." for m in range(60) for s in range(60))
_THREE_DIGITS = tuple(f"{i:03d}" for i in range(1000))
_HOURS: dict[int, str] = {}  # hours since the epoch -> "YYYY-MM-DD HH:"
_MAX_HOURS = 24 * 400  # bounded: a year of traffic, then the cache starts again
_EPOCH_DAY = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def _hour_prefix(hour: int) -> str:
    day, hh = divmod(hour, 24)
    prefix = f"{(_EPOCH_DAY + timedelta(day)).isoformat()} {hh:02d}:"
    if len(_HOURS) >= _MAX_HOURS:
        _HOURS.clear()
    _HOURS[hour] = prefix
    return prefix


def timestamp_text_ns(ns: int) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC) of ``ns`` nanoseconds since the Unix epoch.

    Truncated to the microsecond, like a datetime made from the same nanoseconds."""
    seconds = ns // 1_000_000_000
    micros = ns // 1000 % 1_000_000
    prefix = _HOURS.get(seconds // 3600)
    if prefix is None:
        prefix = _hour_prefix(seconds // 3600)
    three = _THREE_DIGITS
    return f"{prefix}{_MINUTE_SECOND[seconds % 3600]}{three[micros // 1000]}{three[micros % 1000]}"


def timestamp_text(ts: datetime) -> str:
    """The row text of ``ts``; a naive ``ts`` is taken as UTC (as SQLAlchemy's DateTime)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return timestamp_text_ns((ts - _EPOCH) // _ONE_MICROSECOND * 1000)
