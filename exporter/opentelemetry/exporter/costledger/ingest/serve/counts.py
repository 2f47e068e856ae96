"""Driver counts: spans received per UTC day, customer and service, counted exactly once.

:func:`record_counts` adds one request's counts to ``span_counts`` (see migration ``m0010``) in
one transaction that first records the request's identity (:meth:`DecodedRequest.identity`, a
digest of the spans it carries) in ``span_count_requests``. When that identity is already there
the request was counted before — a retry after a timeout, a lost answer, a replay of the
Collector's persistent queue, or the same batch back-filled from a ``file`` exporter — and
nothing is added. Cost: one small insert per request plus one upsert per (day, customer,
service) in it; no per-span bookkeeping.

The receiver counts in the same transaction as the request's ledger rows (:func:`add_counts`,
passed to :meth:`~..store.LedgerStore.insert`): rows and counts commit together or not at
all, and a retry adds each exactly once. Only when the database refuses some rows on their own,
and the sink isolates them in several transactions, are the counts a transaction of their own
(:func:`record_counts`) after those: both are idempotent, so the retry of a failure between them
completes the counts without adding anything twice. The receiver answers success only after
everything committed.

What this cannot see: the same spans re-sent in a DIFFERENT grouping (two requests that overlap)
count again, while their ledger rows do not (rows are keyed per span). The Collector never
regroups on retry; the identities are kept for ``retention`` (default 7 days,
:func:`prune_requests`).

The current tables for queries: :data:`span_counts`, :data:`span_count_requests`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ...ledger.migrations.m0010_span_counts import COUNT_KEY_SQL, span_count_requests, span_counts
from ...ledger.store import database_error
from .decoded import CountKey

__all__ = ["add_counts", "prune_requests", "record_counts", "span_count_requests", "span_counts"]

DEFAULT_RETENTION = timedelta(days=7)

_UPSERT = sa.text(
    "INSERT INTO span_counts (day, customer_id, service, spans)"
    " VALUES (:day, :customer_id, :service, :spans)"
    f" ON CONFLICT ({COUNT_KEY_SQL}) DO UPDATE SET spans = span_counts.spans + excluded.spans"
).bindparams(
    sa.bindparam("day", type_=sa.Date),
    sa.bindparam("customer_id", type_=sa.String),
    sa.bindparam("service", type_=sa.String),
    sa.bindparam("spans", type_=sa.BigInteger),
)


# Built once: constructing the INSERT ... RETURNING anew made record_counts cost 178 us of CPU
# per request instead of 101 (SQLite).
_CLAIM = {
    name: insert(span_count_requests)
    .on_conflict_do_nothing()
    .returning(span_count_requests.c.request_key)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _claim(conn: sa.Connection, key: str, spans: int, now: datetime) -> bool:
    values = {"request_key": key, "received_at": now, "spans": spans}
    return conn.execute(_CLAIM[conn.dialect.name], values).first() is not None


def add_counts(conn: sa.Connection, request_key: bytes, counts: Mapping[CountKey, int]) -> bool:
    """Add ``counts`` in ``conn``'s transaction unless the request ``request_key`` was counted
    before; True if added. Errors are the caller's (SQLAlchemy's)."""
    if not counts:
        return False
    total = sum(counts.values())
    # A fixed order of upserts: two transactions touching the same rows cannot deadlock.
    params = [
        {"day": k.day, "customer_id": k.customer_id, "service": k.service, "spans": n}
        for k, n in sorted(
            counts.items(), key=lambda kv: (kv[0].day, kv[0].customer_id or "", kv[0].service or "")
        )
    ]
    if not _claim(conn, request_key.hex(), total, datetime.now(UTC)):
        return False
    conn.execute(_UPSERT, params)
    return True


def record_counts(engine: sa.Engine, request_key: bytes, counts: Mapping[CountKey, int]) -> bool:
    """:func:`add_counts` in a transaction of its own; True if added.

    Raises :class:`~..store.DatabaseUnavailable` when the database cannot take it now.
    """
    if not counts:
        return False
    try:
        with engine.begin() as conn:
            return add_counts(conn, request_key, counts)
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(exc, engine.url) from exc


def prune_requests(engine: sa.Engine, retention: timedelta = DEFAULT_RETENTION) -> int:
    """Forget request identities older than ``retention``; returns how many were removed."""
    cutoff = datetime.now(UTC) - retention
    try:
        with engine.begin() as conn:
            result = conn.execute(
                span_count_requests.delete().where(span_count_requests.c.received_at < cutoff)
            )
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(exc, engine.url) from exc
    return int(result.rowcount)
