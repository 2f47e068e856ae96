"""One span as the ledger reads it, whatever it came from.

:class:`SpanData` is the common shape of a finished span for :mod:`.convert`: the in-process
exporter builds it from the SDK's ``ReadableSpan`` (:func:`from_readable_span`), the receiver
builds it from OTLP protobuf. Ids are integers (128-bit trace id, 64-bit span id) exactly as the
SDK holds them; attribute values are OTel attribute values (str, bool, int, float, sequences).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

_EMPTY: Mapping[str, Any] = {}


@dataclass(slots=True)
class SpanData:
    trace_id: int  # 128-bit
    span_id: int  # 64-bit
    parent_span_id: int | None
    name: str
    kind: int  # opentelemetry.trace.SpanKind value (INTERNAL=0, SERVER=1, CLIENT=2, ...)
    start_time_ns: int
    end_time_ns: int
    attributes: Mapping[str, Any]
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    status_code: int = 0  # opentelemetry.trace.StatusCode value (UNSET=0, OK=1, ERROR=2)
    scope_name: str | None = None


def from_readable_span(span: ReadableSpan) -> SpanData:
    """The :class:`SpanData` of a finished SDK span (no copy of its attribute mappings)."""
    context = span.context
    parent = span.parent
    resource = span.resource
    scope = span.instrumentation_scope
    return SpanData(
        trace_id=context.trace_id if context is not None else 0,
        span_id=context.span_id if context is not None else 0,
        parent_span_id=parent.span_id if parent is not None else None,
        name=span.name,
        kind=span.kind.value,
        start_time_ns=span.start_time or 0,
        end_time_ns=span.end_time or span.start_time or 0,
        attributes=span.attributes if span.attributes is not None else _EMPTY,
        resource_attributes=resource.attributes if resource is not None else _EMPTY,
        status_code=span.status.status_code.value,
        scope_name=scope.name if scope is not None else None,
    )
