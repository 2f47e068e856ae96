"""Stream ledger rows of a period out of the database, a batch at a time.

Exports must not hold the ledger in memory: :func:`iter_ledger_rows` runs one ordered query with
``stream_results`` (a server-side cursor on PostgreSQL, SQLite's native step-by-step cursor) and
yields plain dicts, one per ``ledger_entries`` row, with ``timestamp``/``recorded_at`` as aware
UTC datetimes and ``quantity`` as an exact ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..ledger.schema import ledger_entries

LEDGER_COLUMNS: tuple[str, ...] = tuple(c.name for c in ledger_entries.columns)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (the ledger stores UTC); PostgreSQL aware ones.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


UtcRange = tuple[datetime, datetime] | None
"""``(start, end)`` UTC instants, ``start <= timestamp < end``; ``None`` = the whole ledger."""


def period_filter(utc_range: UtcRange) -> sa.ColumnElement[bool]:
    if utc_range is None:
        return sa.true()
    ts = ledger_entries.c.timestamp
    return sa.and_(ts >= utc_range[0], ts < utc_range[1])


def iter_ledger_rows(
    engine: sa.Engine, utc_range: UtcRange, *, batch_size: int = 2000
) -> Generator[dict[str, Any], None, None]:
    """The ledger rows in ``utc_range``, in time order (then id), streamed from the database."""
    query = (
        sa.select(ledger_entries)
        .where(period_filter(utc_range))
        .order_by(ledger_entries.c.timestamp, ledger_entries.c.id)
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        keys = tuple(result.keys())
        for values in result:
            record = dict(zip(keys, values, strict=True))
            record["timestamp"] = _aware(record["timestamp"])
            record["recorded_at"] = _aware(record["recorded_at"])
            yield record
