"""Writing ledger rows: :class:`LedgerStore`.

``insert(rows)`` writes one batch in ONE transaction with ``INSERT ... ON CONFLICT
(idempotency_key) DO NOTHING``, so a batch is recorded entirely or not at all and a retried
batch (or a span that two exporters deliver) is never counted twice. It returns how many rows
were new and how many were already there.

How it is fast
--------------
* A :class:`~.rows.LedgerRow` is a tuple of plain values the drivers take as they are, so
  nothing is converted per row here (SQLite gets an exact-tuple copy of each, see below).
* SQLite: one ``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`` run as one DB-API
  ``executemany`` over the rows themselves (no per-row SQLAlchemy processing); the driver's
  ``rowcount`` is the number of rows inserted.
* PostgreSQL with psycopg 3: the rows are ``COPY``-ed straight into ``ledger_entries`` under a
  savepoint (timestamps read as UTC text), so a batch of new rows costs the server what the
  plainest bulk load costs. When a key is already recorded (a retried batch, a call two
  exporters deliver) that COPY fails as a whole and is rolled back to the savepoint; the batch
  is then ``COPY``-ed into a session-local temporary table and ``INSERT INTO ledger_entries
  SELECT ... FROM it ON CONFLICT DO NOTHING`` moves it in one statement whose row count is the
  number inserted (the temporary table empties itself at commit). The next few batches take
  that path directly.
* Any other dialect: Core ``insert ... ON CONFLICT DO NOTHING RETURNING id`` with
  ``insertmanyvalues``.

Errors
------
:class:`DatabaseUnavailable` (a :class:`~.errors.DatabaseError`) means "try again later": the
server is down or refuses connections, the SQLite file is locked by another writer beyond its
busy timeout, a timeout. Any other database failure is a plain :class:`~.errors.DatabaseError`
(retrying the same rows would fail the same way).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import DatabaseError
from . import db, migrations
from .rows import LedgerRow, timestamp_text
from .schema import ledger_entries

logger = logging.getLogger(__name__)

_COLUMNS = (*LedgerRow._fields, "recorded_at")  # the order of a row, then the store's stamp
_TEMP_TABLE = "costledger_ingest"
_EXACT_TUPLE = operator.itemgetter(slice(None))
_MIGRATE_LOCK = 0x636F73746C6467  # "costldg": the advisory lock key of schema migrations


class DatabaseUnavailable(DatabaseError):
    """The ledger database cannot take writes right now (down, locked, timed out); retry later."""


@dataclass
class InsertResult:
    inserted: int
    duplicates: int


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            # "no such table/column" is a schema problem, not an outage.
            message = str(exc.orig).lower()
            return "no such table" not in message and "no such column" not in message
    return False


def database_error(exc: BaseException, url: sa.URL | str) -> DatabaseError:
    """The domain error for a SQLAlchemy/driver error ``exc`` while using the ledger at ``url``."""
    where = url.render_as_string(hide_password=True) if isinstance(url, sa.URL) else url
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if _is_retryable(exc):
        return DatabaseUnavailable(
            f"the ledger database {where} is unavailable ({reason}); costledger retries, or"
            " check that the server is running and reachable"
        )
    return DatabaseError(f"the ledger database {where} failed: {reason}")


class LedgerStore:
    """The ledger table of one database, for writing rows."""

    engine: sa.Engine

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: sa.Engine | None = None,
        migrate: bool = True,
        timeout: float = db.DEFAULT_TIMEOUT_SECONDS,
        statement_timeout: float | None = None,
    ) -> None:
        """The ledger at ``url`` (or ``engine``); ``timeout`` bounds each wait, in seconds.

        ``statement_timeout`` (PostgreSQL) cancels a statement that runs longer, e.g. one stuck
        behind another session's lock; the cancellation is a :class:`DatabaseUnavailable`.

        ``migrate=False`` defers the schema check to the first :meth:`insert`, so creating a
        store never touches the database.
        """
        self._owns_engine = engine is None
        if engine is None:
            options: dict[str, Any] = {}
            resolved = sa.make_url(db.resolve_database_url(url))
            if statement_timeout is not None and resolved.get_backend_name() == "postgresql":
                millis = max(1, round(statement_timeout * 1000))
                options["connect_args"] = {"options": f"-c statement_timeout={millis}"}
            engine = db.create_engine(url, timeout=timeout, **options)
        self.engine = engine
        self._schema_ready = False
        self._direct_copy_skips = 0  # batches to COPY via the temp table after a conflict
        dialect = self.engine.dialect
        self._path = (
            "sqlite"
            if dialect.name == "sqlite"
            else "copy"
            if dialect.name == "postgresql" and dialect.driver == "psycopg"
            else "core"
        )
        self._sqlite_sql = _SQLITE_INSERT
        if migrate:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        """Apply the migrations this database lacks (once per store)."""
        if self._schema_ready:
            return
        try:
            before = migrations.applied(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            # Locked while another process migrates: retryable, like any other lock.
            raise database_error(exc, self.engine.url) from exc
        try:
            if self.engine.dialect.name == "postgresql":
                # One migrator at a time per database: others wait here, then find it done.
                with self.engine.connect() as lock:
                    lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATE_LOCK})
                    try:
                        migrations.migrate(self.engine)
                    finally:
                        lock.execute(
                            sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATE_LOCK}
                        )
                        lock.commit()
            else:
                migrations.migrate(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            # Several exporters starting on a new database migrate it at the same moment: the
            # losers fail on a table the winner just made. That is not an error of the data.
            try:
                after = migrations.applied(self.engine)
            except sa.exc.SQLAlchemyError:
                raise database_error(exc, self.engine.url) from exc
            wanted = {m.name for m in migrations.all_migrations()}
            if not wanted <= after:
                if after - before:
                    raise DatabaseUnavailable(
                        "the ledger schema is being created by another process; retrying"
                    ) from exc
                raise database_error(exc, self.engine.url) from exc
        self._schema_ready = True

    def insert(
        self,
        rows: Sequence[LedgerRow],
        *,
        also: Callable[[sa.Connection], object] | None = None,
    ) -> InsertResult:
        """Write ``rows`` in one transaction; a row whose key is already recorded is skipped.

        ``also(conn)`` runs in the same transaction after the rows, so that what it writes
        commits with them or not at all (the receiver's driver counts).
        """
        if not rows and also is None:
            return InsertResult(0, 0)
        self.ensure_schema()
        recorded_at = datetime.now(UTC)
        inserted = 0
        try:
            with self.engine.begin() as conn:
                if not rows:
                    pass
                elif self._path == "sqlite":
                    inserted = self._insert_sqlite(conn, rows, recorded_at)
                elif self._path == "copy":
                    inserted = self._insert_copy(conn, rows, recorded_at)
                else:
                    inserted = self._insert_core(conn, rows, recorded_at)
                if also is not None:
                    also(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(exc, self.engine.url) from exc
        return InsertResult(inserted=inserted, duplicates=len(rows) - inserted)

    def close(self) -> None:
        """Release the connections (the engine too, when this store made it)."""
        if self._owns_engine:
            self.engine.dispose()

    # --- one path per database --------------------------------------------------------------

    def _insert_sqlite(
        self, conn: sa.Connection, rows: Sequence[LedgerRow], recorded_at: datetime
    ) -> int:
        import sqlite3

        sql = self._sqlite_sql.format(recorded_at=timestamp_text(recorded_at))
        # Exact tuples: sqlite3 binds a tuple subclass through the generic sequence protocol,
        # several times slower per value than an exact tuple, which is worth one copy (a full
        # slice of a tuple subclass is an exact tuple, copied without iterating). Copied one at
        # a time as the driver's executemany takes them (it takes any iterable; SQLAlchemy's
        # exec_driver_sql wants a list): each copy is freed once bound, so a batch does not
        # leave a second tuple per row for the cyclic GC to walk.
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            cursor.executemany(sql, map(_EXACT_TUPLE, rows))
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
        finally:
            cursor.close()
        return int(cursor.rowcount)

    def _insert_copy(
        self, conn: sa.Connection, rows: Sequence[LedgerRow], recorded_at: datetime
    ) -> int:
        import psycopg.errors

        driver = conn.connection.driver_connection
        assert driver is not None
        # Row timestamps are UTC text without an offset: read them as UTC in this transaction.
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
        if self._direct_copy_skips:
            self._direct_copy_skips -= 1
        else:
            # Optimistic: COPY straight into the table under a savepoint (new rows are the
            # rule); a key already there fails the whole COPY, which is then undone and the
            # batch takes the conflict-tolerant path below.
            try:
                with conn.begin_nested():
                    self._copy(driver, "ledger_entries", rows, recorded_at)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                self._direct_copy_skips = _SKIPS_AFTER_CONFLICT
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {_TEMP_TABLE} ON COMMIT DELETE ROWS AS"
            f" SELECT {_COPY_NAMES} FROM ledger_entries WITH NO DATA"
        )
        self._copy(driver, _TEMP_TABLE, rows, recorded_at)
        result = conn.exec_driver_sql(
            f"INSERT INTO ledger_entries ({_COPY_NAMES}) SELECT {_COPY_NAMES} FROM {_TEMP_TABLE}"
            " ON CONFLICT (idempotency_key) DO NOTHING"
        )
        return int(result.rowcount)

    @staticmethod
    def _copy(driver: Any, table: str, rows: Sequence[LedgerRow], recorded_at: datetime) -> None:
        import psycopg

        try:
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY {table} ({_COPY_NAMES}) FROM STDIN") as copy,
            ):
                write_row = copy.write_row
                stamp = (recorded_at,)
                for row in rows:
                    write_row(row + stamp)
        except psycopg.errors.UniqueViolation:
            raise  # the optimistic COPY's signal, handled by the caller
        except psycopg.Error as exc:
            # The driver's own error (the cursor is not SQLAlchemy's): wrap it as SQLAlchemy
            # would, so that a timeout or an outage is told apart from bad data the same way.
            raise sa.exc.DBAPIError.instance(f"COPY {table}", None, exc, psycopg.Error) from exc

    def _insert_core(
        self, conn: sa.Connection, rows: Sequence[LedgerRow], recorded_at: datetime
    ) -> int:
        insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = (
            insert(ledger_entries)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(ledger_entries.c.id)
        )
        params = [{**row.values(), "recorded_at": recorded_at} for row in rows]
        return len(conn.execute(stmt, params).all())


_COPY_NAMES = ", ".join(f'"{name}"' for name in _COLUMNS)
# After a batch met a key already recorded (a retry, a duplicate delivery), the next ones are
# likely to as well: they go through the temp table directly instead of failing a COPY first.
_SKIPS_AFTER_CONFLICT = 8

# SQLite: a row is the statement's parameters as it is; the batch's recorded_at, the same for
# every row, is a literal of the statement (text this module formats, never user input).
_SQLITE_INSERT = (
    f"INSERT INTO {ledger_entries.name} ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(LedgerRow._fields))}, '{{recorded_at}}')"
    " ON CONFLICT (idempotency_key) DO NOTHING"
)
