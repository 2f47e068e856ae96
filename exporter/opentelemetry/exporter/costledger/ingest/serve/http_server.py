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

``GET /v1/budgets`` (only with ``costledger serve --budgets``) answers the budget guard's
snapshot (the instrumentation's ``budget_snapshot.py``), 503 with ``Retry-After`` until the
first one is made; it takes the bearer token when one is configured (it names customers).

``GET /healthz`` answers 200 ``{"status": "ok"}`` while the receiver takes requests and 503
``{"status": "shutting down"}`` while it drains. ``GET /metrics`` is the Prometheus text of
:mod:`.metrics`. Neither needs the bearer token (they carry no customer data).

Connections
-----------
HTTP/1.1 with keep-alive, one thread per connection (:mod:`.http_handler` handles its requests),
at most ``max_connections`` connections: one more is answered a readable 503 with
``Retry-After`` (its write side shut, closed a moment later, so the sender reads the answer
instead of a reset; with TLS it is closed). Each request has a header and a body deadline, so a
slow sender holds a connection for a bounded time (:mod:`.http_deadlines`); an idle keep-alive
connection is closed after ``idle_timeout`` seconds. With TLS, the handshake happens in the
connection's thread, never in the accept loop.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import logging
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from ...errors import ConfigError
from .decoded import Limits
from .http_deadlines import Deadlines
from .http_handler import TRACES_PATH, OTLPRequestHandler
from .service import ExportService

__all__ = ["TRACES_PATH", "OTLPHTTPServer"]

logger = logging.getLogger("opentelemetry.exporter.costledger.serve")

_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 59\r\nConnection: close\r\n\r\n"
    b"the receiver has too many connections open; retry shortly\r\n"
)


class OTLPHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The HTTP listener; :meth:`stop` drains it (see the module docstring)."""

    daemon_threads = True
    block_on_close = False
    # The listen backlog (socketserver's default is 5): a burst of senders connecting at once
    # waits to be accepted instead of being cut off.
    request_queue_size = 128

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
        header_timeout: float = 10.0,
        body_timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        budgets: Callable[[], bytes | None] | None = None,
    ) -> None:
        self.service = service
        # ``GET /v1/budgets``: the budget guard's snapshot (JSON; None until the first is made),
        # handed in by the CLI, which computes it (ingest never imports the jobs).
        self.budgets = budgets
        self.limits = limits
        self.max_request_size = max_request_size
        # A compressed body may be a little larger than what it inflates to.
        self.max_body_size = max_request_size + 65536
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.deadlines = Deadlines()
        self._handlers: set[OTLPRequestHandler] = set()
        self._handlers_lock = threading.Lock()
        self._idle = threading.Condition(self._handlers_lock)
        self.address_family = _family(host)
        super().__init__((host, port), OTLPRequestHandler, bind_and_activate=False)
        try:
            self.server_bind()
            self.server_activate()
        except OSError as exc:
            self.server_close()
            self.deadlines.stop()
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
            if isinstance(request, ssl.SSLSocket):
                self.shutdown_request(request)  # no answer without a handshake: just closed
                return
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.sendall(_FULL)
                request.shutdown(socket.SHUT_WR)
            self.deadlines.linger(request)
            return
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish, TLS handshakes that fail: not our errors to print.
        logger.debug(
            "costledger serve: connection from %s ended with an error",
            client_address,
            exc_info=True,
        )

    def track(self, handler: OTLPRequestHandler) -> None:
        with self._handlers_lock:
            self._handlers.add(handler)
        self.service.metrics.add("costledger_receiver_http_connections", 1)

    def untrack(self, handler: OTLPRequestHandler) -> None:
        with self._handlers_lock:
            self._handlers.discard(handler)
            self._idle.notify_all()
        self.service.metrics.add("costledger_receiver_http_connections", -1)

    def stop(self, timeout: float) -> bool:
        """Stop accepting, end idle keep-alive connections, wait for requests in flight.

        Returns False when connections were still busy after ``timeout`` seconds.
        """
        self.shutdown()  # the accept loop
        self.server_close()
        self.deadlines.stop()
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
