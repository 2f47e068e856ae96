"""One HTTP connection's requests: routes, the export path, answers (see :mod:`.http_server`).

``POST /v1/traces`` is authorized and checked from its headers alone, then **admitted**
(:meth:`~.service.ExportService.export`) before its body is read, so a request that cannot be
served never costs its body's memory. Each request has two deadlines
(:class:`~.http_deadlines.Deadlines`): ``header_timeout`` from its first byte (on a new
connection: from the accept) to the end of its headers, and ``body_timeout`` for its body; a
sender past one gets 408 and the connection is closed. Between requests a keep-alive connection
may idle ``idle_timeout`` seconds. A sender that hangs up is no error of ours: logged at debug.
"""

from __future__ import annotations

import http.server
import json
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from google.protobuf import any_pb2, json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from .body import ClientGone, TooLarge, decompress
from .decoded import DecodedRequest, DecodeError, Limits
from .grpc_server import retry_info
from .otlp_json import decode_json
from .otlp_proto import decode_protobuf
from .service import Answer, AnswerKind

if TYPE_CHECKING:
    from .http_server import OTLPHTTPServer

logger = logging.getLogger("opentelemetry.exporter.costledger.serve")

TRACES_PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_PROTOBUF_TYPES = frozenset({PROTOBUF, "application/protobuf"})
_STATUS = {
    AnswerKind.INVALID: (400, code_pb2.INVALID_ARGUMENT),
    AnswerKind.UNAUTHENTICATED: (401, code_pb2.UNAUTHENTICATED),
    AnswerKind.TOO_LARGE: (413, code_pb2.RESOURCE_EXHAUSTED),
    AnswerKind.UNSUPPORTED: (415, code_pb2.INVALID_ARGUMENT),
    AnswerKind.UNAVAILABLE: (503, code_pb2.UNAVAILABLE),
}
BUDGETS_PATH = "/v1/budgets"
_ROUTES = {TRACES_PATH: "POST", "/healthz": "GET", "/metrics": "GET", BUDGETS_PATH: "GET"}
_CHUNK = 65536


class OTLPRequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "costledger"
    sys_version = ""
    server: OTLPHTTPServer

    def setup(self) -> None:
        self.request.settimeout(self.server.idle_timeout)  # an idle keep-alive ends
        super().setup()
        self._expired = ""  # which deadline passed, once one has
        self._first = True
        self._deadline: int | None = None
        self.server.track(self)

    def finish(self) -> None:
        try:
            self._end_deadline()
            super().finish()
        finally:
            self.server.untrack(self)

    def handle_one_request(self) -> None:
        if not self._first:
            # Keep-alive: idle until the next request starts, then its header deadline runs.
            try:
                # rfile is a BufferedReader (StreamRequestHandler's default buffering).
                started = self.rfile.peek(1)  # type: ignore[attr-defined]
            except OSError:
                started = b""
            if not started:
                self.close_connection = True
                return
        self._first = False
        self._start_deadline("header", self.server.header_timeout)
        try:
            super().handle_one_request()
        except OSError as exc:
            self._gone(exc)
        finally:
            self._end_deadline()

    def _start_deadline(self, what: str, seconds: float) -> None:
        self._end_deadline()

        def note() -> None:
            self._expired = what

        self._deadline = self.server.deadlines.expire(self.connection, seconds, note)

    def _end_deadline(self) -> None:
        if self._deadline is not None:
            self.server.deadlines.cancel(self._deadline)
            self._deadline = None

    def _gone(self, exc: BaseException) -> None:
        logger.debug("costledger serve: connection from %s ended: %r", self.client_address, exc)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("costledger serve http %s: " + format, self.address_string(), *args)

    # Every method goes through _dispatch, so an unknown one is a 405, not http.server's 501.
    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        self._sent = False
        self._end_deadline()
        try:
            if self._expired:
                self._timed_out()
                return
            path = urlsplit(self.path).path
            allowed = _ROUTES.get(path)
            if allowed is None:
                self._plain(404, f"no such path {path}; OTLP traces go to {TRACES_PATH}\n")
            elif method != allowed:
                self._plain(405, f"{path} takes {allowed}\n", extra={"Allow": allowed})
            elif path == TRACES_PATH:
                self._export()
            elif path == BUDGETS_PATH:
                self._budgets()
            elif path == "/healthz":
                draining = self.server.service.draining
                status = "shutting down" if draining else "ok"
                body = json.dumps({"status": status}).encode()
                self._send(503 if draining else 200, JSON, body)
            else:
                metrics = self.server.service.metrics.render().encode()
                self._send(200, "text/plain; version=0.0.4; charset=utf-8", metrics)
        except OSError as exc:
            # The sender hung up (before reading the answer, mid-body) or went silent: its
            # connection ends; nothing of ours failed.
            self._gone(exc)
        except Exception:
            logger.exception("costledger serve: unexpected error in the HTTP handler")
            self.close_connection = True
            if not self._sent:
                answer = Answer(AnswerKind.UNAVAILABLE, "internal error", retry_after=1.0)
                try:
                    self._status(answer, json_body=False)
                except OSError as exc:
                    self._gone(exc)

    def _budgets(self) -> None:
        """The budget guard's snapshot (``serve --budgets``), from memory; it names customers
        and their spend, so it takes the bearer token when the receiver does."""
        provider = self.server.budgets
        if provider is None:
            self._plain(404, "no budget snapshot here: start costledger serve with --budgets\n")
            return
        refusal = self.server.service.authorize(
            "http", self.headers.get("Authorization"), self.client_address[0]
        )
        if refusal is not None:
            self._status(refusal, True, extra={"WWW-Authenticate": 'Bearer realm="otlp"'})
            return
        body = provider()
        if body is None:
            text = b'{"status": "the first budget snapshot is being computed"}'
            self._send(503, JSON, text, extra={"Retry-After": "1"})
            return
        self._send(200, JSON, body, extra={"Cache-Control": "no-store"})

    def _timed_out(self) -> None:
        seconds = self.server.header_timeout
        if self._expired == "body":
            seconds = self.server.body_timeout
        self.close_connection = True
        text = f"the request's {self._expired} did not arrive within {seconds:g} s\n"
        self._send(408, "text/plain; charset=utf-8", text.encode())

    def _export(self) -> None:
        service = self.server.service
        refusal = service.authorize(
            "http", self.headers.get("Authorization"), self.client_address[0]
        )
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        json_body = content_type == JSON
        if refusal is not None:
            self.close_connection = True  # the body stays unread
            self._status(refusal, json_body, extra={"WWW-Authenticate": 'Bearer realm="otlp"'})
            return
        if not json_body and content_type not in _PROTOBUF_TYPES:
            self.close_connection = True
            given = content_type or "(none)"
            message = f"Content-Type {given!r} is not supported; send {PROTOBUF} or {JSON}"
            self._status(Answer(AnswerKind.UNSUPPORTED, message), json_body)
            return
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        length = None if chunked else self._content_length()
        if length is None and not chunked:
            return  # answered
        body: list[bytes] = []
        reading: list[bool] = []  # [True] once the body was read whole, [False] while reading

        def read() -> None:
            reading.append(False)
            self._start_deadline("body", self.server.body_timeout)
            try:
                body.append(self._read_chunked() if chunked else self._read(length or 0))
            except OSError as exc:
                raise ClientGone(f"the sender {self.client_address} is gone: {exc!r}") from None
            finally:
                self._end_deadline()
            reading[0] = True

        encoding = self.headers.get("Content-Encoding")
        limit, limits = self.server.max_request_size, self.server.limits
        decode_body: Callable[[bytes, Limits], DecodedRequest] = (
            decode_json if json_body else decode_protobuf
        )

        def decode() -> DecodedRequest:
            data = decompress(body[0], encoding, limit)
            request = decode_body(data, limits)
            request.source = (data, "json" if json_body else "protobuf")
            return request

        answer = service.export("http", decode, read=read)
        body.clear()
        if self._expired:
            self._timed_out()
            return
        if not reading:
            # Refused before the body was read (busy, stopping): read it and throw it away,
            # chunk by chunk, so the sender is not cut off mid-send and can read its 503.
            self.close_connection = True
            if length is not None:
                self._discard(length)
        elif not reading[0]:
            self.close_connection = True  # the read failed midway: the rest is unread
        if answer.kind in (AnswerKind.OK, AnswerKind.PARTIAL):
            self._success(answer, json_body)
        else:
            self._status(answer, json_body)

    def _discard(self, length: int) -> None:
        self._start_deadline("body", self.server.body_timeout)
        try:
            while length > 0:
                data = self.rfile.read(min(length, _CHUNK))
                if not data:
                    return
                length -= len(data)
        finally:
            self._end_deadline()
            self._expired = ""  # the answer is the refusal, whatever the discard took

    def _content_length(self) -> int | None:
        """The body's length, or None once a refusal was sent (the connection then closes)."""
        header = self.headers.get("Content-Length")
        refusal: tuple[Answer, int | None] | None = None
        if header is None:
            refusal = Answer(AnswerKind.INVALID, "Content-Length is required"), 411
        elif not header.strip().isdigit():
            refusal = Answer(AnswerKind.INVALID, "Content-Length is not a number"), None
        elif int(header) > self.server.max_body_size:
            refusal = _too_large(int(header), self.server.max_body_size), None
        if refusal is None:
            return int(header or 0)
        self.close_connection = True
        json_body = (self.headers.get("Content-Type") or "").startswith(JSON)
        self._status(refusal[0], json_body, http_status=refusal[1])
        return None

    def _read(self, length: int) -> bytes:
        data = self.rfile.read(length)
        if len(data) != length:
            raise DecodeError("the body ended before Content-Length")
        return data

    def _read_chunked(self) -> bytes:
        limit = self.server.max_body_size
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise DecodeError("malformed chunked body") from None
            if chunk == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            size += chunk
            if size > limit:
                raise TooLarge(_too_large(size, limit).message)
            data = self.rfile.read(chunk)
            if len(data) != chunk:
                raise DecodeError("the chunked body ended early")
            parts.append(data)
            self.rfile.readline(1024)

    def _success(self, answer: Answer, json_body: bool) -> None:
        if json_body:
            if answer.kind is AnswerKind.PARTIAL:
                partial = {"rejectedSpans": str(answer.rejected), "errorMessage": answer.message}
                body = json.dumps({"partialSuccess": partial}).encode()
            else:
                body = b"{}"
            self._send(200, JSON, body)
            return
        response = trace_service_pb2.ExportTraceServiceResponse()
        if answer.kind is AnswerKind.PARTIAL:
            response.partial_success.rejected_spans = answer.rejected
            response.partial_success.error_message = answer.message
        self._send(200, PROTOBUF, response.SerializeToString())

    def _status(
        self,
        answer: Answer,
        json_body: bool,
        *,
        http_status: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        status_code, rpc_code = _STATUS[answer.kind]
        status = status_pb2.Status(code=rpc_code, message=answer.message)
        headers = dict(extra or {})
        if answer.kind is AnswerKind.UNAVAILABLE:
            detail = any_pb2.Any()
            detail.Pack(retry_info(answer.retry_after))
            status.details.append(detail)
            headers["Retry-After"] = str(max(1, math.ceil(answer.retry_after)))
        if json_body:
            body = json_format.MessageToJson(status, indent=None).encode()
            self._send(http_status or status_code, JSON, body, extra=headers)
        else:
            self._send(
                http_status or status_code, PROTOBUF, status.SerializeToString(), extra=headers
            )

    def _plain(self, code: int, text: str, *, extra: dict[str, str] | None = None) -> None:
        if self.command == "POST" or self.headers.get("Content-Length") not in (None, "0"):
            self.close_connection = True  # a body we did not read
        self._send(code, "text/plain; charset=utf-8", text.encode(), extra=extra)

    def _send(
        self, code: int, content_type: str, body: bytes, *, extra: dict[str, str] | None = None
    ) -> None:
        if self.server.service.draining:
            self.close_connection = True
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self._sent = True
        if self.command != "HEAD":
            self.wfile.write(body)


def _too_large(size: int, limit: int) -> Answer:
    return Answer(AnswerKind.TOO_LARGE, f"the request has {size} bytes; the limit is {limit}")
