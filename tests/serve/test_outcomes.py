"""The receiver stores ``record_outcome`` spans in ``outcomes``, once however often they come."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.types import AttributeValue


def test_outcome_spans_sent_twice_are_stored_once(
    ledger_url: str, start_receiver: Callable[..., Receiver]
) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    attributes: dict[str, AttributeValue] = {
        A.OUTCOME_SUCCESS: True,
        A.WORK_ITEM_ID: "t_9",
        A.OUTCOME_VALUE: "2.5",
    }
    provider.get_tracer("app").start_span("outcome", attributes=attributes).end()
    receiver = start_receiver(ledger_url)
    exporter = GrpcExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True)
    for _ in range(2):
        assert exporter.export(memory.get_finished_spans()) is SpanExportResult.SUCCESS
    exporter.shutdown()
    engine = db.create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT work_item_id, success, value_nanos FROM outcomes")
            ).all()
    finally:
        engine.dispose()
    assert [(w, bool(s), v) for w, s, v in found] == [("t_9", True, 2_500_000_000)]
