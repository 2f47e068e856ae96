"""AnthropicBedrock / AnthropicVertex (sync and async) through the real SDK and a MockTransport:
provider ``aws.bedrock`` / ``gcp.vertex_ai``, priced on the requested model id (the Bedrock
inference profile, the Vertex model version) at that platform's list price, one ledger row per
call through the in-process exporter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anthropic
import httpx2
import pytest
import wrapt
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import (
    CACHE_1H,
    CACHE_5M,
    CACHE_READ,
    INPUT,
    OUTPUT,
    message,
    sse_events,
)
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to
from opentelemetry.instrumentation.costledger import attributes as A

from . import aws_eventstream
from .ledger import Ledger, nanos

BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
GLOBAL_MODEL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_MODEL = "claude-sonnet-4-5@20250929"
# What both platforms answer in the body: the foundation model, not what was billed.
ANSWERED = "claude-sonnet-4-5-20250929"
MESSAGES: Any = [{"role": "user", "content": "Where is my refund?"}]


def _cost(input_: str, read: str, write_5m: str, write_1h: str, output: str) -> int:
    """The mock usage's cost at these prices per million tokens, in nano-dollars."""
    return nanos(
        (
            INPUT * Decimal(input_)
            + CACHE_READ * Decimal(read)
            + CACHE_5M * Decimal(write_5m)
            + CACHE_1H * Decimal(write_1h)
            + OUTPUT * Decimal(output)
        )
        / 1_000_000
    )


# genai-prices' list prices: Bedrock's regional (us.) inference profile of claude-sonnet-4-5,
# its global profile, and Vertex AI's claude-sonnet-4-5.
BEDROCK_US_COST = _cost("3.3", "0.33", "4.125", "6.6", "16.5")
BEDROCK_GLOBAL_COST = _cost("3", "0.3", "3.75", "6", "15")
VERTEX_COST = _cost("3", "0.3", "3.75", "6", "15")


def _events(stream_events: list[bytes]) -> list[dict[str, Any]]:
    found = []
    for event in stream_events:
        for line in event.decode().splitlines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
    return found


class Platform:
    """Bedrock's and Vertex AI's Anthropic endpoints, answered in process."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = unquote(request.url.path)
        self.paths.append(path)
        body = json.loads(request.content)
        self.bodies.append(body)
        assert "model" not in body  # both platforms take the model in the URL
        if path.endswith("/invoke-with-response-stream"):
            frames = [aws_eventstream.chunk(e) for e in _events(sse_events(ANSWERED))]
            return httpx2.Response(
                200,
                headers={"content-type": "application/vnd.amazon.eventstream"},
                content=b"".join(frames),
            )
        if path.endswith(":streamRawPredict"):
            return httpx2.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=b"".join(sse_events(ANSWERED)),
            )
        if path.endswith("/invoke") or path.endswith(":rawPredict"):
            return httpx2.Response(200, json=message(ANSWERED))
        return httpx2.Response(404, json={"message": f"no mock for {path}"})

    def client(self, platform: str, kind: str) -> Any:
        sync = kind == "sync"
        http: Any = (httpx2.Client if sync else httpx2.AsyncClient)(
            transport=httpx2.MockTransport(self.handler)
        )
        common: dict[str, Any] = {"http_client": http, "max_retries": 0, "open_telemetry": False}
        if platform == "bedrock":
            cls: Any = anthropic.AnthropicBedrock if sync else anthropic.AsyncAnthropicBedrock
            return cls(api_key="bedrock-key", aws_region="us-east-1", **common)
        cls = anthropic.AnthropicVertex if sync else anthropic.AsyncAnthropicVertex
        return cls(region="us-east5", project_id="proj", access_token="token", **common)


def call(client: Any, kind: str, how: str, model: str, beta: bool = False) -> str:
    """One call: ``create``, ``create(stream=True)`` or ``stream()``; the text the caller got."""
    messages = client.beta.messages if beta else client.messages
    kw: dict[str, Any] = {"model": model, "max_tokens": 256, "messages": MESSAGES}

    async def run_async() -> str:
        if how == "create":
            return str((await messages.create(**kw)).content[0].text)
        if how == "create-stream":
            stream = await messages.create(stream=True, **kw)
            return "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])
        async with messages.stream(**kw) as stream:
            return "".join([t async for t in stream.text_stream])

    if kind == "async":
        return asyncio.run(run_async())
    if how == "create":
        return str(messages.create(**kw).content[0].text)
    if how == "create-stream":
        stream = messages.create(stream=True, **kw)
        return "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    with messages.stream(**kw) as helper:
        return "".join(helper.text_stream)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    monkeypatch.delenv("ANTHROPIC_BEDROCK_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_VERTEX_BASE_URL", raising=False)
    found = Ledger(tmp_path)
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=found.provider)
    yield found
    instrumentor.uninstrument()
    found.provider.shutdown()


CASES = [
    ("bedrock", BEDROCK_MODEL, "aws.bedrock", BEDROCK_US_COST),
    ("bedrock", GLOBAL_MODEL, "aws.bedrock", BEDROCK_GLOBAL_COST),
    ("vertex", VERTEX_MODEL, "gcp.vertex_ai", VERTEX_COST),
]


@pytest.mark.parametrize("how", ["create", "create-stream", "stream"])
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(("platform", "model", "provider", "cost"), CASES)
def test_one_row_at_the_platform_price_of_the_requested_model(
    ledger: Ledger, platform: str, model: str, provider: str, cost: int, kind: str, how: str
) -> None:
    api = Platform()
    client = api.client(platform, kind)
    with attribute_to(customer_id="cust_12345"):
        assert call(client, kind, how, model) == "Hello, world!"
    assert model in api.paths[0]  # the request went to the platform, for the model asked
    span = ledger.one()
    attrs = span.attributes or {}
    assert attrs[A.GEN_AI_PROVIDER_NAME] == provider
    assert attrs[A.GEN_AI_REQUEST_MODEL] == model
    # The body's foundation model is not what was billed: the requested id prices the call.
    assert A.GEN_AI_RESPONSE_MODEL not in attrs
    assert attrs[A.GEN_AI_RESPONSE_ID]
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == INPUT + CACHE_READ + CACHE_5M + CACHE_1H
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == CACHE_READ
    assert Decimal(str(attrs[A.COST_AMOUNT])) * 10**9 == cost
    assert span.name == f"chat {model}"
    [row] = ledger.rows()
    assert (row["provider"], row["model"], row["cost_nanos"], row["customer_id"]) == (
        provider,
        model,
        cost,
        "cust_12345",
    )
    assert (row["cache_read_tokens"], row["cache_write_5m_tokens"]) == (CACHE_READ, CACHE_5M)


@pytest.mark.parametrize("platform", ["bedrock", "vertex"])
def test_beta_messages_of_a_platform_client(ledger: Ledger, platform: str) -> None:
    model = BEDROCK_MODEL if platform == "bedrock" else VERTEX_MODEL
    client = Platform().client(platform, "sync")
    call(client, "sync", "create", model, beta=True)
    call(client, "sync", "stream", model, beta=True)
    rows = ledger.rows()
    assert len(rows) == 2
    assert {r["provider"] for r in rows} == {
        "aws.bedrock" if platform == "bedrock" else "gcp.vertex_ai"
    }


def test_copies_of_a_platform_client_and_the_first_party_client(ledger: Ledger) -> None:
    api = Platform()
    # anthropic 2.0's copy of a Bedrock client does not keep its http client: give it again.
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    client = api.client("bedrock", "sync").with_options(timeout=5, http_client=http)
    call(client, "sync", "create", BEDROCK_MODEL)
    first_party = anthropic.Anthropic(
        api_key="sk-ant-test",
        http_client=httpx2.Client(
            transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=message(ANSWERED)))
        ),
        open_telemetry=False,
    )
    first_party.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=MESSAGES)
    rows = ledger.rows()
    assert [(r["provider"], r["model"]) for r in rows] == [
        ("aws.bedrock", BEDROCK_MODEL),
        ("anthropic", ANSWERED),
    ]


def test_the_sdk_own_span_is_not_a_second_row(ledger: Ledger) -> None:
    api = Platform()
    client = anthropic.AnthropicBedrock(
        api_key="bedrock-key",
        aws_region="us-east-1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(api.handler)),
        open_telemetry={"tracer_provider": ledger.provider},
    )
    call(client, "sync", "create", BEDROCK_MODEL)
    assert len(ledger.all()) == 2  # ours and the SDK's own
    [row] = ledger.rows()
    assert (row["provider"], row["cost_nanos"]) == ("aws.bedrock", BEDROCK_US_COST)


def test_uninstrument_restores_the_platform_clients(ledger: Ledger) -> None:
    CostLedgerInstrumentor().uninstrument()
    try:
        client = Platform().client("bedrock", "sync")
        call(client, "sync", "create", BEDROCK_MODEL, beta=True)
        call(client, "sync", "create", BEDROCK_MODEL)
        assert ledger.all() == []
        for cls, name in (
            (anthropic.AnthropicBedrock, "__init__"),
            (type(client.beta.messages), "create"),
        ):
            assert not isinstance(cls.__dict__[name], wrapt.ObjectProxy), cls
    finally:
        CostLedgerInstrumentor().instrument(tracer_provider=ledger.provider)
