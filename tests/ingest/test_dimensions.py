"""The dimension columns of ledger rows: read from spans, stored, and NULL on rows of before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ledger import db, migrations
from opentelemetry.exporter.costledger.ledger.store import LedgerStore
from opentelemetry.instrumentation.costledger import attributes as A

from .spanmaker import make_span

CALL: dict[str, Any] = {
    A.GEN_AI_PROVIDER_NAME: "anthropic",
    A.GEN_AI_OPERATION_NAME: "chat",
    A.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5",
    A.GEN_AI_USAGE_INPUT_TOKENS: 100,
    A.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
    A.CUSTOMER_ID: "cust_1",
}


def row_of(attributes: dict[str, Any], **kwargs: Any) -> Any:
    rows = spans_to_rows([make_span({**CALL, **attributes})], **kwargs).rows
    assert len(rows) == 1
    return rows[0]


def test_a_call_row_carries_every_dimension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTLEDGER_TAGS", "plan, region")
    span = make_span(
        {
            **CALL,
            A.GEN_AI_AGENT_NAME: "triage",
            A.FEATURE: "ticket-summary",
            A.SESSION: "conv_1",
            A.REQUEST_ATTEMPTS: 3,
            A.REQUEST_HASH: "ab" * 16,
            "costledger.tag.plan": "pro",
            "costledger.tag.secret": "not allowed",
        }
    )
    span = dataclasses.replace(
        span,
        resource_attributes={"service.name": "bot", "deployment.environment.name": "prod"},
    )
    row = spans_to_rows([span]).rows[0]
    assert (row.agent, row.feature, row.session_id, row.environment) == (
        "triage",
        "ticket-summary",
        "conv_1",
        "prod",
    )
    assert (row.status, row.error_type, row.attempts) == ("ok", None, 3)
    assert row.request_hash == "ab" * 16
    assert row.tags == '{"plan":"pro"}'


def test_tags_are_kept_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSTLEDGER_TAGS", raising=False)
    tagged = {"costledger.tag.plan": "pro"}
    assert row_of(tagged).tags is None  # default: none
    assert row_of(tagged, tags=["plan"]).tags == '{"plan":"pro"}'
    monkeypatch.setenv("COSTLEDGER_TAGS", "region")
    assert row_of(tagged).tags is None
    assert row_of(tagged, tags="plan").tags == '{"plan":"pro"}'  # the argument wins


@pytest.mark.parametrize(
    ("attributes", "status", "error_type"),
    [
        ({}, "ok", None),
        ({A.ERROR_TYPE: "RateLimitError"}, "error", "RateLimitError"),
        ({A.CALL_STATUS: "cancelled"}, "cancelled", None),
        ({A.GEN_AI_RESPONSE_FINISH_REASONS: ("max_tokens",)}, "truncated", None),
        ({A.GEN_AI_RESPONSE_FINISH_REASONS: ("length",)}, "truncated", None),
        ({A.GEN_AI_RESPONSE_FINISH_REASONS: ("end_turn",)}, "ok", None),
    ],
)
def test_status(attributes: dict[str, Any], status: str, error_type: str | None) -> None:
    row = row_of(attributes)
    assert (row.status, row.error_type) == (status, error_type)


def test_an_error_status_without_error_type_is_an_error() -> None:
    span = dataclasses.replace(make_span(CALL), status_code=2)
    row = spans_to_rows([span]).rows[0]
    assert (row.status, row.error_type) == ("error", "_OTHER")


def test_the_agent_of_an_enclosing_span_in_the_same_batch() -> None:
    agent = make_span(
        {A.GEN_AI_OPERATION_NAME: "invoke_agent", A.GEN_AI_AGENT_NAME: "Planner"},
        span_id=10,
        name="invoke_agent Planner",
    )
    step = make_span({}, span_id=11, parent_span_id=10, name="step")
    call = make_span(CALL, span_id=12, parent_span_id=11)
    other_trace = make_span(CALL, trace_id=0xDEF, span_id=13, parent_span_id=10)
    rows = spans_to_rows([call, other_trace, step, agent]).rows
    assert [r.agent for r in rows] == ["Planner", None]


def test_a_cost_event_row_carries_its_dimensions() -> None:
    span = make_span(
        {
            A.COST_CATEGORY: "human_review",
            A.COST_QUANTITY: "3",
            A.COST_UNIT: "minute",
            A.COST_AMOUNT: "1.5",
            A.GEN_AI_AGENT_NAME: "triage",
            A.FEATURE: "review",
        },
        name="cost human_review",
    )
    row = spans_to_rows([span]).rows[0]
    assert (row.agent, row.feature, row.status) == ("triage", "review", "ok")


def test_old_rows_keep_null_dimensions_new_rows_store_them(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        before = [m.name for m in migrations.all_migrations() if m.name < "m0060"]
        migrations.migrate(engine, until=before[-1])
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_entries (idempotency_key, timestamp, category, source,"
                    " customer_id, cost_nanos, recorded_at) VALUES"
                    " ('span:old:1', :ts, 'api', 'span', 'cust_1', 5, :ts)"
                ),
                {"ts": datetime(2025, 5, 1, tzinfo=UTC)},
            )
        # Later migrations follow it (m0080_billing, ...): m0060 is the first to run.
        assert migrations.migrate(engine)[0] == "m0060_dimensions"
    finally:
        engine.dispose()
    store = LedgerStore(ledger_url)
    try:
        store.insert([row_of({A.GEN_AI_AGENT_NAME: "triage", A.ERROR_TYPE: "APIError"})])
    finally:
        store.close()
    engine = db.create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT idempotency_key, agent, status, error_type, attempts, tags, cost_usd"
                    " FROM cost_ledger ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r)[:6] for r in found] == [
        ("span:old:1", None, None, None, None, None),
        (found[1][0], "triage", "error", "APIError", None, None),
    ]
