"""The ledger's tables as they are now: ``ledger_entries`` and ``ledger_repricings``.

This module is THE schema for queries and for the code that lists the ledger's columns (the
row, the store, the view, the exports read their column names from here). The DDL that makes
it lives in ``migrations/``, each migration keeping a frozen copy of the tables as it made
them; when a migration changes these tables, change them here too —
``tests/ledger/test_schema.py`` compares this module with a migrated database, column by
column and index by index, and :class:`~.rows.LedgerRow`'s fields with the columns.

Money is stored as integer nano-dollars (``cost_nanos``): exact on every database, and sums of
a million rows are exact integer sums. The ``cost_ledger`` view (``migrations/m0001_ledger.py``,
``m0002_cost_ledger_utc.py``) shows every column plus ``cost_usd``.
"""

from __future__ import annotations

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD

__all__ = ["NANOS_PER_USD", "ROW_COLUMNS", "ledger_entries", "ledger_repricings", "metadata"]

metadata = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    # "call:<trace>:<response id>" or "span:<trace>:<span>" for a span; others make their own.
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
    # ";"-separated problems found with the input (e.g. token counts that do not add up).
    sa.Column("flags", sa.String(400)),
    sa.Column("batch", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("service_tier", sa.String(50)),
    sa.Column("trace_id", sa.String(32)),
    sa.Column("span_id", sa.String(16)),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_ledger_entries_customer_time", "customer_id", "timestamp"),
    sa.Index("ix_ledger_entries_time", "timestamp"),
    sa.Index("ix_ledger_entries_model", "provider", "model"),
    # m0020: what the incremental aggregate reads to find the rows recorded since its last run.
    sa.Index("ix_ledger_entries_recorded_at", "recorded_at"),
)

ROW_COLUMNS: tuple[str, ...] = tuple(
    column.name for column in ledger_entries.columns if column.name not in ("id", "recorded_at")
)
"""The columns a row supplies (all but the database's ``id`` and the store's ``recorded_at``),
in table order: :class:`~.rows.LedgerRow`'s fields are these."""

ledger_repricings = sa.Table(
    "ledger_repricings",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("entry_id", sa.BigInteger, sa.ForeignKey("ledger_entries.id"), nullable=False),
    sa.Column("repriced_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("old_cost_nanos", sa.BigInteger),
    sa.Column("new_cost_nanos", sa.BigInteger),
    sa.Column("old_price_rule", sa.String(400)),
    sa.Column("new_price_rule", sa.String(400)),
    sa.Column("reason", sa.String(400)),
    sa.Index("ix_ledger_repricings_entry", "entry_id"),
)
