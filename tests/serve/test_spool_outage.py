"""The durable spool: a PostgreSQL server of the test's own stops for 30 s under load from the
plain SDK exporter (no Collector), and every span is stored exactly once."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.costledger.ingest.serve.server import open_store
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .conftest import ledger_keys
from .spans import make_spans, span_keys

OUTAGE = 30.0  # seconds the database is down


class PrivateCluster:
    """A PostgreSQL cluster in a temporary directory, on a free port, started and stopped here."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="costledger-pg-"))
        self.data = self.root / "data"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    on_path = shutil.which("initdb")
    initdb = found[-1] if found else on_path
    if initdb is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PrivateCluster(Path(initdb).parent)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def _load(
    exporter: SpanExporter,
    stop: threading.Event,
    acked: list[list[ReadableSpan]],
    failed: list[int],
) -> None:
    while not stop.is_set():
        batch = make_spans(20, customer="acme", plain=5)
        if exporter.export(batch) is SpanExportResult.SUCCESS:
            acked.append(batch)
        else:
            failed.append(len(batch))
        stop.wait(0.05)
    exporter.shutdown()


def test_database_outage_under_sdk_load_loses_nothing(
    private_postgres: PrivateCluster,
    start_receiver: Callable[..., Receiver],
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    receiver = start_receiver(
        private_postgres.url, spool=str(spool), db_timeout=2.0, retry_after=1.0
    )
    exporters: list[SpanExporter] = [
        GrpcExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True),
        HttpExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces"),
    ]
    stop = threading.Event()
    acked: list[list[ReadableSpan]] = []
    failed: list[int] = []
    threads = [threading.Thread(target=_load, args=(e, stop, acked, failed)) for e in exporters]
    for thread in threads:
        thread.start()
    try:
        stop.wait(3)
        private_postgres.stop()
        down_from = len(acked)
        stop.wait(OUTAGE)
        acked_while_down = len(acked) - down_from
        spooled_while_down = len(list(spool.glob("*.pb")))
        private_postgres.start()
        stop.wait(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    # The spool drains once the database is back (hundreds of files, each its own transaction:
    # minutes on a loaded machine).
    for _ in range(3000):
        if not list(spool.glob("*.pb")):
            break
        time.sleep(0.1)
    assert not list(spool.glob("*.pb"))
    assert acked_while_down > 0 and spooled_while_down > 0
    assert failed == []  # the SDK exporter never gave up on a batch
    calls = [s for batch in acked for s in batch if s.name.startswith("chat")]
    stored = ledger_keys(private_postgres.url)
    assert len(stored) == len(set(stored))  # nothing twice
    assert span_keys(calls) == set(stored)  # nothing lost
    engine = sa.create_engine(private_postgres.url)
    with engine.connect() as conn:
        counted = conn.execute(sa.text("SELECT SUM(spans) FROM span_counts")).scalar()
    engine.dispose()
    assert counted == sum(len(batch) for batch in acked)  # every span counted once


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_spool_full_then_retry_later_and_kept_across_restart(
    start_receiver: Callable[..., Receiver], tmp_path: Path, sqlite_url: str
) -> None:
    spool = tmp_path / "spool"
    down = f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/ledger"
    first = make_spans(10, customer="acme", plain=2)
    second = make_spans(10, customer="acme", plain=2)
    receiver = start_receiver(
        down, spool=str(spool), spool_max_bytes=6000, db_timeout=1.0, grpc_endpoint="none"
    )
    exporter = HttpExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", timeout=3)
    assert exporter.export(first) is SpanExportResult.SUCCESS  # spooled, acknowledged
    assert len(list(spool.glob("*.pb"))) == 1
    assert exporter.export(second) is SpanExportResult.FAILURE  # the spool is full: 503
    exporter.shutdown()
    assert receiver.metrics.value("costledger_receiver_spooled_requests_total") == 1
    receiver.stop(5)
    # The next receiver (here on another ledger) drains what the first acknowledged.
    start_receiver(sqlite_url, spool=str(spool), grpc_endpoint="none")
    for _ in range(300):
        if not list(spool.glob("*.pb")):
            break
        time.sleep(0.1)
    calls = [s for s in first if s.name.startswith("chat")]
    assert span_keys(calls) == set(ledger_keys(sqlite_url))


def test_with_a_spool_sqlite_commits_survive_power_loss(sqlite_url: str) -> None:
    # synchronous=FULL (2): what the durability promise of --spool needs on SQLite.
    for durable, expected in ((True, 2), (False, 1)):
        store = open_store(sqlite_url, db_timeout=1.0, pool_size=1, durable=durable)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
        store.close()
        store.engine.dispose()
