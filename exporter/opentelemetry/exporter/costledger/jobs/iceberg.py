"""The AI Cost Iceberg: the visible API spend against the hidden parts, measured from the ledger.

``iceberg(db, period="2025-05", customer=None)`` puts every priced ledger row of the period
(of one customer, or all) in exactly one layer, in this order — the first that applies:

====================  =========================================================================
layer                 rows
====================  =========================================================================
unattributed          any row that names no customer (all customers only)
<category>            a cost that is not an LLM call, one layer per category: ``human_review``,
                      ``third_party``, ``vector_storage``, ``observability``, ...
failed_calls          LLM calls that failed (``status = error``) and were billed anyway
cancelled_calls       streams abandoned before their end (``status = cancelled``)
truncated_calls       answers cut at the token limit (``status = truncated``)
app_retries           a call that repeats an earlier call of the same work item in the period
                      (the same ``request_hash``): an application retry or re-ask
failed_outcomes       calls in work items whose latest outcome failed
unknown_outcome       calls with no work item, or whose work item has no outcome
visible               the rest: successful calls that served a successful outcome
====================  =========================================================================

``visible`` is the tip of the iceberg; all the other layers are below the line. The layers add
up to the period's total, to the nano-dollar. ``sdk_retries`` counts the HTTP attempts the SDKs
made again (``attempts - 1``); they are not priced — the providers bill completed requests,
not the rate-limited or failed attempts before them — so they appear as a count, not a cost.
Rows written before the dimension columns existed have no status: they count as successful.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import nanos_to_decimal, ratio

from .. import periods
from ..currency import USD, Rates
from ..ledger.open import Database, open_ledger
from ..ledger.outcomes import latest_outcomes
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries
from .converted import utc_day
from .groups import LLM_CATEGORIES

VISIBLE = "visible"
CALL_LAYERS = (
    "failed_calls",
    "cancelled_calls",
    "truncated_calls",
    "app_retries",
    "failed_outcomes",
    "unknown_outcome",
)
LABELS = {
    "visible": "Visible: successful API calls that served a successful outcome",
    "unattributed": "Cost no customer is attributed to",
    "failed_calls": "Failed calls, billed",
    "cancelled_calls": "Cancelled streams",
    "truncated_calls": "Answers cut at the token limit",
    "app_retries": "Application retries and re-asks",
    "failed_outcomes": "Calls in work items whose outcome failed",
    "unknown_outcome": "Calls with no known outcome",
    "human_review": "Human review",
    "third_party": "Third-party services",
    "vector_storage": "Vector storage",
    "observability": "Observability",
}


@dataclass(frozen=True, slots=True)
class IcebergLayer:
    """One layer: its cost, the ledger rows in it and its share of the total."""

    layer: str
    label: str
    visible: bool
    cost_nanos: int
    entries: int
    share: Decimal | None

    @property
    def cost_usd(self) -> Decimal:
        return nanos_to_decimal(self.cost_nanos)


@dataclass(frozen=True, slots=True)
class Iceberg:
    """The period's iceberg: the layers (visible first, then the biggest hidden ones)."""

    period: str
    customer_id: str | None
    total_nanos: int
    visible_nanos: int
    hidden_nanos: int
    sdk_retries: int
    layers: list[IcebergLayer]
    currency: str = USD  # of every amount: another with ``rates`` (nano-units of it)

    @property
    def hidden_share(self) -> Decimal | None:
        return ratio(self.hidden_nanos, self.total_nanos)


def iceberg(
    database: Database = None,
    *,
    period: str,
    customer: str | None = None,
    time_zone: str | None = None,
    rates: Rates | None = None,
) -> Iceberg:
    """The layers of ``period`` (see the module docstring); in the currency of ``rates`` when
    given, each layer's rows summed per UTC day and converted at that day's rate
    (:mod:`.converted`)."""
    target = periods.parse_period(period, time_zone)
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.connect() as conn:
            found = iceberg_on(conn, target, customer, rates)
        record_run(
            engine, "iceberg", started, f"{target.label}: {len(found.layers)} layer(s)", ok=True
        )
    return found


def iceberg_on(
    conn: sa.Connection,
    target: periods.Period,
    customer: str | None = None,
    rates: Rates | None = None,
) -> Iceberg:
    """:func:`iceberg` on an open connection (the report's chart), without a run record."""
    sums, retries = _measure(conn, target, customer, rates)
    total = sum(cost for cost, _ in sums.values())
    layers = [
        IcebergLayer(
            layer=name,
            label=LABELS.get(name, name.replace("_", " ").capitalize()),
            visible=name == VISIBLE,
            cost_nanos=cost,
            entries=entries,
            share=ratio(cost, total),
        )
        for name, (cost, entries) in sums.items()
    ]
    layers.sort(key=lambda layer: (not layer.visible, -layer.cost_nanos, layer.layer))
    visible = sums.get(VISIBLE, (0, 0))[0]
    return Iceberg(
        period=target.label,
        customer_id=customer,
        total_nanos=total,
        visible_nanos=visible,
        hidden_nanos=total - visible,
        sdk_retries=retries,
        layers=layers,
        currency=USD if rates is None else rates.currency,
    )


def _measure(
    conn: sa.Connection, period: periods.Period, customer: str | None, rates: Rates | None
) -> tuple[dict[str, tuple[int, int]], int]:
    le = ledger_entries
    lo, hi = period.utc_range()
    where: list[Any] = [le.c.timestamp >= lo, le.c.timestamp < hi]
    if customer is not None:
        where.append(le.c.customer_id == customer)
    is_call = le.c.category.in_(LLM_CATEGORIES)
    asked = sa.func.row_number().over(
        partition_by=(le.c.work_item_id, le.c.request_hash), order_by=(le.c.timestamp, le.c.id)
    )
    rows = (
        sa.select(
            le.c.customer_id,
            le.c.work_item_id,
            le.c.request_hash,
            le.c.category,
            le.c.status,
            le.c.cost_nanos,
            le.c.timestamp,
            sa.case((is_call, asked), else_=1).label("asked"),
        )
        .where(*where)
        .subquery("period_rows")
    )
    latest = latest_outcomes()
    repeat = (
        rows.c.work_item_id.is_not(None) & rows.c.request_hash.is_not(None) & (rows.c.asked > 1)
    )
    layer = sa.case(
        (rows.c.customer_id.is_(None), "unattributed"),
        (rows.c.category.not_in(LLM_CATEGORIES), rows.c.category),
        (rows.c.status == "error", "failed_calls"),
        (rows.c.status == "cancelled", "cancelled_calls"),
        (rows.c.status == "truncated", "truncated_calls"),
        (repeat, "app_retries"),
        (latest.c.success == sa.false(), "failed_outcomes"),
        (latest.c.success.is_(None), "unknown_outcome"),
        else_=VISIBLE,
    ).label("layer")
    converting = rates is not None and not rates.is_identity
    day = utc_day(conn.dialect.name, rows.c.timestamp).label("utc_day")
    query = (
        sa.select(
            layer,
            sa.func.coalesce(sa.func.sum(rows.c.cost_nanos), 0),
            sa.func.count(),
            *([day] if converting else []),
        )
        .select_from(rows.outerjoin(latest, latest.c.work_item_id == rows.c.work_item_id))
        .group_by(layer, *([day] if converting else []))
    )
    sums: dict[str, tuple[int, int]] = {}
    for name, cost, count, *on in conn.execute(query):
        if on:  # one UTC day of the layer: converted at its rate (--currency)
            assert rates is not None
            cost = rates.convert(int(cost), periods.as_date(on[0]))
        before = sums.get(str(name), (0, 0))
        sums[str(name)] = (before[0] + int(cost), before[1] + int(count))
    retries = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(le.c.attempts - 1), 0)).where(
            *where, is_call, le.c.attempts > 1
        )
    ).scalar()
    return sums, int(retries or 0)
