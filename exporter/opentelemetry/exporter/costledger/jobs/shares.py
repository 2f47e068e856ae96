"""How a bill is divided among customers: each customer's quantity of a driver over the period
(one ``GROUP BY`` in the database: calls, tokens, API cost or work items from the ledger,
``log_events`` from the receiver's ``span_counts``, ``usage:<metric>`` from imported usage and
``record_cost`` quantities), and :func:`largest_remainder`, the split in whole units that adds up
to the bill exactly. Used by :mod:`.allocate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from .. import periods
from ..errors import InputError
from ..ledger.schema import ledger_entries
from ..ledger.tables import usage_records
from ._db import has_table
from .groups import LLM_CATEGORIES


def largest_remainder(amount_units: int, quantities: Mapping[str, Decimal | int]) -> dict[str, int]:
    """Split ``amount_units`` whole units in proportion to ``quantities``; sums exactly.

    Quantities must be non-negative with a positive total. Integer arithmetic throughout: the
    quantities are scaled to integers by their finest decimal place, so each exact share is
    ``units * q / Q`` with an integer remainder to rank by.
    """
    places = max((-_exponent(q) for q in quantities.values()), default=0)
    scale = 10 ** max(places, 0)
    scaled = {k: int(Decimal(q) * scale) for k, q in quantities.items()}
    total = sum(scaled.values())
    if total <= 0:
        raise ValueError("largest_remainder needs a positive total")
    shares = {k: divmod(amount_units * q, total) for k, q in scaled.items()}
    left = amount_units - sum(whole for whole, _ in shares.values())
    order = sorted(shares, key=lambda k: (-shares[k][1], -scaled[k], k))
    result = {k: whole for k, (whole, _) in shares.items()}
    for k in order[:left]:
        result[k] += 1
    return result


def _exponent(value: Decimal | int) -> int:
    exponent = Decimal(value).as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def active_customers(conn: sa.Connection, period: periods.Period) -> list[str]:
    le = ledger_entries
    lo, hi = period.utc_range()
    query = (
        sa.select(le.c.customer_id)
        .where(le.c.timestamp >= lo, le.c.timestamp < hi)
        .where(le.c.customer_id.is_not(None), le.c.source != "allocation")
        .distinct()
    )
    return sorted(conn.execute(query).scalars())


def driver_quantities(
    conn: sa.Connection, driver: str, period: periods.Period, how: str = "sum"
) -> dict[str, Decimal]:
    """Each customer's quantity of ``driver`` over ``period`` (one GROUP BY in the database)."""
    le = ledger_entries
    lo, hi = period.utc_range()
    in_period = (le.c.timestamp >= lo) & (le.c.timestamp < hi) & le.c.customer_id.is_not(None)
    llm = in_period & le.c.category.in_(LLM_CATEGORIES) & (le.c.source != "allocation")
    measure: sa.ColumnElement[Any]
    if driver in ("api_calls", "tokens", "input_tokens", "output_tokens", "api_cost", "work_items"):
        measure = {
            "api_calls": sa.func.count(),
            "tokens": sa.func.sum(le.c.input_tokens + le.c.output_tokens),
            "input_tokens": sa.func.sum(le.c.input_tokens),
            "output_tokens": sa.func.sum(le.c.output_tokens),
            "api_cost": sa.func.sum(le.c.cost_nanos),
            "work_items": sa.func.count(sa.distinct(le.c.work_item_id)),
        }[driver]
        where = in_period if driver == "work_items" else llm
        query = sa.select(le.c.customer_id, measure).where(where).group_by(le.c.customer_id)
        return _decimals(conn.execute(query))
    if driver == "log_events":
        return _log_events(conn, period)
    if driver.startswith("usage:"):
        return _usage(conn, driver.removeprefix("usage:"), period, how)
    raise InputError(f"unknown driver {driver!r}")


def _decimals(result: sa.Result[Any]) -> dict[str, Decimal]:
    pairs: list[Any] = list(result)
    return {str(c): Decimal(str(q)) for c, q in pairs if q is not None}


def _log_events(conn: sa.Connection, period: periods.Period) -> dict[str, Decimal]:
    if not has_table(conn, "span_counts"):
        raise InputError(
            "driver log_events needs the span counts of `costledger serve` (table span_counts),"
            " which this ledger does not have: run the receiver, or import the counts with"
            ' `costledger import usage` and use driver = "usage:log_events"'
        )
    counts = sa.table(
        "span_counts", sa.column("day", sa.Date), sa.column("customer_id"), sa.column("spans")
    )
    # span_counts days are UTC dates; a period in another time zone uses its local dates.
    query = (
        sa.select(counts.c.customer_id, sa.func.sum(counts.c.spans))
        .where(counts.c.day >= period.start, counts.c.day < period.end)
        .where(counts.c.customer_id.is_not(None))
        .group_by(counts.c.customer_id)
    )
    return _decimals(conn.execute(query))


def _usage(
    conn: sa.Connection, metric: str, period: periods.Period, how: str
) -> dict[str, Decimal]:
    """Imported ``usage_records`` plus ledger rows with ``unit = metric``, per customer-day,
    then summed, averaged (over days that have a value) or maxed over the period."""
    le = ledger_entries
    ur = usage_records
    lo, hi = period.utc_range()
    day = periods.bucket_expression(
        le.c.timestamp, "day", period.time_zone, conn.dialect.name, span=(lo, hi)
    )
    recorded = (
        sa.select(
            le.c.customer_id.label("customer_id"), day.label("day"), le.c.quantity.label("quantity")
        )
        .where(le.c.timestamp >= lo, le.c.timestamp < hi, le.c.unit == metric)
        .where(le.c.customer_id.is_not(None), le.c.quantity.is_not(None))
    )
    imported = sa.select(
        ur.c.customer_id.label("customer_id"),
        sa.cast(ur.c.day, sa.String).label("day") if conn.dialect.name == "sqlite" else ur.c.day,
        ur.c.quantity.label("quantity"),
    ).where(ur.c.metric == metric, ur.c.day >= period.start, ur.c.day < period.end)
    both = sa.union_all(recorded, imported).subquery("usage")
    daily = (
        sa.select(both.c.customer_id, both.c.day, sa.func.sum(both.c.quantity).label("q"))
        .group_by(both.c.customer_id, both.c.day)
        .subquery("daily")
    )
    measure: sa.ColumnElement[Any]
    if how == "sum":
        measure = sa.func.sum(daily.c.q)
    elif how == "max":
        measure = sa.func.max(daily.c.q)
    else:
        # sum / count keeps the average exact (AVG would go through float on SQLite).
        measure = sa.func.sum(daily.c.q)
        query = sa.select(daily.c.customer_id, measure, sa.func.count()).group_by(
            daily.c.customer_id
        )
        return {
            str(c): Decimal(str(total)) / Decimal(n) for c, total, n in conn.execute(query) if n
        }
    query = sa.select(daily.c.customer_id, measure).group_by(daily.c.customer_id)
    return _decimals(conn.execute(query))
