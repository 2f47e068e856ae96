"""The real anthropic SDK through a MockTransport: one counted span per call, exact usage, cost."""

from __future__ import annotations

import gc
from dataclasses import replace
from decimal import Decimal
from typing import Any

import anthropic
import pytest
from opentelemetry.exporter.costledger.demo.fake_providers import Failure
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import (
    CACHE_1H,
    CACHE_5M,
    CACHE_READ,
    INPUT,
    MODEL,
    OUTPUT,
    RESPONSE_MODEL,
    TEXT_CHUNKS,
    THINKING,
    FakeAnthropic,
)
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.trace import SpanKind, StatusCode

from .conftest import Spans

MESSAGES: Any = [{"role": "user", "content": "Summarize ticket 67890"}]
KW: dict[str, Any] = {"model": MODEL, "max_tokens": 256, "messages": MESSAGES}
SDK_SCOPE = "com.anthropic.sdk.python"
TEXT = "".join(TEXT_CHUNKS)
# claude-haiku-4-5 list prices per million tokens: input 1, cache read 0.10, 5-minute write
# 1.25, 1-hour write 2, output 5.
EXPECTED_COST = (
    Decimal(INPUT) * 1
    + Decimal(CACHE_READ) * Decimal("0.10")
    + Decimal(CACHE_5M) * Decimal("1.25")
    + Decimal(CACHE_1H) * 2
    + Decimal(OUTPUT) * 5
) / 1_000_000

KINDS = ["create", "create-stream", "stream-helper", "stream-text", "parse"]


def _messages(client: Any, beta: bool) -> Any:
    return client.beta.messages if beta else client.messages


def run(client: anthropic.Anthropic, kind: str, *, beta: bool = False) -> str:
    """Make one call of ``kind``; return the text the caller got."""
    messages = _messages(client, beta)
    if kind == "create":
        return messages.create(**KW).content[0].text
    if kind == "parse":
        return messages.parse(**KW).content[0].text
    if kind == "create-stream":
        return "".join(
            e.delta.text
            for e in messages.create(**KW, stream=True)
            if e.type == "content_block_delta"
        )
    if kind == "stream-helper":
        with messages.stream(**KW) as stream:
            return stream.get_final_message().content[0].text
    with messages.stream(**KW) as stream:
        return "".join(stream.text_stream)


async def arun(client: anthropic.AsyncAnthropic, kind: str, *, beta: bool = False) -> str:
    messages = _messages(client, beta)
    if kind == "create":
        return (await messages.create(**KW)).content[0].text
    if kind == "parse":
        return (await messages.parse(**KW)).content[0].text
    if kind == "create-stream":
        stream = await messages.create(**KW, stream=True)
        return "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])
    if kind == "stream-helper":
        async with messages.stream(**KW) as stream:
            return (await stream.get_final_message()).content[0].text
    async with messages.stream(**KW) as stream:
        return "".join([t async for t in stream.text_stream])


def assert_counted_call(spans: Spans, *, streamed: bool, native_on: bool) -> None:
    span = spans.one()
    attrs = dict(span.attributes or {})
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is not StatusCode.ERROR
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == MODEL
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == RESPONSE_MODEL
    assert attrs[A.GEN_AI_RESPONSE_ID] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 256
    assert attrs.get(A.GEN_AI_REQUEST_STREAM, False) is streamed
    # input INCLUDES cache read and both cache writes (Anthropic reports it without them).
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == INPUT + CACHE_READ + CACHE_5M + CACHE_1H
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == OUTPUT
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == CACHE_READ
    assert attrs[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == CACHE_5M + CACHE_1H
    assert attrs[A.COSTLEDGER_USAGE_CACHE_WRITE_5M_TOKENS] == CACHE_5M
    assert attrs[A.COSTLEDGER_USAGE_CACHE_WRITE_1H_TOKENS] == CACHE_1H
    assert attrs[A.GEN_AI_RESPONSE_SERVICE_TIER] == "standard"
    assert Decimal(str(attrs[A.COST_AMOUNT])) == EXPECTED_COST
    assert attrs[A.COST_CURRENCY] == "USD"
    assert "claude-haiku-4-5" in str(attrs[A.COST_SOURCE])
    assert A.GEN_AI_INPUT_MESSAGES not in attrs and A.GEN_AI_OUTPUT_MESSAGES not in attrs
    native = spans.by_scope(SDK_SCOPE)
    if native_on:
        assert len(native) == 1
        assert native[0].parent is not None
        assert native[0].parent.span_id == span.context.span_id
        assert (native[0].attributes or {})[A.COUNTED] is False
    else:
        assert native == []
    assert len(spans.all()) == (2 if native_on else 1)


@pytest.mark.parametrize("beta", [False, True], ids=["messages", "beta"])
@pytest.mark.parametrize("kind", KINDS)
def test_sync_calls(
    instrumented: Spans, fake: FakeAnthropic, native: dict[str, Any], kind: str, beta: bool
) -> None:
    client = fake.client(**native)
    assert run(client, kind, beta=beta) == TEXT
    assert_counted_call(
        instrumented,
        streamed=kind != "create" and kind != "parse",
        native_on=bool(native["open_telemetry"]),
    )


@pytest.mark.parametrize("beta", [False, True], ids=["messages", "beta"])
@pytest.mark.parametrize("kind", KINDS)
async def test_async_calls(
    instrumented: Spans, fake: FakeAnthropic, native: dict[str, Any], kind: str, beta: bool
) -> None:
    client = fake.async_client(**native)
    assert await arun(client, kind, beta=beta) == TEXT
    assert_counted_call(
        instrumented,
        streamed=kind != "create" and kind != "parse",
        native_on=bool(native["open_telemetry"]),
    )


def test_count_tokens_is_not_a_counted_call(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.client(open_telemetry=False)
    assert client.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == 42
    assert client.beta.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == 42
    assert instrumented.all() == []


def test_thinking_tokens_are_reasoning_output(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.client(open_telemetry=False)
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    client.messages.create(**KW, thinking=thinking)
    for _ in client.messages.create(**KW, thinking=thinking, stream=True):
        pass
    for span in instrumented.counted():
        attrs = span.attributes or {}
        assert attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == THINKING
        assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == OUTPUT
    assert len(instrumented.counted()) == 2


def test_stream_items_are_exactly_the_sdks(spans: Spans, fake: FakeAnthropic) -> None:
    client = fake.client(open_telemetry=False)

    def observe() -> list[Any]:
        seen = [e.to_dict() for e in client.messages.create(**KW, stream=True)]
        with client.messages.stream(**KW) as stream:
            seen += [e.type for e in stream]
        return seen

    before = observe()
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    try:
        assert observe() == before
        stream = client.messages.create(**KW, stream=True)
        assert isinstance(stream, anthropic.Stream)
        assert stream.response.status_code == 200
        stream.close()
    finally:
        instrumentor.uninstrument()
    assert len(spans.counted()) == 3


def _ended_once(spans: Spans) -> dict[str, Any]:
    span = spans.one()
    assert span.end_time is not None
    return dict(span.attributes or {})


def test_stream_break_then_drop_ends_span_with_usage_so_far(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    stream = client.messages.create(**KW, stream=True)
    for event in stream:
        if event.type == "content_block_delta":
            break
    assert instrumented.counted() == []  # still open: the caller may read on
    del stream, event
    gc.collect()
    attrs = _ended_once(instrumented)
    # Only message_start was seen: its input usage, and its placeholder output count.
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == INPUT + CACHE_READ + CACHE_5M + CACHE_1H
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 1


def test_stream_close_and_context_manager_end_once(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    stream = client.messages.create(**KW, stream=True)
    next(iter(stream))
    stream.close()
    stream.close()
    _ended_once(instrumented)
    instrumented.clear()

    with client.messages.create(**KW, stream=True) as entered:
        for _ in entered:
            break
    _ended_once(instrumented)
    instrumented.clear()

    with client.messages.stream(**KW) as helper:
        for _ in helper.text_stream:
            break
    _ended_once(instrumented)


async def test_async_stream_close_and_break(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.async_client(open_telemetry=False)
    stream = await client.messages.create(**KW, stream=True)
    async for _ in stream:
        break
    await stream.close()
    _ended_once(instrumented)
    instrumented.clear()

    async with await client.messages.create(**KW, stream=True) as entered:
        async for _ in entered:
            break
    _ended_once(instrumented)
    instrumented.clear()

    async with client.messages.stream(**KW) as helper:
        async for _ in helper.text_stream:
            break
    _ended_once(instrumented)


def test_user_error_inside_stream_block_passes_and_span_ends(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    with pytest.raises(KeyError, match="mine"), client.messages.stream(**KW) as stream:
        for _ in stream:
            raise KeyError("mine")
    span = instrumented.one()
    assert span.status.status_code is not StatusCode.ERROR  # the call itself did not fail


@pytest.mark.parametrize("native_on", [True, False])
def test_http_error_passes_unchanged_and_marks_span(
    spans: Spans, fake: FakeAnthropic, native_on: bool
) -> None:
    client = fake.client(open_telemetry={"tracer_provider": spans.provider} if native_on else False)
    with pytest.raises(anthropic.RateLimitError) as without:
        client.messages.create(**{**KW, "model": "error-429"})
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    spans.clear()
    try:
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(**{**KW, "model": "error-429"})
    finally:
        instrumentor.uninstrument()
    assert type(caught.value) is type(without.value)
    assert caught.value.status_code == 429
    assert caught.value.body == without.value.body
    span = spans.one()
    assert span.name == "chat error-429"
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[A.ERROR_TYPE] == "RateLimitError"
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in (span.attributes or {})


async def test_async_http_error(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.async_client(open_telemetry=False)
    with pytest.raises(anthropic.InternalServerError):
        await client.messages.create(**{**KW, "model": "error-500"})
    with pytest.raises(anthropic.InternalServerError):
        async with client.messages.stream(**{**KW, "model": "error-500"}):
            pass
    found = instrumented.counted()
    assert len(found) == 2
    assert all((s.attributes or {})[A.ERROR_TYPE] == "InternalServerError" for s in found)


def test_midstream_error_event(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.client(open_telemetry=False)
    stream = client.messages.create(**{**KW, "model": "midstream-error"}, stream=True)
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        for _ in stream:
            pass
    span = instrumented.one()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[A.ERROR_TYPE] == "APIStatusError"
    stream.close()  # closing after the error ends nothing twice
    assert len(instrumented.all()) == 1


def test_connection_error(instrumented: Spans, fake: FakeAnthropic) -> None:
    fake.fail_next(Failure(None))
    client = fake.client(open_telemetry=False)
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(**KW)
    assert (instrumented.one().attributes or {})[A.ERROR_TYPE] == "APIConnectionError"


def test_raw_response_is_counted(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.client(open_telemetry=False)
    raw = client.messages.with_raw_response.create(**KW)
    assert raw.parse().content[0].text == TEXT
    attrs = instrumented.one().attributes or {}
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == OUTPUT
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == RESPONSE_MODEL


def test_content_is_captured_only_when_enabled(
    spans: Spans, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    try:
        client = fake.client(open_telemetry=False)
        client.messages.create(**KW, system="Be brief.")
        for _ in client.messages.create(**KW, stream=True):
            pass
    finally:
        instrumentor.uninstrument()
    for span in spans.counted():
        attrs = span.attributes or {}
        assert "Summarize ticket 67890" in str(attrs[A.GEN_AI_INPUT_MESSAGES])
        assert TEXT in str(attrs[A.GEN_AI_OUTPUT_MESSAGES])
    assert "Be brief." in str((spans.counted()[0].attributes or {})[A.GEN_AI_SYSTEM_INSTRUCTIONS])


def test_five_minute_writes_only_need_no_split(instrumented: Spans, fake: FakeAnthropic) -> None:
    fake.usage = replace(
        fake.usage,
        input_tokens=INPUT + CACHE_READ + CACHE_5M,
        cache_write_tokens=CACHE_5M,
        cache_write_1h_tokens=0,
    )
    client = fake.client(open_telemetry=False)
    client.messages.create(**KW)
    for _ in client.messages.create(**KW, stream=True):
        pass
    for span in instrumented.counted():
        attrs = span.attributes or {}
        assert attrs[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == CACHE_5M
        assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == INPUT + CACHE_READ + CACHE_5M
        # Absent split = all 5-minute writes (how the ledger reads it).
        assert A.COSTLEDGER_USAGE_CACHE_WRITE_5M_TOKENS not in attrs
        assert A.COSTLEDGER_USAGE_CACHE_WRITE_1H_TOKENS not in attrs
        expected = (
            Decimal(INPUT)
            + Decimal(CACHE_READ) * Decimal("0.10")
            + Decimal(CACHE_5M) * Decimal("1.25")
            + Decimal(OUTPUT) * 5
        ) / 1_000_000
        assert Decimal(str(attrs[A.COST_AMOUNT])) == expected
    assert len(instrumented.counted()) == 2


def test_streaming_raw_response_is_counted_without_usage_and_says_so(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    with client.messages.with_streaming_response.create(**KW, stream=True) as raw:
        body = b"".join(raw.iter_bytes())
    assert b"message_delta" in body  # the caller read exactly what the API sent
    attrs = instrumented.one().attributes or {}
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    assert "usage not observed" in str(attrs[A.COST_UNPRICED_REASON])
