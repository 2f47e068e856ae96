"""The context a counted call runs in: attribution from the baggage, privacy, counting once.

Attribution: a call is attributed to what the W3C Baggage of its context names
(``customer.id`` ...; see :mod:`.attribution`), merged with what the call names itself. What one
set of baggage entries means is worked out once (:func:`baggage_attribution`): a process mostly
sees the same few baggages in a row, so the last one is kept and compared.

Privacy: while the SDK method runs, the attribution keys are removed from the W3C Baggage of
the context (:meth:`BaggageAttribution.context_without_attribution`; the span stays current),
so the SDK's trace-context propagation and HTTP client instrumentations do not send customer
ids to the provider in a ``baggage`` header. The call's attribution stays in the context under
a key of ours that no propagator reads (:func:`attribution_in_context`), so the spans other
instrumentations start inside the call (OpenInference's, an HTTP client's) still carry it.

Counting once: while a counted call's SDK method runs, its context holds the call
(:class:`RunningCall` under ``ACTIVE_CALL_KEY``; :func:`call_context`, :func:`is_call_active`): a
nested wrapped call (``stream()`` calling ``create()``, ``parse()`` calling ``create()``) is NOT
counted again. That one value carries everything the call keeps in its context -- its
attribution and its end attributes, where the SDK's HTTP attempts are recorded
(``_dimensions``) -- since each ``context.set_value`` copies the context. ``LATER`` marks the
time an async stream helper builds its manager (see ``_wrapper.count_when_awaited``). Our span
carries ``costledger.counted = true``; when the span current at the call is another
instrumentation's span for the same LLM call (a CLIENT span with a GenAI chat / completion /
embeddings operation, e.g. OpenLLMetry wrapping outside us, or an OpenInference ``LLM`` /
``EMBEDDING`` span current around our call), :func:`mark_enclosing_span` marks it
``costledger.counted = false`` so that the ledger counts the call once. (OpenInference's
LangChain span is not current while the model runs: it is a sibling of ours, and the ledger's
dedupe counts the two once.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from . import attributes as A
from ._setup import SCOPE_NAME
from .attribution import attribution_in, current_attribution

# Context key holding the counted call whose SDK method runs (a ``RunningCall``): nested
# wrapped calls are not counted.
ACTIVE_CALL_KEY: Final = otel_context.create_key("costledger-counted-call")

# Context key holding attribution taken out of the baggage where no call of ours is counted (the
# requests of an SDK whose calls others report, ``_mistralai``): spans started there get it.
KEPT_ATTRIBUTION_KEY: Final = otel_context.create_key("costledger-kept-attribution")

# The value of the active-call context key while an async stream helper builds its manager:
# calls of wrapped methods made then start their counted call when awaited, not when made.
LATER: Final = object()

# Operations that are one LLM call; a span of another instrumentation with one of these, current
# when our call starts, describes the same call.
LLM_CALL_OPERATIONS: Final = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings", "completion"}
)

NO_ATTRIBUTION: Final[Mapping[str, str]] = {}


class RunningCall:
    """The counted call whose SDK method runs, as its context holds it (``ACTIVE_CALL_KEY``).

    ``attribution``: the call's (the baggage's merged with what the call named; the baggage
    has none while the SDK method runs); ``end_attributes``: the dict ``LLMCall`` sets on its
    span when it ends (``LLMCall.end_attributes``).
    """

    __slots__ = ("attribution", "end_attributes")

    def __init__(
        self, attribution: Mapping[str, str], end_attributes: dict[str, AttributeValue]
    ) -> None:
        self.attribution = attribution
        self.end_attributes = end_attributes


def running_call(ctx: Context | None = None) -> RunningCall | None:
    """The counted call whose SDK method runs in ``ctx`` (default: the current context)."""
    found = otel_context.get_value(ACTIVE_CALL_KEY, ctx)
    return found if type(found) is RunningCall else None


def is_call_active() -> bool:
    """Whether a counted call's SDK method is running in the current context."""
    return type(otel_context.get_value(ACTIVE_CALL_KEY)) is RunningCall


class BaggageAttribution:
    """What one set of baggage entries means for a call, worked out once.

    ``entries``: a copy of the baggage's entries; ``attribution``: the attribution among them;
    ``kept``: the entries that are not attribution (what the SDK may still propagate).
    """

    __slots__ = ("_last", "attribution", "entries", "kept")

    def __init__(self, entries: Mapping[str, object]) -> None:
        self.entries = dict(entries)
        self.attribution: dict[str, str] = attribution_in(entries)
        self.kept = (
            {k: v for k, v in entries.items() if k not in self.attribution}
            if self.attribution
            else self.entries
        )
        # The last context cleaned and the result, as one tuple (one assignment, so threads
        # never see a mismatched pair): the calls of one request share their context.
        self._last: tuple[Context, Context] | None = None

    def context_without_attribution(self, ctx: Context) -> Context:
        """``ctx`` with the attribution entries taken out of its baggage."""
        if not self.attribution:
            return ctx
        last = self._last
        if last is not None and last[0] is ctx:  # contexts are immutable: the same answer
            return last[1]
        clean = ctx
        if len(self.kept) < len(self.attribution):
            clean = baggage.clear(clean)
            for key, value in self.kept.items():
                clean = baggage.set_baggage(key, value, clean)
        else:
            for key in self.attribution:
                clean = baggage.remove_baggage(key, clean)
        self._last = (ctx, clean)
        return clean


# The baggage of the last call that had one.
_last_baggage: BaggageAttribution | None = None


def baggage_attribution(ctx: Context) -> BaggageAttribution | None:
    """What the baggage of ``ctx`` means for a call (``None``: it has no baggage)."""
    global _last_baggage
    entries = baggage.get_all(ctx)
    if not entries:
        return None
    found = _last_baggage
    if found is None or found.entries != entries:
        found = _last_baggage = BaggageAttribution(entries)
    return found


def call_context(
    span: Span,
    ctx: Context,
    found: BaggageAttribution | None,
    attribution: Mapping[str, str] = NO_ATTRIBUTION,
    *,
    end_attributes: dict[str, AttributeValue],
) -> Context:
    """The context the SDK method runs in: ``span`` current, the call marked active, and no
    attribution in the baggage that the SDK and HTTP instrumentations may send along.

    The call's ``attribution`` (the baggage's merged with what the call named) is kept in its
    :class:`RunningCall` instead, under a context key of ours that no propagator sends: spans
    that other instrumentations start inside the call get it from there
    (:func:`attribution_in_context`). The call's ``end_attributes`` (``LLMCall.end_attributes``)
    are kept there too, for the SDK's HTTP attempts (``_dimensions``)."""
    if found is not None:
        ctx = found.context_without_attribution(ctx)
    running = RunningCall(attribution, end_attributes)
    return otel_context.set_value(ACTIVE_CALL_KEY, running, trace.set_span_in_context(span, ctx))


def attribution_in_context(ctx: Context | None = None) -> Mapping[str, str]:
    """The attribution of ``ctx`` (default: the current one): that of the counted call running
    in it, else what :func:`context_keeping_attribution` kept, else the baggage's."""
    running = otel_context.get_value(ACTIVE_CALL_KEY, ctx)
    if type(running) is RunningCall and running.attribution:
        return running.attribution
    kept = otel_context.get_value(KEPT_ATTRIBUTION_KEY, ctx)
    if kept is not None:
        return kept  # type: ignore[return-value]  # only context_keeping_attribution sets it
    return current_attribution(ctx)


def context_keeping_attribution(ctx: Context) -> Context | None:
    """``ctx`` with its attribution out of the baggage and under a key of ours, for requests
    that no counted call of ours covers (None: nothing to take out, or a counted call runs,
    whose context is clean already)."""
    if running_call(ctx) is not None:
        return None
    found = baggage_attribution(ctx)
    if found is None or not found.attribution:
        return None
    clean = found.context_without_attribution(ctx)
    return otel_context.set_value(KEPT_ATTRIBUTION_KEY, found.attribution, clean)


def mark_enclosing_span(parent: Span) -> None:
    """Mark another instrumentation's span of this same LLM call as not counted."""
    if not parent.is_recording():
        return
    attrs = getattr(parent, "attributes", None)
    if not attrs:
        return
    scope = getattr(parent, "instrumentation_scope", None)
    if scope is not None and scope.name == SCOPE_NAME:
        return
    openinference_kind = attrs.get(A.OPENINFERENCE_SPAN_KIND)
    if openinference_kind is not None:
        # OpenInference's LLM span of a framework call (LangChain, LlamaIndex) around ours.
        if str(openinference_kind).upper() in A.OPENINFERENCE_CALL_KINDS:
            parent.set_attribute(A.COUNTED, False)
        return
    if getattr(parent, "kind", None) is not SpanKind.CLIENT:
        return
    if attrs.get(A.GEN_AI_OPERATION_NAME) in LLM_CALL_OPERATIONS or attrs.get("llm.request.type"):
        parent.set_attribute(A.COUNTED, False)
