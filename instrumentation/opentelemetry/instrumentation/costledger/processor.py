"""``CostLedgerSpanProcessor``: attribution on every span, whoever made it.

Our own LLM call spans carry their attribution from the start (so head samplers see it). Other
instrumentations' GenAI spans -- the anthropic SDK's own ``anthropic.messages.create`` spans,
``opentelemetry-instrumentation-genai-*`` / ``-openai-v2``, OpenLLMetry, OpenLIT -- do not know our
keys; this processor adds them when such a span starts, so Jaeger, the collector's tail sampler
and the ledger see ``customer.id`` & co. on them too. A span is a GenAI span when it starts with a
``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.system``, ``llm.request.type`` or
``openinference.span.kind`` attribute. Attributes the span already has are left alone.

Every other span started inside :func:`~.attribution.attribute_to` (or under incoming baggage
that names a customer) gets the attribution too -- the HTTP server span, the database queries,
the vector search of the request. That is what lets Jaeger find a customer's whole request by
``customer.id``, and what ``costledger serve`` counts per customer and day as the "log events"
an observability bill is split by (``driver = "log_events"``): a span without ``customer.id`` is
counted for no customer. ``OTEL_INSTRUMENTATION_COSTLEDGER_ATTRIBUTE_ALL_SPANS=false`` (or
``CostLedgerSpanProcessor(attribute_all_spans=False)``) limits it to GenAI spans again. A span
started outside any attribution costs one empty baggage lookup.

Inside one of our counted calls the baggage carries no attribution (it is kept from the
provider); the call's attribution, including what its ``metadata=`` named, is read from a
context key of ours instead, so every span started while the SDK runs carries it too.

It also keeps the ledger from counting a call twice: an LLM-call span that starts *inside*
one of our counted calls (the anthropic SDK's native span nests in ours, as do the spans of an
instrumentation wrapping inside us, e.g. OpenInference's ``LLM`` span around the openai client's
request) is the same call, so it gets ``costledger.counted = false``.

Under ``opentelemetry-instrument`` the instrumentor adds it to the SDK tracer provider for you
(once per provider). Otherwise add it yourself, before or after the exporters' processors (it
works at span start, exporters at span end)::

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.instrumentation.costledger import (
        CostLedgerInstrumentor, CostLedgerSpanProcessor)

    provider = TracerProvider()
    provider.add_span_processor(CostLedgerSpanProcessor())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    CostLedgerInstrumentor().instrument(tracer_provider=provider)

(``instrument(tracer_provider=provider)`` would add it too; adding it yourself as well is fine:
when two of them sit on one provider, the first that is on does the work for each span and the
other does nothing.) Head samplers run before any processor, so they see the attribution of
our own spans only; tail sampling in the collector sees it everywhere.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind

from . import attributes as A
from ._context import LLM_CALL_OPERATIONS, attribution_in_context, running_call
from ._dimensions import enclosing_agent
from ._setup import SCOPE_NAME

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

_GENAI_MARKERS: Final = (
    A.GEN_AI_OPERATION_NAME,
    A.GEN_AI_PROVIDER_NAME,
    A.GEN_AI_SYSTEM,
    "llm.request.type",
    A.OPENINFERENCE_SPAN_KIND,
)

ATTRIBUTE_ALL_SPANS_ENV: Final = "OTEL_INSTRUMENTATION_COSTLEDGER_ATTRIBUTE_ALL_SPANS"


def _attribute_all_spans_default() -> bool:
    value = os.environ.get(ATTRIBUTE_ALL_SPANS_ENV, "").strip().lower()
    if value in ("", "true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    logger.warning(
        "costledger: %s=%r is neither true nor false; attributing every span (the default)",
        ATTRIBUTE_ALL_SPANS_ENV,
        value,
    )
    return True


class CostLedgerSpanProcessor(SpanProcessor):
    """Adds attribution to spans at start; marks nested duplicates of a counted call.

    ``attribute_all_spans``: every span (the default, or as
    ``$OTEL_INSTRUMENTATION_COSTLEDGER_ATTRIBUTE_ALL_SPANS`` says) or GenAI spans only.
    """

    def __init__(self, attribute_all_spans: bool | None = None) -> None:
        # Switched off by ``CostLedgerInstrumentor.uninstrument()`` for the processor it added
        # (an SDK provider cannot remove a processor); one added by hand stays on.
        self.enabled = True
        self.added_by_instrumentor = False
        self.attribute_all_spans = (
            _attribute_all_spans_default() if attribute_all_spans is None else attribute_all_spans
        )

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        global _last_handled
        try:
            # Our own call spans carry their attribution from the start and are most of the
            # spans this sees in an LLM-heavy app: leave them first, with no further call.
            scope = span.instrumentation_scope
            if not self.enabled or (scope is not None and scope.name == SCOPE_NAME):
                return
            # A provider calls its processors one after the other for the same span: when the
            # instrumentor's processor and one added by hand are both on it, the span is still
            # handled once. (Another thread in between only means the work is done twice,
            # which changes nothing: the work is idempotent.)
            handled = span.get_span_context()
            if handled is _last_handled:
                return
            _last_handled = handled
            self._on_start(span, parent_context)
        except Exception:
            logger.debug("costledger: span processor failed on a span", exc_info=True)

    def _on_start(self, span: Span, parent_context: Context | None) -> None:
        attrs = span.attributes
        if not attrs or not any(key in attrs for key in _GENAI_MARKERS):
            if self.attribute_all_spans:
                found = attribution_in_context(parent_context)
                _add_missing(span, _with_agent(found, parent_context), attrs)
            return
        if _inside_counted_call(parent_context) and _is_call_shaped(span, attrs):
            # Started while our counted call runs: another report of the same LLM call.
            span.set_attribute(A.COUNTED, False)
        found = attribution_in_context(parent_context)
        _add_missing(span, _with_agent(found, parent_context), attrs)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _inside_counted_call(parent_context: Context | None) -> bool:
    """Whether a span starting in ``parent_context`` starts inside one of our counted calls."""
    if running_call(parent_context) is not None:
        return True
    # Our span itself current without the call's context (a span started in its context).
    parent = trace.get_current_span(parent_context)
    parent_attrs = getattr(parent, "attributes", None)
    parent_scope = getattr(parent, "instrumentation_scope", None)
    return bool(
        parent_attrs
        and parent_scope is not None
        and parent_scope.name == SCOPE_NAME
        and parent_attrs.get(A.COUNTED) is True
        and parent.is_recording()
    )


def _is_call_shaped(span: Span, attrs: Mapping[str, Any]) -> bool:
    """A span that reports one LLM call (not an agent, a chain, a tool or an HTTP request)."""
    kind = attrs.get(A.OPENINFERENCE_SPAN_KIND)
    if kind is not None:
        return str(kind).upper() in A.OPENINFERENCE_CALL_KINDS
    return span.kind is SpanKind.CLIENT and (
        attrs.get(A.GEN_AI_OPERATION_NAME) in LLM_CALL_OPERATIONS or "llm.request.type" in attrs
    )


# The span context of the last span a processor handled (see ``on_start``).
_last_handled: object = None


def _with_agent(found: Mapping[str, Any], parent_context: Context | None) -> Mapping[str, Any]:
    """``found``, plus the agent of an enclosing agent span of another producer when the
    attribution names none (see ``_dimensions``)."""
    if A.GEN_AI_AGENT_NAME in found:
        return found
    agent = enclosing_agent(trace.get_current_span(parent_context))
    return found if agent is None else {**found, A.GEN_AI_AGENT_NAME: agent}


def _add_missing(span: Span, found: Mapping[str, Any], attrs: Mapping[str, Any] | None) -> None:
    missing = {k: v for k, v in found.items() if not attrs or k not in attrs}
    if missing:
        span.set_attributes(missing)


# The processor the instrumentor added to each provider: never a second one.
_providers_with_processor: weakref.WeakKeyDictionary[Any, CostLedgerSpanProcessor] = (
    weakref.WeakKeyDictionary()
)


def ensure_processor(tracer_provider: Any) -> CostLedgerSpanProcessor | None:
    """The attribution processor the instrumentor added to ``tracer_provider``, added now
    unless it was already (through the SDK provider's public ``add_span_processor``).

    Returns ``None`` when the provider takes no processors (the no-op or proxy provider before
    the application set an SDK one). One added by hand as well is harmless: see ``on_start``.
    """
    add = getattr(tracer_provider, "add_span_processor", None)
    if add is None:
        return None
    try:
        existing = _providers_with_processor.get(tracer_provider)
        if existing is not None:
            return existing
        processor = CostLedgerSpanProcessor()
        processor.added_by_instrumentor = True
        add(processor)
        _providers_with_processor[tracer_provider] = processor
        return processor
    except Exception:
        logger.warning("costledger: could not add the attribution span processor", exc_info=True)
        return None
