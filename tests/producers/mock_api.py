"""A local stand-in for the providers' HTTP APIs: every call uses 1,000 input and 200 output tokens.

One threaded HTTP server on 127.0.0.1 answers what the real SDKs send, in each API's own shape:
OpenAI and Mistral chat completions, Anthropic messages, Gemini ``generateContent`` and Bedrock
``converse``. Each answer has a new response id (two calls are never one by their ids).
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

INPUT_TOKENS = 1_000
OUTPUT_TOKENS = 200

_ids = itertools.count(1)


def _openai_chat(model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": 1_765_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Your refund was issued."},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": INPUT_TOKENS,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        },
    }


def _anthropic_message(model: str) -> dict[str, Any]:
    return {
        "id": f"msg_{next(_ids):024d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "Your refund was issued."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": INPUT_TOKENS,
            "output_tokens": OUTPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _gemini(model: str) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Your refund was issued."}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": INPUT_TOKENS,
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS,
        },
        "modelVersion": model,
        "responseId": f"gemini-{next(_ids)}",
    }


def _converse() -> dict[str, Any]:
    return {
        "output": {
            "message": {"role": "assistant", "content": [{"text": "Your refund was issued."}]}
        },
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": INPUT_TOKENS,
            "outputTokens": OUTPUT_TOKENS,
            "totalTokens": INPUT_TOKENS + OUTPUT_TOKENS,
        },
        "metrics": {"latencyMs": 12},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        server: MockAPI = self.server.mock  # type: ignore[attr-defined]
        server.record(self.path, dict(self.headers), body)
        path = unquote(self.path.split("?", 1)[0])
        if path.endswith("/chat/completions"):
            answer = _openai_chat(body.get("model") or "gpt-4o-mini-2024-07-18")
        elif path.endswith("/messages"):
            answer = _anthropic_message(_ANTHROPIC_SNAPSHOTS.get(body["model"], body["model"]))
        elif ":generateContent" in path:
            answer = _gemini(path.rsplit("/", 1)[1].split(":", 1)[0])
        elif path.endswith("/converse"):
            answer = _converse()
        else:
            self.send_error(404, f"no mock for {path}")
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-amzn-requestid", f"req-{next(_ids)}")
        self.end_headers()
        self.wfile.write(data)


# The dated snapshot the Anthropic API answers with for an alias.
_ANTHROPIC_SNAPSHOTS = {"claude-sonnet-4-5": "claude-sonnet-4-5-20250929"}


class MockAPI:
    """The server, on a free port of 127.0.0.1; ``requests`` holds what it was sent."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.mock = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def record(self, path: str, headers: dict[str, str], body: Any) -> None:
        with self._lock:
            self.requests.append((path, headers, body))

    def __enter__(self) -> MockAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
