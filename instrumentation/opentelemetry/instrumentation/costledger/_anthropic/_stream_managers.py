"""``Messages.stream()``: the helper's request counted when its manager is entered.

The helper makes a stream manager (``anthropic.lib.streaming.MessageStreamManager`` and its
async / beta siblings) from the request it will send on ``with``: its public constructor
argument ``api_request`` (a callable for sync clients, an un-awaited coroutine for async ones).
:class:`StreamWrapper` strips the attribution metadata when ``stream()`` is called; while the
helper runs, the manager it makes is handed the counted call instead (:func:`counted_manager`),
so the span starts when the request is made, on ``with``, in the context current then. A
manager never entered sends nothing and makes no span and no count.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any, Final

from .._call import CallRequest
from .._context import is_call_active
from .._wrapper import CallWrapper
from ._messages import describe

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

STREAM_MANAGERS: Final = (
    "MessageStreamManager",
    "AsyncMessageStreamManager",
    "BetaMessageStreamManager",
    "BetaAsyncMessageStreamManager",
)


class StreamWrapper:
    """Wraps ``Messages.stream``: strips metadata now, counts the call when the manager enters."""

    __slots__ = ("_calls",)

    def __init__(self, calls: CallWrapper) -> None:
        self._calls = calls

    def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if is_call_active():
            return wrapped(*args, **kwargs)
        try:
            request = describe(instance, args, kwargs, True)
        except Exception:
            logger.debug("costledger: could not read a stream() request", exc_info=True)
            return wrapped(*args, **kwargs)
        token = _PENDING_STREAM.set((self._calls, request))
        try:
            return wrapped(*request.args, **request.kwargs)
        finally:
            _PENDING_STREAM.reset(token)


# The counted call for the stream manager that ``Messages.stream`` is making right now.
_PENDING_STREAM: contextvars.ContextVar[tuple[CallWrapper, CallRequest] | None] = (
    contextvars.ContextVar("costledger_pending_stream", default=None)
)


def counted_manager(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Around a stream manager's ``__init__(api_request, ...)``: inside ``Messages.stream`` (the
    one manager it makes), ``api_request`` becomes the counted call of that request."""
    pending = _PENDING_STREAM.get()
    if pending is None:
        return wrapped(*args, **kwargs)
    _PENDING_STREAM.set(None)
    calls, request = pending
    try:
        original = args[0] if args else kwargs["api_request"]
        counted: Any
        if callable(original):

            def counted() -> Any:
                return calls.run(request, lambda *a, **k: original())

        else:  # an async client's un-awaited coroutine
            counted = calls.run_awaitable(request, original)
        if args:
            args = (counted, *args[1:])
        else:
            kwargs = {**kwargs, "api_request": counted}
    except Exception:
        logger.debug("costledger: could not hook a message stream manager", exc_info=True)
    return wrapped(*args, **kwargs)
