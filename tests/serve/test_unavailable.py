"""The database goes away under a stream of exports and comes back: nothing lost, nothing twice.

The clients are the SDK's real OTLP exporters. Like the Collector's sending queue, the stream
re-sends a batch until it is acknowledged; the test checks that every answer the clients got
while the database was away was a retryable one, and that afterwards the ledger holds every
call span exactly once and ``span_counts`` every span exactly once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .conftest import ledger_keys, span_counts
from .spans import make_spans, span_keys

BATCHES = 24
CALLS, PLAIN = 10, 5


class _ExporterLog(logging.Handler):
    """Every message the OTLP exporters log about a failed attempt."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _stream(exporter: SpanExporter, batches: list[list[ReadableSpan]], acked: list[int]) -> None:
    for index, batch in enumerate(batches):
        for _ in range(200):  # as the Collector's queue: until acknowledged
            if exporter.export(batch) is SpanExportResult.SUCCESS:
                acked.append(index)
                break
            time.sleep(0.05)
        time.sleep(0.02)


# What the OTLP specification has senders retry. DEADLINE_EXCEEDED is the client's own timeout
# (a loaded test machine can be slower than the client's 3 s), never an answer of the receiver.
_RETRYABLE_GRPC = ("StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED")


def _retryable(message: str) -> bool:
    """Whether an exporter's log line is about a retryable answer (UNAVAILABLE / 503)."""
    if message.startswith("Transient error"):
        return any(code in message for code in _RETRYABLE_GRPC) or "Service Unavailable" in message
    # The exporters give up on a batch once their own timeout is spent (still retryable).
    if message.startswith("Failed to export traces"):
        return any(f"error code: {code}" in message for code in _RETRYABLE_GRPC)
    return message == "Failed to export spans batch due to timeout, max retries or shutdown."


def _wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@contextmanager
def _sqlite_locked(url: str) -> Iterator[None]:
    # Another process's writer: BEGIN IMMEDIATE holds the write lock until it ends.
    conn = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None, timeout=10)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO schema_migrations VALUES ('lock-holder', '2025-01-01')")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@contextmanager
def _postgres_down(url: str) -> Iterator[None]:
    # The database refuses connections and its sessions are killed: as if its server were
    # down, without touching the shared server others use.
    target = sa.make_url(url)
    name = target.database
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


@contextmanager
def _postgres_locked(url: str) -> Iterator[None]:
    # A long migration or a careless admin: the ledger table locked against everyone.
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("LOCK TABLE ledger_entries IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


OUTAGES = {
    "sqlite-locked": _sqlite_locked,
    "postgresql-down": _postgres_down,
    "postgresql-table-locked": _postgres_locked,
}


@pytest.mark.parametrize(
    "outage_name",
    [
        "sqlite-locked",
        pytest.param("postgresql-down", marks=pytest.mark.postgres),
        pytest.param("postgresql-table-locked", marks=pytest.mark.postgres),
    ],
)
def test_database_outage_under_load_loses_nothing_and_counts_once(
    outage_name: str, request: pytest.FixtureRequest, start_receiver: Callable[..., Receiver]
) -> None:
    backend = outage_name.split("-")[0]
    ledger_url = str(
        request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    )
    outage = OUTAGES[outage_name]
    receiver = start_receiver(ledger_url, db_timeout=0.5, retry_after=0.2)
    grpc_batches = [make_spans(CALLS, customer="acme", plain=PLAIN) for _ in range(BATCHES)]
    http_batches = [make_spans(CALLS, customer="globex", plain=PLAIN) for _ in range(BATCHES)]
    grpc_exporter = GrpcExporter(
        endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=3
    )
    http_exporter = HttpExporter(
        endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", timeout=3
    )
    log = _ExporterLog()
    exporter_logger = logging.getLogger("opentelemetry.exporter.otlp")
    exporter_logger.addHandler(log)
    acked_grpc: list[int] = []
    acked_http: list[int] = []
    threads = [
        threading.Thread(target=_stream, args=(grpc_exporter, grpc_batches, acked_grpc)),
        threading.Thread(target=_stream, args=(http_exporter, http_batches, acked_http)),
    ]
    refusals = "costledger_receiver_retryable_refusals_total"
    try:
        for thread in threads:
            thread.start()
        _wait_for(lambda: len(acked_grpc) >= 2 and len(acked_http) >= 2)
        with outage(ledger_url):
            _wait_for(lambda: receiver.metrics.value(refusals, reason="database") >= 4)
            time.sleep(0.5)
        for thread in threads:
            thread.join(120)
    finally:
        exporter_logger.removeHandler(log)
        grpc_exporter.shutdown()
        http_exporter.shutdown()

    assert acked_grpc == list(range(BATCHES))
    assert acked_http == list(range(BATCHES))
    # The clients saw only retryable answers.
    assert log.messages, "the outage was not noticed by the clients"
    for message in log.messages:
        assert _retryable(message), message
    outcomes = {
        outcome
        for transport in ("grpc", "http")
        for outcome in ("ok", "partial", "invalid", "too_large", "unavailable")
        if receiver.metrics.value(
            "costledger_receiver_requests_total", transport=transport, outcome=outcome
        )
    }
    assert outcomes == {"ok", "unavailable"}

    calls = [s for batch in grpc_batches + http_batches for s in batch if s.name.startswith("chat")]
    keys = ledger_keys(ledger_url)
    assert len(keys) == len(calls) == 2 * BATCHES * CALLS
    assert set(keys) == span_keys(calls)
    per_batch = CALLS + PLAIN
    assert span_counts(ledger_url) == {
        ("acme", "checkout"): BATCHES * per_batch,
        ("globex", "checkout"): BATCHES * per_batch,
    }


def test_database_down_at_start_is_retryable(start_receiver: Callable[..., Receiver]) -> None:
    # A PostgreSQL server that does not answer: the receiver starts anyway and says "later".
    receiver = start_receiver(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", db_timeout=1, retry_after=0.2
    )
    exporter = GrpcExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=1)
    try:
        assert exporter.export(make_spans(1)) is SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
    # Under load the exporter's 1 s deadline can pass before the receiver has answered; the
    # refusal is still counted once the receiver gets to it.
    _wait_for(
        lambda: bool(
            receiver.metrics.value(
                "costledger_receiver_retryable_refusals_total", reason="database"
            )
        )
    )
