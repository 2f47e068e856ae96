"""The Anthropic API, answered in process like the real one (see the package's docstring).

- ``POST /v1/messages``: a Message whose ``usage.input_tokens`` EXCLUDES cache reads and writes,
  with ``cache_creation_input_tokens``, ``cache_read_input_tokens``, the ``cache_creation``
  5-minute / 1-hour breakdown, ``output_tokens`` and ``service_tier``; ``output_tokens_details``
  with the thinking tokens when the request asked for ``thinking``. ``model``, ``max_tokens`` and
  ``messages`` are required; ``metadata`` keys other than ``user_id`` are refused with the API's
  own 400 (``metadata.customer_id: Extra inputs are not permitted``), so an attribution key
  leaking to the provider fails loudly.
- ``stream: true``: named SSE events ``message_start`` (input usage, ``output_tokens`` 1),
  ``content_block_start``, ``ping``, ``content_block_delta`` x n, ``content_block_stop``, two
  ``message_delta`` (CUMULATIVE usage, the second repeating the total, as the API may send it),
  ``message_stop``.
- ``POST /v1/messages/count_tokens``: ``{"input_tokens": 42}``.
- batches: ``POST /v1/messages/batches`` echoes a batch; ``GET .../{id}`` says it ended with a
  ``results_url``; ``GET .../{id}/results`` is JSONL of :attr:`FakeAnthropic.batch_results`
  (:func:`succeeded`, :func:`errored`).
- errors: scripted :class:`~.shared.Failure`\\ s in the API's ``{"type": "error", ...}``
  envelope; a model named ``error-<status>`` answers that status; a model named
  ``midstream-error`` (or ``stream_error_after``) streams an ``error`` event after the deltas.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx2

from .shared import Failure, FakeAPI, Ids, UsageSpec, json_response, sse_event

BASE_URL = "https://api.anthropic.com"
MODEL = "claude-haiku-4-5"
RESPONSE_MODEL = "claude-haiku-4-5-20251001"
SNAPSHOTS = {MODEL: RESPONSE_MODEL}

# The default answer's usage: input EXCLUDING cache, as the API reports it.
INPUT = 12
CACHE_READ = 200
CACHE_5M = 60
CACHE_1H = 40
OUTPUT = 15
THINKING = 5
TEXT_CHUNKS = ("Hello", ", ", "world", "!")
USAGE = UsageSpec(
    input_tokens=INPUT + CACHE_READ + CACHE_5M + CACHE_1H,
    cached_tokens=CACHE_READ,
    cache_write_tokens=CACHE_5M + CACHE_1H,
    cache_write_1h_tokens=CACHE_1H,
    output_tokens=OUTPUT,
    reasoning_tokens=THINKING,
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
METADATA_KEYS = frozenset({"user_id"})


def usage(spec: UsageSpec = USAGE, *, thinking: bool = False) -> dict[str, Any]:
    """The Message's ``usage`` for ``spec``."""
    body: dict[str, Any] = {
        "input_tokens": spec.uncached_input_tokens,
        "cache_creation_input_tokens": spec.cache_write_tokens,
        "cache_read_input_tokens": spec.cached_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": spec.cache_write_5m_tokens,
            "ephemeral_1h_input_tokens": spec.cache_write_1h_tokens,
        },
        "output_tokens": spec.output_tokens,
        "service_tier": "standard",
        "server_tool_use": None,
    }
    if thinking:
        body["output_tokens_details"] = {"thinking_tokens": spec.reasoning_tokens}
    return body


def message(
    model: str,
    msg_id: str = Ids.anthropic_message,
    *,
    spec: UsageSpec = USAGE,
    text: str = "".join(TEXT_CHUNKS),
    thinking: bool = False,
) -> dict[str, Any]:
    """A Message answering ``model`` (its dated snapshot for :data:`MODEL`)."""
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": SNAPSHOTS.get(model, model),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage(spec, thinking=thinking),
    }


def sse_events(
    model: str,
    msg_id: str = Ids.anthropic_message,
    *,
    spec: UsageSpec = USAGE,
    pieces: Iterable[str] = TEXT_CHUNKS,
    thinking: bool = False,
    error_after: int | None = None,
) -> list[bytes]:
    """The SSE events of a streamed Message; an ``error`` event after ``error_after`` deltas."""
    start = message(model, msg_id, spec=spec)
    start.update(content=[], stop_reason=None)
    start["usage"]["output_tokens"] = min(spec.output_tokens, 1)
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    events = [
        sse_event("message_start", {"type": "message_start", "message": start}),
        sse_event("content_block_start", block),
        sse_event("ping", {"type": "ping"}),
    ]
    for n, piece in enumerate(pieces, start=1):
        text_delta = {"type": "text_delta", "text": piece}
        events.append(
            sse_event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": text_delta},
            )
        )
        if error_after is not None and n >= error_after:
            overloaded = {"type": "overloaded_error", "message": "Overloaded"}
            return [*events, sse_event("error", {"type": "error", "error": overloaded})]
    full = usage(spec, thinking=thinking)
    total = {key: full[key] for key in ("input_tokens", "cache_creation_input_tokens")}
    total.update(cache_read_input_tokens=spec.cached_tokens, output_tokens=spec.output_tokens)
    if thinking:
        total["output_tokens_details"] = full["output_tokens_details"]
    partial = {**total, "output_tokens": spec.output_tokens // 2}
    events.append(sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    for stop_reason, delta_usage in ((None, partial), ("end_turn", total)):
        delta: dict[str, Any] = {"stop_reason": stop_reason, "stop_sequence": None}
        events.append(
            sse_event(
                "message_delta", {"type": "message_delta", "delta": delta, "usage": delta_usage}
            )
        )
    events.append(sse_event("message_stop", {"type": "message_stop"}))
    return events


def succeeded(custom_id: str, model: str = MODEL) -> dict[str, Any]:
    """A batch result line that succeeded."""
    return {
        "custom_id": custom_id,
        "result": {"type": "succeeded", "message": message(model, msg_id=f"msg_{custom_id}")},
    }


def errored(custom_id: str) -> dict[str, Any]:
    """A batch result line that failed."""
    error = {"type": "invalid_request_error", "message": "bad request"}
    return {
        "custom_id": custom_id,
        "result": {"type": "errored", "error": {"type": "error", "error": error}},
    }


class FakeAnthropic(FakeAPI):
    """The fake Anthropic API. ``usage``, ``text`` and ``snapshots`` may change between calls."""

    def __init__(
        self,
        usage: UsageSpec = USAGE,
        text: tuple[str, ...] = TEXT_CHUNKS,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.usage = usage
        self.text = text
        self.snapshots = dict(SNAPSHOTS)  # request model -> the model the answer names
        self.batch_results: list[dict[str, Any]] = []

    # --- clients -------------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> Any:
        import anthropic

        http_client = httpx2.Client(transport=httpx2.MockTransport(self.handler))
        settings = {"api_key": "sk-ant-test", "base_url": BASE_URL, "max_retries": 0, **kwargs}
        return anthropic.Anthropic(http_client=http_client, **settings)

    def async_client(self, **kwargs: Any) -> Any:
        import anthropic

        http_client = httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))
        settings = {"api_key": "sk-ant-test", "base_url": BASE_URL, "max_retries": 0, **kwargs}
        return anthropic.AsyncAnthropic(http_client=http_client, **settings)

    # --- answers -------------------------------------------------------------------------------
    def error(self, failure: Failure) -> httpx2.Response:
        status = failure.status or 500
        kind = failure.type or ERROR_TYPES.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": failure.message}}
        headers = {**failure.headers, "request-id": self.ids.anthropic_request_id()}
        return json_response(status, body, headers)

    def answer(self, request: httpx2.Request, body: dict[str, Any]) -> httpx2.Response:
        path = request.url.path
        if path == "/v1/messages":
            return self._messages(body)
        headers = {"request-id": self.ids.anthropic_request_id()}
        if path == "/v1/messages/count_tokens":
            return json_response(200, {"input_tokens": 42}, headers)
        if path == "/v1/messages/batches" and request.method == "POST":
            return json_response(200, self._batch("msgbatch_01", "in_progress"), headers)
        if path.startswith("/v1/messages/batches/") and path.endswith("/results"):
            lines = "".join(json.dumps(r) + "\n" for r in self.batch_results)
            headers["content-type"] = "application/binary"
            return httpx2.Response(200, content=lines.encode(), headers=headers)
        if path.startswith("/v1/messages/batches/"):
            batch_id = path.rsplit("/", 1)[1]
            return json_response(200, self._batch(batch_id, "ended"), headers)
        return self.error(Failure(404, f"Not found: {request.method} {path}"))

    def _messages(self, body: dict[str, Any]) -> httpx2.Response:
        for required in ("model", "max_tokens", "messages"):
            if required not in body:
                return self.error(Failure(400, f"{required}: Field required"))
        extra = sorted(set(body.get("metadata") or {}) - METADATA_KEYS)
        if extra:
            problem = f"metadata.{extra[0]}: Extra inputs are not permitted"
            return self.error(Failure(400, problem))
        model = str(body["model"])
        if model.startswith("error-"):
            return self.error(Failure(int(model.split("-", 1)[1]), "Something went wrong"))
        answered = self.snapshots.get(model, model)
        thinking = body.get("thinking") is not None
        msg_id = self.ids.message_id()
        headers = {"request-id": self.ids.anthropic_request_id()}
        if not body.get("stream"):
            text = "".join(self.text)
            payload = message(answered, msg_id, spec=self.usage, text=text, thinking=thinking)
            return json_response(200, payload, headers)
        error_after = 1 if model == "midstream-error" else self.stream_error_after
        events = sse_events(
            answered,
            msg_id,
            spec=self.usage,
            pieces=self.ids.pieces(self.text),
            thinking=thinking,
            error_after=error_after,
        )
        return self.stream(events, headers)

    def _batch(self, batch_id: str, status: str) -> dict[str, Any]:
        ended = status == "ended"
        counts = {"processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0}
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "ended_at": "2025-05-02T10:20:45Z" if ended else None,
            "created_at": "2025-05-02T10:15:32Z",
            "expires_at": "2025-05-03T10:15:32Z",
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{BASE_URL}/v1/messages/batches/{batch_id}/results" if ended else None,
        }
