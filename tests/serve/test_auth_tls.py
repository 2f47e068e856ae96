"""Bearer-token authentication and TLS, on both transports, with the SDK's real exporters."""

from __future__ import annotations

import http.client
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from .conftest import ledger_keys
from .spans import make_spans

TOKEN = "s3cr3t-Token_for.tests"
StartReceiver = Callable[..., Receiver]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1, made now with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_bearer_token_accepted_and_refused(
    sqlite_url: str, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = start_receiver(sqlite_url, auth_tokens=("old-token", TOKEN))
    grpc_url, http_url = (
        f"127.0.0.1:{receiver.grpc_port}",
        f"http://127.0.0.1:{receiver.http_port}/v1/traces",
    )
    good = {"authorization": f"Bearer {TOKEN}"}
    bad = {"authorization": "Bearer not-the-token"}
    exporters = [
        (GrpcExporter(endpoint=grpc_url, insecure=True, headers=good, timeout=5), True),
        (HttpExporter(endpoint=http_url, headers=good, timeout=5), True),
        (GrpcExporter(endpoint=grpc_url, insecure=True, headers=bad, timeout=5), False),
        (HttpExporter(endpoint=http_url, headers=bad, timeout=5), False),
        (GrpcExporter(endpoint=grpc_url, insecure=True, timeout=5), False),
        (HttpExporter(endpoint=http_url, timeout=5), False),
    ]
    caplog.set_level(logging.WARNING, logger="opentelemetry.exporter.costledger.serve")
    for exporter, accepted in exporters:
        expected = SpanExportResult.SUCCESS if accepted else SpanExportResult.FAILURE
        assert exporter.export(make_spans(2, customer="acme")) is expected
        exporter.shutdown()

    assert len(ledger_keys(sqlite_url)) == 4  # only the two accepted batches
    m = receiver.metrics
    assert m.value("costledger_receiver_auth_failures_total", transport="grpc") == 2
    assert m.value("costledger_receiver_auth_failures_total", transport="http") == 2
    assert (
        m.value("costledger_receiver_requests_total", transport="http", outcome="unauthenticated")
        == 2
    )
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused and "bearer token" in refused[0]
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


def test_tls_on_both_transports(
    sqlite_url: str,
    start_receiver: StartReceiver,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # requests lets these variables override the exporter's certificate_file.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cert, key = certificate
    receiver = start_receiver(
        sqlite_url, tls_cert=str(cert), tls_key=str(key), auth_tokens=(TOKEN,)
    )
    headers = {"authorization": f"Bearer {TOKEN}"}
    grpc_exporter = GrpcExporter(
        endpoint=f"localhost:{receiver.grpc_port}",
        insecure=False,
        credentials=grpc.ssl_channel_credentials(root_certificates=cert.read_bytes()),
        headers=headers,
        timeout=5,
    )
    http_exporter = HttpExporter(
        endpoint=f"https://127.0.0.1:{receiver.http_port}/v1/traces",
        certificate_file=str(cert),
        headers=headers,
        timeout=5,
    )
    try:
        assert grpc_exporter.export(make_spans(3)) is SpanExportResult.SUCCESS
        assert http_exporter.export(make_spans(3)) is SpanExportResult.SUCCESS
        # A plaintext client gets no HTTP answer (the exporters of some releases return FAILURE
        # for it, others raise: the socket is what the listener controls).
        plaintext = http.client.HTTPConnection("127.0.0.1", receiver.http_port, timeout=2)
        with pytest.raises((http.client.HTTPException, OSError)):
            plaintext.request("POST", "/v1/traces", body=b"", headers=headers)
            plaintext.getresponse()
        plaintext.close()
        # The listener survived the plaintext client.
        assert http_exporter.export(make_spans(1)) is SpanExportResult.SUCCESS
    finally:
        for exporter in (grpc_exporter, http_exporter):
            exporter.shutdown()
    assert len(ledger_keys(sqlite_url)) == 7
    assert "https://" in receiver.describe()


def test_tls_needs_both_files(sqlite_url: str, certificate: tuple[Path, Path]) -> None:
    from opentelemetry.exporter.costledger.errors import ConfigError
    from opentelemetry.exporter.costledger.ingest.serve import ServeConfig

    config = ServeConfig(
        database_url=sqlite_url,
        grpc_endpoint="127.0.0.1:0",
        http_endpoint="127.0.0.1:0",
        tls_cert=str(certificate[0]),
    )
    with pytest.raises(ConfigError, match="--tls-key"):
        Receiver(config).start()
