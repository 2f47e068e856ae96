"""Anthropic SDK: every Messages call becomes one counted span with usage, attribution and cost.

Covered, sync (``Anthropic``) and async (``AsyncAnthropic``), for ``client.messages`` and
``client.beta.messages``, and the same calls through ``AnthropicBedrock`` / ``AnthropicVertex``
(and their async clients; provider ``aws.bedrock`` / ``gcp.vertex_ai``, priced on the requested
model id at the platform's price: see ``_platforms``):

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

Modules: ``_messages`` (``create`` / ``parse``: the request and the result), ``_usage`` (the one
reader of ``usage``; a complete Message), ``_streams`` (raw stream events),
``_stream_managers`` (``stream()``: counted when its manager is entered), ``_batches``,
``_platforms`` (the Bedrock and Vertex AI clients),
``_fields`` (reading the SDK's pydantic models); this module wraps and unwraps the SDK's
methods.

May import the instrumentation's own modules (``_call``, ``_wrapper``, ``_streams``,
``_patching``, ``usage``, ``attributes`` ...) and the anthropic SDK (looked up by module name
when instrumenting); never ``_openai`` nor anything of the exporter.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.trace import Tracer

from .._patching import Patches, sdk_classes
from .._wrapper import CallWrapper
from ._batches import BATCHES, batches_create, batches_results
from ._messages import FORWARD_METADATA, PROVIDER, MessagesCreate
from ._platforms import CLIENTS, RememberPlatform, forget_all
from ._stream_managers import STREAM_MANAGERS, StreamWrapper, counted_manager
from ._usage import AnthropicUsage, record_message

_MESSAGES_MODULES: Final = (
    "anthropic.resources.messages.messages",
    "anthropic.resources.messages",  # older releases: a module, not a package
    "anthropic.resources.beta.messages.messages",
)
_BATCHES_MODULES: Final = (
    "anthropic.resources.messages.batches",
    "anthropic.resources.beta.messages.batches",
)

_patches = Patches()


def instrument(tracer: Tracer) -> None:
    """Wrap the Messages methods of the installed anthropic SDK (no-op if it is absent)."""
    creates = CallWrapper(tracer, MessagesCreate())
    streams = StreamWrapper(creates)
    results = batches_results(tracer)
    for module_name in _MESSAGES_MODULES:
        for cls in sdk_classes(module_name, ("Messages", "AsyncMessages")):
            for method, wrapper in (("create", creates), ("parse", creates), ("stream", streams)):
                _patches.wrap(cls, method, wrapper)
    for cls in sdk_classes("anthropic.lib.streaming", STREAM_MANAGERS):
        _patches.wrap(cls, "__init__", counted_manager)
    for module_name in _BATCHES_MODULES:
        for cls in sdk_classes(module_name, ("Batches", "AsyncBatches")):
            _patches.wrap(cls, "create", batches_create)
            _patches.wrap(cls, "results", results)

    def wrap_beta(cls: type) -> None:
        for method, wrapper in (("create", creates), ("parse", creates), ("stream", streams)):
            _patches.wrap(cls, method, wrapper)

    for name, provider in CLIENTS:
        for cls in sdk_classes("anthropic", (name,)):
            _patches.wrap(cls, "__init__", RememberPlatform(provider, wrap_beta))


def uninstrument() -> None:
    """Restore every method :func:`instrument` wrapped."""
    _patches.unwrap_all()
    forget_all()


__all__ = [
    "BATCHES",
    "FORWARD_METADATA",
    "PROVIDER",
    "AnthropicUsage",
    "instrument",
    "record_message",
    "uninstrument",
]
