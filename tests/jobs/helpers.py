"""Ledger rows for job tests, written through the real ``LedgerStore``."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from opentelemetry.exporter.costledger.ledger.rows import LedgerRow
from opentelemetry.exporter.costledger.ledger.store import LedgerStore

_serial = itertools.count()


def usd(amount: str | int) -> int:
    """Dollars as nano-dollars."""
    return int(Decimal(str(amount)) * 1_000_000_000)


def at(text: str) -> datetime:
    """``2025-05-02`` or ``2025-05-02T10:15`` as an aware UTC datetime."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def row(
    customer: str | None,
    when: str,
    cost: str | int | None,
    *,
    category: str = "api",
    **fields: Any,
) -> LedgerRow:
    defaults: dict[str, Any] = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "input_tokens": 100,
        "output_tokens": 10,
        "uncached_input_tokens": 100,
    }
    if category not in ("api", "embedding"):
        defaults = {"input_tokens": 0, "output_tokens": 0, "uncached_input_tokens": 0}
    defaults.update(fields)
    return LedgerRow.make(
        f"test:{next(_serial)}",
        at(when),
        category,
        customer_id=customer,
        cost_nanos=None if cost is None else usd(cost),
        **defaults,
    )


def insert(url: str, rows: Sequence[LedgerRow]) -> None:
    store = LedgerStore(url)
    try:
        result = store.insert(rows)
        assert result.inserted == len(rows)
    finally:
        store.close()
