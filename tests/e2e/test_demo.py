"""`costledger demo` end to end: real SDKs, instrumentation and exporter into a real ledger.

The generator knows exactly what it sent (the month's plan), so the ledger must hold exactly
that — per customer and category, token bucket by bucket, cent by cent for the cost events —
and the printed Step 3 table must equal SQL over the ledger.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.demo import run_demo
from opentelemetry.exporter.costledger.demo.plan import MonthPlan
from opentelemetry.exporter.costledger.demo.render import money
from opentelemetry.exporter.costledger.demo.traffic import DEFAULT_CALLS, DEFAULT_SEED, plan_month
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.jobs.agents import agents
from opentelemetry.exporter.costledger.jobs.iceberg import iceberg

# The SDK warns that these dated snapshots are nearing end of life; they are what the demo
# means to show (the models the APIs really answered with).
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

MONTH = "2025-10"
CALLS = 150
SEED = 3


def _ledger(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def _assert_ledger_matches_plan(conn: sqlite3.Connection, plan: MonthPlan) -> None:
    rows = conn.execute(
        "SELECT customer_id, customer_name, category, input_tokens, output_tokens,"
        " uncached_input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,"
        " quantity, cost_nanos, unpriced_reason, flags, work_item_id, workspace_id, user_id,"
        " timestamp, service FROM cost_ledger"
    ).fetchall()
    assert len(rows) == plan.calls
    found: dict[tuple[str, str], dict[str, Decimal | int]] = {}
    for row in rows:
        totals = found.setdefault(
            (row["customer_id"], row["category"]),
            dict.fromkeys(
                ("rows", "input", "output", "read", "w5m", "w1h", "quantity", "cost_nanos"), 0
            ),
        )
        totals["rows"] += 1
        totals["input"] += row["input_tokens"]
        totals["output"] += row["output_tokens"]
        totals["read"] += row["cache_read_tokens"]
        totals["w5m"] += row["cache_write_5m_tokens"]
        totals["w1h"] += row["cache_write_1h_tokens"]
        totals["quantity"] += Decimal(str(row["quantity"] or 0))
        totals["cost_nanos"] += row["cost_nanos"]
        # Every row is priced and consistent; none is flagged.
        assert row["cost_nanos"] is not None, row["unpriced_reason"]
        assert row["flags"] is None
        assert row["service"] == "support-copilot"
        assert (
            row["uncached_input_tokens"]
            + row["cache_read_tokens"]
            + row["cache_write_5m_tokens"]
            + row["cache_write_1h_tokens"]
            == row["input_tokens"]
        )
    expected = {
        key: {
            "rows": t.rows,
            "input": t.input_tokens,
            "output": t.output_tokens,
            "read": t.cache_read_tokens,
            "w5m": t.cache_write_5m_tokens,
            "w1h": t.cache_write_1h_tokens,
            "quantity": t.quantity,
        }
        for key, t in plan.totals().items()
    }
    assert {k: {n: v for n, v in t.items() if n != "cost_nanos"} for k, t in found.items()} == (
        expected
    )
    # Cost events carry their amount: the ledger has it to the nano-dollar.
    for (customer, category), t in plan.totals().items():
        if category in ("human_review", "third_party"):
            assert found[customer, category]["cost_nanos"] == t.cost_usd * 1_000_000_000
    # Attribution: every ticket's rows carry its customer, name, workspace and user.
    tickets = {t.id: t for t in plan.tickets}
    for row in rows:
        ticket = tickets[row["work_item_id"]]
        assert row["customer_id"] == ticket.customer.id
        assert row["customer_name"] == ticket.customer.name
        assert row["workspace_id"] == ticket.workspace_id
        assert row["user_id"] == ticket.user_id
        # Placed at the ticket's simulated moment (plus the seconds it really took).
        moment = datetime.fromisoformat(row["timestamp"]).replace(tzinfo=UTC)
        assert ticket.start <= moment < ticket.start + timedelta(minutes=10)


def test_demo_command_prints_step3_table_equal_to_sql(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(
        main,
        ["demo", "--db", str(db), "--month", MONTH, "--calls", str(CALLS), "--seed", str(SEED)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    plan = plan_month(MONTH, CALLS, SEED)
    conn = _ledger(db)
    _assert_ledger_matches_plan(conn, plan)

    # The seed's Step 3 query, in SQLite's dialect, straight over the view.
    sql = conn.execute(
        "SELECT customer_id, strftime('%Y-%m', timestamp) AS month,"
        " SUM(cost_nanos) AS total_ai_cost, SUM(input_tokens) AS total_input_tokens,"
        " SUM(output_tokens) AS total_output_tokens, COUNT(*) AS api_calls"
        " FROM cost_ledger GROUP BY customer_id, month ORDER BY total_ai_cost DESC"
    ).fetchall()
    assert {row["customer_id"] for row in sql} == {
        "cust_67890",
        "cust_12345",
        "cust_54321",
        "cust_11111",
    }
    printed = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in result.output.splitlines()
        if re.search(rf"│ {MONTH}\s*│", line)
    ]
    assert printed == [
        [
            row["customer_id"],
            row["month"],
            money(Decimal(row["total_ai_cost"]) / 1_000_000_000),
            f"{row['total_input_tokens']:,}",
            f"{row['total_output_tokens']:,}",
            f"{row['api_calls']:,}",
        ]
        for row in sql
    ]
    assert f"Sent {CALLS:,} cost events" in result.output

    # "What to run next" names only commands that exist, and each of them runs on this ledger.
    steps = [
        shlex.split(line.strip())
        for line in result.output.split("What to run next", 1)[1].splitlines()
        if line.startswith("  costledger ")
    ]
    verbs = [step[1] for step in steps]
    assert {"aggregate", "import", "allocate", "normalize", "rank", "alerts"} <= set(verbs)
    for step in steps:
        args = [a.replace("report.html", str(tmp_path / "report.html")) for a in step[1:]]
        ran = CliRunner().invoke(main, args, catch_exceptions=False)
        assert ran.exit_code == 0, (step, ran.output)
        if step[1] == "rank":
            assert "cust_12345" in ran.output


def test_the_alerts_hint_says_what_the_command_prints(tmp_path: Path) -> None:
    """`make demo`'s month of the issue (2026-11 starts on a Sunday: its first ISO week holds one
    day of traffic) at the default size and seed: the suggested alerts command flags exactly the
    customers its hint names — cust_54321, whose last week ramps up."""
    db = str(tmp_path / "demo.db")
    result = CliRunner().invoke(main, ["demo", "--db", db, "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    lines = result.output.split("What to run next", 1)[1].splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  costledger alerts "))
    command, hint = shlex.split(lines[at].strip()), lines[at + 1].strip()
    assert hint == "customers whose cost more than doubled: cust_54321 (+160%)"
    shown = CliRunner().invoke(main, [*command[1:], "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert [(a["kind"], a["customer_id"]) for a in json.loads(shown.output)] == [
        ("spike", "cust_54321")
    ]


def test_rerunning_the_demo_counts_nothing_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = run_demo(db=url, month=MONTH, calls=60, seed=SEED)
    assert (first.new_rows, first.already_recorded, first.other_rows) == (60, 0, 0)
    again = run_demo(db=url, month=MONTH, calls=60, seed=SEED)
    assert (again.new_rows, again.already_recorded, again.other_rows) == (0, 60, 0)
    assert again.table == first.table
    # Other traffic (another seed) adds its own rows, and the result says they are there.
    other = run_demo(db=url, month=MONTH, calls=60, seed=SEED + 1)
    assert (other.new_rows, other.already_recorded, other.other_rows) == (60, 0, 60)
    assert sum(line.calls for line in other.table) == 120


def test_demo_on_each_database(ledger_url: str) -> None:
    result = run_demo(db=ledger_url, month="2025-05", calls=80, seed=11)
    plan = plan_month("2025-05", 80, 11)
    by_customer: dict[str, list[int]] = {}
    for (customer, _), t in plan.totals().items():
        acc = by_customer.setdefault(customer, [0, 0, 0])
        acc[0] += t.input_tokens
        acc[1] += t.output_tokens
        acc[2] += t.rows
    assert {
        line.customer_id: [line.total_input_tokens, line.total_output_tokens, line.calls]
        for line in result.table
    } == by_customer
    assert all(line.month == "2025-05" and line.unpriced_rows == 0 for line in result.table)
    costs = [line.total_cost for line in result.table]
    assert costs == sorted(costs, reverse=True)
    # The category breakdown adds up to the Step 3 totals exactly.
    for line in result.table:
        parts = [c.cost for c in result.categories if c.customer_id == line.customer_id]
        assert sum(parts, Decimal(0)) == line.total_cost


def test_demo_rejects_a_bad_month(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["demo", "--db", str(tmp_path / "x.db"), "--month", "May 2025", "--calls", "5"]
    )
    assert result.exit_code != 0
    assert "YYYY-MM" in result.output
    with pytest.raises(InputError, match="between 1 and"):
        run_demo(db=str(tmp_path / "x.db"), month=MONTH, calls=0)
    assert not (tmp_path / "x.db").exists()  # nothing written for bad input


@pytest.mark.parametrize("seed", [1, 2])
def test_plan_is_deterministic_and_sized_exactly(seed: int) -> None:
    plan = plan_month(MONTH, 500, seed)
    assert plan == plan_month(MONTH, 500, seed)
    assert plan.calls == 500
    assert plan != plan_month(MONTH, 500, seed + 10)
    start = datetime(2025, 10, 1, tzinfo=UTC)
    assert all(start <= t.start < datetime(2025, 11, 1, tzinfo=UTC) for t in plan.tickets)
    assert [t.start for t in plan.tickets] == sorted(t.start for t in plan.tickets)
    # Both the sync and the async SDK clients are exercised.
    assert {t.asynchronous for t in plan.tickets} == {True, False}
    kinds = {call.kind for t in plan.tickets for call in t.calls}
    assert kinds == {
        "embedding", "triage", "draft", "chat_anthropic", "chat_openai",
        "human_review", "third_party",
    }  # fmt: skip
    assert any(c.usage.cache_read_tokens for t in plan.tickets for c in t.calls)
    assert any(c.usage.cache_write_5m_tokens for t in plan.tickets for c in t.calls)
    assert any(c.usage.cache_write_1h_tokens for t in plan.tickets for c in t.calls)
    assert any(c.rate_limited for t in plan.tickets for c in t.calls)
    # The customers' sizes follow the seed's Step 3 calls (12,340 / 7,850 / 3,200 / 890).
    rows = {c: 0 for c in ("cust_67890", "cust_12345", "cust_54321", "cust_11111")}
    for (customer, _), t in plan.totals().items():
        rows[customer] += t.rows
    assert rows == {"cust_67890": 254, "cust_12345": 162, "cust_54321": 66, "cust_11111": 18}


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0", "$0.00"),
        ("0.0000312", "<$0.01"),  # a cost, though under a cent: never $0.00
        ("0.0017", "<$0.01"),
        ("1234.565", "$1,234.56"),  # half-even, display only
        ("1234.575", "$1,234.58"),
    ],
)
def test_money_display(amount: str, shown: str) -> None:
    assert money(Decimal(amount)) == shown


def test_the_demo_has_agents_outcomes_and_an_iceberg(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    # The default seed: at this size its plan has each kind of mishap and some human review.
    run_demo(db=url, month=MONTH, calls=300, seed=DEFAULT_SEED)
    plan = plan_month(MONTH, 300, DEFAULT_SEED)
    # What a failed, abandoned or cut call reported is what the ledger holds, priced.
    with contextlib.closing(_ledger(tmp_path / "demo.db")) as conn:
        _assert_ledger_matches_plan(conn, plan)
    found = {a.agent: a for a in agents(url, period=MONTH)}
    assert set(found) == {"triage", "resolver"}
    resolved = {t.id for t in plan.tickets if t.resolved}
    assert 0 < len(resolved) < len(plan.tickets)  # some tickets fail
    assert found["triage"].successful_outcomes == len(resolved)
    assert found["triage"].work_items == len(plan.tickets)
    for agent in found.values():
        assert agent.success_rate is not None and 0 < agent.success_rate < 1
    layers = iceberg(url, period=MONTH)
    by_name = {layer.layer: layer for layer in layers.layers}
    # Every layer the demo means to fill has cost and rows in it.
    meant = {"visible", "failed_outcomes", "human_review", "third_party"}
    meant |= {"failed_calls", "cancelled_calls", "truncated_calls", "app_retries"}
    assert meant <= set(by_name)
    for name in meant:
        assert by_name[name].cost_nanos > 0 and by_name[name].entries > 0, name
    # Exactly the planned mishaps, each in its layer; the re-asks after a failed or truncated
    # call are the only repeated requests (chat turns each ask something new).
    fates = Counter(c.fate for t in plan.tickets for c in t.calls)
    assert by_name["failed_calls"].entries == fates["failed"]
    assert by_name["cancelled_calls"].entries == fates["abandoned"]
    assert by_name["truncated_calls"].entries == fates["truncated"]
    assert by_name["app_retries"].entries == fates["failed"] + fates["truncated"]
    rate_limited = sum(c.rate_limited for t in plan.tickets for c in t.calls)
    assert layers.sdk_retries == rate_limited > 0


def test_the_agents_command_shows_each_agents_success_rate(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(db=db, month=MONTH, calls=CALLS, seed=SEED)
    found = {a.agent: a for a in agents(db, period=MONTH)}
    result = CliRunner().invoke(main, ["agents", "--period", MONTH, "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = {row["agent"]: row for row in json.loads(result.output)}
    assert set(shown) == set(found) == {"triage", "resolver"}
    for name, agent in found.items():
        assert agent.success_rate is not None
        assert Decimal(str(shown[name]["success_rate"])) == agent.success_rate


@pytest.mark.parametrize("month", [f"2025-{m:02d}" for m in range(1, 13)])
def test_make_demo_has_each_kind_of_mishap_whatever_the_month(month: str) -> None:
    plan = plan_month(month, DEFAULT_CALLS, DEFAULT_SEED)
    fates = Counter(c.fate for t in plan.tickets for c in t.calls)
    assert min(fates["failed"], fates["abandoned"], fates["truncated"]) > 0
    assert plan.calls == DEFAULT_CALLS
