"""Message batches: attribution stripped from batch requests, each succeeded result counted once.

``messages.batches.create``: each request's ``params.metadata`` attribution keys are stripped
(``user_id`` is forwarded) and remembered by batch id and ``custom_id``. ``results(id)``: each
*succeeded* result becomes one counted, batch-priced span as the caller reads it; see the
package docstring for attribution and once-per-process reporting.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Final

from opentelemetry.trace import Tracer

from .._call import CallRequest, LLMCall, start_call
from .._streams import is_awaitable, wrap_stream
from ..attribution import split_metadata
from ._fields import get
from ._messages import FORWARD_METADATA, PROVIDER
from ._usage import record_message

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

_MAX_BATCHES: Final = 1000


class _BatchMemory:
    """Per process: attribution named by batch requests, and results already reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attribution: OrderedDict[str, dict[str, Mapping[str, str]]] = OrderedDict()
        self.reported: OrderedDict[str, set[str]] = OrderedDict()

    def remember(self, batch_id: str, by_custom_id: dict[str, Mapping[str, str]]) -> None:
        with self._lock:
            self.attribution[batch_id] = by_custom_id
            while len(self.attribution) > _MAX_BATCHES:
                self.attribution.popitem(last=False)

    def first_report(self, batch_id: str, custom_id: str) -> bool:
        with self._lock:
            seen = self.reported.setdefault(batch_id, set())
            while len(self.reported) > _MAX_BATCHES:
                self.reported.popitem(last=False)
            if custom_id in seen:
                return False
            seen.add(custom_id)
            return True


BATCHES: Final = _BatchMemory()


def _strip_batch_requests(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    requests = kwargs.get("requests")
    if not isinstance(requests, Iterable) or isinstance(requests, str | bytes | Mapping):
        return kwargs, {}
    found: dict[str, Any] = {}
    stripped: list[Any] = []
    changed = False
    for item in requests:
        params = get(item, "params")
        if isinstance(item, Mapping) and isinstance(params, Mapping) and "metadata" in params:
            send, attribution = split_metadata(params["metadata"], FORWARD_METADATA)
            if attribution:
                found[str(item.get("custom_id"))] = attribution
            new_params = {k: v for k, v in params.items() if k != "metadata"}
            if send is not None:
                new_params["metadata"] = send
            item = {**item, "params": new_params}
            changed = True
        stripped.append(item)
    if not changed:
        return {**kwargs, "requests": stripped}, {}
    return {**kwargs, "requests": stripped}, found


def batches_create(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        kwargs, found = _strip_batch_requests(kwargs)
    except Exception:
        logger.debug("costledger: could not strip batch request metadata", exc_info=True)
        found = {}
    result = wrapped(*args, **kwargs)
    if not found:
        return result
    if is_awaitable(result):

        async def remember() -> Any:
            batch = await result
            _remember_batch(batch, found)
            return batch

        return remember()
    _remember_batch(result, found)
    return result


def _remember_batch(batch: Any, found: dict[str, Any]) -> None:
    batch_id = get(batch, "id")
    if isinstance(batch_id, str):
        BATCHES.remember(batch_id, found)


class BatchResultsRecorder:
    """One counted, batch-priced span per succeeded result, as the caller reads them."""

    __slots__ = ("_batch_id", "_tracer")

    def __init__(self, tracer: Tracer, batch_id: str) -> None:
        self._tracer = tracer
        self._batch_id = batch_id

    def item(self, entry: Any) -> bool:
        result = get(entry, "result")
        if get(result, "type") != "succeeded":
            return True
        custom_id = str(get(entry, "custom_id"))
        if not BATCHES.first_report(self._batch_id, custom_id):
            return True
        message = get(result, "message")
        attribution = BATCHES.attribution.get(self._batch_id, {}).get(custom_id, {})
        request = CallRequest(
            provider=PROVIDER,
            operation="chat",
            model=get(message, "model"),
            args=(),
            kwargs={},
            attributes={
                "anthropic.batch.id": self._batch_id,
                "anthropic.batch.custom_id": custom_id,
            },
            attribution=attribution,
            batch=True,
        )
        call = start_call(self._tracer, request)
        record_message(call, message)
        call.end()
        return True

    def finish(self, call: LLMCall | None) -> None:
        return None


def batches_results(tracer: Tracer) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = wrapped(*args, **kwargs)
        batch_id = args[0] if args else kwargs.get("message_batch_id")
        if not isinstance(batch_id, str):
            return result
        recorder = BatchResultsRecorder(tracer, batch_id)
        if is_awaitable(result):

            async def wrapped_results() -> Any:
                return wrap_stream(None, await result, recorder)

            return wrapped_results()
        return wrap_stream(None, result, recorder)

    return wrapper
