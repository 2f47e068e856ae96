"""OTLP/HTTP: ``POST /v1/traces`` (protobuf and JSON), ``GET /healthz``, ``GET /metrics``.

Requests
--------
``POST /v1/traces`` with ``Content-Type: application/x-protobuf`` (also ``application/protobuf``)
or ``application/json``, optionally ``Content-Encoding: gzip`` (or ``deflate``), with a
``Content-Length`` or chunked. The answer is encoded like the request: an
``ExportTraceServiceResponse`` on success (with ``partialSuccess`` when spans were refused), a
``google.rpc.Status`` otherwise, as the OTLP specification asks:

====================================== ======================================================
400 Bad Request                        undecodable body (not retried by senders)
401 Unauthorized                       missing/wrong bearer token (``WWW-Authenticate: Bearer``)
404 Not Found                          another path
405 Method Not Allowed                 another method (``Allow`` says which)
411 Length Required                    neither ``Content-Length`` nor chunked
413 Content Too Large                  over ``--max-request-size`` after decompression
415 Unsupported Media Type             another content type or content encoding
503 Service Unavailable                retry later (``Retry-After``): database, busy, stopping
====================================== ======================================================

``GET /healthz`` answers 200 ``{"status": "ok"}`` while the receiver takes requests and 503
``{"status": "shutting down"}`` while it drains. ``GET /metrics`` is the Prometheus text of
:mod:`.metrics`. Neither needs the bearer token (they carry no customer data).

Connections
-----------
HTTP/1.1 with keep-alive, one thread per connection, at most ``max_connections`` connections
(more are answered 503 and closed at once); an idle connection is closed after
``idle_timeout`` seconds. With TLS, the handshake happens in the connection's thread, never in
the accept loop.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import json
import logging
import math
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import any_pb2, json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from ...errors import ConfigError
from .body import decompress
from .decoded import DecodedRequest, Limits
from .grpc_server import retry_info
from .otlp_json import decode_json
from .otlp_proto import decode_protobuf
from .service import Answer, AnswerKind, ExportService

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
_ROUTES = {TRACES_PATH: "POST", "/healthz": "GET", "/metrics": "GET"}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "costledger"
    sys_version = ""
    server: OTLPHTTPServer

    def setup(self) -> None:
        self.request.settimeout(self.server.idle_timeout)  # an idle keep-alive ends
        super().setup()
        self.server.track(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self)

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
        try:
            path = urlsplit(self.path).path
            allowed = _ROUTES.get(path)
            if allowed is None:
                self._plain(404, f"no such path {path}; OTLP traces go to {TRACES_PATH}\n")
            elif method != allowed:
                self._plain(405, f"{path} takes {allowed}\n", extra={"Allow": allowed})
            elif path == TRACES_PATH:
                self._export()
            elif path == "/healthz":
                draining = self.server.service.draining
                status = "shutting down" if draining else "ok"
                body = json.dumps({"status": status}).encode()
                self._send(503 if draining else 200, JSON, body)
            else:
                self._send(200, "text/plain; version=0.0.4; charset=utf-8", self._metrics())
        except OSError as exc:
            # The sender hung up (before reading the answer, mid-body) or went silent: its
            # connection ends; nothing of ours failed.
            logger.debug("costledger serve: connection from %s ended: %r", self.client_address, exc)
            self.close_connection = True
        except Exception:
            logger.exception("costledger serve: unexpected error in the HTTP handler")
            self.close_connection = True
            if not self._sent:
                answer = Answer(AnswerKind.UNAVAILABLE, "internal error", retry_after=1.0)
                with contextlib.suppress(Exception):
                    self._status(answer, json_body=False)

    def _metrics(self) -> bytes:
        return self.server.service.metrics.render().encode()

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
        try:
            body = self._read_body()
        except _Refused as refused:
            self.close_connection = True
            self._status(refused.answer, json_body, http_status=refused.http_status)
            return
        encoding = self.headers.get("Content-Encoding")
        limit, limits = self.server.max_request_size, self.server.limits
        decode_body: Callable[[bytes, Limits], DecodedRequest] = (
            decode_json if json_body else decode_protobuf
        )

        def decode() -> DecodedRequest:
            return decode_body(decompress(body, encoding, limit), limits)

        answer = service.export("http", decode)
        if answer.kind in (AnswerKind.OK, AnswerKind.PARTIAL):
            self._success(answer, json_body)
        else:
            self._status(answer, json_body)

    def _read_body(self) -> bytes:
        limit = self.server.max_body_size
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise _Refused(Answer(AnswerKind.INVALID, "Content-Length is required"), 411)
        try:
            length = int(length_header)
        except ValueError:
            raise _Refused(Answer(AnswerKind.INVALID, "Content-Length is not a number")) from None
        if length < 0:
            raise _Refused(Answer(AnswerKind.INVALID, "Content-Length is negative"))
        if length > limit:
            raise _Refused(_too_large(length, limit))
        body = self.rfile.read(length)
        if len(body) != length:
            raise _Refused(Answer(AnswerKind.INVALID, "the body ended before Content-Length"))
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _Refused(Answer(AnswerKind.INVALID, "malformed chunked body")) from None
            if chunk == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            size += chunk
            if size > limit:
                raise _Refused(_too_large(size, limit))
            data = self.rfile.read(chunk)
            if len(data) != chunk:
                raise _Refused(Answer(AnswerKind.INVALID, "the chunked body ended early"))
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


class _Refused(Exception):
    def __init__(self, answer: Answer, http_status: int | None = None) -> None:
        super().__init__(answer.message)
        self.answer = answer
        self.http_status = http_status


def _too_large(size: int, limit: int) -> Answer:
    return Answer(AnswerKind.TOO_LARGE, f"the request has {size} bytes; the limit is {limit}")


class OTLPHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The HTTP listener; :meth:`stop` drains it (see the module docstring)."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        host: str,
        port: int,
        service: ExportService,
        *,
        limits: Limits,
        max_request_size: int,
        max_connections: int = 256,
        idle_timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.service = service
        self.limits = limits
        self.max_request_size = max_request_size
        # A compressed body may be a little larger than what it inflates to.
        self.max_body_size = max_request_size + 65536
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._handlers: set[_Handler] = set()
        self._handlers_lock = threading.Lock()
        self._idle = threading.Condition(self._handlers_lock)
        self.address_family = _family(host)
        super().__init__((host, port), _Handler, bind_and_activate=False)
        try:
            self.server_bind()
            self.server_activate()
        except OSError as exc:
            self.server_close()
            raise ConfigError(
                f"cannot listen for OTLP/HTTP on {host}:{port} ({exc.strerror}); is the port in"
                " use? Choose another with --http-endpoint, or turn HTTP off with"
                " --http-endpoint none"
            ) from None
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def server_bind(self) -> None:
        # http.server's own server_bind resolves the host's FQDN, which can block on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._handlers_lock:
            full = len(self._handlers) >= self.max_connections
        if full:
            self.service.metrics.add(
                "costledger_receiver_retryable_refusals_total", reason="overloaded"
            )
            if not isinstance(request, ssl.SSLSocket):
                with contextlib.suppress(OSError):
                    request.sendall(
                        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                    )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish, TLS handshakes that fail: not our errors to print.
        logger.debug(
            "costledger serve: connection from %s ended with an error",
            client_address,
            exc_info=True,
        )

    def track(self, handler: _Handler) -> None:
        with self._handlers_lock:
            self._handlers.add(handler)

    def untrack(self, handler: _Handler) -> None:
        with self._handlers_lock:
            self._handlers.discard(handler)
            self._idle.notify_all()

    def stop(self, timeout: float) -> bool:
        """Stop accepting, end idle keep-alive connections, wait for requests in flight.

        Returns False when connections were still busy after ``timeout`` seconds.
        """
        self.shutdown()  # the accept loop
        self.server_close()
        with self._handlers_lock:
            handlers = list(self._handlers)
        for handler in handlers:
            # Only the read side: a request already read still gets its answer written
            # (socket.socket.shutdown, not SSLSocket's, which would drop the TLS session).
            with contextlib.suppress(OSError):
                socket.socket.shutdown(handler.connection, socket.SHUT_RD)
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._handlers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True


def _family(host: str) -> socket.AddressFamily:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return socket.AF_INET  # a host name: resolved for IPv4
