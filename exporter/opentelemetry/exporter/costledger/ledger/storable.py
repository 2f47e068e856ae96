"""What the ledger's columns hold, decided before a row meets the database: :func:`fit_row`.

A value the database cannot store fails the whole transaction it is in, and fails it again on
every retry: so each row is checked here, against the columns of :mod:`.schema`, with the same
rules on SQLite and PostgreSQL (both accept exactly the rows that pass):

* integers (token counts, ``cost_nanos``) are 64-bit signed: SQLite's INTEGER and PostgreSQL's
  ``bigint``. A row with a count or a cost outside that range is **refused** with the reason: no
  call has 2**63 tokens, and a row stored with a made-up count would carry wrong money;
* ``quantity`` is ``NUMERIC(38, 9)``: at most 29 digits before the point, else refused;
* text is valid Unicode without NUL: a lone surrogate (what JavaScript makes of a cut emoji)
  cannot be encoded by either driver, and PostgreSQL text cannot hold NUL. Each becomes U+FFFD,
  and the row's ``flags`` say so;
* text longer than its column (PostgreSQL's ``varchar(n)`` refuses it; SQLite would keep it) is
  **shortened**: its first characters, ``~`` and 16 hex digits of a digest of the whole value,
  to the column's width (:func:`fit_text`). Distinct values stay distinct and the same value
  always becomes the same text, so a customer's rows stay together and apart from everyone
  else's, idempotency keys still deduplicate, and ``span_counts`` (which uses the same
  function) matches the ledger. The row keeps its price (computed from the full values) and its
  ``flags`` name the column. The free-text columns (``price_rule``, ``unpriced_reason``,
  ``flags``) are clipped with ``…`` instead.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from .rows import LedgerRow
from .schema import ledger_entries

__all__ = ["INT64_MAX", "INT64_MIN", "fit_row", "fit_rows", "fit_text", "repair_text"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_QUANTITY_LIMIT = Decimal(10) ** 29  # NUMERIC(38, 9): 29 digits before the point
_REPLACEMENT = "\ufffd"
_CLIPPED = frozenset({"price_rule", "unpriced_reason", "flags"})
_DIGEST_TAIL = 17  # "~" and 16 hex digits

_FIELDS = LedgerRow._fields
_INTEGERS = tuple(
    index
    for index, name in enumerate(_FIELDS)
    if isinstance(ledger_entries.c[name].type, sa.BigInteger)
)
# Text columns and their widths; an unbounded one (``TEXT``, e.g. ``tags``) is only repaired,
# never shortened.
_UNBOUNDED = 2**31
_TEXTS = tuple(
    (index, name, getattr(ledger_entries.c[name].type, "length", None) or _UNBOUNDED)
    for index, name in enumerate(_FIELDS)
    if isinstance(ledger_entries.c[name].type, sa.String)
)
_QUANTITY = _FIELDS.index("quantity")
_FLAGS = _FIELDS.index("flags")
_FLAGS_WIDTH = next(width for _, name, width in _TEXTS if name == "flags")


def repair_text(value: str) -> str:
    """``value`` with each lone surrogate and NUL replaced by U+FFFD (valid pairs are joined)."""
    if value.isascii():
        return value.replace("\0", _REPLACEMENT) if "\0" in value else value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16 with surrogatepass: a valid pair becomes its character, a lone
        # surrogate is undecodable and replaced.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value.replace("\0", _REPLACEMENT) if "\0" in value else value


def fit_text(value: str, width: int) -> str:
    """``value`` repaired (:func:`repair_text`) and, when longer than ``width``, shortened to
    ``width`` characters that keep it apart from every other value (see the module docs)."""
    value = repair_text(value)
    if len(value) <= width:
        return value
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8).hexdigest()
    return f"{value[: width - _DIGEST_TAIL]}~{digest}"


def _clip(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def fit_row(row: LedgerRow) -> tuple[LedgerRow | None, str | None]:
    """``(row, None)`` when it can be stored as it is or repaired; ``(None, reason)`` when not.

    A repaired row is a new :class:`LedgerRow` whose ``flags`` name what was changed.
    """
    values: tuple[Any, ...] = row
    for index in _INTEGERS:
        number: int | None = values[index]
        if number is not None and not INT64_MIN <= number <= INT64_MAX:
            return None, f"{_FIELDS[index]} {number} is beyond what the ledger stores (64-bit)"
    quantity: str | None = values[_QUANTITY]
    if quantity is not None and len(quantity) > 30:
        try:
            too_large = abs(Decimal(quantity)) >= _QUANTITY_LIMIT
        except InvalidOperation:
            too_large = True
        if too_large:
            return None, "quantity has more than 29 digits before the point (NUMERIC(38, 9))"
    changes: dict[str, Any] | None = None
    notes: list[str] = []
    for index, name, width in _TEXTS:
        value: str | None = values[index]
        if value is None or (len(value) <= width and value.isascii() and "\0" not in value):
            continue
        repaired = repair_text(value)
        if name in _CLIPPED:
            repaired = _clip(repaired, width)
        elif len(repaired) > width:
            repaired = fit_text(repaired, width)
            notes.append(f"{name} shortened ({len(value)} characters, the column holds {width})")
        if repaired != value and name not in _CLIPPED and len(value) <= width:
            notes.append(f"{name} had invalid characters (NUL or a lone surrogate): U+FFFD")
        if repaired != value:
            changes = changes or {}
            changes[name] = repaired
    if changes is None:
        return row, None
    if notes:
        flags: str | None = changes.get("flags", values[_FLAGS])
        changes["flags"] = _clip("; ".join([*notes, *([flags] if flags else [])]), _FLAGS_WIDTH)
    return row._replace(**changes), None


def fit_rows(rows: list[LedgerRow]) -> tuple[list[LedgerRow], list[tuple[LedgerRow, str]]]:
    """The rows that can be stored (some repaired), and the refused ones with their reasons."""
    kept: list[LedgerRow] = []
    refused: list[tuple[LedgerRow, str]] = []
    for row in rows:
        fitted, reason = fit_row(row)
        if fitted is None:
            refused.append((row, reason or "cannot be stored"))
        else:
            kept.append(fitted)
    return kept, refused
