"""Rule 3 of the dedupe: another producer's report of the same call, not nested in it.

The spans are made by a real SDK tracer under the producers' scope names with the attribute
sets they write for one Mistral chat call (read from mistralai 1.12's ``extra/observability``
and OpenLLMetry's mistralai instrumentation; ``tests/producers`` runs the real packages): the
SDK's span has no response id, OpenLLMetry's has one, and they are siblings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ingest.dedupe import RecentCalls
from opentelemetry.exporter.costledger.ingest.spans import SpanData, from_readable_span
from opentelemetry.exporter.costledger.ledger.store import LedgerStore
from opentelemetry.instrumentation.costledger.pricing import PriceBook
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

SDK_SCOPE = "mistralai_sdk_tracer"
OPENLLMETRY_SCOPE = "opentelemetry.instrumentation.mistralai"
T0 = 1_765_000_000_000_000_000


def _sdk(customer: str) -> dict[str, Any]:
    return {
        "http.request.method": "POST",
        "gen_ai.request.model": "mistral-small-latest",
        "gen_ai.provider.name": "mistral_ai",
        "gen_ai.usage.prompt_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "customer.id": customer,
    }


def _openllmetry(response_id: str, customer: str) -> dict[str, Any]:
    return {
        "gen_ai.system": "MistralAI",
        "llm.request.type": "chat",
        "gen_ai.request.model": "mistral-small-latest",
        "gen_ai.response.id": response_id,
        "gen_ai.response.model": "mistral-small-latest",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "llm.usage.total_tokens": 1200,
        "customer.id": customer,
    }


class _App:
    def __init__(self) -> None:
        self.memory = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))

    def call(
        self,
        start: int,
        *,
        response_id: str = "cmpl-1",
        customer: str = "cust_12345",
        producers: tuple[str, ...] = (SDK_SCOPE, OPENLLMETRY_SCOPE),
    ) -> None:
        """One call reported by ``producers``, as siblings, from ``start`` for 10 ms."""
        for scope in producers:
            tracer = self.provider.get_tracer(scope)
            sdk = scope == SDK_SCOPE
            attrs = _sdk(customer) if sdk else _openllmetry(response_id, customer)
            kind = SpanKind.INTERNAL if sdk else SpanKind.CLIENT
            # OpenLLMetry's span starts first and ends last: it wraps the SDK method.
            span = tracer.start_span(
                "chat", kind=kind, attributes=attrs, start_time=start + (1_000 if sdk else 0)
            )
            span.end(end_time=start + (9_000_000 if sdk else 10_000_000))

    def spans(self) -> list[SpanData]:
        return [from_readable_span(s) for s in self.memory.get_finished_spans()]


@pytest.fixture
def app() -> Iterator[_App]:
    found = _App()
    yield found
    found.provider.shutdown()


def test_siblings_of_two_producers_are_one_row_and_the_richer_is_kept(app: _App) -> None:
    app.call(T0)
    conversion = spans_to_rows(app.spans(), PriceBook())
    [row] = conversion.rows
    assert conversion.duplicates == 1
    assert row.idempotency_key.endswith(":cmpl-1")  # OpenLLMetry's: it has the response id
    assert (row.provider, row.input_tokens, row.output_tokens) == ("mistral_ai", 1000, 200)


def test_two_identical_calls_at_once_each_reported_twice_are_two_rows(app: _App) -> None:
    app.call(T0, response_id="cmpl-1")
    app.call(T0 + 2_000_000, response_id="cmpl-2")  # overlaps the first
    conversion = spans_to_rows(app.spans(), PriceBook())
    assert len(conversion.rows) == 2 and conversion.duplicates == 2


def test_one_producers_overlapping_identical_calls_are_never_merged(app: _App) -> None:
    for offset in (0, 1_000_000, 2_000_000):
        app.call(T0 + offset, producers=(SDK_SCOPE,))
    conversion = spans_to_rows(app.spans(), PriceBook())
    assert len(conversion.rows) == 3 and conversion.duplicates == 0


def test_reports_that_do_not_overlap_or_differ_are_separate_calls(app: _App) -> None:
    app.call(T0, producers=(SDK_SCOPE,))
    app.call(T0 + 20_000_000, producers=(OPENLLMETRY_SCOPE,))  # later: another call
    app.call(T0 + 40_000_000, customer="cust_a", producers=(SDK_SCOPE,))
    app.call(T0 + 40_000_000, customer="cust_b", producers=(OPENLLMETRY_SCOPE,), response_id="x")
    conversion = spans_to_rows(app.spans(), PriceBook())
    assert len(conversion.rows) == 4 and conversion.duplicates == 0


def test_two_different_response_ids_are_two_calls(app: _App) -> None:
    app.call(T0, response_id="cmpl-1", producers=(OPENLLMETRY_SCOPE,))
    other = _App()
    other.call(T0, response_id="cmpl-2", producers=(OPENLLMETRY_SCOPE,))
    # Rename the second producer: same times, usage and customer, but its own response id.
    spans = app.spans() + [
        SpanData(**{**_fields(span), "scope_name": "another.producer"}) for span in other.spans()
    ]
    other.provider.shutdown()
    conversion = spans_to_rows(spans, PriceBook())
    assert len(conversion.rows) == 2


def _fields(span: SpanData) -> dict[str, Any]:
    return {name: getattr(span, name) for name in SpanData.__dataclass_fields__}


def test_siblings_in_different_batches_are_one_row_also_when_delivered_again(
    app: _App, ledger_url: str
) -> None:
    app.call(T0)
    first, second = app.spans()  # the SDK's span ends first
    recent = RecentCalls()
    book = PriceBook()
    store = LedgerStore(ledger_url)
    try:
        for batch in ([first], [second], [second], [first, second]):
            store.insert(spans_to_rows(batch, book, recent).rows)
        with store.engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM ledger_entries")).scalar_one()
        assert count == 1
        # Without what the process wrote before, the later batch would be a second row.
        assert len(spans_to_rows([second], book).rows) == 1
    finally:
        store.close()
