"""A second service: attribution set upstream reaches the Claude calls made here.

The caller (another service, or ``curl``) sends W3C ``baggage`` with ``customer.id=...``; this
service extracts the incoming context -- what any OTel server instrumentation (Flask, Django,
FastAPI, ...) does for you -- and every Claude call inside is attributed to that customer with
no costledger code here at all::

    OTEL_SERVICE_NAME=support-service opentelemetry-instrument \\
        python examples/support_service.py --port 8081 --requests 1 &
    curl -X POST localhost:8081/summarize -H 'baggage: customer.id=cust_12345,work_item.id=t_1'

``--requests N`` serves N requests then exits (spans are flushed at exit).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import anthropic
from opentelemetry import context, propagate

MODEL = os.environ.get("EXAMPLE_MODEL", "claude-haiku-4-5")
client = anthropic.Anthropic()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        # Header names arrive in any case; the propagators look them up in lowercase.
        carrier = {key.lower(): value for key, value in self.headers.items()}
        token = context.attach(propagate.extract(carrier))
        try:
            response = client.messages.create(
                model=MODEL,
                max_tokens=128,
                messages=[{"role": "user", "content": "Summarize the ticket."}],
            )
            text = "".join(b.text for b in response.content if b.type == "text")
        finally:
            context.detach(token)
        body = json.dumps({"summary": text}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--requests", type=int, default=0, help="exit after N requests (0: never)")
    args = parser.parse_args()
    server = HTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on {server.server_address[1]}", file=sys.stderr, flush=True)
    if args.requests:
        for _ in range(args.requests):
            server.handle_request()
    else:
        server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
