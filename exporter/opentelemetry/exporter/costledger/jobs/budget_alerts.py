"""The budget alerts: those of the ``[[budget]]`` entries and the ``budget_status`` table they
leave, and the short form's ``over_budget`` (:func:`over_budget_alerts`).

:func:`budget_alerts` evaluates the budgets at ``as_of`` (:mod:`.budget_status`) and raises:

* ``budget_threshold`` — once per budget, scope value, period and threshold, when the period's
  spent reaches that percentage of the amount; key
  ``budget_threshold:<scope>:<value>:<period>:<threshold>`` (``budget_threshold:customer:
  cust_12345:2025-05:80``). A run that finds several thresholds newly crossed raises each.
* ``budget_forecast`` — once per budget, scope value and period, when the run-rate forecast to
  the period's end first passes the amount while spent is still under it; the message names
  the expected date: "cust_12345 will pass its $2,000 monthly budget around May 24". Key
  ``budget_forecast:<scope>:<value>:<period>``.

Like every alert they are stored once in ``alerts`` and delivered once per channel; a key
already stored keeps its first message (the date first forecast).

Table ``budget_status`` (one row per budget, concrete scope value, period and time zone,
replaced by each alerts run that evaluates it — what the report's budgets table shows):

==================  ==========================================================================
budget              the budget as written: ``customer=cust_12345``, ``customer=*``,
                    ``tag:team=*``
scope_value         the concrete value: ``cust_12345``, ``team=search``
period, time_zone   the period's label (``2025-05``, ``2025-W19``, ``2025-Q2``) and zone
scope               customer, workspace, feature, agent or tag
period_start/_end   local dates ``[start, end)``
as_of               the moment evaluated; spent counts the ledger up to it
spent_nanos         the period's cost up to ``as_of`` (allocations included)
amount_nanos        the budget; ``hard_limit_nanos`` the guard's limit (NULL for none)
percent             spent / amount × 100, half-even to 0.01 (NULL for an amount of zero)
thresholds          the budget's thresholds (``50,80,100``); ``thresholds_crossed`` those reached
forecast_nanos      the forecast to the period's end; ``forecast_date`` when it passes the amount
computed_at         when the row was written
==================  ==========================================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import (
    decimal_text,
    format_usd,
    ratio,
    to_nanos,
)

from .. import periods
from ..ledger.runs import now
from ..ledger.schema import ledger_entries
from ..ledger.tables import budget_status as budget_table
from .budget_status import BudgetStatus, statuses
from .budgets import EVERYONE, Budget

if TYPE_CHECKING:
    from .alerts import Alert

_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly"}


def budget_alerts(
    conn: sa.Connection,
    budgets: Sequence[Budget],
    as_of: datetime,
    time_zone: str,
    *,
    store: bool = False,
) -> list[Alert]:
    """The threshold and forecast alerts that hold at ``as_of``; with ``store``, the figures
    are written to ``budget_status`` too (inside the caller's transaction)."""
    if not budgets:
        return []
    found = statuses(conn, budgets, as_of, time_zone)
    if store:
        store_statuses(conn, found)
    return [alert for status in found for alert in _alerts(status)]


def fit(text: str, width: int) -> str:
    """``text`` cut to a column's ``width``, a digest of the whole standing for the rest (a
    long tag value must not fail the insert, nor share a key with another)."""
    if len(text) <= width:
        return text
    return text[: width - 33] + "~" + hashlib.sha256(text.encode()).hexdigest()[:32]


def money(nanos: int) -> str:
    """``$2,000`` for whole dollars, else to the cent (``$1,040.50``)."""
    return format_usd(nanos, places=0 if nanos % 10**9 == 0 else 2)


def _alerts(status: BudgetStatus) -> list[Alert]:
    from .alerts import Alert

    budget = status.budget
    what = f"{money(status.amount_nanos)} {_ADJECTIVE[budget.period]} budget"
    base = Alert(
        alert_key="",
        kind="",
        period=status.period,
        message="",
        customer_id=status.value if budget.scope == "customer" else None,
        amount_nanos=status.spent_nanos,
        reference_nanos=status.amount_nanos,
        change=ratio(status.spent_nanos, status.amount_nanos),
        scope=budget.scope,
        scope_value=fit(status.value, 300),
        period_start=status.period_start,
        period_end=status.period_end,
        time_zone=status.time_zone,
    )
    found = [
        replace(
            base,
            alert_key=fit(
                f"budget_threshold:{budget.scope}:{status.value}:{status.period}:"
                f"{decimal_text(threshold)}",
                400,
            ),
            kind="budget_threshold",
            threshold=threshold,
            message=(
                f"{status.value}: {money(status.spent_nanos)} spent of its {what} for"
                f" {status.period} ({decimal_text(status.percent)}%, past"
                f" {decimal_text(threshold)}%)"
            ),
        )
        for threshold in status.thresholds_crossed
    ]
    if status.forecast_date is not None:
        day = status.forecast_date
        found.append(
            replace(
                base,
                alert_key=fit(
                    f"budget_forecast:{budget.scope}:{status.value}:{status.period}", 400
                ),
                kind="budget_forecast",
                forecast_nanos=status.forecast_nanos,
                forecast_date=day,
                message=(
                    f"{status.value} will pass its {what} around {day:%B} {day.day}"
                    f" (forecast {money(status.forecast_nanos)} for {status.period},"
                    f" {money(status.spent_nanos)} spent so far)"
                ),
            )
        )
    return found


def store_statuses(conn: sa.Connection, found: Sequence[BudgetStatus]) -> None:
    """Replace the ``budget_status`` rows of ``found`` (same budget, value, period, zone)."""
    t = budget_table
    stamp = now()
    for status in found:
        key = (
            (t.c.budget, fit(status.budget.label, 300)),
            (t.c.scope_value, fit(status.value, 300)),
            (t.c.period, status.period),
            (t.c.time_zone, status.time_zone),
        )
        conn.execute(t.delete().where(*(column == value for column, value in key)))
    if found:
        conn.execute(
            t.insert(),
            [
                {
                    "budget": fit(s.budget.label, 300),
                    "scope_value": fit(s.value, 300),
                    "period": s.period,
                    "time_zone": s.time_zone,
                    "scope": s.scope,
                    "period_start": s.period_start,
                    "period_end": s.period_end,
                    "as_of": s.as_of,
                    "spent_nanos": s.spent_nanos,
                    "amount_nanos": s.amount_nanos,
                    "hard_limit_nanos": s.hard_limit_nanos,
                    "percent": s.percent,
                    "thresholds": ",".join(decimal_text(t) for t in s.budget.thresholds),
                    "thresholds_crossed": ",".join(decimal_text(t) for t in s.thresholds_crossed),
                    "forecast_nanos": s.forecast_nanos,
                    "forecast_date": s.forecast_date,
                    "computed_at": stamp,
                }
                for s in found
            ],
        )


def over_budget_alerts(
    conn: sa.Connection, target: periods.Period, budgets: Mapping[str, Decimal]
) -> list[Alert]:
    """The short form's ``over_budget``: a customer's fully loaded cost in ``target`` above
    their amount (``"*"``: everyone else's); key ``over_budget:<period>:<customer>``."""
    from .alerts import Alert

    if not budgets:
        return []
    le = ledger_entries
    lo, hi = target.utc_range()
    query = (
        sa.select(le.c.customer_id, sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0))
        .where(le.c.timestamp >= lo, le.c.timestamp < hi, le.c.customer_id.is_not(None))
        .group_by(le.c.customer_id)
    )
    found = []
    default = budgets.get(EVERYONE)
    for customer, total in sorted((str(c), int(n)) for c, n in conn.execute(query)):
        budget = budgets.get(customer, default)
        if budget is None or total <= to_nanos(budget):
            continue
        limit = to_nanos(budget)
        found.append(
            Alert(
                alert_key=f"over_budget:{target.label}:{customer}",
                kind="over_budget",
                period=target.label,
                customer_id=customer,
                amount_nanos=total,
                reference_nanos=limit,
                change=ratio(total - limit, limit),
                message=(
                    f"{customer}: AI cost {format_usd(total, places=2)} in {target.label} is"
                    f" over the budget of {format_usd(limit, places=2)}"
                ),
            )
        )
    return found
