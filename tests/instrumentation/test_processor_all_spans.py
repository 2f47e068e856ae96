"""``CostLedgerSpanProcessor`` on spans that are not LLM calls (the receiver's "log events")."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.instrumentation.costledger import CostLedgerSpanProcessor, attribute_to
from opentelemetry.instrumentation.costledger.processor import ATTRIBUTE_ALL_SPANS_ENV
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def _run(processor: CostLedgerSpanProcessor) -> dict[str, dict[str, object]]:
    """{span name: attributes} of an HTTP request handled inside and outside attribution."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(processor)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("app")
    with (
        attribute_to("acme", work_item_id="T-1", user_id="u7"),
        tracer.start_as_current_span("POST /reply"),
        tracer.start_as_current_span("SELECT tickets", attributes={"user.id": "db"}),
    ):
        pass
    with tracer.start_as_current_span("GET /healthz"):
        pass
    provider.shutdown()
    return {s.name: dict(s.attributes or {}) for s in exporter.get_finished_spans()}


def test_every_span_inside_attribution_carries_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ATTRIBUTE_ALL_SPANS_ENV, raising=False)
    found = _run(CostLedgerSpanProcessor())
    assert found["POST /reply"] == {"customer.id": "acme", "work_item.id": "T-1", "user.id": "u7"}
    # What the span set itself is kept.
    assert found["SELECT tickets"] == {
        "customer.id": "acme",
        "work_item.id": "T-1",
        "user.id": "db",
    }
    assert found["GET /healthz"] == {}


@pytest.mark.parametrize("how", ["argument", "env"])
def test_genai_spans_only_when_asked(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "env":
        monkeypatch.setenv(ATTRIBUTE_ALL_SPANS_ENV, "false")
        processor = CostLedgerSpanProcessor()
    else:
        monkeypatch.setenv(ATTRIBUTE_ALL_SPANS_ENV, "true")
        processor = CostLedgerSpanProcessor(attribute_all_spans=False)
    found = _run(processor)
    assert found["POST /reply"] == {}
    assert found["SELECT tickets"] == {"user.id": "db"}


def test_an_unreadable_setting_warns_and_keeps_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(ATTRIBUTE_ALL_SPANS_ENV, "sometimes")
    with caplog.at_level(logging.WARNING, logger="opentelemetry.instrumentation.costledger"):
        processor = CostLedgerSpanProcessor()
    assert processor.attribute_all_spans is True
    assert ATTRIBUTE_ALL_SPANS_ENV in caplog.text
    assert _run(processor)["POST /reply"]["customer.id"] == "acme"
