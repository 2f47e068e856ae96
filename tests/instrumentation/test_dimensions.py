"""The dimensions beyond the customer on call spans: agent, feature, session, tags (attribute_to
and baggage), the enclosing agent span, the SDK's HTTP attempts, cancelled streams, the
request digest."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import MODEL, FakeAnthropic
from opentelemetry.exporter.costledger.demo.fake_providers.openai import FakeOpenAI
from opentelemetry.exporter.costledger.demo.fake_providers.shared import Failure
from opentelemetry.instrumentation.costledger import attribute_to, current_attribution, record_cost
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.trace import SpanKind

from .conftest import Spans

KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
QUICK_RETRY = {"retry-after-ms": "1"}


def test_attribute_to_sets_the_dimensions_as_baggage_and_span_attributes(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    with attribute_to(
        "cust_1", agent="triage", feature="ticket-summary", session="conv_9", tags={"plan": "pro"}
    ):
        assert baggage.get_baggage(A.GEN_AI_AGENT_NAME) == "triage"
        assert baggage.get_baggage("costledger.tag.plan") == "pro"
        client.messages.create(**KW)
        record_cost("human_review", quantity=3, unit="minute", feature="review")
    assert current_attribution() == {}
    call = instrumented.one().attributes or {}
    assert call[A.GEN_AI_AGENT_NAME] == "triage"
    assert call[A.FEATURE] == "ticket-summary"
    assert call[A.SESSION] == "conv_9"
    assert call["costledger.tag.plan"] == "pro"
    assert call[A.REQUEST_ATTEMPTS] == 1
    event = next(s for s in instrumented.all() if s.name == "cost human_review").attributes or {}
    assert event[A.FEATURE] == "review" and event[A.GEN_AI_AGENT_NAME] == "triage"
    # None of it reaches the provider.
    sent = fake.requests[-1].headers.get("baggage", "")
    assert "triage" not in sent and "plan" not in sent


def test_a_different_customer_drops_the_session_but_keeps_agent_feature_and_tags() -> None:
    outer = attribute_to("c1", session="s1", agent="a", feature="f", tags={"plan": "pro"})
    with outer, attribute_to("c2"):
        found = current_attribution()
    assert A.SESSION not in found
    assert found[A.GEN_AI_AGENT_NAME] == "a" and found[A.FEATURE] == "f"
    assert found["costledger.tag.plan"] == "pro"


@pytest.mark.parametrize("bad", [{"": "x"}, {"a b": "x"}, {"plan": 1.5}, ["plan"]])
def test_bad_tags_are_refused_clearly(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="tags"):
        attribute_to("c1", tags=bad)


def test_incoming_baggage_names_the_agent(instrumented: Spans, fake: FakeAnthropic) -> None:
    ctx = baggage.set_baggage(A.GEN_AI_AGENT_NAME, "billing-agent")
    ctx = baggage.set_baggage(A.FEATURE, "refunds", ctx)
    token = otel_context.attach(ctx)
    try:
        fake.client(open_telemetry=False).messages.create(**KW)
    finally:
        otel_context.detach(token)
    attrs = instrumented.one().attributes or {}
    assert attrs[A.GEN_AI_AGENT_NAME] == "billing-agent" and attrs[A.FEATURE] == "refunds"


def test_an_enclosing_agent_span_of_another_producer_names_the_agent(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    tracer = instrumented.provider.get_tracer("openinference.instrumentation.openai_agents")
    client = fake.client(open_telemetry=False)
    agent_attrs = {A.GEN_AI_OPERATION_NAME: "invoke_agent", A.GEN_AI_AGENT_NAME: "Planner"}
    with tracer.start_as_current_span("invoke_agent Planner", attributes=agent_attrs):
        with tracer.start_as_current_span("step", kind=SpanKind.INTERNAL):
            client.messages.create(**KW)
        # attribution wins over the enclosing span
        with attribute_to(agent="explicit"):
            client.messages.create(**KW)
    first, second = (s.attributes or {} for s in instrumented.counted())
    assert first[A.GEN_AI_AGENT_NAME] == "Planner"
    assert second[A.GEN_AI_AGENT_NAME] == "explicit"


def test_sdk_retries_are_counted_as_attempts(instrumented: Spans, fake: FakeAnthropic) -> None:
    fake.failures += [Failure(429, headers=QUICK_RETRY), Failure(529, headers=QUICK_RETRY)]
    fake.client(open_telemetry=False, max_retries=3).messages.create(**KW)
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0", "1", "2"]
    assert (instrumented.one().attributes or {})[A.REQUEST_ATTEMPTS] == 3


def test_async_sdk_retries_are_counted_as_attempts(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    fake.failures += [Failure(500, headers=QUICK_RETRY)]

    async def call() -> None:
        await fake.async_client(open_telemetry=False, max_retries=2).messages.create(**KW)

    asyncio.run(call())
    assert (instrumented.one().attributes or {})[A.REQUEST_ATTEMPTS] == 2


def test_openai_retries_are_counted_too(instrumented: Spans) -> None:
    openai_fake = FakeOpenAI()
    openai_fake.failures.append(Failure(503, headers=QUICK_RETRY))
    client = openai_fake.client(max_retries=2)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert (instrumented.one().attributes or {})[A.REQUEST_ATTEMPTS] == 2


def test_a_failed_call_keeps_its_attempts(instrumented: Spans, fake: FakeAnthropic) -> None:
    fake.failures += [Failure(500, headers=QUICK_RETRY)] * 2
    with pytest.raises(Exception, match="server had an error"):
        fake.client(open_telemetry=False, max_retries=1).messages.create(**KW)
    attrs = instrumented.one().attributes or {}
    assert attrs[A.REQUEST_ATTEMPTS] == 2 and attrs[A.ERROR_TYPE] == "InternalServerError"


def test_a_stream_left_early_is_cancelled_one_read_to_the_end_is_not(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    with client.messages.create(**KW, stream=True) as stream:
        for _ in stream:
            break
    for _ in client.messages.create(**KW, stream=True):
        pass
    with client.messages.stream(**KW) as managed:
        managed.get_final_message()
    cancelled, read, managed_span = (s.attributes or {} for s in instrumented.counted())
    assert cancelled[A.CALL_STATUS] == "cancelled"
    assert A.CALL_STATUS not in read
    assert A.CALL_STATUS not in managed_span


def test_the_request_digest_is_equal_for_the_same_question_only(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    with attribute_to("c1", work_item_id="t1"):
        client.messages.create(**KW)
        client.messages.create(**KW, metadata={"user_id": "u1"})  # metadata: not the question
        client.messages.create(**{**KW, "messages": [{"role": "user", "content": "other"}]})
    first, same, other = (str((s.attributes or {})[A.REQUEST_HASH]) for s in instrumented.counted())
    assert first == same != other
    assert len(first) == 32


def test_only_a_call_of_a_work_item_carries_the_request_digest(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    # The digest serves the application-retry rule, which compares calls of one work item.
    client = fake.client(open_telemetry=False)
    client.messages.create(**KW)
    with attribute_to("c1"):
        client.messages.create(**KW)
    with attribute_to("c1", work_item_id="t1"):
        client.messages.create(**KW)
    client.messages.create(**KW, metadata={"customer_id": "c1", "work_item_id": "t2"})
    no_attribution, customer_only, in_scope, in_metadata = (
        s.attributes or {} for s in instrumented.counted()
    )
    assert A.REQUEST_HASH not in no_attribution and A.REQUEST_HASH not in customer_only
    assert in_scope[A.REQUEST_HASH] == in_metadata[A.REQUEST_HASH]


def test_the_request_digest_is_the_same_in_every_process_and_release() -> None:
    # Calls of one work item may come from several processes (and versions of costledger): the
    # canonical form must not depend on key order, on the process, or on how it is computed.
    from opentelemetry.instrumentation.costledger._dimensions import request_digest

    asked: dict[str, Any] = {
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "héllo"}],
        "metadata": {"user_id": "u1"},
    }
    reordered = {
        "messages": [{"content": "héllo", "role": "user"}],
        "max_tokens": 64,
        "model": "claude-haiku-4-5",
    }
    for kwargs in (asked, reordered):
        digest = request_digest("anthropic", "chat", "claude-haiku-4-5", (), kwargs)
        assert digest == "69cbe8c91029daa67808c16f56d6e077"
