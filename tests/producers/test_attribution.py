"""Attribution on the spans another instrumentation starts inside our call, and none sent out.

OpenInference's openai instrumentation wraps the client's request method, so its ``LLM`` span
starts while our call runs, when the baggage carries no attribution (it is kept from the
provider). The span still gets the customer of ``attribute_to`` (from the call's context) and
is marked not counted (our span counts the call), and no request header names the customer.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to
from opentelemetry.instrumentation.costledger.attributes import COUNTED
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .mock_api import MockAPI


@pytest.fixture
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    ours, theirs = CostLedgerInstrumentor(), OpenAIInstrumentor()
    ours.instrument(tracer_provider=provider)
    theirs.instrument(tracer_provider=provider)
    try:
        yield provider, memory
    finally:
        theirs.uninstrument()
        ours.uninstrument()
        provider.shutdown()


def test_openinference_span_in_our_call_is_attributed_and_not_counted(
    traced: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    _, memory = traced
    with MockAPI() as api:
        client = openai.OpenAI(api_key="sk-test", base_url=f"{api.url}/v1", max_retries=0)
        with attribute_to(customer_id="cust_12345", work_item_id="ticket_1"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Where is my refund?"}]
            )
    spans = {
        (span.instrumentation_scope.name if span.instrumentation_scope else ""): span
        for span in memory.get_finished_spans()
    }
    theirs = spans["openinference.instrumentation.openai"]
    ours = spans["opentelemetry.instrumentation.costledger"]
    assert theirs.attributes is not None and ours.attributes is not None
    assert theirs.parent is not None and theirs.parent.span_id == ours.context.span_id
    assert theirs.attributes["customer.id"] == "cust_12345"
    assert theirs.attributes["work_item.id"] == "ticket_1"
    assert theirs.attributes[COUNTED] is False
    assert ours.attributes[COUNTED] is True
    ((_, headers, _),) = api.requests
    assert not [value for value in headers.values() if "cust_12345" in value], headers
