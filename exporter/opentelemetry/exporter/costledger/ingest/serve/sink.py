"""Where decoded spans go: ledger rows and driver counts, committed before anyone says "ok".

:class:`LedgerSink` turns a :class:`~.decoded.DecodedRequest` into ledger rows
(:func:`~..convert.spans_to_rows`), inserts them
(:class:`~..store.LedgerStore`, idempotent by each row's key) and adds the request's driver
counts (:func:`~.counts.add_counts`, idempotent by the request's identity) in the same
transaction: one commit per request, and rows and counts are stored together or not at all. It
returns an :class:`Outcome` only once that is committed; :class:`~..store.DatabaseUnavailable`
means nothing may be assumed stored and the sender should retry (retrying is always safe).

A value the ledger cannot store must not cost the other spans of the request, nor make the
sender retry forever: rows are first fitted to the columns (:func:`~..isolate.prepare_rows`:
repaired with a flag, or refused with the reason, reported in ``partial_success``). Should an
insert still fail with a non-retryable error, the batch is split in halves until the refused
rows are isolated (:func:`~..isolate.insert_isolating`); they are reported as rejected, the
rest is stored, and the counts follow in a transaction of their own (both idempotent, so a retry
after a failure between them adds nothing twice). When every row fails, the fault is the
database's, not the rows', and the error is raised as retryable so the sender keeps the data.

On SQLite, writes of one process are serialized by a lock here (SQLite admits one writer at a
time; waiting on a lock is fairer and cheaper than its busy-timeout polling).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from ...errors import DatabaseError
from ...ledger.outcomes import insert_outcomes
from ...ledger.rows import LedgerRow
from ...ledger.store import DatabaseUnavailable, InsertResult, LedgerStore
from ..convert import spans_to_rows
from ..dedupe import RecentCalls
from ..dimensions import allowed_tags
from ..isolate import insert_isolating, prepare_rows, reasons
from .counts import add_counts, record_counts
from .decoded import DecodedRequest

if TYPE_CHECKING:
    from opentelemetry.instrumentation.costledger.pricing import PriceBook

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """What became of one request's spans."""

    received: int
    rejected: list[str] = field(default_factory=list)  # one reason per refused span
    inserted: int = 0
    duplicates: int = 0
    ignored: int = 0
    counted: bool = True  # False: the request's spans were counted before (a retry)


class Sink(Protocol):
    """Receives decoded requests; :meth:`write` returns only once the data is durable."""

    def write(self, request: DecodedRequest) -> Outcome: ...

    def close(self) -> None: ...


class LedgerSink:
    """Ledger rows and driver counts into the ledger database of ``store``."""

    def __init__(
        self,
        store: LedgerStore,
        price_book: PriceBook | None = None,
        tags: Collection[str] | str | None = None,
    ) -> None:
        self.store = store
        self._price_book = price_book
        # The tag names the ledger keeps: decided once, at start (argument, else
        # $COSTLEDGER_TAGS, else none), like the receiver's other settings.
        self._tags = allowed_tags(tags)
        # Calls written by this process: another producer's report of one, arriving in a later
        # request, is not a second row (dedupe rule 3).
        self._recent = RecentCalls()
        self._write_lock: contextlib.AbstractContextManager[object] = (
            threading.Lock() if store.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    def write(self, request: DecodedRequest) -> Outcome:
        self.store.ensure_schema()  # a database that was down at start may be back
        conversion = spans_to_rows(request.spans, self._price_book, self._recent, self._tags)
        rejected = list(request.invalid)
        rejected.extend(f"span {span.name!r}: {reason}" for span, reason in conversion.rejected)
        rows, unstorable = prepare_rows(conversion.rows)
        rejected.extend(reasons(unstorable))
        identity = request.identity()
        counted_with_rows: list[bool] = []

        def count(conn: sa.Connection) -> None:
            insert_outcomes(conn, conversion.outcomes)
            counted_with_rows.append(add_counts(conn, identity, request.counts))

        with self._write_lock:
            result, refused, together = self._insert(rows, count)
            # Set only when the transaction that ran ``count`` committed.
            if not together and conversion.outcomes:
                with self.store.engine.begin() as conn:
                    insert_outcomes(conn, conversion.outcomes)
            counted = (
                counted_with_rows[-1]
                if together
                else record_counts(self.store.engine, identity, request.counts)
            )
        rejected.extend(refused)
        return Outcome(
            received=request.received,
            rejected=rejected,
            inserted=result.inserted,
            duplicates=result.duplicates + conversion.duplicates,
            ignored=conversion.ignored + conversion.not_counted,
            counted=counted,
        )

    def _insert(
        self, rows: Sequence[LedgerRow], also: Callable[[sa.Connection], None]
    ) -> tuple[InsertResult, list[str], bool]:
        """Insert ``rows`` with ``also`` in the same transaction; the last item says whether
        ``also`` was committed (False: the rows had to be isolated without it)."""
        try:
            return self.store.insert(rows, also=also), [], True
        except DatabaseUnavailable:
            raise
        except DatabaseError as exc:
            if len(rows) < 2:
                raise DatabaseUnavailable(str(exc)) from exc
            logger.warning("costledger serve: isolating rows the database refuses: %s", exc)
            result, isolated = insert_isolating(self.store, rows)
            refused = reasons(isolated)
            if not result.inserted and not result.duplicates:
                raise DatabaseUnavailable(str(exc)) from exc
            return result, refused, False

    def close(self) -> None:
        self.store.close()
