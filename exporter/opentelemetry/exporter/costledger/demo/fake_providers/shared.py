"""What both fake APIs share: usage, scripted failures, ids, SSE bodies, the recorded requests.

:class:`FakeAPI` is the base of :class:`~.anthropic.FakeAnthropic` and
:class:`~.openai.FakeOpenAI`: the handler of an ``httpx2.MockTransport`` that records every
request, answers scripted :class:`Failure`\\ s first (an HTTP error in the provider's envelope, or
no connection at all), and sends streams as :class:`EventBody`, which can drop the connection
after N events. :class:`Ids` makes the ids, timestamps, text pieces and vectors the answers carry:
fixed and counted by default (tests compare them), random but repeatable per seed with
:class:`SeededIds` (the demo, whose ledger rows carry the response ids).
"""

from __future__ import annotations

import itertools
import json
import random
import string
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

_BASE62 = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"
SSE_TYPE = "text/event-stream; charset=utf-8"


@dataclass(frozen=True)
class UsageSpec:
    """What a fake reports. ``input_tokens`` INCLUDES the cached and cache-written tokens.

    ``cache_write_1h_tokens`` is the part of ``cache_write_tokens`` written for one hour (the
    rest for five minutes; Anthropic reports the split, OpenAI only the total).
    """

    input_tokens: int = 1200
    cached_tokens: int = 1024
    cache_write_tokens: int = 0
    output_tokens: int = 300
    reasoning_tokens: int = 128
    cache_write_1h_tokens: int = 0

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cached_tokens - self.cache_write_tokens

    @property
    def cache_write_5m_tokens(self) -> int:
        return self.cache_write_tokens - self.cache_write_1h_tokens


@dataclass
class Failure:
    """One scripted failure: an HTTP error (``status``) or, with ``status=None``, no connection.

    ``type`` is the provider's error type (OpenAI's ``type`` field, Anthropic's
    ``error.type``); ``None`` takes the provider's usual type for the status.
    """

    status: int | None
    message: str = "The server had an error while processing your request."
    type: str | None = None
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Ids:
    """Fixed and counted ids, text split as given, vectors from their index: what tests compare."""

    anthropic_message = "msg_01XFDUDYJgAACzvnptvVoYEL"
    created_at = 1_764_100_000
    openai_request = "req_0123456789abcdef"

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._anthropic_requests = itertools.count(1)

    def message_id(self) -> str:
        return self.anthropic_message

    def anthropic_request_id(self) -> str:
        return f"req_{next(self._anthropic_requests):04d}"

    def openai_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):024x}"

    def created(self) -> int:
        return self.created_at

    def fingerprint(self) -> str:
        return "fp_560af6e559"

    def openai_request_id(self) -> str:
        return self.openai_request

    def obfuscation(self, n: int) -> str:
        return f"o{n:05d}"

    def pieces(self, text: tuple[str, ...]) -> Iterable[str]:
        return text

    def vector(self, index: int, dimensions: int) -> list[float]:
        return [round(0.125 * (index + 1) * (d + 1), 6) for d in range(dimensions)]


class SeededIds(Ids):
    """Ids shaped like the real ones, drawn from one random generator seeded by ``seed``."""

    def __init__(self, seed: int | str) -> None:
        super().__init__()
        self.rng = random.Random(f"mock-api:{seed}")

    def token(self, length: int) -> str:
        return "".join(self.rng.choices(_BASE62, k=length))

    def message_id(self) -> str:
        return "msg_01" + self.token(22)

    def anthropic_request_id(self) -> str:
        return "req_011C" + self.token(20)

    def openai_id(self, prefix: str) -> str:
        return prefix + self.token(29)

    def created(self) -> int:
        return 1_700_000_000 + self.rng.randrange(60_000_000)

    def fingerprint(self) -> str:
        return "fp_" + "".join(self.rng.choices(_HEX, k=10))

    def openai_request_id(self) -> str:
        return "req_" + self.token(32).lower()

    def obfuscation(self, n: int) -> str:
        return self.token(self.rng.randint(2, 12))

    def pieces(self, text: tuple[str, ...]) -> Iterator[str]:
        """The text in deltas of a few words, as the APIs send them (drawn as they are sent)."""
        words = "".join(text).split(" ")
        i = 0
        while i < len(words):
            n = self.rng.randint(5, 14)
            piece = " ".join(words[i : i + n])
            i += n
            yield piece if i >= len(words) else piece + " "

    def vector(self, index: int, dimensions: int) -> list[float]:
        return [self.rng.uniform(-0.08, 0.08) for _ in range(dimensions)]


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


def sse_event(name: str | None, data: Any) -> bytes:
    """One server-sent event; a ``str`` payload is sent as is (OpenAI's ``[DONE]``)."""
    payload = data if isinstance(data, str) else json.dumps(data)
    return ((f"event: {name}\n" if name else "") + f"data: {payload}\n\n").encode()


def json_response(status: int, payload: Any, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.Response(
        status,
        headers={**headers, "content-type": "application/json"},
        content=json.dumps(payload).encode(),
    )


class FakeAPI:
    """The handler of an ``httpx2.MockTransport``: records requests, answers scripted failures.

    Subclasses answer in :meth:`answer` and put failures in their envelope in :meth:`error`.
    ``record=False`` keeps nothing (a benchmark's thousands of calls).
    """

    def __init__(
        self,
        *,
        ids: Ids | None = None,
        stream_break_after: int | None = None,
        stream_error_after: int | None = None,
        record: bool = True,
    ) -> None:
        self.ids = ids or Ids()
        # Drop the connection (a transport ReadError) after this many SSE events.
        self.stream_break_after = stream_break_after
        # Close a stream with the API's ``error`` event after this many content deltas.
        self.stream_error_after = stream_error_after
        self.record = record
        self.requests: list[httpx2.Request] = []
        self.failures: list[Failure] = []
        self.bodies_sent: list[EventBody] = []
        self.lock = threading.Lock()

    # --- what was sent -------------------------------------------------------------------------
    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) if r.content else {} for r in self.requests]

    @property
    def last_body(self) -> dict[str, Any]:
        return self.bodies[-1]

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    @property
    def headers(self) -> list[httpx2.Headers]:
        return [r.headers for r in self.requests]

    def fail_next(self, failure: Failure) -> None:
        self.failures.append(failure)

    # --- the handler ---------------------------------------------------------------------------
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handler)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if self.record:
            self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if failure.status is None:
                raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)
            return self.error(failure)
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        return self.answer(request, body)

    def answer(self, request: httpx2.Request, body: dict[str, Any]) -> httpx2.Response:
        raise NotImplementedError

    def error(self, failure: Failure) -> httpx2.Response:
        raise NotImplementedError

    def stream(self, events: Iterable[bytes], headers: dict[str, str]) -> httpx2.Response:
        body = EventBody(list(events), self.stream_break_after)
        self.bodies_sent.append(body)
        headers = {**headers, "content-type": SSE_TYPE, "cache-control": "no-cache"}
        return httpx2.Response(200, headers=headers, stream=body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAPI


class _Handler(BaseHTTPRequestHandler):
    server: _Server

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
def serve(fake: FakeAPI) -> Iterator[str]:
    """Serve ``fake`` over real HTTP on 127.0.0.1 (a free port); yields its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
