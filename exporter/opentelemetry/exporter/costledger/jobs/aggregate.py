"""Step 3 — aggregate: cost, calls, tokens by kind and distinct work items per customer × period.

``aggregate(db, granularity="month", dimensions=("customer",), time_zone="UTC")`` sums the
ledger by customer (always) and optionally ``workspace``, ``work_item``, ``model`` (provider +
model), ``category`` and ``service``, per ``day``/``week``/``month`` bucket in a time zone, in
ONE ``GROUP BY`` over the ledger per bucket set: the ledger never travels to Python. CLI:
``costledger aggregate``.

On SQLite that is an ``INSERT … SELECT … GROUP BY``. On PostgreSQL, whose ``INSERT … SELECT``
never uses parallel workers, the ``SELECT`` fills a temporary table (``CREATE TEMP TABLE … AS``,
which may run in parallel) whose rows — one per group — are then inserted, in the same
transaction. Text keys and ``COUNT(DISTINCT work_item_id)`` are compared byte for byte
(``COLLATE "C"``): equality is byte equality under every deterministic collation, so the groups
and counts are the ones the database's collation gives, at a fraction of the sorting cost.
Rows are put in their bucket by comparing their UTC timestamp with the buckets' UTC start
instants (the local midnights of the time zone, computed once per run), not by converting every
row to local time; an incremental run recomputes one bucket at a time, over its UTC range.

Incremental and exact
---------------------
Each configuration (granularity, time zone, dimensions) keeps a high-water mark in
``aggregate_state``. A run recomputes only what changed since the last one: the
(bucket, customer) pairs holding a row recorded since the mark (``ledger_entries.recorded_at``,
indexed; the mark is taken a safety ``overlap`` (10 minutes) back so a transaction that
committed late is not missed) or a row repriced since (``ledger_repricings``), and whole buckets
where an allocation was re-run since (``allocation_runs``: its replaced rows are gone) or where
more than 500 customers changed. Those groups are deleted and summed again from the ledger
(through the ``(customer_id, timestamp)`` index); counts of distinct work items are not
additive, which is why changed groups are recomputed rather than adjusted. The first run (or
``full=True``) recomputes everything. Each run is one transaction, so a reader sees the old or
the new totals, never a mix; re-running gives the same rows.

Result table ``cost_aggregates``
--------------------------------
============================  ==================================================================
granularity                   ``day`` / ``week`` / ``month``
time_zone                     IANA name the buckets were cut in
dimensions                    the grouping, e.g. ``customer`` or ``customer,model``
period_start                  local start date of the bucket (weeks start on Monday)
customer_id … service         the group (NULL where not grouped, or NULL in the ledger);
                              ``provider`` and ``model`` come with the ``model`` dimension
entries                       ledger rows (every source: spans, allocations, imports)
calls                         LLM calls: rows of category ``api`` or ``embedding``
unpriced_entries              rows without a price (``cost_nanos`` NULL; see ``reprice``)
cost_nanos                    exact sum of the priced rows, nano-dollars
input_tokens, output_tokens,  token sums by kind (input INCLUDES cache read/write, output
uncached_input_tokens, …      INCLUDES reasoning, as in the ledger)
work_items                    distinct ``work_item_id`` values
============================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import nanos_to_decimal

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries, ledger_repricings
from ..ledger.tables import aggregate_state, allocation_runs, cost_aggregates
from .groups import bucket_column, customer_filter, write_groups

DIMENSIONS = ("customer", "workspace", "work_item", "model", "category", "service")
DEFAULT_OVERLAP = timedelta(minutes=10)
# Beyond this many changed customers in a bucket, the whole bucket is recomputed (one scan of
# the bucket beats a long IN list).
MAX_CUSTOMERS_PER_BUCKET = 500

Progress = Callable[[int, int], None]
"""Called with (buckets done, buckets in total) as a long run advances."""


@dataclass(frozen=True, slots=True)
class AggregateResult:
    full: bool
    buckets: int  # buckets touched (0 when nothing changed; all of them on a full run)
    rows: int  # rows now in cost_aggregates for this configuration
    granularity: str
    time_zone: str
    dimensions: str


@dataclass(frozen=True, slots=True)
class CostAggregate:
    """One group's sums in one bucket: a row of ``cost_aggregates`` (module doc), money in
    nanos, plus ``period``, the bucket as a period label (``2025-05``, ``2025-W19``)."""

    granularity: str
    time_zone: str
    dimensions: str
    period: str
    period_start: date
    customer_id: str | None
    workspace_id: str | None
    work_item_id: str | None
    provider: str | None
    model: str | None
    category: str | None
    service: str | None
    entries: int
    calls: int
    unpriced_entries: int
    cost_nanos: int
    input_tokens: int
    output_tokens: int
    uncached_input_tokens: int
    cache_read_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    work_items: int

    @property
    def cost_usd(self) -> Decimal:
        return nanos_to_decimal(self.cost_nanos)


def normalize_dimensions(dimensions: Sequence[str] | str) -> tuple[str, ...]:
    """Canonical order, ``customer`` always first; rejects unknown names with the valid ones."""
    given = [dimensions] if isinstance(dimensions, str) else list(dimensions)
    names = {part.strip() for item in given for part in item.split(",") if part.strip()}
    unknown = names - set(DIMENSIONS)
    if unknown:
        raise InputError(
            f"unknown dimension(s) {', '.join(sorted(unknown))}: use {', '.join(DIMENSIONS)}"
        )
    names.add("customer")
    return tuple(d for d in DIMENSIONS if d in names)


def aggregate(
    database: Database = None,
    *,
    granularity: str = "month",
    dimensions: Sequence[str] | str = ("customer",),
    time_zone: str | None = None,
    full: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    progress: Progress | None = None,
) -> AggregateResult:
    """Bring ``cost_aggregates`` up to date for one configuration (see the module docstring)."""
    periods.check_granularity(granularity)
    dims = normalize_dimensions(dimensions)
    tz = periods.resolve_time_zone(time_zone)
    key = ",".join(dims)
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.begin() as conn:
            result = _run(conn, granularity, dims, tz, full, overlap, progress)
        record_run(
            engine,
            "aggregate",
            started,
            f"{granularity} {tz} [{key}]: {'full' if result.full else 'incremental'},"
            f" {result.buckets} bucket(s) recomputed",
            ok=True,
        )
        return result


def _run(
    conn: sa.Connection,
    granularity: str,
    dims: tuple[str, ...],
    tz: str,
    full: bool,
    overlap: timedelta,
    progress: Progress | None,
) -> AggregateResult:
    key = ",".join(dims)
    config = (
        (aggregate_state.c.granularity == granularity)
        & (aggregate_state.c.time_zone == tz)
        & (aggregate_state.c.dimensions == key)
    )
    state = conn.execute(sa.select(aggregate_state).where(config)).mappings().first()
    le = ledger_entries
    high_water = conn.execute(sa.select(sa.func.max(le.c.recorded_at))).scalar()
    repricing_mark = conn.execute(sa.select(sa.func.max(ledger_repricings.c.id))).scalar() or 0
    allocation_mark = conn.execute(sa.select(sa.func.max(allocation_runs.c.id))).scalar() or 0
    span = _time_span(conn)
    config_rows = (
        (cost_aggregates.c.granularity == granularity)
        & (cost_aggregates.c.time_zone == tz)
        & (cost_aggregates.c.dimensions == key)
    )
    recompute_all = full or state is None or state["high_water_recorded_at"] is None
    buckets: dict[date, set[str | None] | None] = {}
    if recompute_all:
        conn.execute(cost_aggregates.delete().where(config_rows))
        if span is not None:
            dates, bounds = periods.bucket_starts(granularity, tz, span)
            write_groups(conn, granularity, dims, tz, dates, bounds)
            if progress:
                progress(1, 1)
    else:
        assert state is not None
        buckets = _touched_buckets(
            conn, granularity, tz, span, state, overlap, repricing_mark, allocation_mark
        )
        for index, (start, customers) in enumerate(buckets.items(), 1):
            lo, hi = periods.bucket_period(start, granularity, tz).utc_range()
            which = config_rows & (cost_aggregates.c.period_start == start)
            if customers is not None:
                which = which & customer_filter(cost_aggregates.c.customer_id, customers)
            conn.execute(cost_aggregates.delete().where(which))
            if span is not None:
                write_groups(conn, granularity, dims, tz, [start], [lo, hi], customers, True)
            if progress:
                progress(index, len(buckets))
    values = {
        "high_water_recorded_at": high_water,
        "high_water_repricing_id": repricing_mark,
        "high_water_allocation_run_id": allocation_mark,
        "last_run_at": now(),
    }
    if state is None:
        conn.execute(
            aggregate_state.insert().values(
                granularity=granularity, time_zone=tz, dimensions=key, **values
            )
        )
    else:
        conn.execute(aggregate_state.update().where(config).values(**values))
    rows = conn.execute(sa.select(sa.func.count()).where(config_rows)).scalar() or 0
    if recompute_all:
        distinct = sa.select(sa.func.count(sa.distinct(cost_aggregates.c.period_start)))
        buckets_done = int(conn.execute(distinct.where(config_rows)).scalar() or 0)
    else:
        buckets_done = len(buckets)
    return AggregateResult(
        full=recompute_all,
        buckets=buckets_done,
        rows=int(rows),
        granularity=granularity,
        time_zone=tz,
        dimensions=key,
    )


def _time_span(conn: sa.Connection) -> tuple[datetime, datetime] | None:
    # Two statements: SQLite reads a lone MIN or MAX from the index, both at once by a scan.
    low = conn.execute(sa.select(sa.func.min(ledger_entries.c.timestamp))).scalar()
    high = conn.execute(sa.select(sa.func.max(ledger_entries.c.timestamp))).scalar()
    if low is None or high is None:
        return None
    return (_aware(low), _aware(high) + timedelta(seconds=1))


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; the ledger stores UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _touched_buckets(
    conn: sa.Connection,
    granularity: str,
    tz: str,
    span: tuple[datetime, datetime] | None,
    state: Any,
    overlap: timedelta,
    repricing_mark: int,
    allocation_mark: int,
) -> dict[date, set[str | None] | None]:
    """Bucket → the customers whose rows in it changed (``None``: recompute every customer)."""
    le = ledger_entries
    dialect = conn.dialect.name
    since = _aware(state["high_water_recorded_at"]) - overlap
    found: dict[date, set[str | None] | None] = {}

    def touch(bucket_start: date, customer: str | None) -> None:
        customers = found.setdefault(bucket_start, set())
        if customers is not None:
            customers.add(customer)
            if len(customers) > MAX_CUSTOMERS_PER_BUCKET:
                found[bucket_start] = None

    if span is not None:
        bucket, bucket_date = bucket_column(dialect, granularity, tz, span)
        changed = sa.select(bucket, le.c.customer_id).where(le.c.recorded_at > since).distinct()
        repriced = (
            sa.select(bucket, le.c.customer_id)
            .select_from(le.join(ledger_repricings, ledger_repricings.c.entry_id == le.c.id))
            .where(ledger_repricings.c.id > state["high_water_repricing_id"])
            .distinct()
        )
        rows = list(conn.execute(changed))
        if repricing_mark > state["high_water_repricing_id"]:
            rows += conn.execute(repriced)
        for value, customer in rows:
            found_in = bucket_date(value)
            if found_in is not None:  # None: recorded after this run began; the next one sees it
                touch(found_in, customer)
    if allocation_mark > state["high_water_allocation_run_id"]:
        # A re-run allocation deleted rows of customers the ledger no longer shows: redo all.
        runs = conn.execute(
            sa.select(allocation_runs.c.period_start_utc, allocation_runs.c.period_end_utc).where(
                allocation_runs.c.id > state["high_water_allocation_run_id"]
            )
        )
        zone = periods.zone_info(tz)
        for start_utc, end_utc in runs:
            first = _aware(start_utc).astimezone(zone).date()
            last = (_aware(end_utc) - timedelta(microseconds=1)).astimezone(zone).date()
            for start in periods.iter_buckets(first, last + timedelta(days=1), granularity):
                found[start] = None
    return dict(sorted(found.items()))


def aggregate_rows(
    database: Database = None,
    *,
    granularity: str = "month",
    dimensions: Sequence[str] | str = ("customer",),
    time_zone: str | None = None,
    period: periods.Period | None = None,
) -> list[CostAggregate]:
    """The stored aggregates of one configuration, biggest cost first within each bucket.
    Run :func:`aggregate` first to bring them up to date.
    """
    dims = normalize_dimensions(dimensions)
    tz = periods.resolve_time_zone(time_zone)
    ca = cost_aggregates
    query = sa.select(ca).where(
        (ca.c.granularity == granularity)
        & (ca.c.time_zone == tz)
        & (ca.c.dimensions == ",".join(dims))
    )
    if period is not None:
        query = query.where(ca.c.period_start >= period.start, ca.c.period_start < period.end)
    query = query.order_by(ca.c.period_start, ca.c.cost_nanos.desc(), ca.c.customer_id)
    with open_ledger(database, create=False) as engine, engine.connect() as conn:
        records = []
        for row in conn.execute(query).mappings():
            start = periods.as_date(row["period_start"])
            fields = {k: v for k, v in row.items() if k != "id"}
            fields["period_start"] = start
            label = periods.bucket_period(start, granularity, tz).label
            records.append(CostAggregate(**fields, period=label))
        return records
