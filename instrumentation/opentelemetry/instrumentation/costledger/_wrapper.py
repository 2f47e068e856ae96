"""The wrapper that makes each call of a wrapped SDK method one counted call.

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

Nothing here ever breaks the user's call: our failures are logged at DEBUG and the SDK method
runs (or its result is returned) as without us. The one exception: the budget guard's
:class:`~.guard.BudgetExceeded` (opted into, documented), raised before the SDK method runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Tracer

from ._call import CallRequest, LLMCall, start_call
from ._context import ACTIVE_CALL_KEY, LATER, RunningCall
from ._streams import is_awaitable
from .guard import BudgetExceeded

logger = logging.getLogger("opentelemetry.instrumentation.costledger")


class CallAdapter(Protocol):
    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None: ...

    def result(self, call: LLMCall, result: Any) -> Any: ...


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
        active = otel_context.get_value(ACTIVE_CALL_KEY, ctx)
        if type(active) is RunningCall:  # inside a counted call: not counted again
            return wrapped(*args, **kwargs)
        try:
            request = self.adapter.request(instance, args, kwargs)
        except Exception:
            logger.debug("costledger: could not read an LLM call's request", exc_info=True)
            request = None
        if request is None:
            return wrapped(*args, **kwargs)
        if active is LATER:  # inside a stream helper
            return self._later(request, wrapped)
        return self.run(request, wrapped, ctx)

    def _start(self, request: CallRequest, ctx: Context | None = None) -> LLMCall | None:
        try:
            return start_call(self.tracer, request, ctx)
        except BudgetExceeded:
            raise
        except Exception:
            logger.debug("costledger: could not start an LLM call span", exc_info=True)
            return None

    def run(self, request: CallRequest, fn: Callable[..., Any], ctx: Context | None = None) -> Any:
        """Run ``fn(*request.args, **request.kwargs)`` as the counted call ``request`` describes.

        ``ctx``: the current context, when the caller has it at hand already.
        """
        try:
            call = start_call(self.tracer, request, ctx)
        except BudgetExceeded:
            raise  # the budget guard stopped the call: fn never runs
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
        if is_awaitable(result):
            return self._await(call, result)
        return self._finish(call, result)

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
            try:
                call = self._start(request)
            except BudgetExceeded:
                close = getattr(awaitable, "close", None)
                if close is not None:  # the SDK's coroutine, never to be awaited now
                    close()
                raise
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
            try:
                return self.run(request, first_made_then_wrapped)
            except BudgetExceeded:
                while made:  # the SDK's coroutine, never to be awaited: no warning of ours
                    made.pop().close()
                raise

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


def count_when_awaited(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """A ``wrapt`` wrapper for an async SDK stream helper (``AsyncCompletions.stream``) that
    makes its request by calling a wrapped ``create`` at once and keeps the un-awaited coroutine
    in the manager it returns: that ``create`` is counted when the manager awaits it (is
    entered), so a manager never entered sends nothing and leaves no span."""
    ctx = otel_context.get_current()
    if otel_context.get_value(ACTIVE_CALL_KEY, ctx) is not None:
        # Inside a counted call (nothing in it is counted anyway) or another stream helper.
        return wrapped(*args, **kwargs)
    token = otel_context.attach(otel_context.set_value(ACTIVE_CALL_KEY, LATER, ctx))
    try:
        return wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)
