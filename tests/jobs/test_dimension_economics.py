"""``normalize --by agent|feature`` and ``rank --by agent|feature``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.jobs.dimension_economics import (
    normalize_by,
    stored_dimension_economics,
)
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.outcomes import OutcomeRow, insert_outcomes

from .helpers import insert, row, usd

MAY = datetime(2025, 5, 20, tzinfo=UTC)


def outcome(item: str, success: bool, value: str | None = None) -> OutcomeRow:
    return OutcomeRow(
        f"t:{item}", MAY, item, success, value_nanos=None if value is None else usd(value)
    )


def seed(url: str) -> None:
    insert(
        url,
        [
            row("c1", "2025-05-02", "3", work_item_id="t1", agent="triage", feature="summary"),
            row("c1", "2025-05-02", "1", work_item_id="t2", agent="triage", feature="reply"),
            row("c1", "2025-05-03", "4", work_item_id="t2", agent="writer", feature="reply"),
            row("c1", "2025-05-04", "2", category="human_review", work_item_id="t2",
                agent="writer"),
            row("c2", "2025-05-04", "5"),  # no agent, no feature
        ],
    )  # fmt: skip
    engine = db.create_engine(url)
    try:
        with engine.begin() as conn:
            insert_outcomes(conn, [outcome("t1", True, "10"), outcome("t2", False)])
    finally:
        engine.dispose()


def test_per_agent_cost_outcomes_and_rank(ledger_url: str) -> None:
    seed(ledger_url)
    found = {r.name: r for r in normalize_by(ledger_url, period="2025-05", by="agent")}
    triage, writer, none = found["triage"], found["writer"], found["(none)"]
    assert (triage.ai_cost_nanos, triage.work_items) == (usd(4), 2)
    assert (triage.successful_outcomes, triage.failed_outcomes) == (1, 1)
    assert triage.cost_per_successful_outcome == Decimal("4")
    assert (triage.value_nanos, triage.profitability_nanos) == (usd(10), usd(6))
    assert (writer.ai_cost_nanos, writer.api_cost_nanos, writer.other_cost_nanos) == (
        usd(6),
        usd(4),
        usd(2),
    )
    assert (writer.successful_outcomes, writer.cost_per_successful_outcome) == (0, None)
    assert none.ai_cost_nanos == usd(5) and none.work_items == 0
    assert [triage.rank, none.rank, writer.rank] == [1, 2, 3]
    stored = stored_dimension_economics(ledger_url, period="2025-05", by="agent")
    assert [r.name for r in stored] == ["triage", "(none)", "writer"]


def test_per_feature(ledger_url: str) -> None:
    seed(ledger_url)
    found = {
        r.name: r.ai_cost_nanos for r in normalize_by(ledger_url, period="2025-05", by="feature")
    }
    assert found == {"summary": usd(3), "reply": usd(5), "(none)": usd(7)}


def test_the_cli_normalizes_and_ranks_by_agent(ledger_url: str) -> None:
    seed(ledger_url)
    for verb in ("normalize", "rank"):
        result = CliRunner().invoke(
            main,
            [verb, "--period", "2025-05", "--by", "agent", "--db", ledger_url, "--format", "csv"],
        )
        assert result.exit_code == 0, result.output
        first = next(csv.DictReader(io.StringIO(result.output)))
        assert (first["name"], first["ai_cost_nanos"]) == ("triage", "4000000000")
        assert first.get("rank", "1") == "1"
