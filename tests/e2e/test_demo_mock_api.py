"""The demo's mock Anthropic / OpenAI APIs answer in the APIs' own shapes.

Every response body and every SSE event is validated against the SDKs' response models (the
SDKs themselves build responses without validating, so a wrong shape would pass silently
there), and carries no field the models do not know.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from opentelemetry.exporter.costledger.demo.customers import (
    EMBEDDING,
    GPT_MINI,
    GPT_MINI_ALIAS,
    SONNET,
)
from opentelemetry.exporter.costledger.demo.mock_api import MockProviders
from opentelemetry.exporter.costledger.demo.plan import PlannedCall
from opentelemetry.instrumentation.costledger.usage import TokenUsage
from pydantic import BaseModel, TypeAdapter

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

DRAFT = PlannedCall(
    "chat_anthropic",
    "api",
    "anthropic",
    SONNET,
    SONNET,
    TokenUsage(
        input_tokens=9_000,
        output_tokens=420,
        cache_read_tokens=0,
        cache_write_5m_tokens=0,
        cache_write_1h_tokens=5_830,
    ),
    output_text="Thanks for reaching out. I have issued a refund for the duplicate amount.",
)
TRIAGE = PlannedCall(
    "triage",
    "api",
    "openai",
    GPT_MINI,
    GPT_MINI_ALIAS,
    TokenUsage(input_tokens=1_600, output_tokens=30, cache_read_tokens=1_408),
    output_text='{"category": "billing", "priority": "high"}',
)


def _post(api: MockProviders, url: str, body: dict[str, Any]) -> httpx2.Response:
    response = api.handle(httpx2.Request("POST", url, json=body))
    response.read()
    return response


# Keys the real API sends that older supported SDK releases do not declare yet (they keep them
# as extra fields): the streaming chunks' ``obfuscation``, declared by later openai releases.
SENT_BEFORE_DECLARED = frozenset({"obfuscation"})


def _no_unknown_fields(model: BaseModel) -> None:
    """Recursively: every key we sent is a field the SDK's model declares."""
    extra = set(model.model_extra or {}) - SENT_BEFORE_DECLARED
    assert not extra, f"{type(model).__name__} has undeclared fields {sorted(extra)}"
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                _no_unknown_fields(item)


def _sse(response: httpx2.Response) -> list[tuple[str | None, str]]:
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = line[len("data: ") :]
        events.append((name, data))
    return events


ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"
OPENAI_CHAT_URL = "https://api.openai.com/v1/chat/completions"
REQUEST = {"model": SONNET, "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}]}


def test_anthropic_message_shape_and_cache_usage() -> None:
    api = MockProviders(seed=1)
    api.expect(DRAFT)
    response = _post(api, ANTHROPIC_URL, REQUEST)
    assert response.status_code == 200
    message = Message.model_validate(response.json())
    _no_unknown_fields(message)
    assert message.model == SONNET and message.id.startswith("msg_01")
    usage = message.usage
    # Anthropic's input_tokens is the UNCACHED input; cache read/write come separately.
    assert usage.input_tokens == 9_000 - 5_830
    assert usage.cache_creation_input_tokens == 5_830
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_1h_input_tokens == 5_830
    assert usage.cache_creation.ephemeral_5m_input_tokens == 0
    assert usage.output_tokens == 420 and usage.service_tier == "standard"


def test_anthropic_stream_events() -> None:
    api = MockProviders(seed=1)
    stream_call = PlannedCall(**{**_fields(DRAFT), "stream": True})
    api.expect(stream_call)
    response = _post(api, ANTHROPIC_URL, {**REQUEST, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    # message_delta twice: its usage is cumulative, the last one carries the whole message's.
    assert names[-4:] == ["content_block_stop", "message_delta", "message_delta", "message_stop"]
    assert set(names[3:-4]) == {"content_block_delta"}
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    text = ""
    for name, data in events:
        payload = json.loads(data)
        assert payload["type"] == name
        if name == "ping":
            continue
        event = adapter.validate_python(payload)
        _no_unknown_fields(event)
        if name == "content_block_delta":
            text += event.delta.text
        if name == "message_delta":
            # Cumulative usage of the whole message, as the API sends it.
            assert event.usage.output_tokens <= 420
            assert event.usage.cache_creation_input_tokens == 5_830
            output_tokens = event.usage.output_tokens
    assert output_tokens == 420
    assert text == DRAFT.output_text


def test_anthropic_rejects_attribution_keys_in_metadata_like_the_api() -> None:
    api = MockProviders(seed=1)
    client = anthropic.Anthropic(
        api_key="k", http_client=httpx2.Client(transport=api.transport()), max_retries=0
    )
    api.expect(DRAFT)
    metadata: Any = {"user_id": "u1", "customer_id": "cust_1"}  # not an API metadata key
    with pytest.raises(anthropic.BadRequestError, match=r"metadata\.customer_id"):
        client.messages.create(
            model=SONNET,
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
            metadata=metadata,
        )


def test_openai_chat_completion_with_cached_tokens() -> None:
    api = MockProviders(seed=1)
    api.expect(TRIAGE)
    response = _post(
        api,
        OPENAI_CHAT_URL,
        {"model": GPT_MINI_ALIAS, "messages": [{"role": "user", "content": "x"}]},
    )
    completion = ChatCompletion.model_validate(response.json())
    _no_unknown_fields(completion)
    assert completion.model == GPT_MINI and completion.id.startswith("chatcmpl-")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 1_600  # includes the cached tokens
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 1_408
    assert completion.usage.total_tokens == 1_630


@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_stream_sends_usage_only_when_asked(include_usage: bool) -> None:
    api = MockProviders(seed=1)
    api.expect(PlannedCall(**{**_fields(TRIAGE), "stream": True}))
    body: dict[str, Any] = {
        "model": GPT_MINI_ALIAS,
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
    }
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    events = _sse(_post(api, OPENAI_CHAT_URL, body))
    assert events[-1] == (None, "[DONE]")
    chunks = [ChatCompletionChunk.model_validate(json.loads(data)) for _, data in events[:-1]]
    for chunk in chunks:
        _no_unknown_fields(chunk)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TRIAGE.output_text
    assert chunks[0].choices[0].delta.role == "assistant"
    usage_chunks = [c for c in chunks if c.usage is not None]
    raw = [json.loads(data) for _, data in events[:-1]]
    if include_usage:
        assert usage_chunks == [chunks[-1]] and chunks[-1].choices == []
        assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 1_600
        assert all("usage" in r for r in raw)  # null on every other chunk
    else:
        assert usage_chunks == [] and all("usage" not in r for r in raw)


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_openai_embeddings(encoding: str) -> None:
    api = MockProviders(seed=1)
    api.expect(
        PlannedCall(
            "embedding",
            "embedding",
            "openai",
            EMBEDDING,
            EMBEDDING,
            TokenUsage(input_tokens=57),
            input_texts=("hello",),
        )
    )
    response = _post(
        api,
        "https://api.openai.com/v1/embeddings",
        {"model": EMBEDDING, "input": "hello", "dimensions": 64, "encoding_format": encoding},
    )
    body = response.json()
    vector: Any = body["data"][0]["embedding"]
    if encoding == "base64":
        # On the wire a base64 string of little-endian float32s; the SDK decodes it to floats.
        assert isinstance(vector, str)
        vector = list(struct.unpack("<64f", base64.b64decode(vector)))
        body["data"][0]["embedding"] = vector
    parsed = CreateEmbeddingResponse.model_validate(body)
    _no_unknown_fields(parsed)
    assert parsed.usage.prompt_tokens == parsed.usage.total_tokens == 57
    assert len(parsed.data[0].embedding) == 64


def test_embeddings_through_the_sdk_default_base64() -> None:
    api = MockProviders(seed=1)
    client = openai.OpenAI(api_key="k", http_client=httpx2.Client(transport=api.transport()))
    api.expect(
        PlannedCall(
            "embedding", "embedding", "openai", EMBEDDING, EMBEDDING, TokenUsage(input_tokens=9)
        )
    )
    result = client.embeddings.create(model=EMBEDDING, input="hello", dimensions=32)
    assert len(result.data[0].embedding) == 32
    assert all(isinstance(x, float) for x in result.data[0].embedding)


def test_a_request_that_does_not_match_the_plan_is_refused_and_reported() -> None:
    api = MockProviders(seed=1)
    api.expect(TRIAGE)
    response = _post(api, ANTHROPIC_URL, REQUEST)
    assert response.status_code == 400
    assert api.problems and "expected a openai call" in api.problems[0]
    unplanned = _post(api, ANTHROPIC_URL, REQUEST)
    assert unplanned.status_code == 400 and "unplanned request" in api.problems[1]


def _fields(call: PlannedCall) -> dict[str, Any]:
    return {name: getattr(call, name) for name in PlannedCall.__dataclass_fields__}


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_rate_limited_call_is_retried_by_the_sdk_and_answered_once(provider: str) -> None:
    api = MockProviders(seed=1)
    http = httpx2.Client(transport=api.transport())
    call = DRAFT if provider == "anthropic" else TRIAGE
    api.expect(PlannedCall(**{**_fields(call), "stream": False, "rate_limited": True}))
    if provider == "anthropic":
        client = anthropic.Anthropic(api_key="k", http_client=http)
        message = client.messages.create(
            model=SONNET, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.usage.output_tokens == 420
    else:
        oai = openai.OpenAI(api_key="k", http_client=http)
        completion = oai.chat.completions.create(
            model=GPT_MINI_ALIAS, messages=[{"role": "user", "content": "x"}]
        )
        assert completion.usage is not None and completion.usage.prompt_tokens == 1_600
    assert (api.rate_limited, api.served, api.problems) == (1, 1, [])
