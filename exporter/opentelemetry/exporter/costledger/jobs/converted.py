"""Ledger costs in another currency, each UTC day at its own rate (``--currency``).

The jobs' tables stay in USD; what a command shows in another currency is computed here from
the ledger: the same groups the job sums, split further by the UTC date of each row
(``GROUP BY keys, date``), each day's exact sum converted at the rate in force that day and
rounded half-even to a nano-unit of the currency (:meth:`..currency.Rates.convert`), then the
converted days added. A month whose rate changes mid-month is therefore the sum of its days at
their own rates, exactly, and equal to what a person computes day by day. Rows without a price
add nothing, as in the jobs' USD sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import per_unit_nanos

from .. import periods
from ..currency import Rates, converted_key
from ..ledger.open import Database, open_ledger
from ..ledger.schema import ledger_entries
from .aggregate import _time_span, normalize_dimensions
from .groups import (
    DIM_COLUMNS,
    LLM_CATEGORIES,
    TAG_DIMENSION,
    bucket_column,
    dimension_columns,
)

Key = tuple[Any, ...]


def utc_day(dialect: str, timestamp: Any = None) -> sa.ColumnElement[Any]:
    """The UTC date of each ledger row (or of ``timestamp``, a column of ledger timestamps), as
    SQL (SQLite stores UTC text ``YYYY-MM-DD …``)."""
    ts = ledger_entries.c.timestamp if timestamp is None else timestamp
    if dialect == "postgresql":
        return sa.func.date(sa.func.timezone("UTC", ts))
    return sa.func.substr(ts, 1, 10)


def converted_sums(
    conn: sa.Connection,
    rates: Rates,
    keys: Sequence[sa.ColumnElement[Any]],
    where: sa.ColumnElement[bool] | None = None,
) -> dict[Key, int]:
    """Group key → the group's cost in nano-units of ``rates.currency`` (module doc)."""
    le = ledger_entries
    day = utc_day(conn.dialect.name).label("utc_day")
    query = sa.select(*keys, day, sa.func.sum(le.c.cost_nanos)).where(le.c.cost_nanos.is_not(None))
    if where is not None:
        query = query.where(where)
    query = query.group_by(*keys, day)
    found: dict[Key, int] = {}
    for *key, on, nanos in conn.execute(query):
        group = tuple(key)
        found[group] = found.get(group, 0) + rates.convert(int(nanos), periods.as_date(on))
    return found


def in_range(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    """Ledger rows of the UTC instant range ``[start, end)``."""
    ts = ledger_entries.c.timestamp
    return sa.and_(ts >= start, ts < end)


def converted_aggregates(
    database: Database,
    rates: Rates,
    *,
    granularity: str = "month",
    dimensions: Sequence[str] | str = ("customer",),
    time_zone: str | None = None,
    period: periods.Period | None = None,
) -> dict[Key, int]:
    """``(period_start, *group columns)`` → cost in the currency, for the groups of
    :func:`.aggregate.aggregate_rows` of the same configuration (its key: :func:`aggregate_key`).
    """
    dims = normalize_dimensions(dimensions)
    tz = periods.resolve_time_zone(time_zone)
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        span = _time_span(conn) if period is None else _whole_buckets(period, granularity, tz)
        if span is None:
            return {}
        bucket, bucket_date = bucket_column(conn.dialect.name, granularity, tz, span)
        groups = dimension_columns(conn.dialect.name, dims)
        sums = converted_sums(conn, rates, [bucket, *groups], in_range(*span))
    return {(bucket_date(key[0]), *key[1:]): value for key, value in sums.items()}


def _whole_buckets(
    period: periods.Period, granularity: str, tz: str
) -> tuple[datetime, datetime] | None:
    """The UTC range of the buckets :func:`.aggregate.aggregate_rows` shows for ``period`` (those
    starting in it), whole: a week starting on May 26 runs into June, and its total does too."""
    dates, bounds = periods.bucket_starts(granularity, tz, period.utc_range())
    inside = [i for i, start in enumerate(dates) if period.start <= start < period.end]
    return (bounds[inside[0]], bounds[inside[-1] + 1]) if inside else None


def aggregate_key(record: Any, dims: Sequence[str] | str) -> Key:
    """The key of one :class:`.aggregate.CostAggregate` in :func:`converted_aggregates`."""
    names: list[str] = []
    for dim in normalize_dimensions(dims):
        names += ["tag_value"] if dim.startswith(TAG_DIMENSION) else list(DIM_COLUMNS[dim])
    return (record.period_start, *(getattr(record, name) for name in names))


def group_costs(
    database: Database,
    rates: Rates,
    period: periods.Period,
    group: sa.ColumnElement[Any] | None = None,
) -> dict[Any, tuple[int, int]]:
    """Group (``customer_id`` unless told) → (fully loaded cost, its LLM-call part) of
    ``period`` in the currency, each UTC day at its rate: the ``ai_cost`` and ``api_cost`` of
    ``normalize`` and ``rank`` (per customer, or per agent / feature)."""
    le = ledger_entries
    key = le.c.customer_id if group is None else group
    is_api = le.c.category.in_(LLM_CATEGORIES)
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        sums = converted_sums(conn, rates, [key, is_api], in_range(*period.utc_range()))
    found: dict[Any, tuple[int, int]] = {}
    for (name, api), nanos in sums.items():
        total, llm = found.get(name, (0, 0))
        found[name] = (total + nanos, llm + (nanos if api else 0))
    return found


def pnl(
    record: Any, costs: tuple[int, int], rates: Rates, period: periods.Period
) -> dict[str, int | None]:
    """The money of one ``normalize``/``rank`` record (per customer, agent or feature) in the
    currency, under :func:`..currency.converted_key` names: the ledger's costs (``costs``, from
    :func:`group_costs`); revenue, margin and outcome value — amounts of the whole period — by
    :meth:`..currency.Rates.spread`; and what derives from them recomputed in the currency:
    profitability (margin or value − AI cost), cost per work item and per success. Ratios
    (``% of revenue``) have no currency and stay as the job computed them."""
    total, api = costs
    last = period.end - timedelta(days=1)

    def spread(name: str) -> int | None:
        nanos = getattr(record, name, None)
        return None if nanos is None else rates.spread(nanos, period.start, last)

    margin = spread("margin_nanos")
    value = spread("value_nanos")
    earned = margin if hasattr(record, "margin_nanos") else value
    values: dict[str, int | None] = {
        "ai_cost_nanos": total,
        "api_cost_nanos": api,
        "other_cost_nanos": total - api,
        "revenue_nanos": spread("revenue_nanos"),
        "margin_nanos": margin,
        "value_nanos": value,
        "profitability_nanos": None if earned is None else earned - total,
        "cost_per_work_item": per_unit_nanos(total, getattr(record, "work_items", None)),
        "cost_per_successful_outcome": per_unit_nanos(
            total, getattr(record, "successful_outcomes", None)
        ),
    }
    return {converted_key(k, rates.currency): v for k, v in values.items()}


def category_costs(
    database: Database, rates: Rates, period: periods.Period, customer_id: str
) -> dict[str, int]:
    """One customer's cost per category of ``period`` in the currency (``normalize
    --customer``, the seed's Step 4 table), each UTC day at its rate."""
    le = ledger_entries
    where = in_range(*period.utc_range()) & (le.c.customer_id == customer_id)
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        sums = converted_sums(conn, rates, [le.c.category], where)
    return {category: nanos for (category,), nanos in sums.items()}
