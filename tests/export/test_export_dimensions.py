"""Exports carry the dimensions: the ledger csv has their columns, FOCUS puts them in ``Tags``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from opentelemetry.exporter.costledger.export import export_ledger

from ..jobs.helpers import insert, row

ROWS = [
    row("c1", "2025-05-02", "1", agent="triage", feature="summary", status="error",
        error_type="RateLimitError", attempts=3, session_id="conv_1", environment="prod",
        request_hash="ab" * 16, tags='{"plan":"pro"}'),
    row("c1", "2025-05-03", "2"),
]  # fmt: skip


def test_focus_tags_and_ledger_columns_carry_the_dimensions(
    ledger_url: str, tmp_path: Path
) -> None:
    insert(ledger_url, ROWS)
    focus = tmp_path / "focus.csv"
    export_ledger(ledger_url, fmt="focus", period="2025-05", out=focus)
    tagged, plain = (json.loads(r["Tags"]) for r in csv.DictReader(focus.open(encoding="utf-8")))
    assert tagged == {
        "customer_id": "c1",
        "agent": "triage",
        "feature": "summary",
        "session_id": "conv_1",
        "environment": "prod",
        "status": "error",
        "error_type": "RateLimitError",
        "attempts": "3",
        "request_hash": "ab" * 16,
        "tag.plan": "pro",
    }
    assert plain == {"customer_id": "c1"}
    ledger = tmp_path / "ledger.csv"
    export_ledger(ledger_url, fmt="csv", period="2025-05", out=ledger)
    first = next(csv.DictReader(ledger.open(encoding="utf-8")))
    assert (first["agent"], first["status"], first["attempts"], first["tags"]) == (
        "triage",
        "error",
        "3",
        '{"plan":"pro"}',
    )
