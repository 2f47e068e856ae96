"""Fixtures of the instrumentation tests: a real SDK TracerProvider with an in-memory exporter,
the instrumentor turned on against it (and off afterwards), and the fake Anthropic API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import FakeAnthropic
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor
from opentelemetry.instrumentation.costledger.attributes import COUNTED
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Spans:
    """The finished spans of one test's tracer provider."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def counted(self) -> list[ReadableSpan]:
        return [s for s in self.all() if (s.attributes or {}).get(COUNTED) is True]

    def one(self) -> ReadableSpan:
        found = self.counted()
        assert len(found) == 1, [s.name for s in self.all()]
        return found[0]

    def by_scope(self, scope: str) -> list[ReadableSpan]:
        return [
            s
            for s in self.all()
            if s.instrumentation_scope and s.instrumentation_scope.name == scope
        ]

    def clear(self) -> None:
        self.exporter.clear()


@pytest.fixture
def spans() -> Iterator[Spans]:
    found = Spans()
    yield found
    found.provider.shutdown()


@pytest.fixture
def instrumented(spans: Spans, monkeypatch: pytest.MonkeyPatch) -> Iterator[Spans]:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    yield spans
    instrumentor.uninstrument()


@pytest.fixture
def fake() -> FakeAnthropic:
    return FakeAnthropic()


@pytest.fixture(params=["native-on", "native-off"])
def native(request: pytest.FixtureRequest, spans: Spans) -> dict[str, Any]:
    """Client options with the anthropic SDK's own spans on (to our provider) or off."""
    if request.param == "native-on":
        return {"open_telemetry": {"tracer_provider": spans.provider}}
    return {"open_telemetry": False}
