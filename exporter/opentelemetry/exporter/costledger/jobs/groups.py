"""The SQL of :mod:`.aggregate`: one ``GROUP BY`` summing ledger rows into ``cost_aggregates``
groups, for every bucket of a full run (each row placed in its bucket by comparing its UTC
timestamp with the buckets' UTC start instants) or one bucket of an incremental run (its rows
selected by their UTC range). On PostgreSQL the ``SELECT`` goes through a temporary table
(``CREATE TABLE … AS`` may run in parallel). See :mod:`.aggregate` for why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.schema import CreateTableAs, DropTable
from sqlalchemy.sql.expression import Grouping

from .. import periods
from ..ledger.schema import ledger_entries
from ..ledger.tables import cost_aggregates

LLM_CATEGORIES = ("api", "embedding")
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "uncached_input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)
DIM_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": ("customer_id",),
    "workspace": ("workspace_id",),
    "work_item": ("work_item_id",),
    "model": ("provider", "model"),
    "category": ("category",),
    "service": ("service",),
    "agent": ("agent",),
    "feature": ("feature",),
    "session": ("session_id",),
    "environment": ("environment",),
    "status": ("status",),
}
# A tag dimension, ``tag:<name>``: its value is read from the ledger's ``tags`` JSON text.
TAG_DIMENSION = "tag:"


def tag_value(dialect: str, name: str) -> sa.ColumnElement[Any]:
    """The value of tag ``name`` of each ledger row (NULL when the row has none)."""
    tags = ledger_entries.c.tags
    if dialect == "postgresql":
        value: sa.ColumnElement[Any] = sa.cast(tags, JSONB)[name].astext
        return value
    # The name is checked to be a plain word (``aggregate.normalize_dimensions``).
    return sa.func.json_extract(tags, f'$."{name}"', type_=sa.String)


def dimension_columns(dialect: str, dims: tuple[str, ...]) -> list[sa.ColumnElement[Any]]:
    """The ledger expressions a grouping sums by, labelled as ``cost_aggregates`` columns."""
    found: list[sa.ColumnElement[Any]] = []
    for dim in dims:
        if dim.startswith(TAG_DIMENSION):
            found.append(tag_value(dialect, dim[len(TAG_DIMENSION) :]).label("tag_value"))
        else:
            found.extend(ledger_entries.c[name] for name in DIM_COLUMNS[dim])
    return found


# SQLite's bucket of a row outside the run's span (recorded after the run began; the next run
# sees it), deleted once the groups are written.
OUTSIDE = date(1, 1, 1)


def customer_filter(
    column: sa.ColumnElement[Any], customers: set[str | None]
) -> sa.ColumnElement[bool]:
    named = sorted(c for c in customers if c is not None)
    condition: sa.ColumnElement[bool] = column.in_(named)
    if None in customers:
        condition = condition | column.is_(None)
    return condition


def bucket_column(
    dialect: str, granularity: str, tz: str, span: tuple[datetime, datetime]
) -> tuple[sa.ColumnElement[Any], Callable[[Any], date | None]]:
    """SQL naming the bucket of each ledger row in ``span``, and how to read it back as the
    bucket's start date (None for a row outside ``span``: recorded after the run began).

    Rows are placed by comparing their UTC timestamp with the buckets' UTC start instants
    (:func:`periods.bucket_starts`: the local midnights of the time zone), the comparisons an
    incremental run selects one bucket's rows by, rather than by converting every row to local
    time (``date_trunc(…, timezone(tz, …))``; SQLite's ``strftime`` over a DST offset ``CASE``),
    which cost more than the rest of a row's bucketing. PostgreSQL: the row's position among
    the instants (``width_bucket``, a binary search over the sorted array). SQLite: the same
    binary search written as nested ``CASE`` over the timestamp text.
    """
    dates, bounds = periods.bucket_starts(granularity, tz, span)
    ts = ledger_entries.c.timestamp
    if dialect == "postgresql":
        instants = ARRAY(sa.DateTime(timezone=True))
        position = sa.func.width_bucket(
            ts,
            # A cast: CREATE TABLE … AS renders its parameters inline, as an array of text.
            sa.cast(sa.bindparam("bucket_bounds", bounds, type_=instants), instants),
            type_=sa.Integer,
        )
        return position, lambda value: dates[value - 1] if 1 <= value <= len(dates) else None
    # Inline literals (digits and punctuation of our own formatting): a bound parameter per
    # bucket would run into SQLite's parameter limit over a long span of days.
    text = [sa.literal_column(f"'{_utc_text(instant)}'", sa.String) for instant in bounds]
    starts = [sa.literal_column(f"'{start.isoformat()}'", sa.String) for start in dates]

    def search(low: int, high: int) -> sa.ColumnElement[Any]:
        if high - low == 1:
            return starts[low]
        middle = (low + high) // 2
        return sa.case((ts < text[middle], search(low, middle)), else_=search(middle, high))

    within = sa.and_(ts >= text[0], ts < text[-1])
    outside = sa.literal_column(f"'{OUTSIDE.isoformat()}'", sa.String)
    bucket = sa.case((within, search(0, len(dates))), else_=outside)
    return (
        bucket,
        lambda value: None if periods.as_date(value) == OUTSIDE else periods.as_date(value),
    )


def _utc_text(instant: datetime) -> str:
    """An instant as the ledger's SQLite text stores it (UTC ``YYYY-MM-DD HH:MM:SS.ffffff``),
    so that text comparison orders it among the rows' timestamps."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def write_groups(
    conn: sa.Connection,
    granularity: str,
    dims: tuple[str, ...],
    tz: str,
    dates: list[date],
    bounds: list[datetime],
    customers: set[str | None] | None = None,
    one_bucket: bool = False,
) -> None:
    """Sum the ledger rows of the buckets starting at ``dates`` (``bounds``: their UTC start
    instants and the end of the last) into ``cost_aggregates``, one row per bucket and group.

    ``one_bucket`` (an incremental run): the rows of ``dates[0]`` are selected by their UTC
    range, through the timestamp index, and the bucket is a constant. Otherwise (a full run):
    every row, scanned, each put in its bucket by :func:`bucket_column`.
    """
    dialect = conn.dialect.name
    le = ledger_entries
    label = "period_start"
    if one_bucket:
        bucket: sa.ColumnElement[Any] = sa.literal(dates[0], sa.Date)
        if dialect == "postgresql":  # typed, as CREATE TABLE … AS renders it inline
            bucket = sa.cast(bucket, sa.Date)
        select = _group_select(dialect, granularity, tz, dims, bucket.label(label), None, customers)
        select = select.where(le.c.timestamp >= bounds[0], le.c.timestamp < bounds[1])
    else:
        bucket = bucket_column(dialect, granularity, tz, (bounds[0], bounds[-1]))[0]
        label = "period_index" if dialect == "postgresql" else label
        select = _group_select(
            dialect, granularity, tz, dims, bucket.label(label), bucket, customers
        )
    target = [column.name for column in select.selected_columns]
    if dialect != "postgresql":
        conn.execute(cost_aggregates.insert().from_select(target, select))
        if not one_bucket:
            # Dropped after the insert, not filtered in it: SQLite would evaluate the filter on
            # every row (it moves a HAVING on a grouping key into the WHERE).
            conn.execute(
                cost_aggregates.delete().where(
                    (cost_aggregates.c.granularity == granularity)
                    & (cost_aggregates.c.time_zone == tz)
                    & (cost_aggregates.c.dimensions == ",".join(dims))
                    & (cost_aggregates.c.period_start == OUTSIDE)
                )
            )
        return
    # PostgreSQL never runs the SELECT of an INSERT … SELECT with parallel workers, but does
    # for CREATE TABLE … AS: the scan and sort of the ledger go to a temporary table (parallel),
    # then its few rows (one per group) are copied into place in the same transaction.
    staged = CreateTableAs(select, "cost_aggregates_staged", temporary=True)
    conn.execute(staged)
    rows = sa.select(staged.table)
    if label == "period_index":
        index = staged.table.c.period_index
        starts = Grouping(sa.cast(sa.bindparam("bucket_dates", dates), ARRAY(sa.Date)))
        rows = sa.select(
            *(starts[index] if name == label else staged.table.c[name] for name in target)
        ).where(index.between(1, len(dates)))  # outside: recorded after the run began
        target = ["period_start" if name == label else name for name in target]
    conn.execute(cost_aggregates.insert().from_select(target, rows))
    conn.execute(DropTable(staged.table))


def _group_select(
    dialect: str,
    granularity: str,
    tz: str,
    dims: tuple[str, ...],
    bucket: sa.Label[Any],
    group_bucket: sa.ColumnElement[Any] | None,
    customers: set[str | None] | None,
) -> sa.Select[Any]:
    """``SELECT bucket, dims, measures FROM ledger_entries … GROUP BY dims[, group_bucket]``."""
    le = ledger_entries

    def text_key(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # Sorting and comparing text under the database's collation (strcoll, no abbreviated
        # keys unless it is "C") dominates the GROUP BY and COUNT(DISTINCT) sorts on
        # PostgreSQL. Equal strings are equal in every deterministic collation — byte for
        # byte — so the groups and the distinct counts are the same under "C", only cheaper.
        return column.collate("C") if dialect == "postgresql" else column

    group_cols = dimension_columns(dialect, dims)
    group_keys = [text_key(column).label(column.name) for column in group_cols]
    is_call = le.c.category.in_(LLM_CATEGORIES)
    select = sa.select(
        sa.literal(granularity).label("granularity"),
        sa.literal(tz).label("time_zone"),
        sa.literal(",".join(dims)).label("dimensions"),
        bucket,
        *group_keys,
        sa.func.count().label("entries"),
        # COUNT(*) FILTER: cheaper than SUM(CASE …) on PostgreSQL; SQLite has it since 3.30.
        sa.func.count().filter(is_call).label("calls"),
        sa.func.count().filter(le.c.cost_nanos.is_(None)).label("unpriced_entries"),
        sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0).label("cost_nanos"),
        *(sa.func.coalesce(sa.func.sum(le.c[t]), 0).label(t) for t in TOKEN_COLUMNS),
        _work_items(dims, text_key(le.c.work_item_id)).label("work_items"),
    )
    if customers is not None:
        select = select.where(customer_filter(le.c.customer_id, customers))
    if group_bucket is None:
        return select.group_by(*group_keys)
    if dialect == "postgresql":
        # PostgreSQL sorts by the GROUP BY keys in their order: led by text, the sort compares
        # abbreviated (8-byte prefix) keys, which a leading integer key would forgo.
        return select.group_by(*group_keys, group_bucket)
    # SQLite: led by customer_id, the GROUP BY would walk the (customer_id, timestamp) index
    # and fetch every row through it, slower than the scan and sort it does led by the bucket.
    return select.group_by(group_bucket, *group_keys)


def _work_items(dims: tuple[str, ...], work_item: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``COUNT(DISTINCT work_item_id)`` of a group."""
    if "work_item" in dims:
        # Grouped by the work item itself: 1, or 0 for the group without one. Saying so spares
        # the database a DISTINCT sort per group and lets it hash the groups.
        return sa.func.max(sa.case((work_item.is_(None), 0), else_=1))
    return sa.func.count(sa.distinct(work_item))
