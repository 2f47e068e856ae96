"""Building :class:`SpanData` for tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry.exporter.costledger.ingest.spans import SpanData

# 2025-10-15T12:00:00Z, after claude-sonnet-4-5 was released.
AT = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)
AT_NS = int(AT.timestamp()) * 1_000_000_000

_ids = itertools.count(1)


def make_span(
    attributes: Mapping[str, Any],
    *,
    trace_id: int = 0xABC,
    span_id: int | None = None,
    parent_span_id: int | None = None,
    name: str = "chat claude-sonnet-4-5",
    scope_name: str | None = None,
    start_ns: int = AT_NS,
    service: str = "support-bot",
) -> SpanData:
    return SpanData(
        trace_id=trace_id,
        span_id=span_id if span_id is not None else next(_ids),
        parent_span_id=parent_span_id,
        name=name,
        kind=2,
        start_time_ns=start_ns,
        end_time_ns=start_ns + 1_000_000,
        attributes=dict(attributes),
        resource_attributes={"service.name": service},
        status_code=0,
        scope_name=scope_name,
    )
