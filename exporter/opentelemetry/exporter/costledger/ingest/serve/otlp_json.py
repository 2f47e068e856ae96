"""OTLP/JSON trace requests (``application/json``, the Collector's ``file`` exporter) into spans.

OTLP/JSON is the protobuf JSON mapping with differences that a stock ``json_format.ParseDict``
gets wrong, so this decoder reads the JSON itself, following the OTLP specification
(https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):

- ``traceId``, ``spanId`` and ``parentSpanId`` are HEX strings (32, 16 and 16 characters), not
  base64; ``ParseDict`` would base64-decode them into different bytes without any error. A trace
  id must not be all zeros, nor a span id; a span that breaks this is refused (with the reason,
  which hints at base64 when the id looks like it) and the rest of the request goes on;
- keys are lowerCamelCase (``resourceSpans``, ``startTimeUnixNano``); keys not known are ignored,
  so newer producers' fields do no harm;
- 64-bit integers (``intValue``, timestamps) come as decimal strings or as JSON numbers; one
  out of range (however many digits: Python's own limit on converting long digit strings is
  never reached) refuses its span, not the request;
- enums (``kind``, ``status.code``) are integers; their protobuf names (``"SPAN_KIND_CLIENT"``)
  are read too;
- ``doubleValue`` is a number or ``"NaN"``/``"Infinity"``/``"-Infinity"``; ``bytesValue`` is base64.

A body that is not JSON, or whose top level is not an object with a ``resourceSpans`` list,
raises :class:`DecodeError`. A malformed resource or scope refuses the spans under it; a malformed
span refuses that span. Decoded values are capped like the protobuf decoder's
(:class:`~.decoded.Limits`).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import date
from typing import Any

from ..spans import SpanData
from .body import too_many_spans
from .decoded import (
    DEFAULT_LIMITS,
    DecodedRequest,
    DecodeError,
    Limits,
    cap_bytes,
    cap_string,
    count_key,
    identity_key,
    today,
)

_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{16}")
_INTEGER = re.compile(r"-?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1
_MAX_DIGITS = 21  # more digits (and a sign) than any 64-bit integer has


class _LongNumber(str):
    """A JSON number with more digits than a 64-bit integer: its text, never converted."""


def _parse_int(text: str) -> int | str:
    return int(text) if len(text) <= _MAX_DIGITS else _LongNumber(text)


_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
# OTLP SpanKind to the SDK's SpanKind value, as in otlp_proto.
_KINDS = {0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_DOUBLE_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class _Malformed(Exception):
    """One span (or the resource/scope above it) cannot be read; the message says why."""


def decode_json(data: bytes | str, limits: Limits = DEFAULT_LIMITS) -> DecodedRequest:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest`` body (UTF-8)."""
    if limits.max_spans is not None:
        # Counted before parsing (a parsed span costs far more than its text): every span
        # has a "spanId" key; more of them than spans only ever errs towards refusing.
        marks = data.count(b'"spanId"') if isinstance(data, bytes) else data.count('"spanId"')
        if marks > limits.max_spans:
            raise too_many_spans(marks, limits.max_spans)
    try:
        document = json.loads(data, parse_int=_parse_int)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"the body is not valid JSON: {exc}") from None
    return decode_document(document, limits)


def decode_document(document: Any, limits: Limits = DEFAULT_LIMITS) -> DecodedRequest:
    """Decode an already parsed OTLP/JSON document (a dict)."""
    if not isinstance(document, dict):
        raise DecodeError("an OTLP/JSON trace request is a JSON object with a resourceSpans list")
    resource_spans = document.get("resourceSpans", [])
    if resource_spans is None:
        resource_spans = []
    if not isinstance(resource_spans, list):
        raise DecodeError("resourceSpans must be a JSON array")
    out = DecodedRequest()
    fallback_day = today()
    for index, entry in enumerate(resource_spans):
        _decode_resource_spans(entry, index, limits, fallback_day, out)
    return out


def _decode_resource_spans(
    entry: Any, index: int, limits: Limits, fallback_day: date, out: DecodedRequest
) -> None:
    where = f"resourceSpans[{index}]"
    if not isinstance(entry, dict):
        raise DecodeError(f"{where} must be a JSON object")
    scope_spans = _list(entry.get("scopeSpans"), f"{where}.scopeSpans", fatal=True)
    try:
        resource = _object(entry.get("resource"), f"{where}.resource")
        resource_attributes = _attributes(resource.get("attributes"), limits)
    except _Malformed as exc:
        # The spans are there but their resource cannot be read: refuse (and count) them.
        _refuse_all(scope_spans, str(exc), fallback_day, out)
        return
    for scope_index, scope_entry in enumerate(scope_spans):
        scope_where = f"{where}.scopeSpans[{scope_index}]"
        if not isinstance(scope_entry, dict):
            raise DecodeError(f"{scope_where} must be a JSON object")
        spans = _list(scope_entry.get("spans"), f"{scope_where}.spans", fatal=True)
        try:
            scope = _object(scope_entry.get("scope"), f"{scope_where}.scope")
            scope_name = _string(scope.get("name"), "scope.name") or None
        except _Malformed as exc:
            _refuse_spans(spans, str(exc), resource_attributes, fallback_day, out)
            continue
        for span in spans:
            _decode_span(span, resource_attributes, scope_name, limits, fallback_day, out)


def _refuse_all(
    scope_spans: list[Any], reason: str, fallback_day: date, out: DecodedRequest
) -> None:
    for scope_entry in scope_spans:
        spans = scope_entry.get("spans") if isinstance(scope_entry, dict) else None
        if isinstance(spans, list):
            _refuse_spans(spans, reason, {}, fallback_day, out)


def _refuse_spans(
    spans: list[Any],
    reason: str,
    resource_attributes: dict[str, Any],
    fallback_day: date,
    out: DecodedRequest,
) -> None:
    for _ in spans:
        out.count(count_key(None, resource_attributes, 0, fallback_day))
        out.identities.append(identity_key(0, 0, 0))
        out.invalid.append(reason)


def _decode_span(
    span: Any,
    resource_attributes: dict[str, Any],
    scope_name: str | None,
    limits: Limits,
    fallback_day: date,
    out: DecodedRequest,
) -> None:
    name = ""
    span_attributes: dict[str, Any] | None = None
    trace_id = span_id = start = 0
    try:
        if not isinstance(span, dict):
            raise _Malformed("a span must be a JSON object")
        name = cap_string(_string(span.get("name"), "name"), limits)
        span_attributes = _attributes(span.get("attributes"), limits)
        start = _integer(span.get("startTimeUnixNano"), "startTimeUnixNano", unsigned=True)
        end = _integer(span.get("endTimeUnixNano"), "endTimeUnixNano", unsigned=True)
        trace_id = _hex_id(span.get("traceId"), _TRACE_ID, "traceId", 32)
        span_id = _hex_id(span.get("spanId"), _SPAN_ID, "spanId", 16)
        parent = span.get("parentSpanId")
        parent_id = _hex_id(parent, _SPAN_ID, "parentSpanId", 16, zero_ok=True) if parent else 0
        kind = _enum(span.get("kind"), _KIND_NAMES, "kind")
        status = _object(span.get("status"), "status")
        status_code = _enum(status.get("code"), _STATUS_NAMES, "status.code")
    except _Malformed as exc:
        out.count(count_key(span_attributes, resource_attributes, start, fallback_day))
        out.identities.append(identity_key(trace_id, span_id, start))
        out.invalid.append(f"span {name!r}: {exc}")
        return
    out.count(count_key(span_attributes, resource_attributes, start, fallback_day))
    out.identities.append(identity_key(trace_id, span_id, start))
    out.spans.append(
        SpanData(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_id or None,
            name=name,
            kind=_KINDS.get(kind, 0),
            start_time_ns=start,
            end_time_ns=end,
            attributes=span_attributes,
            resource_attributes=resource_attributes,
            status_code=status_code if status_code in (0, 1, 2) else 0,
            scope_name=scope_name,
        )
    )


def _hex_id(
    value: Any, pattern: re.Pattern[str], what: str, digits: int, zero_ok: bool = False
) -> int:
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{what} is missing (OTLP/JSON ids are {digits} hex characters)")
    if not pattern.fullmatch(value):
        hint = ""
        if len(value) != digits and _looks_base64(value):
            hint = "; it looks base64-encoded, but OTLP/JSON encodes ids as hex"
        raise _Malformed(f"{what} {value[:64]!r} is not {digits} hex characters{hint}")
    number = int(value, 16)
    if number == 0 and not zero_ok:
        raise _Malformed(f"{what} is all zeros (invalid)")
    return number


def _looks_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _integer(value: Any, what: str, *, unsigned: bool = False) -> int:
    """A protobuf JSON 64-bit integer: a JSON number or a decimal string; absent is 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise _Malformed(f"{what} must be an integer, not {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and len(value) > _MAX_DIGITS:
        raise _Malformed(f"{what} has {len(value)} characters: out of range for 64 bits")
    elif _integral(value):
        number = int(value)
    else:
        raise _Malformed(f"{what} must be an integer (a JSON number or a decimal string)")
    low, high = (0, _UINT64_MAX) if unsigned else (_INT64_MIN, _INT64_MAX)
    if not low <= number <= high:
        raise _Malformed(f"{what} {number} is out of range")
    return number


def _integral(value: Any) -> bool:
    if isinstance(value, str):
        return _INTEGER.fullmatch(value) is not None
    return isinstance(value, float) and value.is_integer()


def _enum(value: Any, names: dict[str, int], what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Malformed(f"{what} must be an integer enum value")


def _string(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{what} must be a string")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(f"{what} must be a JSON object")
    return value


def _list(value: Any, what: str, *, fatal: bool = False) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        if fatal:
            raise DecodeError(f"{what} must be a JSON array")
        raise _Malformed(f"{what} must be a JSON array")
    return value


def _attributes(value: Any, limits: Limits) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kv in _list(value, "attributes"):
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise _Malformed("each attribute must be an object with a string key")
        decoded = _any_value(kv.get("value"), limits, 0)
        if decoded is not None:
            result[kv["key"]] = decoded
    return result


def _any_value(value: Any, limits: Limits, depth: int) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed("an attribute value must be an AnyValue object")
    if "stringValue" in value:
        return cap_string(_string(value["stringValue"], "stringValue"), limits)
    if "intValue" in value:
        return _integer(value["intValue"], "intValue")
    if "boolValue" in value:
        flag = value["boolValue"]
        if not isinstance(flag, bool):
            raise _Malformed("boolValue must be true or false")
        return flag
    if "doubleValue" in value:
        return _double(value["doubleValue"])
    if "bytesValue" in value:
        return cap_bytes(_bytes(value["bytesValue"]), limits)
    if "arrayValue" in value:
        if depth >= limits.max_depth:
            return None
        array = _object(value["arrayValue"], "arrayValue")
        values = _list(array.get("values"), "arrayValue.values")[: limits.max_array_items]
        items = (_any_value(v, limits, depth + 1) for v in values)
        return [v for v in items if v is not None]
    if "kvlistValue" in value:
        if depth >= limits.max_depth:
            return None
        kvlist = _object(value["kvlistValue"], "kvlistValue")
        entries = _list(kvlist.get("values"), "kvlistValue.values")[: limits.max_array_items]
        nested: dict[str, Any] = {}
        for kv in entries:
            if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
                raise _Malformed("each kvlistValue entry must be an object with a string key")
            item = _any_value(kv.get("value"), limits, depth + 1)
            if item is not None:
                nested[kv["key"]] = item
        return nested
    return None  # an empty AnyValue, or one of a kind this version does not know


def _double(value: Any) -> float:
    if isinstance(value, bool):
        raise _Malformed("doubleValue must be a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value in _DOUBLE_WORDS:
            return _DOUBLE_WORDS[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise _Malformed("doubleValue must be a number")


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _Malformed("bytesValue must be a base64 string")
    try:
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _Malformed("bytesValue must be base64") from None
