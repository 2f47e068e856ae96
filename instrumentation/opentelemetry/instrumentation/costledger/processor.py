"""``CostLedgerSpanProcessor``: attribution on every GenAI span, whoever made it.

Our own LLM call spans carry their attribution from the start (so head samplers see it). Other
instrumentations' GenAI spans -- the anthropic SDK's own ``anthropic.messages.create`` spans,
``opentelemetry-instrumentation-genai-*`` / ``-openai-v2``, OpenLLMetry, OpenLIT -- do not know our
keys; this processor adds them when such a span starts, so Jaeger, the collector's tail sampler
and the ledger see ``customer.id`` & co. on them too. A span is a GenAI span when it starts with a
``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.system`` or ``llm.request.type``
attribute. Attributes the span already has are left alone.

It also keeps the ledger from counting a call twice: a GenAI LLM-call span that starts *inside*
one of our counted spans (the anthropic SDK's native span nests in ours, as do the spans of an
instrumentation wrapping inside us) is the same call, so it gets ``costledger.counted = false``
and the attribution of our span (including what the call's ``metadata=`` named).

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

(``instrument(tracer_provider=provider)`` would add it too; adding it first yourself is fine, it
is never added twice.) Head samplers run before any processor, so they see the attribution of
our own spans only; tail sampling in the collector sees it everywhere.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind

from . import attributes as A
from ._calls import LLM_CALL_OPERATIONS, SCOPE_NAME
from .attribution import current_attribution

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

_GENAI_MARKERS: Final = (
    A.GEN_AI_OPERATION_NAME,
    A.GEN_AI_PROVIDER_NAME,
    A.GEN_AI_SYSTEM,
    "llm.request.type",
)


class CostLedgerSpanProcessor(SpanProcessor):
    """Adds attribution to GenAI spans at start; marks nested duplicates of a counted call."""

    def __init__(self) -> None:
        # Switched off by ``CostLedgerInstrumentor.uninstrument()`` for the processor it added
        # (an SDK provider cannot remove a processor); one added by hand stays on.
        self.enabled = True
        self.added_by_instrumentor = False

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not self.enabled:
            return
        try:
            self._on_start(span, parent_context)
        except Exception:
            logger.debug("costledger: span processor failed on a span", exc_info=True)

    def _on_start(self, span: Span, parent_context: Context | None) -> None:
        scope = span.instrumentation_scope
        if scope is not None and scope.name == SCOPE_NAME:
            return  # ours: attribution set at start
        attrs = span.attributes
        if not attrs or not any(key in attrs for key in _GENAI_MARKERS):
            return
        parent = trace.get_current_span(parent_context)
        parent_attrs = getattr(parent, "attributes", None)
        parent_scope = getattr(parent, "instrumentation_scope", None)
        if (
            parent_attrs
            and parent_scope is not None
            and parent_scope.name == SCOPE_NAME
            and parent_attrs.get(A.COUNTED) is True
            and parent.is_recording()
        ):
            # Inside our counted span: same LLM call when it is a call-shaped span.
            if span.kind is SpanKind.CLIENT and (
                attrs.get(A.GEN_AI_OPERATION_NAME) in LLM_CALL_OPERATIONS
                or "llm.request.type" in attrs
            ):
                span.set_attribute(A.COUNTED, False)
            found = {k: parent_attrs[k] for k in A.ATTRIBUTION_KEYS if k in parent_attrs}
        else:
            found = dict(current_attribution(parent_context))
        for key, value in found.items():
            if key not in attrs:
                span.set_attribute(key, value)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# The processor of each provider this process saw (added by us or by hand): never add a second.
_providers_with_processor: weakref.WeakKeyDictionary[Any, CostLedgerSpanProcessor] = (
    weakref.WeakKeyDictionary()
)


def ensure_processor(tracer_provider: Any) -> CostLedgerSpanProcessor | None:
    """The attribution processor of ``tracer_provider``, added now unless it has one.

    Returns the processor (ours or one added by hand), or ``None`` when the provider takes no
    processors (the no-op or proxy provider before the application set an SDK one).
    """
    add = getattr(tracer_provider, "add_span_processor", None)
    if add is None:
        return None
    try:
        existing = _providers_with_processor.get(tracer_provider)
        if existing is not None:
            return existing
        for registered in _registered_processors(tracer_provider):
            if isinstance(registered, CostLedgerSpanProcessor):
                _providers_with_processor[tracer_provider] = registered
                return registered
        processor = CostLedgerSpanProcessor()
        processor.added_by_instrumentor = True
        add(processor)
        _providers_with_processor[tracer_provider] = processor
        return processor
    except Exception:
        logger.warning("costledger: could not add the attribution span processor", exc_info=True)
        return None


def _registered_processors(tracer_provider: Any) -> tuple[Any, ...]:
    # The SDK keeps them on its multi-span processor; read defensively (private, may change).
    multi = getattr(tracer_provider, "_active_span_processor", None)
    return tuple(getattr(multi, "_span_processors", ()) or ())
