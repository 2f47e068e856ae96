"""Importing outcomes known elsewhere (the helpdesk's resolved tickets): ``costledger import
outcomes FILE.csv`` → table ``outcomes`` (see ``ledger/outcomes.py``).

Columns (names matched case-insensitively):

==============  ===============================================================================
work_item_id    the work item (also ``work_item`` or ``ticket``); required
success         ``true``/``false`` (also ``yes``/``no``, ``1``/``0``, ``resolved``/``failed``)
timestamp       when the outcome happened: ISO 8601 (``2025-05-14T10:30:00Z``; no zone = UTC)
                or a date (midnight UTC); required (it places the outcome in a period)
value           optional: what the outcome is worth in USD (``4.00``, ``$4``)
customer_id     optional; ``agent``, ``feature`` optional
==============  ===============================================================================

Each row's key is ``import:<work_item_id>:<timestamp>``: importing the same file again adds
nothing; a later outcome of the same work item (a ticket reopened, then resolved) is another
row, and the latest one counts. A bad row stops the import with its line number and nothing of
that file is written.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from opentelemetry.instrumentation.costledger.money import to_nanos

from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.outcomes import OutcomeRow, insert_outcomes
from ..ledger.runs import now, record_run
from .user_data import ImportResult, field, number, read_csv

_TRUE = frozenset({"true", "yes", "1", "y", "t", "success", "succeeded", "resolved", "ok"})
_FALSE = frozenset({"false", "no", "0", "n", "f", "failure", "failed", "unresolved", "error"})


def _success(text: str, where: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InputError(f"{where}: success {text!r} is neither true nor false")


def _timestamp(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InputError(
            f"{where}: timestamp {text!r} is not ISO 8601 (2025-05-14T10:30:00Z or 2025-05-14)"
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_outcomes(path: str | os.PathLike[str]) -> list[OutcomeRow]:
    """The outcomes of a CSV file (see the module docstring); raises on the first bad row."""
    found: dict[str, OutcomeRow] = {}
    for line, row in read_csv(path):
        where = f"{path}:{line}"
        work_item = str(field(row, where, "work_item_id", "work_item", "ticket"))
        success = _success(str(field(row, where, "success", "outcome", "resolved")), where)
        at = _timestamp(str(field(row, where, "timestamp", "time", "date")), where)
        value_text = field(row, where, "value", "value_usd", required=False)
        value = to_nanos(number(value_text, where), what=where) if value_text else None
        key = f"import:{work_item}:{at.isoformat()}"
        found[key] = OutcomeRow(
            idempotency_key=key[:200],
            timestamp=at,
            work_item_id=work_item,
            success=success,
            customer_id=field(row, where, "customer_id", "customer", required=False),
            agent=field(row, where, "agent", required=False),
            feature=field(row, where, "feature", required=False),
            value_nanos=value,
            source="import",
        )
    return list(found.values())


def import_outcomes(database: Database, path: str | os.PathLike[str]) -> ImportResult:
    """Load an outcomes CSV into ``outcomes``; ``rows`` counts the outcomes that were new."""
    rows = read_outcomes(path)
    stamp = now()
    with open_ledger(database) as engine:
        with engine.begin() as conn:
            inserted = insert_outcomes(conn, rows)
        record_run(
            engine,
            "import outcomes",
            stamp,
            f"{inserted} new outcome(s) of {len(rows)} from {path}",
            ok=True,
        )
    return ImportResult(str(path), inserted)
