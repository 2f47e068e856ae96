"""SDK streams: a transparent proxy that feeds a recorder and ends the call exactly once.

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

``result_kind(value)`` / ``is_awaitable`` / ``is_stream``
    What an SDK method returned: an awaitable, a sync or an async iterator (a stream). Looked
    up once per type: ``hasattr`` on a pydantic model class goes through its metaclass's
    ``__getattr__``, which raises and catches an error for every absent name.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any, Final, Protocol

import wrapt

from ._call import LLMCall

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

AWAITABLE: Final = 1
ITERATOR: Final = 2
ASYNC_ITERATOR: Final = 4
_kinds: dict[type, int] = {}


def result_kind(value: object) -> int:
    """Bit flags of ``value``'s type: ``AWAITABLE``, ``ITERATOR``, ``ASYNC_ITERATOR``."""
    cls = type(value)
    kind = _kinds.get(cls)
    if kind is None:
        kind = (
            (AWAITABLE if hasattr(cls, "__await__") else 0)
            | (ITERATOR if hasattr(cls, "__next__") else 0)
            | (ASYNC_ITERATOR if hasattr(cls, "__anext__") else 0)
        )
        if len(_kinds) < 1024:  # bounded: result types are few
            _kinds[cls] = kind
    return kind


def is_awaitable(value: object) -> bool:
    kind = _kinds.get(type(value))  # the known types first: this runs on every call
    return bool((result_kind(value) if kind is None else kind) & AWAITABLE)


def is_stream(value: object) -> bool:
    """Whether ``value`` is a sync or async iterator (an SDK stream)."""
    kind = _kinds.get(type(value))
    return bool((result_kind(value) if kind is None else kind) & (ITERATOR | ASYNC_ITERATOR))


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


if TYPE_CHECKING:
    _ObjectProxy = wrapt.ObjectProxy[Any]
else:  # wrapt releases before 2 do not subscript at run time
    _ObjectProxy = wrapt.ObjectProxy


class _StreamProxyBase(_ObjectProxy):
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
    if result_kind(stream) & ASYNC_ITERATOR:
        return AsyncStreamProxy(stream, ending, recorder)
    return StreamProxy(stream, ending, recorder)
