"""One LLM call reported by two producers (nested spans) is ONE ledger row.

The spans are real: the anthropic SDK makes its own span through a real TracerProvider while an
outer span with OpenLLMetry's attribute set (made with a real SDK tracer under OpenLLMetry's
scope name) wraps the call, as opentelemetry-instrumentation-anthropic does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.demo.fake_providers import FakeAnthropic, Ids, UsageSpec
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ingest.spans import SpanData, from_readable_span
from opentelemetry.exporter.costledger.ledger.store import LedgerStore
from opentelemetry.instrumentation.costledger.pricing import PriceBook
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from . import producers

# What the fake Anthropic API answers: 100 uncached input tokens, 5,000 read from the cache,
# 1,500 + 500 written for 5 minutes / 1 hour, 300 output tokens.
USAGE = UsageSpec(
    input_tokens=7_100,
    cached_tokens=5_000,
    cache_write_tokens=2_000,
    cache_write_1h_tokens=500,
    output_tokens=300,
    reasoning_tokens=0,
)


class _OneId(Ids):
    """Every answer has ``response_id`` (``None``: a response without an id)."""

    def __init__(self, response_id: str | None) -> None:
        super().__init__()
        self.response_id = response_id

    def message_id(self) -> Any:
        return self.response_id


@pytest.fixture
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()


def _client(provider: TracerProvider, response_id: str | None) -> anthropic.Anthropic:
    fake = FakeAnthropic(USAGE, ("Your refund was issued.",), ids=_OneId(response_id))
    fake.snapshots = {"claude-sonnet-4-5": producers.MODEL}
    client: anthropic.Anthropic = fake.client(open_telemetry={"tracer_provider": provider})
    return client


def _call_under_openllmetry_span(provider: TracerProvider, response_id: str | None) -> None:
    """What opentelemetry-instrumentation-anthropic does around messages.create."""
    tracer = provider.get_tracer("opentelemetry.instrumentation.anthropic", "0.62.4")
    client = _client(provider, response_id)
    with tracer.start_as_current_span("anthropic.chat", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.provider.name": "anthropic",
                "gen_ai.operation.name": "chat",
                "llm.request.type": "chat",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "customer.id": "cust_12345",
            }
        )
        response = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=1024,
            messages=[{"role": "user", "content": "Where is my refund?"}],
        )
        usage = response.usage
        cache_read = usage.cache_read_input_tokens or 0
        cache_write = usage.cache_creation_input_tokens or 0
        span.set_attributes(
            {
                "gen_ai.response.model": response.model,
                "gen_ai.usage.input_tokens": usage.input_tokens + cache_read + cache_write,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "gen_ai.usage.total_tokens": usage.input_tokens
                + cache_read
                + cache_write
                + usage.output_tokens,
                "gen_ai.usage.cache_read.input_tokens": cache_read,
                "gen_ai.usage.cache_creation.input_tokens": cache_write,
            }
        )
        if response.id and response_id:
            span.set_attribute("gen_ai.response.id", response.id)


def _spans(memory: InMemorySpanExporter) -> list[ReadableSpan]:
    spans = list(memory.get_finished_spans())
    assert [s.instrumentation_scope.name for s in spans if s.instrumentation_scope] == [
        "com.anthropic.sdk.python",  # the inner span ends first
        "opentelemetry.instrumentation.anthropic",
    ]
    inner, outer = spans
    assert inner.parent is not None and outer.context is not None
    assert inner.parent.span_id == outer.context.span_id
    return spans


def test_nested_producers_in_one_batch_make_one_row(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = traced
    _call_under_openllmetry_span(provider, producers.RESPONSE_ID)
    inner, outer = _spans(memory)
    conversion = spans_to_rows([from_readable_span(s) for s in (outer, inner)], PriceBook())
    [row] = conversion.rows
    assert conversion.duplicates == 1
    # The inner (SDK) span wins: it has the 1-hour cache split, so the price is exact.
    assert inner.context is not None and row.span_id == f"{inner.context.span_id:016x}"
    assert (row.cache_write_5m_tokens, row.cache_write_1h_tokens) == (1500, 500)
    assert row.cost_nanos == 14_925_000


def test_nested_producers_across_batches_make_one_row(
    traced: tuple[TracerProvider, InMemorySpanExporter], ledger_url: str
) -> None:
    provider, memory = traced
    _call_under_openllmetry_span(provider, producers.RESPONSE_ID)
    inner, outer = _spans(memory)
    store = LedgerStore(ledger_url)
    try:
        book = PriceBook()
        first = store.insert(spans_to_rows([from_readable_span(inner)], book).rows)
        second = store.insert(spans_to_rows([from_readable_span(outer)], book).rows)
        assert (first.inserted, first.duplicates) == (1, 0)
        assert (second.inserted, second.duplicates) == (0, 1)
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT span_id, cost_nanos FROM ledger_entries")).all()
        assert inner.context is not None
        assert rows == [(f"{inner.context.span_id:016x}", 14_925_000)]
    finally:
        store.close()


def test_nested_reports_without_response_id_in_one_batch_make_one_row(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = traced
    _call_under_openllmetry_span(provider, None)
    inner, outer = _spans(memory)
    assert "gen_ai.response.id" not in (inner.attributes or {})
    conversion = spans_to_rows([from_readable_span(s) for s in (inner, outer)], PriceBook())
    assert len(conversion.rows) == 1 and conversion.duplicates == 1
    assert inner.context is not None
    assert conversion.rows[0].span_id == f"{inner.context.span_id:016x}"


def test_two_different_calls_in_one_trace_are_two_rows(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = traced
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle ticket"):
        client = _client(provider, producers.RESPONSE_ID)
        for _ in range(2):
            client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                messages=[{"role": "user", "content": "hi"}],
            )
    spans = [from_readable_span(s) for s in memory.get_finished_spans()]
    # Same mocked response id twice in one trace would merge; real ids never repeat, so give
    # each call its own id as the API does.
    calls = [s for s in spans if s.name == "anthropic.messages.create"]
    assert len(calls) == 2
    renamed: list[SpanData] = []
    for number, span in enumerate(spans):
        attrs = dict(span.attributes)
        if "gen_ai.response.id" in attrs:
            attrs["gen_ai.response.id"] = f"msg_{number}"
        span.attributes = attrs
        renamed.append(span)
    conversion = spans_to_rows(renamed, PriceBook())
    assert len(conversion.rows) == 2 and conversion.duplicates == 0 and conversion.ignored == 1


def test_sibling_calls_with_equal_usage_and_no_id_are_both_counted(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = traced
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle ticket"):
        client = _client(provider, None)
        for _ in range(2):
            client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=1024,
                messages=[{"role": "user", "content": "hi"}],
            )
    conversion = spans_to_rows(
        [from_readable_span(s) for s in memory.get_finished_spans()], PriceBook()
    )
    assert len(conversion.rows) == 2 and conversion.duplicates == 0
