"""Rows the database refuses one by one: :func:`prepare_rows` and :func:`insert_isolating`.

Both writers of spans (the in-process exporter and ``costledger serve``) first keep only the
rows the ledger's columns can hold (:func:`~..ledger.storable.fit_rows`: values repaired with a
flag, or refused with the reason), so a known-bad value never reaches the database. Should the
database still refuse a batch for good (a value no check here foresaw), :func:`insert_isolating`
splits it in halves until the refused rows stand alone: they are refused with the reason, every
other row is stored. A retryable failure (:class:`~..ledger.store.DatabaseUnavailable`) is
raised as it is: nothing of the batch may be assumed stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..errors import DatabaseError
from ..ledger.rows import LedgerRow
from ..ledger.storable import fit_rows
from ..ledger.store import DatabaseUnavailable, InsertResult, LedgerStore

logger = logging.getLogger(__name__)

REFUSED_BY_DATABASE = "the ledger database refused it (the log of the writer says why)"


def row_name(row: LedgerRow) -> str:
    """How a refused row is named to whoever sent it: its span, else its key."""
    return f"span {row.span_id}" if row.span_id else f"row {row.idempotency_key[:80]}"


Refused = list[tuple[LedgerRow, str]]
"""Rows that cannot be stored, each with the reason."""


def prepare_rows(rows: list[LedgerRow]) -> tuple[list[LedgerRow], Refused]:
    """The rows that can be stored (some repaired), and those that cannot, with the reasons."""
    return fit_rows(rows)


def reasons(refused: Refused) -> list[str]:
    """One line per refused row, naming it, for whoever sent it."""
    return [f"{row_name(row)}: {reason}" for row, reason in refused]


def insert_isolating(store: LedgerStore, rows: Sequence[LedgerRow]) -> tuple[InsertResult, Refused]:
    """Insert ``rows``, isolating those the database refuses for good (with the reasons).

    Raises :class:`DatabaseUnavailable` when the database cannot take writes now.
    """
    try:
        return store.insert(rows), []
    except DatabaseUnavailable:
        raise
    except DatabaseError as exc:
        if len(rows) == 1:
            logger.warning(
                "costledger: the database refused row %s: %s", rows[0].idempotency_key, exc
            )
            return InsertResult(0, 0), [(rows[0], REFUSED_BY_DATABASE)]
    middle = len(rows) // 2
    first, first_refused = insert_isolating(store, rows[:middle])
    second, second_refused = insert_isolating(store, rows[middle:])
    return (
        InsertResult(first.inserted + second.inserted, first.duplicates + second.duplicates),
        first_refused + second_refused,
    )
