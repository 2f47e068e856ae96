"""``normalize``: cost per successful outcome beside cost per work item (latest outcome wins)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from opentelemetry.exporter.costledger.jobs.normalize import normalize
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.outcomes import OutcomeRow, insert_outcomes

from .helpers import insert, row


def outcome(work_item: str, success: bool, day: int, month: int = 5) -> OutcomeRow:
    at = datetime(2025, month, day, tzinfo=UTC)
    return OutcomeRow(f"test:{work_item}:{at.isoformat()}", at, work_item, success)


def test_cost_per_successful_outcome(ledger_url: str) -> None:
    insert(
        ledger_url,
        [
            row("c1", "2025-05-02", "3", work_item_id="t1"),
            row("c1", "2025-05-03", "2", work_item_id="t2"),
            row("c1", "2025-05-04", "1", work_item_id="t3"),
            row("c1", "2025-05-05", "6", work_item_id="t4"),  # no outcome
            row("c2", "2025-05-05", "5", work_item_id="u1"),
        ],
    )
    engine = db.create_engine(ledger_url)
    try:
        with engine.begin() as conn:
            insert_outcomes(
                conn,
                [
                    outcome("t1", True, 10),
                    outcome("t2", True, 3),
                    outcome("t2", False, 9),  # reopened: the latest says failed
                    outcome("t3", False, 4),
                    outcome("t3", True, 2, month=6),  # resolved in June: counts for May's work
                ],
            )
    finally:
        engine.dispose()
    c1, c2 = sorted(normalize(ledger_url, period="2025-05"), key=lambda r: r.customer_id)
    assert (c1.work_items, c1.successful_outcomes, c1.failed_outcomes) == (4, 2, 1)
    assert c1.cost_per_work_item == Decimal("3")
    assert c1.cost_per_successful_outcome == Decimal("6")  # $12 / 2 successes
    assert (c2.successful_outcomes, c2.failed_outcomes, c2.cost_per_successful_outcome) == (
        0,
        0,
        None,
    )
