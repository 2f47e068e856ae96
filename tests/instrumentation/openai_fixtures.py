"""A fake OpenAI API for tests: an ``httpx2.MockTransport`` handler that answers like the real one.

The real ``openai`` SDK talks to :class:`FakeOpenAI` through ``http_client=httpx2.Client(
transport=httpx2.MockTransport(fake.handler))``, so everything above the transport (request
building, SSE decoding, the stream helpers) is the SDK's own code. The payloads follow the API
reference byte for byte where it matters to us:

- chat completions: ``usage.prompt_tokens`` INCLUDES ``prompt_tokens_details.cached_tokens``;
  ``completion_tokens`` INCLUDES ``completion_tokens_details.reasoning_tokens``; ``service_tier``
  echoes the tier that served the request (``priority`` for ``fast``, ``default`` for ``auto``).
- chat streams: with ``stream_options.include_usage`` every chunk carries ``"usage": null`` and one
  extra chunk with ``"choices": []`` and the usage comes before ``data: [DONE]``; without it no
  chunk has a ``usage`` key at all.
- chat ``metadata`` is rejected unless ``store`` is true, with the API's own error text.
- responses: ``usage.input_tokens_details.cached_tokens`` / ``cache_write_tokens`` and
  ``output_tokens_details.reasoning_tokens``; streams are named SSE events ending in
  ``response.completed``; ``background=true`` answers ``queued`` without usage and the completed
  response is served by ``GET /responses/{id}`` (also as a stream).
- embeddings: base64 float32 vectors when the SDK asks for ``encoding_format=base64`` (its
  default), ``usage`` with ``prompt_tokens`` and ``total_tokens``.
- errors: the API's ``{"error": {...}}`` body with an HTTP status, a mid-stream ``error`` event,
  or a transport-level connection failure.
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai

BASE_URL = "https://api.openai.com/v1"

# Dated snapshots the API reports as the response model.
SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-5": "gpt-5-2025-08-07",
}
CREATED = 1_764_100_000
FINGERPRINT = "fp_560af6e559"


@dataclass(frozen=True)
class UsageSpec:
    """What the fake reports; ``input_tokens`` includes the cached and cache-written tokens."""

    input_tokens: int = 1200
    cached_tokens: int = 1024
    cache_write_tokens: int = 0
    output_tokens: int = 300
    reasoning_tokens: int = 128

    def chat(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "prompt_tokens_details": {
                "cached_tokens": self.cached_tokens,
                "audio_tokens": 0,
            },
            "completion_tokens_details": {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def responses(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {
                "cached_tokens": self.cached_tokens,
                "cache_write_tokens": self.cache_write_tokens,
            },
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@dataclass
class Failure:
    """One scripted failure: an HTTP error (``status``) or, with ``status=None``, no connection."""

    status: int | None
    message: str = "The server had an error while processing your request."
    type: str = "server_error"
    code: str | None = None
    param: str | None = None


def error_body(message: str, type_: str, *, param: str | None = None, code: str | None = None):
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass
class FakeOpenAI:
    """The fake API. ``requests`` holds every request the transport received, in order."""

    usage: UsageSpec = field(default_factory=UsageSpec)
    text: tuple[str, ...] = ("Hello", " from", " the", " fake", " API.")
    # Close a stream with an API ``error`` event after this many content deltas.
    stream_error_after: int | None = None
    # Drop the connection (a transport ReadError) after this many SSE events.
    stream_break_after: int | None = None
    bodies_sent: list[EventBody] = field(default_factory=list)
    # Retrieves of a background response that still answer ``in_progress``.
    background_polls: int = 0
    # Answer like a server that does not know ``stream_options`` (old Azure API versions).
    reject_stream_options: bool = False
    requests: list[httpx2.Request] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- clients ---------------------------------------------------------------------------
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handler)

    def client(self, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(
            api_key="sk-test",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.Client(transport=self.transport()),
            **kwargs,
        )

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key="sk-test",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=self.transport()),
            **kwargs,
        )

    # --- what was sent ---------------------------------------------------------------------
    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) if r.content else {} for r in self.requests]

    @property
    def last_body(self) -> dict[str, Any]:
        return self.bodies[-1]

    def fail_next(self, failure: Failure) -> None:
        self.failures.append(failure)

    # --- the handler -------------------------------------------------------------------------
    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self._answer(request)

    def _answer(self, request: httpx2.Request) -> httpx2.Response:
        if self.failures:
            failure = self.failures.pop(0)
            if failure.status is None:
                raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)
            body = error_body(failure.message, failure.type, param=failure.param, code=failure.code)
            return _json(failure.status, body)
        # OpenAI: /v1/...; Azure OpenAI: /openai/deployments/{deployment}/...
        path = request.url.path.removeprefix("/v1")
        if path.startswith("/openai/deployments/"):
            path = "/" + path.split("/", 4)[4]
        if request.method == "POST" and path == "/chat/completions":
            return self._chat(json.loads(request.content))
        if request.method == "POST" and path == "/responses":
            return self._responses(json.loads(request.content))
        if request.method == "GET" and path.startswith("/responses/"):
            return self._retrieve(path.removeprefix("/responses/"), request.url.params)
        if request.method == "POST" and path == "/embeddings":
            return self._embeddings(json.loads(request.content))
        return _json(
            404, error_body(f"Invalid URL ({request.method} {path})", "invalid_request_error")
        )

    def _stream(self, events: Any) -> httpx2.Response:
        response = _sse(events, self.stream_break_after)
        assert isinstance(response.stream, EventBody)
        self.bodies_sent.append(response.stream)
        return response

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):024x}"

    # --- chat completions --------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> httpx2.Response:
        if self.reject_stream_options and "stream_options" in body:
            message = "Unrecognized request argument supplied: stream_options"
            return _json(400, error_body(message, "invalid_request_error"))
        problem = _check_metadata(body.get("metadata"))
        if body.get("metadata") is not None and body.get("store") is not True:
            problem = "The 'metadata' parameter is only allowed when 'store' is enabled."
        if problem:
            return _json(400, error_body(problem, "invalid_request_error", param="metadata"))
        model = SNAPSHOTS.get(body["model"], body["model"])
        tier = served_tier(body.get("service_tier"))
        completion_id = self._next_id("chatcmpl-")
        if not body.get("stream"):
            return _json(
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": CREATED,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": "".join(self.text),
                                "refusal": None,
                                "annotations": [],
                            },
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": self.usage.chat(),
                    "service_tier": tier,
                    "system_fingerprint": FINGERPRINT,
                },
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[dict[str, Any]], n: int, **extra: Any) -> dict[str, Any]:
            out: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "service_tier": tier,
                "system_fingerprint": FINGERPRINT,
                "choices": choices,
            }
            if include_usage:
                out["usage"] = None
            out.update(extra)
            out["obfuscation"] = f"o{n:05d}"
            return out

        events: list[dict[str, Any]] = [
            chunk(
                [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": "", "refusal": None},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
                0,
            )
        ]
        for n, piece in enumerate(self.text, start=1):
            if self.stream_error_after is not None and n > self.stream_error_after:
                events.append(error_body("Internal error while streaming.", "server_error"))
                return self._stream((None, e) for e in events)
            events.append(
                chunk(
                    [
                        {
                            "index": 0,
                            "delta": {"content": piece},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ],
                    n,
                )
            )
        events.append(
            chunk(
                [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
                len(self.text) + 1,
            )
        )
        if include_usage:
            events.append(chunk([], len(self.text) + 2, usage=self.usage.chat()))
        return self._stream([*((None, e) for e in events), (None, "[DONE]")])

    # --- responses ---------------------------------------------------------------------------
    def _response_object(
        self, body: dict[str, Any], response_id: str, status: str, *, with_output: bool
    ) -> dict[str, Any]:
        text = "".join(self.text)
        output: list[dict[str, Any]] = []
        if with_output:
            output = [
                {
                    "id": "rs_" + response_id[5:],
                    "type": "reasoning",
                    "summary": [],
                },
                {
                    "id": "msg_" + response_id[5:],
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                    ],
                },
            ]
        metadata = body.get("metadata") or {}
        return {
            "id": response_id,
            "object": "response",
            "created_at": CREATED,
            "status": status,
            "background": bool(body.get("background")),
            "completed_at": CREATED + 2 if status == "completed" else None,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": SNAPSHOTS.get(body["model"], body["model"]),
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": None,
            "reasoning": {"effort": "medium", "summary": None},
            "safety_identifier": None,
            "service_tier": served_tier(body.get("service_tier")),
            "store": body.get("store", True),
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": self.usage.responses() if status == "completed" else None,
            "user": None,
            "metadata": metadata,
        }

    def _responses(self, body: dict[str, Any]) -> httpx2.Response:
        problem = _check_metadata(body.get("metadata"))
        if problem:
            return _json(400, error_body(problem, "invalid_request_error", param="metadata"))
        response_id = self._next_id("resp_")
        completed = self._response_object(body, response_id, "completed", with_output=True)
        if body.get("background"):
            self.stored[response_id] = completed
            if not body.get("stream"):
                queued = self._response_object(body, response_id, "queued", with_output=False)
                return _json(200, queued)
        elif body.get("store", True):
            self.stored[response_id] = completed
        if not body.get("stream"):
            return _json(200, completed)
        return self._stream(self._response_events(body, completed))

    def _response_events(
        self, body: dict[str, Any], completed: dict[str, Any]
    ) -> Iterator[tuple[str | None, Any]]:
        response_id = completed["id"]
        in_progress = self._response_object(body, response_id, "in_progress", with_output=False)
        seq = itertools.count()
        message = completed["output"][1]
        reasoning = completed["output"][0]
        item_id = message["id"]

        def event(kind: str, **payload: Any) -> tuple[str, dict[str, Any]]:
            return kind, {"type": kind, "sequence_number": next(seq), **payload}

        yield event("response.created", response=in_progress)
        yield event("response.in_progress", response=in_progress)
        yield event("response.output_item.added", output_index=0, item=reasoning)
        yield event("response.output_item.done", output_index=0, item=reasoning)
        yield event(
            "response.output_item.added",
            output_index=1,
            item={**message, "status": "in_progress", "content": []},
        )
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield event(
            "response.content_part.added",
            item_id=item_id,
            output_index=1,
            content_index=0,
            part=part,
        )
        for n, piece in enumerate(self.text, start=1):
            if self.stream_error_after is not None and n > self.stream_error_after:
                yield event(
                    "error",
                    code="server_error",
                    message="Internal error while streaming.",
                    param=None,
                )
                return
            yield event(
                "response.output_text.delta",
                item_id=item_id,
                output_index=1,
                content_index=0,
                delta=piece,
                logprobs=[],
                obfuscation=f"o{n:05d}",
            )
        text = "".join(self.text)
        yield event(
            "response.output_text.done",
            item_id=item_id,
            output_index=1,
            content_index=0,
            text=text,
            logprobs=[],
        )
        yield event(
            "response.content_part.done",
            item_id=item_id,
            output_index=1,
            content_index=0,
            part={**part, "text": text},
        )
        yield event("response.output_item.done", output_index=1, item=message)
        yield event("response.completed", response=completed)

    def _retrieve(self, response_id: str, params: httpx2.QueryParams) -> httpx2.Response:
        stored = self.stored.get(response_id)
        if stored is None:
            message = f"Response with id '{response_id}' not found."
            return _json(404, error_body(message, "invalid_request_error", param="response_id"))
        if stored["background"] and self.background_polls > 0:
            self.background_polls -= 1
            running = {**stored, "status": "in_progress", "output": [], "usage": None}
            running["completed_at"] = None
            return _json(200, running)
        if params.get("stream") == "true":
            body = {"model": stored["model"], "background": stored["background"]}
            return self._stream(self._response_events(body, stored))
        return _json(200, stored)

    # --- embeddings --------------------------------------------------------------------------
    def _embeddings(self, body: dict[str, Any]) -> httpx2.Response:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = body.get("dimensions", 4)
        data = []
        for index, _ in enumerate(inputs):
            vector = [round(0.125 * (index + 1) * (d + 1), 6) for d in range(dims)]
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{dims}f", *vector)
                embedding: Any = base64.b64encode(packed).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = self.usage.input_tokens
        return _json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


def served_tier(requested: str | None) -> str:
    """The tier the API reports for a requested one: ``fast`` is served as ``priority``."""
    if requested in (None, "auto", "default"):
        return "default"
    if requested == "fast":
        return "priority"
    return requested


def _check_metadata(metadata: Any) -> str | None:
    """The API's own limits on ``metadata``: up to 16 string pairs, keys <= 64, values <= 512."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16:
        return "Invalid 'metadata': expected an object with at most 16 properties."
    for key, value in metadata.items():
        if len(key) > 64:
            return f"Invalid 'metadata': key '{key}' is longer than 64 characters."
        if not isinstance(value, str) or len(value) > 512:
            return f"Invalid 'metadata.{key}': expected a string of at most 512 characters."
    return None


def _headers(**extra: str) -> dict[str, str]:
    return {"x-request-id": "req_0123456789abcdef", "openai-processing-ms": "120", **extra}


def _json(status: int, payload: Any) -> httpx2.Response:
    return httpx2.Response(
        status,
        headers=_headers(**{"content-type": "application/json"}),
        content=json.dumps(payload).encode(),
    )


class EventBody(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """An SSE body sent one event per chunk; it can drop the connection after ``break_after``."""

    def __init__(self, chunks: list[bytes], break_after: int | None = None) -> None:
        self.chunks = chunks
        self.break_after = break_after
        self.sent = 0
        self.closed = False

    def _pieces(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if self.break_after is not None and self.sent >= self.break_after:
                raise httpx2.ReadError("peer closed connection without sending complete message")
            self.sent += 1
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._pieces():
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def _sse(events: Any, break_after: int | None = None) -> httpx2.Response:
    """Server-sent events; ``(None, "[DONE]")`` is the literal chat terminator."""
    chunks = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        chunks.append(((f"event: {name}\n" if name else "") + f"data: {payload}\n\n").encode())
    return httpx2.Response(
        200,
        headers=_headers(**{"content-type": "text/event-stream; charset=utf-8"}),
        stream=EventBody(chunks, break_after),
    )
