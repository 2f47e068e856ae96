"""The budget guard's worked example, by hand, through the CLI on SQLite and PostgreSQL: ledger
rows → ``costledger budgets snapshot`` → the guard in a real app (the anthropic SDK against its
fake API) stops the over-limit customer's calls and nobody else's (issue 16, item 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import MODEL, FakeAnthropic
from opentelemetry.exporter.costledger.jobs.budget_snapshot import SnapshotPublisher
from opentelemetry.instrumentation.costledger import (
    BudgetExceeded,
    CostLedgerInstrumentor,
    attribute_to,
    guard,
)
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .helpers import insert, row

BUDGETS = """\
[[budget]]
customer = "cust_12345"
amount = "2000"
period = "month"
hard_limit = "2500"

[[budget]]
customer = "cust_777"
amount = "2000"
period = "month"
hard_limit = "2500"

[[budget]]
tag = "team=search"
amount = 250
period = "week"
hard_limit = "300"

[[budget]]
customer = "cust_alerts_only"
amount = "100"
"""
KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


def worked_example(url: str, folder: Path) -> Path:
    """May 2025 (UTC), each row at noon: cust_12345 $300 on May 1, $200 May 3, $250 May 6,
    $300 May 10, $100 May 12, $500 May 15, $400 May 20, $500 May 22; cust_777, with the tag
    team=search, $120 on May 12, $90 May 13, $100 May 15 (ISO week 2025-W20, May 12–18)."""
    days = {"01": "300", "03": "200", "06": "250", "10": "300", "12": "100", "15": "500"}
    rows = [row("cust_12345", f"2025-05-{d}T12:00", cost) for d, cost in days.items()]
    rows += [
        row("cust_12345", "2025-05-20T12:00", "400"),
        row("cust_12345", "2025-05-22T12:00", "500"),
    ]
    for day, cost in (("12", "120"), ("13", "90"), ("15", "100")):
        rows.append(row("cust_777", f"2025-05-{day}T12:00", cost, tags='{"team":"search"}'))
    insert(url, rows)
    path = folder / "budgets.toml"
    path.write_text(BUDGETS)
    return path


def snapshot_cli(url: str, budgets: Path, out: Path, as_of: str) -> tuple[str, dict[str, Any]]:
    result = CliRunner().invoke(
        main,
        ["budgets", "snapshot", "--budgets", str(budgets), "--out", str(out), "--as-of", as_of,
         "--db", url],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(out.read_text())
    return result.output.strip(), document


def limits(document: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, bool]]:
    return [
        (
            f"{lim['scope']}:{lim['value']}",
            lim["period_start"],
            lim["period_end"],
            lim["limit_usd"],
            lim["spent_usd"],
            str(lim["exceeded"]).lower(),
            lim["exceeded"],
        )
        for lim in document["limits"]
    ]


class App:
    """An app with the instrumentation and the guard (raise) on, reading ``snapshot``."""

    def __init__(self, snapshot: Path) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.fake = FakeAnthropic()
        CostLedgerInstrumentor().instrument(
            tracer_provider=self.provider, budget_guard="raise", budget_snapshot=str(snapshot)
        )
        self.client = self.fake.client()

    def call(self, customer: str, **attribution: Any) -> str:
        """``sent`` or the BudgetExceeded's scope:value."""
        try:
            with attribute_to(customer_id=customer, **attribution):
                self.client.messages.create(**KW)
        except BudgetExceeded as exc:
            return f"stopped {exc.scope}:{exc.value} ${exc.spent} of ${exc.limit}"
        return "sent"


@pytest.fixture
def app_for(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("GUARD", "SNAPSHOT", "REFRESH", "MAX_AGE", "TOKEN"):
        monkeypatch.delenv(f"COSTLEDGER_BUDGET_{name}", raising=False)
    yield App
    CostLedgerInstrumentor().uninstrument()


def test_worked_example_guard_through_the_cli(
    ledger_url: str, tmp_path: Path, app_for: Any
) -> None:
    """As of May 22 (its end): cust_12345 spent 300 + 200 + 250 + 300 + 100 + 500 + 400 + 500
    = $2,550 ≥ its $2,500 hard limit → exceeded; cust_777 $120 + $90 + $100 = $310 < $2,500.
    team=search, week 2025-W21 (May 19–25): nothing yet → $0 of $300. cust_alerts_only has no
    hard limit: not in the snapshot. The guard stops cust_12345 only; cust_777's calls tagged
    team=search go.

    As of May 15: cust_12345 $1,650 < $2,500; team=search, week 2025-W20 (May 12–18): $310 ≥
    $300 → exceeded: then cust_777's calls tagged team=search are stopped, its others go.
    """
    budgets = worked_example(ledger_url, tmp_path)
    out = tmp_path / "budgets.json"
    said, document = snapshot_cli(ledger_url, budgets, out, "2025-05-22")
    assert said == (f"wrote 3 hard limit(s) to {out}; over the limit: customer:cust_12345")
    assert document["version"] == 1 and document["generated_at"].endswith("Z")
    assert limits(document) == [
        ("customer:cust_12345", "2025-05-01", "2025-06-01", "2500.00", "2550.00", "true", True),
        ("customer:cust_777", "2025-05-01", "2025-06-01", "2500.00", "310.00", "false", False),
        ("tag:team=search", "2025-05-19", "2025-05-26", "300.00", "0.00", "false", False),
    ]
    app = app_for(out)
    assert app.call("cust_12345") == "stopped customer:cust_12345 $2550.00 of $2500.00"
    assert app.call("cust_777", tags={"team": "search"}) == "sent"
    assert app.call("cust_alerts_only") == "sent"
    assert len(app.fake.requests) == 2  # cust_12345's call never left the process
    marks = [(s.attributes or {}).get(A.BUDGET_EXCEEDED) for s in app.exporter.get_finished_spans()]
    assert marks == ["customer:cust_12345", None, None]

    said, document = snapshot_cli(ledger_url, budgets, out, "2025-05-15")
    assert said.endswith("over the limit: tag:team=search")
    assert limits(document)[2] == (
        "tag:team=search",
        "2025-05-12",
        "2025-05-19",
        "300.00",
        "310.00",
        "true",
        True,
    )
    assert limits(document)[0][4] == "1650.00"
    assert guard.ACTIVE is not None and guard.ACTIVE.load()  # what the refresh thread does
    assert app.call("cust_12345") == "sent"
    assert app.call("cust_777", tags={"team": "search"}) == (
        "stopped tag:team=search $310.00 of $300.00"
    )
    assert app.call("cust_777") == "sent"


def test_snapshot_needs_a_hard_limit_and_prints_with_dash(sqlite_url: str, tmp_path: Path) -> None:
    insert(sqlite_url, [row("cust_2", "2025-05-02T12:00", "5")])
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[budget]]\ncustomer = "cust_1"\namount = "100"\n')
    runner = CliRunner()
    args = ["budgets", "snapshot", "--budgets", str(budgets), "--db", sqlite_url]
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "s.json")])
    assert result.exit_code == 1 and "no [[budget]] entry has a hard_limit" in result.output
    budgets.write_text('[[budget]]\ncustomer = "cust_1"\namount = "100"\nhard_limit = "0"\n')
    result = runner.invoke(main, [*args, "--out", "-", "--as-of", "2025-05-20"])
    assert result.exit_code == 0, result.output
    [only] = json.loads(result.stdout)["limits"]
    # A hard limit of zero is reached at once: the customer may not spend at all.
    assert (only["spent_usd"], only["limit_usd"], only["exceeded"]) == ("0.00", "0.00", True)
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "no" / "s.json")])
    assert result.exit_code == 1 and "there is no directory" in result.output


def test_publisher_keeps_the_last_snapshot_and_logs_once(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    budgets = worked_example(sqlite_url, tmp_path)
    publisher = SnapshotPublisher(sqlite_url, budgets)
    assert publisher.current() is None
    assert publisher.publish()
    first = publisher.current()
    assert first is not None and b'"scope": "customer"' in first
    budgets.write_text("[[budget]]\nnonsense = 1\n")
    assert not publisher.publish() and not publisher.publish()
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "cannot read the budgets file" in warning and "stay in force" in warning
    assert json.loads(publisher.current() or b"")["limits"] == json.loads(first)["limits"]
