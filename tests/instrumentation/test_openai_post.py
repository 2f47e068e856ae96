"""The openai client's low-level ``post`` (LiteLLM's request path) through the real SDK and the
fake API: one counted span per ``/chat/completions``, ``/responses`` and ``/embeddings``
request, none more under ``chat.completions.create``; ``AzureOpenAI`` at Azure's price."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response
from opentelemetry.exporter.costledger.demo.fake_providers import FakeOpenAI, UsageSpec
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to
from opentelemetry.instrumentation.costledger import attributes as A

from .ledger import Ledger

MESSAGES: Any = [{"role": "user", "content": "Where is my refund?"}]
USAGE = UsageSpec(input_tokens=1000, cached_tokens=400, output_tokens=200, reasoning_tokens=50)
# gpt-4o-mini list prices per million tokens (OpenAI's, and Azure's in genai-prices): input
# 0.15, cached input 0.075, output 0.60: 600 x 0.15 + 400 x 0.075 + 200 x 0.60 = 240 micro-$.
COST = 240_000
# LiteLLM's options: a raw response, which it parses itself.
RAW: dict[str, Any] = {"headers": {"X-Stainless-Raw-Response": "true"}}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    found = Ledger(tmp_path)
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=found.provider)
    yield found
    instrumentor.uninstrument()
    found.provider.shutdown()


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI(usage=USAGE)


def client_for(fake: FakeOpenAI, kind: str, azure: bool = False) -> Any:
    if not azure:
        return fake.client() if kind == "sync" else fake.async_client()
    cls: Any = openai.AzureOpenAI if kind == "sync" else openai.AsyncAzureOpenAI
    http: Any = fake.client()._client if kind == "sync" else fake.async_client()._client
    return cls(
        api_key="azure-key",
        api_version="2024-10-21",
        azure_endpoint="https://acme.openai.azure.com",
        max_retries=0,
        http_client=http,
    )


def run(kind: str, fn: Any) -> Any:
    """``fn()``'s result; awaited (with whatever it reads) for the async client."""
    result = fn()
    if kind == "async":
        return asyncio.run(result)
    return result


def litellm_chat(client: Any, kind: str, stream: bool) -> str:
    """A chat request as LiteLLM makes it: ``post`` with a raw response it parses itself."""
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    cls: Any = openai.Stream if kind == "sync" else openai.AsyncStream
    kw: dict[str, Any] = {
        "body": body,
        "cast_to": ChatCompletion,
        "options": RAW,
        "stream": stream,
        "stream_cls": cls[ChatCompletionChunk],
    }

    async def read_async() -> str:
        raw = await client.post("/chat/completions", **kw)
        parsed = raw.parse()
        if not stream:
            return str(parsed.choices[0].message.content)
        return "".join([c.choices[0].delta.content or "" async for c in parsed if c.choices])

    if kind == "async":
        return asyncio.run(read_async())
    raw = client.post("/chat/completions", **kw)
    parsed = raw.parse()
    if not stream:
        return str(parsed.choices[0].message.content)
    return "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_litellm_shaped_post_is_one_row(
    ledger: Ledger, fake: FakeOpenAI, kind: str, stream: bool
) -> None:
    client = client_for(fake, kind)
    with attribute_to(customer_id="cust_12345"):
        assert litellm_chat(client, kind, stream) == "Hello from the fake API."
    span = ledger.one()
    attrs = span.attributes or {}
    assert span.name == "chat gpt-4o-mini"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert str(attrs[A.GEN_AI_RESPONSE_ID]).startswith("chatcmpl-")
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 1000
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 400
    assert attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 50
    [row] = ledger.rows()
    assert (row["provider"], row["cost_nanos"], row["customer_id"]) == (
        "openai",
        COST,
        "cust_12345",
    )
    # The body went out as the caller built it.
    assert fake.last_body.get("stream_options") == ({"include_usage": True} if stream else None)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_stream_without_usage_asked_is_counted_and_shows_the_caller_nothing_of_ours(
    ledger: Ledger, fake: FakeOpenAI, kind: str
) -> None:
    client = client_for(fake, kind)
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    cls: Any = openai.Stream if kind == "sync" else openai.AsyncStream
    kw: dict[str, Any] = {"body": body, "cast_to": ChatCompletion, "options": RAW, "stream": True}
    kw["stream_cls"] = cls[ChatCompletionChunk]

    async def read_async() -> list[Any]:
        return [c async for c in (await client.post("/chat/completions", **kw)).parse()]

    if kind == "async":
        chunks = asyncio.run(read_async())
    else:
        chunks = list(client.post("/chat/completions", **kw).parse())
    assert all(c.choices for c in chunks)  # no usage-only chunk
    assert all("usage" not in c.to_dict() for c in chunks)
    assert "stream_options" not in body  # the caller's body is left alone
    assert fake.last_body["stream_options"] == {"include_usage": True}
    [row] = ledger.rows()
    assert (row["input_tokens"], row["cost_nanos"]) == (1000, COST)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_parsed_post_of_each_endpoint(ledger: Ledger, fake: FakeOpenAI, kind: str) -> None:
    client = client_for(fake, kind)
    chat = {"model": "gpt-4o-mini", "messages": MESSAGES}
    completion = run(
        kind, lambda: client.post("/chat/completions", body=chat, cast_to=ChatCompletion)
    )
    assert isinstance(completion, ChatCompletion)
    response = run(
        kind,
        lambda: client.post(
            "/responses", body={"model": "gpt-4o-mini", "input": "hi"}, cast_to=Response
        ),
    )
    assert isinstance(response, Response)
    vectors = run(
        kind,
        lambda: client.post(
            "/embeddings",
            body={
                "model": "text-embedding-3-small",
                "input": ["a", "b"],
                "encoding_format": "float",
            },
            cast_to=CreateEmbeddingResponse,
        ),
    )
    assert len(vectors.data) == 2
    # Not a model call: passes untouched, no span.
    with pytest.raises(openai.NotFoundError):
        run(kind, lambda: client.post("/moderations", body={"input": "a"}, cast_to=object))
    names = [s.name for s in ledger.counted()]
    assert names == ["chat gpt-4o-mini", "chat gpt-4o-mini", "embeddings text-embedding-3-small"]
    rows = ledger.rows()
    assert [r["operation"] for r in rows] == ["chat", "chat", "embeddings"]
    assert all(r["cost_nanos"] for r in rows)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_resource_call_is_not_counted_again_by_its_post(
    ledger: Ledger, fake: FakeOpenAI, kind: str
) -> None:
    client = client_for(fake, kind)
    run(kind, lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    run(kind, lambda: client.embeddings.create(model="text-embedding-3-small", input="a"))
    run(kind, lambda: client.responses.create(model="gpt-4o-mini", input="hi"))
    assert len(ledger.counted()) == 3
    assert len(ledger.all()) == 3
    assert len(ledger.rows()) == 3


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_azure_openai_at_azure_price(ledger: Ledger, fake: FakeOpenAI, kind: str) -> None:
    client = client_for(fake, kind, azure=True)
    with attribute_to(customer_id="cust_12345"):
        run(kind, lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
        litellm_chat(client, kind, stream=False)  # LiteLLM's azure/ path: the same post
    rows = ledger.rows()
    assert [(r["provider"], r["model"], r["cost_nanos"]) for r in rows] == [
        ("azure.ai.openai", "gpt-4o-mini-2024-07-18", COST)
    ] * 2
    assert all(r["price_rule"].endswith("azure/gpt-4o-mini") for r in rows)
    assert all(r["customer_id"] == "cust_12345" for r in rows)


def test_a_raw_stream_never_parsed_ends_without_usage(ledger: Ledger, fake: FakeOpenAI) -> None:
    client = fake.client()
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    raw = client.post(
        "/chat/completions",
        body=body,
        cast_to=ChatCompletion,
        options=RAW,
        stream=True,
        stream_cls=openai.Stream[ChatCompletionChunk],
    )
    raw.http_response.close()
    del raw
    span = ledger.one()
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in (span.attributes or {})


def test_errors_pass_through(ledger: Ledger, fake: FakeOpenAI) -> None:
    client = fake.client()
    with pytest.raises(openai.BadRequestError):
        client.post("/chat/completions", body={"model": "gpt-4o-mini"}, cast_to=ChatCompletion)
    span = ledger.one()
    assert (span.attributes or {})[A.ERROR_TYPE] == "BadRequestError"


def test_a_server_that_rejects_stream_options_gets_the_body_as_given(ledger: Ledger) -> None:
    fake = FakeOpenAI(usage=USAGE, reject_stream_options=True)
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    stream = fake.client().post(
        "/chat/completions",
        body=body,
        cast_to=ChatCompletion,
        stream=True,
        stream_cls=openai.Stream[ChatCompletionChunk],
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello from the fake API."
    assert ["stream_options" in b for b in fake.bodies] == [True, False]
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in (ledger.one().attributes or {})


def test_no_span_after_uninstrument_from_a_client_made_while_instrumented(
    ledger: Ledger, fake: FakeOpenAI
) -> None:
    client = fake.client()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # binds its post
    CostLedgerInstrumentor().uninstrument()
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.post(
            "/chat/completions",
            body={"model": "gpt-4o-mini", "messages": MESSAGES},
            cast_to=ChatCompletion,
        )
        assert len(ledger.all()) == 1
    finally:
        CostLedgerInstrumentor().instrument(tracer_provider=ledger.provider)
