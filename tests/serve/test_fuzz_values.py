"""Fuzzed attribute values through a real receiver into real SQLite and PostgreSQL ledgers.

Every request carries one clean call span and a few call spans whose attributes hypothesis
fills with values a database may not take: lone surrogates, NUL, text longer than any column,
integers beyond 64 bits (as JSON numbers of thousands of digits too), floats, arrays. Whatever
comes, the answer is never "retry later" (nothing here gets better with time), nothing is
logged as an error or with a traceback, and the clean span is stored.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from .conftest import ledger_keys

KEYS = [
    A.CUSTOMER_ID,
    A.CUSTOMER_NAME,
    A.WORKSPACE_ID,
    A.WORK_ITEM_ID,
    A.USER_ID,
    A.GEN_AI_RESPONSE_MODEL,
    A.GEN_AI_RESPONSE_ID,
    A.GEN_AI_PROVIDER_NAME,
    A.GEN_AI_OPERATION_NAME,
    A.GEN_AI_USAGE_INPUT_TOKENS,
    A.GEN_AI_USAGE_OUTPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    A.GEN_AI_RESPONSE_SERVICE_TIER,
    A.COST_CATEGORY,
    A.COST_QUANTITY,
    A.COST_UNIT,
    A.COST_AMOUNT,
    A.COST_CURRENCY,
    A.COST_ITEM,
]

texts = st.one_of(
    st.text(max_size=30),  # any code point, lone surrogates included
    st.text(alphabet=st.sampled_from("ab\x00\ud83d\ude00é"), max_size=30),
    st.integers(150, 600).map(lambda n: "x" * n),  # longer than the columns
    st.integers(0, 40).map(lambda n: "9" * n),  # digits, as a count in text
)
integers = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([2**62, 2**63 - 1, -(2**63), 0, 1]),
)
# JSON-only: decimal strings and numbers out of 64-bit range, up to 6,000 digits
huge = st.integers(19, 6000).map(lambda n: "9" * n)


@st.composite
def any_values(draw: st.DrawFn, json_only: bool) -> tuple[str, Any]:
    kinds = ["string", "int", "double", "bool", "array"] + (["huge", "huge_number"] * json_only)
    kind = draw(st.sampled_from(kinds))
    if kind == "string":
        return kind, draw(texts)
    if kind == "int":
        return kind, draw(integers)
    if kind == "double":
        return kind, draw(st.floats(allow_nan=True, allow_infinity=True))
    if kind == "bool":
        return kind, draw(st.booleans())
    if kind == "array":
        return kind, draw(st.lists(integers, max_size=3))
    return kind, draw(huge)


def spans_strategy(json_only: bool) -> Any:
    attribute = st.tuples(st.sampled_from(KEYS), any_values(json_only))
    return st.lists(st.lists(attribute, min_size=1, max_size=4), min_size=1, max_size=3)


_ids = iter(range(1, 10**9))


def _base(number: int) -> list[tuple[str, tuple[str, Any]]]:
    return [
        (A.GEN_AI_PROVIDER_NAME, ("string", "anthropic")),
        (A.GEN_AI_OPERATION_NAME, ("string", "chat")),
        (A.GEN_AI_RESPONSE_MODEL, ("string", "claude-sonnet-4-5")),
        (A.GEN_AI_RESPONSE_ID, ("string", f"msg_{number}")),
        (A.GEN_AI_USAGE_INPUT_TOKENS, ("int", 100)),
        (A.GEN_AI_USAGE_OUTPUT_TOKENS, ("int", 10)),
        (A.CUSTOMER_ID, ("string", "acme")),
    ]


def _json_value(kind: str, value: Any) -> str:
    if kind == "string":
        return json.dumps({"stringValue": value})  # lone surrogates as \\udXXX escapes
    if kind == "int":
        return json.dumps({"intValue": str(value)})
    if kind == "huge":
        return '{"intValue": "' + value + '"}'
    if kind == "huge_number":
        return '{"intValue": ' + value + "}"
    if kind == "double":
        word = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}.get(str(value))
        return '{"doubleValue": ' + (word or repr(value)) + "}"
    if kind == "bool":
        return json.dumps({"boolValue": value})
    items = ", ".join(json.dumps({"intValue": str(v)}) for v in value)
    return '{"arrayValue": {"values": [' + items + "]}}"


def _json_span(attributes: list[tuple[str, tuple[str, Any]]]) -> tuple[str, str]:
    number = next(_ids)
    trace, span = f"{number:032x}", f"{number:016x}"
    listed = ", ".join(
        '{"key": ' + json.dumps(key) + ', "value": ' + _json_value(*value) + "}"
        for key, value in attributes
    )
    text = (
        f'{{"traceId": "{trace}", "spanId": "{span}", "name": "chat", "kind": 3,'
        ' "startTimeUnixNano": "1746000000000000000", "endTimeUnixNano": "1746000001000000000",'
        ' "attributes": [' + listed + "]}"
    )
    return text, trace


def _proto_value(kind: str, value: Any) -> AnyValue:
    if kind == "string":
        return AnyValue(
            string_value=value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        )
    if kind == "int":
        return AnyValue(int_value=value)
    if kind == "double":
        return AnyValue(double_value=value)
    if kind == "bool":
        return AnyValue(bool_value=value)
    array = AnyValue()
    array.array_value.values.extend(AnyValue(int_value=v) for v in value)
    return array


def _proto_span(attributes: list[tuple[str, tuple[str, Any]]]) -> tuple[Span, str]:
    number = next(_ids)
    span = Span(
        trace_id=number.to_bytes(16, "big"),
        span_id=number.to_bytes(8, "big"),
        name="chat",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1746000000000000000,
        end_time_unix_nano=1746000001000000000,
    )
    span.attributes.extend(KeyValue(key=k, value=_proto_value(*v)) for k, v in attributes)
    return span, f"{number:032x}"


def _fuzz(url: str, start_receiver: Callable[..., Receiver], examples: int) -> None:
    receiver = start_receiver(url)
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    http_url = f"http://127.0.0.1:{receiver.http_port}/v1/traces"
    clean: set[str] = set()

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.booleans().flatmap(lambda j: st.tuples(st.just(j), spans_strategy(j))))
    def check(case: tuple[bool, list[list[tuple[str, tuple[str, Any]]]]]) -> None:
        as_json, fuzzed = case
        if as_json:
            made = [_json_span(_base(next(_ids)))] + [
                _json_span(_base(next(_ids)) + attributes) for attributes in fuzzed
            ]
            body = (
                '{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",'
                ' "value": {"stringValue": "fuzz"}}]}, "scopeSpans": [{"spans": ['
                + ", ".join(text for text, _ in made)
                + "]}]}]}"
            )
            request = urllib.request.Request(
                http_url, data=body.encode(), headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            assert status in (200, 400), status
            clean.add(made[0][1])
        else:
            spans = [_proto_span(_base(next(_ids)))] + [
                _proto_span(_base(next(_ids)) + attributes) for attributes in fuzzed
            ]
            message = trace_service_pb2.ExportTraceServiceRequest(
                resource_spans=[
                    ResourceSpans(
                        resource=Resource(
                            attributes=[
                                KeyValue(key="service.name", value=AnyValue(string_value="fuzz"))
                            ]
                        ),
                        scope_spans=[ScopeSpans(spans=[span for span, _ in spans])],
                    )
                ]
            )
            stub.Export(message, timeout=30)  # raises on any status but OK
            clean.add(spans[0][1])

    try:
        check()
    finally:
        channel.close()
    assert receiver.metrics.total("costledger_receiver_retryable_refusals_total") == 0
    stored = {trace for trace, _ in ledger_keys(url)}
    assert clean <= stored


def test_fuzzed_values_never_retry_never_error(
    ledger_url: str, start_receiver: Callable[..., Receiver], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _fuzz(ledger_url, start_receiver, 150 if ledger_url.startswith("sqlite") else 80)
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage()[:300] for r in loud[:5]]
