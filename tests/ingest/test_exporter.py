"""CostLedgerSpanExporter behind a real TracerProvider, with the database up, locked and down."""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import anthropic
import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger import CostLedgerSpanExporter
from opentelemetry.exporter.costledger.demo.fake_providers import (
    FakeAnthropic,
    Ids,
    SeededIds,
    UsageSpec,
)
from opentelemetry.instrumentation.costledger import CostLedgerSpanProcessor, attribute_to
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from . import producers

USAGE = UsageSpec(
    input_tokens=1200, cached_tokens=0, cache_write_tokens=0, output_tokens=450, reasoning_tokens=0
)


def _client(provider: TracerProvider, ids: Ids | None = None) -> anthropic.Anthropic:
    """The SDK on the fake Anthropic API, answering ``producers.MODEL`` with ``USAGE``."""
    fake = FakeAnthropic(USAGE, ("Done.",), ids=ids)
    fake.snapshots = {"claude-sonnet-4-5": producers.MODEL}
    client: anthropic.Anthropic = fake.client(open_telemetry={"tracer_provider": provider})
    return client


def _spans(calls: int, customer: str = "cust_12345") -> list[ReadableSpan]:
    """Real spans of real SDK calls: the anthropic SDK's own span per call, plus a parent."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(CostLedgerSpanProcessor())  # attribution on the SDK's spans
    provider.add_span_processor(SimpleSpanProcessor(memory))
    client = _client(provider, SeededIds("test_exporter"))  # an id of its own per call
    tracer = provider.get_tracer("app")
    with attribute_to(customer_id=customer), tracer.start_as_current_span("POST /tickets"):
        for _ in range(calls):
            with tracer.start_as_current_span("answer"):
                client.messages.create(
                    model="claude-sonnet-4-5",
                    max_tokens=512,
                    messages=[{"role": "user", "content": "Where is my order?"}],
                )
    provider.shutdown()
    return list(memory.get_finished_spans())


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM ledger_entries")).scalar_one())
    finally:
        engine.dispose()


def test_batch_processor_writes_priced_rows(ledger_url: str) -> None:
    exporter = CostLedgerSpanExporter(ledger_url)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    client = _client(provider)
    client.messages.create(
        model="claude-sonnet-4-5", max_tokens=512, messages=[{"role": "user", "content": "hi"}]
    )
    provider.shutdown()  # flushes the batch processor, then shuts the exporter down
    engine = sa.create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT service, provider, model, input_tokens, output_tokens, cost_nanos,"
                    " category FROM ledger_entries"
                )
            ).one()
    finally:
        engine.dispose()
    # claude-sonnet-4-5: $3 in, $15 out per million.
    assert tuple(row) == (
        "support-bot",
        "anthropic",
        producers.MODEL,
        1200,
        450,
        1200 * 3_000 + 450 * 15_000,
        "api",
    )


def test_url_from_argument_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = _spans(1)
    default = CostLedgerSpanExporter()
    assert default.export(spans) is SpanExportResult.SUCCESS
    default.shutdown()
    assert _count(f"sqlite:///{tmp_path / 'xdg-data' / 'costledger' / 'ledger.db'}") == 1

    monkeypatch.setenv("COSTLEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    from_env = CostLedgerSpanExporter()
    from_env.export(spans)
    from_env.shutdown()
    assert _count(f"sqlite:///{tmp_path / 'env.db'}") == 1

    from_arg = CostLedgerSpanExporter(str(tmp_path / "arg.db"))
    from_arg.export(spans)
    from_arg.shutdown()
    assert _count(f"sqlite:///{tmp_path / 'arg.db'}") == 1


def test_retried_batch_counts_once(sqlite_url: str) -> None:
    spans = _spans(3)
    exporter = CostLedgerSpanExporter(sqlite_url)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert _count(sqlite_url) == 3


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[tuple[str, sqlite3.Connection]]:
    """A ledger file and a connection of another process-like writer holding its write lock."""
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    warm = CostLedgerSpanExporter(url)
    warm.export(_spans(1, customer="cust_warm"))  # creates the schema
    warm.shutdown()
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    yield url, blocker
    blocker.close()


def test_locked_sqlite_buffers_then_writes_once(
    locked_sqlite: tuple[str, sqlite3.Connection], caplog: pytest.LogCaptureFixture
) -> None:
    url, blocker = locked_sqlite
    exporter = CostLedgerSpanExporter(url, timeout=0.1, retry_initial=0.05, retry_max=0.2)
    try:
        assert exporter.export(_spans(2)) is SpanExportResult.SUCCESS
        assert exporter.export(_spans(3)) is SpanExportResult.SUCCESS
        assert exporter.force_flush(timeout_millis=300) is False  # still locked
        assert "keeping 2 rows to retry" in caplog.text
        blocker.execute("ROLLBACK")
        assert exporter.force_flush(timeout_millis=30_000) is True
    finally:
        exporter.shutdown()
    assert _count(url) == 1 + 5
    assert "DROPPED" not in caplog.text


def test_full_buffer_drops_the_new_batch_and_says_what(
    locked_sqlite: tuple[str, sqlite3.Connection], caplog: pytest.LogCaptureFixture
) -> None:
    url, blocker = locked_sqlite
    exporter = CostLedgerSpanExporter(url, timeout=0.1, retry_initial=0.05, max_buffer_rows=3)
    try:
        assert exporter.export(_spans(2)) is SpanExportResult.SUCCESS
        with caplog.at_level(logging.WARNING):
            assert exporter.export(_spans(2, customer="cust_54321")) is SpanExportResult.FAILURE
        dropped = [r.getMessage() for r in caplog.records if "DROPPED" in r.getMessage()]
        assert len(dropped) == 1
        assert "DROPPED 2 ledger rows (the retry buffer is full (3 rows" in dropped[0]
        assert "2 priced totalling 0.020700000 USD" in dropped[0]
        assert "customers cust_54321" in dropped[0]
        blocker.execute("ROLLBACK")
    finally:
        exporter.shutdown()
    assert _count(url) == 1 + 2


def test_shutdown_while_locked_logs_the_loss_and_is_idempotent(
    locked_sqlite: tuple[str, sqlite3.Connection], caplog: pytest.LogCaptureFixture
) -> None:
    url, _blocker = locked_sqlite
    exporter = CostLedgerSpanExporter(url, timeout=0.1, retry_initial=0.05, shutdown_timeout=0.3)
    assert exporter.export(_spans(2)) is SpanExportResult.SUCCESS
    with caplog.at_level(logging.WARNING):
        exporter.shutdown()
        exporter.shutdown()
    dropped = [r.getMessage() for r in caplog.records if "DROPPED" in r.getMessage()]
    assert len(dropped) == 1 and "still unavailable at shutdown" in dropped[0]
    assert exporter.export(_spans(1)) is SpanExportResult.FAILURE


def test_a_file_that_is_not_a_ledger_fails_the_batch_without_raising(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 200)
    exporter = CostLedgerSpanExporter(f"sqlite:///{path}")
    with caplog.at_level(logging.ERROR):
        assert exporter.export(_spans(1)) is SpanExportResult.FAILURE
    exporter.shutdown()
    assert "DROPPED 1 ledger rows (the database refused them" in caplog.text


class _Forwarder:
    """A TCP port that refuses connections until ``start`` forwards it to a real server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._server: socket.socket | None = None

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.mark.postgres
def test_postgres_down_then_up(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    real = sa.make_url(postgres_url)
    forwarder = _Forwarder((real.host or "127.0.0.1", real.port or 5432))
    via = real.set(host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False)
    exporter = CostLedgerSpanExporter(via, timeout=1, retry_initial=0.05, retry_max=0.2)
    try:
        assert exporter.export(_spans(2)) is SpanExportResult.SUCCESS  # refused: buffered
        assert "unavailable" in caplog.text
        assert exporter.force_flush(timeout_millis=200) is False
        forwarder.start()  # the database comes back
        assert exporter.force_flush(timeout_millis=30_000) is True
        assert exporter.export(_spans(1)) is SpanExportResult.SUCCESS  # written directly
    finally:
        exporter.shutdown()
        forwarder.stop()
    assert _count(postgres_url) == 3


def test_registered_as_the_costledger_traces_exporter() -> None:
    [entry] = entry_points(group="opentelemetry_traces_exporter", name="costledger")
    assert entry.load() is CostLedgerSpanExporter
