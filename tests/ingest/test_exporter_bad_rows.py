"""The in-process exporter isolates a row it cannot store: the other rows of the batch are stored.

On SQLite and PostgreSQL alike: values the columns cannot hold are repaired (with a flag) or
refused before the database is touched, and a row the database itself refuses (here a rule of
the test's own) is isolated by splitting the batch.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger import CostLedgerSpanExporter
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


def _spans(customers: list[str], **overrides: Any) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({A.SERVICE_NAME: "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("app")
    for number, customer in enumerate(customers):
        attributes: dict[str, Any] = {
            A.GEN_AI_PROVIDER_NAME: "anthropic",
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_RESPONSE_MODEL: "claude-sonnet-4-5",
            A.GEN_AI_RESPONSE_ID: f"msg_{number:04d}",
            A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
            A.CUSTOMER_ID: customer,
            **overrides.get(customer, {}),
        }
        with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT, attributes=attributes):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def _customers(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT customer_id FROM ledger_entries")).scalars()
            return sorted(rows)
    finally:
        engine.dispose()


def test_unstorable_values_cost_only_their_row(
    ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = [f"cust_{n:02d}" for n in range(20)]
    long_id, nul_id, overflow = "x" * 201, "a\x00b", "overflow"
    spans = _spans(
        [*good[:10], long_id, nul_id, overflow, *good[10:]],
        overflow={A.GEN_AI_USAGE_INPUT_TOKENS: 2**63 - 1},  # its cost is beyond 64 bits
    )
    exporter = CostLedgerSpanExporter(ledger_url)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    stored = _customers(ledger_url)
    assert [c for c in stored if c.startswith("cust_")] == good
    assert "a\ufffdb" in stored
    assert any(c.startswith("xxx") and len(c) == 200 for c in stored)
    assert overflow not in stored
    refused = [r.getMessage() for r in caplog.records if "DROPPED 1 ledger rows" in r.getMessage()]
    assert len(refused) == 1 and "beyond what the ledger stores" in refused[0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_row_the_database_refuses_is_isolated(
    ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = CostLedgerSpanExporter(ledger_url)
    try:
        # The schema first, then a rule of the database's own that no check here foresees.
        assert exporter.export(_spans(["first"])) is SpanExportResult.SUCCESS
        engine = sa.create_engine(ledger_url)
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(
                    sa.text(
                        "CREATE TRIGGER no_evil BEFORE INSERT ON ledger_entries"
                        " WHEN NEW.customer_id = 'evil' BEGIN SELECT RAISE(ABORT, 'no evil'); END"
                    )
                )
            else:
                conn.execute(
                    sa.text(
                        "ALTER TABLE ledger_entries ADD CONSTRAINT no_evil"
                        " CHECK (customer_id <> 'evil')"
                    )
                )
        engine.dispose()
        good = [f"cust_{n:02d}" for n in range(20)]
        spans = _spans([*good[:7], "evil", *good[7:]])
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert _customers(ledger_url) == sorted(["first", *good])
    dropped = [r for r in caplog.records if "DROPPED 1 ledger rows" in r.getMessage()]
    assert len(dropped) == 1 and "customers evil" in dropped[0].getMessage()
