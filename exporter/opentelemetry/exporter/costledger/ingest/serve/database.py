"""The ledger as the receiver opens it (:func:`open_store`): with timeouts, so that "too slow"
becomes a retryable answer instead of a hung request.

SQLite waits at most ``db_timeout`` for a lock held by another process; PostgreSQL gets
``connect_timeout``, ``statement_timeout`` and ``lock_timeout`` of ``db_timeout`` and a pool as
large as the number of concurrent requests. The store is not migrated here: :mod:`.server`
ensures the schema at start and, when the database is down, answers "retry later" until it is
back.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...ledger import db
from ...ledger.store import LedgerStore


def open_store(
    url: str | None, *, db_timeout: float, pool_size: int, durable: bool = False
) -> LedgerStore:
    """A :class:`LedgerStore` whose engine gives up after ``db_timeout`` (not migrated yet).

    ``durable`` (``--spool``): on SQLite, ``synchronous=FULL``, so that a commit answered "ok"
    survives a power loss too, as a spooled file does (the ledger's default in WAL mode,
    ``NORMAL``, survives a crash of the process, not of the machine). PostgreSQL commits are
    durable when they return (``synchronous_commit`` on, its default).
    """
    resolved = db.resolve_database_url(url)
    millis = max(1, int(db_timeout * 1000))
    backend = sa.make_url(resolved).get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "postgresql":
        kwargs = {
            "pool_size": pool_size,
            "max_overflow": 2,
            "pool_timeout": db_timeout,
            "pool_pre_ping": True,
            "connect_args": {
                "options": f"-c statement_timeout={millis} -c lock_timeout={millis}",
            },
        }
    # db.create_engine turns the timeout into SQLite's busy_timeout (a lock held by another
    # process) and PostgreSQL's connect_timeout.
    engine = db.create_engine(resolved, timeout=db_timeout, **kwargs)
    if durable and backend == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _full_sync(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    return LedgerStore(engine=engine, migrate=False)
