"""OpenAI Responses: ``responses.create`` / ``parse`` (and ``stream()``), ``retrieve``, and
background responses.

Usage comes in the response, or for a stream in ``response.completed`` (or
``response.incomplete`` / ``response.failed``). ``responses.retrieve`` (and
``responses.stream(response_id=...)``) of a response this process already reported makes no
span. Background responses (``background=True``) answer ``queued`` without usage: their create
span is kept but marked ``costledger.counted = false``, and the call is counted once, with the
create call's attribution, by the first ``retrieve`` / ``stream(response_id=...)`` in this
process that sees the response finished with its usage (:data:`BACKGROUND` keeps the pending
ones). A background response created by another process is not counted here.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .. import attributes as A
from .._call import CallRequest, LLMCall
from .._setup import SETTINGS
from .._streams import wrap_stream
from ..attribution import current_attribution, merge_attribution
from ._shared import (
    _FINAL_EVENTS,
    _FINAL_STATUSES,
    _common,
    _jsonable,
    _Plan,
    _raw_mode,
    _raw_result,
    _str,
    _take_metadata,
    usage_from_response,
)

logger = logging.getLogger("opentelemetry.instrumentation.costledger")


@dataclass(slots=True)
class _Deferred:
    """A background response created here whose usage is not known yet."""

    provider: str
    model: str | None
    attributes: dict[str, AttributeValue]
    attribution: Mapping[str, str]


class _BackgroundResponses:
    """Per process: background responses to count when seen finished (bounded, thread-safe)."""

    MAX: Final = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, _Deferred] = OrderedDict()

    def defer(self, response_id: str, deferred: _Deferred) -> None:
        with self._lock:
            self._pending[response_id] = deferred
            while len(self._pending) > self.MAX:
                self._pending.popitem(last=False)

    def get(self, response_id: str) -> _Deferred | None:
        return self._pending.get(response_id)

    def settle(self, response_id: str) -> bool:
        """Forget ``response_id``; True for the one caller that settles it."""
        with self._lock:
            return self._pending.pop(response_id, None) is not None


BACKGROUND: Final = _BackgroundResponses()


def _finish_reasons(response: Any) -> list[str]:
    status = getattr(response, "status", None)
    if status == "incomplete":
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
        return [reason] if isinstance(reason, str) else ["incomplete"]
    if status == "completed":
        for item in getattr(response, "output", None) or ():
            if getattr(item, "type", None) == "function_call":
                return ["tool_calls"]
        return ["stop"]
    # failed / cancelled end the response; queued / in_progress have no finish reason yet.
    return [status] if status in _FINAL_STATUSES else []


def _response_output(response: Any) -> list[dict[str, Any]]:
    out = []
    for item in getattr(response, "output", None) or ():
        kind = getattr(item, "type", None)
        if kind == "message":
            parts = [
                {"type": "text", "content": getattr(part, "text", None)}
                for part in getattr(item, "content", None) or ()
                if getattr(part, "type", None) == "output_text"
            ]
            out.append({"role": getattr(item, "role", None) or "assistant", "parts": parts})
        elif kind == "function_call":
            part = {
                "type": "tool_call",
                "id": getattr(item, "call_id", None),
                "name": getattr(item, "name", None),
                "arguments": getattr(item, "arguments", None),
            }
            out.append({"role": "assistant", "parts": [part]})
    return out


def record_response(call: LLMCall, response: Any) -> None:
    """Put a Responses API ``Response`` (an SDK model, or a raw body as ``_JSON``) on ``call``.

    A response without usage that is still running in the background (``queued`` /
    ``in_progress``) is deferred: the span is marked not counted and the call is counted once,
    later, by the retrieve that sees it finished.
    """
    plan: _Plan | None = call.state
    response_id = getattr(response, "id", None)
    call.set_response(
        model=getattr(response, "model", None),
        response_id=response_id,
        finish_reasons=_finish_reasons(response),
        service_tier=_str(getattr(response, "service_tier", None)),
    )
    if getattr(response, "status", None) == "failed":
        error = getattr(response, "error", None)
        code = getattr(error, "code", None) or "response.failed"
        call.span.set_attribute(A.ERROR_TYPE, str(code))
        call.span.set_status(Status(StatusCode.ERROR, str(getattr(error, "message", None) or code)))
    usage = getattr(response, "usage", None)
    if usage is not None:
        call.usage = usage_from_response(usage)
        retrieving = plan.retrieving if plan is not None else None
        if retrieving is not None and not BACKGROUND.settle(retrieving):
            # A concurrent retrieve counted it first.
            call.span.set_attribute(A.COUNTED, False)
    elif isinstance(response_id, str) and plan is not None:
        _defer(call, response_id, plan, response)
    if call.capture_content:
        call.set_content(output_messages=_response_output(response))


def _defer(call: LLMCall, response_id: str, plan: _Plan, response: Any) -> None:
    running = getattr(response, "status", None) not in _FINAL_STATUSES
    if plan.retrieving is not None:
        # A poll that did not see the end with usage: not the counted span of the call. A
        # response that ended without usage (cancelled early) leaves nothing more to count.
        call.span.set_attribute(A.COUNTED, False)
        if not running:
            BACKGROUND.settle(plan.retrieving)
        return
    if not (plan.background or getattr(response, "background", None)) or not running:
        return
    call.span.set_attribute(A.COUNTED, False)
    attrs = dict(getattr(call.span, "attributes", None) or {})
    BACKGROUND.defer(
        response_id,
        _Deferred(
            provider=call.provider,
            model=call.request_model,
            attributes={k: v for k, v in attrs.items() if k in _DEFERRED_KEYS},
            attribution=plan.attribution or {},
        ),
    )


_DEFERRED_KEYS: Final = frozenset(
    {
        A.SERVER_ADDRESS,
        A.SERVER_PORT,
        A.GEN_AI_REQUEST_MAX_TOKENS,
        A.GEN_AI_REQUEST_TEMPERATURE,
        A.GEN_AI_REQUEST_TOP_P,
        A.OPENAI_REQUEST_SERVICE_TIER,
        A.GEN_AI_CONVERSATION_ID,
    }
)


class ResponseEventRecorder:
    """Reads a Responses API event stream: the final response carries the usage."""

    __slots__ = ("_error", "_final", "_started")

    def __init__(self) -> None:
        self._started: Any = None
        self._final: Any = None
        self._error: Any = None

    def item(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind in _FINAL_EVENTS:
            self._final = getattr(event, "response", None)
        elif kind == "response.created":
            self._started = getattr(event, "response", None)
        elif kind == "error":
            self._error = event
        return True

    def finish(self, call: LLMCall) -> None:
        if self._final is not None:
            record_response(call, self._final)
        elif self._started is not None:
            # Ended before the final event: what the start told, and a background call is
            # deferred to the retrieve that sees it finished.
            record_response(call, self._started)
        elif isinstance(call.state, _Plan) and call.state.retrieving is not None:
            call.span.set_attribute(A.COUNTED, False)
        if self._error is not None:
            code = getattr(self._error, "code", None) or "error"
            call.span.set_attribute(A.ERROR_TYPE, str(code))
            call.span.set_status(
                Status(StatusCode.ERROR, str(getattr(self._error, "message", None)))
            )


def _response_input(kwargs: Mapping[str, Any], attrs: dict[str, AttributeValue]) -> None:
    import json

    given = kwargs.get("input")
    if isinstance(given, str):
        messages: Any = [{"role": "user", "parts": [{"type": "text", "content": given}]}]
    elif isinstance(given, list | tuple):
        messages = _jsonable(list(given))
    else:
        messages = None
    if messages is not None:
        attrs[A.GEN_AI_INPUT_MESSAGES] = json.dumps(messages, default=str, ensure_ascii=False)
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS] = json.dumps(
            [{"type": "text", "content": instructions}], ensure_ascii=False
        )


class Responses:
    """``responses.create`` / ``parse`` (sync and async)."""

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        attribution = _take_metadata(kwargs, accepted=True)
        attrs: dict[str, AttributeValue] = {}
        provider, model = _common(instance, kwargs, attrs)
        max_tokens = kwargs.get("max_output_tokens")
        if isinstance(max_tokens, int):
            attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        conversation = kwargs.get("conversation")
        if isinstance(conversation, Mapping):
            conversation = conversation.get("id")
        if isinstance(conversation, str):
            attrs[A.GEN_AI_CONVERSATION_ID] = conversation
        plan = _Plan(
            stream=kwargs.get("stream") is True,
            raw=_raw_mode(kwargs),
            background=kwargs.get("background") is True,
        )
        if plan.background:
            # Kept for the retrieve that counts the call, possibly in another context.
            plan.attribution = merge_attribution(current_attribution(), attribution)
        if SETTINGS.capture_content:
            _response_input(kwargs, attrs)
        return CallRequest(provider, "chat", model, args, kwargs, attrs, attribution, state=plan)

    def result(self, call: LLMCall, result: Any) -> Any:
        plan: _Plan = call.state
        if plan.raw is not None:
            return _raw_result(call, result, plan, record_response)
        if plan.stream:
            return wrap_stream(call, result, ResponseEventRecorder())
        record_response(call, result)
        call.end()
        return result


class RetrieveResponse:
    """``responses.retrieve`` (also behind ``responses.stream(response_id=...)``).

    Only a background response created and deferred by this process makes a span: counted when
    it is seen finished with usage, not counted while it still runs. Any other retrieve (of a
    response already reported, or unknown here) runs untouched.
    """

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        response_id = args[0] if args else kwargs.get("response_id")
        if not isinstance(response_id, str):
            return None
        deferred = BACKGROUND.get(response_id)
        if deferred is None:
            return None
        plan = _Plan(
            stream=kwargs.get("stream") is True,
            raw=_raw_mode(kwargs),
            attribution=deferred.attribution,
            retrieving=response_id,
        )
        attrs = dict(deferred.attributes)
        if plan.stream:
            attrs[A.GEN_AI_REQUEST_STREAM] = True
        return CallRequest(
            deferred.provider,
            "chat",
            deferred.model,
            args,
            kwargs,
            attrs,
            deferred.attribution,
            state=plan,
        )

    def result(self, call: LLMCall, result: Any) -> Any:
        plan: _Plan = call.state
        if plan.raw is not None:
            call.span.set_attribute(A.COUNTED, False)
            call.end()
            return result
        if plan.stream:
            return wrap_stream(call, result, ResponseEventRecorder())
        record_response(call, result)
        call.end()
        return result
