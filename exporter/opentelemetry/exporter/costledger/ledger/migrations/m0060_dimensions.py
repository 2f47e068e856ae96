"""Dimensions beyond the customer, and outcomes (issue 13).

``ledger_entries`` gains a column per dimension of a cost event; rows recorded before keep NULL
in all of them (nothing is guessed for the past):

==============  ===============================================================================
agent           ``gen_ai.agent.name`` (the call's, or of the agent span enclosing it)
feature         ``costledger.feature``: the product feature (``ticket-summary``)
session_id      ``gen_ai.conversation.id``
environment     ``deployment.environment.name`` of the span's resource
status          ``ok``, ``error``, ``cancelled`` (stream abandoned), ``truncated`` (max tokens)
error_type      ``error.type`` of a failed call
attempts        the SDK's HTTP attempts for the call (1 = not retried); NULL when not told
request_hash    digest of the request's shape: equal within a work item = asked again
tags            the allowed tags as canonical JSON text (``{"plan":"pro"}``), NULL for none
==============  ===============================================================================

The ``cost_ledger`` view is recreated with them. ``outcomes`` holds what became of work items
(``record_outcome`` spans and ``costledger import outcomes``). ``cost_aggregates`` gains the
dimension columns of its groups; ``unit_economics`` the successful outcomes and the cost per
successful outcome; ``dimension_economics`` holds normalize's and rank's results per agent and
per feature. Each job documents its table's columns in its own module.
"""

from __future__ import annotations

import sqlalchemy as sa

_md = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_RATIO = sa.Numeric(38, 12)
_QTY = sa.Numeric(38, 9)


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def ledger_columns() -> list[sa.Column[object]]:
    """The columns this migration adds to ``ledger_entries`` (new objects on each call)."""
    return [
        sa.Column("agent", sa.String(200)),
        sa.Column("feature", sa.String(200)),
        sa.Column("session_id", sa.String(200)),
        sa.Column("environment", sa.String(100)),
        sa.Column("status", sa.String(20)),
        sa.Column("error_type", sa.String(200)),
        sa.Column("attempts", sa.Integer),
        sa.Column("request_hash", sa.String(32)),
        sa.Column("tags", sa.Text),
    ]


def aggregate_columns() -> list[sa.Column[object]]:
    """The group columns this migration adds to ``cost_aggregates``."""
    return [
        sa.Column("agent", sa.String(200)),
        sa.Column("feature", sa.String(200)),
        sa.Column("session_id", sa.String(200)),
        sa.Column("environment", sa.String(100)),
        sa.Column("status", sa.String(20)),
        sa.Column("tag_value", sa.String(200)),
    ]


def unit_economics_columns() -> list[sa.Column[object]]:
    """The columns this migration adds to ``unit_economics``."""
    return [
        sa.Column("successful_outcomes", sa.BigInteger),
        sa.Column("failed_outcomes", sa.BigInteger),
        sa.Column("cost_per_successful_outcome", _QTY),
    ]


outcomes = sa.Table(
    "outcomes",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    _ts("timestamp"),
    sa.Column("work_item_id", sa.String(200), nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("agent", sa.String(200)),
    sa.Column("feature", sa.String(200)),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("value_nanos", sa.BigInteger),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("trace_id", sa.String(32)),
    sa.Column("span_id", sa.String(16)),
    _ts("recorded_at"),
    sa.Index("ix_outcomes_work_item_time", "work_item_id", "timestamp"),
    sa.Index("ix_outcomes_time", "timestamp"),
)

dimension_economics = sa.Table(
    "dimension_economics",
    _md,
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("dimension", sa.String(20), primary_key=True),
    # '' for the cost no value of the dimension is named on (a key column cannot be NULL).
    sa.Column("group_value", sa.String(200), primary_key=True),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("ai_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("api_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("other_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("unpriced_entries", sa.BigInteger, nullable=False),
    sa.Column("work_items", sa.BigInteger, nullable=False),
    sa.Column("cost_per_work_item", _QTY),
    sa.Column("successful_outcomes", sa.BigInteger, nullable=False),
    sa.Column("failed_outcomes", sa.BigInteger, nullable=False),
    sa.Column("cost_per_successful_outcome", _QTY),
    sa.Column("value_nanos", sa.BigInteger),
    sa.Column("profitability_nanos", sa.BigInteger),
    sa.Column("rank", sa.Integer),
    _ts("computed_at"),
)

# The cost_ledger view as this migration defines it: every column of ledger_entries plus cost_usd.
_VIEW_COLUMNS = (
    "id, idempotency_key, {timestamp}, customer_id, customer_name, workspace_id,"
    " work_item_id, user_id, service, provider, model, operation, input_tokens, output_tokens,"
    " uncached_input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,"
    " reasoning_tokens, quantity, unit, cost_nanos, currency, category, source, price_rule,"
    " unpriced_reason, flags, batch, service_tier, trace_id, span_id, recorded_at, agent,"
    " feature, session_id, environment, status, error_type, attempts, request_hash, tags"
)


def _add_columns(conn: sa.Connection, table: str, columns: list[sa.Column[object]]) -> None:
    preparer = conn.dialect.identifier_preparer
    for column in columns:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(
            sa.text(
                f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column.name)}"
                f" {kind}"
            )
        )


def upgrade(conn: sa.Connection) -> None:
    _add_columns(conn, "ledger_entries", ledger_columns())
    _add_columns(conn, "cost_aggregates", aggregate_columns())
    _add_columns(conn, "unit_economics", unit_economics_columns())
    _md.create_all(conn)
    conn.execute(sa.text("DROP VIEW cost_ledger"))
    if conn.dialect.name == "postgresql":
        columns = _VIEW_COLUMNS.format(timestamp="(timestamp AT TIME ZONE 'UTC') AS timestamp")
        cost_usd = "CAST(cost_nanos AS NUMERIC(38, 9)) / 1000000000"
    else:
        columns = _VIEW_COLUMNS.format(timestamp="timestamp")
        cost_usd = "cost_nanos / 1000000000.0"
    conn.execute(
        sa.text(
            f"CREATE VIEW cost_ledger AS SELECT {columns}, {cost_usd} AS cost_usd"
            " FROM ledger_entries"
        )
    )
