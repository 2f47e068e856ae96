"""The seed's observability split (Step 4) with its driver counted by the receiver, end to end.

The seed splits Langfuse's $300 by log events: cust_12345 sent 8,000 of 40,000, so it carries
$60. Here the log events are not imported from a CSV (as in ``test_seed_example``) but are the
app's own spans, as production counts them: an app whose ``CostLedgerSpanProcessor`` puts the
customer of ``attribute_to`` on every span, exporting with the real OTLP/gRPC exporter to a real
``costledger serve`` receiver, which counts spans per customer and day into ``span_counts``; then
``costledger allocate`` with ``driver = "log_events"`` (the README's command). Scaled down 100×:
80 of 400 attributed spans, plus spans of no customer (health checks), which no customer pays.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.ingest.serve import Receiver, ServeConfig
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.costledger import CostLedgerSpanProcessor, attribute_to
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# Spans per customer in May 2025: the seed's 8,000 / 20,000 / 8,000 / 4,000, divided by 100.
SPANS = {"cust_12345": 80, "cust_67890": 200, "cust_54321": 80, "cust_11111": 40}
UNATTRIBUTED = 25

BILLS = """\
[[bills]]
name = "Langfuse"
amount = "300.00"
period = "2025-05"
category = "observability"
method = "proportional"
driver = "log_events"
"""


def _send_app_spans(grpc_port: int) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(CostLedgerSpanProcessor())
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True),
            max_export_batch_size=128,
        )
    )
    tracer = provider.get_tracer("support-bot")
    start = datetime(2025, 5, 1, 9, tzinfo=UTC)

    def request(name: str, index: int) -> None:
        # 97 minutes apart: spread over days (and UTC midnights), all within May 2025.
        at = start + timedelta(minutes=97 * index)
        begin = int(at.timestamp() * 1_000_000_000)
        span = tracer.start_span(name, start_time=begin)
        span.end(end_time=begin + 2_000_000)

    try:
        for customer, spans in SPANS.items():
            with attribute_to(customer, work_item_id=f"{customer}-ticket"):
                for index in range(spans):
                    request("POST /tickets/reply", index)
        for index in range(UNATTRIBUTED):
            request("GET /healthz", index)
    finally:
        provider.shutdown()


@pytest.fixture
def receiver(ledger_url: str) -> Iterator[Receiver]:
    config = ServeConfig(database_url=ledger_url, grpc_endpoint="127.0.0.1:0", http_endpoint=None)
    started = Receiver(config)
    started.start()
    yield started
    started.stop(10)


def test_observability_bill_is_split_by_the_spans_the_receiver_counted(
    ledger_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    assert receiver.grpc_port is not None
    _send_app_spans(receiver.grpc_port)

    bills = tmp_path / "bills.toml"
    bills.write_text(BILLS)
    result = CliRunner().invoke(
        main,
        ["allocate", str(bills), "--period", "2025-05", "--db", ledger_url, "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert {r["customer_id"]: r["driver_quantity"] for r in records} == {
        customer: str(spans) for customer, spans in SPANS.items()
    }
    shares = {r["customer_id"]: Decimal(r["amount_usd"]) for r in records}
    # $300 × spans / 400: 80 → $60 (the seed's figure), 200 → $150, 80 → $60, 40 → $30.
    assert shares == {
        "cust_12345": Decimal("60.00"),
        "cust_67890": Decimal("150.00"),
        "cust_54321": Decimal("60.00"),
        "cust_11111": Decimal("30.00"),
    }
    assert sum(shares.values()) == Decimal("300.00")
