"""One ledger row in Python: :class:`LedgerRow`, a field per ``ledger_entries`` column.

``id`` and ``recorded_at`` are not fields: the database numbers rows and the store stamps the
time it recorded them. Money is ``cost_nanos`` (integer nano-dollars, ``None`` = unpriced, see
``unpriced_reason``); ``quantity`` is an exact ``Decimal``; ``timestamp`` is an aware UTC datetime.
Token buckets are non-overlapping: ``uncached_input_tokens + cache_read_tokens +
cache_write_5m_tokens + cache_write_1h_tokens == input_tokens`` and ``reasoning_tokens`` is part
of ``output_tokens`` (a row whose counts break that says so in ``flags``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from .schema import NANOS_PER_USD


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
