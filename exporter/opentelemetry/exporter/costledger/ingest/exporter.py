"""The in-process exporter: :class:`CostLedgerSpanExporter` writes the ledger from the app itself.

Setup
-----
With the zero-code agent (the ``costledger`` name is registered on the
``opentelemetry_traces_exporter`` entry point)::

    COSTLEDGER_DATABASE_URL=postgresql+psycopg://ledger@db/ledger \\
    OTEL_TRACES_EXPORTER=otlp,costledger opentelemetry-instrument python app.py

or in code::

    provider.add_span_processor(BatchSpanProcessor(CostLedgerSpanExporter()))

The database URL is the ``database_url`` argument, else ``COSTLEDGER_DATABASE_URL``, else the
default SQLite file (see :mod:`..ledger.db`). The URL is checked when the exporter is created:
one that names no database costledger can use (``postgres://``, a driver that is not installed)
is logged once as an ERROR saying what to write instead, every ``export`` then returns FAILURE, and
``shutdown`` logs how many ledger rows were not recorded. Nothing touches the database until the
first export, so an app starts even when the database is down; the schema is migrated on the
first write.

What ``export`` does
--------------------
Each batch of spans is converted to priced rows (:func:`.convert.spans_to_rows`:
:class:`~..ledger.rows.LedgerRow` tuples) and written in ONE transaction
(:meth:`.store.LedgerStore.insert`, ``ON CONFLICT DO NOTHING``: a batch written twice
counts once). ``export`` never raises, and it waits for the database at most ``timeout``
seconds (the SQLite busy timeout / PostgreSQL connect timeout; a PostgreSQL statement is
cancelled after ``statement_timeout`` seconds), then keeps the rows for a retry and returns.

Loss policy (when the database is unavailable)
----------------------------------------------
* The converted rows of a batch that could not be written (database down, locked, timing out)
  are kept in memory, in a buffer bounded to ``max_buffer_rows`` rows (default 100 000, about
  100 MB at most), and a background thread retries them with exponential backoff from
  ``retry_initial`` to ``retry_max`` seconds. While rows wait, new batches join the buffer
  without touching the database, so the app never waits on a database that is known to be down.
* When a batch does not fit in the buffer it is DROPPED — the newest data goes, the rows already
  waiting are kept — and a WARNING log line says how many rows, their time range, how many were
  priced and their total cost, and the customers they belonged to.
* A row the ledger's columns cannot hold never costs the other rows of its batch: its values
  are repaired with a flag (text too long for its column, NUL, a lone surrogate) or the row is
  refused with a WARNING line saying why (a count beyond 64 bits), before the database is
  touched (:func:`.isolate.prepare_rows`, the same rules on SQLite and PostgreSQL). Should the
  database still refuse a batch for good, the batch is split until the refused rows stand
  alone (:func:`.isolate.insert_isolating`): they are dropped with a WARNING line, the rest is
  stored.
* A batch the database rejects as a whole for good (not an outage, e.g. the file is not a
  ledger) is dropped with an ERROR log line saying the same.
* ``force_flush`` retries the buffer at once and waits for it to empty (up to its timeout).
  ``shutdown`` does the same once more for up to ``shutdown_timeout`` seconds, then logs what it
  could not write; it is safe to call twice. Rows still buffered when the process dies are
  lost: the buffer is memory only. For no loss at all, export OTLP to a Collector with a
  persistent queue in front of ``costledger serve``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..errors import DatabaseError
from ..ledger import db
from ..ledger.rows import LedgerRow
from ..ledger.store import DatabaseUnavailable, LedgerStore
from .convert import spans_to_rows
from .dedupe import RecentCalls
from .isolate import Refused, insert_isolating, prepare_rows
from .spans import from_readable_span

if TYPE_CHECKING:
    from opentelemetry.instrumentation.costledger.pricing import PriceBook
    from opentelemetry.sdk.trace import ReadableSpan

logger = logging.getLogger(__name__)


class CostLedgerSpanExporter(SpanExporter):
    """A span exporter that writes priced ledger rows to the ledger database."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        price_book: PriceBook | None = None,
        max_buffer_rows: int = 100_000,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        timeout: float = db.DEFAULT_TIMEOUT_SECONDS,
        shutdown_timeout: float = 10.0,
        statement_timeout: float = 30.0,
    ) -> None:
        self._url = db.resolve_database_url(database_url)
        self._url_error = _url_error(database_url, self._url)
        self._unrecorded_rows = 0  # ledger rows lost to that error, said at shutdown
        self._price_book = price_book
        self._max_buffer_rows = max_buffer_rows
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._timeout = timeout
        self._shutdown_timeout = shutdown_timeout
        self._statement_timeout = statement_timeout
        self._store: LedgerStore | None = None
        # Calls written, so that another producer's report of one arriving in a later batch is
        # not a second row (dedupe rule 3).
        self._recent = RecentCalls()
        self._store_lock = threading.Lock()  # one writer at a time
        self._cond = threading.Condition()  # guards everything below
        self._buffer: deque[list[LedgerRow]] = deque()
        self._buffered_rows = 0
        self._retry_now = False
        self._closed = False
        self._thread: threading.Thread | None = None

    # --- SpanExporter ---------------------------------------------------------------------

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            logger.warning("costledger: export after shutdown; %d spans not recorded", len(spans))
            return SpanExportResult.FAILURE
        try:
            rows = self._convert(spans)
        except Exception:
            logger.exception("costledger: could not convert %d spans; not recorded", len(spans))
            return SpanExportResult.FAILURE
        if self._url_error is not None:  # said once at creation; the loss is counted
            with self._cond:
                self._unrecorded_rows += len(rows)
            return SpanExportResult.FAILURE
        if not rows:
            return SpanExportResult.SUCCESS
        with self._cond:
            waiting = bool(self._buffer)
        if waiting:  # the database is down: queue behind the rows already waiting
            return self._enqueue(rows)
        outcome = self._write(rows)
        if outcome is None:
            return SpanExportResult.SUCCESS
        if isinstance(outcome, DatabaseUnavailable):
            logger.warning("costledger: %s; keeping %d rows to retry", outcome, len(rows))
            return self._enqueue(rows)
        _log_dropped(rows, f"the database refused them ({outcome})", logging.ERROR)
        return SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Retry the buffered rows now; True when none are left waiting."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            if not self._buffer:
                return True
            self._retry_now = True
            self._cond.notify_all()
            while self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return False
                self._cond.wait(remaining)
            return True

    def shutdown(self) -> None:
        """Write what is buffered (for up to ``shutdown_timeout`` s), then close. Idempotent."""
        with self._cond:
            if self._closed:
                return
        if self._url_error is not None:  # nothing was buffered, no store was opened
            self._shutdown_unusable_url()
            return
        self.force_flush(int(self._shutdown_timeout * 1000))
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            # Let a write in progress finish, so that what is logged as lost really is.
            thread.join(self._timeout + 1)
        with self._cond:
            left = list(self._buffer)
            self._buffer.clear()
            self._buffered_rows = 0
        for rows in left:
            _log_dropped(rows, "the database was still unavailable at shutdown", logging.WARNING)
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # --- internals ------------------------------------------------------------------------

    def _shutdown_unusable_url(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            unrecorded, self._unrecorded_rows = self._unrecorded_rows, 0
        if unrecorded:
            logger.error(
                "costledger: %d ledger rows were not recorded: %s", unrecorded, self._url_error
            )

    def _convert(self, spans: Sequence[ReadableSpan]) -> list[LedgerRow]:
        conversion = spans_to_rows(
            [from_readable_span(span) for span in spans],
            price_book=self._price_book,
            recent=self._recent,
        )
        for span, reason in conversion.rejected:
            logger.warning("costledger: span %r is not recorded: %s", span.name, reason)
        rows, refused = prepare_rows(conversion.rows)
        _log_refused(refused)
        return rows

    def _write(self, rows: list[LedgerRow]) -> DatabaseError | None:
        """Write one batch; the error when it failed (never raises)."""
        try:
            with self._store_lock:
                if self._store is None:
                    self._store = LedgerStore(
                        self._url,
                        migrate=False,
                        timeout=self._timeout,
                        statement_timeout=self._statement_timeout,
                    )
                store = self._store
                try:
                    store.insert(rows)
                except DatabaseUnavailable:
                    raise
                except DatabaseError as exc:
                    if len(rows) < 2:
                        raise
                    # One row the database refuses must not cost the others.
                    result, refused = insert_isolating(store, rows)
                    if not result.inserted and not result.duplicates:
                        raise exc from None
                    _log_refused(refused)
        except DatabaseError as exc:
            return exc
        except Exception as exc:  # a bug of ours must not reach the app
            logger.exception("costledger: writing %d rows failed", len(rows))
            return DatabaseError(f"{type(exc).__name__}: {exc}")
        return None

    def _enqueue(self, rows: list[LedgerRow]) -> SpanExportResult:
        with self._cond:
            if self._buffered_rows + len(rows) > self._max_buffer_rows:
                full = True
            else:
                full = False
                self._buffer.append(rows)
                self._buffered_rows += len(rows)
                self._start_retrying()
                self._cond.notify_all()
        if full:
            _log_dropped(
                rows,
                f"the retry buffer is full ({self._max_buffer_rows} rows wait for the database)",
                logging.WARNING,
            )
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _start_retrying(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._retry_loop, name="costledger-exporter-retry", daemon=True
            )
            self._thread.start()

    def _retry_loop(self) -> None:
        delay = self._retry_initial
        while True:
            with self._cond:
                if not self._retry_now and not self._closed:
                    self._cond.wait(delay)
                self._retry_now = False
                if not self._buffer or self._closed:
                    self._thread = None
                    self._cond.notify_all()
                    return
                rows = self._buffer[0]
            outcome = self._write(rows)
            with self._cond:
                if isinstance(outcome, DatabaseUnavailable):
                    delay = min(delay * 2, self._retry_max)
                    logger.info("costledger: still unavailable, next retry in %.1fs", delay)
                    self._cond.notify_all()
                    continue
                self._buffer.popleft()
                self._buffered_rows -= len(rows)
                delay = self._retry_initial
                self._retry_now = bool(self._buffer)  # drain the rest without waiting
                self._cond.notify_all()
            if outcome is not None:
                _log_dropped(rows, f"the database refused them ({outcome})", logging.ERROR)
            else:
                logger.info("costledger: wrote %d buffered rows", len(rows))


def _url_error(argument: str | None, url: str) -> str | None:
    """What is wrong with the exporter's database URL, logged once; None when it is usable."""
    try:
        db.check_database_url(url)
    except db.DatabaseURLError as exc:
        where = "the database_url argument" if argument else db.DATABASE_URL_ENV
        problem = f"{where}: {exc}"
        logger.error(
            "costledger: %s; nothing is recorded in the ledger until it is fixed and the app"
            " restarted",
            problem,
        )
        return problem
    except Exception:  # a check of ours must not stop the app: the first write will tell
        logger.exception("costledger: could not check the database URL")
    return None


def _log_refused(refused: Refused) -> None:
    for row, reason in refused:
        _log_dropped([row], reason, logging.WARNING)


def _log_dropped(rows: Sequence[LedgerRow], why: str, level: int) -> None:
    """One log line saying exactly what was lost."""
    priced = [row.cost_nanos for row in rows if row.cost_nanos is not None]
    times = [row.timestamp for row in rows]  # UTC text: sorts as time does
    customers = sorted({row.customer_id or "(none)" for row in rows})
    shown = ", ".join(customers[:10]) + (
        f" and {len(customers) - 10} more" if len(customers) > 10 else ""
    )
    logger.log(
        level,
        "costledger: DROPPED %d ledger rows (%s): %d priced totalling %s USD, from %s to %s,"
        " customers %s",
        len(rows),
        why,
        len(priced),
        _usd(sum(priced)),
        _iso(min(times)) if times else "-",
        _iso(max(times)) if times else "-",
        shown,
    )


def _iso(text: str) -> str:
    """A row's timestamp text as the ISO 8601 UTC time it is."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


def _usd(nanos: int) -> str:
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), 1_000_000_000)
    return f"{sign}{whole}.{frac:09d}"
