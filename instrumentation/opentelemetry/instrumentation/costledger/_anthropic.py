"""Anthropic SDK: every Messages call becomes one counted span with usage, attribution and cost.

Covered, sync (``Anthropic``) and async (``AsyncAnthropic``), for ``client.messages`` and
``client.beta.messages`` (and so also the Bedrock / Vertex / Foundry clients, which share these
resources):

- ``create(...)`` -- plain, and ``stream=True`` (the returned stream is wrapped: usage is read from
  its events as the caller reads them);
- ``stream(...)`` -- the helper's request is made when the manager is entered (``with`` /
  ``async with``); that is when the span starts, in the context current then. A manager never
  entered sends nothing and makes no span (open or ended) and no count. ``text_stream``,
  ``get_final_message()``, ``until_done()`` and iteration all read through the same wrapped raw
  stream;
- ``parse(...)``;
- ``with_raw_response.create(...)`` -- non-streamed: usage is read from the body;
- ``beta.messages.tool_runner(...)`` -- each model turn is a ``create``/``stream`` call, counted
  once each.

Not counted: ``count_tokens`` (free), model listing, files, and any call inside a counted call
(the re-entrancy guard of ``_context``).

Usage on the span follows the GenAI conventions of DESIGN.md. Anthropic reports ``input_tokens``
EXCLUDING cache; ``gen_ai.usage.input_tokens`` = ``input_tokens + cache_read_input_tokens +
cache_creation_input_tokens``. Cache writes are split 5-minute / 1-hour from
``usage.cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens`` (all 5-minute
when the breakdown is absent). Thinking tokens come from ``usage.output_tokens_details``
(``gen_ai.usage.reasoning.output_tokens``; they are part of ``output_tokens``). The response's
``usage.service_tier`` (standard / priority / batch) is recorded and priced. On the beta API the
tokens of server-side *compaction* iterations (``usage.iterations`` entries of type
``compaction``), which the top-level usage leaves out but which are billed, are added in. In a
stream, ``message_start`` carries the input usage and every ``message_delta`` carries CUMULATIVE
usage: each field is assigned, never added. A stream closed early records the usage seen so far.

The SDK's own spans (anthropic 2.x)
-----------------------------------
Once a tracer provider exists the anthropic SDK makes its own ``anthropic.messages.create`` span
per call (off with ``ANTHROPIC_OPEN_TELEMETRY=false`` or ``Anthropic(open_telemetry=False)``).
Choice: **nest and mark**. Our span (CLIENT, ``chat {model}``) starts first and is current while
the SDK runs, so the SDK's span is its child; ``CostLedgerSpanProcessor`` marks that child
``costledger.counted = false`` and copies our attribution onto it. The call is counted once, by
our span, which has usage, attribution and cost whether the SDK's spans are on or off; the SDK's
span keeps its HTTP detail (url, status code, request id, retries) in the trace. Why not enrich
theirs: it starts deep inside the SDK's request path with no hook to reach it, does not exist when
native spans are off (so we would need two code paths), and its name is not
``{operation} {model}``. Why not replace it: turning it off per call would need a client copy per
call. The processor is added by the instrumentor to the SDK tracer provider (see
``processor.py``); without it the SDK's span is not marked, and a ledger would count the call
twice -- add the processor by hand if you set up tracing yourself after instrumenting.

Message batches
---------------
Batch requests (``messages.batches.create``) have their ``params.metadata`` attribution keys
stripped (``user_id`` is forwarded). When results are read (``messages.batches.results(id)``),
each *succeeded* result becomes one counted span ``chat {model}`` with its usage, marked
``costledger.batch = true`` and priced at the batch price; errored / canceled / expired results
cost nothing and make no span. Attribution of a result: the metadata that its request named in
``batches.create`` when that happened in this process (kept in memory by batch id and
``custom_id``), else the context current while results are read (wrap the reading in
``attribute_to``). Each result is reported once per process: reading the same batch's results
again in the same process makes no new spans (another process reading them again would report
them again).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from . import attributes as A
from ._call import CallRequest, LLMCall, start_call
from ._patching import Patches, sdk_classes
from ._setup import SETTINGS
from ._streams import is_awaitable, is_stream, wrap_stream
from ._wrapper import CallWrapper
from .attribution import split_metadata
from .usage import TokenUsage

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

PROVIDER: Final = "anthropic"
# What the Messages API accepts in ``metadata``; the other attribution keys are stripped.
FORWARD_METADATA: Final = frozenset({"user_id"})

_MESSAGES_MODULES: Final = (
    "anthropic.resources.messages.messages",
    "anthropic.resources.messages",  # older releases: a module, not a package
    "anthropic.resources.beta.messages.messages",
)
_BATCHES_MODULES: Final = (
    "anthropic.resources.messages.batches",
    "anthropic.resources.beta.messages.batches",
)


def _declared(cls: type) -> frozenset[str] | None:
    """The fields a pydantic model class declares (``model_fields``), ``None`` for other types.

    Looked up once per class: a declared field is a plain attribute (``obj.name``), while
    ``getattr`` of an undeclared one goes through pydantic's ``__getattr__``, which raises and
    catches an AttributeError when the field is absent -- slow, and on every call for a field
    that this SDK release does not declare. Undeclared fields the API sent are in the public
    ``model_extra``.
    """
    found = _DECLARED.get(cls, _UNKNOWN)
    if found is _UNKNOWN:
        fields = getattr(cls, "model_fields", None)  # pydantic 2
        if not isinstance(fields, Mapping):
            fields = getattr(cls, "__fields__", None)  # pydantic 1
        found = frozenset(fields) if isinstance(fields, Mapping) else None
        if len(_DECLARED) < 1024:  # bounded: SDK model classes are few
            _DECLARED[cls] = found
    return found  # type: ignore[return-value]


_DECLARED: dict[type, frozenset[str] | None] = {}
_UNKNOWN: Final = object()


def _get(obj: Any, name: str) -> Any:
    """Field ``name`` of an SDK model (declared, or an extra the API sent) or of a decoded dict."""
    if isinstance(obj, dict):
        return obj.get(name)
    declared = _declared(type(obj))
    if declared is None or name in declared:
        return getattr(obj, name, None)
    extra: Any = getattr(obj, "model_extra", _UNKNOWN)
    if extra is _UNKNOWN:  # pydantic 1 keeps extras as attributes
        return getattr(obj, name, None)
    return extra.get(name) if extra else None


def _reader(obj: Any, fields: frozenset[str], known: dict[type, bool]) -> Callable[[Any, str], Any]:
    """How to read ``fields`` of ``obj``: as plain attributes (``getattr``) when its class
    declares them all -- every current SDK release's models do -- else through :func:`_get`.
    ``known`` remembers the answer per class."""
    cls = type(obj)
    plain = known.get(cls)
    if plain is None:
        declared = _declared(cls)
        plain = declared is not None and fields <= declared
        if len(known) < 1024:  # bounded: SDK model classes are few
            known[cls] = plain
    return getattr if plain else _get


# The fields ``AnthropicUsage.assign`` and ``record_message`` read from a usage and a message.
_USAGE_FIELDS: Final = frozenset(
    {
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "cache_creation",
        "output_tokens_details",
        "service_tier",
    }
)
_MESSAGE_FIELDS: Final = frozenset({"usage", "stop_reason", "model", "id"})
_PLAIN_USAGE: dict[type, bool] = {}
_PLAIN_MESSAGE: dict[type, bool] = {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json", exclude_none=True)
    return value


# --- usage ------------------------------------------------------------------------------------
class AnthropicUsage:
    """The one reader of Anthropic ``usage`` (an SDK model or a decoded dict).

    ``assign(usage)`` takes the fields a usage reports; a stream's later ``message_delta``
    reports running totals, not increments, so each field present replaces the last. Beta
    compaction iterations, billed beyond the top-level counts, are read from the latest usage.
    ``token_usage()`` gives the GenAI-convention counts: input INCLUDES cache reads and writes
    (Anthropic reports them apart), 1-hour cache writes split from 5-minute ones, reasoning
    (``thinking_tokens``) within output.
    """

    __slots__ = (
        "cache_1h",
        "cache_read",
        "cache_write",
        "compaction",
        "input",
        "output",
        "service_tier",
        "thinking",
    )

    def __init__(self) -> None:
        self.input = 0
        self.output = 0
        self.cache_read = 0
        self.cache_write = 0
        self.cache_1h = 0
        self.thinking = 0
        self.compaction = (0, 0)
        self.service_tier: str | None = None

    def assign(self, usage: Any) -> None:
        read = _reader(usage, _USAGE_FIELDS, _PLAIN_USAGE)
        value = read(usage, "input_tokens")
        if type(value) is int:
            self.input = value
        value = read(usage, "output_tokens")
        if type(value) is int:
            self.output = value
        value = read(usage, "cache_read_input_tokens")
        if type(value) is int:
            self.cache_read = value
        value = read(usage, "cache_creation_input_tokens")
        if type(value) is int:
            self.cache_write = value
        breakdown = read(usage, "cache_creation")
        if breakdown is not None:
            self.cache_1h = _int(_get(breakdown, "ephemeral_1h_input_tokens"))
        details = read(usage, "output_tokens_details")
        if details is not None:
            self.thinking = _int(_get(details, "thinking_tokens"))
        tier = read(usage, "service_tier")
        if tier:
            self.service_tier = tier
        self.compaction = _compaction_tokens(usage)

    def token_usage(self) -> TokenUsage:
        write = self.cache_write
        one_hour = min(self.cache_1h, write)
        extra_input, extra_output = self.compaction
        return TokenUsage(
            input_tokens=self.input + self.cache_read + write + extra_input,
            output_tokens=self.output + extra_output,
            cache_read_tokens=self.cache_read,
            cache_write_5m_tokens=write - one_hour,
            cache_write_1h_tokens=one_hour,
            reasoning_tokens=min(self.thinking, self.output),
        )


def _compaction_tokens(usage: Any) -> tuple[int, int]:
    """(input incl. cache, output) of beta compaction iterations, billed beyond the top level."""
    entries = _get(usage, "iterations")
    if not isinstance(entries, list):
        return 0, 0
    tokens_in = tokens_out = 0
    for entry in entries:
        if _get(entry, "type") == "compaction":
            tokens_in += (
                _int(_get(entry, "input_tokens"))
                + _int(_get(entry, "cache_read_input_tokens"))
                + _int(_get(entry, "cache_creation_input_tokens"))
            )
            tokens_out += _int(_get(entry, "output_tokens"))
    return tokens_in, tokens_out


def record_message(call: LLMCall, message: Any) -> None:
    """Put a complete Message (an SDK model or a decoded dict) on ``call``."""
    read = _reader(message, _MESSAGE_FIELDS, _PLAIN_MESSAGE)
    stop = read(message, "stop_reason")
    usage = read(message, "usage")
    tier = None
    if usage is not None:
        fields = AnthropicUsage()
        fields.assign(usage)
        call.usage = fields.token_usage()
        tier = fields.service_tier
    call.set_response(
        model=read(message, "model"),
        response_id=read(message, "id"),
        finish_reasons=[stop] if isinstance(stop, str) else None,
        service_tier=tier,
    )
    if call.capture_content:
        call.set_content(output_messages=[{"role": "assistant", "content": _content(message)}])


def _content(message: Any) -> Any:
    return _jsonable(_get(message, "content"))


# --- streams ----------------------------------------------------------------------------------
class MessageStreamRecorder:
    """Reads usage from raw Messages stream events (``message_start`` / ``message_delta``)."""

    __slots__ = ("_blocks", "_id", "_model", "_stop", "_usage", "_usage_seen")

    def __init__(self) -> None:
        self._usage = AnthropicUsage()
        self._usage_seen = False
        self._id: str | None = None
        self._model: str | None = None
        self._stop: str | None = None
        self._blocks: list[str] | None = [] if SETTINGS.capture_content else None

    def item(self, event: Any) -> bool:
        kind = _get(event, "type")
        if kind == "message_delta":
            usage = _get(event, "usage")
            if usage is not None:
                self._usage.assign(usage)
                self._usage_seen = True
            stop = _get(_get(event, "delta"), "stop_reason")
            if stop:
                self._stop = stop
        elif kind == "message_start":
            message = _get(event, "message")
            self._id = _get(message, "id")
            self._model = _get(message, "model")
            usage = _get(message, "usage")
            if usage is not None:
                self._usage.assign(usage)
                self._usage_seen = True
        elif self._blocks is not None and kind == "content_block_delta":
            text = _get(_get(event, "delta"), "text")
            if isinstance(text, str):
                self._blocks.append(text)
        return True

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            model=self._model,
            response_id=self._id,
            finish_reasons=[self._stop] if self._stop else None,
            service_tier=self._usage.service_tier,
        )
        if self._usage_seen:
            call.usage = self._usage.token_usage()
        if self._blocks is not None:
            text = "".join(self._blocks)
            call.set_content(
                output_messages=[{"role": "assistant", "content": [{"type": "text", "text": text}]}]
            )


# --- requests ---------------------------------------------------------------------------------
def _describe(
    instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], streaming: bool = False
) -> CallRequest:
    attribution: Mapping[str, str] | None = None
    if "metadata" in kwargs:
        send, attribution = split_metadata(kwargs["metadata"], FORWARD_METADATA)
        if attribution or send is None:
            kwargs = dict(kwargs)
            if send is None:
                del kwargs["metadata"]
            else:
                kwargs["metadata"] = send
    get = kwargs.get
    model = get("model")
    attrs: dict[str, AttributeValue] = {}
    max_tokens = get("max_tokens")
    if isinstance(max_tokens, int):
        attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    # ``in`` first: the optional arguments are mostly absent, and a miss costs less than get().
    if "temperature" in kwargs:
        temperature = kwargs["temperature"]
        if isinstance(temperature, int | float):
            attrs[A.GEN_AI_REQUEST_TEMPERATURE] = float(temperature)
    if streaming or ("stream" in kwargs and kwargs["stream"] is True):
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    if "service_tier" in kwargs:
        tier = kwargs["service_tier"]
        if isinstance(tier, str):
            attrs[A.GEN_AI_REQUEST_SERVICE_TIER] = tier
    if SETTINGS.capture_content:
        import json

        messages = get("messages")
        if messages is not None:
            attrs[A.GEN_AI_INPUT_MESSAGES] = json.dumps(
                _jsonable(list(messages)), default=str, ensure_ascii=False
            )
        system = get("system")
        if isinstance(system, str | list):
            attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS] = json.dumps(
                _jsonable(system), default=str, ensure_ascii=False
            )
    return CallRequest(
        PROVIDER,
        "chat",
        model if isinstance(model, str) else None,
        args,
        kwargs,
        attrs,
        attribution,
    )


class MessagesCreate:
    """``create`` / ``parse`` (sync and async): a Message, or a raw stream when ``stream=True``."""

    # The adapter's ``request(instance, args, kwargs)``, without a call of our own in between.
    request = staticmethod(_describe)

    def result(self, call: LLMCall, result: Any) -> Any:
        if is_stream(result):
            return wrap_stream(call, result, MessageStreamRecorder())
        if type(result) is dict or _declared(type(result)) is not None:
            record_message(call, result)  # a Message (or a decoded body)
            call.end()
            return result
        http_response = getattr(result, "http_response", None)
        if http_response is not None:  # with_raw_response / with_streaming_response
            media = http_response.headers.get("content-type", "")
            if http_response.is_closed and media.startswith("application/json"):
                record_message(call, http_response.json())
            else:
                # A body the caller reads itself (raw stream, with_streaming_response): we never
                # read it for them, so the call is recorded without usage, and says so.
                call.span.set_attribute(
                    A.COST_UNPRICED_REASON,
                    "usage not observed: the caller reads the raw response body",
                )
        call.end()
        return result


class StreamWrapper:
    """Wraps ``Messages.stream``: strips metadata now, counts the call when the manager enters.

    The helper makes a stream manager (``anthropic.lib.streaming.MessageStreamManager`` and its
    async / beta siblings) from the request it will send on ``with``: its public constructor
    argument ``api_request`` (a callable for sync clients, an un-awaited coroutine for async
    ones). While the helper runs, the manager made is handed the counted call instead (see
    :func:`_counted_manager`), so the span starts when the request is made, on ``with``.
    """

    __slots__ = ("_calls",)

    def __init__(self, calls: CallWrapper) -> None:
        self._calls = calls

    def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        from ._context import is_call_active

        if is_call_active():
            return wrapped(*args, **kwargs)
        try:
            request = _describe(instance, args, kwargs, True)
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
_STREAM_MANAGERS: Final = (
    "MessageStreamManager",
    "AsyncMessageStreamManager",
    "BetaMessageStreamManager",
    "BetaAsyncMessageStreamManager",
)


def _counted_manager(
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


# --- batches ----------------------------------------------------------------------------------
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
        params = _get(item, "params")
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


def _batches_create(
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
    batch_id = _get(batch, "id")
    if isinstance(batch_id, str):
        BATCHES.remember(batch_id, found)


class BatchResultsRecorder:
    """One counted, batch-priced span per succeeded result, as the caller reads them."""

    __slots__ = ("_batch_id", "_tracer")

    def __init__(self, tracer: Tracer, batch_id: str) -> None:
        self._tracer = tracer
        self._batch_id = batch_id

    def item(self, entry: Any) -> bool:
        result = _get(entry, "result")
        if _get(result, "type") != "succeeded":
            return True
        custom_id = str(_get(entry, "custom_id"))
        if not BATCHES.first_report(self._batch_id, custom_id):
            return True
        message = _get(result, "message")
        attribution = BATCHES.attribution.get(self._batch_id, {}).get(custom_id, {})
        request = CallRequest(
            provider=PROVIDER,
            operation="chat",
            model=_get(message, "model"),
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


def _batches_results(tracer: Tracer) -> Any:
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


# --- (un)instrument ---------------------------------------------------------------------------
_patches = Patches()


def instrument(tracer: Tracer) -> None:
    """Wrap the Messages methods of the installed anthropic SDK (no-op if it is absent)."""
    creates = CallWrapper(tracer, MessagesCreate())
    streams = StreamWrapper(creates)
    results = _batches_results(tracer)
    for module_name in _MESSAGES_MODULES:
        for cls in sdk_classes(module_name, ("Messages", "AsyncMessages")):
            for method, wrapper in (("create", creates), ("parse", creates), ("stream", streams)):
                _patches.wrap(cls, method, wrapper)
    for cls in sdk_classes("anthropic.lib.streaming", _STREAM_MANAGERS):
        _patches.wrap(cls, "__init__", _counted_manager)
    for module_name in _BATCHES_MODULES:
        for cls in sdk_classes(module_name, ("Batches", "AsyncBatches")):
            _patches.wrap(cls, "create", _batches_create)
            _patches.wrap(cls, "results", results)


def uninstrument() -> None:
    """Restore every method :func:`instrument` wrapped."""
    _patches.unwrap_all()
