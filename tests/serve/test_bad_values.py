"""Values the ledger cannot store as sent: refused or repaired with a reason, never "retry".

A token count beyond 64 bits, a lone surrogate (JavaScript's cut emoji), a NUL, an attribution
longer than its column, a 5,000-digit integer: each is decided before the database is touched,
the same way on SQLite and PostgreSQL; the good spans of the same request are stored, the
sender hears 200 / OK with ``partial_success`` where spans were refused, and nothing is logged
as an error.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from .spans import make_spans, otlp_json

StartReceiver = Callable[..., Receiver]
LONG_CUSTOMER = "c" * 201


def bad_spans() -> list[ReadableSpan]:
    """Four call spans with values a database cannot take as they are (SDK-encodable ones)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({A.SERVICE_NAME: "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.bad")
    cases: list[dict[str, Any]] = [
        {A.GEN_AI_USAGE_INPUT_TOKENS: 2**62},  # its cost is beyond 64 bits
        {A.CUSTOMER_ID: LONG_CUSTOMER},
        {A.CUSTOMER_ID: "nul\x00here"},
        {A.GEN_AI_USAGE_OUTPUT_TOKENS: "my secret prompt"},
    ]
    for number, case in enumerate(cases):
        attributes = {
            A.GEN_AI_PROVIDER_NAME: "anthropic",
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5",
            A.GEN_AI_RESPONSE_MODEL: "claude-sonnet-4-5",
            A.GEN_AI_RESPONSE_ID: f"msg_bad_{number}",
            A.GEN_AI_USAGE_INPUT_TOKENS: 100,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
            A.CUSTOMER_ID: "acme",
            **case,
        }
        with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes=attributes):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def _rows(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text("SELECT * FROM ledger_entries ORDER BY id"))
            return [dict(row._mapping) for row in result]
    finally:
        engine.dispose()


def _no_errors(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


def _check_stored(url: str, good: int) -> None:
    rows = _rows(url)
    assert len(rows) == good + 3  # the 2**62 span is refused; the other three are repaired
    customers = {row["customer_id"] for row in rows}
    long_ones = [c for c in customers if c and c.startswith("ccc")]
    assert len(long_ones) == 1 and len(long_ones[0]) == 200
    assert "nul\ufffdhere" in customers
    flagged = {row["customer_id"]: row["flags"] for row in rows if row["flags"]}
    assert "customer_id shortened" in flagged[long_ones[0]]
    assert "U+FFFD" in flagged["nul\ufffdhere"]
    for row in rows:  # text from a count attribute is not copied
        assert "secret" not in (row["flags"] or "") + (row["unpriced_reason"] or "")
    # a repaired row keeps its price: shortening the customer does not change the money
    assert all(row["cost_nanos"] for row in rows if row["customer_id"] == long_ones[0])


def test_grpc_exporter_bad_values_partial_success(
    ledger_url: str, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = start_receiver(ledger_url)
    exporter = GrpcExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True)
    try:
        result = exporter.export([*make_spans(20), *bad_spans()])
    finally:
        exporter.shutdown()
    assert result is SpanExportResult.SUCCESS
    _check_stored(ledger_url, 20)
    metrics = receiver.metrics
    assert metrics.total("costledger_receiver_spans_rejected_total") == 1
    assert metrics.value("costledger_receiver_retryable_refusals_total", reason="database") == 0
    _no_errors(caplog)


def test_http_exporter_bad_values_partial_success(
    ledger_url: str, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = start_receiver(ledger_url)
    exporter = HttpExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces")
    try:
        assert exporter.export([*make_spans(20), *bad_spans()]) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    _check_stored(ledger_url, 20)
    _no_errors(caplog)


def _post_json(port: int, text: str) -> tuple[int, dict[str, Any]]:
    body = text.encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/traces",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_json_lone_surrogate_and_huge_integers(
    ledger_url: str, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = start_receiver(ledger_url)
    spans = make_spans(6)
    document = otlp_json(spans)
    json_spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]

    def set_attribute(span: dict[str, Any], key: str, value: dict[str, Any]) -> None:
        span["attributes"] = [a for a in span["attributes"] if a["key"] != key]
        span["attributes"].append({"key": key, "value": value})

    set_attribute(json_spans[0], A.CUSTOMER_ID, {"stringValue": "CafLONE"})
    set_attribute(json_spans[1], A.GEN_AI_USAGE_INPUT_TOKENS, {"intValue": "9" * 5000})
    set_attribute(json_spans[2], A.GEN_AI_USAGE_INPUT_TOKENS, {"intValue": str(2**63 - 1)})
    text = json.dumps(document).replace("LONE", "\\ud83d")
    # a JSON number of 5,000 digits, not a string: the span is refused, not the request
    kind = '"kind": "SPAN_KIND_CLIENT"'
    at = text.rindex(kind)  # the last span's
    text = text[:at] + '"kind": ' + "7" * 5000 + text[at + len(kind) :]
    status, answer = _post_json(receiver.http_port or 0, text)
    assert status == 200
    partial = answer["partialSuccess"]
    assert partial["rejectedSpans"] == "3"  # 5,000 digits twice, and a cost beyond 64 bits
    assert "out of range" in partial["errorMessage"]
    rows = _rows(ledger_url)
    assert len(rows) == 3  # 6 - 3
    assert "Caf\ufffd" in {row["customer_id"] for row in rows}
    _no_errors(caplog)
