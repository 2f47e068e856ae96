"""A billing system on 127.0.0.1 for the tests: records every request as it arrived (method,
path, headers, body) and answers with the next status of a script (default 200), so a test can
make the first attempt fail and check that the retry carries the same idempotency key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Arrived:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """A Stripe request body (``application/x-www-form-urlencoded``, nested as a[b])."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class Receiver:
    url: str
    requests: list[Arrived] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200

    def accepted(self) -> list[Arrived]:
        return [r for r, s in zip(self.requests, self._answered, strict=True) if s < 300]

    _answered: list[int] = field(default_factory=list)


def _stripe_answer(arrived: Arrived, status: int) -> dict[str, Any]:
    if status >= 300:
        return {"error": {"type": "api_error", "message": "try again later"}}
    form = arrived.form()
    return {
        "object": "billing.meter_event",
        "created": 1748735999,
        "event_name": form.get("event_name"),
        "identifier": form.get("identifier"),
        "livemode": False,
        "payload": {
            "stripe_customer_id": form.get("payload[stripe_customer_id]"),
            "value": form.get("payload[value]"),
        },
        "timestamp": int(form.get("timestamp", "0")),
    }


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A running receiver; its ``url`` is ``http://127.0.0.1:PORT``."""
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            arrived = Arrived(
                "POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )  # fmt: skip
            with lock:
                status = state.statuses.pop(0) if state.statuses else 200
                state.requests.append(arrived)
                state._answered.append(status)
            if self.path.startswith("/v1/"):
                body = json.dumps(_stripe_answer(arrived, status)).encode()
            else:
                body = b"{}" if status < 300 else b'{"error": "try again later"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
