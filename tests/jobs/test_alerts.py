"""alerts: spikes over the own baseline, budgets, unpriced models; webhook delivery once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import CostLedgerError
from opentelemetry.exporter.costledger.jobs.alerts import AlertConfig, run_alerts
from opentelemetry.exporter.costledger.jobs.run import run_job
from opentelemetry.exporter.costledger.ledger.tables import alert_deliveries

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
    failed = run_alerts(sqlite_url, period="2025-W20", config=config)
    assert failed.webhook_error is not None and "HTTP 500" in failed.webhook_error
    assert failed.webhook_sent == 0 and len(failed.new_for_stdout) == 2  # stdout unaffected
    with pytest.raises(CostLedgerError, match="HTTP 500"):  # the schedule records a failure
        run_job(sqlite_url, "alerts", {"period": "2025-W20", "webhook": url})
    hook.status = 200
    run = run_alerts(sqlite_url, period="2025-W20", config=config)
    assert run.webhook_sent == 2  # the spike and the unpriced model, not delivered before
    assert run.webhook_error is None and run.new_for_stdout == []
    assert len(hook.received) == 3


def _deliveries(url: str) -> set[tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {
            (str(key), str(channel))
            for key, channel in conn.execute(
                sa.select(alert_deliveries.c.alert_key, alert_deliveries.c.channel)
            )
        }
    engine.dispose()
    return found


def test_a_failing_webhook_does_not_hide_alerts_from_the_terminal(
    sqlite_url: str, webhook: tuple[str, _Hook]
) -> None:
    """Each channel's delivery is its own: the terminal shows the alerts whatever the webhook
    does, and only the webhook's channel waits for the next run."""
    url, hook = webhook
    _weeks(sqlite_url)
    args = ["alerts", "--period", "2025-W20", "--db", sqlite_url]
    refused = CliRunner().invoke(main, [*args, "--webhook", "http://127.0.0.1:1/x"])
    assert refused.exit_code == 1
    assert "a: AI cost $150.00 in 2025-W20" in refused.output  # printed despite the webhook
    assert "could not POST alerts to http://127.0.0.1:1/x" in refused.output
    assert {c for _, c in _deliveries(sqlite_url)} == {"stdout"}

    hook.status = 503  # a real server that fails, then succeeds
    failing = CliRunner().invoke(main, [*args, "--webhook", url])
    assert failing.exit_code == 1 and "answered HTTP 503" in failing.output
    assert "(no rows)" in failing.output  # the terminal already showed them: nothing new
    assert {c for _, c in _deliveries(sqlite_url)} == {"stdout"}
    hook.status = 200
    fixed = CliRunner().invoke(main, [*args, "--webhook", url])
    assert fixed.exit_code == 0, fixed.output
    assert "2 sent to the webhook" in fixed.output
    assert [len(p["alerts"]) for p in hook.received] == [2, 2]  # the failed POST, then the retry
    assert {c for _, c in _deliveries(sqlite_url)} == {"stdout", f"webhook:{url}"}
    again = CliRunner().invoke(main, [*args, "--webhook", url])
    assert again.exit_code == 0 and len(hook.received) == 2  # sent once


def test_a_partial_first_week_is_not_a_baseline_week(sqlite_url: str) -> None:
    """The ledger begins on Sunday 2025-04-13, the last day of 2025-W15: that week holds one
    day of each customer's cost, which would halve their baseline and flag everyone."""
    rows = [row("a", "2025-04-13", "15"), row("b", "2025-04-13", "15")]
    for day in ("2025-04-14", "2025-04-21", "2025-04-28", "2025-05-05"):
        rows += [row("a", day, "100"), row("b", day, "100")]
    rows += [row("a", "2025-05-12", "150"), row("b", "2025-05-13", "110")]
    insert(sqlite_url, rows)
    config = AlertConfig(baseline_periods=5)  # W15..W19
    spikes = run_alerts(sqlite_url, period="2025-W20", config=config).alerts
    assert [(a.customer_id, a.reference_usd) for a in spikes] == [("a", Decimal(100))]
    assert "average of 4 previous week(s)" in spikes[0].message
    # A week the ledger saw from its first day on is a baseline week like any other.
    insert(sqlite_url, [row("c", "2025-04-07", "1")])
    again = run_alerts(sqlite_url, period="2025-W20", config=config).alerts
    assert {a.customer_id for a in again} == {"a", "b"}  # W15 counts: b is +33% over $83
