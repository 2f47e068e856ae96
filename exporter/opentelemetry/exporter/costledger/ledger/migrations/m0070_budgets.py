"""Budgets that warn ahead (issue 16): the budget an alert is about, and where each budget
stood at the last ``costledger alerts`` run.

``alerts`` gains, for the ``budget_threshold`` and ``budget_forecast`` alerts (NULL for the
other kinds and for the rows before):

=================  ============================================================================
scope              ``customer``, ``workspace``, ``feature``, ``agent`` or ``tag``
scope_value        the customer (workspace, feature, agent), or ``name=value`` of a tag
threshold          the percentage of the budget crossed (``budget_threshold``)
forecast_nanos     the forecast to the period's end when raised (``budget_forecast``)
forecast_date      the date the forecast passes the budget (``budget_forecast``)
=================  ============================================================================

``budget_status`` holds one row per budget, concrete scope value and period: the figures of the
last alerts run that evaluated it (the report's and the dashboard's budgets table); its columns
are documented in ``jobs/budget_alerts.py``.
"""

from __future__ import annotations

import sqlalchemy as sa

_md = sa.MetaData()
_PERCENT = sa.Numeric(20, 4)


def alert_columns() -> list[sa.Column[object]]:
    """The columns this migration adds to ``alerts`` (new objects on each call)."""
    return [
        sa.Column("scope", sa.String(20)),
        sa.Column("scope_value", sa.String(300)),
        sa.Column("threshold", _PERCENT),
        sa.Column("forecast_nanos", sa.BigInteger),
        sa.Column("forecast_date", sa.Date),
    ]


budget_status = sa.Table(
    "budget_status",
    _md,
    # The budget as written: customer=*, tag:team=search (``Budget.label``).
    sa.Column("budget", sa.String(300), primary_key=True),
    sa.Column("scope_value", sa.String(300), primary_key=True),
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("scope", sa.String(20), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("spent_nanos", sa.BigInteger, nullable=False),
    sa.Column("amount_nanos", sa.BigInteger, nullable=False),
    sa.Column("hard_limit_nanos", sa.BigInteger),
    sa.Column("percent", _PERCENT),
    sa.Column("thresholds", sa.String(200), nullable=False),
    sa.Column("thresholds_crossed", sa.String(200), nullable=False),
    sa.Column("forecast_nanos", sa.BigInteger, nullable=False),
    sa.Column("forecast_date", sa.Date),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_budget_status_period", "period_start", "period_end"),
)


def upgrade(conn: sa.Connection) -> None:
    preparer = conn.dialect.identifier_preparer
    for column in alert_columns():
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE alerts ADD COLUMN {preparer.quote(column.name)} {kind}"))
    _md.create_all(conn)
