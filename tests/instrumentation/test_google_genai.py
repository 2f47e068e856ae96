"""google-genai (Gemini API and Vertex AI) through the real SDK and an httpx2 MockTransport:
one counted span and one ledger row per ``generate_content``, ``generate_content_stream`` and
``embed_content``, sync and async, exact usage with cached content and thinking tokens, at
genai-prices' Google price."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import types
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to
from opentelemetry.instrumentation.costledger import attributes as A

from .ledger import Ledger

MODEL = "gemini-2.5-flash"
PROMPT, CACHED, CANDIDATES, THOUGHTS = 1000, 400, 150, 50
# gemini-2.5-flash per million tokens: input 0.30, cached input 0.03, output (thinking too)
# 2.50: 600 x 0.30 + 400 x 0.03 + 200 x 2.50 = 692 micro-dollars.
COST = 692_000
# gemini-embedding-001: 0.15 per million input tokens, 12 tokens.
EMBED_TOKENS = 12
EMBED_COST = 1_800
PIECES = ("Your refund ", "was issued.")


def _usage(candidates: int, thoughts: int) -> dict[str, Any]:
    return {
        "promptTokenCount": PROMPT,
        "cachedContentTokenCount": CACHED,
        "candidatesTokenCount": candidates,
        "thoughtsTokenCount": thoughts,
        "totalTokenCount": PROMPT + candidates + thoughts,
    }


def _answer(text: str, usage: dict[str, Any], finish: str | None, n: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": MODEL,
        "responseId": f"resp-{n}",
    }


class GoogleAPI:
    """The Gemini API / Vertex AI endpoints the SDK calls, answered in process."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        self.paths.append(path)
        n = len(self.paths)
        if "/models/error" in path:
            body = {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}
            return httpx2.Response(400, json=body)
        if path.endswith(":generateContent"):
            body = _answer("".join(PIECES), _usage(CANDIDATES, THOUGHTS), "STOP", n)
            return httpx2.Response(200, json=body)
        if path.endswith(":streamGenerateContent"):
            # Each chunk carries the usage so far; the last one the totals.
            chunks = [
                _answer(PIECES[0], _usage(60, THOUGHTS), None, n),
                _answer(PIECES[1], _usage(CANDIDATES, THOUGHTS), "STOP", n),
            ]
            data = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks)
            return httpx2.Response(
                200, headers={"content-type": "text/event-stream"}, content=data.encode()
            )
        if path.endswith(":embedContent") or path.endswith(":batchEmbedContents"):
            return httpx2.Response(
                200,
                json={
                    "embeddings": [{"values": [0.1, 0.2]}],
                    "usageMetadata": {"promptTokenCount": EMBED_TOKENS},
                },
            )
        if path.endswith(":predict"):  # Vertex AI's embeddings: token counts per embedding
            stats = {"token_count": EMBED_TOKENS, "truncated": False}
            prediction = {"embeddings": {"values": [0.1, 0.2], "statistics": stats}}
            return httpx2.Response(200, json={"predictions": [prediction]})
        return httpx2.Response(404, json={"error": {"code": 404, "message": path}})

    def client(self, vertex: bool = False) -> Any:
        options = types.HttpOptions(
            base_url="https://generativelanguage.example",
            httpx_client=httpx2.Client(transport=httpx2.MockTransport(self.handler)),
            httpx_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler)),
        )
        if vertex:  # Vertex AI express mode (an API key, no project)
            return genai.Client(vertexai=True, api_key="vertex-key", http_options=options)
        return genai.Client(api_key="gemini-key", http_options=options)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    found = Ledger(tmp_path)
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=found.provider)
    yield found
    instrumentor.uninstrument()
    found.provider.shutdown()


def generate(client: Any, kind: str, stream: bool) -> str:
    kw: dict[str, Any] = {"model": MODEL, "contents": "Where is my refund?"}

    async def run_async() -> str:
        models = client.aio.models
        if not stream:
            return str((await models.generate_content(**kw)).text)
        return "".join([c.text async for c in await models.generate_content_stream(**kw)])

    if kind == "async":
        return asyncio.run(run_async())
    if not stream:
        return str(client.models.generate_content(**kw).text)
    return "".join(c.text for c in client.models.generate_content_stream(**kw))


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("vertex", [False, True], ids=["gemini", "vertex"])
def test_generate_content_is_one_row_with_cache_and_thinking(
    ledger: Ledger, kind: str, stream: bool, vertex: bool
) -> None:
    api = GoogleAPI()
    with attribute_to(customer_id="cust_12345"):
        assert generate(api.client(vertex), kind, stream) == "".join(PIECES)
    provider = "gcp.vertex_ai" if vertex else "gcp.gemini"
    span = ledger.one()
    attrs = span.attributes or {}
    assert span.name == f"generate_content {MODEL}"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == provider
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == MODEL
    assert attrs[A.GEN_AI_RESPONSE_ID] == "resp-1"
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == CACHED
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == CANDIDATES + THOUGHTS
    assert attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == THOUGHTS
    [row] = ledger.rows()
    assert (row["provider"], row["model"], row["cost_nanos"], row["customer_id"]) == (
        provider,
        MODEL,
        COST,
        "cust_12345",
    )
    assert (row["cache_read_tokens"], row["reasoning_tokens"]) == (CACHED, THOUGHTS)


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("vertex", [False, True], ids=["gemini", "vertex"])
def test_embed_content(ledger: Ledger, kind: str, vertex: bool) -> None:
    client = GoogleAPI().client(vertex)
    kw: dict[str, Any] = {"model": "gemini-embedding-001", "contents": "refund policy"}
    if kind == "sync":
        client.models.embed_content(**kw)
    else:
        asyncio.run(client.aio.models.embed_content(**kw))
    span = ledger.one()
    assert span.name == "embeddings gemini-embedding-001"
    [row] = ledger.rows()
    assert (row["operation"], row["input_tokens"], row["cost_nanos"]) == (
        "embeddings",
        EMBED_TOKENS,
        EMBED_COST,
    )


def test_a_stream_left_early_records_the_usage_seen(ledger: Ledger) -> None:
    stream = GoogleAPI().client().models.generate_content_stream(model=MODEL, contents="hi")
    first = next(iter(stream))
    assert first.text == PIECES[0]
    stream.close()
    attrs = ledger.one().attributes or {}
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 60 + THOUGHTS


def test_chats_and_errors(ledger: Ledger) -> None:
    client = GoogleAPI().client()
    chat = client.chats.create(model=MODEL)
    chat.send_message("hi")
    assert len(ledger.counted()) == 1
    with pytest.raises(genai.errors.ClientError):
        client.models.generate_content(model="error-model", contents="hi")
    failed = ledger.counted()[-1]
    assert (failed.attributes or {})[A.ERROR_TYPE] == "ClientError"


def test_with_openinference_google_genai_on(ledger: Ledger) -> None:
    from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

    theirs = GoogleGenAIInstrumentor()
    theirs.instrument(tracer_provider=ledger.provider)
    try:
        with attribute_to(customer_id="cust_12345"):
            generate(GoogleAPI().client(), "sync", stream=False)
    finally:
        theirs.uninstrument()
    assert len(ledger.all()) == 2
    [row] = ledger.rows()
    assert (row["provider"], row["cost_nanos"], row["customer_id"]) == (
        "gcp.gemini",
        COST,
        "cust_12345",
    )
