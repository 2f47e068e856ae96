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
``agent``, ``feature``     the dimensions beyond the customer, all optional: ``session_id``,
``status``                 ``environment``; ``status`` ``ok`` (default), ``error`` (with
                           ``error_type``), ``cancelled`` or ``truncated``; ``attempts`` (the
                           SDK's HTTP attempts); ``request_hash`` (equal within a work item =
                           the same question asked again)
``category``               a cost that is not an LLM call (``human_review``, ``third_party``,
                           ...), as ``record_cost``: then ``quantity`` and ``unit`` are required,
                           ``item`` optional, and no model or tokens
``cost_usd``               the amount, when you know it: then no price is looked up (exact
                           decimal, not negative)
=========================  ====================================================================

Counts are whole numbers, never negative; cache parts cannot exceed the input, nor reasoning the
output. Every line is checked before anything is written: a file with bad lines is refused
whole, naming each (``calls.csv:7: ...``), and nothing of it is recorded.

Reading the file and a field's value: :mod:`.call_lines`; what a line means, here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from .call_lines import (
    field_count,
    field_decimal,
    field_flag,
    field_text,
    field_timestamp,
    read_lines,
)

KEY_PREFIX = "import:"
_LLM_CATEGORIES = ("api", "embedding")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SHOWN_ERRORS = 20  # bad lines named in the message; the rest are counted
_TEXT = (
    "customer_id",
    "customer_name",
    "workspace_id",
    "work_item_id",
    "user_id",
    "service",
    # the dimensions beyond the customer (ledger/migrations/m0060_dimensions.py)
    "agent",
    "feature",
    "session_id",
    "environment",
    "error_type",
    "request_hash",
)
_STATUSES = ("ok", "error", "cancelled", "truncated")
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
    for where, line in read_lines(path):
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


def _row(line: Mapping[str, Any], where: str, book: PriceBook, moment: datetime) -> LedgerRow:
    if "\0error" in line:
        raise InputError(str(line["\0error"]))
    ident = field_text(line, "id")
    if ident is None:
        raise InputError(f"{where}: missing id (a unique id per call: a re-import skips it)")
    at = field_timestamp(line, where, moment)
    try:
        attribution: dict[str, Any] = {name: field_text(line, name) for name in _TEXT}
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    status = (field_text(line, "status") or "ok").lower()
    if status not in _STATUSES:
        raise InputError(f"{where}: status {status!r} is not one of {', '.join(_STATUSES)}")
    if status == "error" and attribution["error_type"] is None:
        attribution["error_type"] = "_OTHER"
    attribution["status"] = status
    attempts = field_count(line, "attempts", where)
    attribution["attempts"] = attempts or None
    amount = field_decimal(line, "cost_usd", where)
    explicit: int | None = None
    if amount is not None:
        nanos = amount * NANOS_PER_USD
        if nanos != nanos.to_integral_value():
            raise InputError(f"{where}: cost_usd {amount} is finer than a nano-dollar")
        explicit = int(nanos)
    key = f"{KEY_PREFIX}{ident}"
    given_category = field_text(line, "category")
    operation = field_text(line, "operation")
    if given_category is not None and given_category not in _LLM_CATEGORIES:
        return _cost_event(line, where, book, at, key, given_category, attribution, explicit)
    provider = field_text(line, "provider")
    model = field_text(line, "model")
    missing = [n for n, v in (("provider", provider), ("model", model)) if v is None]
    if missing:
        raise InputError(
            f"{where}: missing {' and '.join(missing)} (a call; for another cost give its"
            " category, quantity and unit)"
        )
    counts = {
        name: field_count(line, name, where, required=name in _COUNTS[:2]) for name in _COUNTS
    }
    if not counts["cache_write_5m_tokens"]:
        counts["cache_write_5m_tokens"] = field_count(line, "cache_write_tokens", where)
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
    tier = field_text(line, "service_tier")
    batch = field_flag(line, "batch", where) or tier == "batch"
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
    attribution: dict[str, Any],
    explicit: int | None,
) -> LedgerRow:
    """A cost that is not an LLM call, as ``record_cost`` records it."""
    quantity = field_decimal(line, "quantity", where)
    unit = field_text(line, "unit")
    if quantity is None or unit is None:
        raise InputError(f"{where}: a {category} cost needs quantity and unit (30, minute)")
    if any(field_text(line, name) for name in ("model", "input_tokens", "output_tokens")):
        raise InputError(
            f"{where}: category {category!r} is not an LLM call: leave model and tokens empty,"
            " or write category api / embedding"
        )
    item = field_text(line, "item")
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
