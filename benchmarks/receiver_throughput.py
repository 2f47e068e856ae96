"""Receiver throughput: spans/s from the SDK's OTLP exporter through ``costledger serve``.

Three runs side by side, same client, same spans:

- ``decode-only``: the receiver decodes every request and answers, no database (the baseline:
  what gRPC + protobuf decoding + our SpanData building cost);
- ``sqlite``: the full path into a SQLite ledger (rows, idempotent insert, driver counts);
- ``postgresql``: the same into a fresh PostgreSQL database (with ``--postgres URL`` or
  ``COSTLEDGER_TEST_POSTGRES_URL``; skipped otherwise);
- ``sqlite+spool``, ``postgresql+spool``: the same with ``--spool DIR`` (the database up: requests
  are committed directly; on SQLite the ledger then runs ``synchronous=FULL``);
- ``spool, database down``: ``--spool DIR`` with the database unreachable: every request is
  fsync'd to the spool and acknowledged (what senders see during an outage).

The receiver runs in its own process (one Python process = one core for the GIL-bound work),
set up as ``costledger serve`` sets up its own (``server.tune_gc``), the clients in this one:
``--clients`` threads, each with its own ``OTLPSpanExporter`` (gRPC), sending pre-built batches
of ReadableSpans as the SDK's BatchSpanProcessor would (encoded to protobuf before the clock
starts: see ``PreEncodedExporter``). A quarter of the spans (``--llm-share``) are LLM calls
(ledger rows), the rest plain spans (counted only).

    .venv/bin/python benchmarks/receiver_throughput.py
    .venv/bin/python benchmarks/receiver_throughput.py --batches 400 --batch-size 1024 --clients 4
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve import Receiver, ServeConfig
from opentelemetry.exporter.costledger.ingest.serve.decoded import DecodedRequest
from opentelemetry.exporter.costledger.ingest.serve.server import tune_gc
from opentelemetry.exporter.costledger.ingest.serve.sink import Outcome
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


class PreEncodedExporter(OTLPSpanExporter):
    """The SDK's gRPC exporter (channel, retries, deadlines), with each batch encoded up front.

    The SDK's pure-Python span encoding costs the client more CPU per span than the receiver
    spends (~0.2 ms/span here), so encoding while timing would measure the client.
    """

    def __init__(self, encoded: dict[int, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._encoded = encoded

    def _translate_data(self, data: Any) -> Any:
        return self._encoded[id(data)]


class DecodeOnlySink:
    """The baseline: requests are decoded (by the receiver) and dropped here."""

    def write(self, request: DecodedRequest) -> Outcome:
        return Outcome(received=request.received, ignored=request.received)

    def close(self) -> None:
        pass


def make_batches(batches: int, size: int, llm_share: float) -> list[list[ReadableSpan]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({A.SERVICE_NAME: "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    calls_per_batch = round(size * llm_share)
    out = []
    n = 0
    for b in range(batches):
        memory.clear()
        customer = f"customer-{b % 50}"
        for i in range(size):
            n += 1
            if i < calls_per_batch:
                attributes: dict[str, Any] = {
                    A.GEN_AI_PROVIDER_NAME: "anthropic",
                    A.GEN_AI_OPERATION_NAME: "chat",
                    A.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5",
                    A.GEN_AI_RESPONSE_MODEL: "claude-sonnet-4-5",
                    A.GEN_AI_RESPONSE_ID: f"msg_{n:012d}",
                    A.GEN_AI_USAGE_INPUT_TOKENS: 1200 + n % 100,
                    A.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
                    A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 800,
                    A.CUSTOMER_ID: customer,
                    A.WORK_ITEM_ID: f"ticket-{n % 1000}",
                    "server.address": "api.anthropic.com",
                }
                name, kind = "chat claude-sonnet-4-5", SpanKind.CLIENT
            else:
                attributes = {
                    "http.request.method": "GET",
                    "url.path": "/api/tickets",
                    "http.response.status_code": 200,
                    "server.address": "support.example.com",
                    A.CUSTOMER_ID: customer,
                }
                name, kind = "GET /api/tickets", SpanKind.SERVER
            with tracer.start_as_current_span(name, kind=kind, attributes=attributes):
                pass
        out.append(list(memory.get_finished_spans()))
    return out


def _serve(config: ServeConfig, decode_only: bool, conn: Connection) -> None:
    receiver = Receiver(config, sink=DecodeOnlySink() if decode_only else None)
    receiver.start()
    tune_gc()  # as `costledger serve` (server.run) sets up its process once started
    conn.send(receiver.grpc_port)
    conn.recv()  # "measure"
    cpu = time.process_time()
    conn.recv()  # "stop"
    conn.send(time.process_time() - cpu)
    receiver.stop(10)


def run(
    name: str,
    url: str | None,
    batches: list[list[ReadableSpan]],
    clients: int,
    spool: str | None = None,
) -> dict[str, Any]:
    parent, child = mp.Pipe()
    config = ServeConfig(
        database_url=url,
        grpc_endpoint="127.0.0.1:0",
        http_endpoint="none",
        max_concurrent_requests=clients,
        spool=spool,
        db_timeout=2.0,
    )
    process = mp.get_context("spawn").Process(target=_serve, args=(config, url is None, child))
    process.start()
    port = parent.recv()
    encoded = {id(batch): encode_spans(batch) for batch in batches}
    exporters = [
        PreEncodedExporter(encoded, endpoint=f"127.0.0.1:{port}", insecure=True, timeout=60)
        for _ in range(clients)
    ]
    # Warm up (connections, schema, price book), not measured.
    for exporter in exporters:
        assert exporter.export(batches[0]) is SpanExportResult.SUCCESS
    parent.send("measure")
    failures: list[int] = []
    todo = list(range(1, len(batches)))
    lock = threading.Lock()

    def client(exporter: OTLPSpanExporter) -> None:
        while True:
            with lock:
                if not todo:
                    return
                index = todo.pop()
            if exporter.export(batches[index]) is not SpanExportResult.SUCCESS:
                failures.append(index)

    threads = [threading.Thread(target=client, args=(e,)) for e in exporters]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    parent.send("stop")
    server_cpu = parent.recv()
    process.join(30)
    for exporter in exporters:
        exporter.shutdown()
    spans = sum(len(b) for b in batches[1:])
    rows = None
    if url is not None and spool is not None and "down" in name:
        rows = len(list(Path(spool).iterdir()))  # requests spooled (no ledger to count)
    elif url is not None:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT COUNT(*) FROM ledger_entries")).scalar()
        engine.dispose()
    return {
        "name": name,
        "spans": spans,
        "seconds": elapsed,
        "spans_per_s": spans / elapsed,
        "server_cpu_s": server_cpu,
        "spans_per_server_cpu_s": spans / server_cpu if server_cpu else float("nan"),
        "rows": rows,
        "failures": len(failures),
    }


def in_process(mode: str, batches: list[list[ReadableSpan]], url: str | None, count: int) -> None:
    """The receiver's work without gRPC, for callgrind: parse + decode (+ rows, insert, counts).

    The first batch warms up (schema, price book) so that the difference between a run of N
    and one of 3N batches is the steady-state cost of 2N batches. All ``batches`` are built and
    encoded either way (the same instructions in both runs); ``count`` of them are processed.
    """
    from opentelemetry.exporter.costledger.ingest.serve.otlp_proto import decode_protobuf
    from opentelemetry.exporter.costledger.ingest.serve.server import open_store
    from opentelemetry.exporter.costledger.ingest.serve.sink import LedgerSink

    payloads = [encode_spans(batch).SerializeToString() for batch in batches]
    sink: Any = DecodeOnlySink()
    if mode != "decode-only":
        store = open_store(url, db_timeout=5, pool_size=1)
        store.ensure_schema()
        sink = LedgerSink(store)
    tune_gc()
    for payload in payloads[:count]:
        sink.write(decode_protobuf(payload))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--llm-share", type=float, default=0.25)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; medians reported")
    parser.add_argument("--postgres", default=os.environ.get("COSTLEDGER_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--in-process",
        choices=["decode-only", "sqlite"],
        help="no server, no timing: run --batches through the receiver's code in this process"
        " (for valgrind --tool=callgrind; see benchmarks/README.md)",
    )
    parser.add_argument("--process", type=int, help="with --in-process: process only this many")
    args = parser.parse_args()
    if args.in_process:
        with tempfile.TemporaryDirectory() as tmp:
            batches = make_batches(args.batches, args.batch_size, args.llm_share)
            url = f"sqlite:///{Path(tmp) / 'cg.db'}"
            in_process(args.in_process, batches, url, args.process or args.batches)
        return

    print(f"building {args.batches} batches x {args.batch_size} spans ...", file=sys.stderr)
    batches = make_batches(args.batches, args.batch_size, args.llm_share)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeat):
            modes: list[tuple[str, str | None]] = [
                ("decode-only", None),
                ("sqlite", f"sqlite:///{Path(tmp) / f'bench-{attempt}.db'}"),
            ]
            admin = None
            pg_name = f"costledger_receiver_bench_{uuid.uuid4().hex[:8]}"
            if args.postgres:
                admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(sa.text(f'CREATE DATABASE "{pg_name}"'))
                base = sa.make_url(args.postgres).set(database=pg_name)
                modes.append(("postgresql", base.render_as_string(hide_password=False)))
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                closed = sock.getsockname()[1]
            spooled = [
                (f"{name}+spool", url.replace(".db", "-spool.db") if url else None)
                for name, url in modes[1:]
            ]
            spooled.append(("spool, database down", f"postgresql+psycopg://x@127.0.0.1:{closed}/x"))
            try:
                for name, url in [*modes, *spooled]:
                    spool = str(Path(tmp) / f"spool-{attempt}-{name}") if "spool" in name else None
                    result = run(name, url, batches, args.clients, spool)
                    results.setdefault(name, []).append(result)
                    print(
                        f"  {name:12s} {result['spans_per_s']:9.0f} spans/s"
                        f"  ({result['spans_per_server_cpu_s']:.0f} per server CPU-second)",
                        file=sys.stderr,
                    )
            finally:
                if admin is not None:
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
                    admin.dispose()

    baseline = statistics.median(r["spans_per_server_cpu_s"] for r in results["decode-only"])
    print()
    print(
        f"{args.batches - 1} batches x {args.batch_size} spans ({args.llm_share:.0%} LLM calls),"
        f" {args.clients} gRPC exporter clients, median of {args.repeat}"
    )
    print("| mode | spans/s (wall) | spans per server CPU-second | ratio to decode-only (CPU) |")
    print("|---|---:|---:|---:|")
    for name, runs in results.items():
        rate = statistics.median(r["spans_per_s"] for r in runs)
        cpu_rate = statistics.median(r["spans_per_server_cpu_s"] for r in runs)
        failed = sum(r["failures"] for r in runs)
        assert not failed, f"{failed} exports failed in {name}"
        rows = {r["rows"] for r in runs}
        if "down" in name:
            assert rows == {args.batches - 1 + args.clients}, rows  # all spooled, warm-ups too
        else:
            assert rows <= {None, args.batches * round(args.batch_size * args.llm_share)}, rows
        print(f"| {name} | {rate:,.0f} | {cpu_rate:,.0f} | {cpu_rate / baseline:.2f} |")


if __name__ == "__main__":
    main()
