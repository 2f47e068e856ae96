"""OpenAI SDK instrumentation: one counted span per call, exact usage, metadata, errors.

The real ``openai`` SDK runs against :class:`FakeOpenAI` (an ``httpx2.MockTransport``); spans
come from a real SDK ``TracerProvider`` into an ``InMemorySpanExporter``. Every scenario runs with
the sync and the async client.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.exporter.costledger.demo.fake_providers import Failure, FakeOpenAI, UsageSpec
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

MESSAGES: Any = [{"role": "user", "content": "Summarize ticket 67890."}]
SEED_METADATA = {
    "customer_id": "cust_12345",
    "customer_name": "Acme Corp",
    "work_item_id": "ticket_67890",
    "workspace_id": "workspace_abc",
    "user_id": "user_xyz",
}
SEED_ATTRIBUTES = {
    A.CUSTOMER_ID: "cust_12345",
    A.CUSTOMER_NAME: "Acme Corp",
    A.WORK_ITEM_ID: "ticket_67890",
    A.WORKSPACE_ID: "workspace_abc",
    A.USER_ID: "user_xyz",
}


class Tracing:
    """A real tracer provider with an in-memory exporter; the instrumentor on demand."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.instrumentor = CostLedgerInstrumentor()

    def instrument(self) -> None:
        self.instrumentor.instrument(tracer_provider=self.provider)

    def uninstrument(self) -> None:
        self.instrumentor.uninstrument()

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    @property
    def counted(self) -> list[ReadableSpan]:
        return [s for s in self.spans if (s.attributes or {}).get(A.COUNTED) is True]

    def one_counted(self) -> ReadableSpan:
        counted = self.counted
        assert len(counted) == 1, [(s.name, dict(s.attributes or {})) for s in self.spans]
        return counted[0]


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    t = Tracing()
    yield t
    t.uninstrument()
    t.provider.shutdown()


@pytest.fixture
def traced(tracing: Tracing) -> Tracing:
    tracing.instrument()
    return tracing


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()


def client_for(fake: FakeOpenAI, mode: str) -> Any:
    return fake.client() if mode == "sync" else fake.async_client()


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def collect(stream: Any) -> list[Any]:
    if hasattr(stream, "__aiter__"):
        return [item async for item in stream]
    return list(stream)


async def first(stream: Any) -> Any:
    if hasattr(stream, "__anext__"):
        return await stream.__anext__()
    return next(stream)


@contextlib.asynccontextmanager
async def entered(mode: str, manager: Any) -> AsyncIterator[Any]:
    if mode == "async":
        async with manager as value:
            yield value
    else:
        with manager as value:
            yield value


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def assert_usage(span: ReadableSpan, usage: UsageSpec) -> None:
    a = attrs(span)
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == usage.input_tokens  # includes the cached tokens
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage.output_tokens
    assert a[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == usage.cached_tokens
    assert a[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == usage.reasoning_tokens


# --- chat completions -------------------------------------------------------------------------
async def test_chat_create_is_one_counted_span_with_exact_usage(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    completion = await resolve(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=400
        )
    )
    assert completion.choices[0].message.content == "Hello from the fake API."
    span = traced.one_counted()
    a = attrs(span)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert a[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[A.GEN_AI_OPERATION_NAME] == "chat"
    assert a[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert a[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert a[A.GEN_AI_RESPONSE_ID] == completion.id
    assert a[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert a[A.GEN_AI_REQUEST_MAX_TOKENS] == 400
    assert a[A.GEN_AI_RESPONSE_SERVICE_TIER] == "default"
    assert a[A.SERVER_ADDRESS] == "api.openai.com"
    assert a[A.SERVER_PORT] == 443
    assert_usage(span, fake.usage)
    # prompt_tokens already includes cached_tokens: not added again.
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == completion.usage.prompt_tokens
    assert A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS not in a
    assert a[A.COST_CURRENCY] == "USD"
    assert float(a[A.COST_AMOUNT]) > 0
    # The request went out exactly as the caller wrote it.
    assert fake.last_body == {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": 400,
    }


async def test_chat_service_tier_and_cache_writes(traced: Tracing, mode: str) -> None:
    usage = UsageSpec(input_tokens=5000, cached_tokens=0, cache_write_tokens=4096, output_tokens=10)
    fake = FakeOpenAI(usage=usage)
    # The chat fake reports cache writes only through the Responses usage; check both paths.
    client = client_for(fake, mode)
    await resolve(
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, service_tier="flex")
    )
    await resolve(client.responses.create(model="gpt-4.1", input="hi", service_tier="fast"))
    chat, responses = traced.counted
    assert attrs(chat)[A.OPENAI_REQUEST_SERVICE_TIER] == "flex"
    assert attrs(chat)[A.GEN_AI_RESPONSE_SERVICE_TIER] == "flex"
    assert attrs(responses)[A.OPENAI_REQUEST_SERVICE_TIER] == "fast"
    assert attrs(responses)[A.GEN_AI_RESPONSE_SERVICE_TIER] == "priority"
    r = attrs(responses)
    assert r[A.GEN_AI_USAGE_INPUT_TOKENS] == 5000
    assert r[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 4096
    assert A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in r


def test_usage_from_a_compatible_server_with_missing_or_junk_counts(traced: Tracing) -> None:
    """An OpenAI-compatible server may send nulls or strings for counts: each counts as 0 and
    the call is still one counted span with the counts that are integers."""
    import httpx2

    body = {
        "id": "chatcmpl-compat",
        "object": "chat.completion",
        "created": 1,
        "model": "local-model",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
        ],
        "usage": {
            "prompt_tokens": 40,
            "completion_tokens": "7",
            "total_tokens": None,
            "prompt_tokens_details": {"cached_tokens": None, "cache_write_tokens": "many"},
            "completion_tokens_details": {"reasoning_tokens": 3},
        },
    }
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=body))
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
    )
    completion = client.chat.completions.create(model="local-model", messages=MESSAGES)
    assert completion.usage is not None and completion.usage.completion_tokens == "7"
    a = attrs(traced.one_counted())
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 40
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 0
    assert a[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 3
    assert A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in a
    assert A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS not in a


async def test_chat_parse(traced: Tracing, fake: FakeOpenAI, mode: str) -> None:
    class Answer(pydantic.BaseModel):
        text: str

    fake.text = ('{"text": "ok"}',)
    client = client_for(fake, mode)
    parsed = await resolve(
        client.chat.completions.parse(
            model="gpt-4o-mini", messages=MESSAGES, response_format=Answer
        )
    )
    assert parsed.choices[0].message.parsed == Answer(text="ok")
    span = traced.one_counted()
    assert span.name == "chat gpt-4o-mini"
    assert_usage(span, fake.usage)
    assert len(traced.spans) == 1


# --- chat streams -------------------------------------------------------------------------------
async def _chat_chunks(fake: FakeOpenAI, mode: str, **kwargs: Any) -> list[dict[str, Any]]:
    client = client_for(fake, mode)
    stream = await resolve(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, **kwargs
        )
    )
    chunks = await collect(stream)
    # to_dict() leaves out unset fields: it shows a "usage": null the API added for us.
    return [{"dict": c.to_dict(), "json": c.to_json(), "usage": c.usage} for c in chunks]


async def test_chat_stream_caller_sees_exactly_the_chunks_it_would_without_us(
    tracing: Tracing, mode: str
) -> None:
    plain = FakeOpenAI()
    without = await _chat_chunks(plain, mode)
    assert "stream_options" not in plain.last_body
    assert all("usage" not in c["dict"] for c in without)

    tracing.instrument()
    fake = FakeOpenAI()
    seen = await _chat_chunks(fake, mode)
    assert seen == without
    # We asked for usage, and the API answered with one more chunk that the caller did not see.
    assert fake.last_body["stream_options"] == {"include_usage": True}
    span = tracing.one_counted()
    assert span.name == "chat gpt-4o-mini"
    assert attrs(span)[A.GEN_AI_REQUEST_STREAM] is True
    assert attrs(span)[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert_usage(span, fake.usage)


async def test_chat_stream_with_usage_asked_by_caller_keeps_the_usage_chunk(
    tracing: Tracing, mode: str
) -> None:
    options = {"include_usage": True}
    without = await _chat_chunks(FakeOpenAI(), mode, stream_options=options)
    assert without[-1]["usage"] is not None

    tracing.instrument()
    fake = FakeOpenAI()
    seen = await _chat_chunks(fake, mode, stream_options=options)
    assert seen == without
    assert fake.last_body["stream_options"] == {"include_usage": True}
    assert_usage(tracing.one_counted(), fake.usage)


async def test_chat_stream_keeps_other_stream_options(traced: Tracing, mode: str) -> None:
    fake = FakeOpenAI()
    options = {"include_obfuscation": False}
    await _chat_chunks(fake, mode, stream_options=options)
    assert fake.last_body["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert options == {"include_obfuscation": False}  # the caller's dict is not changed
    assert_usage(traced.one_counted(), fake.usage)


async def test_chat_stream_helper(tracing: Tracing, mode: str) -> None:
    async def run(fake: FakeOpenAI) -> tuple[list[str], Any]:
        client = client_for(fake, mode)
        async with entered(
            mode, client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES)
        ) as stream:
            events = [e.type for e in await collect(stream)]
            final = await resolve(stream.get_final_completion())
        return events, final.to_dict()

    without = await run(FakeOpenAI())
    tracing.instrument()
    fake = FakeOpenAI()
    assert await run(fake) == without
    span = tracing.one_counted()
    assert span.name == "chat gpt-4o-mini"
    assert_usage(span, fake.usage)
    assert len(tracing.spans) == 1  # stream() -> create(): not a second span


# --- stream endings ---------------------------------------------------------------------------
def _no_double_end(caplog: pytest.LogCaptureFixture) -> None:
    assert "ended span" not in caplog.text.lower()


async def test_stream_closed_early_ends_the_span_once(
    traced: Tracing, fake: FakeOpenAI, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(fake, mode)
    stream = await resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    chunk = await first(stream)
    assert chunk.choices[0].delta.role == "assistant"
    assert traced.spans == []  # still streaming
    await resolve(stream.close())
    await resolve(stream.close())
    span = traced.one_counted()
    assert span.end_time is not None
    # Closed before the usage chunk: no usage rather than a guess.
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs(span)
    assert attrs(span)[A.GEN_AI_RESPONSE_ID] == chunk.id
    assert fake.bodies_sent[0].closed
    _no_double_end(caplog)


async def test_stream_context_manager_break(
    traced: Tracing, fake: FakeOpenAI, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(fake, mode)
    stream = await resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    async with entered(mode, stream) as entered_stream:
        await first(entered_stream)
    assert len(traced.spans) == 1
    await resolve(stream.close())
    assert len(traced.spans) == 1
    _no_double_end(caplog)


async def test_stream_exhausted_then_closed(
    traced: Tracing, fake: FakeOpenAI, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(fake, mode)
    async with entered(
        mode, await resolve(client.responses.create(model="gpt-4.1", input="hi", stream=True))
    ) as stream:
        events = await collect(stream)
    assert events[-1].type == "response.completed"
    await resolve(stream.close())
    span = traced.one_counted()
    assert_usage(span, fake.usage)
    _no_double_end(caplog)


async def test_stream_helper_break_ends_span_at_exit(
    traced: Tracing, fake: FakeOpenAI, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(fake, mode)
    async with entered(
        mode, client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES)
    ) as stream:
        if hasattr(stream, "__anext__"):
            await stream.__anext__()
        else:
            next(stream)
        assert traced.spans == []
    # The helper closes the HTTP response itself; the span ends right there, once.
    span = traced.one_counted()
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs(span)
    async with entered(mode, client.responses.stream(model="gpt-4.1", input="hi")) as rstream:
        if hasattr(rstream, "__anext__"):
            await rstream.__anext__()
        else:
            next(rstream)
    assert len(traced.counted) == 2
    _no_double_end(caplog)


async def test_stream_error_midway(tracing: Tracing, mode: str) -> None:
    """A connection lost mid-stream reaches the caller as it does without us (openai 3.x wraps
    the transport's error in ``APIConnectionError`` from some release on; earlier ones let it
    through), and the span says which error ended the call."""
    errors: list[BaseException] = []
    for instrumented in (False, True):
        if instrumented:
            tracing.instrument()
        client = client_for(FakeOpenAI(stream_break_after=3), mode)
        stream = await resolve(
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        )
        with pytest.raises(Exception) as caught:
            await collect(stream)
        errors.append(caught.value)
    bare, ours = errors
    assert observed(ours) == observed(bare)
    span = tracing.one_counted()
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[A.ERROR_TYPE] == type(ours).__qualname__


async def test_stream_api_error_event(traced: Tracing, mode: str) -> None:
    fake = FakeOpenAI(stream_error_after=2)
    client = client_for(fake, mode)
    stream = await resolve(client.responses.create(model="gpt-4.1", input="hi", stream=True))
    events = await collect(stream)
    assert events[-1].type == "error"
    span = traced.one_counted()
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[A.ERROR_TYPE] == "server_error"


# --- responses ----------------------------------------------------------------------------------
async def test_responses_create_parse_and_stream(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    class Answer(pydantic.BaseModel):
        text: str

    client = client_for(fake, mode)
    created = await resolve(
        client.responses.create(model="gpt-4.1", input="hi", max_output_tokens=500)
    )
    assert created.output_text == "Hello from the fake API."
    fake.text = ('{"text": "ok"}',)
    parsed = await resolve(client.responses.parse(model="gpt-4.1", input="hi", text_format=Answer))
    assert parsed.output_parsed == Answer(text="ok")
    async with entered(mode, client.responses.stream(model="gpt-4.1", input="hi")) as stream:
        final = await resolve(stream.get_final_response())
    assert final.usage is not None
    spans = traced.counted
    assert [s.name for s in spans] == ["chat gpt-4.1"] * 3
    assert len(traced.spans) == 3
    for span in spans:
        assert_usage(span, fake.usage)
        assert attrs(span)[A.GEN_AI_RESPONSE_MODEL] == "gpt-4.1-2025-04-14"
        assert attrs(span)[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs(spans[0])[A.GEN_AI_REQUEST_MAX_TOKENS] == 500
    assert attrs(spans[0])[A.GEN_AI_RESPONSE_ID] == created.id
    assert attrs(spans[2])[A.GEN_AI_REQUEST_STREAM] is True


async def test_responses_stream_events_unchanged(tracing: Tracing, mode: str) -> None:
    async def run(fake: FakeOpenAI) -> list[str]:
        client = client_for(fake, mode)
        stream = await resolve(client.responses.create(model="gpt-4.1", input="hi", stream=True))
        return [e.to_json() for e in await collect(stream)]

    without = await run(FakeOpenAI())
    tracing.instrument()
    fake = FakeOpenAI()
    assert await run(fake) == without
    assert "stream_options" not in fake.last_body
    assert_usage(tracing.one_counted(), fake.usage)


async def test_retrieve_of_a_reported_response_makes_no_span(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    created = await resolve(client.responses.create(model="gpt-4.1", input="hi"))
    again = await resolve(client.responses.retrieve(created.id))
    assert again.usage == created.usage
    async with entered(mode, client.responses.stream(response_id=created.id)) as stream:
        await resolve(stream.get_final_response())
    assert len(traced.spans) == 1
    traced.one_counted()


async def test_background_response_counted_once_when_seen_finished(
    traced: Tracing, mode: str
) -> None:
    fake = FakeOpenAI(background_polls=1)
    client = client_for(fake, mode)
    queued = await resolve(
        client.responses.create(
            model="gpt-4.1", input="hi", background=True, metadata=SEED_METADATA
        )
    )
    assert queued.status == "queued" and queued.usage is None
    create_span = traced.spans[0]
    assert attrs(create_span)[A.COUNTED] is False
    assert traced.counted == []
    # Polled outside any attribution scope: the call's own attribution is kept.
    running = await resolve(client.responses.retrieve(queued.id))
    assert running.status == "in_progress"
    assert traced.counted == []
    done = await resolve(client.responses.retrieve(queued.id))
    assert done.status == "completed"
    span = traced.one_counted()
    assert span.name == "chat gpt-4.1"
    assert_usage(span, fake.usage)
    for key, value in SEED_ATTRIBUTES.items():
        assert attrs(span)[key] == value
    # Seen again, also as a stream: never a second counted span.
    await resolve(client.responses.retrieve(queued.id))
    async with entered(mode, client.responses.stream(response_id=queued.id)) as stream:
        await resolve(stream.get_final_response())
    traced.one_counted()
    assert len(traced.spans) == 3


async def test_background_response_counted_by_stream_retrieve(traced: Tracing, mode: str) -> None:
    fake = FakeOpenAI()
    client = client_for(fake, mode)
    with attribute_to(customer_id="cust_bg"):
        queued = await resolve(
            client.responses.create(model="gpt-4.1", input="hi", background=True)
        )
    async with entered(mode, client.responses.stream(response_id=queued.id)) as stream:
        final = await resolve(stream.get_final_response())
    assert final.usage is not None
    span = traced.one_counted()
    assert attrs(span)[A.CUSTOMER_ID] == "cust_bg"
    assert attrs(span)[A.GEN_AI_REQUEST_STREAM] is True
    assert_usage(span, fake.usage)


# --- embeddings ---------------------------------------------------------------------------------
async def test_embeddings(traced: Tracing, fake: FakeOpenAI, mode: str) -> None:
    client = client_for(fake, mode)
    result = await resolve(
        client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    )
    assert result.data[1].embedding == [0.25, 0.5, 0.75, 1.0]
    span = traced.one_counted()
    a = attrs(span)
    assert span.name == "embeddings text-embedding-3-small"
    assert a[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == fake.usage.input_tokens
    assert a[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 0
    assert float(a[A.COST_AMOUNT]) > 0


# --- metadata -----------------------------------------------------------------------------------
async def test_seed_metadata_on_chat_is_stripped_and_attributed(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    metadata = dict(SEED_METADATA)
    await resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, metadata=metadata)
    )
    assert "metadata" not in fake.last_body
    assert metadata == SEED_METADATA  # the caller's dict is not changed
    span = traced.one_counted()
    for key, value in SEED_ATTRIBUTES.items():
        assert attrs(span)[key] == value


async def test_chat_metadata_forwarded_only_with_store(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    metadata = {"customer_id": "cust_1", "session": "s-9"}
    await resolve(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, metadata=metadata, store=True
        )
    )
    assert fake.last_body["metadata"] == {"session": "s-9"}
    # Without store the API rejects metadata: the remaining keys are not sent.
    await resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, metadata=metadata)
    )
    assert "metadata" not in fake.last_body
    assert [attrs(s)[A.CUSTOMER_ID] for s in traced.counted] == ["cust_1", "cust_1"]


async def test_metadata_without_attribution_is_untouched(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    # Invalid without store, as without us: the API's own error reaches the caller.
    with pytest.raises(openai.BadRequestError) as caught:
        await resolve(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, metadata={"session": "s-9"}
            )
        )
    assert "only allowed when 'store' is enabled" in str(caught.value)
    assert fake.last_body["metadata"] == {"session": "s-9"}


async def test_responses_metadata_keeps_non_attribution_keys(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    with attribute_to(customer_id="cust_outer", workspace_id="ws_outer"):
        response = await resolve(
            client.responses.create(
                model="gpt-4.1",
                input="hi",
                metadata={"customer_id": "cust_inner", "ticket": "T-1"},
            )
        )
    assert fake.last_body["metadata"] == {"ticket": "T-1"}
    assert response.metadata == {"ticket": "T-1"}
    a = attrs(traced.one_counted())
    # The call's metadata wins; another customer does not inherit the outer workspace.
    assert a[A.CUSTOMER_ID] == "cust_inner"
    assert A.WORKSPACE_ID not in a


async def test_embeddings_accept_seed_metadata(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    await resolve(
        client.embeddings.create(
            model="text-embedding-3-small", input="a", metadata={"customer_id": "cust_e"}
        )
    )
    assert "metadata" not in fake.last_body
    assert attrs(traced.one_counted())[A.CUSTOMER_ID] == "cust_e"


async def test_stream_helper_strips_metadata(traced: Tracing, fake: FakeOpenAI, mode: str) -> None:
    client = client_for(fake, mode)
    async with entered(
        mode,
        client.chat.completions.stream(
            model="gpt-4o-mini", messages=MESSAGES, metadata={"customer_id": "cust_s"}
        ),
    ) as stream:
        await resolve(stream.until_done())
    assert "metadata" not in fake.last_body
    assert attrs(traced.one_counted())[A.CUSTOMER_ID] == "cust_s"


# --- errors -------------------------------------------------------------------------------------
ERROR_CASES = [
    pytest.param(
        Failure(400, "Invalid 'messages'.", "invalid_request_error", param="messages"),
        openai.BadRequestError,
        id="400",
    ),
    pytest.param(
        Failure(429, "Rate limit reached.", "requests", code="rate_limit_exceeded"),
        openai.RateLimitError,
        id="429",
    ),
    pytest.param(Failure(500), openai.InternalServerError, id="500"),
    pytest.param(Failure(None), openai.APIConnectionError, id="connection"),
]


CALLS: dict[str, Callable[[Any], Any]] = {
    "chat": lambda c: c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES),
    "chat-stream": lambda c: c.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ),
    "responses": lambda c: c.responses.create(model="gpt-4.1", input="hi"),
    "embeddings": lambda c: c.embeddings.create(model="text-embedding-3-small", input="a"),
}


def observed(error: Any) -> dict[str, Any]:
    """What a user's code can see of an SDK error: never the identity of SDK-internal objects."""
    seen: dict[str, Any] = {"type": type(error), "str": str(error)}
    response = getattr(error, "response", None)
    if response is not None:
        seen |= {
            "status_code": error.status_code,
            "request_id": error.request_id,
            "body": error.body,
            "response.status_code": response.status_code,
            "response.headers": dict(response.headers),
            "response.text": response.text,
        }
    cause = error.__cause__
    if cause is not None:
        seen |= {"cause.type": type(cause), "cause.str": str(cause)}
    return seen


@pytest.mark.parametrize(("failure", "error_class"), ERROR_CASES)
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_errors_pass_through_unchanged(
    tracing: Tracing, mode: str, failure: Failure, error_class: type, call: str
) -> None:
    """The error a caller gets is the one the SDK raises without us, as far as they can tell."""
    errors: list[Any] = []
    for instrumented in (False, True):
        if instrumented:
            tracing.instrument()
        fake = FakeOpenAI()
        fake.fail_next(failure)
        with pytest.raises(error_class) as caught:
            await resolve(CALLS[call](client_for(fake, mode)))
        errors.append(caught.value)
    bare, ours = errors
    assert observed(ours) == observed(bare)
    assert observed(ours)["type"] is error_class
    if failure.status is not None:
        assert ours.status_code == failure.status
        assert ours.request_id == "req_0123456789abcdef"
        assert ours.body == {
            "message": failure.message,
            "type": failure.type or "server_error",
            "param": failure.param,
            "code": failure.code,
        }
    span = tracing.one_counted()
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[A.ERROR_TYPE] == error_class.__name__
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs(span)


# --- raw responses, privacy, (un)instrument ---------------------------------------------------
async def test_with_raw_response(traced: Tracing, fake: FakeOpenAI, mode: str) -> None:
    client = client_for(fake, mode)
    raw = await resolve(
        client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    )
    assert raw.headers["x-request-id"] == "req_0123456789abcdef"
    assert raw.parse().usage.prompt_tokens == fake.usage.input_tokens
    assert_usage(traced.one_counted(), fake.usage)


async def test_no_content_unless_opted_in(
    tracing: Tracing, fake: FakeOpenAI, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracing.instrument()
    client = client_for(fake, mode)
    await resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    await resolve(client.responses.create(model="gpt-4.1", input="secret", instructions="sys"))
    for span in tracing.spans:
        text = repr(attrs(span))
        assert "Summarize" not in text and "secret" not in text and "fake API" not in text
    tracing.uninstrument()
    tracing.exporter.clear()

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    tracing.instrument()
    await resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    stream = await resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    await collect(stream)
    await resolve(client.responses.create(model="gpt-4.1", input="secret", instructions="sys"))
    chat, chat_stream, responses = tracing.counted
    for span in (chat, chat_stream):
        assert "Summarize ticket" in attrs(span)[A.GEN_AI_INPUT_MESSAGES]
        assert "Hello from the fake API." in attrs(span)[A.GEN_AI_OUTPUT_MESSAGES]
    assert "secret" in attrs(responses)[A.GEN_AI_INPUT_MESSAGES]
    assert "sys" in attrs(responses)[A.GEN_AI_SYSTEM_INSTRUCTIONS]
    assert "Hello from the fake API." in attrs(responses)[A.GEN_AI_OUTPUT_MESSAGES]


def _methods() -> dict[str, Any]:
    from openai.lib.streaming.chat import AsyncChatCompletionStream, ChatCompletionStream
    from openai.lib.streaming.responses import AsyncResponseStream, ResponseStream
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import AsyncEmbeddings, Embeddings
    from openai.resources.responses import AsyncResponses, Responses

    found: dict[str, Any] = {}
    cls: Any
    for cls in (Completions, AsyncCompletions, Responses, AsyncResponses):
        for name in ("create", "parse"):
            found[f"{cls.__name__}.{name}"] = cls.__dict__[name]
    for cls in (Responses, AsyncResponses):
        found[f"{cls.__name__}.retrieve"] = cls.__dict__["retrieve"]
    for cls in (Embeddings, AsyncEmbeddings):
        found[f"{cls.__name__}.create"] = cls.__dict__["create"]
    helpers = (ChatCompletionStream, AsyncChatCompletionStream, ResponseStream, AsyncResponseStream)
    for cls in helpers:
        for name in ("__init__", "close"):
            found[f"{cls.__name__}.{name}"] = cls.__dict__[name]
    return found


async def test_uninstrument_restores_the_original_methods(
    tracing: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    originals = _methods()
    for _ in range(2):
        tracing.instrument()
        tracing.instrument()  # idempotent
        wrapped = _methods()
        for name, method in wrapped.items():
            assert method is not originals[name], name
            assert method.__wrapped__ is originals[name], name  # one layer, never stacked
        tracing.uninstrument()
        assert _methods() == originals
    client = client_for(fake, mode)
    await resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    assert tracing.spans == []


async def test_server_rejecting_stream_options_still_serves_the_caller(
    tracing: Tracing, mode: str
) -> None:
    without = await _chat_chunks(FakeOpenAI(reject_stream_options=True), mode)
    tracing.instrument()
    fake = FakeOpenAI(reject_stream_options=True)
    assert await _chat_chunks(fake, mode) == without
    # Asked once, rejected (a 400 is not billed), sent again as written; not asked again.
    assert [("stream_options" in b) for b in fake.bodies] == [True, False]
    await _chat_chunks(fake, mode)
    assert [("stream_options" in b) for b in fake.bodies] == [True, False, False]
    spans = tracing.counted
    assert len(spans) == 2 and len(tracing.spans) == 2
    assert all(s.status.status_code is StatusCode.UNSET for s in spans)
    assert all(A.GEN_AI_USAGE_INPUT_TOKENS not in attrs(s) for s in spans)


async def test_rejected_stream_options_leave_the_callers_own_error_alone(
    tracing: Tracing, mode: str
) -> None:
    chains = []
    for instrumented in (True, False):
        if instrumented:
            tracing.instrument()
        fake = FakeOpenAI(reject_stream_options=True)
        with pytest.raises(openai.BadRequestError) as caught:
            await resolve(
                client_for(fake, mode).chat.completions.create(
                    model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={}
                )
            )
        chains.append(_chain(caught.value))
        if instrumented:
            # Our request was rejected, then the caller's own (which failed on its own).
            assert [("include_usage" in str(b)) for b in fake.bodies] == [True, False]
            tracing.uninstrument()
    assert chains[0] == chains[1]


def _chain(error: BaseException | None) -> list[tuple[type, str]]:
    found = []
    while error is not None:
        found.append((type(error), str(error)))
        error = error.__context__
    return found


async def test_azure_openai(traced: Tracing, fake: FakeOpenAI, mode: str) -> None:
    cls: Any = openai.AzureOpenAI if mode == "sync" else openai.AsyncAzureOpenAI
    http: Any = fake.client()._client if mode == "sync" else fake.async_client()._client
    client: Any = cls(
        api_key="azure-key",
        api_version="2024-10-21",
        azure_endpoint="https://acme.openai.azure.com",
        max_retries=0,
        http_client=http,
    )
    await resolve(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    assert fake.requests[-1].url.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    a = attrs(traced.one_counted())
    assert a[A.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert a[A.SERVER_ADDRESS] == "acme.openai.azure.com"
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == fake.usage.input_tokens


async def test_with_streaming_response_is_counted_and_left_to_the_caller(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    manager = client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    async with entered(mode, manager) as response:
        lines = [line async for line in _lines(response, mode) if line.startswith("data: ")]
    # Nothing of ours in what the caller parses itself: no stream_options, no usage chunk.
    assert "stream_options" not in fake.last_body
    assert lines[-1] == "data: [DONE]"
    assert all('"usage"' not in line for line in lines)
    span = traced.one_counted()
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs(span)


async def _lines(response: Any, mode: str) -> AsyncIterator[str]:
    if mode == "async":
        async for line in response.iter_lines():
            yield line
    else:
        for line in response.iter_lines():
            yield line


async def test_stream_dropped_after_break_ends_when_collected(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    import gc

    client = client_for(fake, mode)
    stream = await resolve(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    await first(stream)
    del stream
    gc.collect()
    assert len(traced.counted) == 1


async def test_span_is_a_child_of_the_callers_span(traced: Tracing, fake: FakeOpenAI) -> None:
    import asyncio

    tracer = traced.provider.get_tracer("app")
    client = fake.async_client()

    async def one(customer: str) -> None:
        with attribute_to(customer_id=customer), tracer.start_as_current_span(customer):
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            )
            await collect(stream)

    await asyncio.gather(one("cust_a"), one("cust_b"))
    parents = {s.name: s for s in traced.spans if s.name.startswith("cust_")}
    assert len(traced.counted) == 2
    for span in traced.counted:
        customer = attrs(span)[A.CUSTOMER_ID]
        assert span.parent is not None
        assert span.parent.span_id == parents[customer].context.span_id
        assert_usage(span, fake.usage)


async def test_with_raw_response_of_responses_and_embeddings(
    traced: Tracing, fake: FakeOpenAI, mode: str
) -> None:
    client = client_for(fake, mode)
    raw = await resolve(client.responses.with_raw_response.create(model="gpt-4.1", input="hi"))
    assert raw.parse().output_text == "Hello from the fake API."
    await resolve(
        client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="a")
    )
    responses, embeddings = traced.counted
    assert_usage(responses, fake.usage)
    assert attrs(responses)[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs(responses)[A.GEN_AI_RESPONSE_SERVICE_TIER] == "default"
    assert attrs(embeddings)[A.GEN_AI_USAGE_INPUT_TOKENS] == fake.usage.input_tokens
