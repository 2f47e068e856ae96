"""Noise and leaks: vanished clients are not errors, the bearer scheme is case-insensitive, and
senders never learn the database's user, host or name."""

from __future__ import annotations

import logging
import socket
import struct
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from .conftest import ledger_keys
from .spans import make_spans, span_keys

StartReceiver = Callable[..., Receiver]


def test_client_gone_before_the_answer_is_not_an_error(
    sqlite_url: str, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = start_receiver(sqlite_url, grpc_endpoint="none")
    body = encode_spans(make_spans(50)).SerializeToString()
    head = (
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", receiver.http_port or 0)) as sock:
            sock.sendall(head + body)
            # Close with a reset, at once: the answer meets a connection that is gone.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # The receiver is fine, and it said nothing louder than debug about the vanished clients.
    exporter = HttpExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces")
    spans = make_spans(3)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert span_keys(spans) <= set(ledger_keys(sqlite_url))
    ours = [r for r in caplog.records if r.name.startswith("opentelemetry.exporter.costledger")]
    loud = [r for r in ours if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_bearer_scheme_is_case_insensitive(
    sqlite_url: str, start_receiver: StartReceiver, scheme: str
) -> None:
    receiver = start_receiver(sqlite_url, auth_tokens=("s3cret",))
    spans = make_spans(2)
    http = HttpExporter(
        endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces",
        headers={"authorization": f"{scheme} s3cret"},
    )
    grpc_exporter = GrpcExporter(
        endpoint=f"127.0.0.1:{receiver.grpc_port}",
        insecure=True,
        headers={"authorization": f"{scheme} s3cret"},
    )
    try:
        assert http.export(spans[:1]) is SpanExportResult.SUCCESS
        assert grpc_exporter.export(spans[1:]) is SpanExportResult.SUCCESS
    finally:
        http.shutdown()
        grpc_exporter.shutdown()
    assert span_keys(spans) == set(ledger_keys(sqlite_url))
    assert receiver.metrics.total("costledger_receiver_auth_failures_total") == 0


def test_wrong_scheme_or_token_still_refused(
    sqlite_url: str, start_receiver: StartReceiver
) -> None:
    receiver = start_receiver(sqlite_url, auth_tokens=("s3cret",))
    body = encode_spans(make_spans(1)).SerializeToString()
    for header in ("Basic s3cret", "bearer s3cre", "bearers3cret", "s3cret"):
        request = urllib.request.Request(
            f"http://127.0.0.1:{receiver.http_port}/v1/traces",
            data=body,
            headers={"Content-Type": "application/x-protobuf", "Authorization": header},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_details_stay_in_the_log(
    start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://ledgeruser:pw@127.0.0.1:{port}/ledgerdb"
    receiver = start_receiver(url, grpc_endpoint="none", db_timeout=1.0)
    request = urllib.request.Request(
        f"http://127.0.0.1:{receiver.http_port}/v1/traces",
        data=b'{"resourceSpans": []}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 503
    answer = refused.value.read().decode()
    assert "unavailable" in answer
    for secret in ("ledgeruser", "ledgerdb", str(port), "127.0.0.1"):
        assert secret not in answer
    assert any("ledgerdb" in r.getMessage() for r in caplog.records)  # the operator's log
