"""The receiver with real OTLP clients: the SDK's gRPC and HTTP exporters and raw HTTP."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult

from .conftest import ledger_keys, span_counts
from .spans import make_spans, span_keys

StartReceiver = Callable[..., Receiver]


def _post(
    port: int, body: bytes, headers: dict[str, str], method: str = "POST", path: str = "/v1/traces"
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body or None, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_grpc_and_http_exporters_write_each_span_once(
    ledger_url: str, start_receiver: StartReceiver
) -> None:
    receiver = start_receiver(ledger_url)
    grpc_spans = make_spans(20, customer="acme", plain=5)
    http_spans = make_spans(10, customer="globex", plain=3)
    grpc_exporter = GrpcExporter(
        endpoint=f"127.0.0.1:{receiver.grpc_port}",
        insecure=True,
        compression=grpc.Compression.Gzip,
    )
    http_exporter = HttpExporter(
        endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", compression=Compression.Gzip
    )
    try:
        assert grpc_exporter.export(grpc_spans) is SpanExportResult.SUCCESS
        assert http_exporter.export(http_spans) is SpanExportResult.SUCCESS
        # The same batches again (a retry after a lost answer): nothing new.
        assert grpc_exporter.export(grpc_spans) is SpanExportResult.SUCCESS
        assert http_exporter.export(http_spans) is SpanExportResult.SUCCESS
        # ...and crossed over to the other transport: still nothing new.
        assert http_exporter.export(grpc_spans) is SpanExportResult.SUCCESS
    finally:
        grpc_exporter.shutdown()
        http_exporter.shutdown()

    keys = ledger_keys(ledger_url)
    calls = [s for s in grpc_spans + http_spans if s.name.startswith("chat")]
    assert sorted(keys) == sorted(span_keys(calls))
    assert span_counts(ledger_url) == {("acme", "checkout"): 25, ("globex", "checkout"): 13}
    m = receiver.metrics
    assert m.total("costledger_receiver_rows_written_total") == 30
    assert m.total("costledger_receiver_duplicates_total") == 20 + 10 + 20
    assert m.total("costledger_receiver_spans_received_total") == 25 + 13 + 25 + 13 + 25
    assert m.value("costledger_receiver_requests_total", transport="grpc", outcome="ok") == 2
    assert m.value("costledger_receiver_requests_total", transport="http", outcome="ok") == 3


def _json_request(spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]
                },
                "schemaUrl": "https://opentelemetry.io/schemas/1.30.0",  # unknown here: ignored
                "scopeSpans": [{"scope": {"name": "hand-made"}, "spans": spans}],
            }
        ]
    }


def _json_span(trace_id: str, span_id: str, *, customer: str = "initech") -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "chat gpt-4o",
        "kind": 3,  # SPAN_KIND_CLIENT, as an integer
        "startTimeUnixNano": "1748779200000000000",  # int64 as a string...
        "endTimeUnixNano": 1748779201000000000,  # ...or as a number
        "attributes": [
            {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1200"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 300}},
            {"key": "customer.id", "value": {"stringValue": customer}},
        ],
        "status": {"code": 1},
        "droppedEventsCount": 0,
        "someFutureField": {"nested": True},
    }


def test_hand_built_otlp_json_request(ledger_url: str, start_receiver: StartReceiver) -> None:
    receiver = start_receiver(ledger_url)
    good = "5b8efff798038103d269b633813fc60c"
    body = json.dumps(
        _json_request(
            [
                _json_span(good, "eee19b7ec3c1b174"),
                _json_span(good.upper(), "EEE19B7EC3C1B175"),  # hex is case-insensitive
                # base64 of the same 16 bytes, as json_format.MessageToJson would write it
                _json_span("W47/95gDgQPSabYzgT/GDA==", "eee19b7ec3c1b176"),
                _json_span("00000000000000000000000000000000", "eee19b7ec3c1b177"),
                _json_span(good, "0000000000000000"),
            ]
        )
    ).encode()
    status, headers, payload = _post(
        receiver.http_port or 0, body, {"Content-Type": "application/json"}
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    partial = json.loads(payload)["partialSuccess"]
    assert partial["rejectedSpans"] == "3"
    assert "base64" in partial["errorMessage"]
    assert "all zeros" in partial["errorMessage"]
    assert sorted(ledger_keys(ledger_url)) == [
        (good, "eee19b7ec3c1b174"),
        (good, "eee19b7ec3c1b175"),
    ]
    # Every span received is counted, also the refused ones (they were sent).
    assert span_counts(ledger_url) == {("initech", "billing"): 5}

    # The same body gzip-compressed: nothing new, not counted again.
    status, _, payload = _post(
        receiver.http_port or 0,
        gzip.compress(body),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert status == 200
    assert json.loads(payload)["partialSuccess"]["rejectedSpans"] == "3"
    assert len(ledger_keys(ledger_url)) == 2
    assert span_counts(ledger_url) == {("initech", "billing"): 5}


def test_protobuf_over_http_partial_success(sqlite_url: str, start_receiver: StartReceiver) -> None:
    receiver = start_receiver(sqlite_url)
    request = encode_spans(make_spans(3))
    request.resource_spans[0].scope_spans[0].spans[1].span_id = b"\x01\x02"
    status, headers, payload = _post(
        receiver.http_port or 0,
        request.SerializeToString(),
        {"Content-Type": "application/x-protobuf"},
    )
    assert status == 200
    assert headers["Content-Type"] == "application/x-protobuf"
    response = trace_service_pb2.ExportTraceServiceResponse.FromString(payload)
    assert response.partial_success.rejected_spans == 1
    assert "span_id has 2 bytes" in response.partial_success.error_message
    assert len(ledger_keys(sqlite_url)) == 2


def _status(payload: bytes, json_body: bool) -> status_pb2.Status:
    if json_body:
        from google.protobuf import json_format

        return json_format.Parse(payload, status_pb2.Status())
    return status_pb2.Status.FromString(payload)


@pytest.mark.parametrize("json_body", [False, True], ids=["protobuf", "json"])
def test_http_error_answers(
    sqlite_url: str, start_receiver: StartReceiver, json_body: bool
) -> None:
    receiver = start_receiver(sqlite_url, max_request_size=64 * 1024)
    port = receiver.http_port or 0
    content_type = "application/json" if json_body else "application/x-protobuf"

    status, _, payload = _post(port, b"\xff\x00 not otlp {", {"Content-Type": content_type})
    assert status == 400
    assert _status(payload, json_body).code == code_pb2.INVALID_ARGUMENT

    # A gzip bomb: 100 KB on the wire, far more than the 64 KiB limit once inflated.
    bomb = gzip.compress(b"\x00" * (50 * 1024 * 1024))
    assert len(bomb) < 100_000
    status, _, payload = _post(
        port, bomb, {"Content-Type": content_type, "Content-Encoding": "gzip"}
    )
    assert status == 413
    assert _status(payload, json_body).code == code_pb2.RESOURCE_EXHAUSTED

    status, _, _ = _post(port, b"x" * 70_000 * 2, {"Content-Type": content_type})
    assert status == 413

    status, _, _ = _post(port, b"{}", {"Content-Type": content_type, "Content-Encoding": "br"})
    assert status == 415

    assert _post(port, b"{}", {"Content-Type": "text/plain"})[0] == 415
    status, headers, _ = _post(port, b"", {}, method="GET")
    assert status == 405
    assert headers["Allow"] == "POST"
    assert _post(port, b"", {}, method="PUT")[0] == 405
    assert _post(port, b"{}", {"Content-Type": content_type}, path="/v1/logs")[0] == 404
    assert (
        receiver.metrics.value(
            "costledger_receiver_requests_total", transport="http", outcome="invalid"
        )
        == 1
    )


def test_grpc_gzip_bomb_is_refused_after_decompression(
    sqlite_url: str, start_receiver: StartReceiver
) -> None:
    receiver = start_receiver(sqlite_url, max_request_size=1024 * 1024)
    request = encode_spans(make_spans(1))
    request.resource_spans[0].scope_spans[0].spans[0].name = "x" * (8 * 1024 * 1024)
    with grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(request, compression=grpc.Compression.Gzip, timeout=10)
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ledger_keys(sqlite_url) == []


def test_grpc_undecodable_message_is_invalid_argument(
    sqlite_url: str, start_receiver: StartReceiver
) -> None:
    receiver = start_receiver(sqlite_url)
    with grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.RpcError) as caught:
            export(b"\xff\xff\xff not protobuf", timeout=10)
    error: Any = caught.value
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = status_pb2.Status.FromString(
        dict(error.trailing_metadata())["grpc-status-details-bin"]
    )
    assert status.code == code_pb2.INVALID_ARGUMENT


def test_grpc_partial_success_and_retry_info(
    sqlite_url: str, start_receiver: StartReceiver
) -> None:
    receiver = start_receiver(sqlite_url)
    request = encode_spans(make_spans(2))
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = bytes(16)
    with grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        response = stub.Export(request, timeout=10)
        assert response.partial_success.rejected_spans == 1
        assert "trace_id is all zeros" in response.partial_success.error_message
        receiver.service.drain()  # as on SIGTERM: new requests are told to come back later
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(request, timeout=10)
    error: Any = caught.value
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    trailers = dict(error.trailing_metadata())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert status.code == code_pb2.UNAVAILABLE
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info)
    assert info.retry_delay.seconds == 5
    assert len(ledger_keys(sqlite_url)) == 1


def test_health_and_metrics(sqlite_url: str, start_receiver: StartReceiver) -> None:
    receiver = start_receiver(sqlite_url, grpc_endpoint="none")
    assert receiver.grpc_port is None
    port = receiver.http_port or 0
    status, _, payload = _post(port, b"", {}, method="GET", path="/healthz")
    assert (status, json.loads(payload)) == (200, {"status": "ok"})
    exporter = HttpExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")
    assert exporter.export(make_spans(4, plain=1)) is SpanExportResult.SUCCESS
    exporter.shutdown()
    status, headers, payload = _post(port, b"", {}, method="GET", path="/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = payload.decode()
    assert "costledger_receiver_rows_written_total 4\n" in text
    assert "costledger_receiver_spans_received_total 5\n" in text
    assert "costledger_receiver_spans_ignored_total 1\n" in text
    assert 'costledger_receiver_requests_total{outcome="ok",transport="http"} 1\n' in text
    receiver.service.drain()
    status, headers, payload = _post(port, b"", {}, method="GET", path="/healthz")
    assert status == 503
