"""One ledger row in Python: :class:`LedgerRow`, a field per ``ledger_entries`` column.

The ingest path does not build a :class:`LedgerRow` per span: it converts spans straight into
*records*, plain tuples of the same fields in the same order (:data:`ROW_FIELDS`) holding only
values every driver takes as they are — the timestamp as UTC text ``YYYY-MM-DD
HH:MM:SS.ffffff`` (what SQLAlchemy's DateTime stores on SQLite) and the quantity as decimal
text. A record is what the store inserts and what the exporter and the receiver buffer;
:func:`row_to_record` and :func:`record_to_row` convert exactly, both ways.

``id`` and ``recorded_at`` are not fields: the database numbers rows and the store stamps the
time it recorded them. Money is ``cost_nanos`` (integer nano-dollars, ``None`` = unpriced, see
``unpriced_reason``); ``quantity`` is an exact ``Decimal``; ``timestamp`` is an aware UTC datetime.
Token buckets are non-overlapping: ``uncached_input_tokens + cache_read_tokens +
cache_write_5m_tokens + cache_write_1h_tokens == input_tokens`` and ``reasoning_tokens`` is part
of ``output_tokens`` (a row whose counts break that says so in ``flags``).
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .schema import NANOS_PER_USD

# ``price_rule`` of a cost event whose span carried its own amount (``record_cost(amount=...)``):
# such rows are never priced by the price book, so never unpriced gaps and never repriced.
EXPLICIT_AMOUNT_RULE = "explicit amount on the span"


@dataclass(slots=True)
class LedgerRow:
    idempotency_key: str
    timestamp: datetime
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
    quantity: Decimal | None = None
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

    @property
    def cost_usd(self) -> Decimal | None:
        """The cost in dollars, exact (``None`` when unpriced)."""
        if self.cost_nanos is None:
            return None
        return Decimal(self.cost_nanos) / NANOS_PER_USD

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRow))


LedgerRecord = tuple[Any, ...]
"""A row as the store inserts it: the :data:`ROW_FIELDS` in order, timestamp and quantity as
text (see the module docs)."""

# Positions in a record of the fields read outside the converter.
KEY, TIMESTAMP, CUSTOMER_ID = 0, 1, 4
QUANTITY, COST_NANOS = ROW_FIELDS.index("quantity"), ROW_FIELDS.index("cost_nanos")
if ROW_FIELDS[:5] != ("idempotency_key", "timestamp", "category", "source", "customer_id"):
    raise RuntimeError("LedgerRow's fields changed: update the record positions in rows.py")

_ALL_FIELDS = operator.attrgetter(*ROW_FIELDS)


def row_to_record(row: LedgerRow) -> LedgerRecord:
    """``row`` as a record (naive timestamps are taken as UTC)."""
    values = _ALL_FIELDS(row)
    quantity = values[QUANTITY]
    return (
        values[0],
        timestamp_text(row.timestamp),
        *values[2:QUANTITY],
        None if quantity is None else str(quantity),
        *values[QUANTITY + 1 :],
    )


def record_to_row(record: LedgerRecord) -> LedgerRow:
    """The :class:`LedgerRow` of ``record`` (the inverse of :func:`row_to_record`)."""
    row = LedgerRow(*record)
    row.timestamp = datetime.fromisoformat(record[TIMESTAMP]).replace(tzinfo=UTC)
    quantity = record[QUANTITY]
    if quantity is not None:
        row.quantity = Decimal(quantity)
    return row


# --- timestamp text ---------------------------------------------------------------------------
# str(datetime) alone costs more than the rest of a row: the text is assembled from cached
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
    """The record text of ``ts``; a naive ``ts`` is taken as UTC (as SQLAlchemy's DateTime)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return timestamp_text_ns((ts - _EPOCH) // _ONE_MICROSECOND * 1000)
