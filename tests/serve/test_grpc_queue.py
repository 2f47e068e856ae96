"""The gRPC queue is bounded: beyond the requests admitted, "retry later" comes at once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from .conftest import ledger_keys
from .spans import make_spans, span_keys


def test_requests_beyond_admission_are_refused_while_the_others_wait(
    tmp_path: Path, start_receiver: Callable[..., Receiver]
) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    # One slot (SQLite) and one place in the waiting room; both wait as long as it takes.
    receiver = start_receiver(
        url, http_endpoint="none", max_concurrent_requests=1, queue_timeout=60, db_timeout=60
    )
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # another writer holds the ledger
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    # As many at once as the server runs RPCs: the 2 admitted and the 8 more it answers itself
    # (see grpc_server.py). Beyond those grpcio answers RESOURCE_EXHAUSTED on its own, before
    # the service sees the request: the README's documented limit, not what this test checks.
    batches = [make_spans(2) for _ in range(10)]
    refused: list[grpc.RpcError] = []
    stored: list[int] = []
    answered = threading.Condition()

    def send(index: int) -> None:
        try:
            stub.Export(encode_spans(batches[index]), timeout=120)
        except grpc.RpcError as error:
            refused.append(error)
        else:
            stored.append(index)
        with answered:
            answered.notify_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    try:
        # While the ledger is locked, 8 of the 10 are answered: "retry later", with RetryInfo.
        with answered:
            assert answered.wait_for(lambda: len(refused) >= 8, timeout=50), len(refused)
        assert stored == []
    finally:
        lock.rollback()
        lock.close()
    for thread in threads:
        thread.join(120)
    channel.close()
    assert len(refused) == 8 and len(stored) == 2
    for error in refused:
        assert error.code() is grpc.StatusCode.UNAVAILABLE
        trailers = dict(error.trailing_metadata() or ())
        info = error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
        assert info.retry_delay.seconds > 0
    assert (
        receiver.metrics.value("costledger_receiver_retryable_refusals_total", reason="overloaded")
        == 8
    )
    assert {key for i in stored for key in span_keys(batches[i])} == set(ledger_keys(url))
