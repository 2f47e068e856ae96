"""``cost_ledger.timestamp`` in UTC whatever the session's time zone (PostgreSQL).

``ledger_entries.timestamp`` is a ``timestamptz``; through the view it was shown, and cut by
``DATE_TRUNC('month', timestamp)``, in the *session's* time zone, so the seed's Step 3 query put
a call made at 23:30 UTC on 31 May into June for a client in Europe. The view now shows the
timestamp as a UTC ``timestamp`` (without time zone): months and days are UTC months and days
for every client. SQLite stores UTC text already and is unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa

# Frozen copy of the view's columns as this migration defines them.
_COLUMNS = (
    "id, idempotency_key, (timestamp AT TIME ZONE 'UTC') AS timestamp, customer_id,"
    " customer_name, workspace_id, work_item_id, user_id, service, provider, model, operation,"
    " input_tokens, output_tokens, uncached_input_tokens, cache_read_tokens,"
    " cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, quantity, unit,"
    " cost_nanos, currency, category, source, price_rule, unpriced_reason, flags, batch,"
    " service_tier, trace_id, span_id, recorded_at"
)


def upgrade(conn: sa.Connection) -> None:
    if conn.dialect.name != "postgresql":
        return
    conn.execute(sa.text("DROP VIEW cost_ledger"))
    conn.execute(
        sa.text(
            f"CREATE VIEW cost_ledger AS SELECT {_COLUMNS},"
            " CAST(cost_nanos AS NUMERIC(38, 9)) / 1000000000 AS cost_usd FROM ledger_entries"
        )
    )
