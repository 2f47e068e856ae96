"""Monthly reconciliation: what the providers billed against what the ledger recorded.

1. ``import_provider_costs(db, path)`` (:mod:`..imports.invoices`, CLI ``costledger import
   invoices FILE``) loads a provider export saved to a file into ``provider_costs``.
2. ``reconcile(db, period="2025-05")`` (CLI ``costledger reconcile``) compares it with the
   ledger per UTC day × provider × model and stores the result in ``reconciliation``.

Several formats for the same days
---------------------------------
Files of different formats for the same provider and day describe the SAME spend, so they are
never added up. Each day's billed cost is taken from one format — the provider's cost report
(``anthropic-cost-report``, ``openai-costs``) when one was imported for that day, else the
``csv`` — and its token counts from one format — the usage report, else the ``csv``. The others
stay in ``provider_costs`` for that day but are set aside; each result record names the format
its cost came from (``cost_source``). The cost report is preferred because the invoice is made
from it, while a console CSV is a rounded view of the same figures.

How differences are explained
-----------------------------
For each day × provider × model: ``difference`` = provider cost − ledger cost; ``drift`` =
difference / provider cost. With token counts on both sides the difference splits into a
*quantity* effect — (provider tokens − ledger tokens) × the ledger's average price per token:
tokens the ledger lacks, e.g. failed, unattributed or uninstrumented calls — and a *price*
effect, the rest: the provider charged a different rate (an outdated price, a discount, a tier).
``cause`` names the larger one; ``missing in ledger`` / ``missing at provider`` when one side
has nothing; ``no provider tokens`` when only costs were imported. A row is ``flagged`` when
``|difference|`` exceeds both ``tolerance_abs`` (default $0.01) and ``tolerance`` × the larger
cost (default 1%).

Table ``reconciliation`` (replaced per period): ``period``, ``provider``, ``day``, ``model``,
``ledger_cost_nanos``, ``provider_cost_nanos``, ``difference_nanos``, ``drift``,
``ledger_tokens``, ``provider_tokens``, ``quantity_effect_nanos``, ``price_effect_nanos``,
``cause``, ``flagged``, ``computed_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import ratio, to_dollars, to_nanos

from .. import periods
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries
from ..ledger.tables import provider_costs, reconciliation
from .groups import LLM_CATEGORIES


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One UTC day × provider × model compared: a row of ``reconciliation`` (module doc), money
    in nanos, plus ``cost_source``, the export format the day's billed cost came from."""

    period: str
    provider: str
    day: date
    model: str | None
    ledger_cost_nanos: int
    provider_cost_nanos: int | None
    difference_nanos: int | None
    drift: Decimal | None
    ledger_tokens: int
    provider_tokens: int | None
    quantity_effect_nanos: int | None
    price_effect_nanos: int | None
    cause: str | None
    flagged: bool
    computed_at: datetime | None
    cost_source: str | None

    @property
    def ledger_cost_usd(self) -> Decimal | None:
        return to_dollars(self.ledger_cost_nanos)

    @property
    def provider_cost_usd(self) -> Decimal | None:
        return to_dollars(self.provider_cost_nanos)

    @property
    def difference_usd(self) -> Decimal | None:
        return to_dollars(self.difference_nanos)

    @property
    def quantity_effect_usd(self) -> Decimal | None:
        return to_dollars(self.quantity_effect_nanos)

    @property
    def price_effect_usd(self) -> Decimal | None:
        return to_dollars(self.price_effect_nanos)


# --- comparison -------------------------------------------------------------------------------


def reconcile(
    database: Database = None,
    *,
    period: str,
    tolerance: Decimal = Decimal("0.01"),
    tolerance_abs: Decimal = Decimal("0.01"),
    providers: Iterable[str] = (),
) -> list[Reconciliation]:
    """Compare ``provider_costs`` with the ledger per UTC day × provider × model (module doc)."""
    target = periods.parse_period(period, "UTC")
    wanted = {p.lower() for p in providers}
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.begin() as conn:
            ledger = _ledger_side(conn, target)
            billed = _provider_side(conn, target)
            reported_days = {(p, d) for p, d, _ in billed}
            keys = set(billed) | {k for k in ledger if (k[0], k[1]) in reported_days}
            if wanted:
                keys = {k for k in keys if k[0] in wanted}
            stamp = now()
            day_sources = {(p, d): source for (p, d, _), (_, _, source) in billed.items()}
            rows = [
                _compare(
                    target.label, k, ledger.get(k), billed.get(k), tolerance, tolerance_abs, stamp
                )
                for k in sorted(keys, key=lambda k: (k[0], k[1], k[2] or ""))
            ]
            conn.execute(reconciliation.delete().where(reconciliation.c.period == target.label))
            if rows:
                conn.execute(reconciliation.insert(), rows)
        flagged = sum(1 for r in rows if r["flagged"])
        record_run(
            engine,
            "reconcile",
            started,
            f"{target.label}: {flagged} flagged of {len(rows)}",
            ok=True,
        )
    # which format each day's billed cost came from (not a column of ``reconciliation``)
    day_sources = {(p, d): source for (p, d, _), (_, _, source) in billed.items()}
    return [
        Reconciliation(**r, cost_source=day_sources.get((r["provider"], r["day"]))) for r in rows
    ]


def _ledger_side(
    conn: sa.Connection, period: periods.Period
) -> dict[tuple[str, date, str | None], tuple[int, int]]:
    le = ledger_entries
    lo, hi = period.utc_range()
    day = periods.bucket_expression(le.c.timestamp, "day", "UTC", conn.dialect.name)
    query = (
        sa.select(
            le.c.provider,
            day,
            le.c.model,
            sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0),
            sa.func.coalesce(sa.func.sum(le.c.input_tokens + le.c.output_tokens), 0),
        )
        .where(le.c.timestamp >= lo, le.c.timestamp < hi, le.c.provider.is_not(None))
        .where(le.c.category.in_(LLM_CATEGORIES), le.c.source != "allocation")
        .group_by(le.c.provider, day, le.c.model)
    )
    found: dict[tuple[str, date, str | None], tuple[int, int]] = {}
    for provider, bucket, model, cost, tokens in conn.execute(query):
        found[(str(provider).lower(), periods.as_date(bucket), model)] = (int(cost), int(tokens))
    return found


# Where a day's billed cost and token counts are taken from when several formats were imported for
# the same provider and day: the provider's own report first (the bill is made from it), then a
# console CSV. Formats are never added together: they describe the same spend.
COST_SOURCES = ("anthropic-cost-report", "openai-costs", "csv")
TOKEN_SOURCES = ("anthropic-usage-report", "openai-usage", "csv")

Billed = dict[tuple[str, date, str | None], tuple[int | None, int | None, str | None]]


def _provider_side(conn: sa.Connection, period: periods.Period) -> Billed:
    """Per provider × day × model: (cost, tokens, the format the cost came from)."""
    pc = provider_costs
    query = (
        sa.select(
            pc.c.provider,
            pc.c.day,
            pc.c.model,
            pc.c.source_format,
            sa.func.sum(pc.c.cost_nanos),
            sa.func.sum(pc.c.input_tokens),
            sa.func.sum(pc.c.output_tokens),
        )
        .where(pc.c.day >= period.start, pc.c.day < period.end)
        .group_by(pc.c.provider, pc.c.day, pc.c.model, pc.c.source_format)
    )
    costs: dict[tuple[str, date, str | None, str], int] = {}
    tokens: dict[tuple[str, date, str | None, str], int] = {}
    for provider, day, model, source, cost, tokens_in, tokens_out in conn.execute(query):
        key = (str(provider), periods.as_date(day), model, str(source))
        if cost is not None:
            costs[key] = int(cost)
        if tokens_in is not None or tokens_out is not None:
            tokens[key] = int(tokens_in or 0) + int(tokens_out or 0)
    cost_from = _preferred(costs, COST_SOURCES)
    tokens_from = _preferred(tokens, TOKEN_SOURCES)
    found: Billed = {}
    for provider, day, model, source in set(costs) | set(tokens):
        day_cost = cost_from.get((provider, day))
        day_tokens = tokens_from.get((provider, day))
        if source not in (day_cost, day_tokens):
            continue  # set aside for the day's preferred format
        previous = found.get((provider, day, model), (None, None, None))
        found[(provider, day, model)] = (
            costs.get((provider, day, model, source)) if source == day_cost else previous[0],
            tokens.get((provider, day, model, source)) if source == day_tokens else previous[1],
            day_cost,
        )
    return found


def _preferred(
    values: dict[tuple[str, date, str | None, str], int], order: tuple[str, ...]
) -> dict[tuple[str, date], str]:
    """For each provider and day, the first format of ``order`` that has a value that day."""
    chosen: dict[tuple[str, date], str] = {}
    rank = {name: index for index, name in enumerate(order)}
    for provider, day, _, source in values:
        current = chosen.get((provider, day))
        if current is None or rank.get(source, len(order)) < rank.get(current, len(order)):
            chosen[(provider, day)] = source
    return chosen


def _compare(
    label: str,
    key: tuple[str, date, str | None],
    ledger: tuple[int, int] | None,
    billed: tuple[int | None, int | None, str | None] | None,
    tolerance: Decimal,
    tolerance_abs: Decimal,
    stamp: datetime,
) -> dict[str, Any]:
    ledger_cost, ledger_tokens = ledger or (0, 0)
    # A ledger model the provider did not list on a day it reported: billed nothing for it.
    provider_cost, provider_tokens, _ = billed or (0, None, None)
    difference = None if provider_cost is None else provider_cost - ledger_cost
    quantity = price = None
    if billed is None:
        cause = "missing at provider"
    elif difference is None:
        cause = "no provider cost"
    elif ledger is None or (ledger_cost == 0 and ledger_tokens == 0):
        cause = "missing in ledger"
    elif provider_tokens is None:
        cause = "no provider tokens"
    else:
        per_token = Decimal(ledger_cost) / ledger_tokens if ledger_tokens else Decimal(0)
        quantity = int(
            ((provider_tokens - ledger_tokens) * per_token).to_integral_value(ROUND_HALF_EVEN)
        )
        price = difference - quantity
        cause = "quantity" if abs(quantity) >= abs(price) else "price"
    limit = max(
        to_nanos(tolerance_abs),
        int(tolerance * max(abs(provider_cost or 0), abs(ledger_cost))),
    )
    flagged = difference is not None and abs(difference) > limit
    if difference is not None and difference == 0:
        cause = "match"
    return {
        "period": label,
        "provider": key[0],
        "day": key[1],
        "model": key[2],
        "ledger_cost_nanos": ledger_cost,
        "provider_cost_nanos": provider_cost,
        "difference_nanos": difference,
        "drift": None if difference is None else ratio(difference, provider_cost),
        "ledger_tokens": ledger_tokens,
        "provider_tokens": provider_tokens,
        "quantity_effect_nanos": quantity,
        "price_effect_nanos": price,
        "cause": cause,
        "flagged": flagged,
        "computed_at": stamp,
    }
