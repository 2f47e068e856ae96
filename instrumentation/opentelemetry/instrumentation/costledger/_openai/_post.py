"""The openai client's low-level request path: ``client.post("/chat/completions", body=...)``.

LiteLLM (``litellm.completion``, ``litellm.embedding`` to OpenAI and Azure OpenAI), and other
libraries that want the SDK's transport without its request checks, call the client's public
``post(path, *, cast_to, body, options, stream, stream_cls)`` instead of
``chat.completions.create``. Each such request to ``/chat/completions``, ``/responses`` or
``/embeddings`` is one counted call (operation ``chat`` / ``embeddings``), read from ``body`` as
the resource methods read their arguments. The resource methods make their own requests
through the same ``post``: those run inside their counted call, so the guard of ``_context``
passes them through and they are never counted twice.

The body is sent as given, with one exception: a chat stream whose body does not ask for usage
is sent with ``stream_options.include_usage`` added, as ``chat.completions.create`` does, and what
that changes is hidden from the stream the caller reads (the usage-only chunk, the ``usage:
null`` fields); a server that rejects it gets the body again exactly as given (``ChatCalls``).
A caller that reads the raw HTTP body itself, instead of ``parse()``, does see that chunk. What
comes back:

- a parsed result (``cast_to``): recorded like the resource method's;
- a stream (``stream=True``): wrapped, usage read from its chunks / events (Responses streams
  always carry it);
- a raw response (``X-Stainless-Raw-Response: true`` in ``options["headers"]``, as LiteLLM
  asks): a non-streamed body is read once the SDK has read it; for a stream, the stream that
  ``parse()`` returns is wrapped and ends the call, and a raw response never parsed ends the call
  without usage when it is garbage collected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import wrapt
from opentelemetry.util.types import AttributeValue

from .. import attributes as A
from .._call import CallRequest, LLMCall
from .._streams import StreamRecorder, is_stream, wrap_stream
from ._chat import ChatChunkRecorder, record_chat_completion
from ._embeddings import record_embeddings
from ._responses import ResponseEventRecorder, record_response
from ._shared import (
    _NO_STREAM_OPTIONS,
    _RAW_RESPONSE_HEADER,
    _ask_for_usage,
    _common,
    _Plan,
    _raw_result,
    _str,
    client_server,
)

_Record = Callable[[LLMCall, Any], None]


class _Endpoint:
    __slots__ = ("operation", "record", "recorder")

    def __init__(
        self, operation: str, record: _Record, recorder: Callable[[LLMCall], StreamRecorder]
    ) -> None:
        self.operation = operation
        self.record = record
        self.recorder = recorder


def _chat_recorder(call: LLMCall) -> StreamRecorder:
    plan: _Plan = call.state
    return ChatChunkRecorder(plan.hide_usage, call.capture_content)


def _response_recorder(call: LLMCall) -> StreamRecorder:
    return ResponseEventRecorder()


_CHAT: Final = _Endpoint("chat", record_chat_completion, _chat_recorder)
ENDPOINTS: Final[Mapping[str, _Endpoint]] = {
    "/chat/completions": _CHAT,
    "/responses": _Endpoint("chat", record_response, _response_recorder),
    "/embeddings": _Endpoint("embeddings", record_embeddings, _chat_recorder),
}


class _PostPlan(_Plan):
    __slots__ = ("endpoint",)

    def __init__(self, endpoint: _Endpoint, stream: bool, raw: str | None) -> None:
        super().__init__(stream=stream, raw=raw)
        self.endpoint = endpoint


def _raw_header(options: Any) -> str | None:
    if not isinstance(options, Mapping):
        return None
    headers = options.get("headers")
    if not isinstance(headers, Mapping):
        return None
    value = headers.get(_RAW_RESPONSE_HEADER)
    return value if isinstance(value, str) else None


class LowLevelPost:
    """``OpenAI.post`` / ``AsyncOpenAI.post`` (and the Azure clients'): see the module docstring.

    ``enabled``: False once uninstrumented. The resources of a client keep its ``post`` bound
    (``self._post = client.post``) from when they were made, so a resource made while
    instrumented still calls this wrapper after ``post`` is unwrapped: it then does nothing.
    """

    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        if not self.enabled:
            return None
        path = args[0] if args else kwargs.get("path")
        if type(path) is not str:
            return None
        endpoint = ENDPOINTS.get(path.partition("?")[0].rstrip("/"))
        if endpoint is None:
            return None
        body = kwargs.get("body")
        if not isinstance(body, Mapping):
            body = {}
        attrs: dict[str, AttributeValue] = {}
        provider, model = _common(instance, body, attrs, client_server(instance))
        stream = kwargs.get("stream") is True
        if stream:
            attrs[A.GEN_AI_REQUEST_STREAM] = True
        max_tokens = body.get("max_completion_tokens")
        if not isinstance(max_tokens, int):
            max_tokens = body.get("max_tokens") or body.get("max_output_tokens")
        if isinstance(max_tokens, int):
            attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        plan = _PostPlan(endpoint, stream, _raw_header(kwargs.get("options")))
        if stream and endpoint is _CHAT:
            plan.host = _str(attrs.get(A.SERVER_ADDRESS))
            if plan.host not in _NO_STREAM_OPTIONS:
                options, plan.hide_usage = _ask_for_usage(body.get("stream_options"))
                if plan.hide_usage:
                    plan.restore = {"body": body}
                    kwargs = {**kwargs, "body": {**body, "stream_options": options}}
        return CallRequest(provider, endpoint.operation, model, args, kwargs, attrs, state=plan)

    def result(self, call: LLMCall, result: Any) -> Any:
        plan: _PostPlan = call.state
        endpoint = plan.endpoint
        if plan.raw is not None and hasattr(result, "http_response"):
            if plan.stream:
                return _RawStream(result, call, endpoint.recorder(call))
            return _raw_result(call, result, plan, endpoint.record)
        if is_stream(result):
            return wrap_stream(call, result, endpoint.recorder(call))
        endpoint.record(call, result)
        call.end()
        return result


if TYPE_CHECKING:
    _ObjectProxy = wrapt.ObjectProxy[Any]
else:  # wrapt releases before 2 do not subscript at run time
    _ObjectProxy = wrapt.ObjectProxy


class _RawStream(_ObjectProxy):
    """A raw streamed response (``LegacyAPIResponse``) whose ``parse()`` gives the wrapped
    stream, which ends the call; never parsed, the call ends when this is collected."""

    def __init__(self, wrapped: Any, call: LLMCall, recorder: StreamRecorder) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_recorder = recorder
        self._self_stream: Any = None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = self.__wrapped__.parse(*args, **kwargs)
        if self._self_stream is None and not self._self_call.ended and is_stream(parsed):
            self._self_stream = wrap_stream(self._self_call, parsed, self._self_recorder)
        return self._self_stream if self._self_stream is not None else parsed

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if self._self_stream is None:
                self._self_call.end()
