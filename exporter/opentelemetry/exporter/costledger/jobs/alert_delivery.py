"""Delivering each alert once: an alert is stored once in ``alerts``, and each channel records
what it delivered in ``alert_deliveries``, so a re-run (or a schedule running hourly) sends a
channel only what it has not had yet (:mod:`.alerts` runs the checks and the channels).

Tables
------
``alerts``: ``alert_key`` (unique), ``kind`` (spike/over_budget/unpriced), ``period``,
``customer_id``, ``provider``, ``model``, ``amount_nanos`` (the period's cost),
``reference_nanos`` (baseline or budget), ``change`` (ratio over the baseline; a budget
alert's: spent over the budget), ``message``,
``first_seen_at`` (when it was first raised), and the period it concerns: ``time_zone``,
``period_start``, ``period_end`` (local dates ``[start, end)``) — reports and dashboards show
an alert with the periods it overlaps, whenever it was raised; a budget alert's ``scope``,
``scope_value``, ``threshold``, ``forecast_nanos``, ``forecast_date`` (``m0070_budgets.py``).
``alert_deliveries``:
``alert_key``, ``channel``, ``delivered_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .. import periods
from ..ledger.runs import now
from ..ledger.tables import alert_deliveries, alerts

if TYPE_CHECKING:
    from .alerts import Alert

STDOUT = "stdout"  # the channel of the command's own output


def store_alerts(conn: sa.Connection, target: periods.Period, found: Sequence[Alert]) -> None:
    """Insert the alerts of ``found`` that ``alerts`` does not hold yet; an alert already stored
    keeps its first row (its first message and ``first_seen_at``)."""
    if not found:
        return
    known = set(
        conn.execute(
            sa.select(alerts.c.alert_key).where(
                alerts.c.alert_key.in_([a.alert_key for a in found])
            )
        ).scalars()
    )
    fresh = [a for a in found if a.alert_key not in known]
    if fresh:
        stamp = now()
        conn.execute(
            alerts.insert(),
            [
                {
                    "alert_key": a.alert_key,
                    "kind": a.kind,
                    "period": a.period,
                    "customer_id": a.customer_id,
                    "provider": a.provider,
                    "model": a.model,
                    "amount_nanos": a.amount_nanos,
                    "reference_nanos": a.reference_nanos,
                    "change": a.change,
                    "message": a.message[:1000],
                    "first_seen_at": stamp,
                    "time_zone": a.time_zone or target.time_zone,
                    "period_start": a.period_start or target.start,
                    "period_end": a.period_end or target.end,
                    "scope": a.scope,
                    "scope_value": a.scope_value,
                    "threshold": a.threshold,
                    "forecast_nanos": a.forecast_nanos,
                    "forecast_date": a.forecast_date,
                }
                for a in fresh
            ],
        )


def undelivered(conn: sa.Connection, found: Sequence[Alert], channel: str) -> list[Alert]:
    """The alerts of ``found`` that ``channel`` has not delivered yet."""
    if not found:
        return []
    done = set(
        conn.execute(
            sa.select(alert_deliveries.c.alert_key).where(
                alert_deliveries.c.channel == channel,
                alert_deliveries.c.alert_key.in_([a.alert_key for a in found]),
            )
        ).scalars()
    )
    return [a for a in found if a.alert_key not in done]


def mark_delivered(conn: sa.Connection, delivered: Sequence[Alert], channel: str) -> None:
    """Record that ``channel`` delivered ``delivered`` (the channel is cut to its column's 400)."""
    if delivered:
        stamp = now()
        conn.execute(
            alert_deliveries.insert(),
            [
                {"alert_key": a.alert_key, "channel": channel[:400], "delivered_at": stamp}
                for a in delivered
            ],
        )
