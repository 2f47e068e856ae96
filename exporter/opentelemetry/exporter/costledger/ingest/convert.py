"""Spans in, priced ledger rows out: :func:`spans_to_rows` (:class:`~..ledger.rows.LedgerRow`
objects) and :func:`spans_to_records`, the same rows as the store's plain tuples
(:mod:`..ledger.rows`): the path the exporter and the receiver take, with no object, datetime
or token-usage tuple per row.

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
* A span with ``costledger.counted = false`` is never a row (another span counts that call).
* Everything else (HTTP, database, agent spans ...) is ``ignored`` (counted, not stored).

Producers and their token semantics
-----------------------------------
Rows hold non-overlapping buckets: ``uncached_input + cache_read + cache_write_5m +
cache_write_1h = input_tokens`` and ``reasoning`` is part of ``output_tokens``.

=============================== ========================== =====================================
producer                        input count                cache keys
=============================== ========================== =====================================
costledger (ours)               includes cache             ``gen_ai.usage.cache_read/cache_write``
                                                           + ``costledger.usage.cache_write_5m/1h``
anthropic SDK 2.x own spans     includes cache (it sums)   ``cache_read/cache_write`` +
                                                           ``anthropic.usage.cache_creation.*``
instrumentation-genai / semconv includes cache             ``cache_read`` / ``cache_creation``
OpenLLMetry (traceloop)         includes cache (it sums;   ``cache_read/cache_creation``, legacy
                                legacy ``prompt_tokens``)  ``cache_read_input_tokens`` ...
OpenLIT                         Anthropic: EXCLUDES cache  ``cache_read/cache_creation``
                                (raw API field); others    (spans carry ``telemetry.sdk.name``
                                include it                 = ``openlit``)
=============================== ========================== =====================================

Where the 5-minute / 1-hour split of cache writes is known it is used; otherwise every cache
write is a 5-minute write (the price every producer but Anthropic's 1h TTL bills).

Bad values are kept, never guessed
----------------------------------
A count that is not a whole number (``"abc"``, ``1.5``, ``True``) is treated as unknown and named
in ``flags``; counts that cannot all be true (negative, cache larger than input, reasoning larger
than output) are kept as reported and named in ``flags``. Such a row is stored UNPRICED with the
reason, so it shows up in ``costledger prices check`` instead of carrying a made-up cost or a
silent zero.

One call, one row (dedupe)
--------------------------
Several producers can report the same call: OpenLLMetry's span around the SDK's own span, our
span around the SDK's, and so on — always nested in the same trace. Two rules make exactly one
of them count, and both work across export batches and across exporters (in process and
``costledger serve``):

1. **Same key.** A call span that carries the provider's response id (``gen_ai.response.id``:
   every producer above sets it on success) gets the idempotency key
   ``call:<trace hex>:<response id>`` instead of ``span:<trace hex>:<span hex>``. Nested
   reports of one call therefore share the key, and the store's ``ON CONFLICT DO NOTHING`` keeps
   the first one written, whichever batch it arrives in. The trace scopes the id, so a replayed
   or mocked id in another trace is never merged.
2. **Same usage, nested, in one batch** (spans without a response id, e.g. a failed stream):
   when a call span's nearest call-span ancestor in the batch reports the same model family and
   identical token counts (the 5m/1h split of cache writes aside: only some producers know
   it), the ancestor is dropped.

Within a batch the innermost report wins (the SDK's span or ours: it has the most detail, e.g.
the 1-hour cache split); across batches the first written wins, which is also the innermost,
because a child span ends — and is exported — before its parent. What the rules cannot see:
two nested reports WITHOUT a response id that land in different batches count twice.

Prices
------
Token rows are priced at the span's start time (the price in force when the call was made),
with the service tier and the batch flag, by ``PriceBook.price_counts`` (``price_tokens``'s
results from the counts and the integer nanoseconds as read, its rate remembered with the
instants it is in force). A row no price covers
is kept with ``cost_nanos = NULL`` and ``unpriced_reason``; ``costledger reprice`` prices it
later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.usage import TokenUsage

from ..ledger.rows import (
    EXPLICIT_AMOUNT_RULE,
    ROW_FIELDS,
    LedgerRecord,
    LedgerRow,
    record_to_row,
    row_to_record,
    timestamp_text_ns,
)
from ..ledger.schema import NANOS_PER_USD
from .spans import SpanData

if TYPE_CHECKING:
    from opentelemetry.instrumentation.costledger.pricing import PriceBook, PricedCost

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TEXT = 400  # width of the flags / reason / rule columns

# Operations that sum the calls made under them: their spans may carry usage totals, but the
# calls themselves are rows of their own.
_AGGREGATE_OPERATIONS = frozenset(
    {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow", "agent", "workflow"}
)
_AGGREGATE_TRACELOOP_KINDS = frozenset({"workflow", "task", "agent", "tool"})
_EMBEDDING_OPERATIONS = frozenset({"embeddings", "embedding", "create_embedding"})

# Any one of these on a span makes it a candidate LLM call.
_USAGE_KEYS = (
    A.GEN_AI_USAGE_INPUT_TOKENS,
    A.GEN_AI_USAGE_OUTPUT_TOKENS,
    *A.LEGACY_INPUT_TOKENS,
    *A.LEGACY_OUTPUT_TOKENS,
    *A.LEGACY_TOTAL_TOKENS,
)
_USAGE_KEY_SET = frozenset(_USAGE_KEYS)
_INPUT_KEYS = (A.GEN_AI_USAGE_INPUT_TOKENS, *A.LEGACY_INPUT_TOKENS)
_OUTPUT_KEYS = (A.GEN_AI_USAGE_OUTPUT_TOKENS, *A.LEGACY_OUTPUT_TOKENS)
_CACHE_READ_KEYS = (A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, *A.LEGACY_CACHE_READ_TOKENS)
_CACHE_WRITE_KEYS = (
    A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    *A.LEGACY_CACHE_WRITE_TOKENS,
)
_CACHE_5M_KEYS = (A.COSTLEDGER_USAGE_CACHE_WRITE_5M_TOKENS, A.ANTHROPIC_CACHE_WRITE_5M_TOKENS)
_CACHE_1H_KEYS = (A.COSTLEDGER_USAGE_CACHE_WRITE_1H_TOKENS, A.ANTHROPIC_CACHE_WRITE_1H_TOKENS)
_REASONING_KEYS = (A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, *A.LEGACY_REASONING_TOKENS)
_SERVICE_TIER_KEYS = (
    A.OPENAI_RESPONSE_SERVICE_TIER,
    A.GEN_AI_RESPONSE_SERVICE_TIER,
    A.ANTHROPIC_RESPONSE_SERVICE_TIER,
    A.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER,
    A.OPENAI_REQUEST_SERVICE_TIER,
    A.GEN_AI_REQUEST_SERVICE_TIER,
    A.GEN_AI_OPENAI_REQUEST_SERVICE_TIER,
)
_SERVICE_TIER_KEY_SET = frozenset(_SERVICE_TIER_KEYS)
# Request tiers that say "let the provider choose": the bill follows the response's tier.
_UNDECIDED_TIERS = frozenset({"auto", "default", "standard_only"})
# Providers whose raw API input count excludes cache tokens, for producers that pass it on as is.
_INPUT_EXCLUDES_CACHE_PROVIDERS = frozenset({"anthropic"})
# Legacy provider spellings (``gen_ai.system``) mapped to the current names.
_PROVIDER_ALIASES = {
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistralai": "mistral_ai",
}


@dataclass
class Conversion:
    """What :func:`spans_to_rows` made of a batch of spans."""

    rows: list[LedgerRow]
    rejected: list[tuple[SpanData, str]]  # span + reason; only for spans that cannot be rows
    ignored: int  # spans that are not cost events (plain HTTP spans etc.)
    # Call spans dropped because a nested span of the same batch reports the same call.
    duplicates: int = 0
    # Spans marked ``costledger.counted = false``.
    not_counted: int = 0
    # Rows with problems in their input (also named in each row's ``flags``).
    flagged: int = field(default=0)


@dataclass
class RecordConversion:
    """What :func:`spans_to_records` made of a batch of spans: :class:`Conversion` with records
    (:mod:`..ledger.rows`) in place of :class:`LedgerRow` objects."""

    records: list[LedgerRecord]
    rejected: list[tuple[SpanData, str]]
    ignored: int
    duplicates: int = 0
    not_counted: int = 0
    flagged: int = 0


def spans_to_rows(spans: Iterable[SpanData], price_book: PriceBook | None = None) -> Conversion:
    """Convert finished spans to ledger rows, priced. Never raises for bad span content."""
    converted = spans_to_records(spans, price_book)
    return Conversion(
        rows=[record_to_row(record) for record in converted.records],
        rejected=converted.rejected,
        ignored=converted.ignored,
        duplicates=converted.duplicates,
        not_counted=converted.not_counted,
        flagged=converted.flagged,
    )


def spans_to_records(
    spans: Iterable[SpanData], price_book: PriceBook | None = None
) -> RecordConversion:
    """:func:`spans_to_rows` straight to records, the form the store inserts: the ingest's path
    (no :class:`LedgerRow` and no datetime per row). Never raises for bad span content."""
    book, no_book = (
        (price_book, _NO_PRICE_BOOK) if price_book is not None else _default_price_book()
    )
    result = RecordConversion(records=[], rejected=[], ignored=0)
    records = result.records
    calls: list[tuple[SpanData, LedgerRecord, bool]] = []
    add_call = calls.append
    ignored = 0
    not_counted = 0
    counted_key = A.COUNTED
    category_key = A.COST_CATEGORY
    batch = spans if isinstance(spans, list) else list(spans)
    for span in batch:
        attrs = span.attributes
        if attrs.get(counted_key) is False:
            not_counted += 1
            continue
        if not span.trace_id or not span.span_id:
            if _is_cost_span(attrs):
                result.rejected.append((span, "span has no valid trace id or span id"))
            else:
                ignored += 1
            continue
        try:
            if category_key in attrs:
                records.append(row_to_record(_cost_event_row(span, book, no_book)))
                continue
            if not _is_call_span(attrs):
                ignored += 1
                continue
            call = _call_record(span, book, no_book)
        except Exception as exc:  # a bug of ours must not lose the rest of the batch
            logger.exception("costledger: could not convert span %r", span.name)
            result.rejected.append((span, f"conversion failed: {type(exc).__name__}: {exc}"))
            continue
        add_call(call)
    result.ignored = ignored
    result.not_counted = not_counted
    if len(calls) > 1:
        kept = _drop_nested_duplicates(calls, batch)
        result.duplicates = len(calls) - len(kept)
        calls = kept
    records += [record for _, record, _ in calls]
    result.flagged = len([record for record in records if record[_FLAGS] is not None])
    return result


# --- classification ---------------------------------------------------------------------------


def _is_cost_span(attrs: Mapping[str, Any]) -> bool:
    return A.COST_CATEGORY in attrs or _is_call_span(attrs)


def _is_call_span(attrs: Mapping[str, Any]) -> bool:
    if _USAGE_KEY_SET.isdisjoint(attrs):
        return False
    operation = attrs.get(A.GEN_AI_OPERATION_NAME)
    if isinstance(operation, str) and operation.lower() in _AGGREGATE_OPERATIONS:
        return False
    kind = attrs.get(A.TRACELOOP_SPAN_KIND)
    return not (isinstance(kind, str) and kind.lower() in _AGGREGATE_TRACELOOP_KINDS)


# --- LLM calls --------------------------------------------------------------------------------


class _Reader:
    """Reads counts from one span's attributes, collecting what is wrong with them."""

    __slots__ = ("attrs", "flags", "unknown")

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        self.attrs = attrs
        self.flags: list[str] = []
        self.unknown = False  # a count was present but unreadable

    def count(self, keys: tuple[str, ...]) -> int | None:
        """The first of ``keys`` present, as an int; ``None`` when absent or unreadable."""
        for key in keys:
            value = self.attrs.get(key)
            if value is None:
                continue
            if type(value) is int:
                return value
            number = _whole_number(value)
            if number is None:
                self.flags.append(f"{key} is not a whole number ({value!r})")
                self.unknown = True
            return number
        return None


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def _provider(attrs: Mapping[str, Any]) -> str | None:
    value = attrs.get(A.GEN_AI_PROVIDER_NAME) or attrs.get(A.GEN_AI_SYSTEM)
    if not isinstance(value, str) or not value:
        return None
    name = value.strip().lower()
    provider = _PROVIDER_ALIASES.get(name, name)
    if len(_PROVIDERS) < _MAX_PROVIDERS:
        _PROVIDERS[value] = provider
    return provider


# gen_ai.provider.name as spans spell it -> the normalized name (filled by _provider).
_PROVIDERS: dict[str, str] = {}
_MAX_PROVIDERS = 1000  # bounded: the names come from the spans


def _text(attrs: Mapping[str, Any], key: str) -> str | None:
    value = attrs.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _input_excludes_cache(span: SpanData, provider: str | None) -> bool:
    if provider not in _INPUT_EXCLUDES_CACHE_PROVIDERS:
        return False
    sdk = span.attributes.get(A.TELEMETRY_SDK_NAME)
    return sdk == "openlit" or (span.scope_name or "").startswith("openlit")


# Each token bucket's keys, the current convention's first.
_BUCKET_KEYS = (
    _INPUT_KEYS,
    _OUTPUT_KEYS,
    _CACHE_READ_KEYS,
    _CACHE_WRITE_KEYS,
    _CACHE_5M_KEYS,
    _CACHE_1H_KEYS,
    _REASONING_KEYS,
)

# Keys that only other producers use: when a span has none of them (our own spans, the
# anthropic SDK's, semconv producers) each bucket is one dictionary lookup.
_SECONDARY_USAGE_KEYS = frozenset(key for keys in _BUCKET_KEYS for key in keys[1:]) - {
    keys[0] for keys in (_INPUT_KEYS, _OUTPUT_KEYS)
}


def _pick(read: _Reader, value: Any, keys: tuple[str, ...], others: bool) -> int | None:
    """The count of one bucket, given the value of its first key (the common case)."""
    if type(value) is int:
        return value
    if value is None and not others:
        return None
    return read.count(keys)


_IN_KEY, _OUT_KEY, _READ_KEY, _WRITE_KEY, _5M_KEY, _1H_KEY, _REASONING_KEY = (
    keys[0] for keys in _BUCKET_KEYS
)


def _usage_in_full(span: SpanData, provider: str | None) -> tuple[TokenUsage, list[str], bool]:
    """:func:`_usage` for any span: legacy keys, totals, the 5m/1h split, unreadable values."""
    attrs = span.attributes
    get = attrs.get
    read = _Reader(attrs)
    others = not _SECONDARY_USAGE_KEYS.isdisjoint(attrs)
    input_tokens = _pick(read, get(_INPUT_KEYS[0]), _INPUT_KEYS, others)
    output_tokens = _pick(read, get(_OUTPUT_KEYS[0]), _OUTPUT_KEYS, others)
    cache_read = _pick(read, get(_CACHE_READ_KEYS[0]), _CACHE_READ_KEYS, others) or 0
    cache_write = _pick(read, get(_CACHE_WRITE_KEYS[0]), _CACHE_WRITE_KEYS, others)
    write_5m = _pick(read, get(_CACHE_5M_KEYS[0]), _CACHE_5M_KEYS, others)
    write_1h = _pick(read, get(_CACHE_1H_KEYS[0]), _CACHE_1H_KEYS, others)
    reasoning = _pick(read, get(_REASONING_KEYS[0]), _REASONING_KEYS, others) or 0
    if input_tokens is None or output_tokens is None:
        total = read.count(A.LEGACY_TOTAL_TOKENS)
        if total is not None and input_tokens is None and output_tokens is not None:
            input_tokens = total - output_tokens
        elif total is not None and output_tokens is None and input_tokens is not None:
            output_tokens = total - input_tokens
    if write_5m is None and write_1h is None:
        write_5m, write_1h = cache_write or 0, 0
    else:
        write_5m, write_1h = write_5m or 0, write_1h or 0
        if cache_write is not None and cache_write != write_5m + write_1h:
            read.flags.append(
                f"cache write split ({write_5m} 5m + {write_1h} 1h) does not add up to"
                f" the cache write count ({cache_write})"
            )
            read.unknown = True
    input_tokens = input_tokens or 0
    output_tokens = output_tokens or 0
    if input_tokens and _input_excludes_cache(span, provider):
        input_tokens += cache_read + write_5m + write_1h
    usage = TokenUsage(input_tokens, output_tokens, cache_read, write_5m, write_1h, reasoning)
    flags = read.flags
    if (
        min(input_tokens, cache_read, write_5m, write_1h, reasoning) < 0
        or input_tokens < cache_read + write_5m + write_1h
        or output_tokens < reasoning
    ):
        flags = flags + usage.problems()
        return usage, flags, True
    return usage, flags, read.unknown


def _call_record(
    span: SpanData, book: PriceBook | None, no_book: str
) -> tuple[SpanData, LedgerRecord, bool]:
    """The span, its record, and whether its token counts are usable (for the dedupe)."""
    attrs = span.attributes
    get = attrs.get
    # Each value is read once; the helpers only run for unusual values (cached per name).
    provider = get(_PROVIDER_KEY)
    provider = _PROVIDERS.get(provider) if type(provider) is str else None
    if provider is None:
        provider = _provider(attrs)
    model = get(_RESPONSE_MODEL_KEY)
    if type(model) is not str or not model:
        model = _text(attrs, A.GEN_AI_RESPONSE_MODEL) or _text(attrs, A.GEN_AI_REQUEST_MODEL)
    operation = get(_OPERATION_KEY)
    if type(operation) is not str or not operation:
        operation = _text(attrs, A.GEN_AI_OPERATION_NAME) or _text(attrs, A.LLM_REQUEST_TYPE)
    category = _CATEGORIES.get(operation or "") or _category(operation)
    # Token usage. Common case (our spans, the SDKs', semconv producers): whole-number counts
    # under the current keys only, one lookup per bucket; anything else takes the full reader.
    input_tokens = get(_IN_KEY)
    output_tokens = get(_OUT_KEY)
    cache_read = get(_READ_KEY)
    write_5m = get(_WRITE_KEY)
    reasoning = get(_REASONING_KEY)
    problems: list[str] | None = None
    if (
        type(input_tokens) is int
        and (type(output_tokens) is int or output_tokens is None)
        and (cache_read is None or type(cache_read) is int)
        and (write_5m is None or type(write_5m) is int)
        and (reasoning is None or type(reasoning) is int)
        and _SECONDARY_USAGE_KEYS.isdisjoint(attrs)
        and _5M_KEY not in attrs
        and _1H_KEY not in attrs
        # without an output count (embeddings) a total count would say what it is
        and (output_tokens is not None or _TOTAL_KEYS.isdisjoint(attrs))
    ):
        output_tokens = output_tokens or 0
        cache_read = cache_read or 0
        write_5m = write_5m or 0
        write_1h = 0
        reasoning = reasoning or 0
        if (
            input_tokens
            and provider in _INPUT_EXCLUDES_CACHE_PROVIDERS
            and _input_excludes_cache(span, provider)
        ):
            input_tokens += cache_read + write_5m
        unusable = (
            (input_tokens | output_tokens | cache_read | write_5m | reasoning) < 0
            or input_tokens < cache_read + write_5m
            or output_tokens < reasoning
        )
        if unusable:
            problems = TokenUsage(
                input_tokens, output_tokens, cache_read, write_5m, 0, reasoning
            ).problems()
    else:
        usage, problems, unusable = _usage_in_full(span, provider)
        input_tokens, output_tokens, cache_read, write_5m, write_1h, reasoning = usage
    tier = None if _SERVICE_TIER_KEY_SET.isdisjoint(attrs) else _service_tier(attrs)
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
    cost_nanos: int | None = None
    currency = "USD"
    rule: str | None = None
    reason: str | None = None
    if unusable:
        reason = _clip(f"token counts are not usable: {'; '.join(problems or ())}")
    elif book is None:
        reason = no_book
    else:
        try:
            cost_nanos, rule, reason, currency = book.price_counts(
                provider, model, at_ns, input_tokens, output_tokens, cache_read, write_5m,
                write_1h, reasoning, tier, batch,
            )  # fmt: skip
        except Exception as exc:  # the price book must not lose a row
            logger.exception("costledger: pricing %s/%s failed", provider, model)
            reason = f"pricing failed: {type(exc).__name__}: {exc}"
        if rule is not None and len(rule) > _MAX_TEXT:
            rule = _clip(rule)
        if cost_nanos is None:
            reason = _clip(reason or "no price")
    service = span.resource_attributes.get(_SERVICE_KEY)
    customer = get(_CUSTOMER_KEY)
    customer_name = get(_CUSTOMER_NAME_KEY)
    workspace = get(_WORKSPACE_KEY)
    work_item = get(_WORK_ITEM_KEY)
    user = get(_USER_KEY)
    # The record's fields in ROW_FIELDS order (checked against LedgerRow below).
    record = (
        key,  # idempotency_key
        timestamp_text_ns(at_ns),  # timestamp
        category,
        "span",  # source
        customer if type(customer) is str and customer else _attribution(customer),
        customer_name if customer_name is None else _attribution(customer_name),
        workspace if type(workspace) is str and workspace else _attribution(workspace),
        work_item if type(work_item) is str and work_item else _attribution(work_item),
        user if user is None else _attribution(user),
        service if type(service) is str else None,
        provider,
        model,
        operation,
        input_tokens,
        output_tokens,
        input_tokens - cache_read - write_5m - write_1h,  # uncached_input_tokens
        cache_read,
        write_5m,  # cache_write_5m_tokens
        write_1h,  # cache_write_1h_tokens
        reasoning,
        None,  # quantity
        None,  # unit
        cost_nanos,
        currency,
        rule,  # price_rule
        reason,  # unpriced_reason
        _clip("; ".join(problems)) if problems else None,  # flags
        batch,
        tier,  # service_tier
        trace_hex,
        span_hex,
    )  # fmt: skip
    return span, record, not unusable


# Keys _call_record reads, as plain globals (one lookup each, not two).
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
_TOTAL_KEYS = frozenset(A.LEGACY_TOTAL_TOKENS)


def _category(operation: str | None) -> str:
    category = (
        "embedding"
        if operation is not None and operation.lower() in _EMBEDDING_OPERATIONS
        else "api"
    )
    if type(operation) is str and len(_CATEGORIES) < _MAX_PROVIDERS:
        _CATEGORIES[operation] = category
    return category


# Operation name as spans spell it -> row category (filled by _category; bounded like _PROVIDERS).
_CATEGORIES: dict[str, str] = {}


# The order _call_record lays out records in.
_CALL_RECORD_ORDER = (
    "idempotency_key", "timestamp", "category", "source", "customer_id", "customer_name",
    "workspace_id", "work_item_id", "user_id", "service", "provider", "model", "operation",
    "input_tokens", "output_tokens", "uncached_input_tokens", "cache_read_tokens",
    "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens", "quantity", "unit",
    "cost_nanos", "currency", "price_rule", "unpriced_reason", "flags", "batch", "service_tier",
    "trace_id", "span_id",
)  # fmt: skip
if _CALL_RECORD_ORDER != ROW_FIELDS:
    raise RuntimeError("LedgerRow's fields changed: update convert._call_record")
# Record positions the dedupe reads.
_KEY, _PROVIDER, _MODEL = 0, ROW_FIELDS.index("provider"), ROW_FIELDS.index("model")
_INPUT, _OUTPUT, _READ, _W5M, _W1H, _REASONING = (
    ROW_FIELDS.index(name)
    for name in (
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens",
        "cache_write_1h_tokens", "reasoning_tokens",
    )
)  # fmt: skip
_FLAGS = ROW_FIELDS.index("flags")


def _service_tier(attrs: Mapping[str, Any]) -> str | None:
    if _SERVICE_TIER_KEY_SET.isdisjoint(attrs):
        return None
    fallback = None
    for key in _SERVICE_TIER_KEYS:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            if value.lower() not in _UNDECIDED_TIERS:
                return value
            fallback = fallback or value
    return fallback


# --- record_cost events -----------------------------------------------------------------------


def _cost_event_row(span: SpanData, book: PriceBook | None, no_book: str) -> LedgerRow:
    attrs = span.attributes
    category = str(attrs.get(A.COST_CATEGORY)).strip() or "other"
    at = _timestamp(span.start_time_ns)
    row = _attributed_row(span, None, at, category)
    row.unit = _text(attrs, A.COST_UNIT)
    item = _text(attrs, A.COST_ITEM)
    row.model = item
    row.operation = "record_cost"
    flags: list[str] = []
    quantity = _decimal(attrs.get(A.COST_QUANTITY))
    if quantity is None:
        flags.append(f"{A.COST_QUANTITY} is not a number ({attrs.get(A.COST_QUANTITY)!r})")
    elif quantity < 0:
        flags.append(f"{A.COST_QUANTITY} is negative ({quantity})")
    row.quantity = quantity
    amount_value = attrs.get(A.COST_AMOUNT)
    if amount_value is not None:
        amount = _decimal(amount_value)
        if amount is None:
            flags.append(f"{A.COST_AMOUNT} is not a number ({amount_value!r})")
        else:
            nanos = amount * NANOS_PER_USD
            if nanos != nanos.to_integral_value():
                flags.append(f"{A.COST_AMOUNT} {amount} is finer than a nano-dollar")
            else:
                row.cost_nanos = int(nanos)
                row.currency = _text(attrs, A.COST_CURRENCY) or "USD"
                row.price_rule = EXPLICIT_AMOUNT_RULE
    if flags:
        row.flags = _clip("; ".join(flags))
    if row.cost_nanos is not None:
        return row
    if flags:
        row.unpriced_reason = _clip(f"cost event is not usable: {'; '.join(flags)}")
    elif book is None:
        row.unpriced_reason = no_book
    else:
        assert quantity is not None
        try:
            priced = book.price_quantity(category, row.unit, quantity, at, item=item)
        except Exception as exc:
            logger.exception("costledger: pricing %s %s failed", category, item)
            row.unpriced_reason = _clip(f"pricing failed: {type(exc).__name__}: {exc}")
        else:
            _apply_price(row, priced)
    return row


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(value if isinstance(value, str | int) else str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


# --- shared -----------------------------------------------------------------------------------


def _attributed_row(
    span: SpanData, key: str | None, at: datetime, category: str, **fields: Any
) -> LedgerRow:
    """A row of ``span`` with its attribution; ``key`` None means the span's own key."""
    attrs = span.attributes
    get = attrs.get
    service = span.resource_attributes.get(A.SERVICE_NAME)
    trace_hex = f"{span.trace_id:032x}"
    span_hex = f"{span.span_id:016x}"
    return LedgerRow(
        idempotency_key=key or f"span:{trace_hex}:{span_hex}",
        timestamp=at,
        category=category,
        source="span",
        customer_id=_attribution(get(A.CUSTOMER_ID)),
        customer_name=_attribution(get(A.CUSTOMER_NAME)),
        workspace_id=_attribution(get(A.WORKSPACE_ID)),
        work_item_id=_attribution(get(A.WORK_ITEM_ID)),
        user_id=_attribution(get(A.USER_ID)),
        service=service if type(service) is str else None,
        trace_id=trace_hex,
        span_id=span_hex,
        **fields,
    )


def _attribution(value: Any) -> str | None:
    if type(value) is str:
        return value or None
    return None if value is None else str(value)


def _apply_price(row: LedgerRow, priced: PricedCost) -> None:
    row.cost_nanos = priced.cost_nanos
    row.currency = priced.currency
    row.price_rule = _clip(priced.rule) if priced.rule else None
    if priced.cost_nanos is None:
        row.unpriced_reason = _clip(priced.unpriced_reason or "no price")


def _timestamp(ns: int) -> datetime:
    # Positional timedelta: three times faster than timedelta(microseconds=...).
    return _EPOCH + timedelta(0, ns // 1_000_000_000, ns // 1000 % 1_000_000)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


_NO_PRICE_BOOK = "no price book available (costledger pricing could not be loaded)"


_reported_failures: set[str] = set()  # logged once per process, not once per batch


def _default_price_book() -> tuple[PriceBook | None, str]:
    """The process's price book, else None and the unpriced reason its rows get.

    Rows are still written without it: ``costledger reprice --unpriced`` prices them once the
    cause is fixed, and the reason on each row says what that cause was.
    """
    try:
        from opentelemetry.instrumentation.costledger.pricing import (
            PriceFileError,
            get_price_book,
        )

        return get_price_book(), _NO_PRICE_BOOK
    except PriceFileError as exc:
        # The user's file is wrong: its text (file:line, field, what to write) is the whole
        # story, so no traceback.
        reason = _clip(f"the price file is invalid: {exc}")
        if reason not in _reported_failures:
            _reported_failures.add(reason)
            logger.error(
                "costledger: %s; rows are recorded unpriced until the file is fixed and the"
                " process restarted, then `costledger reprice --unpriced` prices them",
                reason,
            )
        return None, reason
    except Exception:
        if _NO_PRICE_BOOK not in _reported_failures:
            _reported_failures.add(_NO_PRICE_BOOK)
            logger.exception("costledger: the price book could not be loaded; rows stay unpriced")
        return None, _NO_PRICE_BOOK


# --- dedupe -----------------------------------------------------------------------------------

_MAX_ANCESTRY = 32  # nesting depth searched for an enclosing call span


def _drop_nested_duplicates(
    calls: list[tuple[SpanData, LedgerRecord, bool]], batch: list[SpanData]
) -> list[tuple[SpanData, LedgerRecord, bool]]:
    """``calls`` without the outer reports of a call that a nested span also reports."""
    by_id = {span.span_id: span for span in batch}
    call_ids = {span.span_id: (record, usable) for span, record, usable in calls}
    dropped: set[int] = set()
    keys: dict[str, int] = {}
    for span, record, usable in calls:
        # Rule 1 in batch: the same key twice means the same call; keep the inner one.
        key = record[_KEY]
        other = keys.get(key)
        if other is not None:
            inner, outer = _inner_outer(span.span_id, other, by_id)
            dropped.add(outer)
            keys[key] = inner
        else:
            keys[key] = span.span_id
        # Rule 2: the nearest enclosing call span with the same usage is the same call.
        parent = span.parent_span_id
        for _ in range(_MAX_ANCESTRY):
            if parent is None:
                break
            if parent in call_ids:
                parent_record, parent_usable = call_ids[parent]
                if usable and parent_usable and _same_call(record, parent_record):
                    dropped.add(parent)
                break
            enclosing = by_id.get(parent)
            parent = enclosing.parent_span_id if enclosing is not None else None
    if not dropped:
        return calls
    return [call for call in calls if call[0].span_id not in dropped]


def _inner_outer(a: int, b: int, by_id: Mapping[int, SpanData]) -> tuple[int, int]:
    """Of two span ids, the nested one first (``a`` first when neither encloses the other)."""
    parent = by_id[b].parent_span_id if b in by_id else None
    for _ in range(_MAX_ANCESTRY):
        if parent is None:
            break
        if parent == a:
            return b, a
        enclosing = by_id.get(parent)
        parent = enclosing.parent_span_id if enclosing is not None else None
    return a, b


def _counts(record: LedgerRecord) -> tuple[int, ...]:
    # Not the 5m/1h split: only some producers know it.
    return (
        record[_INPUT],
        record[_OUTPUT],
        record[_READ],
        record[_W5M] + record[_W1H],
        record[_REASONING],
    )


def _same_call(record: LedgerRecord, other: LedgerRecord) -> bool:
    """Two usable call records report the same counts of the same provider and model family."""
    if _counts(record) != _counts(other):
        return False
    provider, other_provider = record[_PROVIDER], other[_PROVIDER]
    if provider and other_provider and provider != other_provider:
        return False
    # One producer may name the requested model, the other the dated snapshot it resolved to.
    model, other_model = record[_MODEL], other[_MODEL]
    return not (
        model
        and other_model
        and not (model.startswith(other_model) or other_model.startswith(model))
    )
