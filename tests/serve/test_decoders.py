"""The two OTLP decoders on hand-made requests, the body limits, and the count identities."""

from __future__ import annotations

import base64
import gzip
import json
import math
import zlib
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.costledger.ingest.serve import (
    DecodeError,
    Limits,
    decode_json,
    decode_protobuf,
)
from opentelemetry.exporter.costledger.ingest.serve.body import (
    TooLarge,
    UnsupportedEncoding,
    decompress,
)
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .spans import make_spans

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def _request(span: dict[str, Any], resource: list[dict[str, Any]] | None = None) -> str:
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": resource or []},
                    "scopeSpans": [{"scope": {"name": "lib", "version": "1"}, "spans": [span]}],
                }
            ]
        }
    )


def _span(**fields: Any) -> dict[str, Any]:
    return {"traceId": TRACE, "spanId": SPAN, "name": "op", **fields}


def test_stock_parse_dict_misreads_hex_ids_and_we_do_not() -> None:
    document = json.loads(_request(_span()))
    # The reason for a decoder of our own: protobuf's JSON mapping reads bytes as base64, so
    # the hex id silently becomes 24 other bytes.
    parsed = json_format.ParseDict(document, ExportTraceServiceRequest())
    stock = parsed.resource_spans[0].scope_spans[0].spans[0].trace_id
    assert stock != bytes.fromhex(TRACE) and len(stock) == 24
    (span,) = decode_json(json.dumps(document)).spans
    assert span.trace_id == int(TRACE, 16)
    assert span.span_id == int(SPAN, 16)
    assert span.scope_name == "lib"


def test_json_field_forms() -> None:
    attributes = [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "i_str", "value": {"intValue": "-9223372036854775808"}},
        {"key": "i_num", "value": {"intValue": 42}},
        {"key": "d_nan", "value": {"doubleValue": "NaN"}},
        {"key": "d_inf", "value": {"doubleValue": "-Infinity"}},
        {"key": "d", "value": {"doubleValue": 1.5}},
        {"key": "b", "value": {"boolValue": True}},
        {"key": "bytes", "value": {"bytesValue": "AQID"}},
        {
            "key": "arr",
            "value": {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "a"}]}},
        },
        {
            "key": "kv",
            "value": {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": 1}}]}},
        },
        {"key": "empty", "value": {}},
        {"key": "future", "value": {"someNewValue": 1}},
    ]
    request = decode_json(
        _request(
            _span(
                kind="SPAN_KIND_CLIENT",
                status={"code": 2, "message": "boom"},
                parentSpanId="",
                startTimeUnixNano="1748779200000000000",
                endTimeUnixNano=1748779200500000000,
                attributes=attributes,
                trace_id="ignored: snake_case keys are not OTLP/JSON",
            ),
            resource=[{"key": "service.name", "value": {"stringValue": "api"}}],
        )
    )
    (span,) = request.spans
    assert span.kind == 2  # SDK SpanKind.CLIENT
    assert span.status_code == 2
    assert span.parent_span_id is None
    assert (span.start_time_ns, span.end_time_ns) == (1748779200000000000, 1748779200500000000)
    a = span.attributes
    assert a["s"] == "x" and a["i_str"] == -(2**63) and a["i_num"] == 42
    assert math.isnan(a["d_nan"]) and a["d_inf"] == -math.inf and a["d"] == 1.5
    assert a["b"] is True and a["bytes"] == b"\x01\x02\x03"
    assert a["arr"] == [1, "a"] and a["kv"] == {"n": 1}
    assert "empty" not in a and "future" not in a
    assert span.resource_attributes == {"service.name": "api"}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"traceId": TRACE[:-2]}, "not 32 hex"),
        ({"traceId": "W47/95gDgQPSabYzgT/GDA=="}, "base64"),
        ({"traceId": "0" * 32}, "all zeros"),
        ({"spanId": "0x" + SPAN[2:]}, "not 16 hex"),
        ({"spanId": None}, "spanId is missing"),
        ({"parentSpanId": "abc"}, "parentSpanId"),
        ({"startTimeUnixNano": "-1"}, "out of range"),
        ({"startTimeUnixNano": "1e3"}, "must be an integer"),
        ({"kind": "CLIENT"}, "kind"),
        ({"attributes": [{"key": "x", "value": {"boolValue": "yes"}}]}, "boolValue"),
        ({"attributes": {"key": "x"}}, "attributes must be a JSON array"),
    ],
)
def test_json_bad_span_is_refused_with_its_reason(fields: dict[str, Any], reason: str) -> None:
    good = _span(spanId="eee19b7ec3c1b175")
    document = json.loads(_request(_span(**fields)))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"].append(good)
    request = decode_json(json.dumps(document))
    assert [s.span_id for s in request.spans] == [int("eee19b7ec3c1b175", 16)]
    (message,) = request.invalid
    assert reason in message


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"nul", b'{"resourceSpans": {}}', b'{"resourceSpans": [1]}', b"[" * 100_000],
)
def test_json_undecodable_request(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_json(body)


def test_json_broken_resource_refuses_its_spans_only() -> None:
    document = json.loads(_request(_span()))
    broken = json.loads(_request(_span(spanId="eee19b7ec3c1b175")))["resourceSpans"][0]
    broken["resource"]["attributes"] = [{"key": 1}]
    document["resourceSpans"].append(broken)
    request = decode_json(json.dumps(document))
    assert len(request.spans) == 1 and len(request.invalid) == 1


def test_values_are_capped_before_storage() -> None:
    limits = Limits(max_attribute_length=10, max_array_items=2, max_depth=1)
    prompt = "p" * 10_000
    nested = {"arrayValue": {"values": [{"arrayValue": {"values": [{"intValue": 1}]}}]}}
    request = decode_json(
        _request(
            _span(
                name="n" * 50,
                attributes=[
                    {"key": "gen_ai.input.messages", "value": {"stringValue": prompt}},
                    {
                        "key": "list",
                        "value": {"arrayValue": {"values": [{"intValue": i} for i in range(9)]}},
                    },
                    {"key": "nested", "value": nested},
                ],
            )
        ),
        limits,
    )
    (span,) = request.spans
    assert span.attributes["gen_ai.input.messages"] == "p" * 10
    assert span.attributes["list"] == [0, 1]
    assert span.attributes["nested"] == []  # deeper than max_depth: dropped
    assert span.name == "n" * 10

    proto = encode_spans(make_spans(1))
    proto.resource_spans[0].scope_spans[0].spans[0].attributes.add(
        key="big"
    ).value.string_value = prompt
    (span,) = decode_protobuf(proto.SerializeToString(), limits).spans
    assert span.attributes["big"] == "p" * 10


def test_protobuf_matches_the_sdk_spans() -> None:
    sdk_spans = make_spans(2, plain=1, customer="acme")
    decoded = decode_protobuf(encode_spans(sdk_spans).SerializeToString())
    assert not decoded.invalid
    by_id = {s.span_id: s for s in decoded.spans}
    for sdk in sdk_spans:
        assert sdk.context is not None
        span = by_id[sdk.context.span_id]
        assert span.trace_id == sdk.context.trace_id
        assert span.kind == sdk.kind.value
        assert span.name == sdk.name
        assert span.start_time_ns == sdk.start_time
        assert dict(span.attributes) == dict(sdk.attributes or {})
        assert span.resource_attributes["service.name"] == "checkout"


def test_identity_ignores_order_and_transport() -> None:
    spans = make_spans(3, plain=2)
    proto = encode_spans(spans)
    reversed_proto = encode_spans(list(reversed(spans)))
    as_json = json_format.MessageToDict(proto)
    # MessageToDict writes ids base64: rewrite them as OTLP/JSON hex.
    for rs in as_json["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in s:
                        s[key] = base64.b64decode(s[key]).hex()
    a = decode_protobuf(proto.SerializeToString()).identity()
    assert a == decode_protobuf(reversed_proto.SerializeToString()).identity()
    assert a == decode_json(json.dumps(as_json)).identity()
    assert a != decode_protobuf(encode_spans(spans[:-1]).SerializeToString()).identity()


def test_decompress_limits_and_formats() -> None:
    data = b"x" * 1000
    assert decompress(data, None, 1000) == data
    assert decompress(gzip.compress(data[:500]) + gzip.compress(data[500:]), "gzip", 1000) == data
    assert decompress(zlib.compress(data), "deflate", 1000) == data
    with pytest.raises(TooLarge):
        decompress(data, "identity", 999)
    with pytest.raises(TooLarge):
        decompress(gzip.compress(b"\0" * 10_000_000), "gzip", 1_000_000)
    with pytest.raises(DecodeError, match="truncated"):
        decompress(gzip.compress(data)[:-12], "gzip", 10_000)
    with pytest.raises(DecodeError, match="corrupt"):
        decompress(b"\x1f\x8b not gzip at all", "gzip", 10_000)
    with pytest.raises(UnsupportedEncoding):
        decompress(data, "zstd", 10_000)


def test_cost_prefixes_cover_every_key_that_makes_a_row() -> None:
    # The protobuf decoder reads all attributes only of spans with a key under COST_PREFIXES;
    # every key by which convert.py recognizes a cost event must be under one of them.
    from opentelemetry.exporter.costledger.ingest.serve.decoded import COST_PREFIXES
    from opentelemetry.instrumentation.costledger import attributes as A

    keys = [
        A.GEN_AI_USAGE_INPUT_TOKENS,
        A.GEN_AI_USAGE_OUTPUT_TOKENS,
        *A.LEGACY_INPUT_TOKENS,
        *A.LEGACY_OUTPUT_TOKENS,
        *A.LEGACY_TOTAL_TOKENS,
        A.COST_CATEGORY,
        A.COUNTED,
    ]
    assert all(key.startswith(COST_PREFIXES) for key in keys)
    # A plain span keeps its attribution only; an LLM span keeps everything.
    decoded = decode_protobuf(encode_spans(make_spans(1, plain=1)).SerializeToString())
    by_name = {s.name: s for s in decoded.spans}
    assert dict(by_name["GET /cart"].attributes) == {"customer.id": "acme"}
    call = next(s for s in decoded.spans if s.name.startswith("chat"))
    assert "gen_ai.usage.input_tokens" in call.attributes
