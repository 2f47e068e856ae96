"""What the OpenAI adapters share: usage, the per-call plan, the server, metadata, raw bodies.

``usage_from_chat`` / ``usage_from_response``: a :class:`~..usage.TokenUsage` from a Chat
Completions / embeddings or a Responses ``usage`` (an SDK model or a raw JSON body). OpenAI's
``prompt_tokens`` / ``input_tokens`` already INCLUDE the cached tokens and the cache writes, and
``completion_tokens`` / ``output_tokens`` include the reasoning tokens, which is exactly the GenAI
convention: the counts are copied, never added up.

``_Plan``: what the adapter decided for one call (streamed, usage asked for on the caller's
behalf and hidden again, the arguments it changed); ``_common``: the request attributes every
operation has (server, max tokens, temperature ...); ``_take_metadata``: attribution keys taken
out of ``metadata`` before the request leaves the process; ``_raw_result``: a
``with_raw_response`` result, its body read only when it is already read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from .. import attributes as A
from .._call import LLMCall
from ..attributes import METADATA_KEYS
from ..attribution import split_metadata
from ..usage import TokenUsage

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

    Fields are read with ``getattr(obj, name, None)`` everywhere, for SDK models and raw bodies
    alike; the SDK's models support it as they are, and this gives raw
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
    prompt = getattr(usage, "prompt_tokens_details", None)
    completion = getattr(usage, "completion_tokens_details", None)
    return _token_usage(
        getattr(usage, "prompt_tokens", None),  # input_tokens
        getattr(usage, "completion_tokens", None),  # output_tokens
        getattr(prompt, "cached_tokens", None),  # cache_read_tokens
        getattr(prompt, "cache_write_tokens", None),  # cache_write_5m_tokens
        getattr(completion, "reasoning_tokens", None),  # reasoning_tokens
    )


def usage_from_response(usage: Any) -> TokenUsage:
    """A :class:`TokenUsage` from a Responses API ``usage`` (an SDK model or ``_JSON``)."""
    details = getattr(usage, "input_tokens_details", None)
    output = getattr(usage, "output_tokens_details", None)
    return _token_usage(
        getattr(usage, "input_tokens", None),
        getattr(usage, "output_tokens", None),
        getattr(details, "cached_tokens", None),
        getattr(details, "cache_write_tokens", None),
        getattr(output, "reasoning_tokens", None),
    )


def _token_usage(
    tokens_in: Any, tokens_out: Any, cache_read: Any, cache_write: Any, reasoning: Any
) -> TokenUsage:
    """The counts as reported; a missing count (None), or junk from an OpenAI-compatible server,
    is 0. OpenAI does not split cache writes by lifetime: all are 5-minute ones."""
    counts = (tokens_in, tokens_out, cache_read, cache_write, 0, reasoning)
    return TokenUsage._make([n if type(n) is int else 0 for n in counts])


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
    return _new_server(client, url)


def client_server(client: Any) -> _Server:
    """:func:`_server` of a client itself (the low-level ``post`` path)."""
    url = getattr(client, "base_url", None)
    known = _SERVERS.get(id(url))
    if known is not None and known[0] is url:
        return known
    return _new_server(client, url)


def _new_server(client: Any, url: Any) -> _Server:
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
    instance: Any,
    kwargs: Mapping[str, Any],
    attrs: dict[str, AttributeValue],
    known: _Server | None = None,
) -> tuple[str, str | None]:
    """The request attributes every operation has; ``known``: the server, when the caller has
    it (the low-level path, whose ``instance`` is the client)."""
    _, provider, server = _server(instance) if known is None else known
    attrs.update(server)
    get = kwargs.get
    model = get("model")
    # Each optional argument is looked at only when given.
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
