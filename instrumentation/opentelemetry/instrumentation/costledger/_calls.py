"""The life of one counted LLM call on a span, shared by every provider module.

A provider module (``_anthropic.py``, ``_openai.py``) describes *what* a call is; this module does
*everything else*: the span (CLIENT kind, named ``{operation} {request model}``), its request
attributes and attribution, usage and cost, ``error.type`` and ERROR status, and ending the span
exactly once -- for plain results, coroutines and streams alike. Nothing here ever breaks the
user's call: our failures are logged at DEBUG/WARNING and the call goes on.

API for provider modules
------------------------

``CallRequest(provider, operation, model, args, kwargs, attributes=None, attribution=None,
batch=False, state=None)``
    What a call is about to do: the GenAI provider name (``"anthropic"``), the operation
    (``"chat"``, ``"embeddings"``), the requested model, the positional/keyword arguments to call
    the SDK with (e.g. with attribution keys stripped out of ``metadata``), extra request
    attributes (``gen_ai.request.max_tokens`` ...; a fresh dict per call: it becomes the span's
    start attributes, the call's own are added to it), and attribution named by the call itself
    (from ``metadata``, it wins over the context). ``state``: the adapter's own per-call data,
    read back in ``result`` as ``call.state``.

``CallAdapter`` (protocol) -- one object per wrapped SDK method:
    ``request(instance, args, kwargs) -> CallRequest | None``: describe the call; ``None`` means
    "not a counted call" (the SDK method runs untouched). May raise: the call then runs
    untouched and the error is logged.
    ``result(call, result) -> object``: record a finished call's result on ``call`` and end it
    (``call.end()``), or, for a stream, return ``wrap_stream(call, result, recorder)`` (which ends
    the call when the stream ends). What it returns is what the caller gets. If it raises, the
    error is logged, ``call`` is ended and the SDK's result is returned unchanged.

``CallWrapper(tracer, adapter)``
    A ``wrapt`` wrapper ``(wrapped, instance, args, kwargs)`` for
    ``wrapt.wrap_function_wrapper``. It works for sync methods and for ``async`` ones (also when
    the SDK method is a plain function returning a coroutine, as decorated SDK methods are): an
    awaitable result is awaited in a coroutine of ours with the call's span current. While the
    SDK method runs, the call's span is the current span (so spans the SDK or HTTP
    instrumentations make are its children) and a counted call is marked active in the context:
    a nested wrapped call (``stream()`` calling ``create()``, ``parse()`` calling ``create()``)
    is NOT counted again. ``wrapper.run(request, fn)`` runs ``fn()`` as the counted call
    described by ``request`` (for calls that do not start at a method call, e.g. a stream
    manager's ``__enter__``); ``wrapper.run_awaitable(request, awaitable)`` returns an awaitable
    that starts the call when it is awaited (in the context current then) and nothing before.

``count_when_awaited`` -- a ``wrapt`` wrapper for an async SDK stream helper that calls a wrapped
    ``create`` at once and keeps the un-awaited coroutine in the manager it returns (openai's
    ``AsyncCompletions.stream``, ``AsyncResponses.stream``). While the helper runs, a wrapped
    call's SDK coroutine is made as usual (its argument checks raise where they did), and the
    counted call -- span, usage, metrics -- starts when the manager awaits it on ``async with``.
    The rule for every stream manager: **the span starts when the request is made**. A manager
    never entered sends nothing and leaves no span, open or ended, and nothing is counted; if it
    is dropped, the only "coroutine ... was never awaited" warning is the SDK's own, as without
    us. Entered, it is one counted span, ended by the stream (exhausted, early exit, error).

``LLMCall`` -- the call in flight (``call`` above):
    ``call.span`` (the OTel span; set extra attributes on it freely), ``call.end_attributes``
    (the dict set on the span in one go at the end; adapters may write to it directly),
    ``call.usage`` (assign a :class:`~.usage.TokenUsage`; ``input_tokens`` INCLUDES cache
    read+write, ``output_tokens`` INCLUDES reasoning), ``call.set_response(model=, response_id=,
    finish_reasons=, service_tier=)``, ``call.batch = True`` for batch-priced usage,
    ``call.capture_content`` (whether content may go on the span;
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``call.set_content(input_messages,
    output_messages, system_instructions)`` (JSON on the GenAI content attributes; no-op unless
    capture is on), ``call.end(error=None)`` (idempotent: sets usage and cost attributes, error
    status, ends the span).

``StreamRecorder`` (protocol) -- one per stream:
    ``item(item) -> bool``: see each item the caller would see; return ``False`` to hide it from
    the caller (e.g. a usage-only chunk we asked for). ``finish(call)``: put what the stream
    showed (usage, response model ...) on ``call`` -- called once, when the stream ends for any
    reason (exhausted, closed, context-manager exit, error, garbage-collected after a ``break``).

``wrap_stream(call, stream, recorder)``
    (``call=None``: observe a stream without a span of its own.) A transparent proxy
    (``isinstance`` and every attribute pass through) of a sync or async SDK
    stream that feeds ``recorder`` and ends ``call`` exactly once: when iteration stops, raises,
    ``close()``/``aclose()``, ``__exit__``/``__aexit__``, or the proxy is garbage collected. An
    error raised by the stream ends the call with that error and passes through unchanged.

Cost: ``call.end()`` prices the usage with ``pricing.get_price_book().price_counts(...)`` at the
call's end and sets ``costledger.cost.amount`` (decimal string), ``costledger.cost.currency``,
``costledger.cost.source`` (the price rule) -- or ``costledger.cost.unpriced_reason``.

Privacy: while the SDK method runs, the attribution keys are removed from the W3C Baggage of
the context (the span stays current), so the SDK's trace-context propagation and HTTP client
instrumentations do not send customer ids to the provider in a ``baggage`` header.

Counting: our span carries ``costledger.counted = true``. When the span current at the call is
another instrumentation's span for the same LLM call (a CLIENT span with a GenAI chat / completion
/ embeddings operation, e.g. OpenLLMetry wrapping outside us), it is marked
``costledger.counted = false`` so that the ledger counts the call once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from time import time_ns
from typing import Any, Final, Protocol

import wrapt
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from . import attributes as A
from .attribution import attribution_in, merge_attribution
from .metrics import record_call_metrics
from .usage import TokenUsage

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

SCOPE_NAME: Final = "opentelemetry.instrumentation.costledger"
CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# Context key set while a counted call's SDK method runs: nested wrapped calls are not counted.
_ACTIVE_CALL_KEY: Final = otel_context.create_key("costledger-counted-call")

# Operations that are one LLM call; a span of another instrumentation with one of these, current
# when our call starts, describes the same call.
LLM_CALL_OPERATIONS: Final = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings", "completion"}
)


class Settings:
    """Process-wide switches, read from the environment when the instrumentor is turned on."""

    __slots__ = ("capture_content",)

    def __init__(self) -> None:
        self.capture_content = False
        self.reload()

    def reload(self) -> None:
        value = os.environ.get(CAPTURE_CONTENT_ENV, "")
        self.capture_content = value.strip().lower() in ("true", "1", "yes")


SETTINGS: Final = Settings()

# ``SpanKind.CLIENT`` read once: an enum member lookup goes through the enum's class machinery,
# which is slow next to reading a module global.
_CLIENT: Final = SpanKind.CLIENT


def get_tracer(tracer_provider: trace.TracerProvider | None = None) -> Tracer:
    from .version import __version__

    return trace.get_tracer(SCOPE_NAME, __version__, tracer_provider=tracer_provider)


# A set-up step that could not run at instrument() time (the app had no SDK tracer provider
# yet); tried again at each call start until it reports success.
_deferred: Callable[[], bool] | None = None


def defer(step: Callable[[], bool] | None) -> None:
    """Run ``step`` at the next call starts until it returns True (``None`` cancels)."""
    global _deferred
    _deferred = step


def _run_deferred() -> None:
    global _deferred
    step = _deferred
    if step is None:
        return
    try:
        done = step()
    except Exception:
        logger.debug("costledger: deferred set-up failed", exc_info=True)
        done = True
    if done:
        _deferred = None


def is_call_active() -> bool:
    """Whether a counted call's SDK method is running in the current context."""
    return otel_context.get_value(_ACTIVE_CALL_KEY) is True


class _BaggageAttribution:
    """What one set of baggage entries means for a call, worked out once.

    ``entries``: a copy of the baggage's entries; ``attribution``: the attribution among them;
    ``kept``: the entries that are not attribution (what the SDK may still propagate). A
    process mostly sees the same few baggages in a row, so the last one is kept and compared.
    """

    __slots__ = ("attribution", "entries", "kept")

    def __init__(self, entries: Mapping[str, object]) -> None:
        self.entries = dict(entries)
        self.attribution: dict[str, str] = attribution_in(entries)
        self.kept = (
            {k: v for k, v in entries.items() if k not in _ATTRIBUTION_KEY_SET}
            if self.attribution
            else self.entries
        )

    def context_without_attribution(self, ctx: Context) -> Context:
        """``ctx`` with the attribution entries taken out of its baggage."""
        if not self.attribution:
            return ctx
        if len(self.kept) < len(self.attribution):
            ctx = baggage.clear(ctx)
            for key, value in self.kept.items():
                ctx = baggage.set_baggage(key, value, ctx)
            return ctx
        for key in self.attribution:
            ctx = baggage.remove_baggage(key, ctx)
        return ctx


_NO_ATTRIBUTION: Final[Mapping[str, str]] = {}
# The baggage of the last call that had one.
_last_baggage: _BaggageAttribution | None = None


def _baggage_attribution(entries: Mapping[str, object]) -> _BaggageAttribution:
    global _last_baggage
    found = _last_baggage
    if found is None or found.entries != entries:
        found = _last_baggage = _BaggageAttribution(entries)
    return found


# --- pricing (lazy: genai-prices and pydantic load on the first priced call) -----------------
_price_book: Any = None
_price_book_error: str | None = None


def _book() -> Any:
    global _price_book, _price_book_error
    if _price_book is not None:
        return _price_book
    if _price_book_error is not None:
        return None
    try:
        from .pricing import get_price_book

        _price_book = get_price_book()
    except Exception as exc:
        _price_book_error = f"price book unavailable: {type(exc).__name__}: {exc}"
        logger.warning("costledger: %s; LLM call spans carry no cost", _price_book_error)
        return None
    return _price_book


def reset_price_book() -> None:
    """Forget the cached price book (it is fetched again on the next priced call)."""
    global _price_book, _price_book_error
    _price_book = None
    _price_book_error = None


# --- the call ---------------------------------------------------------------------------------
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
        self.attribution: Mapping[str, str] = attribution or _NO_ATTRIBUTION
        self.batch = batch
        # The adapter's own per-call data, handed to ``adapter.result`` as ``call.state``.
        self.state = state


_NO_ATTRIBUTES: Final[Mapping[str, AttributeValue]] = {}


class LLMCall:
    """One counted LLM call in flight; see the module docstring."""

    __slots__ = (
        "_ended",
        "batch",
        "capture_content",
        "context",
        "end_attributes",
        "provider",
        "request_model",
        "response_model",
        "service_tier",
        "span",
        "state",
        "usage",
    )

    def __init__(self, span: Span, request: CallRequest, context: Context) -> None:
        self.span = span
        self.provider = request.provider
        self.request_model = request.model
        self.response_model: str | None = None
        self.service_tier: str | None = None
        self.usage: TokenUsage | None = None
        self.batch = request.batch
        self.state = request.state
        self.capture_content = SETTINGS.capture_content
        # The context the SDK method runs in: the span current, the call marked active, and no
        # attribution in the baggage (it is for our ledger, not for the provider: the SDK and
        # any HTTP instrumentation under it would send the baggage along with the request).
        self.context = context
        self._ended = False
        # Attributes known at the end, set in one go (one lock, one validation pass); adapters
        # may add to it directly instead of calling ``set_response`` on a hot path.
        self.end_attributes: dict[str, AttributeValue] = {}

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
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = (
                finish_reasons if type(finish_reasons) is list else list(finish_reasons)
            )
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
        book = _price_book if _price_book is not None else _book()
        if book is None:
            attrs[A.COST_UNPRICED_REASON] = _price_book_error or "no price book"
            return
        try:
            # The counts and the instant as they are (no datetime, no result object built).
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
        attrs[A.COST_AMOUNT] = (
            # printf-style: cheaper than an f-string's ``:09d`` format spec, on every call.
            "%d.%09d" % divmod(nanos, 1_000_000_000)  # noqa: UP031
            if nanos >= 0
            else _decimal_string(nanos)
        )
        attrs[A.COST_CURRENCY] = currency
        if rule:
            attrs[A.COST_SOURCE] = rule


def _decimal_string(nanos: int) -> str:
    """Nano-dollars as an exact decimal string, ``262000`` -> ``"0.000262000"``."""
    whole, frac = divmod(abs(nanos), 1_000_000_000)
    return f"{'-' if nanos < 0 else ''}{whole}.{frac:09d}"


_ATTRIBUTION_KEY_SET: Final = frozenset(A.ATTRIBUTION_KEYS)


def _mark_enclosing_span(parent: Span) -> None:
    """Mark another instrumentation's span of this same LLM call as not counted."""
    if not parent.is_recording():
        return
    attrs = getattr(parent, "attributes", None)
    if not attrs or getattr(parent, "kind", None) is not SpanKind.CLIENT:
        return
    scope = getattr(parent, "instrumentation_scope", None)
    if scope is not None and scope.name == SCOPE_NAME:
        return
    if attrs.get(A.GEN_AI_OPERATION_NAME) in LLM_CALL_OPERATIONS or attrs.get("llm.request.type"):
        parent.set_attribute(A.COUNTED, False)


def start_call(tracer: Tracer, request: CallRequest, ctx: Context | None = None) -> LLMCall:
    """Start the span of a counted call in ``ctx`` (default: the current context).

    Raises only on a bug of ours; callers guard.
    """
    if _deferred is not None:
        _run_deferred()
    if ctx is None:
        ctx = otel_context.get_current()
    _mark_enclosing_span(trace.get_current_span(ctx))
    found = None
    attribution = _NO_ATTRIBUTION
    entries = baggage.get_all(ctx)
    if entries:
        found = _baggage_attribution(entries)
        attribution = found.attribution
    if request.attribution:
        attribution = merge_attribution(attribution, request.attribution)
    model = request.model
    operation = request.operation
    # The request's own attribute dict is the span's (one dict per call, not two).
    attrs = request.attributes
    if type(attrs) is not dict or attrs is _NO_ATTRIBUTES:
        attrs = dict(attrs)
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
    span = tracer.start_span(name, ctx, _CLIENT, attrs)
    # The context the SDK method runs in: the span current, the call marked active, and no
    # attribution in the baggage that the SDK and HTTP instrumentations may send along.
    call_ctx = otel_context.set_value(_ACTIVE_CALL_KEY, True, trace.set_span_in_context(span, ctx))
    if found is not None:
        call_ctx = found.context_without_attribution(call_ctx)
    return LLMCall(span, request, call_ctx)


class CallAdapter(Protocol):
    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None: ...

    def result(self, call: LLMCall, result: Any) -> Any: ...


# What a result type is, looked up once per type: ``hasattr`` on a pydantic model class goes
# through its metaclass's ``__getattr__``, which raises and catches: slow on a hot path.
_AWAITABLE: Final = 1
_ITERATOR: Final = 2
_ASYNC_ITERATOR: Final = 4
_kinds: dict[type, int] = {}
# For adapters' hot paths: ``RESULT_KINDS.get(type(value))`` (``None``: ask ``result_kind``).
RESULT_KINDS: Final = _kinds
STREAM_KINDS: Final = _ITERATOR | _ASYNC_ITERATOR


def result_kind(value: object) -> int:
    """Bit flags of ``value``'s type: ``_AWAITABLE``, ``_ITERATOR``, ``_ASYNC_ITERATOR``."""
    cls = type(value)
    kind = _kinds.get(cls)
    if kind is None:
        kind = (
            (_AWAITABLE if hasattr(cls, "__await__") else 0)
            | (_ITERATOR if hasattr(cls, "__next__") else 0)
            | (_ASYNC_ITERATOR if hasattr(cls, "__anext__") else 0)
        )
        if len(_kinds) < 1024:  # bounded: result types are few
            _kinds[cls] = kind
    return kind


def is_awaitable(value: object) -> bool:
    return bool(result_kind(value) & _AWAITABLE)


def is_stream(value: object) -> bool:
    """Whether ``value`` is a sync or async iterator (an SDK stream)."""
    return bool(result_kind(value) & (_ITERATOR | _ASYNC_ITERATOR))


class CallWrapper:
    """A wrapt wrapper that makes each call of the wrapped SDK method one counted span."""

    __slots__ = ("adapter", "tracer")

    def __init__(self, tracer: Tracer, adapter: CallAdapter) -> None:
        self.tracer = tracer
        self.adapter = adapter

    def __call__(
        self,
        wrapped: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        ctx = otel_context.get_current()
        active = otel_context.get_value(_ACTIVE_CALL_KEY, ctx)
        if active is True:
            return wrapped(*args, **kwargs)
        try:
            request = self.adapter.request(instance, args, kwargs)
        except Exception:
            logger.debug("costledger: could not read an LLM call's request", exc_info=True)
            request = None
        if request is None:
            return wrapped(*args, **kwargs)
        if active is _LATER:  # inside a stream helper
            return self._later(request, wrapped)
        return self.run(request, wrapped, ctx)

    def _start(self, request: CallRequest, ctx: Context | None = None) -> LLMCall | None:
        try:
            return start_call(self.tracer, request, ctx)
        except Exception:
            logger.debug("costledger: could not start an LLM call span", exc_info=True)
            return None

    def run(self, request: CallRequest, fn: Callable[..., Any], ctx: Context | None = None) -> Any:
        """Run ``fn(*request.args, **request.kwargs)`` as the counted call ``request`` describes.

        ``ctx``: the current context, when the caller has it at hand already.
        """
        try:
            call = start_call(self.tracer, request, ctx)
        except Exception:
            logger.debug("costledger: could not start an LLM call span", exc_info=True)
            return fn(*request.args, **request.kwargs)
        token = otel_context.attach(call.context)
        try:
            result = fn(*request.args, **request.kwargs)
        except BaseException as exc:
            call.end(exc)
            raise
        finally:
            otel_context.detach(token)
        kind = _kinds.get(type(result))
        if kind is None:
            kind = result_kind(result)
        if kind & _AWAITABLE:
            return self._await(call, result)
        try:
            return self.adapter.result(call, result)
        except Exception:
            logger.debug("costledger: could not record an LLM call's result", exc_info=True)
            call.end()
            return result

    async def _await(self, call: LLMCall, awaitable: Awaitable[Any]) -> Any:
        token = otel_context.attach(call.context)
        try:
            result = await awaitable
        except BaseException as exc:
            call.end(exc)
            raise
        finally:
            otel_context.detach(token)
        return self._finish(call, result)

    def run_awaitable(self, request: CallRequest, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        """An awaitable that starts the counted call when awaited, then awaits ``awaitable``.

        Nothing starts until it is awaited: dropped unawaited, it leaves no span (and the only
        "never awaited" warning is the SDK's own, about ``awaitable``).
        """

        def start() -> Awaitable[Any]:
            call = self._start(request)
            return awaitable if call is None else self._await(call, awaitable)

        return _WhenAwaited(start)

    def _later(self, request: CallRequest, wrapped: Callable[..., Any]) -> Any:
        """An async SDK method called while a stream helper builds its manager (see
        :func:`count_when_awaited`): the SDK's coroutine is made now, as without us (its own
        argument checks raise here, its own warning if the manager is dropped unentered), and the
        counted call starts when the manager awaits it."""
        made = [wrapped(*request.args, **request.kwargs)]

        def first_made_then_wrapped(*a: Any, **k: Any) -> Any:
            # ``run`` calls this once; a wrapper that sends the request again (``ChatCalls``)
            # gets a fresh call of the SDK method.
            return made.pop() if made else wrapped(*a, **k)

        def start() -> Any:
            # In the context current when the manager is entered: the span's parent is the
            # caller's span at ``async with``, where the SDK's own request runs too.
            return self.run(request, first_made_then_wrapped)

        return _WhenAwaited(start)

    def _finish(self, call: LLMCall, result: Any) -> Any:
        try:
            return self.adapter.result(call, result)
        except Exception:
            logger.debug("costledger: could not record an LLM call's result", exc_info=True)
            call.end()
            return result


class _WhenAwaited:
    """Awaitable once: ``start()`` (the counted call, an awaitable) runs when it is awaited.

    Not a coroutine of ours on purpose: one dropped unawaited raises no "never awaited" warning
    of its own (the SDK's coroutine inside says so, as it would without us).
    """

    __slots__ = ("_start",)

    def __init__(self, start: Callable[[], Any]) -> None:
        self._start: Callable[[], Any] | None = start

    def __await__(self) -> Generator[Any, None, Any]:
        start = self._start
        if start is None:  # as the SDK's coroutine would: one await, one request
            raise RuntimeError("cannot reuse already awaited coroutine")
        self._start = None
        result = start()
        if hasattr(type(result), "__await__"):
            return (yield from result.__await__())
        return result


# The value of the active-call context key while an async stream helper builds its manager:
# calls of wrapped methods made then start their counted call when awaited, not when made.
_LATER: Final = object()


def count_when_awaited(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """A ``wrapt`` wrapper for an async SDK stream helper (``AsyncCompletions.stream``) that
    makes its request by calling a wrapped ``create`` at once and keeps the un-awaited coroutine
    in the manager it returns: that ``create`` is counted when the manager awaits it (is
    entered), so a manager never entered sends nothing and leaves no span."""
    ctx = otel_context.get_current()
    if otel_context.get_value(_ACTIVE_CALL_KEY, ctx) is not None:
        # Inside a counted call (nothing in it is counted anyway) or another stream helper.
        return wrapped(*args, **kwargs)
    token = otel_context.attach(otel_context.set_value(_ACTIVE_CALL_KEY, _LATER, ctx))
    try:
        return wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)


# --- streams ----------------------------------------------------------------------------------
class StreamRecorder(Protocol):
    def item(self, item: Any) -> bool: ...

    def finish(self, call: Any) -> None: ...


class _Untracked:
    """The "call" of a stream observed without a span of its own (``wrap_stream(None, ...)``)."""

    __slots__ = ("ended",)

    def __init__(self) -> None:
        self.ended = False

    def end(self, error: BaseException | None = None) -> None:
        self.ended = True


class _StreamProxyBase(wrapt.ObjectProxy):
    """What sync and async stream proxies share: feeding the recorder and ending once."""

    def __init__(self, wrapped: Any, call: LLMCall | _Untracked, recorder: StreamRecorder) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_recorder = recorder

    def _self_keep(self, item: Any) -> bool:
        try:
            return self._self_recorder.item(item)
        except Exception:
            logger.debug("costledger: could not record a stream item", exc_info=True)
            return True

    def _self_end(self, error: BaseException | None = None) -> None:
        call = self._self_call
        if call.ended:
            return
        try:
            self._self_recorder.finish(call)
        except Exception:
            logger.debug("costledger: could not record the end of a stream", exc_info=True)
        call.end(error)

    def __del__(self) -> None:
        # A stream dropped after a ``break`` without close(): end the span when it is collected.
        with contextlib.suppress(Exception):
            self._self_end()


class StreamProxy(_StreamProxyBase):
    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        stream = self.__wrapped__
        while True:
            try:
                item = stream.__next__()
            except StopIteration:
                self._self_end()
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            if self._self_keep(item):
                return item

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_end()

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end()


class AsyncStreamProxy(_StreamProxyBase):
    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        stream = self.__wrapped__
        while True:
            try:
                item = await stream.__anext__()
            except StopAsyncIteration:
                self._self_end()
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            if self._self_keep(item):
                return item

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_end()

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_end()

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_end()


def wrap_stream(call: LLMCall | None, stream: Any, recorder: StreamRecorder) -> Any:
    """``stream`` behind a proxy that feeds ``recorder`` and ends ``call`` exactly once.

    With ``call=None`` the stream is only observed (``recorder.finish(None)`` at its end), for
    streams whose items are calls of their own (batch results).
    """
    ending = _Untracked() if call is None else call
    if result_kind(stream) & _ASYNC_ITERATOR:
        return AsyncStreamProxy(stream, ending, recorder)
    return StreamProxy(stream, ending, recorder)


def sdk_classes(module_name: str, names: Sequence[str]) -> list[type]:
    """The classes ``names`` of an SDK module, skipping a module or class this SDK lacks."""
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    return [cls for name in names if isinstance(cls := getattr(module, name, None), type)]


class Patches:
    """The SDK methods one provider module wrapped, so that uninstrument restores exactly those."""

    def __init__(self) -> None:
        self._done: list[tuple[type, str]] = []

    def __bool__(self) -> bool:
        return bool(self._done)

    def wrap(self, cls: type, method: str, wrapper: Any) -> None:
        # Once per instrument(): a method defined on a base class is wrapped there, not again
        # on each subclass, and another instrumentation's wrapt wrapper may already be there
        # (ours then goes on top of it and comes off again on uninstrument).
        if method not in cls.__dict__ or (cls, method) in self._done:
            return
        wrapt.wrap_function_wrapper(cls, method, wrapper)
        self._done.append((cls, method))

    def unwrap_all(self) -> None:
        from opentelemetry.instrumentation.utils import unwrap

        while self._done:
            cls, method = self._done.pop()
            try:
                unwrap(cls, method)
            except Exception:
                logger.warning(
                    "costledger: could not unwrap %s.%s", cls.__name__, method, exc_info=True
                )
