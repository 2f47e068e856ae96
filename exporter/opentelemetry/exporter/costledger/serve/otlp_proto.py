"""OTLP/protobuf trace requests (gRPC and ``application/x-protobuf``) into :class:`SpanData`.

:func:`decode_protobuf` parses the bytes of an ``ExportTraceServiceRequest``;
:func:`decode_message` walks an already parsed one. Each span is checked on its own: a trace id
must be 16 bytes and not all zero, a span id 8 bytes and not all zero, a parent span id empty or
8 bytes; a span failing that is refused with the reason and the rest of the request goes on.
Spans that cannot be cost events keep only their attribution attributes (see
``COST_PREFIXES`` in :mod:`.decoded`). OTLP span kinds (``SPAN_KIND_INTERNAL`` = 1 ...) become
the SDK's ``SpanKind`` values (``INTERNAL`` = 0 ...); ``SPAN_KIND_UNSPECIFIED`` and unknown
values are read as ``INTERNAL``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..spans import SpanData
from .decoded import (
    COST_PREFIXES,
    DEFAULT_LIMITS,
    KEPT_KEYS,
    SPAN_ID_BYTES,
    TRACE_ID_BYTES,
    DecodedRequest,
    DecodeError,
    Limits,
    cap_bytes,
    cap_string,
    count_key,
    today,
)

# OTLP SpanKind (UNSPECIFIED=0, INTERNAL=1, SERVER=2, CLIENT=3, PRODUCER=4, CONSUMER=5) to the
# SDK's SpanKind value (INTERNAL=0, SERVER=1, CLIENT=2, PRODUCER=3, CONSUMER=4).
_COST_KEY = re.compile("|".join(f"^{re.escape(p)}" for p in COST_PREFIXES), re.MULTILINE)
_KINDS = {0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4}


def decode_protobuf(data: bytes, limits: Limits = DEFAULT_LIMITS) -> DecodedRequest:
    """Decode a serialized ``ExportTraceServiceRequest``; :class:`DecodeError` if unreadable."""
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except (ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise DecodeError(f"the body is not an OTLP ExportTraceServiceRequest: {exc}") from None
    return decode_message(request, limits)


def decode_message(
    request: ExportTraceServiceRequest, limits: Limits = DEFAULT_LIMITS
) -> DecodedRequest:
    """The spans of a parsed ``ExportTraceServiceRequest``."""
    out = DecodedRequest()
    fallback_day = today()
    for resource_spans in request.resource_spans:
        resource_attributes = attributes(resource_spans.resource.attributes, limits)
        for scope_spans in resource_spans.scope_spans:
            scope_name = scope_spans.scope.name or None
            for span in scope_spans.spans:
                _decode_span(span, resource_attributes, scope_name, limits, fallback_day, out)
    return out


def _decode_span(
    span: Any,
    resource_attributes: dict[str, Any],
    scope_name: str | None,
    limits: Limits,
    fallback_day: date,
    out: DecodedRequest,
) -> None:
    # This runs for every span received: attribute lookups on the protobuf message are bound
    # once, and the common case (valid ids) is one test.
    raw_trace, raw_span, raw_parent = span.trace_id, span.span_id, span.parent_span_id
    trace_id = int.from_bytes(raw_trace) if len(raw_trace) == TRACE_ID_BYTES else 0
    span_id = int.from_bytes(raw_span) if len(raw_span) == SPAN_ID_BYTES else 0
    start = span.start_time_unix_nano
    span_attributes = span_attribute_values(span.attributes, limits)
    out.count(count_key(span_attributes, resource_attributes, start, fallback_day))
    out.identities.append((trace_id, span_id, start))
    if not (trace_id and span_id and (not raw_parent or len(raw_parent) == SPAN_ID_BYTES)):
        problem = _id_problem(raw_trace, raw_span, raw_parent)
        out.invalid.append(f"span {cap_string(span.name, limits)!r}: {problem}")
        return
    status = span.status.code
    out.spans.append(
        SpanData(
            trace_id,
            span_id,
            int.from_bytes(raw_parent) or None if raw_parent else None,
            cap_string(span.name, limits),
            _KINDS.get(span.kind, 0),
            start,
            span.end_time_unix_nano,
            span_attributes,
            resource_attributes,
            status if status in (0, 1, 2) else 0,
            scope_name,
        )
    )


def _id_problem(raw_trace: bytes, raw_span: bytes, raw_parent: bytes) -> str:
    if len(raw_trace) != TRACE_ID_BYTES:
        return f"trace_id has {len(raw_trace)} bytes, OTLP requires {TRACE_ID_BYTES}"
    if not any(raw_trace):
        return "trace_id is all zeros (invalid)"
    if len(raw_span) != SPAN_ID_BYTES:
        return f"span_id has {len(raw_span)} bytes, OTLP requires {SPAN_ID_BYTES}"
    if not any(raw_span):
        return "span_id is all zeros (invalid)"
    return f"parent_span_id has {len(raw_parent)} bytes, OTLP requires 0 or {SPAN_ID_BYTES}"


def span_attribute_values(key_values: Any, limits: Limits) -> dict[str, Any]:
    """A span's attributes: all of them for a possible cost event, else the attribution keys."""
    keys = [kv.key for kv in key_values]
    # One regex search over all keys instead of a startswith per key: this runs for every span.
    if _COST_KEY.search("\n".join(keys)):
        return attributes(key_values, limits)
    result: dict[str, Any] = {}
    # Index only the few wanted entries: every step over the repeated field builds an object.
    for index, key in enumerate(keys):
        if key in KEPT_KEYS:
            value = any_value(key_values[index].value, limits, 0)
            if value is not None:
                result[key] = value
    return result


def attributes(key_values: Any, limits: Limits) -> dict[str, Any]:
    """OTLP ``KeyValue`` list to a dict of capped attribute values (empty values dropped)."""
    result: dict[str, Any] = {}
    for kv in key_values:
        value = any_value(kv.value, limits, 0)
        if value is not None:
            result[kv.key] = value
    return result


def any_value(value: Any, limits: Limits, depth: int) -> Any:
    """One OTLP ``AnyValue`` as a Python value; ``None`` for an empty or too deep value."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return cap_string(value.string_value, limits)
    if which == "int_value":
        return value.int_value
    if which == "bool_value":
        return value.bool_value
    if which == "double_value":
        return value.double_value
    if which == "bytes_value":
        return cap_bytes(value.bytes_value, limits)
    if depth >= limits.max_depth:
        return None
    if which == "array_value":
        values = value.array_value.values[: limits.max_array_items]
        items = (any_value(v, limits, depth + 1) for v in values)
        return [v for v in items if v is not None]
    if which == "kvlist_value":
        nested: dict[str, Any] = {}
        for kv in value.kvlist_value.values:
            if len(nested) >= limits.max_array_items:
                break
            item = any_value(kv.value, limits, depth + 1)
            if item is not None:
                nested[kv.key] = item
        return nested
    return None
