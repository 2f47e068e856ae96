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

Modules: ``_chat`` (Chat Completions), ``_responses`` (Responses, background polling),
``_embeddings``, ``_shared`` (usage, the per-call plan, server, metadata, raw bodies); this
module hooks the stream helpers' ``close()`` and wraps and unwraps the SDK's methods.

May import the instrumentation's own modules (``_call``, ``_wrapper``, ``_streams``,
``_patching``, ``usage``, ``attributes`` ...) and the openai SDK (looked up by module name when
instrumenting); never ``_anthropic`` nor anything of the exporter.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Final

from opentelemetry.trace import Tracer

from .._patching import Patches, sdk_classes
from .._streams import AsyncStreamProxy, StreamProxy
from .._wrapper import CallWrapper, count_when_awaited
from ._chat import ChatCalls, ChatCompletions
from ._embeddings import Embeddings
from ._post import LowLevelPost
from ._responses import Responses, RetrieveResponse
from ._shared import _NO_STREAM_OPTIONS

logger = logging.getLogger("opentelemetry.instrumentation.costledger")


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
# The low-level ``post`` adapter of the current instrument(), switched off by uninstrument().
_post: LowLevelPost | None = None


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
    # The low-level ``post`` (LiteLLM's path), on the base class of the public clients that
    # defines it.
    global _post
    if _post is not None:
        _post.enabled = False
    _post = LowLevelPost()
    post = ChatCalls(tracer, _post)
    for client_cls in sdk_classes("openai", ("OpenAI", "AsyncOpenAI")):
        for cls in client_cls.__mro__:
            if "post" in cls.__dict__:
                _patches.wrap(cls, "post", post)
                break


def uninstrument() -> None:
    """Restore every method :func:`instrument` wrapped."""
    global _post
    _patches.unwrap_all()
    if _post is not None:
        _post.enabled = False
        _post = None


__all__ = ["instrument", "uninstrument"]
