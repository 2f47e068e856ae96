"""The dates of the period an alert or a ranking concerns: ``alerts`` and ``profitability``
get ``period_start`` and ``period_end`` (local dates ``[start, end)``, as ``unit_economics``
has them), and ``alerts`` its ``time_zone``.

Reports and dashboards show an alert with the period it is about (a spike of 2026-W47 in the
November report), never by when it was raised, and the Grafana ranking picks the latest
*period*, not the latest run. Rows written before this migration get the dates of their period
label; an alert did not record its time zone then and is taken as UTC (its dates are those of
the label either way, only the UTC instants of their midnights can differ).

``alerts_table`` and ``profitability_table`` are frozen copies of the two tables as this
migration leaves them (``ledger/tables.py`` serves them to queries).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

_md = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_RATIO = sa.Numeric(38, 12)


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


profitability_table = sa.Table(
    "profitability",
    _md,
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("plan", sa.String(100)),
    sa.Column("revenue_nanos", sa.BigInteger),
    sa.Column("ai_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("margin_nanos", sa.BigInteger),
    sa.Column("profitability_nanos", sa.BigInteger),
    sa.Column("profitability_pct", _RATIO),
    sa.Column("ai_share_of_revenue", _RATIO),
    sa.Column("flags", sa.String(200)),
    sa.Column("action", sa.String(40)),
    sa.Column("reason", sa.String(600)),
    _ts("computed_at"),
    sa.Column("period_start", sa.Date),
    sa.Column("period_end", sa.Date),
)

alerts_table = sa.Table(
    "alerts",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("alert_key", sa.String(400), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("period", sa.String(40)),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("provider", sa.String(100)),
    sa.Column("model", sa.String(200)),
    sa.Column("amount_nanos", sa.BigInteger),
    sa.Column("reference_nanos", sa.BigInteger),
    sa.Column("change", _RATIO),
    sa.Column("message", sa.String(1000), nullable=False),
    _ts("first_seen_at"),
    sa.Column("time_zone", sa.String(64)),
    sa.Column("period_start", sa.Date),
    sa.Column("period_end", sa.Date),
)

_INDEXES = (
    sa.Index("ix_alerts_period_start", alerts_table.c.period_start),
    sa.Index("ix_profitability_period_start", profitability_table.c.period_start),
)


def upgrade(conn: sa.Connection) -> None:
    for table, names in ((alerts_table, ("time_zone",)), (profitability_table, ())):
        for name in (*names, "period_start", "period_end"):
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
    for index in _INDEXES:
        index.create(conn)
    for table in (alerts_table, profitability_table):
        labels = conn.execute(sa.select(table.c.period).distinct()).scalars()
        for label in [str(x) for x in labels if x is not None]:
            bounds = _dates(label)
            if bounds is not None:
                conn.execute(
                    table.update()
                    .where(table.c.period == label)
                    .values(period_start=bounds[0], period_end=bounds[1])
                )
    conn.execute(alerts_table.update().values(time_zone="UTC"))


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")


def _dates(label: str) -> tuple[date, date] | None:
    """``[start, end)`` of a period label as the jobs wrote them (frozen here: a migration
    does not change with the code after it); None for anything else."""
    try:
        if ".." in label:
            first, _, last = label.partition("..")
            return date.fromisoformat(first), date.fromisoformat(last) + timedelta(days=1)
        if m := _MONTH.match(label):
            start = date(int(m[1]), int(m[2]), 1)
            following = start.replace(day=28) + timedelta(days=4)
            return start, following.replace(day=1)
        if m := _WEEK.match(label):
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return monday, monday + timedelta(days=7)
        if _DAY.match(label):
            day = date.fromisoformat(label)
            return day, day + timedelta(days=1)
        if _YEAR.match(label):
            return date(int(label), 1, 1), date(int(label) + 1, 1, 1)
    except ValueError:
        return None
    return None
