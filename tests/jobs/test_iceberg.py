"""``costledger iceberg``: every row of the period in exactly one layer, by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.jobs.iceberg import iceberg
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.outcomes import OutcomeRow, insert_outcomes

from .helpers import insert, row, usd

H1, H2 = "a" * 32, "b" * 32
MAY = datetime(2025, 5, 20, tzinfo=UTC)


def seed(url: str) -> None:
    insert(
        url,
        [
            row("c1", "2025-05-02", "10", work_item_id="t1", request_hash=H1, status="ok",
                attempts=3),
            row("c1", "2025-05-02", "1", work_item_id="t1", request_hash=H2, status="error",
                error_type="InternalServerError"),
            row("c1", "2025-05-03", "10", work_item_id="t1", request_hash=H1, status="ok"),
            row("c1", "2025-05-03", "2", work_item_id="t1", status="cancelled"),
            row("c1", "2025-05-03", "3", work_item_id="t1", status="truncated"),
            row("c1", "2025-05-04", "4", work_item_id="t2", status="ok", attempts=2),
            row("c1", "2025-05-04", "5", work_item_id="t3", status="ok"),
            row("c1", "2025-05-04", "6"),  # old row: no status, no work item
            row("c1", "2025-05-05", "7", category="human_review", work_item_id="t1"),
            row(None, "2025-05-05", "8", work_item_id="t4"),
        ],
    )  # fmt: skip
    engine = db.create_engine(url)
    try:
        with engine.begin() as conn:
            insert_outcomes(
                conn,
                [OutcomeRow("o1", MAY, "t1", True), OutcomeRow("o2", MAY, "t2", False)],
            )
    finally:
        engine.dispose()


def test_the_layers_add_up_to_the_total(ledger_url: str) -> None:
    seed(ledger_url)
    found = iceberg(ledger_url, period="2025-05")
    layers = {layer.layer: (layer.cost_nanos, layer.entries) for layer in found.layers}
    assert layers == {
        "visible": (usd(10), 1),
        "app_retries": (usd(10), 1),
        "unattributed": (usd(8), 1),
        "human_review": (usd(7), 1),
        "unknown_outcome": (usd(11), 2),  # t3 has no outcome; the old row has no work item
        "failed_outcomes": (usd(4), 1),
        "truncated_calls": (usd(3), 1),
        "cancelled_calls": (usd(2), 1),
        "failed_calls": (usd(1), 1),
    }
    assert found.layers[0].layer == "visible" and found.layers[0].visible
    assert (found.total_nanos, found.visible_nanos, found.hidden_nanos) == (
        usd(56),
        usd(10),
        usd(46),
    )
    assert found.sdk_retries == 3  # 2 + 1 attempts made again
    one = iceberg(ledger_url, period="2025-05", customer="c1")
    assert "unattributed" not in {layer.layer for layer in one.layers}
    assert one.total_nanos == usd(48)


def test_the_cli(ledger_url: str) -> None:
    seed(ledger_url)
    result = CliRunner().invoke(main, ["iceberg", "--period", "2025-05", "--db", ledger_url])
    assert result.exit_code == 0, result.output
    assert "visible $10.00, hidden $46.00 (82% of $56.00)" in " ".join(result.output.split())
    csv_out = CliRunner().invoke(
        main, ["iceberg", "--period", "2025-05", "--db", ledger_url, "--format", "csv"]
    )
    assert csv_out.output.splitlines()[-1].startswith("sdk_retries,")
