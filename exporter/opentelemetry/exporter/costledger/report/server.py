"""``costledger dashboard``: the report page served live on 127.0.0.1.

Every request to ``/`` rebuilds the page from the database (a handful of ``GROUP BY`` queries),
so what the browser shows is never older than its last refresh; the page reloads itself every
``refresh_seconds`` (``<meta http-equiv=refresh>``, no script). ``/?period=2025-05`` shows
another period than the default; ``/healthz`` answers ``ok`` for probes.

Binds 127.0.0.1 by default: the page holds per-customer revenue and cost, so exposing it
beyond the machine is a deliberate choice (``--host``), best made behind an authenticating
proxy. Port: ``--port``, else ``COSTLEDGER_DASHBOARD_PORT``, else 8321 (0 picks a free one).
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import ExitStack
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import sqlalchemy as sa

from .. import periods
from ..currency import resolve_rates
from ..errors import ConfigError, CostLedgerError, InputError
from ..ledger.open import open_ledger
from . import DEFAULT_TOP_N
from .converted import convert_report
from .data import collect_report
from .page import render_page

logger = logging.getLogger(__name__)

PORT_ENV = "COSTLEDGER_DASHBOARD_PORT"
DEFAULT_PORT = 8321
DEFAULT_PERIOD = "this-month"
DEFAULT_REFRESH_SECONDS = 60


def resolve_port(port: int | None = None) -> int:
    """The port: argument, then ``COSTLEDGER_DASHBOARD_PORT``, then 8321."""
    if port is not None:
        return port
    raw = os.environ.get(PORT_ENV)
    if not raw:
        return DEFAULT_PORT
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{PORT_ENV}={raw!r} is not a port number: set it to e.g. 8321") from exc
    if not 0 <= value <= 65535:
        raise ConfigError(f"{PORT_ENV}={raw!r} is out of range: use 0-65535")
    return value


class Dashboard:
    """An HTTP server rendering the report per request; ``start()`` runs it in a thread."""

    def __init__(
        self,
        database: str | sa.Engine | None = None,
        *,
        period: str = DEFAULT_PERIOD,
        time_zone: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
        top_n: int = DEFAULT_TOP_N,
        currency: str | None = None,
        rates_file: str | None = None,
    ) -> None:
        periods.parse_period(period, time_zone)  # a bad default fails now, not per request
        # Another currency: the rates file is read again for every page, so a file the user
        # refreshes daily (the ECB's) is taken up without a restart; a bad one fails now.
        self.currency, self.rates_file = currency, rates_file
        resolve_rates(currency, rates_file)
        # open for the dashboard's life: closed by stop() / close_engine()
        self._ledger = ExitStack()
        self.engine = self._ledger.enter_context(open_ledger(database, create=False, migrate=False))
        self.period = period
        self.time_zone = periods.resolve_time_zone(time_zone)
        self.refresh_seconds = refresh_seconds
        self.top_n = top_n
        self._thread: threading.Thread | None = None
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "costledger-dashboard"

            def do_GET(self) -> None:
                dashboard._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                logger.debug("dashboard: " + format, *args)

        try:
            self.httpd = ThreadingHTTPServer((host, resolve_port(port)), Handler)
        except OSError as exc:
            self.close_engine()
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
            ) from exc
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def render(self, period: str | None = None) -> str:
        chosen = periods.parse_period(period or self.period, self.time_zone)
        data = collect_report(self.engine, chosen, top_n=self.top_n)
        data = convert_report(self.engine, data, resolve_rates(self.currency, self.rates_file))
        return render_page(data, refresh_seconds=self.refresh_seconds)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        if url.path == "/healthz":
            self._send(request, HTTPStatus.OK, "ok\n", "text/plain")
            return
        if url.path not in ("/", "/report.html"):
            self._send(request, HTTPStatus.NOT_FOUND, "not found\n", "text/plain")
            return
        period = parse_qs(url.query).get("period", [None])[0]
        try:
            body = self.render(period)
        except InputError as exc:
            self._send(request, HTTPStatus.BAD_REQUEST, _error_page(str(exc)), "text/html")
            return
        except (CostLedgerError, sa.exc.SQLAlchemyError) as exc:
            logger.exception("dashboard: cannot build the report")
            self._send(request, HTTPStatus.SERVICE_UNAVAILABLE, _error_page(str(exc)), "text/html")
            return
        self._send(request, HTTPStatus.OK, body, "text/html")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: str, kind: str) -> None:
        payload = body.encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", f"{kind}; charset=utf-8")
        request.send_header("Content-Length", str(len(payload)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        request.wfile.write(payload)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="costledger-dashboard", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()
        self.close_engine()

    def close_engine(self) -> None:
        self._ledger.close()


def _error_page(message: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" '
        'href="data:,"><title>costledger dashboard</title></head><body>'
        f"<h1>Cannot show the report</h1><p>{escape(message)}</p></body></html>"
    )
