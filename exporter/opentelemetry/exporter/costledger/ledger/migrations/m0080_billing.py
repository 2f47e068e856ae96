"""Per-customer billing (issue 16, item 3): what each customer is charged per period, and the
events that carried those charges to a billing system.

``billing_charges``
    One row per period × time zone × customer: the charge ``costledger bill`` computed, replaced
    whenever the period is billed again (the ledger may have changed). Money in nano-dollars;
    every amount but ``cost_nanos`` is a whole number of cents.
``billing_lines``
    The lines of those charges (cost plus markup, resale tokens per model and kind, the fee per
    work item, the allowance, the minimum top-up), replaced with them.
``billing_events``
    What was (or is to be) sent to each destination (``stripe``, ``openmeter``, ``lago``): one
    row per event, never replaced. Revision 0 is a customer's charge for the period; revisions
    1, 2, ... are adjustments for an increase found when the period is billed again. Its
    ``idempotency_key`` travels with the event (Stripe's ``identifier``, the CloudEvent ``id``,
    Lago's ``transaction_id``); ``period_starts_at``/``period_ends_at`` are the period's UTC
    instants, so a period overlapping one already billed is refused; ``sent_at`` is set once
    the destination accepted it, so an event is sent once and a failed one by the next run.
"""

from __future__ import annotations

import sqlalchemy as sa

_md = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


billing_charges = sa.Table(
    "billing_charges",
    _md,
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("usage_nanos", sa.BigInteger, nullable=False),
    sa.Column("allowance_nanos", sa.BigInteger, nullable=False),
    sa.Column("minimum_topup_nanos", sa.BigInteger, nullable=False),
    sa.Column("total_nanos", sa.BigInteger, nullable=False),
    sa.Column("work_items", sa.BigInteger, nullable=False),
    sa.Column("unpriced_entries", sa.BigInteger, nullable=False),
    _ts("computed_at"),
)

billing_lines = sa.Table(
    "billing_lines",
    _md,
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("model", sa.String(200)),
    sa.Column("quantity", sa.Numeric(38, 9)),
    sa.Column("unit_price", sa.Numeric(38, 12)),
    sa.Column("amount_nanos", sa.BigInteger, nullable=False),
    sa.Column("description", sa.String(400), nullable=False),
)

billing_events = sa.Table(
    "billing_events",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("idempotency_key", sa.String(100), nullable=False),
    sa.Column("destination", sa.String(20), nullable=False),
    sa.Column("period", sa.String(40), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    _ts("period_starts_at"),  # the period's exact UTC range: overlapping periods are refused
    _ts("period_ends_at"),
    sa.Column("billing_customer", sa.String(200), nullable=False),
    sa.Column("amount_nanos", sa.BigInteger, nullable=False),
    sa.Column("total_nanos", sa.BigInteger, nullable=False),
    _ts("event_time"),
    _ts("created_at"),
    _ts("sent_at", nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(600)),
    sa.UniqueConstraint("destination", "idempotency_key", name="uq_billing_events_key"),
    sa.UniqueConstraint(
        "destination",
        "period",
        "time_zone",
        "customer_id",
        "revision",
        name="uq_billing_events_revision",
    ),
)


def upgrade(conn: sa.Connection) -> None:
    _md.create_all(conn)
