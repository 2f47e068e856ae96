"""``GET /v1/budgets``: the budget guard's snapshot served by a real receiver on 127.0.0.1,
recomputed in the background and read by the guard of a real app (the anthropic SDK against
its fake API), also refreshed in the background; the bearer token; ``costledger serve
--budgets`` as a process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import MODEL, FakeAnthropic
from opentelemetry.exporter.costledger.ingest.serve import Receiver, ServeConfig
from opentelemetry.exporter.costledger.jobs.budget_snapshot import SnapshotPublisher
from opentelemetry.instrumentation.costledger import (
    BudgetExceeded,
    CostLedgerInstrumentor,
    attribute_to,
)
from opentelemetry.sdk.trace import TracerProvider

from ..jobs.helpers import insert, row

COSTLEDGER = str(Path(sys.executable).with_name("costledger"))
BUDGETS = '[[budget]]\ncustomer = "cust_1"\namount = "80"\nperiod = "month"\nhard_limit = "100"\n'
KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


def a_moment_ago() -> str:
    # Now (the publisher's as_of), within this month: the row counts in the current period.
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


@pytest.fixture
def served(
    sqlite_url: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[Receiver, SnapshotPublisher, str]]]:
    started: list[tuple[Receiver, SnapshotPublisher]] = []

    def start(**options: Any) -> tuple[Receiver, SnapshotPublisher, str]:
        insert(sqlite_url, [row("cust_1", a_moment_ago(), "60")])
        budgets = tmp_path / "budgets.toml"
        budgets.write_text(BUDGETS)
        publisher = SnapshotPublisher(sqlite_url, budgets, every=0.1)
        publisher.start()
        config = ServeConfig(
            database_url=sqlite_url,
            grpc_endpoint=None,
            http_endpoint="127.0.0.1:0",
            shutdown_timeout=5,
            **options,
        )
        receiver = Receiver(config, budgets=publisher.current)
        receiver.start()
        started.append((receiver, publisher))
        return receiver, publisher, f"http://127.0.0.1:{receiver.http_port}/v1/budgets"

    yield start
    for receiver, publisher in started:
        receiver.stop(5)
        publisher.stop()


def get(url: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "not picked up in the background"
        time.sleep(0.05)


def test_the_guard_reads_serve_and_both_refresh_in_the_background(
    served: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GUARD", "SNAPSHOT", "REFRESH", "MAX_AGE", "TOKEN"):
        monkeypatch.delenv(f"COSTLEDGER_BUDGET_{name}", raising=False)
    receiver, _, url = served()
    assert "budget snapshot on http://127.0.0.1:" in receiver.describe()
    wait_for(lambda: get(url)[0] == 200)
    _, document = get(url)
    [only] = document["limits"]
    assert (only["value"], only["spent_usd"], only["exceeded"]) == ("cust_1", "60.00", False)
    fake = FakeAnthropic()
    client = fake.client()
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(
        tracer_provider=TracerProvider(),
        budget_guard="raise",
        budget_snapshot=url,
        budget_refresh=0.05,
    )
    try:

        def stopped() -> bool:
            try:
                with attribute_to(customer_id="cust_1"):
                    client.messages.create(**KW)
            except BudgetExceeded:
                return True
            return False

        assert not stopped()
        # cust_1 spends $45 more: $105 ≥ $100. serve recomputes, the app's guard re-reads.
        insert(sqlite_url, [row("cust_1", a_moment_ago(), "45")])
        wait_for(stopped)
        sent = len(fake.requests)
        assert stopped() and len(fake.requests) == sent
    finally:
        instrumentor.uninstrument()


def test_budgets_take_the_bearer_token_and_need_budgets(
    served: Any, start_receiver: Callable[..., Receiver], sqlite_url: str
) -> None:
    _, _, url = served(auth_tokens=("s3cret",))
    wait_for(lambda: get(url, "s3cret")[0] == 200)
    assert get(url)[0] == 401
    assert get(url, "wrong")[0] == 401
    plain = start_receiver(sqlite_url)  # no --budgets
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{plain.http_port}/v1/budgets", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404 and b"--budgets" in exc.read()
    else:
        raise AssertionError("a receiver without --budgets served budgets")


def test_serve_budgets_command_line(sqlite_url: str, tmp_path: Path) -> None:
    insert(sqlite_url, [row("cust_1", a_moment_ago(), "120")])
    budgets = tmp_path / "budgets.toml"
    budgets.write_text(BUDGETS)
    process = subprocess.Popen(
        [
            COSTLEDGER, "serve", "--db", sqlite_url, "--grpc-endpoint", "none",
            "--http-endpoint", "127.0.0.1:0", "--budgets", str(budgets),
            "--budgets-refresh", "1", "--log-level", "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        found = re.search(r"budget snapshot on (http://127\.0\.0\.1:\d+/v1/budgets)", ready)
        assert found, ready
        wait_for(lambda: get(found[1])[0] == 200)
        [only] = get(found[1])[1]["limits"]
        assert (only["spent_usd"], only["limit_usd"], only["exceeded"]) == (
            "120.00",
            "100.00",
            True,
        )
    finally:
        process.terminate()
        process.communicate(timeout=60)
    result = subprocess.run(
        [COSTLEDGER, "serve", "--db", sqlite_url, "--http-endpoint", "none",
         "--budgets", str(budgets)],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "turn --http-endpoint on" in result.stderr
