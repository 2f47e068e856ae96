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
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import periods
from ..currency import Rates
from ..ledger.open import Database, open_ledger
from ..ledger.schema import ledger_entries
from .aggregate import _time_span, normalize_dimensions
from .groups import DIM_COLUMNS, TAG_DIMENSION, bucket_column, dimension_columns

Key = tuple[Any, ...]


def utc_day(dialect: str) -> sa.ColumnElement[Any]:
    """The UTC date of each ledger row, as SQL (SQLite stores UTC text ``YYYY-MM-DD …``)."""
    ts = ledger_entries.c.timestamp
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
        span = period.utc_range() if period is not None else _time_span(conn)
        if span is None:
            return {}
        bucket, bucket_date = bucket_column(conn.dialect.name, granularity, tz, span)
        groups = dimension_columns(conn.dialect.name, dims)
        sums = converted_sums(conn, rates, [bucket, *groups], in_range(*span))
    return {(bucket_date(key[0]), *key[1:]): value for key, value in sums.items()}


def aggregate_key(record: Any, dims: Sequence[str] | str) -> Key:
    """The key of one :class:`.aggregate.CostAggregate` in :func:`converted_aggregates`."""
    names: list[str] = []
    for dim in normalize_dimensions(dims):
        names += ["tag_value"] if dim.startswith(TAG_DIMENSION) else list(DIM_COLUMNS[dim])
    return (record.period_start, *(getattr(record, name) for name in names))
