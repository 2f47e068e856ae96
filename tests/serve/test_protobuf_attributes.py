"""The protobuf decoder's subset schema and per-request attribute cache (otlp_schema, otlp_proto).

Attributes are read as serialized ``KeyValue`` bytes and decoded once per distinct bytes in a
request; these tests check that this gives what a full parse with ``opentelemetry-proto``'s
messages gives, and refuses what it refuses.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, date, datetime

import pytest
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.exporter.costledger.ingest.serve import DecodeError, Limits, decode_protobuf
from opentelemetry.exporter.costledger.ingest.serve.decoded import CountKey
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from .spans import make_spans

DAY_NS = 86_400 * 10**9


def _request(spans: int, customer: str = "acme") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    kv = resource_spans.resource.attributes.add(key="service.name")
    kv.value.string_value = "svc"
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "lib"
    for n in range(spans):
        span = scope_spans.spans.add(
            trace_id=(n + 1).to_bytes(16),
            span_id=(n + 1).to_bytes(8),
            name=f"span {n}",
            start_time_unix_nano=20_000 * DAY_NS + n,
            end_time_unix_nano=20_000 * DAY_NS + n + 5,
            kind=Span.SPAN_KIND_CLIENT,
        )
        for key, value in (
            ("gen_ai.usage.input_tokens", 10 + n % 2),
            ("gen_ai.operation.name", "chat"),
            ("customer.id", customer),
        ):
            kv = span.attributes.add(key=key)
            if isinstance(value, int):
                kv.value.int_value = value
            else:
                kv.value.string_value = value
    return request


def test_repeated_attributes_decode_like_distinct_ones() -> None:
    request = _request(4)
    for span in request.resource_spans[0].scope_spans[0].spans:
        kv = span.attributes.add(key="gen_ai.tags")  # an array: not shared between spans
        for tag in ("a", "b"):
            kv.value.array_value.values.add().string_value = tag
        span.attributes.add(key="empty")  # no value: dropped
        span.attributes.add(key="gen_ai.operation.name").value.string_value = "embeddings"
    decoded = decode_protobuf(request.SerializeToString())
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in decoded.spans] == [10, 11, 10, 11]
    for span in decoded.spans:
        assert span.attributes["gen_ai.operation.name"] == "embeddings"  # the last one wins
        assert span.attributes["gen_ai.tags"] == ["a", "b"]
        assert "empty" not in span.attributes
        assert span.resource_attributes == {"service.name": "svc"}
        assert span.scope_name == "lib" and span.kind == 2  # SDK SpanKind.CLIENT
    first, second = decoded.spans[0].attributes, decoded.spans[2].attributes
    assert first["gen_ai.tags"] is not second["gen_ai.tags"]
    assert first is not second


def test_plain_spans_keep_attribution_even_with_cached_attributes() -> None:
    # The same attribute bytes on a cost span and on a plain span: only the cost span keeps it.
    spans = make_spans(2, plain=2, customer="acme")
    request = encode_spans(spans)
    for span in request.resource_spans[0].scope_spans[0].spans:
        span.attributes.add(key="http.route").value.string_value = "/cart"
    decoded = decode_protobuf(request.SerializeToString())
    plain = [s for s in decoded.spans if s.name == "GET /cart"]
    calls = [s for s in decoded.spans if s.name.startswith("chat")]
    assert [dict(s.attributes) for s in plain] == [{"customer.id": "acme"}] * 2
    assert all(s.attributes["http.route"] == "/cart" for s in calls)


@pytest.mark.parametrize("where", ["key", "value"])
def test_bad_attribute_bytes_refuse_the_request_like_a_full_parse(where: str) -> None:
    request = _request(2)
    # Not UTF-8, in one attribute of the second span only (same length: the framing holds).
    second = request.resource_spans[0].scope_spans[0].spans[1]
    if where == "key":
        second.attributes.add(key="bad-key").value.string_value = "v"
    else:
        second.attributes.add(key="k").value.string_value = "bad-val"
    data = request.SerializeToString().replace(b"bad-", b"ba\xff-")
    with pytest.raises(ProtobufDecodeError):  # protobuf's own parser refuses it too
        ExportTraceServiceRequest.FromString(data)
    with pytest.raises(DecodeError, match="attribute"):
        decode_protobuf(data)


def test_unread_fields_are_skipped() -> None:
    request = _request(1)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.trace_state = "k=v"
    event = span.events.add(name="exception", time_unix_nano=1)
    event.attributes.add(key="exception.message").value.string_value = "boom"
    span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    span.status.message = "failed"
    span.status.code = 2
    (decoded,) = decode_protobuf(request.SerializeToString()).spans
    assert decoded.status_code == 2
    assert decoded.end_time_ns == decoded.start_time_ns + 5


def test_counts_per_day_and_customer() -> None:
    request = _request(3, customer="acme")
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[1].start_time_unix_nano = 20_001 * DAY_NS  # the next day
    spans[2].start_time_unix_nano = 0  # no start time: today
    kv = spans[2].attributes.add(key="customer.id")  # a list value, counted under its text
    kv.value.array_value.values.add().string_value = "x"
    request.resource_spans[0].resource.attributes.add(key="customer.id").value.string_value = "r"
    plain = (
        request.resource_spans[0]
        .scope_spans[0]
        .spans.add(trace_id=b"\x09" * 16, span_id=b"\x09" * 8, start_time_unix_nano=20_000 * DAY_NS)
    )
    plain.name = "no customer attribute: the resource's"
    decoded = decode_protobuf(request.SerializeToString(), Limits(max_attribute_length=1000))
    day = date(1970, 1, 1).fromordinal(date(1970, 1, 1).toordinal() + 20_000)
    next_day = date.fromordinal(day.toordinal() + 1)
    assert decoded.counts == {
        CountKey(day, "acme", "svc"): 1,
        CountKey(next_day, "acme", "svc"): 1,
        CountKey(datetime.now(UTC).date(), "['x']", "svc"): 1,
        CountKey(day, "r", "svc"): 1,
    }


def test_identity_is_the_digest_of_the_sorted_span_keys() -> None:
    # The same digest as before the subset schema: a retry that straddles an upgrade is counted
    # once.
    request = _request(3)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[2].span_id = b"\x01"  # refused (7 bytes short), but part of the identity as id 0
    decoded = decode_protobuf(request.SerializeToString())
    assert len(decoded.invalid) == 1
    keys = sorted(
        (
            int.from_bytes(s.trace_id),
            int.from_bytes(s.span_id) if len(s.span_id) == 8 else 0,
            s.start_time_unix_nano,
        )
        for s in spans
    )
    digest = hashlib.blake2b(digest_size=20)
    for trace_id, span_id, start in keys:
        digest.update(struct.pack(">QQQQ", trace_id >> 64, trace_id & 2**64 - 1, span_id, start))
    assert decoded.identity() == digest.digest()


@pytest.mark.parametrize(
    ("code", "message", "expected"), [(0, "", 0), (1, "", 1), (2, "", 2), (2, "x", 2), (7, "", 0)]
)
def test_status_codes(code: int, message: str, expected: int) -> None:
    request = _request(1)
    status = request.resource_spans[0].scope_spans[0].spans[0].status
    status.code, status.message = code, message
    (span,) = decode_protobuf(request.SerializeToString()).spans
    assert span.status_code == expected


def _spans_with(*attributes: list[tuple[str, str | int]]) -> ExportTraceServiceRequest:
    """One span per list of (key, value) attributes, in that order."""
    request = _request(len(attributes))
    for span, pairs in zip(request.resource_spans[0].scope_spans[0].spans, attributes, strict=True):
        del span.attributes[:]
        for key, value in pairs:
            kv = span.attributes.add(key=key)
            if isinstance(value, int):
                kv.value.int_value = value
            else:
                kv.value.string_value = value
    return request


def test_attributes_skipped_on_plain_spans_are_decoded_on_cost_events() -> None:
    usage = ("gen_ai.usage.input_tokens", 10)
    request = _spans_with(
        [("customer.id", "acme"), ("url.full", "/orders/1"), ("http.route", "/orders")],
        [("server.port", 443), usage, ("http.route", "/orders")],  # decoded as it comes
        [("customer.id", "acme"), ("net.peer.name", "db")],
        [usage, ("net.peer.name", "db")],  # every attribute seen before, one only skipped
        [("peer.service", "pay"), usage],  # a new attribute, then a known cost key
    )
    # The resource carries the same bytes as a skipped span attribute.
    route = request.resource_spans[0].resource.attributes.add(key="http.route")
    route.value.string_value = "/orders"
    decoded = decode_protobuf(request.SerializeToString())
    plain0, call1, plain2, call3, call4 = decoded.spans
    assert dict(plain0.attributes) == dict(plain2.attributes) == {"customer.id": "acme"}
    assert dict(call1.attributes) == {
        "server.port": 443,
        "gen_ai.usage.input_tokens": 10,
        "http.route": "/orders",
    }
    assert dict(call3.attributes) == {"gen_ai.usage.input_tokens": 10, "net.peer.name": "db"}
    assert dict(call4.attributes) == {"peer.service": "pay", "gen_ai.usage.input_tokens": 10}
    assert plain0.resource_attributes == {"service.name": "svc", "http.route": "/orders"}


def test_keys_not_written_first_or_long_are_read_in_full() -> None:
    request = _request(2)
    long_key = "gen_ai." + "k" * 200  # a two-byte length
    for span in request.resource_spans[0].scope_spans[0].spans:
        del span.attributes[:]
        span.attributes.add(key=long_key).value.string_value = "v"
    data = request.SerializeToString()
    # A KeyValue with its value before its key (valid protobuf, unusual order) on a plain span.
    value_first = b"\x12\x03\x0a\x01x" + b"\x0a\x0bcustomer.id"
    span_bytes = b"\x0a\x10" + b"\x07" * 16 + b"\x12\x08" + b"\x07" * 8
    span_bytes += b"\x4a" + bytes([len(value_first)]) + value_first
    scope = b"\x12" + bytes([len(span_bytes)]) + span_bytes
    data += b"\x0a" + bytes([len(scope) + 2]) + b"\x12" + bytes([len(scope)]) + scope
    decoded = decode_protobuf(data)
    assert [dict(s.attributes) for s in decoded.spans] == [{long_key: "v"}] * 2 + [
        {"customer.id": "x"}
    ]


def test_a_plain_span_s_unread_values_are_not_checked_but_its_keys_are() -> None:
    # Values the ledger never reads (a plain span's non-attribution attributes) are not decoded:
    # bad UTF-8 in one does not cost the request. Keys are always read, and checked.
    request = _spans_with([("customer.id", "acme"), ("user_agent.original", "bad-agent")])
    data = request.SerializeToString().replace(b"bad-", b"ba\xff-")
    (plain,) = decode_protobuf(data).spans
    assert dict(plain.attributes) == {"customer.id": "acme"}
    request = _spans_with([("customer.id", "acme"), ("bad-key", "x")])
    with pytest.raises(DecodeError, match="key"):
        decode_protobuf(request.SerializeToString().replace(b"bad-", b"ba\xff-"))


def test_customers_of_other_types_are_counted_under_their_text() -> None:
    # 1 == True == 1.0 in Python: as dict keys they would merge three customers into one.
    request = _spans_with(
        [("customer.id", 1)], [("customer.id", "1")], [("customer.id", 2)], [("x", "y")]
    )
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[2].attributes[0].value.bool_value = True
    spans[3].attributes[0].value.double_value = 1.0
    spans[3].attributes[0].key = "customer.id"
    counts = decode_protobuf(request.SerializeToString()).counts
    assert {key.customer_id: n for key, n in counts.items()} == {"1": 2, "True": 1, "1.0": 1}


@pytest.mark.parametrize(
    "value",
    ["", "é" * 3, "s" * 127, "s" * 200, 0, 1, 127, 128, 2**62, 2**63 - 1, -1, -(2**63), 1.5, True],
)
def test_values_read_from_the_bytes_match_the_message_parse(value: str | int | float) -> None:
    request = _spans_with([("gen_ai.usage.input_tokens", 1)])
    kv = request.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="gen_ai.v")
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = value
    (span,) = decode_protobuf(request.SerializeToString(), Limits(max_attribute_length=150)).spans
    expected = value[:150] if isinstance(value, str) else value
    assert span.attributes["gen_ai.v"] == expected
    assert type(span.attributes["gen_ai.v"]) is type(expected)
