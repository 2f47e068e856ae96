"""A support copilot with no OpenTelemetry code in it, for the in-process ledger exporter.

Run it under ``opentelemetry-instrument`` and every Anthropic / OpenAI call it makes (and every
``record_cost``) lands in the ledger database, priced and attributed to its customer::

    COSTLEDGER_DATABASE_URL=sqlite:////tmp/ledger.db \\
    OTEL_SERVICE_NAME=support-copilot \\
    OTEL_TRACES_EXPORTER=costledger \\
    OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \\
    opentelemetry-instrument python examples/exporter_app.py --calls 20

    costledger ledger --db sqlite:////tmp/ledger.db     # the rows it wrote

``OTEL_TRACES_EXPORTER=otlp,costledger`` sends the same spans to a Collector / Jaeger as well.

The app is the demo's support copilot (``costledger demo``): the real ``anthropic`` and
``openai`` SDKs, answered by an in-process mock of their HTTP APIs so no key is needed. It prints
what it sent as JSON (per customer and ledger category: rows, tokens by kind, quantities and
amounts of cost events), so the ledger can be checked against it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

import httpx2
from anthropic import Anthropic, AsyncAnthropic
from openai import AsyncOpenAI, OpenAI
from opentelemetry import trace
from opentelemetry.exporter.costledger.demo.app import SupportCopilot, run_tickets
from opentelemetry.exporter.costledger.demo.mock_api import MockProviders
from opentelemetry.exporter.costledger.demo.traffic import plan_month


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40, help="cost events to make")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    plan = plan_month(f"{now.year:04d}-{now.month:02d}", args.calls, args.seed)
    api = MockProviders(seed=args.seed)
    transport = api.transport()
    http, aio = httpx2.Client(transport=transport), httpx2.AsyncClient(transport=transport)
    copilot = SupportCopilot(
        Anthropic(api_key="no-key-needed", http_client=http),
        OpenAI(api_key="no-key-needed", http_client=http),
        api,
        trace.get_tracer("support-copilot"),
        AsyncAnthropic(api_key="no-key-needed", http_client=aio),
        AsyncOpenAI(api_key="no-key-needed", http_client=aio),
    )
    try:
        # Each call is made now; the plan's dates are not used (no simulated clock here).
        run_tickets(copilot, plan.tickets)
    finally:
        http.close()
        asyncio.run(aio.aclose())
    if api.problems:
        print(f"mock API refused requests: {api.problems}", file=sys.stderr)
        return 1
    sent = {
        f"{customer}/{category}": {
            "rows": t.rows,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "cache_read_tokens": t.cache_read_tokens,
            "cache_write_5m_tokens": t.cache_write_5m_tokens,
            "cache_write_1h_tokens": t.cache_write_1h_tokens,
            "quantity": str(t.quantity),
            "cost_usd": str(t.cost_usd),
        }
        for (customer, category), t in sorted(plan.totals().items())
    }
    json.dump(sent, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
