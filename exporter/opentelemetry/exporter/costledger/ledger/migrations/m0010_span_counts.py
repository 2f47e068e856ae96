"""Driver counts from the receiver: ``span_counts`` and the requests already counted.

``span_counts`` holds, per UTC day, customer and service, the number of spans received (every
span, LLM call or not): the "log events" by which the seed's Step 4 splits an observability
bill. ``customer_id`` NULL means spans without a customer; ``service`` NULL means spans without
``service.name``. One row per (day, customer_id, service), enforced by a unique index over the
NULL-free forms of the three, which is also the upsert's conflict target.

``span_count_requests`` remembers which requests were counted, by the digest of the spans they
carry, so a retried request adds nothing (its ledger rows are deduplicated by their own key).
Its rows are pruned after a retention period by the receiver.
"""

from __future__ import annotations

import sqlalchemy as sa

_md = sa.MetaData()

span_counts = sa.Table(
    "span_counts",
    _md,
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("service", sa.String(200)),
    sa.Column("spans", sa.BigInteger, nullable=False),
)

span_count_requests = sa.Table(
    "span_count_requests",
    _md,
    # hex digest of the request's (trace id, span id, start time) set
    sa.Column("request_key", sa.String(64), primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("spans", sa.BigInteger, nullable=False),
    sa.Index("ix_span_count_requests_received", "received_at"),
)

# The unique key of span_counts, also the ON CONFLICT target of the counting upsert.
COUNT_KEY_SQL = "day, (COALESCE(customer_id, '')), (COALESCE(service, ''))"


def upgrade(conn: sa.Connection) -> None:
    _md.create_all(conn)
    conn.execute(
        sa.text(f"CREATE UNIQUE INDEX ux_span_counts_key ON span_counts ({COUNT_KEY_SQL})")
    )
