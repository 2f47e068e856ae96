"""google-genai (the Gemini API and Vertex AI): every model call becomes one counted span.

Covered, sync (``client.models``) and async (``client.aio.models``), for ``genai.Client`` on the
Gemini API (provider ``gcp.gemini``) and on Vertex AI (``vertexai=True``: ``gcp.vertex_ai``):

- ``generate_content(...)`` (operation ``generate_content``), also through ``client.chats``;
- ``generate_content_stream(...)``: the chunks are read as the caller reads them; each carries
  the usage so far and the last one seen is recorded (a stream closed early records the usage
  seen up to then);
- ``embed_content(...)`` (operation ``embeddings``; input tokens only).

Usage (``_usage``): input = ``prompt_token_count`` (which INCLUDES the cached content) +
``tool_use_prompt_token_count``; cache reads = ``cached_content_token_count``; output =
``candidates_token_count`` + ``thoughts_token_count`` (thinking, billed as output); reasoning =
``thoughts_token_count``. The response's ``model_version`` and ``response_id`` are the span's
``gen_ai.response.model`` / ``gen_ai.response.id``. Priced at genai-prices' ``google`` prices.

Automatic function calling: when ``config.tools`` holds Python functions, the SDK may ask the
model several times inside one ``generate_content`` and calls your functions in between. The
span covers the whole call and records the usage of the response the SDK returns (its last
model request: the SDK keeps no other); calls your functions make run inside it and are not
counted again. For exact counts of such loops turn it off
(``automatic_function_calling={"disable": True}``) and loop yourself.

Not counted: ``count_tokens`` / ``compute_tokens`` (free), caches, files, tunings, batches, live
sessions, images and videos (not wrapped).

Modules: ``_models`` (the requests and results, the client registration), ``_usage``; this
module wraps and unwraps the SDK's methods.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from .._patching import Patches, sdk_classes
from .._wrapper import CallWrapper
from ._models import (
    EmbedContent,
    GenerateContent,
    GenerateContentStream,
    RegisterClient,
    forget_all,
)

_patches = Patches()


def instrument(tracer: Tracer) -> None:
    """Wrap the model calls of the installed google-genai SDK (no-op if it is absent)."""
    generate = CallWrapper(tracer, GenerateContent())
    stream = CallWrapper(tracer, GenerateContentStream())
    embed = CallWrapper(tracer, EmbedContent())
    for cls in sdk_classes("google.genai.models", ("Models", "AsyncModels")):
        _patches.wrap(cls, "generate_content", generate)
        _patches.wrap(cls, "generate_content_stream", stream)
        _patches.wrap(cls, "embed_content", embed)
    for cls in sdk_classes("google.genai.client", ("Client",)):
        _patches.wrap(cls, "__init__", RegisterClient())


def uninstrument() -> None:
    """Restore every method :func:`instrument` wrapped."""
    _patches.unwrap_all()
    forget_all()


__all__ = ["instrument", "uninstrument"]
