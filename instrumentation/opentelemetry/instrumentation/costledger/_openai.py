"""OpenAI SDK: every model call becomes one counted span with usage, attribution and cost.

Covered, sync (``OpenAI``) and async (``AsyncOpenAI``), and so also ``AzureOpenAI`` (provider
``azure.ai.openai``) and OpenAI-compatible servers reached through the SDK:

- ``chat.completions.create(...)`` -- plain and ``stream=True``; ``chat.completions.parse(...)``;
  ``chat.completions.stream(...)`` (the helper makes its request through ``create`` when the
  manager is entered: that is when the span starts, in the context current then, and it is
  counted there, once).
- ``responses.create(...)`` -- plain and ``stream=True``; ``responses.parse(...)``;
  ``responses.stream(...)`` (through ``create``, as above; ``stream(response_id=...)`` goes through
  ``retrieve``, see below).

  A ``stream()`` manager never entered sends nothing, makes no span (open or ended) and counts
  nothing. The async helpers (``AsyncOpenAI``) call ``create`` / ``retrieve`` at once and keep the
  un-awaited coroutine in the manager; ``stream`` is wrapped (``_wrapper.count_when_awaited``) so
  that this call is counted when the manager awaits it on ``async with``, not when it is made.
  A dropped async manager warns "coroutine 'AsyncCompletions.create' was never awaited", as
  without costledger. The sync helpers call ``create`` on ``with``.
- ``embeddings.create(...)`` (operation ``embeddings``; input tokens only).
- ``with_raw_response.<method>(...)`` of the above, when not streamed: usage is read from the body.
  ``with_streaming_response`` and raw streams are counted without usage (the body is the
  caller's to read; we never read it for them).

Span: CLIENT, ``{gen_ai.operation.name} {gen_ai.request.model}`` (``chat gpt-4o-mini``,
``embeddings text-embedding-3-small``), ``gen_ai.provider.name = openai``, ``server.address`` /
``server.port`` of the client's base URL, the request's max tokens / temperature / top_p /
stream / ``openai.request.service_tier``, the response's id / model / finish reasons /
``gen_ai.response.service_tier`` (the tier that served the call and prices it; the same key as
on Anthropic spans, so one ledger column reads both).

Usage: OpenAI's ``prompt_tokens`` / ``input_tokens`` already INCLUDE the cached tokens
(``prompt_tokens_details.cached_tokens``, ``input_tokens_details.cached_tokens``) and the
cache writes (``cache_write_tokens``), and ``completion_tokens`` / ``output_tokens`` include the
reasoning tokens, which is exactly the GenAI convention: the counts are copied, never added up.
Cache writes go to the single, unsplit cache-write bucket of :class:`~.usage.TokenUsage`.

Streams: usage is exact, never estimated. A chat stream only reports usage when the request
asks for it (``stream_options.include_usage``), so when the caller did not, we ask for it and
hide what that changes: the extra usage-only chunk (``choices: []``) is not shown and the
``usage: null`` field the API then adds to every other chunk is made unset again, so the caller's
code sees exactly the chunks it would have seen without us (``to_dict()`` / ``to_json()``
included). When the caller asked for usage, the chunk stays visible. Response streams carry
usage in ``response.completed`` (or ``response.incomplete`` / ``response.failed``). The span ends
exactly once: stream exhausted, ``break`` + ``close()``, context-manager exit (also of the
``stream()`` helpers, whose ``close()`` we hook because it closes the HTTP response behind the
raw stream's back), error, or garbage collection. A stream closed before its usage arrived
records no usage rather than a guess. A server that rejects the ``stream_options`` we added
(Azure OpenAI API versions before 2024-09-01-preview, some OpenAI-compatible servers: a
400/422 naming ``stream_options``, which is not billed) gets the caller's request again exactly
as written, the caller sees the outcome of its own request, and that host's streams are
recorded without usage from then on (logged once at INFO).

Metadata: the seed's Step 1 ``metadata={"customer_id": ..., "customer_name": ...,
"work_item_id": ..., "workspace_id": ..., "user_id": ...}`` works on these calls too. When
``metadata`` names any attribution key, those keys are removed before the request leaves the
process and apply to the call; the remaining keys are forwarded only where the API accepts them:
Responses always; Chat Completions only with ``store=True`` (the API rejects ``metadata``
otherwise); embeddings have no ``metadata`` (nothing is forwarded). A ``metadata`` without
attribution keys is passed through untouched.

Re-entrancy: a call made while a counted call runs (an SDK helper calling another wrapped
method) is not counted again (the guard of ``_context``). ``responses.retrieve`` (and
``responses.stream(response_id=...)``) of a response this process already reported makes no
span. Background responses (``background=True``) answer ``queued`` without usage: their create
span is kept but marked ``costledger.counted = false``, and the call is counted once, with the
create call's attribution, by the first ``retrieve`` / ``stream(response_id=...)`` in this
process that sees the response finished with its usage. A background response created by
another process is not counted here (its creator counts it when it sees it finished).

Not counted: the legacy ``completions`` endpoint, ``responses.compact``, assistants/threads,
images, audio, realtime and batch results (not wrapped; their costs can be recorded with
``record_cost``).

SDK versions: written against openai 3.x; the hook points (``resources.chat.completions``
``Completions``/``AsyncCompletions``, ``resources.responses``, ``resources.embeddings``,
``lib.streaming.chat`` / ``lib.streaming.responses`` stream helpers) carry the same names in
1.x and 2.x, where the methods that exist are wrapped and the missing ones are skipped (the
Responses API arrived in 1.66; ``beta.chat.completions.parse``/``stream`` of earlier 1.x
releases are wrapped too).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, cast

from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from . import attributes as A
from ._call import CallRequest, LLMCall
from ._patching import Patches, sdk_classes
from ._setup import SETTINGS
from ._streams import AsyncStreamProxy, StreamProxy, wrap_stream
from ._wrapper import CallWrapper, count_when_awaited
from .attributes import METADATA_KEYS
from .attribution import current_attribution, merge_attribution, split_metadata
from .usage import TokenUsage

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

PROVIDER: Final = "openai"
AZURE_PROVIDER: Final = "azure.ai.openai"
_NO_FORWARD: Final = frozenset[str]()
_RAW_RESPONSE_HEADER: Final = "X-Stainless-Raw-Response"
# Response statuses that end a response; anything else is still running.
_FINAL_STATUSES: Final = frozenset({"completed", "incomplete", "failed", "cancelled"})
_FINAL_EVENTS: Final = frozenset({"response.completed", "response.incomplete", "response.failed"})
# Servers (by host) that rejected ``stream_options`` -- Azure OpenAI API versions before
# 2024-09-01-preview, some OpenAI-compatible servers: not asked again in this process.
_NO_STREAM_OPTIONS: set[str | None] = set()
_MISSING: Final = object()


class _JSON:
    """A decoded JSON object (a raw response body) read like the SDK's models.

    Fields are read with ``getattr(obj, name, None)`` everywhere, a builtin that costs far less
    per call than a helper of ours; the SDK's models support it as they are, and this gives raw
    bodies the same shape (absent fields read as ``None``).
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        value = self._data.get(name)
        if type(value) is dict:
            return _JSON(value)
        if type(value) is list:
            return [_JSON(v) if type(v) is dict else v for v in value]
        return value


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json", exclude_none=True)
    return value


# --- usage ------------------------------------------------------------------------------------
def usage_from_chat(usage: Any) -> TokenUsage:
    """A :class:`TokenUsage` from a Chat Completions / embeddings ``usage`` (model or ``_JSON``)."""
    # Inline ``type(...) is int`` checks: this runs on every call (None, or junk from an
    # OpenAI-compatible server, counts as 0).
    prompt = getattr(usage, "prompt_tokens_details", None)
    completion = getattr(usage, "completion_tokens_details", None)
    tokens_in = getattr(usage, "prompt_tokens", None)
    tokens_out = getattr(usage, "completion_tokens", None)
    cached = getattr(prompt, "cached_tokens", None)
    written = getattr(prompt, "cache_write_tokens", None)
    reasoning = getattr(completion, "reasoning_tokens", None)
    return _token_usage(
        (
            tokens_in if type(tokens_in) is int else 0,
            tokens_out if type(tokens_out) is int else 0,
            cached if type(cached) is int else 0,
            written if type(written) is int else 0,
            0,
            reasoning if type(reasoning) is int else 0,
        )
    )


# ``TokenUsage`` from a tuple of its six counts in order, without a Python-level call (its
# ``__new__`` and ``_make`` are Python functions).
_token_usage: Final = cast(
    "Callable[[tuple[int, int, int, int, int, int]], TokenUsage]",
    partial(tuple.__new__, TokenUsage),
)


def usage_from_response(usage: Any) -> TokenUsage:
    """A :class:`TokenUsage` from a Responses API ``usage`` (an SDK model or ``_JSON``)."""
    details = getattr(usage, "input_tokens_details", None)
    output = getattr(usage, "output_tokens_details", None)
    return TokenUsage(
        input_tokens=_int(getattr(usage, "input_tokens", None)),
        output_tokens=_int(getattr(usage, "output_tokens", None)),
        cache_read_tokens=_int(getattr(details, "cached_tokens", None)),
        cache_write_5m_tokens=_int(getattr(details, "cache_write_tokens", None)),
        reasoning_tokens=_int(getattr(output, "reasoning_tokens", None)),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- per-call plan ----------------------------------------------------------------------------
@dataclass(slots=True)
class _Plan:
    """What ``result`` needs to know about the request (``call.state``)."""

    stream: bool = False
    # We asked a chat stream for usage the caller did not ask for: hide what that changes.
    hide_usage: bool = False
    # The caller's own values of the arguments we changed to ask for usage (_MISSING: absent).
    restore: dict[str, Any] | None = None
    host: str | None = None
    # ``with_raw_response`` ("true") / ``with_streaming_response`` ("stream").
    raw: str | None = None
    background: bool = False
    attribution: Mapping[str, str] | None = None
    # Set for a retrieve that may complete a deferred background call.
    retrieving: str | None = None


# The plan of every plain (not streamed, not raw) call: shared, never changed.
_PLAIN: Final = _Plan()

_Server = tuple[object, str, dict[str, AttributeValue]]
# Per base URL object: (the URL, provider, server attributes), worked out once per URL: the
# host, port and client type would otherwise be read and turned into attributes on every call.
_SERVERS: dict[int, _Server] = {}


def _server(instance: Any) -> _Server:
    # The resource's client (``_client``: private, and the only way from a resource such as
    # ``client.chat.completions`` to its client; kept on purpose, tested by
    # test_openai.py::test_private_names_we_rely_on) and its public ``base_url``.
    client = getattr(instance, "_client", None)
    url = getattr(client, "base_url", None)
    known = _SERVERS.get(id(url))
    if known is not None and known[0] is url:
        return known
    attrs: dict[str, AttributeValue] = {}
    host = getattr(url, "host", None)
    if host:
        attrs[A.SERVER_ADDRESS] = host
        port = getattr(url, "port", None)
        if not isinstance(port, int):
            port = 80 if getattr(url, "scheme", "https") == "http" else 443
        attrs[A.SERVER_PORT] = port
    azure = type(client).__name__ in ("AzureOpenAI", "AsyncAzureOpenAI")
    known = (url, AZURE_PROVIDER if azure else PROVIDER, attrs)
    if len(_SERVERS) > 256:
        _SERVERS.clear()
    _SERVERS[id(url)] = known
    return known


def _raw_mode(kwargs: Mapping[str, Any]) -> str | None:
    headers = kwargs.get("extra_headers")
    if headers and isinstance(headers, Mapping):
        value = headers.get(_RAW_RESPONSE_HEADER)
        return value if isinstance(value, str) else None
    return None


def _take_metadata(kwargs: dict[str, Any], accepted: bool) -> Mapping[str, str]:
    """Strip attribution keys from ``kwargs["metadata"]``; keep the rest only if ``accepted``."""
    metadata = kwargs.get("metadata")
    if (
        not metadata
        or not isinstance(metadata, Mapping)
        or not any(key in METADATA_KEYS for key in metadata)
    ):
        return {}
    send, attribution = split_metadata(metadata, _NO_FORWARD)
    if send is not None and accepted:
        kwargs["metadata"] = send
    else:
        if send is not None:
            logger.debug(
                "costledger: metadata keys %s not forwarded: this OpenAI request does not "
                "accept metadata",
                sorted(send),
            )
        del kwargs["metadata"]
    return attribution


def _common(
    instance: Any, kwargs: dict[str, Any], attrs: dict[str, AttributeValue]
) -> tuple[str, str | None]:
    _, provider, server = _server(instance)
    attrs.update(server)
    get = kwargs.get
    model = get("model")
    # Each optional argument is looked at only when given (this runs on every call).
    value = get("temperature")
    if value is not None and (value := _float(value)) is not None:
        attrs[A.GEN_AI_REQUEST_TEMPERATURE] = value
    value = get("top_p")
    if value is not None and (value := _float(value)) is not None:
        attrs[A.GEN_AI_REQUEST_TOP_P] = value
    value = get("service_tier")
    if value is not None and isinstance(value, str):
        attrs[A.OPENAI_REQUEST_SERVICE_TIER] = value
    if get("stream") is True:
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    return provider, model if isinstance(model, str) else None


def _ask_for_usage(options: Any) -> tuple[Any, bool]:
    """``stream_options`` that make the API report usage; True when that is our addition."""
    if isinstance(options, Mapping):
        if options.get("include_usage") is True:
            return options, False
        return {**options, "include_usage": True}, True
    return {"include_usage": True}, True


# --- chat completions -------------------------------------------------------------------------
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


def _raw_result(call: LLMCall, result: Any, plan: _Plan, record: Any) -> Any:
    # with_raw_response bodies are read already (non-streamed); parse them, never read for the
    # caller: a streaming response or a raw stream is counted without usage.
    http = getattr(result, "http_response", None)
    if http is not None and not plan.stream and getattr(http, "is_closed", False):
        media = http.headers.get("content-type", "")
        if media.startswith("application/json"):
            record(call, _JSON(http.json()))
    call.end()
    return result


# --- responses --------------------------------------------------------------------------------
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


# --- embeddings -------------------------------------------------------------------------------
def record_embeddings(call: LLMCall, response: Any) -> None:
    call.set_response(model=getattr(response, "model", None))
    usage = getattr(response, "usage", None)
    if usage is not None:
        call.usage = usage_from_chat(usage)


class Embeddings:
    """``embeddings.create`` (sync and async)."""

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        # The endpoint has no ``metadata``: only the seed's attribution keys are accepted
        # here, and nothing is forwarded.
        attribution = _take_metadata(kwargs, accepted=False)
        attrs: dict[str, AttributeValue] = {}
        provider, model = _common(instance, kwargs, attrs)
        plan = _Plan(raw=_raw_mode(kwargs))
        return CallRequest(
            provider, "embeddings", model, args, kwargs, attrs, attribution, state=plan
        )

    def result(self, call: LLMCall, result: Any) -> Any:
        plan: _Plan = call.state
        if plan.raw is not None:
            return _raw_result(call, result, plan, record_embeddings)
        record_embeddings(call, result)
        call.end()
        return result


# --- the stream helpers' close() --------------------------------------------------------------
# The raw stream (our proxy) each stream helper was made over, from the helper's public
# ``raw_stream`` constructor argument; held while the helper lives.
_HELPER_STREAMS: weakref.WeakKeyDictionary[Any, StreamProxy | AsyncStreamProxy] = (
    weakref.WeakKeyDictionary()
)


def _remember_raw_stream(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Around ``ChatCompletionStream(raw_stream=...)`` / ``ResponseStream`` (sync or async)."""
    result = wrapped(*args, **kwargs)
    raw = kwargs.get("raw_stream")
    if isinstance(raw, StreamProxy | AsyncStreamProxy):
        try:
            _HELPER_STREAMS[instance] = raw
        except TypeError:  # a helper class that takes no weak reference: ends when collected
            logger.debug("costledger: %s is not weakly referenceable", type(instance))
    return result


def _close_raw_stream(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """After ``ChatCompletionStream.close()`` / ``ResponseStream.close()`` (sync or async).

    The helpers close the HTTP response directly, not the raw stream they read from, so the
    raw stream (our proxy) would only notice when garbage collected: close it too, which ends
    its span now. Closing an HTTP response twice is a no-op.
    """
    result = wrapped(*args, **kwargs)
    raw = _HELPER_STREAMS.get(instance)
    if raw is None:
        return result
    if hasattr(type(result), "__await__"):

        async def close_both() -> Any:
            value = await result
            await raw.close()
            return value

        return close_both()
    raw.close()
    return result


# --- (un)instrument ---------------------------------------------------------------------------
_CHAT_MODULES: Final = (
    "openai.resources.chat.completions",
    "openai.resources.beta.chat.completions",
)
_RESPONSES_MODULE: Final = "openai.resources.responses"
_EMBEDDINGS_MODULE: Final = "openai.resources.embeddings"
_HELPER_STREAM_CLASSES: Final = (
    ("openai.lib.streaming.chat", ("ChatCompletionStream", "AsyncChatCompletionStream")),
    ("openai.lib.streaming.responses", ("ResponseStream", "AsyncResponseStream")),
)

_patches = Patches()


def instrument(tracer: Tracer) -> None:
    """Wrap the model-call methods of the installed openai SDK (no-op if it is absent)."""
    if _patches:
        uninstrument()
    _NO_STREAM_OPTIONS.clear()
    chat = ChatCalls(tracer, ChatCompletions())
    responses = CallWrapper(tracer, Responses())
    retrieve = CallWrapper(tracer, RetrieveResponse())
    embeddings = CallWrapper(tracer, Embeddings())
    for module_name in _CHAT_MODULES:
        for cls in sdk_classes(module_name, ("Completions", "AsyncCompletions")):
            _patches.wrap(cls, "create", chat)
            _patches.wrap(cls, "parse", chat)
        # The async helpers call ``create`` at once and keep its coroutine in the manager: the
        # call is counted when the manager awaits it (sync helpers call ``create`` on entering).
        for cls in sdk_classes(module_name, ("AsyncCompletions",)):
            _patches.wrap(cls, "stream", count_when_awaited)
    for cls in sdk_classes(_RESPONSES_MODULE, ("Responses", "AsyncResponses")):
        _patches.wrap(cls, "create", responses)
        _patches.wrap(cls, "parse", responses)
        _patches.wrap(cls, "retrieve", retrieve)
    for cls in sdk_classes(_RESPONSES_MODULE, ("AsyncResponses",)):
        _patches.wrap(cls, "stream", count_when_awaited)
    for cls in sdk_classes(_EMBEDDINGS_MODULE, ("Embeddings", "AsyncEmbeddings")):
        _patches.wrap(cls, "create", embeddings)
    for module_name, names in _HELPER_STREAM_CLASSES:
        for cls in sdk_classes(module_name, names):
            _patches.wrap(cls, "__init__", _remember_raw_stream)
            _patches.wrap(cls, "close", _close_raw_stream)


def uninstrument() -> None:
    """Restore every method :func:`instrument` wrapped."""
    _patches.unwrap_all()


__all__ = ["instrument", "uninstrument"]
