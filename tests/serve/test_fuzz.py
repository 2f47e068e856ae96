"""Property-based tests of both decoders, and of the HTTP answers, with hypothesis.

Whatever arrives, decoding either succeeds or raises ``DecodeError`` (answered 400), never
anything else; in a request mixing good and bad spans every good span comes out, each bad one
is refused with a reason, and every span is counted once.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.costledger.ingest.serve import (
    DecodeError,
    Limits,
    Receiver,
    decode_json,
    decode_protobuf,
)
from opentelemetry.exporter.costledger.ingest.serve.otlp_json import decode_document
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SMALL = Limits(max_attribute_length=32, max_array_items=4, max_depth=2)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    "traceId",
                    "spanId",
                    "attributes",
                    "key",
                    "value",
                    "stringValue",
                    "intValue",
                    "arrayValue",
                    "kvlistValue",
                    "values",
                    "resource",
                    "scope",
                    "name",
                    "kind",
                    "status",
                    "code",
                    "startTimeUnixNano",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


def _decodes_or_refuses(decode: Callable[[], Any]) -> None:
    try:
        request = decode()
    except DecodeError:
        return
    assert request.received == len(request.spans) + len(request.invalid)
    assert sum(request.counts.values()) == request.received
    assert len(request.identities) == request.received


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_protobuf(data: bytes) -> None:
    _decodes_or_refuses(lambda: decode_protobuf(data, SMALL))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_json(data: bytes) -> None:
    _decodes_or_refuses(lambda: decode_json(data, SMALL))


@settings(max_examples=120, deadline=None)
@given(json_values)
def test_any_json_document(document: Any) -> None:
    _decodes_or_refuses(lambda: decode_document(document, SMALL))
    _decodes_or_refuses(lambda: decode_document({"resourceSpans": [document]}, SMALL))


# --- mixed requests: good spans always kept -------------------------------------------------

attribute_values = st.one_of(
    st.text(max_size=50).map(lambda s: {"stringValue": s}),
    st.integers(-(2**63), 2**63 - 1).flatmap(
        lambda i: st.sampled_from([{"intValue": i}, {"intValue": str(i)}])
    ),
    st.booleans().map(lambda b: {"boolValue": b}),
    st.floats(allow_nan=False).map(lambda f: {"doubleValue": f}),
    st.lists(st.text(max_size=5).map(lambda s: {"stringValue": s}), max_size=6).map(
        lambda vs: {"arrayValue": {"values": vs}}
    ),
    st.binary(max_size=40).map(lambda b: {"bytesValue": base64.b64encode(b).decode()}),
)
BAD_KINDS = [
    "short trace id",
    "base64 trace id",
    "zero trace id",
    "zero span id",
    "non-hex span id",
    "name not a string",
    "attribute without key",
    "time not a number",
]


@st.composite
def span_specs(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    trace = draw(st.binary(min_size=16, max_size=16).filter(any))
    span = draw(st.binary(min_size=8, max_size=8).filter(any))
    attributes = draw(
        st.dictionaries(st.text(min_size=1, max_size=10), attribute_values, max_size=5)
    )
    document: dict[str, Any] = {
        "traceId": trace.hex(),
        "spanId": span.hex(),
        "name": draw(st.text(max_size=20)),
        "kind": draw(st.integers(0, 5)),
        "startTimeUnixNano": str(draw(st.integers(0, 2**63))),
        "endTimeUnixNano": draw(st.integers(0, 2**63)),
        "attributes": [{"key": k, "value": v} for k, v in attributes.items()],
        draw(st.sampled_from(["unknownField", "droppedLinksCount"])): 3,
    }
    bad = draw(st.sampled_from([None, None, None, *BAD_KINDS]))
    if bad == "short trace id":
        document["traceId"] = trace.hex()[:-2]
    elif bad == "base64 trace id":
        document["traceId"] = base64.b64encode(trace).decode()
    elif bad == "zero trace id":
        document["traceId"] = "0" * 32
    elif bad == "zero span id":
        document["spanId"] = "0" * 16
    elif bad == "non-hex span id":
        document["spanId"] = "zz" + span.hex()[2:]
    elif bad == "name not a string":
        document["name"] = 12
    elif bad == "attribute without key":
        document["attributes"].append({"value": {"stringValue": "x"}})
    elif bad == "time not a number":
        document["startTimeUnixNano"] = "soon"
    return document, bad is None


def _json_request(specs: list[tuple[dict[str, Any], bool]]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]
                },
                "scopeSpans": [{"scope": {"name": "fuzz"}, "spans": [s for s, _ in specs]}],
            }
        ]
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(span_specs(), max_size=8))
def test_json_good_spans_are_kept_bad_ones_refused(
    specs: list[tuple[dict[str, Any], bool]],
) -> None:
    request = decode_json(json.dumps(_json_request(specs)), SMALL)
    good = {(int(s["traceId"], 16), int(s["spanId"], 16)) for s, ok in specs if ok}
    assert {(s.trace_id, s.span_id) for s in request.spans} == good
    assert len(request.spans) == sum(ok for _, ok in specs)
    assert len(request.invalid) == sum(not ok for _, ok in specs)
    assert sum(request.counts.values()) == len(specs)
    for span in request.spans:
        for value in span.attributes.values():
            assert not isinstance(value, str) or len(value) <= SMALL.max_attribute_length


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=0, max_size=17),
            st.binary(min_size=0, max_size=9),
            st.text(max_size=60),
        ),
        max_size=10,
    ),
    st.data(),
)
def test_protobuf_good_spans_are_kept_bad_ones_refused(
    spans: list[tuple[bytes, bytes, str]], data: st.DataObject
) -> None:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for trace_id, span_id, text in spans:
        span = scope.spans.add(trace_id=trace_id, span_id=span_id, name="s")
        # Under a cost prefix: a plain span would keep only its attribution attributes.
        span.attributes.append(KeyValue(key="gen_ai.k", value=AnyValue(string_value=text)))
    encoded = request.SerializeToString()
    decoded = decode_protobuf(encoded, SMALL)
    good = [
        (int.from_bytes(t), int.from_bytes(s))
        for t, s, _ in spans
        if len(t) == 16 and any(t) and len(s) == 8 and any(s)
    ]
    assert sorted((s.trace_id, s.span_id) for s in decoded.spans) == sorted(good)
    assert len(decoded.invalid) == len(spans) - len(good)
    assert all(len(s.attributes["gen_ai.k"]) <= 32 for s in decoded.spans)
    # Any corruption of the bytes: decoded or refused as a whole, never an exception.
    if encoded:
        index = data.draw(st.integers(0, len(encoded) - 1))
        corrupted = encoded[:index] + bytes([encoded[index] ^ 0xFF]) + encoded[index + 1 :]
        _decodes_or_refuses(lambda: decode_protobuf(corrupted, SMALL))
        _decodes_or_refuses(lambda: decode_protobuf(encoded[:index], SMALL))


# --- through the HTTP server: the status matches what decoding found ------------------------


def test_http_status_matches_the_decoding(
    start_receiver: Callable[..., Receiver], tmp_path: Path
) -> None:
    receiver = start_receiver(f"sqlite:///{tmp_path / 'fuzz.db'}", grpc_endpoint="none")
    url = f"http://127.0.0.1:{receiver.http_port}/v1/traces"

    @settings(
        max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.lists(span_specs(), max_size=6) | st.binary(max_size=40).map(lambda b: [b]))
    def check(payload: Any) -> None:
        if payload and isinstance(payload[0], bytes):
            body, expected = payload[0], None
        else:
            body = json.dumps(_json_request(payload)).encode()
            expected = sum(not ok for _, ok in payload)
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, answer = error.code, json.loads(error.read())
        if expected is None:
            try:
                decode_json(body)
            except DecodeError:
                assert status == 400 and answer["code"] == 3
                return
        assert status == 200, answer
        rejected = int(answer.get("partialSuccess", {}).get("rejectedSpans", 0))
        if expected is not None:
            assert rejected == expected

    check()
