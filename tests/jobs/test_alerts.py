"""alerts: spikes over the own baseline, budgets, unpriced models; webhook delivery once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.exporter.costledger.errors import CostLedgerError
from opentelemetry.exporter.costledger.jobs.alerts import AlertConfig, run_alerts

from .helpers import insert, row


class _Hook:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200


@pytest.fixture
def webhook() -> Iterator[tuple[str, _Hook]]:
    hook = _Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            assert self.headers["Content-Type"] == "application/json"
            hook.received.append(json.loads(self.rfile.read(length)))
            self.send_response(hook.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", hook
    finally:
        server.shutdown()
        server.server_close()


def _weeks(url: str) -> None:
    # ISO weeks 2025-W16..W19 at $100/week for both; W20: a +50% (spike), b +10% (no spike).
    rows = []
    for day in ("2025-04-14", "2025-04-21", "2025-04-28", "2025-05-05"):
        rows += [row("a", day, "100"), row("b", day, "100")]
    rows += [row("a", "2025-05-12", "150"), row("b", "2025-05-13", "110")]
    rows += [row("c", "2025-05-14", None, provider="acme", model="acme-1")]
    insert(url, rows)


def test_spike_budget_unpriced_and_webhook_once(
    ledger_url: str, webhook: tuple[str, _Hook]
) -> None:
    url, hook = webhook
    _weeks(ledger_url)
    config = AlertConfig(budgets={"b": Decimal(100)}, webhook_url=url)
    run = run_alerts(ledger_url, period="2025-W20", config=config)
    kinds = {(a.kind, a.customer_id or a.model) for a in run.alerts}
    assert kinds == {("spike", "a"), ("over_budget", "b"), ("unpriced", "acme-1")}
    spike = next(a for a in run.alerts if a.kind == "spike")
    assert spike.change == Decimal("0.5") and spike.reference_usd == Decimal(100)
    assert "50% above their baseline $100.00" in spike.message
    assert run.webhook_sent == 3
    [payload] = hook.received
    assert payload["source"] == "costledger"
    assert {a["kind"] for a in payload["alerts"]} == {"spike", "over_budget", "unpriced"}
    assert "acme/acme-1" in payload["text"]
    assert next(a for a in payload["alerts"] if a["kind"] == "spike")["amount_usd"] == "150.00"

    again = run_alerts(ledger_url, period="2025-W20", config=config)
    assert len(again.alerts) == 3 and again.new_for_stdout == [] and again.webhook_sent == 0
    assert len(hook.received) == 1


def test_threshold_and_baseline_are_configurable(sqlite_url: str) -> None:
    _weeks(sqlite_url)
    run = run_alerts(sqlite_url, period="2025-W20", config=AlertConfig(threshold=Decimal("0.05")))
    assert {a.customer_id for a in run.alerts if a.kind == "spike"} == {"a", "b"}
    run = run_alerts(sqlite_url, period="2025-W20", config=AlertConfig(threshold=Decimal("0.6")))
    assert [a for a in run.alerts if a.kind == "spike"] == []


def test_failed_webhook_is_retried_next_run(sqlite_url: str, webhook: tuple[str, _Hook]) -> None:
    url, hook = webhook
    _weeks(sqlite_url)
    hook.status = 500
    config = AlertConfig(webhook_url=url)
    with pytest.raises(CostLedgerError, match="HTTP 500"):
        run_alerts(sqlite_url, period="2025-W20", config=config)
    hook.status = 200
    run = run_alerts(sqlite_url, period="2025-W20", config=config)
    assert run.webhook_sent == 2  # the spike and the unpriced model, not delivered before
    assert len(hook.received) == 2
