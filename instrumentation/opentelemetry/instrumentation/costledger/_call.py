"""One counted LLM call: what it is about to do, its span, usage and cost.

A provider package (``_anthropic/``, ``_openai/``) describes *what* a call is; this module and
the call's wrapper (``_wrapper.py``) do everything else: the span (CLIENT kind, named
``{operation} {request model}``), its request attributes and attribution, usage and cost,
``error.type`` and ERROR status, and ending the span exactly once. Nothing here ever breaks the
user's call: our failures are logged at DEBUG/WARNING and the call goes on.

``CallRequest(provider, operation, model, args, kwargs, attributes=None, attribution=None,
batch=False, state=None)``
    What a call is about to do: the GenAI provider name (``"anthropic"``), the operation
    (``"chat"``, ``"embeddings"``), the requested model, the positional/keyword arguments to call
    the SDK with (e.g. with attribution keys stripped out of ``metadata``), extra request
    attributes (``gen_ai.request.max_tokens`` ...; a fresh dict per call: it becomes the span's
    start attributes, the call's own are added to it), and attribution named by the call itself
    (from ``metadata``, it wins over the context). ``state``: the adapter's own per-call data,
    read back in ``result`` as ``call.state``.

``start_call(tracer, request, ctx=None) -> LLMCall``
    Start the call's span in ``ctx`` (default: the current context), with the attribution of
    the context's baggage merged with the request's, and build the context the SDK method runs
    in (see ``_context.py``). With the budget guard on in ``raise`` mode (``guard.py``), a call
    over a hard limit ends its span at once and raises :class:`~.guard.BudgetExceeded`: the
    one exception of ours that callers let through (the SDK method is then never called).

``LLMCall`` -- the call in flight (``call``):
    ``call.span`` (the OTel span; set extra attributes on it freely), ``call.end_attributes``
    (the dict set on the span in one go at the end; adapters may write to it directly),
    ``call.usage`` (assign a :class:`~.usage.TokenUsage`; ``input_tokens`` INCLUDES cache
    read+write, ``output_tokens`` INCLUDES reasoning), ``call.set_response(model=, response_id=,
    finish_reasons=, service_tier=)``, ``call.batch = True`` for batch-priced usage,
    ``call.capture_content`` (whether content may go on the span;
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``call.set_content(input_messages,
    output_messages, system_instructions)`` (JSON on the GenAI content attributes; no-op unless
    capture is on), ``call.end(error=None)`` (idempotent: sets usage and cost attributes, error
    status, ends the span, records the metrics).

Cost: ``call.end()`` prices the usage with ``pricing.get_price_book(file).price_counts(...)``
at the call's end and keeps it on the call (``call.cost_nanos``, integer nano-units of
``call.cost_currency``; ``None`` when unpriced), which the metrics read. On the span:
``costledger.cost.amount`` (the exact decimal text of :func:`.money.nanos_to_text`),
``costledger.cost.currency``, ``costledger.cost.source`` (the price rule) -- or
``costledger.cost.unpriced_reason``. The price book is the one ``pricing`` keeps for the
``COSTLEDGER_PRICES`` that ``instrument()`` read (``_setup.SETTINGS``); the price module, with
genai-prices and pydantic under it, is imported on the first priced call, not when the
instrumentation is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from time import time_ns
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from . import attributes as A
from . import guard
from ._context import (
    NO_ATTRIBUTION,
    baggage_attribution,
    call_context,
    mark_enclosing_span,
)
from ._dimensions import add_call_dimensions
from ._setup import SETTINGS, run_deferred
from .attribution import merge_attribution
from .metrics import record_call_metrics
from .money import nanos_to_text
from .usage import TokenUsage

if TYPE_CHECKING:
    from .pricing import PriceBook

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

_NO_ATTRIBUTES: Final[Mapping[str, AttributeValue]] = {}


class CallRequest:
    """What a call is about to do (see the module docstring); built once per call."""

    __slots__ = (
        "args",
        "attributes",
        "attribution",
        "batch",
        "kwargs",
        "model",
        "operation",
        "provider",
        "state",
    )

    def __init__(
        self,
        provider: str,
        operation: str,
        model: str | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attributes: Mapping[str, AttributeValue] | None = None,
        attribution: Mapping[str, str] | None = None,
        batch: bool = False,
        state: Any = None,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.model = model
        self.args = args
        self.kwargs = kwargs
        # Not copied: ``start_call`` adds the span's other start attributes to this dict (a
        # mapping of another type, or none, is copied first); empty attributions stay shared.
        self.attributes: Mapping[str, AttributeValue] = attributes or _NO_ATTRIBUTES
        self.attribution: Mapping[str, str] = attribution or NO_ATTRIBUTION
        self.batch = batch
        # The adapter's own per-call data, handed to ``adapter.result`` as ``call.state``.
        self.state = state


# --- the price book ---------------------------------------------------------------------------
# ``pricing.get_price_book``, imported on the first priced call (it loads genai-prices).
_get_price_book: Callable[[str], PriceBook] | None = None
# Why there is no price book, for each reason already logged (a warning once, not per call).
_warned: set[str] = set()


def _price_book() -> PriceBook | str:
    """The book of the price file ``instrument()`` found (``SETTINGS.price_file``), or why there
    is none."""
    global _get_price_book
    try:
        if _get_price_book is None:
            from .pricing import get_price_book

            _get_price_book = get_price_book
        return _get_price_book(SETTINGS.price_file)
    except Exception as exc:
        reason = f"price book unavailable: {type(exc).__name__}: {exc}"
        if reason not in _warned:
            _warned.add(reason)
            logger.warning("costledger: %s; LLM call spans carry no cost", reason)
        return reason


class LLMCall:
    """One counted LLM call in flight; see the module docstring."""

    __slots__ = (
        "_ended",
        "batch",
        "capture_content",
        "context",
        "cost_currency",
        "cost_nanos",
        "end_attributes",
        "provider",
        "request_model",
        "response_model",
        "service_tier",
        "span",
        "state",
        "usage",
    )

    def __init__(
        self,
        span: Span,
        request: CallRequest,
        context: Context,
        end_attributes: dict[str, AttributeValue],
    ) -> None:
        self.span = span
        self.provider = request.provider
        self.request_model = request.model
        self.response_model: str | None = None
        self.service_tier: str | None = None
        self.usage: TokenUsage | None = None
        self.batch = request.batch
        self.state = request.state
        self.capture_content = SETTINGS.capture_content
        # The context the SDK method runs in (``_context.call_context``).
        self.context = context
        self._ended = False
        # The priced cost, set by ``end``: nano-units of ``cost_currency``; None = unpriced.
        self.cost_nanos: int | None = None
        self.cost_currency: str | None = None
        # Attributes known at the end, set on the span in one go (one lock, one validation
        # pass); adapters may add to it directly, and the HTTP attempts are recorded in it
        # through ``context`` (``_dimensions``).
        self.end_attributes = end_attributes

    @property
    def ended(self) -> bool:
        return self._ended

    def set_response(
        self,
        model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] | None = None,
        service_tier: str | None = None,
    ) -> None:
        attrs = self.end_attributes
        if model:
            self.response_model = model
            attrs[A.GEN_AI_RESPONSE_MODEL] = model
        if response_id:
            attrs[A.GEN_AI_RESPONSE_ID] = response_id
        if finish_reasons:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = list(finish_reasons)
        if service_tier:
            self.service_tier = service_tier
            attrs[A.GEN_AI_RESPONSE_SERVICE_TIER] = service_tier

    def set_content(
        self,
        input_messages: object = None,
        output_messages: object = None,
        system_instructions: object = None,
    ) -> None:
        """Content as JSON on the GenAI content attributes, only when capture is turned on."""
        if not self.capture_content:
            return
        for key, value in (
            (A.GEN_AI_INPUT_MESSAGES, input_messages),
            (A.GEN_AI_OUTPUT_MESSAGES, output_messages),
            (A.GEN_AI_SYSTEM_INSTRUCTIONS, system_instructions),
        ):
            if value is not None:
                self.end_attributes[key] = json.dumps(value, default=str, ensure_ascii=False)

    def end(self, error: BaseException | None = None) -> None:
        """End the span once: usage, cost, status. Later calls do nothing. Never raises."""
        if self._ended:
            return
        self._ended = True
        span = self.span
        try:
            attrs = self.end_attributes
            if self.usage is not None:
                self._record_usage(self.usage, attrs)
            failed = error is not None and isinstance(error, Exception)
            if failed:
                attrs[A.ERROR_TYPE] = type(error).__qualname__
            if attrs:
                span.set_attributes(attrs)
            if failed:
                span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
        except Exception:
            logger.debug("costledger: could not record the end of an LLM call", exc_info=True)
        finally:
            span.end()
            # Optional metrics (metrics.py; never raises, returns at once while they are off).
            record_call_metrics(self, error)

    def _record_usage(self, usage: TokenUsage, attrs: dict[str, AttributeValue]) -> None:
        (
            input_tokens,
            output_tokens,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            reasoning,
        ) = usage
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
        if cache_read:
            attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cache_read
        if cache_write_5m or cache_write_1h:
            attrs[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = cache_write_5m + cache_write_1h
            # No split attributes means all writes are 5-minute ones (the common case).
            if cache_write_1h:
                attrs[A.COSTLEDGER_USAGE_CACHE_WRITE_5M_TOKENS] = cache_write_5m
                attrs[A.COSTLEDGER_USAGE_CACHE_WRITE_1H_TOKENS] = cache_write_1h
        if reasoning:
            attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = reasoning
        if self.batch:
            attrs[A.COSTLEDGER_BATCH] = True
        book = _price_book()
        if isinstance(book, str):
            attrs[A.COST_UNPRICED_REASON] = book
            return
        try:
            nanos, rule, reason, currency = book.price_counts(
                self.provider,
                self.response_model or self.request_model,
                time_ns(),
                input_tokens,
                output_tokens,
                cache_read,
                cache_write_5m,
                cache_write_1h,
                reasoning,
                self.service_tier,
                self.batch,
            )
        except Exception as exc:
            logger.debug("costledger: pricing failed", exc_info=True)
            attrs[A.COST_UNPRICED_REASON] = f"pricing failed: {type(exc).__name__}"
            return
        if nanos is None:
            attrs[A.COST_UNPRICED_REASON] = reason or "unpriced"
            return
        self.cost_nanos = nanos
        self.cost_currency = currency
        attrs[A.COST_AMOUNT] = nanos_to_text(nanos)
        attrs[A.COST_CURRENCY] = currency
        if rule:
            attrs[A.COST_SOURCE] = rule


def start_call(tracer: Tracer, request: CallRequest, ctx: Context | None = None) -> LLMCall:
    """Start the span of a counted call in ``ctx`` (default: the current context).

    Raises only on a bug of ours; callers guard.
    """
    run_deferred()
    if ctx is None:
        ctx = otel_context.get_current()
    parent = trace.get_current_span(ctx)
    if parent.is_recording():  # another instrumentation's span of this call, perhaps
        mark_enclosing_span(parent)
    found = baggage_attribution(ctx)
    attribution = NO_ATTRIBUTION if found is None else found.attribution
    if request.attribution:
        attribution = merge_attribution(attribution, request.attribution)
    model = request.model
    operation = request.operation
    # The request's own attribute dict is the span's (one dict per call, not two).
    given = request.attributes
    attrs: dict[str, AttributeValue] = (
        given if isinstance(given, dict) and given is not _NO_ATTRIBUTES else dict(given)
    )
    attrs[A.GEN_AI_PROVIDER_NAME] = request.provider
    attrs[A.GEN_AI_OPERATION_NAME] = operation
    attrs[A.COUNTED] = True
    if model:
        attrs[A.GEN_AI_REQUEST_MODEL] = model
        name = f"{operation} {model}"
    else:
        name = operation
    if attribution:
        attrs.update(attribution)
    add_call_dimensions(
        attrs, request.provider, operation, model, request.args, request.kwargs, parent
    )
    # The budget guard (guard.py): one check while it is off; a lookup per scope when on. A
    # batch's results were sent long ago: nothing to stop.
    stopped = None if guard.ACTIVE is None or request.batch else guard.ACTIVE.check(attrs)
    span = tracer.start_span(name, ctx, SpanKind.CLIENT, attrs)
    end_attributes: dict[str, AttributeValue] = {}
    context = call_context(span, ctx, found, attribution, end_attributes=end_attributes)
    call = LLMCall(span, request, context, end_attributes)
    if stopped is not None:
        call.end(stopped)  # the span records the stop; nothing was sent
        raise stopped
    return call
