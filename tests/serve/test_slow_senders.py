"""Slow senders cannot lock the HTTP port: header and body deadlines, a readable 503 when full."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable

from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from .conftest import ledger_keys
from .spans import make_spans, span_keys

StartReceiver = Callable[..., Receiver]


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as nothing more)."""
    sock.settimeout(30)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def test_slowloris_connections_end_at_the_header_deadline(
    sqlite_url: str, start_receiver: StartReceiver
) -> None:
    receiver = start_receiver(
        sqlite_url, grpc_endpoint="none", max_connections=8, header_timeout=4.0
    )
    port = receiver.http_port or 0
    answers: list[bytes] = []
    stop = threading.Event()
    lock = threading.Lock()
    connected = threading.Barrier(9)

    def trickle() -> None:
        # A header line now and then, never the blank line that ends the headers.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")
            connected.wait()
            for n in range(200):
                if stop.wait(0.2):
                    break
                try:
                    sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
                except OSError:
                    break
            answer = _answer(sock)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=trickle) for _ in range(8)]
    for thread in threads:
        thread.start()
    connected.wait()
    for _ in range(3000):  # until the receiver has taken all eight
        if receiver.metrics.value("costledger_receiver_http_connections") == 8:
            break
        stop.wait(0.01)
    try:
        # The ninth connection, while the eight hold every place: a readable 503, no reset.
        over = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        over.request("GET", "/healthz")
        response = over.getresponse()
        assert response.status == 503
        assert response.getheader("Retry-After") == "1"
        assert b"too many connections" in response.read()
        over.close()
        for thread in threads:
            thread.join(60)
        # Each slow sender was cut off at its header deadline, with an answer it can read.
        assert len(answers) == 8
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers
        # and the port serves real exporters again.
        spans = make_spans(3)
        exporter = HttpExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
        assert span_keys(spans) <= set(ledger_keys(sqlite_url))
    finally:
        stop.set()


def test_a_body_that_stalls_ends_at_the_body_deadline(
    sqlite_url: str, start_receiver: StartReceiver
) -> None:
    receiver = start_receiver(sqlite_url, grpc_endpoint="none", body_timeout=1.0)
    body = encode_spans(make_spans(5)).SerializeToString()
    with socket.create_connection(("127.0.0.1", receiver.http_port or 0)) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        answer = _answer(sock)  # the rest never comes
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"body did not arrive within 1 s" in answer
    assert ledger_keys(sqlite_url) == []
    # Nothing was admitted for good: the receiver takes the next request.
    spans = make_spans(2)
    exporter = HttpExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces")
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
