"""Spans in, priced ledger rows out: :func:`spans_to_rows`.

What becomes a row
------------------
* An **LLM call span**: a span with token usage (``gen_ai.usage.*`` or a legacy spelling) whose
  operation is a model call (chat, text completion, generate content, embeddings, ...). Spans of
  operations that *aggregate* calls made elsewhere (``invoke_agent``, ``create_agent``,
  ``execute_tool``, OpenLLMetry ``workflow``/``task``/``agent``/``tool`` spans) are not rows:
  their children are. Category ``embedding`` for embeddings, ``api`` otherwise.
* A **cost event** made by ``record_cost`` (``costledger.cost.category``): a row of that
  category with its quantity and unit, priced at the explicit amount when the span carries one,
  else by ``PriceBook.price_quantity``.
* An **outcome** (``record_outcome``: ``costledger.outcome.success``) is not a cost row: it goes
  to ``Conversion.outcomes`` (:mod:`.outcomes`), stored in the ``outcomes`` table.
* A span with ``costledger.counted = false`` is never a row (another span counts that call).
* Everything else (HTTP, database, agent spans ...) is ``ignored`` (counted, not stored).

The concepts around it, one module each: :mod:`.producers` reads what each producer puts on a
span (which spans are calls, provider, token usage, service tier; bad values flagged, never
guessed), :mod:`.pricing` prices a row as it is made, :mod:`.dedupe` counts each call once
when several producers report it, :mod:`.dimensions` reads the dimensions beyond the customer
(agent, feature, session, environment, status, attempts, request digest, tags).

Rows are :class:`~..ledger.rows.LedgerRow` tuples, built straight from the span's values: the
timestamp is UTC text from the span's integer nanoseconds, so no datetime is made per call row.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD

from ..ledger.outcomes import OutcomeRow
from ..ledger.rows import EXPLICIT_AMOUNT_RULE, LedgerRow, timestamp_text_ns
from .dedupe import Call, RecentCalls, drop_nested_duplicates, drop_other_reports
from .dimensions import Dimensions, allowed_tags
from .outcomes import outcome_row
from .pricing import (
    MAX_TEXT,
    NO_PRICE_BOOK,
    clip,
    default_price_book,
    price_failed,
    price_quantity,
    with_producer_cost,
)
from .producer_usage import read_usage, what_it_is
from .producers import (
    CATEGORIES,
    PRODUCER_COST_KEY_SET,
    PROVIDERS,
    SERVICE_TIER_KEY_SET,
    attribution,
    category,
    is_call_span,
    is_cost_span,
    producer_cost,
    provider,
    service_tier,
    text,
)
from .producers import model as call_model
from .producers import operation as call_operation
from .spans import SpanData

if TYPE_CHECKING:
    from opentelemetry.instrumentation.costledger.pricing import PriceBook

logger = logging.getLogger(__name__)


@dataclass
class Conversion:
    """What :func:`spans_to_rows` made of a batch of spans."""

    rows: list[LedgerRow]
    rejected: list[tuple[SpanData, str]]  # span + reason; only for spans that cannot be rows
    ignored: int  # spans that are not cost events (plain HTTP spans etc.)
    # Call spans dropped because another span reports the same call (:mod:`.dedupe`).
    duplicates: int = 0
    # Spans marked ``costledger.counted = false``.
    not_counted: int = 0
    # Rows with problems in their input (also named in each row's ``flags``).
    flagged: int = 0
    # What became of work items (``record_outcome`` spans): stored beside the rows.
    outcomes: list[OutcomeRow] = field(default_factory=list)


def spans_to_rows(
    spans: Iterable[SpanData],
    price_book: PriceBook | None = None,
    recent: RecentCalls | None = None,
    tags: Collection[str] | str | None = None,
) -> Conversion:
    """Convert finished spans to ledger rows, priced. Never raises for bad span content.

    ``recent``: the calls this process wrote before, so that another producer's report of one
    of them in a later batch is not a second row (:mod:`.dedupe`, rule 3); it learns this
    batch's calls. ``tags``: the tag names to keep (see :mod:`.dimensions`; default
    ``$COSTLEDGER_TAGS``)."""
    book, no_book = (price_book, NO_PRICE_BOOK) if price_book is not None else default_price_book()
    result = Conversion(rows=[], rejected=[], ignored=0)
    rows = result.rows
    calls: list[Call] = []
    add_call = calls.append
    ignored = 0
    not_counted = 0
    counted_key = A.COUNTED
    category_key = A.COST_CATEGORY
    outcome_key = A.OUTCOME_SUCCESS
    batch = spans if isinstance(spans, list) else list(spans)
    dims = Dimensions(batch, allowed_tags(tags))
    for span in batch:
        attrs = span.attributes
        if attrs.get(counted_key) is False:
            not_counted += 1
            continue
        if not span.trace_id or not span.span_id:
            if is_cost_span(attrs):
                result.rejected.append((span, "span has no valid trace id or span id"))
            else:
                ignored += 1
            continue
        try:
            if category_key in attrs:
                rows.append(_cost_event_row(span, book, no_book, dims))
                continue
            if outcome_key in attrs:
                outcome = outcome_row(span)
                if isinstance(outcome, str):
                    result.rejected.append((span, outcome))
                else:
                    result.outcomes.append(outcome)
                continue
            if not is_call_span(attrs):
                ignored += 1
                continue
            call = _call_row(span, book, no_book, dims)
        except Exception as exc:  # a bug of ours must not lose the rest of the batch
            logger.exception("costledger: could not convert span %r", span.name)
            result.rejected.append((span, f"conversion failed: {type(exc).__name__}: {exc}"))
            continue
        add_call(call)
    result.ignored = ignored
    result.not_counted = not_counted
    found = len(calls)
    if found > 1:
        calls = drop_nested_duplicates(calls, batch)
    if calls and (recent is not None or len(calls) > 1):
        calls = drop_other_reports(calls, recent)
    result.duplicates = found - len(calls)
    rows += [row for _, row, _ in calls]
    result.flagged = len([row for row in rows if row.flags is not None])
    return result


# --- LLM calls --------------------------------------------------------------------------------

# Keys _call_row reads, as plain globals (one lookup each, not two).
_PROVIDER_KEY = A.GEN_AI_PROVIDER_NAME
_RESPONSE_MODEL_KEY = A.GEN_AI_RESPONSE_MODEL
_OPERATION_KEY = A.GEN_AI_OPERATION_NAME
_BATCH_KEY = A.COSTLEDGER_BATCH
_RESPONSE_ID_KEY = A.GEN_AI_RESPONSE_ID
_SERVICE_KEY = A.SERVICE_NAME
_CUSTOMER_KEY = A.CUSTOMER_ID
_CUSTOMER_NAME_KEY = A.CUSTOMER_NAME
_WORKSPACE_KEY = A.WORKSPACE_ID
_WORK_ITEM_KEY = A.WORK_ITEM_ID
_USER_KEY = A.USER_ID
_PRODUCER_COST_KEYS = PRODUCER_COST_KEY_SET
# A row is made per call: tuple.__new__ with the fields in LedgerRow's order skips the
# NamedTuple's generated __new__, a Python function call of 31 arguments. The tests read the
# rows field by field by name.
_new_row = tuple.__new__


def _call_row(span: SpanData, book: PriceBook | None, no_book: str, dims: Dimensions) -> Call:
    """The span, its row, and whether its token counts are usable (for the dedupe)."""
    attrs = span.attributes
    get = attrs.get
    # Each value is read once; the helpers only run for unusual values (cached per name).
    provider_name = get(_PROVIDER_KEY)
    provider_name = PROVIDERS.get(provider_name) if type(provider_name) is str else None
    if provider_name is None:
        provider_name = provider(attrs)
    model = get(_RESPONSE_MODEL_KEY)
    if type(model) is not str or not model:
        model = call_model(attrs)
    operation = get(_OPERATION_KEY)
    if type(operation) is not str or not operation:
        operation = call_operation(attrs)
    row_category = CATEGORIES.get(operation or "") or category(operation)
    input_tokens, output_tokens, cache_read, write_5m, write_1h, reasoning, problems, unusable = (
        read_usage(span, provider_name)
    )
    tier = None if SERVICE_TIER_KEY_SET.isdisjoint(attrs) else service_tier(attrs)
    batch = get(_BATCH_KEY) is True or tier == "batch"
    at_ns = span.start_time_ns
    response_id = get(_RESPONSE_ID_KEY)
    # Ids are 128/64-bit (an OTLP id has 16/8 bytes): bytes.hex() is twice as fast as a format.
    trace_hex = span.trace_id.to_bytes(16, "big").hex()
    span_hex = span.span_id.to_bytes(8, "big").hex()
    key = (
        f"call:{trace_hex}:{response_id}"
        if type(response_id) is str and response_id
        else f"span:{trace_hex}:{span_hex}"
    )
    if unusable:
        cost_nanos, currency, rule = None, "USD", None
        reason: str | None = clip(f"token counts are not usable: {'; '.join(problems or ())}")
    elif book is None:
        cost_nanos, currency, rule, reason = None, "USD", None, no_book
    else:
        try:
            cost_nanos, rule, reason, currency = book.price_counts(
                provider_name, model, at_ns, input_tokens, output_tokens, cache_read, write_5m,
                write_1h, reasoning, tier, batch,
            )  # fmt: skip
        except Exception as exc:  # the price book must not lose a row
            cost_nanos, currency, rule, reason = price_failed(provider_name, model, exc)
        if rule is not None and len(rule) > MAX_TEXT:
            rule = clip(rule)
        if cost_nanos is None:
            reason = clip(reason or "no price")
        if not _PRODUCER_COST_KEYS.isdisjoint(attrs):
            their = producer_cost(attrs)
            if their is not None:
                (cost_nanos, currency, rule, reason), mismatch = with_producer_cost(
                    (cost_nanos, currency, rule, reason), their
                )
                if mismatch is not None:
                    problems = [*(problems or ()), mismatch]
    service = span.resource_attributes.get(_SERVICE_KEY)
    customer = get(_CUSTOMER_KEY)
    customer_name = get(_CUSTOMER_NAME_KEY)
    workspace = get(_WORKSPACE_KEY)
    work_item = get(_WORK_ITEM_KEY)
    user = get(_USER_KEY)
    row: LedgerRow = _new_row(LedgerRow, (
        key,  # idempotency_key
        timestamp_text_ns(at_ns),  # timestamp
        row_category,  # category
        "span",  # source
        customer if type(customer) is str and customer else attribution(customer),
        customer_name if customer_name is None else attribution(customer_name),
        workspace if type(workspace) is str and workspace else attribution(workspace),
        work_item if type(work_item) is str and work_item else attribution(work_item),
        user if user is None else attribution(user),
        service if type(service) is str else None,
        provider_name,  # provider
        model,
        operation,
        input_tokens,
        output_tokens,
        input_tokens - cache_read - write_5m - write_1h,  # uncached_input_tokens
        cache_read,  # cache_read_tokens
        write_5m,  # cache_write_5m_tokens
        write_1h,  # cache_write_1h_tokens
        reasoning,  # reasoning_tokens
        None,  # quantity
        None,  # unit
        cost_nanos,
        currency,
        rule,  # price_rule
        reason,  # unpriced_reason
        clip("; ".join(problems)) if problems else None,  # flags
        batch,
        tier,  # service_tier
        trace_hex,  # trace_id
        span_hex,  # span_id
        *dims.of_call(span),  # agent ... tags
    ))  # fmt: skip
    return span, row, not unusable


# --- record_cost events -----------------------------------------------------------------------


def _cost_event_row(
    span: SpanData, book: PriceBook | None, no_book: str, dims: Dimensions
) -> LedgerRow:
    attrs = span.attributes
    get = attrs.get
    event_category = str(get(A.COST_CATEGORY)).strip() or "other"
    unit = text(attrs, A.COST_UNIT)
    item = text(attrs, A.COST_ITEM)
    flags: list[str] = []
    quantity = _decimal(get(A.COST_QUANTITY))
    if quantity is None:
        flags.append(f"{A.COST_QUANTITY} is not a number ({what_it_is(get(A.COST_QUANTITY))})")
    elif quantity < 0:
        flags.append(f"{A.COST_QUANTITY} is negative ({quantity})")
    price: tuple[int | None, str, str | None, str | None] = (None, "USD", None, None)
    amount_value = get(A.COST_AMOUNT)
    if amount_value is not None:
        amount = _decimal(amount_value)
        if amount is None:
            flags.append(f"{A.COST_AMOUNT} is not a number ({what_it_is(amount_value)})")
        elif amount < 0:
            flags.append(f"{A.COST_AMOUNT} is negative ({amount})")
        else:
            nanos = amount * NANOS_PER_USD
            if nanos != nanos.to_integral_value():
                flags.append(f"{A.COST_AMOUNT} {amount} is finer than a nano-dollar")
            else:
                currency = text(attrs, A.COST_CURRENCY) or "USD"
                price = (int(nanos), currency, EXPLICIT_AMOUNT_RULE, None)
    if price[0] is None:
        if flags:
            price = (None, "USD", None, clip(f"cost event is not usable: {'; '.join(flags)}"))
        else:
            assert quantity is not None
            start = span.start_time_ns
            at = _EPOCH + timedelta(0, start // 1_000_000_000, start // 1000 % 1_000_000)
            price = price_quantity(book, no_book, event_category, unit, quantity, at, item)
    cost_nanos, currency, rule, reason = price
    service = span.resource_attributes.get(A.SERVICE_NAME)
    trace_hex = f"{span.trace_id:032x}"
    span_hex = f"{span.span_id:016x}"
    return LedgerRow(
        f"span:{trace_hex}:{span_hex}",
        timestamp_text_ns(span.start_time_ns),
        event_category,
        customer_id=attribution(get(A.CUSTOMER_ID)),
        customer_name=attribution(get(A.CUSTOMER_NAME)),
        workspace_id=attribution(get(A.WORKSPACE_ID)),
        work_item_id=attribution(get(A.WORK_ITEM_ID)),
        user_id=attribution(get(A.USER_ID)),
        service=service if type(service) is str else None,
        model=item,
        operation="record_cost",
        quantity=None if quantity is None else str(quantity),
        unit=unit,
        cost_nanos=cost_nanos,
        currency=currency,
        price_rule=rule,
        unpriced_reason=reason,
        flags=clip("; ".join(flags)) if flags else None,
        trace_id=trace_hex,
        span_id=span_hex,
        **dims.of_event(span),
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(value if isinstance(value, str | int) else str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None
