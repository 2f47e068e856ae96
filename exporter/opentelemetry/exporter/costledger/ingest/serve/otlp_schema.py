"""The part of OTLP's ``ExportTraceServiceRequest`` the receiver reads, as its own message types.

Same field numbers and wire types as ``opentelemetry-proto``'s messages, so the bytes of any
OTLP trace request parse into :data:`TraceRequest`. The differences are the point:

- each attribute (``KeyValue``) is kept as its serialized bytes (``repeated bytes``: a
  length-delimited field reads the same either way). Building a Python message object for every
  ``KeyValue`` and ``AnyValue`` was most of the decoding time; as bytes, the attributes that
  repeat across the spans of a request (methods, routes, models, customers) are decoded once
  (see :mod:`.otlp_proto`), and those the ledger keeps are still parsed and checked with the
  real ``KeyValue`` message, strictly, the first time their bytes are seen in a request. A
  span's ``status`` is bytes too: nearly always one of a few encodings, looked up without a parse;
- fields the ledger never reads (events, links, trace state, status message, scope version,
  dropped counts, schema URLs) are not declared: upb skips them as unknown fields after checking
  their framing, without decoding their content.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_Field = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "costledger.otlp.trace"

# message -> (field name, number, type, repeated, message type name or None)
_MESSAGES: dict[str, tuple[tuple[str, int, int, bool, str | None], ...]] = {
    "TraceRequest": (("resource_spans", 1, _Field.TYPE_MESSAGE, True, "ResourceSpans"),),
    "ResourceSpans": (
        ("resource", 1, _Field.TYPE_MESSAGE, False, "Resource"),
        ("scope_spans", 2, _Field.TYPE_MESSAGE, True, "ScopeSpans"),
    ),
    "Resource": (("attributes", 1, _Field.TYPE_BYTES, True, None),),
    "ScopeSpans": (
        ("scope", 1, _Field.TYPE_MESSAGE, False, "Scope"),
        ("spans", 2, _Field.TYPE_MESSAGE, True, "Span"),
    ),
    "Scope": (("name", 1, _Field.TYPE_STRING, False, None),),
    "Span": (
        ("trace_id", 1, _Field.TYPE_BYTES, False, None),
        ("span_id", 2, _Field.TYPE_BYTES, False, None),
        ("parent_span_id", 4, _Field.TYPE_BYTES, False, None),
        ("name", 5, _Field.TYPE_STRING, False, None),
        ("kind", 6, _Field.TYPE_INT32, False, None),  # an enum on the wire: a varint
        ("start_time_unix_nano", 7, _Field.TYPE_FIXED64, False, None),
        ("end_time_unix_nano", 8, _Field.TYPE_FIXED64, False, None),
        ("attributes", 9, _Field.TYPE_BYTES, True, None),
        ("status", 15, _Field.TYPE_BYTES, False, None),  # a Status, read by otlp_proto
    ),
    "Status": (("code", 3, _Field.TYPE_INT32, False, None),),
}


def _build() -> Any:
    file = descriptor_pb2.FileDescriptorProto(
        name="costledger/otlp_trace_subset.proto", package=_PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, repeated, type_name in fields:
            field = message.field.add(
                name=field_name,
                number=number,
                type=kind,
                label=_Field.LABEL_REPEATED if repeated else _Field.LABEL_OPTIONAL,
            )
            if type_name is not None:
                field.type_name = f".{_PACKAGE}.{type_name}"
    # A pool of our own: these names never clash with (or leak into) the default pool.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return tuple(
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in ("TraceRequest", "Status")
    )


TraceRequest: Any
"""Message class: ``TraceRequest.FromString(body)`` parses an ``ExportTraceServiceRequest``."""
Status: Any
"""Message class of a span's ``status`` bytes (only its ``code``)."""
TraceRequest, Status = _build()
