"""OTLP/protobuf trace requests (gRPC and ``application/x-protobuf``) into :class:`SpanData`.

:func:`decode_protobuf` parses the bytes of an ``ExportTraceServiceRequest`` with the subset
schema of :mod:`.otlp_schema`, in which every attribute is still its serialized ``KeyValue``.
Each distinct attribute of a request (the same bytes: key and value) is read once: spans of a
batch share most of theirs (method, route, model, customer), so most attributes cost one
dictionary lookup. Attributes that are kept (see below) are parsed with the real ``KeyValue``
message, which checks them as strictly as a full parse would; of the others only the key is
read (and checked), their values are never decoded. A request whose bytes, kept attributes or
keys do not parse raises :class:`DecodeError`.

Each span is checked on its own: a trace id must be 16 bytes and not all zero, a span id 8
bytes and not all zero, a parent span id empty or 8 bytes; a span failing that is refused with
the reason and the rest of the request goes on. Spans that cannot be cost events keep only
their attribution attributes (see ``COST_PREFIXES`` in :mod:`.decoded`). OTLP span kinds
(``SPAN_KIND_INTERNAL`` = 1 ...) become the SDK's ``SpanKind`` values (``INTERNAL`` = 0 ...);
``SPAN_KIND_UNSPECIFIED`` and unknown values are read as ``INTERNAL``.
"""

from __future__ import annotations

import struct
from collections import Counter
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.instrumentation.costledger.attributes import CUSTOMER_ID, SERVICE_NAME
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from ..spans import SpanData
from .body import too_many_spans
from .decoded import (
    COST_PREFIXES,
    DEFAULT_LIMITS,
    KEPT_KEYS,
    NS_PER_DAY,
    SPAN_ID_BYTES,
    TRACE_ID_BYTES,
    CountKey,
    DecodedRequest,
    DecodeError,
    Limits,
    cap_bytes,
    cap_string,
    epoch_day,
    identity_key,
    short_str,
    today,
)
from .otlp_schema import Status, TraceRequest

# OTLP SpanKind (UNSPECIFIED=0, INTERNAL=1, SERVER=2, CLIENT=3, PRODUCER=4, CONSUMER=5) to the
# SDK's SpanKind value (INTERNAL=0, SERVER=1, CLIENT=2, PRODUCER=3, CONSUMER=4).
_KINDS = {0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4}
# A span's identity (see DecodedRequest.identity) from its raw ids, once their lengths are known
# to be right: the same bytes identity_key makes from the integers.
_RAW_IDENTITY = struct.Struct(f">{TRACE_ID_BYTES}s{SPAN_ID_BYTES}sQ").pack
_PARSE_ERRORS = (ProtobufDecodeError, RecursionError, ValueError)
_TEXT_TYPES = frozenset({str, type(None)})
_SKIPPED: Any = object()  # the value of an attribute not decoded (see _Attributes)
# A span's Status as encoders write it (no message; code UNSET, OK or ERROR), without a parse.
_STATUS_CODES = {b"": 0, b"\x18\x00": 0, b"\x18\x01": 1, b"\x18\x02": 2}


def decode_protobuf(data: bytes, limits: Limits = DEFAULT_LIMITS) -> DecodedRequest:
    """Decode a serialized ``ExportTraceServiceRequest``; :class:`DecodeError` if unreadable."""
    try:
        request = TraceRequest.FromString(data)
    except _PARSE_ERRORS as exc:
        raise DecodeError(f"the body is not an OTLP ExportTraceServiceRequest: {exc}") from None
    if limits.max_spans is not None:
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        if spans > limits.max_spans:
            raise too_many_spans(spans, limits.max_spans)
    out = DecodedRequest()
    attributes = _Attributes(limits)
    for resource_spans in request.resource_spans:
        _decode_resource_spans(resource_spans, attributes, limits, out)
    return out


def _decode_resource_spans(
    resource_spans: Any, attributes: _Attributes, limits: Limits, out: DecodedRequest
) -> None:
    # This loop runs for every span received: everything it needs is a local, the common case
    # (valid ids, attributes seen before in the request) is a few C calls, and the count keys
    # are gathered in two lists and tallied by Counter (in C) once per resource.
    resource_attributes = attributes.all(resource_spans.resource.attributes[:])
    resource_customer = resource_attributes.get(CUSTOMER_ID)
    cached = attributes.pairs.get
    resolve = attributes.resolve
    cost_keys = attributes.cost_keys
    skipped_keys = attributes.skipped_keys
    complete = attributes.complete
    starts: list[int] = []
    customers: list[Any] = []
    starts_append, customers_append = starts.append, customers.append
    max_length = limits.max_attribute_length
    spans_append = out.spans.append
    identities_append = out.identities.append
    for scope_spans in resource_spans.scope_spans[:]:
        scope_name = scope_spans.scope.name or None
        for span in scope_spans.spans[:]:
            raw_trace, raw_span, raw_parent = span.trace_id, span.span_id, span.parent_span_id
            trace_id = int.from_bytes(raw_trace) if len(raw_trace) == TRACE_ID_BYTES else 0
            span_id = int.from_bytes(raw_span) if len(raw_span) == SPAN_ID_BYTES else 0
            start = span.start_time_unix_nano
            raws = span.attributes[:]
            found = list(map(cached, raws))
            # all(): a miss is None, a pair is true (``None in`` would compare each pair).
            values = dict(found if all(found) else resolve(raws, found))  # type: ignore[arg-type]
            if cost_keys.isdisjoint(values):  # not a possible cost event: its attribution only
                span_attributes = {}
                for key in KEPT_KEYS.intersection(values):
                    span_attributes[key] = values[key]
            elif skipped_keys and not skipped_keys.isdisjoint(values):
                span_attributes = complete(raws, values)
            else:
                span_attributes = values
            starts_append(start)
            customers_append(values.get(CUSTOMER_ID, resource_customer))
            name = span.name
            if len(name) > max_length:
                name = name[:max_length]
            if trace_id and span_id and (not raw_parent or len(raw_parent) == SPAN_ID_BYTES):
                identities_append(_RAW_IDENTITY(raw_trace, raw_span, start))
            else:
                identities_append(identity_key(trace_id, span_id, start))
                problem = _id_problem(raw_trace, raw_span, raw_parent)
                out.invalid.append(f"span {name!r}: {problem}")
                continue
            status = _STATUS_CODES.get(span.status)
            if status is None:
                status = _status_code(span.status)
            spans_append(
                SpanData(
                    trace_id,
                    span_id,
                    int.from_bytes(raw_parent) or None if raw_parent else None,
                    name,
                    _KINDS.get(span.kind, 0),
                    start,
                    span.end_time_unix_nano,
                    span_attributes,
                    resource_attributes,
                    status,
                    scope_name,
                )
            )
    _count(starts, customers, short_str(resource_attributes.get(SERVICE_NAME)), out)


def _count(
    starts: list[int], customers: list[Any], service: str | None, out: DecodedRequest
) -> None:
    """Add one resource's spans to the request's counts, by UTC day and customer."""
    if 0 in starts:  # no start time: counted on the day received
        days: list[int] = [start // NS_PER_DAY if start else -1 for start in starts]
    else:
        days = list(map(NS_PER_DAY.__rfloordiv__, starts))
    if not _TEXT_TYPES.issuperset(map(type, customers)):
        # Counted under its text: 1, 1.0 and True are one dict key but three customers, and a
        # list is no dict key at all.
        customers = list(map(short_str, customers))
    tally = Counter(zip(days, customers, strict=True))
    fallback_day = today()
    for (day, customer), n in tally.items():
        when = epoch_day(day) if day >= 0 else fallback_day
        out.count(CountKey(when, short_str(customer), service), n)


def _status_code(raw: bytes) -> int:
    try:
        code = Status.FromString(raw).code
    except _PARSE_ERRORS as exc:
        raise DecodeError(f"the body is not an OTLP ExportTraceServiceRequest: {exc}") from None
    return code if code in (0, 1, 2) else 0


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


class _Attributes:
    """Serialized ``KeyValue``s to attribute dicts, each distinct one decoded once per request.

    ``pairs`` maps the bytes of an attribute to its (key, capped value). Only immutable values
    are shared that way (strings, numbers, bytes); arrays and maps are decoded for each span, so
    no two spans hold the same mutable object. ``cost_keys`` are the keys seen under
    ``COST_PREFIXES``: every key in ``pairs`` went through :meth:`resolve`, which puts it there,
    so one set test tells a possible cost event from a plain span.

    Attributes are decoded in full only where they are kept: on a possible cost event, or under
    an attribution key. Of the others (plain spans' URLs, statements, ids: often different on
    every span) only the key is read, straight from the bytes when it comes first as encoders
    write it, and ``pairs`` holds (key, ``_SKIPPED``), the key in ``skipped_keys``: a plain span
    drops them with its other non-attribution keys; a cost event meeting one decodes it then.
    """

    __slots__ = ("cost_keys", "limits", "pairs", "skipped_keys")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pairs: dict[bytes, tuple[str, Any]] = {}
        self.cost_keys: set[str] = set()
        self.skipped_keys: set[str] = set()

    def all(self, raws: list[bytes]) -> dict[str, Any]:
        """Every attribute (empty values dropped; the last of a repeated key wins)."""
        found = list(map(self.pairs.get, raws))
        # all(): a miss is None; pairs are true. (``None in`` would compare every pair to None.)
        if all(found):
            values = dict(found)  # type: ignore[arg-type]
            if self.skipped_keys.isdisjoint(values):
                return values
        return dict(self.resolve(raws, found, everything=True))

    def complete(self, raws: list[bytes], values: dict[str, Any]) -> dict[str, Any]:
        """``values`` of a cost event, with the values only skipped so far decoded."""
        if _SKIPPED not in values.values():
            return values
        return dict(self.resolve(raws, list(map(self.pairs.get, raws)), everything=True))

    def resolve(
        self, raws: list[bytes], found: list[tuple[str, Any] | None], everything: bool = False
    ) -> list[tuple[str, Any]]:
        """The pairs of one span's ``raws``, given those ``found`` already (None where not).

        All are decoded when ``everything`` is asked or when the span is a possible cost event;
        otherwise only the attribution keys' values, the others are skipped.
        """
        out = []
        if not everything:  # a plain span, until a key says otherwise
            pairs, cost_keys = self.pairs, self.cost_keys
            for index, pair in enumerate(found):
                if pair is None:
                    raw = raws[index]
                    key = _key(raw)
                    if key.startswith(COST_PREFIXES):
                        return self.resolve(raws, found, everything=True)
                    if key in KEPT_KEYS:
                        pair = self._decode(raw)
                        if pair is None:
                            continue
                    else:
                        pair = pairs[raw] = (key, _SKIPPED)
                        self.skipped_keys.add(key)
                elif pair[0] in cost_keys:
                    return self.resolve(raws, found, everything=True)
                out.append(pair)
            return out
        for index, pair in enumerate(found):
            if pair is None or pair[1] is _SKIPPED:
                pair = self._decode(raws[index])
                if pair is None:
                    continue
            out.append(pair)
        return out

    def _decode(self, raw: bytes) -> tuple[str, Any] | None:
        pair = _short_pair(raw, self.limits.max_attribute_length)
        if pair is not None:
            if pair[0].startswith(COST_PREFIXES):
                self.cost_keys.add(pair[0])
            self.pairs[raw] = pair
            return pair
        try:
            kv = KeyValue.FromString(raw)
        except _PARSE_ERRORS as exc:
            raise DecodeError(
                f"the body is not an OTLP ExportTraceServiceRequest: an attribute: {exc}"
            ) from None
        value = any_value(kv.value, self.limits, 0)
        if value is None:
            return None
        key = kv.key
        if key.startswith(COST_PREFIXES):
            self.cost_keys.add(key)
        pair = (key, value)
        if not isinstance(value, (list, dict)):
            self.pairs[raw] = pair
        return pair


def _short_pair(raw: bytes, max_length: int) -> tuple[str, Any] | None:
    """(key, value) of a ``KeyValue`` holding a short string or a non-negative integer, read
    from its bytes as encoders write them; None for anything else (parsed by the message class).

    Most attributes first seen in a request are ids and counts (response ids, work items, token
    counts) of this shape: two field headers and a few bytes, cheaper to read here than through
    two message objects.
    """
    size = len(raw)
    if size < 5 or raw[0] != 0x0A or raw[1] >= 0x80:
        return None
    value_at = 2 + raw[1]  # key: tag, one-byte length, bytes; then AnyValue: tag, length
    if size < value_at + 4 or raw[value_at] != 0x12 or raw[value_at + 1] != size - value_at - 2:
        return None
    tag, body = raw[value_at + 2], raw[value_at + 3 :]
    try:
        key = raw[2:value_at].decode()
        if tag == 0x0A and body[0] == len(body) - 1:  # string_value, one-byte length
            text = body[1:].decode()
            return key, text if len(text) <= max_length else text[:max_length]
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"the body is not an OTLP ExportTraceServiceRequest: an attribute: {exc}"
        ) from None
    if tag != 0x18 or len(body) > 9 or body[-1] >= 0x80:  # int_value: a varint below 2**63
        return None
    number = 0
    for shift, byte in enumerate(body[:-1]):
        if byte < 0x80:  # the varint ends early: something else follows
            return None
        number |= (byte & 0x7F) << (7 * shift)
    return key, number | body[-1] << (7 * (len(body) - 1))


def _key(raw: bytes) -> str:
    """The key of a serialized ``KeyValue``; :class:`DecodeError` if it is not UTF-8."""
    # Encoders write field 1 (tag 0x0A) first; a key shorter than 128 bytes has a one-byte
    # length. Anything else is parsed by the message class.
    if len(raw) > 1 and raw[0] == 0x0A and raw[1] < 0x80 and len(raw) >= 2 + raw[1]:
        try:
            return raw[2 : 2 + raw[1]].decode()
        except UnicodeDecodeError as exc:
            raise DecodeError(
                f"the body is not an OTLP ExportTraceServiceRequest: an attribute key: {exc}"
            ) from None
    try:
        return str(KeyValue.FromString(raw).key)
    except _PARSE_ERRORS as exc:
        raise DecodeError(
            f"the body is not an OTLP ExportTraceServiceRequest: an attribute: {exc}"
        ) from None


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
