"""Attribution from every source: attribute_to, incoming baggage, the call's metadata."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import MODEL, FakeAnthropic
from opentelemetry.instrumentation.costledger import (
    CostLedgerSpanProcessor,
    attribute_to,
    current_attribution,
)
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.trace import SpanKind

from .conftest import Spans

KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
META_T2: Any = {"work_item_id": "t2"}
META_C2: Any = {"customer_id": "cust_2"}
SEED_METADATA: Any = {
    "customer_id": "cust_12345",
    "customer_name": "Acme Corp",
    "work_item_id": "ticket_67890",
    "workspace_id": "workspace_abc",
    "user_id": "user_xyz",
}


def seed_metadata() -> Any:
    return dict(SEED_METADATA)


def attribution_of(span: Any) -> dict[str, Any]:
    attrs = span.attributes or {}
    return {k: attrs[k] for k in A.ATTRIBUTION_KEYS if k in attrs}


# --- attribute_to --------------------------------------------------------------------------
def test_context_manager_sets_and_detaches() -> None:
    assert current_attribution() == {}
    with attribute_to("cust_1", work_item_id="t1", workspace_id="ws", user_id=7) as scope:
        assert current_attribution() == {
            A.CUSTOMER_ID: "cust_1",
            A.WORK_ITEM_ID: "t1",
            A.WORKSPACE_ID: "ws",
            A.USER_ID: "7",
        }
        assert baggage.get_baggage(A.CUSTOMER_ID) == "cust_1"
        assert scope.values[A.CUSTOMER_ID] == "cust_1"
    assert current_attribution() == {}


def test_detached_on_exception() -> None:
    with pytest.raises(RuntimeError), attribute_to("cust_1"):
        raise RuntimeError("boom")
    assert current_attribution() == {}


def test_innermost_wins_key_by_key_and_other_customer_starts_afresh() -> None:
    with attribute_to("cust_1", work_item_id="t1", customer_name="Acme"):
        with attribute_to(work_item_id="t2"):
            assert current_attribution() == {
                A.CUSTOMER_ID: "cust_1",
                A.CUSTOMER_NAME: "Acme",
                A.WORK_ITEM_ID: "t2",
            }
        with attribute_to("cust_2", user_id="u9"):
            # Acme's name and work item belong to cust_1: never carried to cust_2.
            assert current_attribution() == {A.CUSTOMER_ID: "cust_2", A.USER_ID: "u9"}
        assert current_attribution()[A.WORK_ITEM_ID] == "t1"


def test_missing_customer_is_not_guessed() -> None:
    with attribute_to(work_item_id="t1"):
        assert A.CUSTOMER_ID not in current_attribution()


def test_bad_values_are_rejected_clearly() -> None:
    with pytest.raises(TypeError, match="customer_id"):
        attribute_to(customer_id=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        attribute_to(customer_id="")


def test_decorator_sync_and_async() -> None:
    @attribute_to("cust_sync")
    def sync_fn() -> dict[str, str]:
        return current_attribution()

    @attribute_to("cust_async", work_item_id="w")
    async def async_fn() -> dict[str, str]:
        await asyncio.sleep(0)
        return current_attribution()

    assert sync_fn() == {A.CUSTOMER_ID: "cust_sync"}
    assert asyncio.run(async_fn()) == {A.CUSTOMER_ID: "cust_async", A.WORK_ITEM_ID: "w"}
    assert current_attribution() == {}
    assert asyncio.iscoroutinefunction(async_fn)


async def test_concurrent_tasks_keep_their_own_customer() -> None:
    @attribute_to("a")
    async def task_a() -> str:
        await asyncio.sleep(0.01)
        return current_attribution()[A.CUSTOMER_ID]

    @attribute_to("b")
    async def task_b() -> str:
        await asyncio.sleep(0)
        return current_attribution()[A.CUSTOMER_ID]

    assert await asyncio.gather(task_a(), task_b()) == ["a", "b"]


# --- on LLM call spans ---------------------------------------------------------------------
def test_attribute_to_reaches_the_call_span(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.client(open_telemetry=False)
    with attribute_to("cust_1", work_item_id="t1", workspace_id="ws1"):
        client.messages.create(**KW)
    client.messages.create(**KW)
    first, second = instrumented.counted()
    assert attribution_of(first) == {
        A.CUSTOMER_ID: "cust_1",
        A.WORK_ITEM_ID: "t1",
        A.WORKSPACE_ID: "ws1",
    }
    assert attribution_of(second) == {}  # recorded as missing


def test_incoming_baggage_reaches_the_call_span(instrumented: Spans, fake: FakeAnthropic) -> None:
    ctx = baggage.set_baggage(A.CUSTOMER_ID, "cust_edge")
    ctx = baggage.set_baggage(A.USER_ID, "u1", ctx)
    token = otel_context.attach(ctx)
    try:
        fake.client(open_telemetry=False).messages.create(**KW)
    finally:
        otel_context.detach(token)
    assert attribution_of(instrumented.one()) == {A.CUSTOMER_ID: "cust_edge", A.USER_ID: "u1"}


@pytest.mark.parametrize("native_on", [True, False])
def test_seed_metadata_pattern_is_stripped_and_attributed(
    instrumented: Spans, fake: FakeAnthropic, native_on: bool
) -> None:
    client = fake.client(
        open_telemetry={"tracer_provider": instrumented.provider} if native_on else False
    )
    # Exactly the seed article's Step 1 call; the real API rejects unknown metadata keys.
    response = client.messages.create(**KW, metadata=seed_metadata())
    assert response.content
    assert fake.last_body["metadata"] == {"user_id": "user_xyz"}
    expected = {
        A.CUSTOMER_ID: "cust_12345",
        A.CUSTOMER_NAME: "Acme Corp",
        A.WORK_ITEM_ID: "ticket_67890",
        A.WORKSPACE_ID: "workspace_abc",
        A.USER_ID: "user_xyz",
    }
    assert attribution_of(instrumented.one()) == expected
    if native_on:
        (native,) = instrumented.by_scope("com.anthropic.sdk.python")
        assert attribution_of(native) == expected


def test_metadata_without_user_id_is_dropped_entirely(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    meta: Any = {"customer_id": "c1", "work_item_id": "t1"}
    client.messages.create(**KW, metadata=meta)
    assert "metadata" not in fake.last_body
    assert meta == {"customer_id": "c1", "work_item_id": "t1"}  # the caller's dict is untouched


@pytest.mark.parametrize("how", ["create-stream", "stream", "parse", "beta-stream"])
def test_metadata_stripped_on_every_call_kind(
    instrumented: Spans, fake: FakeAnthropic, how: str
) -> None:
    client = fake.client(open_telemetry=False)
    meta: Any = {"customer_id": "c1", "user_id": "u1"}
    if how == "create-stream":
        for _ in client.messages.create(**KW, metadata=meta, stream=True):
            pass
    elif how == "stream":
        with client.messages.stream(**KW, metadata=meta) as stream:
            stream.until_done()
    elif how == "parse":
        client.messages.parse(**KW, metadata=meta)
    else:
        with client.beta.messages.stream(**KW, metadata=meta) as beta_stream:
            beta_stream.until_done()
    assert fake.last_body["metadata"] == {"user_id": "u1"}
    assert attribution_of(instrumented.one()) == {A.CUSTOMER_ID: "c1", A.USER_ID: "u1"}


async def test_metadata_on_async_stream_helper(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.async_client(open_telemetry=False)
    meta: Any = {"customer_id": "c1", "workspace_id": "w"}
    async with client.messages.stream(**KW, metadata=meta) as stream:
        await stream.until_done()
    assert "metadata" not in fake.last_body
    assert attribution_of(instrumented.one()) == {A.CUSTOMER_ID: "c1", A.WORKSPACE_ID: "w"}


def test_metadata_beats_context_and_other_customer_starts_afresh(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    with attribute_to("cust_1", work_item_id="t1"):
        client.messages.create(**KW, metadata=META_T2)
        client.messages.create(**KW, metadata=META_C2)
    same, other = instrumented.counted()
    assert attribution_of(same) == {A.CUSTOMER_ID: "cust_1", A.WORK_ITEM_ID: "t2"}
    assert attribution_of(other) == {A.CUSTOMER_ID: "cust_2"}


def test_uninstrumented_metadata_reaches_the_api_and_is_rejected(fake: FakeAnthropic) -> None:
    # Why we strip: without us the seed's pattern fails against the real API.
    client = fake.client(open_telemetry=False)
    with pytest.raises(anthropic.BadRequestError, match="Extra inputs are not permitted"):
        client.messages.create(**KW, metadata=seed_metadata())


# --- the span processor on other instrumentations' spans -----------------------------------
def test_processor_attributes_other_instrumentations_spans(instrumented: Spans) -> None:
    other = instrumented.provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    with attribute_to("cust_1", work_item_id="t1"):
        other.start_span(
            "chat gpt-4o", kind=SpanKind.CLIENT, attributes={A.GEN_AI_OPERATION_NAME: "chat"}
        ).end()
        other.start_span(
            "openai.chat", kind=SpanKind.CLIENT, attributes={"llm.request.type": "chat"}
        ).end()
        other.start_span("GET /health", attributes={"http.request.method": "GET"}).end()
        other.start_span(
            "chat x",
            attributes={A.GEN_AI_OPERATION_NAME: "chat", A.CUSTOMER_ID: "already"},
        ).end()
    genai, llm, http, preset = instrumented.all()
    assert attribution_of(genai) == {A.CUSTOMER_ID: "cust_1", A.WORK_ITEM_ID: "t1"}
    assert attribution_of(llm) == {A.CUSTOMER_ID: "cust_1", A.WORK_ITEM_ID: "t1"}
    # Not an LLM call, attributed all the same: the receiver's log events per customer (and
    # GenAI spans only with attribute_all_spans=False, test_processor_all_spans.py).
    assert attribution_of(http) == {A.CUSTOMER_ID: "cust_1", A.WORK_ITEM_ID: "t1"}
    assert attribution_of(preset)[A.CUSTOMER_ID] == "already"
    assert all(A.COUNTED not in (s.attributes or {}) for s in instrumented.all())


def test_foreign_span_enclosing_our_call_is_marked_not_counted(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    # An instrumentation that wraps outside us (its span is current when our call starts).
    other = instrumented.provider.get_tracer("opentelemetry.instrumentation.anthropic")
    client = fake.client(open_telemetry=False)
    with other.start_as_current_span(
        "anthropic.chat", kind=SpanKind.CLIENT, attributes={"llm.request.type": "chat"}
    ):
        client.messages.create(**KW)
    with other.start_as_current_span(
        "invoke_agent support", attributes={A.GEN_AI_OPERATION_NAME: "invoke_agent"}
    ):
        client.messages.create(**KW)
    by_name = {s.name: s.attributes or {} for s in instrumented.all()}
    assert by_name["anthropic.chat"][A.COUNTED] is False
    assert A.COUNTED not in by_name["invoke_agent support"]  # an agent is not an LLM call
    assert len(instrumented.counted()) == 2


def test_openinference_llm_span_enclosing_our_call_is_marked_not_counted(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    # OpenInference's instrumentations make their LLM span current around the SDK method;
    # its CHAIN spans (a framework step) are not calls.
    other = instrumented.provider.get_tracer("openinference.instrumentation.anthropic")
    client = fake.client(open_telemetry=False)
    with (
        attribute_to("cust_1"),
        other.start_as_current_span(
            "Messages", attributes={"openinference.span.kind": "LLM", "llm.provider": "anthropic"}
        ),
    ):
        client.messages.create(**KW)
    with (
        attribute_to("cust_1"),
        other.start_as_current_span("chain", attributes={"openinference.span.kind": "CHAIN"}),
    ):
        client.messages.create(**KW)
    by_name = {s.name: s.attributes or {} for s in instrumented.all()}
    assert by_name["Messages"][A.COUNTED] is False
    assert A.COUNTED not in by_name["chain"]
    assert by_name["Messages"][A.CUSTOMER_ID] == by_name["chain"][A.CUSTOMER_ID] == "cust_1"
    assert len(instrumented.counted()) == 2


def _count_adds(spans: Spans, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The processors added to ``spans.provider`` from now on (through its public method)."""
    added: list[object] = []
    add = spans.provider.add_span_processor

    def counting(processor: Any) -> None:
        added.append(processor)
        add(processor)

    monkeypatch.setattr(spans.provider, "add_span_processor", counting)
    return added


def _handled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the spans a processor did its work on, once per processor and span."""
    from opentelemetry.instrumentation.costledger import processor as module

    names: list[str] = []
    work = module.CostLedgerSpanProcessor._on_start

    def counting(self: Any, span: Any, parent_context: Any) -> None:
        names.append(span.name)
        work(self, span, parent_context)

    monkeypatch.setattr(module.CostLedgerSpanProcessor, "_on_start", counting)
    return names


def test_processor_added_once_and_switched_off_by_uninstrument(
    spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor

    added = _count_adds(spans, monkeypatch)
    instrumentor = CostLedgerInstrumentor()
    tracer = spans.provider.get_tracer("other")
    for cycle in range(3):
        instrumentor.instrument(tracer_provider=spans.provider)
        assert len(added) == 1 and isinstance(added[0], CostLedgerSpanProcessor)
        with attribute_to(f"c{cycle}"):
            tracer.start_span("chat on", attributes={A.GEN_AI_OPERATION_NAME: "chat"}).end()
        instrumentor.uninstrument()
        with attribute_to("c"):
            tracer.start_span("chat off", attributes={A.GEN_AI_OPERATION_NAME: "chat"}).end()
    assert len(added) == 1
    found = [(s.name, attribution_of(s)) for s in spans.all()]
    assert found == [
        ("chat on", {A.CUSTOMER_ID: "c0"}),
        ("chat off", {}),
        ("chat on", {A.CUSTOMER_ID: "c1"}),
        ("chat off", {}),
        ("chat on", {A.CUSTOMER_ID: "c2"}),
        ("chat off", {}),
    ]


@pytest.mark.parametrize("hand_added", ["before-instrument", "after-instrument"])
def test_processor_added_by_hand_as_well_works_once_and_stays_on(
    spans: Spans, monkeypatch: pytest.MonkeyPatch, hand_added: str
) -> None:
    from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor

    handled = _handled(monkeypatch)
    instrumentor = CostLedgerInstrumentor()
    mine = CostLedgerSpanProcessor()
    if hand_added == "before-instrument":
        spans.provider.add_span_processor(mine)
    instrumentor.instrument(tracer_provider=spans.provider)
    if hand_added == "after-instrument":
        spans.provider.add_span_processor(mine)
    tracer = spans.provider.get_tracer("other")
    with attribute_to("c1"):
        tracer.start_span("chat both", attributes={A.GEN_AI_OPERATION_NAME: "chat"}).end()
        tracer.start_span("GET /", attributes={"http.method": "GET"}).end()
    instrumentor.uninstrument()
    assert mine.enabled  # the user's processor stays on
    with attribute_to("c2"):
        tracer.start_span("chat mine", attributes={A.GEN_AI_OPERATION_NAME: "chat"}).end()
    assert handled == ["chat both", "GET /", "chat mine"]  # once per span, not once per processor
    found = {s.name: attribution_of(s) for s in spans.all()}
    assert found == {
        "chat both": {A.CUSTOMER_ID: "c1"},
        "GET /": {A.CUSTOMER_ID: "c1"},
        "chat mine": {A.CUSTOMER_ID: "c2"},
    }


def test_attribution_baggage_is_not_sent_to_the_provider(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    # The SDK propagates the trace context (and baggage) with its requests when its spans are
    # on; customer ids are for our ledger, never for the provider. Other baggage still goes.
    client = fake.client(open_telemetry={"tracer_provider": instrumented.provider})
    ctx = baggage.set_baggage("deployment.region", "eu")
    token = otel_context.attach(ctx)
    try:
        with attribute_to("cust_secret", work_item_id="t1"):
            client.messages.create(**KW)
            assert current_attribution()[A.CUSTOMER_ID] == "cust_secret"  # back after the call
    finally:
        otel_context.detach(token)
    sent = fake.headers[-1]
    assert "traceparent" in sent
    assert "cust_secret" not in sent.get("baggage", "")
    assert "deployment.region=eu" in sent.get("baggage", "")
    assert attribution_of(instrumented.one())[A.CUSTOMER_ID] == "cust_secret"
    (native,) = instrumented.by_scope("com.anthropic.sdk.python")
    assert attribution_of(native)[A.CUSTOMER_ID] == "cust_secret"
