"""``costledger agents``: the AI Workforce P&L, computed by hand on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.jobs.agent_targets import read_targets
from opentelemetry.exporter.costledger.jobs.agents import agents
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.outcomes import OutcomeRow, insert_outcomes

from .helpers import insert, row, usd

TARGETS = """
miss_periods = 2

[agents."*"]
target_cost_per_success = "10"

[agents.triage]
target_cost_per_success = "5.00"
human_minutes = 6
human_hourly_rate = "40"
"""


def outcome(item: str, success: bool, when: datetime) -> OutcomeRow:
    return OutcomeRow(f"t:{item}", when, item, success)


def seed(url: str) -> None:
    insert(
        url,
        [
            row("c1", "2025-04-20", "1", work_item_id="t0", agent="triage"),
            row("c1", "2025-05-02", "3", work_item_id="t1", agent="triage", model="model-a"),
            row("c1", "2025-05-02", "1", work_item_id="t2", agent="triage", model="model-b"),
            row("c1", "2025-05-02", "0.5", category="third_party", work_item_id="t1",
                agent="triage"),
            row("c1", "2025-05-03", "1", category="human_review", work_item_id="t1",
                agent="triage"),
            row("c1", "2025-05-03", "4", work_item_id="t2", agent="writer"),
            row("c1", "2025-05-04", "2", category="human_review", work_item_id="t2"),
            row("c2", "2025-05-05", "3", agent="solo"),
            row("c2", "2025-05-05", "1"),
            row("c2", "2025-05-31", "8", category="vector_storage", source="allocation"),
        ],
    )  # fmt: skip
    engine = db.create_engine(url)
    try:
        with engine.begin() as conn:
            may = datetime(2025, 5, 20, tzinfo=UTC)
            insert_outcomes(
                conn,
                [
                    outcome("t0", False, datetime(2025, 4, 21, tzinfo=UTC)),
                    outcome("t1", True, may),
                    outcome("t2", False, may),
                ],
            )
    finally:
        engine.dispose()


def test_the_workforce_pnl_by_hand(ledger_url: str, tmp_path: Path) -> None:
    seed(ledger_url)
    targets = tmp_path / "agents.toml"
    targets.write_text(TARGETS)
    found = {r.agent: r for r in agents(ledger_url, period="2025-05", targets=targets)}
    triage, writer, solo = found["triage"], found["writer"], found["solo"]
    # triage: API 3 + 1, tools 0.50, review 1 (its own) + 1 (half of t2's 2), no allocation
    assert (triage.api_cost_nanos, triage.tools_cost_nanos) == (usd(4), usd("0.5"))
    assert (triage.human_review_cost_nanos, triage.allocated_cost_nanos) == (usd(2), 0)
    assert triage.total_cost_nanos == usd("6.5")
    assert triage.api_by_model == "model-a $3.00; model-b $1.00"
    assert (triage.work_items, triage.successful_outcomes, triage.failed_outcomes) == (2, 1, 1)
    assert triage.success_rate == Decimal("0.5") and triage.cost_per_success == Decimal("6.5")
    # 6 minutes at $40/h = $4 per success; the agent costs $6.50
    assert (triage.human_baseline_nanos, triage.savings_nanos) == (usd(4), usd("-2.5"))
    # April: $1 and its only work item failed -> missed; May: $6.50 > $5 -> missed twice
    assert (triage.met_target, triage.missed_in_a_row, triage.flag) == (False, 2, "retire")
    assert triage.action is not None and "retire or rework triage" in triage.action
    assert (writer.total_cost_nanos, writer.human_review_cost_nanos) == (usd(5), usd(1))
    assert (writer.flag, writer.missed_in_a_row, writer.cost_per_success) == (
        "below_target",
        1,
        None,
    )
    # c2: $8 allocated, solo's share of c2's direct cost is 3 of 4
    assert (solo.allocated_cost_nanos, solo.total_cost_nanos) == (usd(6), usd(9))
    assert solo.met_target is False  # cost, no success, default target


def test_without_targets_nothing_is_flagged(ledger_url: str) -> None:
    seed(ledger_url)
    result = CliRunner().invoke(
        main, ["agents", "--period", "2025-05", "--db", ledger_url, "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("agent,total_cost_nanos,total_cost_usd")
    assert {line.split(",")[0] for line in lines[1:]} == {"triage", "writer", "solo"}
    assert all(r.flag is None for r in agents(ledger_url, period="2025-05"))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[agents.a]\ntarget_cost_per_success = 0.5\n", "string"),
        ('[agents.a]\ntarget = "1"\n', "unknown key"),
        ("miss_periods = 0\n", "miss_periods"),
        ('[agents.a]\nmin_success_rate = "120%"\n', "more than 100%"),
    ],
)
def test_a_bad_targets_file_says_what_is_wrong(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=error):
        read_targets(path)
