"""Outcomes end to end: ``record_outcome`` in the app → the in-process exporter → the
``outcomes`` table; ``costledger import outcomes``; refused outcomes say why."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger import CostLedgerSpanExporter
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.imports.outcomes import import_outcomes
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.instrumentation.costledger import (
    CostLedgerInstrumentor,
    attribute_to,
    record_outcome,
)
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from .spanmaker import make_span


def stored(url: str) -> list[tuple[object, ...]]:
    engine = db.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT work_item_id, success, value_nanos, customer_id, agent, source"
                    " FROM outcomes ORDER BY timestamp, id"
                )
            ).all()
    finally:
        engine.dispose()
    return [(w, bool(s), v, c, a, src) for w, s, v, c, a, src in rows]


def test_record_outcome_reaches_the_outcomes_table(ledger_url: str) -> None:
    exporter = CostLedgerSpanExporter(ledger_url)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with attribute_to("cust_1", work_item_id="t_1", agent="triage"):
            record_outcome(success=False)
            record_outcome(success=True, value=Decimal("4.50"))
        record_outcome(work_item_id="t_2", success=True, customer_id="cust_2")
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert stored(ledger_url) == [
        ("t_1", False, None, "cust_1", "triage", "span"),
        ("t_1", True, 4_500_000_000, "cust_1", "triage", "span"),
        ("t_2", True, None, "cust_2", None, "span"),
    ]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: record_outcome(success=True), "needs a work item"),
        (lambda: record_outcome(work_item_id="t", success=cast(Any, "yes")), "True or False"),
        (lambda: record_outcome(work_item_id="t", success=True, value=cast(Any, 1.5)), "float"),
        (lambda: record_outcome(work_item_id="t", success=True, cost=1), "unexpected"),
    ],
)
def test_bad_outcomes_are_refused_in_the_app(call: object, error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        call()  # type: ignore[operator]


def test_an_outcome_span_without_a_work_item_is_rejected_with_the_reason() -> None:
    conversion = spans_to_rows([make_span({A.OUTCOME_SUCCESS: True}, name="outcome")])
    assert conversion.rows == [] and conversion.outcomes == []
    assert "work_item.id" in conversion.rejected[0][1]


CSV = """work_item_id,success,timestamp,value,customer_id,agent
t_1,resolved,2025-05-14T10:30:00Z,$4.00,cust_1,triage
t_2,no,2025-05-15,,cust_1,
"""


def test_import_outcomes_twice_adds_nothing_the_second_time(
    ledger_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text(CSV)
    first = CliRunner().invoke(main, ["import", "outcomes", str(path), "--db", ledger_url])
    assert first.exit_code == 0, first.output
    assert "imported 2 new outcome(s)" in first.output
    assert import_outcomes(ledger_url, path).rows == 0
    assert stored(ledger_url) == [
        ("t_1", True, 4_000_000_000, "cust_1", "triage", "import"),
        ("t_2", False, None, "cust_1", None, "import"),
    ]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("t_1,maybe,2025-05-14,,,", "neither true nor false"),
        ("t_1,true,14/05/2025,,,", "not ISO 8601"),
        (",true,2025-05-14,,,", "missing work_item_id"),
    ],
)
def test_a_bad_line_stops_the_import_with_its_number(tmp_path: Path, line: str, error: str) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text(CSV.splitlines()[0] + "\n" + line + "\n")
    with pytest.raises(InputError, match=rf"outcomes.csv:2: .*{error}"):
        import_outcomes(f"sqlite:///{tmp_path / 'l.db'}", path)
