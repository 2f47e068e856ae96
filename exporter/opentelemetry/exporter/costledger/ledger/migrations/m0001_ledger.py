"""The first ledger schema: ``ledger_entries``, ``ledger_repricings`` and the ``cost_ledger`` view.

Money is stored as integer nano-dollars (``cost_nanos``): exact on every database, and sums of a
million rows are exact integer sums. The ``cost_ledger`` view adds ``cost_usd`` in dollars so the
seed's Step 3 query runs as written: an exact NUMERIC on PostgreSQL; SQLite has no exact decimal
type, so there it is a REAL meant for display, and exact work sums ``cost_nanos``.
"""

from __future__ import annotations

import sqlalchemy as sa

# Frozen copy of the tables as this migration creates them; later changes are new migrations.
_md = sa.MetaData()

ledger_entries = sa.Table(
    "ledger_entries",
    _md,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    # trace id + span id for a span ("span:<trace>:<span>"); other sources make their own.
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("customer_name", sa.String(400)),
    sa.Column("workspace_id", sa.String(200)),
    sa.Column("work_item_id", sa.String(200)),
    sa.Column("user_id", sa.String(200)),
    sa.Column("service", sa.String(200)),
    sa.Column("provider", sa.String(100)),
    sa.Column("model", sa.String(200)),
    sa.Column("operation", sa.String(100)),
    # input_tokens INCLUDES cache read/write; output_tokens INCLUDES reasoning. The buckets
    # below are non-overlapping: uncached + cache_read + cache_write_5m + cache_write_1h = input.
    sa.Column("input_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("uncached_input_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cache_read_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cache_write_5m_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cache_write_1h_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reasoning_tokens", sa.BigInteger, nullable=False, server_default="0"),
    # Non-token cost events (human review hours, third-party calls, ...).
    sa.Column("quantity", sa.Numeric(38, 9)),
    sa.Column("unit", sa.String(50)),
    # NULL when unpriced (see unpriced_reason): never a silent zero.
    sa.Column("cost_nanos", sa.BigInteger),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("category", sa.String(50), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),  # span, allocation, import, adjustment
    sa.Column("price_rule", sa.String(400)),
    sa.Column("unpriced_reason", sa.String(400)),
    # Comma-separated problems found with the input (e.g. token counts that do not add up).
    sa.Column("flags", sa.String(400)),
    sa.Column("batch", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("service_tier", sa.String(50)),
    sa.Column("trace_id", sa.String(32)),
    sa.Column("span_id", sa.String(16)),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_ledger_entries_customer_time", "customer_id", "timestamp"),
    sa.Index("ix_ledger_entries_time", "timestamp"),
    sa.Index("ix_ledger_entries_model", "provider", "model"),
)

ledger_repricings = sa.Table(
    "ledger_repricings",
    _md,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("entry_id", sa.BigInteger, sa.ForeignKey("ledger_entries.id"), nullable=False),
    sa.Column("repriced_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("old_cost_nanos", sa.BigInteger),
    sa.Column("new_cost_nanos", sa.BigInteger),
    sa.Column("old_price_rule", sa.String(400)),
    sa.Column("new_price_rule", sa.String(400)),
    sa.Column("reason", sa.String(400)),
    sa.Index("ix_ledger_repricings_entry", "entry_id"),
)

_VIEW_COLUMNS = (
    "id, idempotency_key, timestamp, customer_id, customer_name, workspace_id, work_item_id,"
    " user_id, service, provider, model, operation, input_tokens, output_tokens,"
    " uncached_input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,"
    " reasoning_tokens, quantity, unit, cost_nanos, currency, category, source, price_rule,"
    " unpriced_reason, flags, batch, service_tier, trace_id, span_id, recorded_at"
)


def upgrade(conn: sa.Connection) -> None:
    _md.create_all(conn)
    if conn.dialect.name == "postgresql":
        cost_usd = "CAST(cost_nanos AS NUMERIC(38, 9)) / 1000000000"
    else:
        cost_usd = "cost_nanos / 1000000000.0"
    conn.execute(
        sa.text(
            f"CREATE VIEW cost_ledger AS SELECT {_VIEW_COLUMNS}, {cost_usd} AS cost_usd"
            " FROM ledger_entries"
        )
    )
