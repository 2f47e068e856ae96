"""``client.models`` / ``client.aio.models``: ``generate_content``, ``generate_content_stream`` and
``embed_content`` read into a ``CallRequest``, their results recorded.

The provider comes from the client that made the resource: ``genai.Client`` is wrapped
(:class:`RegisterClient`) so that each client made while instrumented registers its ``models``
and ``aio.models`` with ``gcp.vertex_ai`` (``client.vertexai``) or ``gcp.gemini``; a resource
of a client made before ``instrument()`` says ``gcp.gen_ai`` (either; priced the same, from
genai-prices' ``google`` provider).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from .. import attributes as A
from .._call import CallRequest, LLMCall
from .._registry import ResourceRegistry
from .._streams import wrap_stream
from ._usage import embedding_usage, finish_reasons, token_usage

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

GEMINI: Final = "gcp.gemini"
VERTEX: Final = "gcp.vertex_ai"
EITHER: Final = "gcp.gen_ai"
_RESOURCES: Final[ResourceRegistry[str]] = ResourceRegistry()
forget_all = _RESOURCES.clear


class RegisterClient:
    """Around ``genai.Client.__init__``: register its ``models`` and ``aio.models``."""

    __slots__ = ()

    def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        result = wrapped(*args, **kwargs)
        try:
            provider = VERTEX if instance.vertexai else GEMINI
            _RESOURCES.add(instance.models, provider)
            _RESOURCES.add(instance.aio.models, provider)
        except Exception:
            logger.debug("costledger: could not register a google-genai client", exc_info=True)
        return result


def _model_name(model: Any) -> str | None:
    """``gemini-2.5-flash`` of ``models/gemini-2.5-flash`` or a Vertex AI resource name."""
    if not isinstance(model, str) or not model:
        return None
    return model.rpartition("models/")[2] or model


def _option(config: Any, name: str) -> Any:
    if isinstance(config, Mapping):
        return config.get(name)
    return getattr(config, name, None)


def describe(
    instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], operation: str, stream: bool
) -> CallRequest:
    attrs: dict[str, AttributeValue] = {}
    config = kwargs.get("config")
    if config is not None:
        temperature = _option(config, "temperature")
        if isinstance(temperature, int | float) and not isinstance(temperature, bool):
            attrs[A.GEN_AI_REQUEST_TEMPERATURE] = float(temperature)
        max_tokens = _option(config, "max_output_tokens")
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    if stream:
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    provider = _RESOURCES.get(instance) or EITHER
    model = _model_name(kwargs.get("model"))
    return CallRequest(provider, operation, model, args, kwargs, attrs)


def record_response(call: LLMCall, response: Any) -> None:
    """Put a complete ``GenerateContentResponse`` on ``call``."""
    call.set_response(
        model=getattr(response, "model_version", None),
        response_id=getattr(response, "response_id", None),
        finish_reasons=finish_reasons(response),
    )
    usage = getattr(response, "usage_metadata", None)
    if usage is not None:
        call.usage = token_usage(usage)


class GenerateContent:
    """``generate_content`` (sync and async)."""

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        return describe(instance, args, kwargs, "generate_content", False)

    def result(self, call: LLMCall, result: Any) -> Any:
        record_response(call, result)
        call.end()
        return result


class ChunkRecorder:
    """A ``generate_content_stream``'s chunks: each carries the usage so far (the last wins)."""

    __slots__ = ("_id", "_model", "_reasons", "_usage")

    def __init__(self) -> None:
        self._id: str | None = None
        self._model: str | None = None
        self._usage: Any = None
        self._reasons: list[str] = []

    def item(self, chunk: Any) -> bool:
        if self._id is None:
            self._id = getattr(chunk, "response_id", None)
        model = getattr(chunk, "model_version", None)
        if model:
            self._model = model
        usage = getattr(chunk, "usage_metadata", None)
        if usage is not None:
            self._usage = usage
        reasons = finish_reasons(chunk)
        if reasons:
            self._reasons = reasons
        return True

    def finish(self, call: LLMCall) -> None:
        call.set_response(model=self._model, response_id=self._id, finish_reasons=self._reasons)
        if self._usage is not None:
            call.usage = token_usage(self._usage)


class GenerateContentStream:
    """``generate_content_stream`` (sync; async: awaited, then an async iterator)."""

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        return describe(instance, args, kwargs, "generate_content", True)

    def result(self, call: LLMCall, result: Any) -> Any:
        return wrap_stream(call, result, ChunkRecorder())


class EmbedContent:
    """``embed_content`` (sync and async)."""

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        return describe(instance, args, kwargs, "embeddings", False)

    def result(self, call: LLMCall, result: Any) -> Any:
        usage = embedding_usage(result)
        if usage is not None:
            call.usage = usage
        call.end()
        return result
