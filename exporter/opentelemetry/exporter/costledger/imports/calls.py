"""Past LLM calls and cost events into the ledger, at their own time: ``costledger import calls``.

For what happened before costledger ran, or in a system it does not instrument: a CSV (any
delimiter :func:`.user_data.read_csv` recognises) or JSON Lines file (one object per line), one
call or cost event per line. Each line becomes one ledger row of ``source`` ``import``, priced
exactly as a span of that call would be — by the price book (genai-prices and your price file)
at the prices in force **at the line's timestamp** — and repriced by ``costledger reprice`` like
one. Re-importing a file (or a file that repeats lines of another) adds nothing: each row's
idempotency key is ``import:<id>``.

Columns (named as the ledger's columns; case-insensitive)
-------------------------------------------------------
=========================  ====================================================================
``id``                     required, unique across your imports (e.g. the provider's response
                           id): what makes a re-import count nothing twice
``timestamp``              required: ISO 8601 with its offset, ``2025-05-02T10:15:00Z``; in the
                           past
``customer_id``            and ``customer_name``, ``workspace_id``, ``work_item_id``,
                           ``user_id``, ``service``: attribution, all optional
``provider``, ``model``    required for a call: ``anthropic``, ``claude-sonnet-4-5-20250929``
``operation``              ``chat`` (default) or ``embeddings`` (category ``embedding``)
``input_tokens``           required for a call: ALL input, including cache reads and writes (as
                           the GenAI semantic conventions count it)
``output_tokens``          required for a call: all output, including reasoning
``cache_read_tokens``      the part of the input read from the cache (default 0)
``cache_write_5m_tokens``  the part written to the cache (``cache_write_tokens`` also reads);
``cache_write_1h_tokens``  Anthropic's 1-hour cache writes
``reasoning_tokens``       the part of the output spent reasoning (default 0)
``batch``, ``service_tier``  ``true`` for a batch API call; the tier that served it
``category``               a cost that is not an LLM call (``human_review``, ``third_party``,
                           ...), as ``record_cost``: then ``quantity`` and ``unit`` are required,
                           ``item`` optional, and no model or tokens
``cost_usd``               the amount, when you know it: then no price is looked up (exact
                           decimal, not negative)
=========================  ====================================================================

Counts are whole numbers, never negative; cache parts cannot exceed the input, nor reasoning the
output. Every line is checked before anything is written: a file with bad lines is refused
whole, naming each (``calls.csv:7: ...``), and nothing of it is recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD
from opentelemetry.instrumentation.costledger.pricing import PriceBook

from ..errors import InputError
from ..ingest.pricing import clip, price_quantity
from ..ingest.producers import category as call_category
from ..ingest.producers import provider as provider_name
from ..ledger.open import Database, open_ledger
from ..ledger.rows import EXPLICIT_AMOUNT_RULE, LedgerRow
from ..ledger.runs import now, record_run
from ..ledger.store import LedgerStore
from ..price_book import load_price_book
from .user_data import read_csv

KEY_PREFIX = "import:"
_LLM_CATEGORIES = ("api", "embedding")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SHOWN_ERRORS = 20  # bad lines named in the message; the rest are counted
_TEXT = ("customer_id", "customer_name", "workspace_id", "work_item_id", "user_id", "service")
_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True, slots=True)
class CallsImport:
    """What ``import_calls`` did: ``rows`` read, ``inserted`` new, ``duplicates`` already in
    the ledger (an earlier import of the same ids), ``unpriced`` of the new ones."""

    path: str
    rows: int
    inserted: int
    duplicates: int
    unpriced: int
    cost_nanos: int  # priced cost of the rows read


def import_calls(
    database: Database,
    path: str | os.PathLike[str],
    *,
    price_book: PriceBook | str | None = None,
) -> CallsImport:
    """Read ``path`` (see the module docstring), price its lines and record the new ones.

    ``price_book``: a :class:`PriceBook`, a price file, or None (``COSTLEDGER_PRICES``)."""
    book = price_book if isinstance(price_book, PriceBook) else load_price_book(price_book)
    rows: list[LedgerRow] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    moment = datetime.now(UTC)
    for where, line in _lines(path):
        try:
            row = _row(line, where, book, moment)
            if row.idempotency_key in seen:
                raise InputError(
                    f"{where}: id {line.get('id')!r} is also on {seen[row.idempotency_key]}"
                )
            seen[row.idempotency_key] = where
            rows.append(row)
        except InputError as exc:
            errors.append(str(exc))
    if errors:
        more = (
            f"\n... and {len(errors) - _SHOWN_ERRORS} more" if len(errors) > _SHOWN_ERRORS else ""
        )
        raise InputError(
            f"{path}: {len(errors)} line(s) cannot be imported, nothing was recorded; fix them"
            " and import the file again:\n" + "\n".join(errors[:_SHOWN_ERRORS]) + more
        )
    stamp = now()
    with open_ledger(database) as engine:
        result = LedgerStore(engine=engine, migrate=False).insert(rows)
        record_run(
            engine,
            "import calls",
            stamp,
            f"{len(rows)} row(s) from {path}: {result.inserted} new",
            ok=True,
        )
    return CallsImport(
        path=str(path),
        rows=len(rows),
        inserted=result.inserted,
        duplicates=result.duplicates,
        unpriced=sum(1 for r in rows if r.cost_nanos is None),
        cost_nanos=sum(r.cost_nanos or 0 for r in rows),
    )


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(``file:line``, the line's fields, keys lower-cased) of a CSV or JSON Lines file."""
    file = Path(path)
    try:
        with file.open(encoding="utf-8-sig") as handle:
            first = handle.read(4096).lstrip()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from exc
    if not first.startswith("{"):
        for number, row in read_csv(file):
            yield f"{file}:{number}", row
        return
    with file.open(encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            where = f"{file}:{number}"
            try:
                value = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                yield where, {"\0error": f"{where}: not a JSON object ({exc.msg})"}
                continue
            if not isinstance(value, dict):
                yield where, {"\0error": f"{where}: not a JSON object"}
                continue
            yield where, {str(k).strip().lower(): v for k, v in value.items()}


def _text(line: Mapping[str, Any], name: str) -> str | None:
    value = line.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool | dict | list):
        raise InputError(f"{name} {value!r} is not a text")
    return str(value).strip() or None


def _count(line: Mapping[str, Any], name: str, where: str, required: bool = False) -> int:
    value = line.get(name)
    if value is None or value == "":
        if required:
            raise InputError(f"{where}: missing {name}")
        return 0
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise InputError(f"{where}: {name} {value!r} is not a count (a whole number, 0 or more)")
    return int(number)


def _decimal(line: Mapping[str, Any], name: str, where: str) -> Decimal | None:
    value = line.get(name)
    if value is None or value == "":
        return None
    try:
        number = (
            Decimal(str(value).strip().removeprefix("$")) if not isinstance(value, bool) else None
        )
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InputError(f"{where}: {name} {value!r} is not a decimal number")
    if number < 0:
        raise InputError(f"{where}: {name} {value!r} is negative")
    return number


def _timestamp(line: Mapping[str, Any], where: str, moment: datetime) -> datetime:
    text = _text(line, "timestamp")
    if text is None:
        raise InputError(
            f"{where}: missing timestamp (ISO 8601 with an offset: 2025-05-02T10:15:00Z)"
        )
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{where}: timestamp {text!r} is not ISO 8601: write it like 2025-05-02T10:15:00Z"
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(
            f"{where}: timestamp {text!r} has no time zone: add Z (UTC) or an offset such as"
            " +02:00, so the call lands in the right day and price period"
        )
    if at > moment:
        raise InputError(f"{where}: timestamp {text!r} is in the future: import past calls only")
    return at.astimezone(UTC)


def _flag(line: Mapping[str, Any], name: str, where: str) -> bool:
    value = line.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise InputError(f"{where}: {name} {value!r} is not true or false")
    return text in ("true", "1", "yes")


def _row(line: Mapping[str, Any], where: str, book: PriceBook, moment: datetime) -> LedgerRow:
    if "\0error" in line:
        raise InputError(str(line["\0error"]))
    ident = _text(line, "id")
    if ident is None:
        raise InputError(f"{where}: missing id (a unique id per call: a re-import skips it)")
    at = _timestamp(line, where, moment)
    try:
        attribution = {name: _text(line, name) for name in _TEXT}
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    amount = _decimal(line, "cost_usd", where)
    explicit: int | None = None
    if amount is not None:
        nanos = amount * NANOS_PER_USD
        if nanos != nanos.to_integral_value():
            raise InputError(f"{where}: cost_usd {amount} is finer than a nano-dollar")
        explicit = int(nanos)
    key = f"{KEY_PREFIX}{ident}"
    given_category = _text(line, "category")
    operation = _text(line, "operation")
    if given_category is not None and given_category not in _LLM_CATEGORIES:
        return _cost_event(line, where, book, at, key, given_category, attribution, explicit)
    provider = _text(line, "provider")
    model = _text(line, "model")
    missing = [n for n, v in (("provider", provider), ("model", model)) if v is None]
    if missing:
        raise InputError(
            f"{where}: missing {' and '.join(missing)} (a call; for another cost give its"
            " category, quantity and unit)"
        )
    counts = {name: _count(line, name, where, required=name in _COUNTS[:2]) for name in _COUNTS}
    if not counts["cache_write_5m_tokens"]:
        counts["cache_write_5m_tokens"] = _count(line, "cache_write_tokens", where)
    cached = (
        counts["cache_read_tokens"]
        + counts["cache_write_5m_tokens"]
        + counts["cache_write_1h_tokens"]
    )
    if cached > counts["input_tokens"]:
        raise InputError(
            f"{where}: cache reads and writes ({cached}) exceed input_tokens"
            f" ({counts['input_tokens']}): input_tokens counts ALL input, cached included"
        )
    if counts["reasoning_tokens"] > counts["output_tokens"]:
        raise InputError(
            f"{where}: reasoning_tokens ({counts['reasoning_tokens']}) exceed output_tokens"
            f" ({counts['output_tokens']}): output_tokens counts all output, reasoning included"
        )
    fields: dict[str, Any] = {**counts, **attribution}
    normalized = provider_name({A.GEN_AI_PROVIDER_NAME: provider})
    tier = _text(line, "service_tier")
    batch = _flag(line, "batch", where) or tier == "batch"
    cost: int | None
    rule: str | None
    if explicit is not None:
        cost, rule, reason, currency = explicit, EXPLICIT_AMOUNT_RULE, None, "USD"
    else:
        at_ns = (at - _EPOCH) // timedelta(microseconds=1) * 1000
        cost, rule, reason, currency = book.price_counts(
            normalized, model, at_ns, counts["input_tokens"], counts["output_tokens"],
            counts["cache_read_tokens"], counts["cache_write_5m_tokens"],
            counts["cache_write_1h_tokens"], counts["reasoning_tokens"], tier, batch,
        )  # fmt: skip
    return LedgerRow.make(
        key,
        at,
        given_category or call_category(operation),
        source="import",
        provider=normalized,
        model=model,
        operation=operation or "chat",
        uncached_input_tokens=counts["input_tokens"] - cached,
        cost_nanos=cost,
        currency=currency,
        price_rule=clip(rule) if rule else None,
        unpriced_reason=None if cost is not None else clip(reason or "no price"),
        batch=batch,
        service_tier=tier,
        **fields,
    )


def _cost_event(
    line: Mapping[str, Any],
    where: str,
    book: PriceBook,
    at: datetime,
    key: str,
    category: str,
    attribution: dict[str, str | None],
    explicit: int | None,
) -> LedgerRow:
    """A cost that is not an LLM call, as ``record_cost`` records it."""
    quantity = _decimal(line, "quantity", where)
    unit = _text(line, "unit")
    if quantity is None or unit is None:
        raise InputError(f"{where}: a {category} cost needs quantity and unit (30, minute)")
    if any(_text(line, name) for name in ("model", "input_tokens", "output_tokens")):
        raise InputError(
            f"{where}: category {category!r} is not an LLM call: leave model and tokens empty,"
            " or write category api / embedding"
        )
    item = _text(line, "item")
    fields: dict[str, Any] = dict(attribution)
    cost: int | None
    rule: str | None
    if explicit is not None:
        cost, currency, rule, reason = explicit, "USD", EXPLICIT_AMOUNT_RULE, None
    else:
        cost, currency, rule, reason = price_quantity(book, "", category, unit, quantity, at, item)
    return LedgerRow.make(
        key,
        at,
        category,
        source="import",
        model=item,
        operation="record_cost",
        quantity=quantity,
        unit=unit,
        cost_nanos=cost,
        currency=currency,
        price_rule=rule,
        unpriced_reason=reason,
        **fields,
    )
