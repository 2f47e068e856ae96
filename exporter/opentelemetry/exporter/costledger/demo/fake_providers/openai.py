"""The OpenAI API, answered in process like the real one (see the package's docstring).

- chat completions: ``usage.prompt_tokens`` INCLUDES ``prompt_tokens_details.cached_tokens``;
  ``completion_tokens`` INCLUDES ``completion_tokens_details.reasoning_tokens``; ``service_tier``
  echoes the tier that served the request (``priority`` for ``fast``, ``default`` for ``auto``);
  ``model`` and ``messages`` are required; ``metadata`` is refused unless ``store`` is true, with
  the API's own error text.
- chat streams: with ``stream_options.include_usage`` every chunk carries ``"usage": null`` and one
  extra chunk with ``"choices": []`` and the usage comes before ``data: [DONE]``; without it no
  chunk has a ``usage`` key at all. ``reject_stream_options`` answers like a server that does not
  know ``stream_options`` (old Azure API versions).
- responses (:mod:`.openai_responses`): ``usage.input_tokens_details.cached_tokens`` /
  ``cache_write_tokens`` and ``output_tokens_details.reasoning_tokens``; streams are named SSE
  events ending in ``response.completed``; ``background=true`` answers ``queued`` without usage
  and the completed response is served by ``GET /responses/{id}`` (also as a stream), after
  ``background_polls`` answers ``in_progress``.
- embeddings: base64 little-endian float32 vectors when the SDK asks for
  ``encoding_format=base64`` (its default), floats otherwise, ``dimensions`` honoured; ``usage``
  with ``prompt_tokens`` and ``total_tokens``.
- Azure OpenAI's ``/openai/deployments/{deployment}/...`` paths are answered as ``/v1/...``.
- errors: scripted :class:`~.shared.Failure`\\ s in the API's ``{"error": {...}}`` body, a
  mid-stream ``error`` event (``stream_error_after``), a connection dropped mid-stream
  (``stream_break_after``).
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import httpx2

from .openai_responses import create_response, retrieve_response
from .openai_rules import STREAM_ERROR, check_metadata, error_body, served_tier
from .shared import Failure, FakeAPI, UsageSpec, json_response, sse_event

BASE_URL = "https://api.openai.com/v1"
# Dated snapshots the API reports as the response model.
SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-5": "gpt-5-2025-08-07",
}
TEXT = ("Hello", " from", " the", " fake", " API.")


def chat_usage(spec: UsageSpec) -> dict[str, Any]:
    """A chat completion's ``usage`` for ``spec``."""
    return {
        "prompt_tokens": spec.input_tokens,
        "completion_tokens": spec.output_tokens,
        "total_tokens": spec.input_tokens + spec.output_tokens,
        "prompt_tokens_details": {"cached_tokens": spec.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": spec.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class FakeOpenAI(FakeAPI):
    """The fake OpenAI API. ``usage``, ``text`` and ``snapshots`` may change between calls."""

    def __init__(
        self,
        usage: UsageSpec | None = None,
        text: tuple[str, ...] = TEXT,
        *,
        background_polls: int = 0,
        reject_stream_options: bool = False,
        dimensions: int = 4,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.usage = usage or UsageSpec()
        self.text = text
        self.snapshots = dict(SNAPSHOTS)  # request model -> the model the answer names
        # Retrieves of a background response that still answer ``in_progress``.
        self.background_polls = background_polls
        self.reject_stream_options = reject_stream_options
        self.dimensions = dimensions  # embeddings' size when the request names none
        # Chat completions' finish reason: ``length`` says the answer was cut at its token limit.
        self.finish_reason = "stop"
        self.stored: dict[str, dict[str, Any]] = {}

    # --- clients -------------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> Any:
        import openai

        http_client = httpx2.Client(transport=self.transport())
        settings = {"api_key": "sk-test", "base_url": BASE_URL, "max_retries": 0, **kwargs}
        return openai.OpenAI(http_client=http_client, **settings)

    def async_client(self, **kwargs: Any) -> Any:
        import openai

        http_client = httpx2.AsyncClient(transport=self.transport())
        settings = {"api_key": "sk-test", "base_url": BASE_URL, "max_retries": 0, **kwargs}
        return openai.AsyncOpenAI(http_client=http_client, **settings)

    # --- answers -------------------------------------------------------------------------------
    def response_headers(self) -> dict[str, str]:
        return {"x-request-id": self.ids.openai_request_id(), "openai-processing-ms": "120"}

    def json(self, status: int, payload: Any) -> httpx2.Response:
        return json_response(status, payload, self.response_headers())

    def error(self, failure: Failure) -> httpx2.Response:
        kind = failure.type or "server_error"
        body = error_body(failure.message, kind, param=failure.param, code=failure.code)
        headers = {**failure.headers, **self.response_headers()}
        return json_response(failure.status or 500, body, headers)

    def invalid(self, message: str, param: str | None = None) -> httpx2.Response:
        return self.error(Failure(400, message, "invalid_request_error", param=param))

    def answer(self, request: httpx2.Request, body: dict[str, Any]) -> httpx2.Response:
        # OpenAI: /v1/...; Azure OpenAI: /openai/deployments/{deployment}/...
        path = request.url.path.removeprefix("/v1")
        if path.startswith("/openai/deployments/"):
            path = "/" + path.split("/", 4)[4]
        if request.method == "POST" and path == "/chat/completions":
            return self._chat(body)
        if request.method == "POST" and path == "/responses":
            return create_response(self, body)
        if request.method == "GET" and path.startswith("/responses/"):
            return retrieve_response(self, path.removeprefix("/responses/"), request.url.params)
        if request.method == "POST" and path == "/embeddings":
            return self._embeddings(body)
        return self.error(
            Failure(404, f"Invalid URL ({request.method} {path})", "invalid_request_error")
        )

    # --- chat completions ----------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> httpx2.Response:
        if "model" not in body or "messages" not in body:
            return self.invalid("Missing required parameter: 'model' or 'messages'.")
        if self.reject_stream_options and "stream_options" in body:
            return self.invalid("Unrecognized request argument supplied: stream_options")
        problem = check_metadata(body.get("metadata"))
        if body.get("metadata") is not None and body.get("store") is not True:
            problem = "The 'metadata' parameter is only allowed when 'store' is enabled."
        if problem:
            return self.invalid(problem, param="metadata")
        common = {
            "id": self.ids.openai_id("chatcmpl-"),
            "created": self.ids.created(),
            "model": self.snapshots.get(body["model"], body["model"]),
            "service_tier": served_tier(body.get("service_tier")),
            "system_fingerprint": self.ids.fingerprint(),
        }
        headers = self.response_headers()
        if not body.get("stream"):
            content = "".join(self.text)
            reply: dict[str, Any] = {
                "role": "assistant",
                "content": content,
                "refusal": None,
                "annotations": [],
            }
            finish = self.finish_reason
            choice = {"index": 0, "message": reply, "logprobs": None, "finish_reason": finish}
            completion = {**common, "object": "chat.completion", "choices": [choice]}
            completion["usage"] = chat_usage(self.usage)
            return json_response(200, completion, headers)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(n: int, delta: dict[str, Any] | None, finish: str | None = None) -> bytes:
            choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            data: dict[str, Any] = {
                "id": common["id"],
                "object": "chat.completion.chunk",
                "created": common["created"],
                "model": common["model"],
                "service_tier": common["service_tier"],
                "system_fingerprint": common["system_fingerprint"],
                "choices": [] if delta is None else choices,
            }
            if include_usage:
                data["usage"] = chat_usage(self.usage) if delta is None else None
            data["obfuscation"] = self.ids.obfuscation(n)
            return sse_event(None, data)

        events = [chunk(0, {"role": "assistant", "content": "", "refusal": None})]
        n = 0
        for n, piece in enumerate(self.ids.pieces(self.text), start=1):
            if self.stream_error_after is not None and n > self.stream_error_after:
                events.append(sse_event(None, error_body(STREAM_ERROR, "server_error")))
                return self.stream(events, headers)
            events.append(chunk(n, {"content": piece}))
        events.append(chunk(n + 1, {}, self.finish_reason))
        if include_usage:
            events.append(chunk(n + 2, None))
        events.append(sse_event(None, "[DONE]"))
        return self.stream(events, headers)

    # --- embeddings ----------------------------------------------------------------------------
    def _embeddings(self, body: dict[str, Any]) -> httpx2.Response:
        if "model" not in body or "input" not in body:
            return self.invalid("Missing required parameter: 'model' or 'input'.")
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dimensions = int(body.get("dimensions") or self.dimensions)
        data = []
        for index, _ in enumerate(inputs):
            vector = self.ids.vector(index, dimensions)
            embedding: Any
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{dimensions}f", *vector)
                embedding = base64.b64encode(packed).decode("ascii")
            else:
                embedding = [round(v, 9) for v in vector]
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = self.usage.input_tokens
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        model = self.snapshots.get(body["model"], body["model"])
        return self.json(200, {"object": "list", "data": data, "model": model, "usage": usage})
