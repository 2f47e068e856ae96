"""A fake Anthropic API for tests: an ``httpx2.MockTransport`` handler answering like the real one.

The real ``anthropic`` SDK talks to :class:`FakeAnthropic` through ``http_client=httpx2.Client(
transport=httpx2.MockTransport(fake.handler))``; everything above the transport (request building,
SSE decoding, the stream helpers, the SDK's own spans) is the SDK's code. Payloads follow the API
reference:

- ``POST /v1/messages``: a Message whose ``usage.input_tokens`` EXCLUDES cache reads and writes,
  with ``cache_creation_input_tokens``, ``cache_read_input_tokens``, the ``cache_creation``
  5-minute / 1-hour breakdown, ``output_tokens`` and ``service_tier``.
- ``stream: true``: named SSE events ``message_start`` (input usage, ``output_tokens`` 1),
  ``content_block_start``, ``ping``, ``content_block_delta`` x n, ``content_block_stop``,
  ``message_delta`` (CUMULATIVE usage, as the API sends it), ``message_stop``.
- ``POST /v1/messages/count_tokens``: ``{"input_tokens": n}``.
- metadata: the API rejects keys other than ``user_id`` with its own 400 error, as the real API
  does (``metadata.customer_id: Extra inputs are not permitted``).
- errors: a model named ``error-<status>`` answers the API's error envelope with that status; a
  model named ``midstream-error`` streams an ``error`` event after the first delta.
- batches: ``POST /v1/messages/batches`` echoes a batch; ``GET .../{id}`` says it ended with a
  ``results_url``; ``GET .../{id}/results`` is JSONL with succeeded and errored results.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import httpx2

BASE_URL = "https://api.anthropic.com"
MODEL = "claude-haiku-4-5"
RESPONSE_MODEL = "claude-haiku-4-5-20251001"

# Usage of every answer: input EXCLUDING cache, as the API reports it.
INPUT = 12
CACHE_READ = 200
CACHE_5M = 60
CACHE_1H = 40
OUTPUT = 15
THINKING = 5
TEXT_CHUNKS = ("Hello", ", ", "world", "!")

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def usage(
    *, output_tokens: int = OUTPUT, thinking: bool = False, cache_1h: int = CACHE_1H
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input_tokens": INPUT,
        "cache_creation_input_tokens": CACHE_5M + cache_1h,
        "cache_read_input_tokens": CACHE_READ,
        "cache_creation": {
            "ephemeral_5m_input_tokens": CACHE_5M,
            "ephemeral_1h_input_tokens": cache_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
        "server_tool_use": None,
    }
    if thinking:
        body["output_tokens_details"] = {"thinking_tokens": THINKING}
    return body


def message(model: str, msg_id: str = "msg_01XFDUDYJgAACzvnptvVoYEL", **kw: Any) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": RESPONSE_MODEL if model == MODEL else model,
        "content": [{"type": "text", "text": "".join(TEXT_CHUNKS)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage(**kw),
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def sse_events(
    model: str, *, midstream_error: bool = False, thinking: bool = False, cache_1h: int = CACHE_1H
) -> list[bytes]:
    start = message(model, thinking=False, cache_1h=cache_1h)
    start["content"] = []
    start["stop_reason"] = None
    start["usage"]["output_tokens"] = 1
    events = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _sse("ping", {"type": "ping"}),
    ]
    for i, chunk in enumerate(TEXT_CHUNKS):
        events.append(
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": chunk},
                },
            )
        )
        if midstream_error and i == 0:
            events.append(
                _sse(
                    "error",
                    {
                        "type": "error",
                        "error": {"type": "overloaded_error", "message": "Overloaded"},
                    },
                )
            )
            return events
    delta_usage: dict[str, Any] = {
        "input_tokens": INPUT,
        "cache_creation_input_tokens": CACHE_5M + cache_1h,
        "cache_read_input_tokens": CACHE_READ,
        "output_tokens": OUTPUT,
    }
    if thinking:
        delta_usage["output_tokens_details"] = {"thinking_tokens": THINKING}
    events += [
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        # Two message_delta events: usage is cumulative, the second repeats the total.
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": None, "stop_sequence": None},
                "usage": {**delta_usage, "output_tokens": OUTPUT - 3},
            },
        ),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": delta_usage,
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    return events


@dataclass
class FakeAnthropic:
    """The handler of a MockTransport; ``requests`` holds every request body it received."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    headers: list[httpx2.Headers] = field(default_factory=list)
    batch_results: list[dict[str, Any]] = field(default_factory=list)
    cache_1h: int = CACHE_1H  # 1-hour cache writes in every answer's usage

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        self.requests.append(body)
        self.paths.append(path)
        self.headers.append(request.headers)
        hdrs = {"request-id": f"req_{len(self.requests):04d}"}
        if path == "/v1/messages/count_tokens":
            return httpx2.Response(200, json={"input_tokens": 42}, headers=hdrs)
        if path == "/v1/messages/batches" and request.method == "POST":
            return httpx2.Response(
                200, json=self._batch("msgbatch_01", "in_progress"), headers=hdrs
            )
        if path.startswith("/v1/messages/batches/") and path.endswith("/results"):
            lines = "\n".join(json.dumps(r) for r in self.batch_results) + "\n"
            return httpx2.Response(
                200,
                content=lines.encode(),
                headers={**hdrs, "content-type": "application/binary"},
            )
        if path.startswith("/v1/messages/batches/"):
            batch_id = path.rsplit("/", 1)[1]
            return httpx2.Response(200, json=self._batch(batch_id, "ended"), headers=hdrs)
        model = str(body.get("model", ""))
        metadata = body.get("metadata") or {}
        extra = sorted(set(metadata) - {"user_id"})
        if extra:
            return self._error(400, f"metadata.{extra[0]}: Extra inputs are not permitted", hdrs)
        if model.startswith("error-"):
            return self._error(int(model.split("-", 1)[1]), "Something went wrong", hdrs)
        thinking = body.get("thinking") is not None
        if body.get("stream"):
            events = sse_events(
                model,
                midstream_error=model == "midstream-error",
                thinking=thinking,
                cache_1h=self.cache_1h,
            )
            return httpx2.Response(
                200,
                content=b"".join(events),
                headers={**hdrs, "content-type": "text/event-stream"},
            )
        body = message(model, thinking=thinking, cache_1h=self.cache_1h)
        return httpx2.Response(200, json=body, headers=hdrs)

    def _error(self, status: int, text: str, hdrs: dict[str, str]) -> httpx2.Response:
        kind = _ERROR_TYPES.get(status, "api_error")
        return httpx2.Response(
            status,
            json={"type": "error", "error": {"type": kind, "message": text}},
            headers=hdrs,
        )

    def _batch(self, batch_id: str, status: str) -> dict[str, Any]:
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {
                "processing": 0,
                "succeeded": 2,
                "errored": 1,
                "canceled": 0,
                "expired": 0,
            },
            "ended_at": "2025-05-02T10:20:45Z" if status == "ended" else None,
            "created_at": "2025-05-02T10:15:32Z",
            "expires_at": "2025-05-03T10:15:32Z",
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{BASE_URL}/v1/messages/batches/{batch_id}/results"
            if status == "ended"
            else None,
        }

    # clients -------------------------------------------------------------------------------
    def client(self, **kw: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key="sk-ant-test",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(self.handler)),
            **kw,
        )

    def async_client(self, **kw: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key="sk-ant-test",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler)),
            **kw,
        )


def succeeded(custom_id: str, model: str = MODEL) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "result": {"type": "succeeded", "message": message(model, msg_id=f"msg_{custom_id}")},
    }


def errored(custom_id: str) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "result": {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "bad request"},
            },
        },
    }


class _FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAnthropic


class _FakeHandler(BaseHTTPRequestHandler):
    server: _FakeHTTPServer

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = httpx2.Request(
            self.command,
            f"http://{self.headers.get('host', '127.0.0.1')}{self.path}",
            headers=dict(self.headers.items()),
            content=self.rfile.read(length) if length else b"",
        )
        response = self.server.fake.handler(request)
        body = response.read()
        self.send_response(response.status_code)
        for key, value in response.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def serve_fake(fake: FakeAnthropic) -> Iterator[str]:
    """Serve ``fake`` over real HTTP on 127.0.0.1 (a free port); yields its base URL."""
    server = _FakeHTTPServer(("127.0.0.1", 0), _FakeHandler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
