"""The Anthropic and OpenAI HTTP APIs, answered in process, byte-shaped like the real ones.

:class:`MockProviders` is the handler of an ``httpx2.MockTransport``; the demo gives the real
``anthropic.Anthropic`` and ``openai.OpenAI`` clients ``http_client=httpx2.Client(transport=...)``
so every SDK code path (request building, retries, response parsing, SSE decoding) runs for real
and only the network is replaced. Before each SDK call the app tells the mock which
:class:`~.traffic.PlannedCall` comes next (:meth:`MockProviders.expect`); the mock checks the
request against it and answers with the planned usage, so what reached the ledger can be compared
with what was sent.

Response shapes follow the public API references:

- Anthropic ``POST /v1/messages``: a ``message`` object with ``usage`` carrying
  ``input_tokens`` (uncached input only), ``cache_creation_input_tokens``,
  ``cache_read_input_tokens``, ``cache_creation.ephemeral_5m_input_tokens`` /
  ``ephemeral_1h_input_tokens`` and ``service_tier``; with ``stream: true`` the SSE sequence
  ``message_start``, ``content_block_start``, ``ping``, ``content_block_delta``…,
  ``content_block_stop``, ``message_delta`` (cumulative usage), ``message_stop``. Unknown
  ``metadata`` keys are rejected with a 400 ``invalid_request_error`` exactly as the API does, so
  an attribution key leaking to the provider fails loudly.
- OpenAI ``POST /v1/chat/completions``: ``chat.completion`` with ``usage.prompt_tokens``
  (including ``prompt_tokens_details.cached_tokens``); with ``stream: true`` the
  ``chat.completion.chunk`` SSE stream ending in ``data: [DONE]``, where the usage-only chunk
  (empty ``choices``) is sent only if the request asked for ``stream_options.include_usage``.
- OpenAI ``POST /v1/embeddings``: a ``list`` of ``embedding`` objects, as float arrays or
  base64 little-endian float32 (the SDK asks for base64 by default), ``dimensions`` honoured.
"""

from __future__ import annotations

import base64
import json
import random
import string
import struct
import threading
from collections.abc import Iterator
from typing import Any

import httpx2

from .traffic import PlannedCall

ANTHROPIC_HOST = "api.anthropic.com"
OPENAI_HOST = "api.openai.com"
_ANTHROPIC_METADATA_KEYS = frozenset({"user_id"})
_BASE62 = string.ascii_letters + string.digits


class MockProviders:
    """Answers Anthropic and OpenAI API requests with the planned call's response."""

    def __init__(self, seed: int | str = 0) -> None:
        self._rng = random.Random(f"mock-api:{seed}")
        self._lock = threading.Lock()
        self._next: PlannedCall | None = None
        self.served = 0
        self.rate_limited = 0  # 429 answers sent (each followed by a served retry)
        self._limited = False
        self.problems: list[str] = []  # requests that did not match the plan (a demo bug)

    def expect(self, call: PlannedCall) -> None:
        """The next request must be ``call``; it is answered with its planned usage."""
        with self._lock:
            self._next = call

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return self._problem(request, f"request body is not JSON: {request.content[:80]!r}")
        with self._lock:
            call, self._next = self._next, None
            if call is not None and call.rate_limited and not self._limited:
                # Answer this attempt with 429 and keep the call for the SDK's retry.
                self._limited, self._next = True, call
                self.rate_limited += 1
                return self._rate_limited(request, call)
            self._limited = False
        if call is None:
            return self._problem(request, f"unplanned request {request.method} {request.url}")
        host, path = request.url.host, request.url.path
        if host == ANTHROPIC_HOST and path == "/v1/messages":
            return self._anthropic_messages(request, body, call)
        if host == OPENAI_HOST and path == "/v1/chat/completions":
            return self._openai_chat(request, body, call)
        if host == OPENAI_HOST and path == "/v1/embeddings":
            return self._openai_embeddings(request, body, call)
        return self._problem(request, f"no mock for {request.method} {request.url}")

    # --- Anthropic ----------------------------------------------------------------------------

    def _anthropic_messages(
        self, request: httpx2.Request, body: dict[str, Any], call: PlannedCall
    ) -> httpx2.Response:
        for required in ("model", "max_tokens", "messages"):
            if required not in body:
                return _anthropic_error(400, "invalid_request_error", f"{required}: Field required")
        extra = sorted(set(body.get("metadata") or {}) - _ANTHROPIC_METADATA_KEYS)
        if extra:
            # What the real API answers when an attribution key is sent on.
            return _anthropic_error(
                400, "invalid_request_error", f"metadata.{extra[0]}: Extra inputs are not permitted"
            )
        mismatch = _mismatch(call, "anthropic", body)
        if mismatch:
            return self._problem(request, mismatch)
        self.served += 1
        message_id = "msg_01" + self._token(22)
        usage = _anthropic_usage(call)
        headers = {"request-id": "req_011C" + self._token(20)}
        if not body.get("stream"):
            message = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": call.model,
                "content": [{"type": "text", "text": call.output_text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }
            return httpx2.Response(200, json=message, headers=headers)
        start_usage = dict(usage, output_tokens=min(call.usage.output_tokens, 1))
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": call.model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": start_usage,
                    },
                },
            ),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ("ping", {"type": "ping"}),
        ]
        for piece in _pieces(call.output_text, self._rng):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        # message_delta carries the CUMULATIVE usage of the whole message.
        delta_usage = {
            "input_tokens": usage["input_tokens"],
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
            "output_tokens": usage["output_tokens"],
        }
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": delta_usage,
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        payload = "".join(
            f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
            for name, data in events
        )
        return _sse(payload, headers)

    # --- OpenAI -------------------------------------------------------------------------------

    def _openai_chat(
        self, request: httpx2.Request, body: dict[str, Any], call: PlannedCall
    ) -> httpx2.Response:
        if "model" not in body or "messages" not in body:
            return _openai_error(400, "Missing required parameter: 'model' or 'messages'.")
        mismatch = _mismatch(call, "openai", body)
        if mismatch:
            return self._problem(request, mismatch)
        self.served += 1
        completion_id = "chatcmpl-" + self._token(29)
        created = 1_700_000_000 + self._rng.randrange(60_000_000)
        fingerprint = "fp_" + "".join(self._rng.choices("0123456789abcdef", k=10))
        headers = {"x-request-id": "req_" + self._token(32).lower()}
        usage = _openai_usage(call)
        if not body.get("stream"):
            completion = {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": call.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": call.output_text,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": fingerprint,
            }
            return httpx2.Response(200, json=completion, headers=headers)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> str:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": call.model,
                "service_tier": "default",
                "system_fingerprint": fingerprint,
                "choices": choices,
            }
            if include_usage:
                data["usage"] = chunk_usage
            data["obfuscation"] = self._token(self._rng.randint(2, 12))
            return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"

        parts = [
            chunk([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
                    "logprobs": None, "finish_reason": None}])
        ]  # fmt: skip
        for piece in _pieces(call.output_text, self._rng):
            parts.append(
                chunk([{"index": 0, "delta": {"content": piece}, "logprobs": None,
                        "finish_reason": None}])
            )  # fmt: skip
        parts.append(chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
        if include_usage:
            parts.append(chunk([], usage))
        parts.append("data: [DONE]\n\n")
        return _sse("".join(parts), headers)

    def _openai_embeddings(
        self, request: httpx2.Request, body: dict[str, Any], call: PlannedCall
    ) -> httpx2.Response:
        if "model" not in body or "input" not in body:
            return _openai_error(400, "Missing required parameter: 'model' or 'input'.")
        mismatch = _mismatch(call, "openai", body)
        if mismatch:
            return self._problem(request, mismatch)
        self.served += 1
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dimensions = int(body.get("dimensions") or 1536)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, _ in enumerate(inputs):
            vector = [self._rng.uniform(-0.08, 0.08) for _ in range(dimensions)]
            embedding: Any
            if as_base64:
                packed = struct.pack(f"<{dimensions}f", *vector)
                embedding = base64.b64encode(packed).decode("ascii")
            else:
                embedding = [round(v, 9) for v in vector]
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = call.usage.input_tokens
        response = {
            "object": "list",
            "data": data,
            "model": call.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return httpx2.Response(
            200, json=response, headers={"x-request-id": "req_" + self._token(32).lower()}
        )

    def _rate_limited(self, request: httpx2.Request, call: PlannedCall) -> httpx2.Response:
        # A short retry-after-ms (both SDKs honour it) keeps the demo fast.
        headers = {"retry-after-ms": "20", "retry-after": "1", "x-should-retry": "true"}
        if request.url.host == ANTHROPIC_HOST:
            headers["request-id"] = "req_011C" + self._token(20)
            body: dict[str, Any] = {
                "type": "error",
                "error": {
                    "type": "rate_limit_error",
                    "message": "This request would exceed the rate limit for your organization"
                    " of 400,000 input tokens per minute. For details, refer to:"
                    " https://docs.claude.com/en/api/rate-limits.",
                },
            }
        else:
            headers["x-request-id"] = "req_" + self._token(32).lower()
            body = {
                "error": {
                    "message": f"Rate limit reached for {call.request_model} on tokens per min"
                    f" (TPM): Limit 200000, Used 199412, Requested {call.usage.input_tokens}."
                    " Please try again in 20ms.",
                    "type": "tokens",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
        return httpx2.Response(429, json=body, headers=headers)

    # --- helpers ------------------------------------------------------------------------------

    def _token(self, length: int) -> str:
        return "".join(self._rng.choices(_BASE62, k=length))

    def _problem(self, request: httpx2.Request, problem: str) -> httpx2.Response:
        self.problems.append(problem)
        if request.url.host == ANTHROPIC_HOST:
            return _anthropic_error(400, "invalid_request_error", f"demo mock: {problem}")
        return _openai_error(400, f"demo mock: {problem}")


def _mismatch(call: PlannedCall, provider: str, body: dict[str, Any]) -> str | None:
    if call.provider != provider:
        return f"expected a {call.provider} call ({call.kind}), got a {provider} request"
    if body.get("model") != call.request_model:
        return f"expected model {call.request_model!r}, got {body.get('model')!r}"
    if bool(body.get("stream")) != call.stream:
        return f"expected stream={call.stream}, got stream={bool(body.get('stream'))}"
    return None


def _anthropic_usage(call: PlannedCall) -> dict[str, Any]:
    usage = call.usage
    return {
        # Anthropic's input_tokens counts only the input that was neither read from nor
        # written to the cache.
        "input_tokens": usage.uncached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_5m_tokens,
            "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
        },
        "output_tokens": usage.output_tokens,
        "service_tier": "standard",
    }


def _openai_usage(call: PlannedCall) -> dict[str, Any]:
    usage = call.usage
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _pieces(text: str, rng: random.Random) -> Iterator[str]:
    """The text in stream deltas of a few words, as the APIs send them."""
    words = text.split(" ")
    i = 0
    while i < len(words):
        n = rng.randint(5, 14)
        piece = " ".join(words[i : i + n])
        i += n
        yield piece if i >= len(words) else piece + " "


def _sse(payload: str, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.Response(
        200,
        content=payload.encode("utf-8"),
        headers={**headers, "content-type": "text/event-stream; charset=utf-8",
                 "cache-control": "no-cache"},
    )  # fmt: skip


def _anthropic_error(status: int, kind: str, message: str) -> httpx2.Response:
    return httpx2.Response(
        status, json={"type": "error", "error": {"type": kind, "message": message}}
    )


def _openai_error(status: int, message: str) -> httpx2.Response:
    return httpx2.Response(
        status,
        json={
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )
