"""Reading what producers put on a span: which spans are calls, provider, model, cost, tier.

A call may be reported by our instrumentation, by the SDK itself, or by another instrumentation;
each spells its attributes its own way. This module reads all of them into the ledger's terms;
:mod:`.convert` builds the rows from what it reads.

Provider names are normalized by :mod:`opentelemetry.instrumentation.costledger.providers` (one
table for every spelling). A producer's own cost (LiteLLM, OpenLIT, OpenInference) is read by
:func:`producer_cost`; :func:`.pricing.with_producer_cost` decides what the row keeps.

Token usage, and what each producer's counts mean: :mod:`.producer_usage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger import providers
from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD

from .producer_usage import USAGE_KEY_SET

# Operations that sum the calls made under them: their spans may carry usage totals, but the
# calls themselves are rows of their own.
_AGGREGATE_OPERATIONS = frozenset(
    {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow", "agent", "workflow"}
)
_AGGREGATE_TRACELOOP_KINDS = frozenset({"workflow", "task", "agent", "tool"})
_EMBEDDING_OPERATIONS = frozenset({"embeddings", "embedding", "create_embedding"})

_SERVICE_TIER_KEYS = (
    A.OPENAI_RESPONSE_SERVICE_TIER,
    A.GEN_AI_RESPONSE_SERVICE_TIER,
    A.ANTHROPIC_RESPONSE_SERVICE_TIER,
    A.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER,
    A.OPENAI_REQUEST_SERVICE_TIER,
    A.GEN_AI_REQUEST_SERVICE_TIER,
    A.GEN_AI_OPENAI_REQUEST_SERVICE_TIER,
)
SERVICE_TIER_KEY_SET = frozenset(_SERVICE_TIER_KEYS)
# Request tiers that say "let the provider choose": the bill follows the response's tier.
_UNDECIDED_TIERS = frozenset({"auto", "default", "standard_only"})
# Where producers name the provider, most specific first: OpenInference's llm.provider is who
# hosts the model ("aws"), its llm.system whose model it is ("anthropic").
_PROVIDER_KEYS = (A.GEN_AI_PROVIDER_NAME, A.GEN_AI_SYSTEM, A.LLM_PROVIDER, A.LLM_SYSTEM)
_MODEL_KEYS = (
    A.GEN_AI_RESPONSE_MODEL,
    A.GEN_AI_REQUEST_MODEL,
    A.LLM_MODEL_NAME,
    A.EMBEDDING_MODEL_NAME,
)
PRODUCER_COST_KEY_SET = frozenset(key for key, _ in A.PRODUCER_COST_KEYS)


# --- which spans are calls --------------------------------------------------------------------


def is_cost_span(attrs: Mapping[str, Any]) -> bool:
    """A ``record_cost`` event or an LLM call: a span that would be a row."""
    return A.COST_CATEGORY in attrs or is_call_span(attrs)


def is_call_span(attrs: Mapping[str, Any]) -> bool:
    """A span with token usage whose operation is a model call (not an agent, workflow, ...).

    OpenInference spans are calls only of kind ``LLM`` or ``EMBEDDING`` (its chains, agents
    and tools may carry the totals of the calls under them)."""
    if USAGE_KEY_SET.isdisjoint(attrs):
        return False
    openinference_kind = attrs.get(A.OPENINFERENCE_SPAN_KIND)
    if openinference_kind is not None:
        return str(openinference_kind).upper() in A.OPENINFERENCE_CALL_KINDS
    operation = attrs.get(A.GEN_AI_OPERATION_NAME)
    if isinstance(operation, str) and operation.lower() in _AGGREGATE_OPERATIONS:
        return False
    kind = attrs.get(A.TRACELOOP_SPAN_KIND)
    return not (isinstance(kind, str) and kind.lower() in _AGGREGATE_TRACELOOP_KINDS)


# --- names ------------------------------------------------------------------------------------


def provider(attrs: Mapping[str, Any]) -> str | None:
    """The provider a span names (``gen_ai.provider.name``, the legacy ``gen_ai.system``,
    OpenInference's ``llm.provider`` / ``llm.system``), normalized by
    :func:`~opentelemetry.instrumentation.costledger.providers.normalize`; the spelling of
    ``gen_ai.provider.name`` is remembered in :data:`PROVIDERS`."""
    for key in _PROVIDER_KEYS:
        value = attrs.get(key)
        if isinstance(value, str) and value.strip():
            normalized = providers.normalize(value)
            if key == A.GEN_AI_PROVIDER_NAME and len(PROVIDERS) < _MAX_CACHED:
                PROVIDERS[value] = normalized
            return normalized
    return None


def model(attrs: Mapping[str, Any]) -> str | None:
    """The model of a call: the one that answered, else the one asked for (any producer)."""
    for key in _MODEL_KEYS:
        found = text(attrs, key)
        if found is not None:
            return found
    return None


def operation(attrs: Mapping[str, Any]) -> str | None:
    """The operation of a call: ``gen_ai.operation.name``, OpenLLMetry's request type, or
    OpenInference's span kind (``chat`` for LLM, ``embeddings`` for EMBEDDING)."""
    found = text(attrs, A.GEN_AI_OPERATION_NAME) or text(attrs, A.LLM_REQUEST_TYPE)
    if found is not None:
        return found
    kind = attrs.get(A.OPENINFERENCE_SPAN_KIND)
    if isinstance(kind, str) and kind.upper() in A.OPENINFERENCE_CALL_KINDS:
        return "embeddings" if kind.upper() == "EMBEDDING" else "chat"
    return None


def producer_cost(attrs: Mapping[str, Any]) -> tuple[int, str] | None:
    """A producer's own cost of the call in nano-dollars, and the producer's name.

    LiteLLM (``gen_ai.cost.total_cost``), OpenLIT (``gen_ai.usage.cost``) and OpenInference
    (``llm.cost.total``) put a float of US dollars on the span. Its shortest decimal text is
    taken as the amount (the float's binary noise is not money), rounded half to even to a
    nano-dollar. ``None`` when there is none or it is not a non-negative number.
    """
    if PRODUCER_COST_KEY_SET.isdisjoint(attrs):
        return None
    for key, producer in A.PRODUCER_COST_KEYS:
        value = attrs.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            amount = Decimal(value if isinstance(value, str | int) else repr(float(value)))
        except (InvalidOperation, ValueError, TypeError):
            return None
        if not amount.is_finite() or amount < 0:
            return None
        return int((amount * NANOS_PER_USD).to_integral_value(ROUND_HALF_EVEN)), producer
    return None


# gen_ai.provider.name as spans spell it -> the normalized name (filled by provider()).
PROVIDERS: dict[str, str] = {}
_MAX_CACHED = 1000  # bounded: the names come from the spans


def category(operation: str | None) -> str:
    """The row category of a call's operation: ``embedding`` or ``api``; remembered in
    :data:`CATEGORIES`."""
    found = (
        "embedding"
        if operation is not None and operation.lower() in _EMBEDDING_OPERATIONS
        else "api"
    )
    if type(operation) is str and len(CATEGORIES) < _MAX_CACHED:
        CATEGORIES[operation] = found
    return found


# Operation name as spans spell it -> row category (filled by category(); bounded as PROVIDERS).
CATEGORIES: dict[str, str] = {}


def text(attrs: Mapping[str, Any], key: str) -> str | None:
    """The value of ``key`` as text; ``None`` when absent or empty."""
    value = attrs.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def attribution(value: Any) -> str | None:
    """An attribution value (customer, workspace, ...) as text; empty is ``None``."""
    if type(value) is str:
        return value or None
    return None if value is None else str(value)


def service_tier(attrs: Mapping[str, Any]) -> str | None:
    """The tier the provider billed: the response's, else a decided request tier."""
    if SERVICE_TIER_KEY_SET.isdisjoint(attrs):
        return None
    fallback = None
    for key in _SERVICE_TIER_KEYS:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            if value.lower() not in _UNDECIDED_TIERS:
                return value
            fallback = fallback or value
    return fallback
