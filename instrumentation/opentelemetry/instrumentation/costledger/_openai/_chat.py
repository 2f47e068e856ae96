"""OpenAI Chat Completions: ``chat.completions.create`` / ``parse`` (and the ``stream()`` helper
through ``create``), plain, streamed and raw.

Streams: usage is exact, never estimated. A chat stream only reports usage when the request
asks for it (``stream_options.include_usage``), so when the caller did not, we ask for it and
hide what that changes: the extra usage-only chunk (``choices: []``) is not shown and the
``usage: null`` field the API then adds to every other chunk is made unset again, so the caller's
code sees exactly the chunks it would have seen without us (``to_dict()`` / ``to_json()``
included). When the caller asked for usage, the chunk stays visible. A server that rejects the
``stream_options`` we added (a 400/422 naming it, which is not billed) gets the caller's request
again exactly as written (:class:`ChatCalls`), and that host's streams are recorded without
usage from then on (logged once at INFO).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.util.types import AttributeValue

from .. import attributes as A
from .._call import CallRequest, LLMCall
from .._setup import SETTINGS
from .._streams import wrap_stream
from .._wrapper import CallWrapper
from ._shared import (
    _MISSING,
    _NO_STREAM_OPTIONS,
    _PLAIN,
    _ask_for_usage,
    _common,
    _int,
    _jsonable,
    _Plan,
    _raw_mode,
    _raw_result,
    _str,
    _take_metadata,
    usage_from_chat,
)

logger = logging.getLogger("opentelemetry.instrumentation.costledger")


def _chat_output(completion: Any) -> list[dict[str, Any]]:
    out = []
    for choice in getattr(completion, "choices", None) or ():
        message = getattr(choice, "message", None)
        entry: dict[str, Any] = {"role": getattr(message, "role", None) or "assistant", "parts": []}
        content = getattr(message, "content", None)
        if isinstance(content, str):
            entry["parts"].append({"type": "text", "content": content})
        for tool_call in getattr(message, "tool_calls", None) or ():
            function = getattr(tool_call, "function", None)
            entry["parts"].append(
                {
                    "type": "tool_call",
                    "id": getattr(tool_call, "id", None),
                    "name": getattr(function, "name", None),
                    "arguments": getattr(function, "arguments", None),
                }
            )
        entry["finish_reason"] = getattr(choice, "finish_reason", None)
        out.append(entry)
    return out


def record_chat_completion(call: LLMCall, completion: Any) -> None:
    """Put a complete ChatCompletion (an SDK model, or a raw body as ``_JSON``) on ``call``."""
    reasons = []
    for choice in getattr(completion, "choices", None) or ():
        reason = getattr(choice, "finish_reason", None)
        if reason:
            reasons.append(reason)
    tier = getattr(completion, "service_tier", None)
    call.set_response(
        getattr(completion, "model", None),
        getattr(completion, "id", None),
        reasons,
        tier if isinstance(tier, str) else None,
    )
    usage = getattr(completion, "usage", None)
    if usage is not None:
        call.usage = usage_from_chat(usage)
    if call.capture_content:
        call.set_content(output_messages=_chat_output(completion))


def _forget_usage_field(chunk: Any) -> None:
    # The API adds ``"usage": null`` to every chunk once usage is asked for; unset it again so
    # the chunk dumps exactly as it would have without our request (pydantic v2's
    # ``model_fields_set`` is the model's own set of the fields given; v1 calls it
    # ``__fields_set__``).
    fields_set = getattr(chunk, "model_fields_set", None)
    if fields_set is None:
        fields_set = getattr(chunk, "__fields_set__", None)
    if fields_set is not None:
        fields_set.discard("usage")


class ChatChunkRecorder:
    """Reads a Chat Completions stream; hides the usage-only chunk we asked for."""

    __slots__ = ("_hide", "_id", "_model", "_reasons", "_text", "_tier", "_usage")

    def __init__(self, hide_usage: bool, capture: bool) -> None:
        self._hide = hide_usage
        self._id: str | None = None
        self._model: str | None = None
        self._tier: str | None = None
        self._usage: Any = None
        self._reasons: dict[int, str] = {}
        self._text: dict[int, list[str]] | None = {} if capture else None

    def item(self, chunk: Any) -> bool:
        if self._id is None:
            self._id = getattr(chunk, "id", None)
            self._model = getattr(chunk, "model", None)
        tier = getattr(chunk, "service_tier", None)
        if tier:
            self._tier = tier
        choices = getattr(chunk, "choices", None)
        for choice in choices or ():
            reason = getattr(choice, "finish_reason", None)
            if reason:
                self._reasons[_int(getattr(choice, "index", None))] = reason
            if self._text is not None:
                piece = getattr(getattr(choice, "delta", None), "content", None)
                if isinstance(piece, str):
                    self._text.setdefault(_int(getattr(choice, "index", None)), []).append(piece)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self._usage = usage
            if self._hide and not choices:
                return False
        elif self._hide:
            _forget_usage_field(chunk)
        return True

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            model=self._model,
            response_id=self._id,
            finish_reasons=[self._reasons[i] for i in sorted(self._reasons)],
            service_tier=_str(self._tier),
        )
        if self._usage is not None:
            call.usage = usage_from_chat(self._usage)
        if self._text is not None:
            call.set_content(
                output_messages=[
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "".join(self._text[i])}],
                        "finish_reason": self._reasons.get(i),
                    }
                    for i in sorted(self._text)
                ]
            )


def _chat_input(kwargs: Mapping[str, Any], attrs: dict[str, AttributeValue]) -> None:
    import json

    messages = kwargs.get("messages")
    if messages is not None:
        attrs[A.GEN_AI_INPUT_MESSAGES] = json.dumps(
            _jsonable(list(messages)), default=str, ensure_ascii=False
        )


class ChatCompletions:
    """``chat.completions.create`` / ``parse`` (sync and async)."""

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        attribution = (
            _take_metadata(kwargs, accepted=kwargs.get("store") is True)
            if "metadata" in kwargs
            else None
        )
        attrs: dict[str, AttributeValue] = {}
        provider, model = _common(instance, kwargs, attrs)
        max_tokens = kwargs.get("max_completion_tokens")
        if not isinstance(max_tokens, int):
            max_tokens = kwargs.get("max_tokens")
        if isinstance(max_tokens, int):
            attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        stream = kwargs.get("stream") is True
        raw = _raw_mode(kwargs) if "extra_headers" in kwargs else None
        if not stream and raw is None:
            plan = _PLAIN
        else:
            plan = _Plan(stream=stream, raw=raw, host=_str(attrs.get(A.SERVER_ADDRESS)))
        # A raw stream is parsed by the caller: nothing of ours may show up in it.
        if stream and raw is None and plan.host not in _NO_STREAM_OPTIONS:
            extra = kwargs.get("extra_body")
            if isinstance(extra, Mapping) and "stream_options" in extra:
                # extra_body wins over the argument in the SDK: ask there.
                options, plan.hide_usage = _ask_for_usage(extra["stream_options"])
                if plan.hide_usage:
                    plan.restore = {"extra_body": extra}
                    kwargs["extra_body"] = {**extra, "stream_options": options}
            else:
                given = kwargs.get("stream_options", _MISSING)
                options, plan.hide_usage = _ask_for_usage(given)
                if plan.hide_usage:
                    plan.restore = {"stream_options": given}
                    kwargs["stream_options"] = options
        if SETTINGS.capture_content:
            _chat_input(kwargs, attrs)
        return CallRequest(provider, "chat", model, args, kwargs, attrs, attribution, state=plan)

    def result(self, call: LLMCall, result: Any) -> Any:
        plan: _Plan = call.state
        if plan.raw is not None:
            return _raw_result(call, result, plan, record_chat_completion)
        if plan.stream:
            return wrap_stream(
                call, result, ChatChunkRecorder(plan.hide_usage, call.capture_content)
            )
        record_chat_completion(call, result)
        call.end()
        return result


def _rejects_stream_options(error: BaseException) -> bool:
    status = getattr(error, "status_code", None)
    return status in (400, 422) and "stream_options" in str(error)


class ChatCalls(CallWrapper):
    """The chat ``CallWrapper``: a request we changed to ask for usage never fails for that.

    If the server rejects the ``stream_options`` we added (a 400/422 naming it, which is not
    billed), the caller's request is sent again exactly as written and the host is remembered;
    the caller sees the outcome of its own request, and the span has no usage.
    """

    __slots__ = ()

    def run(self, request: CallRequest, fn: Any, ctx: Context | None = None) -> Any:
        plan = request.state
        if plan is not _PLAIN and isinstance(plan, _Plan) and plan.restore is not None:
            fn = _unless_rejected(fn, plan)
        return super().run(request, fn, ctx)


def _as_written(plan: _Plan, kwargs: dict[str, Any]) -> dict[str, Any]:
    _NO_STREAM_OPTIONS.add(plan.host)
    plan.hide_usage = False
    kwargs = dict(kwargs)
    for name, value in (plan.restore or {}).items():
        if value is _MISSING:
            kwargs.pop(name, None)
        else:
            kwargs[name] = value
    logger.info(
        "costledger: %s rejected stream_options.include_usage; its chat streams are recorded "
        "without usage",
        plan.host,
    )
    return kwargs


def _unless_rejected(fn: Any, plan: _Plan) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            if not _rejects_stream_options(exc):
                raise
            rejected = True
        else:
            rejected = False
        # Sent again outside the except block: the caller's outcome carries no trace of ours.
        if rejected:
            return fn(*args, **_as_written(plan, kwargs))
        if hasattr(type(result), "__await__"):
            return _await_unless_rejected(result, fn, plan, args, kwargs)
        return result

    return call


async def _await_unless_rejected(
    awaitable: Any, fn: Any, plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        return await awaitable
    except Exception as exc:
        if not _rejects_stream_options(exc):
            raise
    return await fn(*args, **_as_written(plan, kwargs))
