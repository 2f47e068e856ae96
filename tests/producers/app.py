"""An app whose LLM calls other instrumentations report, run in a process of its own.

``python -m tests.producers.app SETUP DB_URL OTLP_ENDPOINT MOCK_URL [--calls N] [--batch N]
[--reports FILE]``

The setup as a user writes it: a tracer provider (set globally: some producers, such as the
mistralai SDK, only use the global one) with the costledger attribution processor, the
in-process ledger exporter writing ``DB_URL`` and an OTLP/gRPC exporter to a real
``costledger serve``; the third-party instrumentations of the setup (and ours where the setup
has it); then N identical calls, one after the other, inside one request span and
``attribute_to(customer_id="cust_12345", work_item_id="ticket_1")``, against the mock API at
``MOCK_URL``. ``--batch 1`` exports every span in a batch of its own. ``--reports FILE`` writes
a JSON line per span that carries token counts (its scope and name): how many reports of each
call the ledger had to make one row of.

Each setup runs in its own process because instrumentors patch libraries for the whole process
and the global tracer provider can be set only once.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.costledger import CostLedgerSpanExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.costledger import (
    CostLedgerInstrumentor,
    CostLedgerSpanProcessor,
    attribute_to,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)


def openai_openinference(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """OpenAI with OpenInference's instrumentation on beside ours (its span nests in ours)."""
    import openai
    from openinference.instrumentation.openai import OpenAIInstrumentor

    CostLedgerInstrumentor().instrument(tracer_provider=provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0)
    return lambda: client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Where is my refund?"}]
    )


def gemini_openinference(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """google-genai (Gemini API) with OpenInference's instrumentation."""
    from google import genai
    from google.genai import types
    from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

    GoogleGenAIInstrumentor().instrument(tracer_provider=provider)
    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=url))
    return lambda: client.models.generate_content(
        model="gemini-2.5-flash", contents="Where is my refund?"
    )


def _bedrock(url: str) -> Any:
    import boto3

    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
    )


BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _converse(client: Any) -> Callable[[], Any]:
    return lambda: client.converse(
        modelId=BEDROCK_MODEL,
        messages=[{"role": "user", "content": [{"text": "Where is my refund?"}]}],
    )


def bedrock_botocore(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """boto3 bedrock-runtime Converse with the contrib botocore instrumentation."""
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    BotocoreInstrumentor().instrument(tracer_provider=provider)
    return _converse(_bedrock(url))


def bedrock_openllmetry(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """boto3 bedrock-runtime Converse with OpenLLMetry's Bedrock instrumentation."""
    from opentelemetry.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument(tracer_provider=provider)
    return _converse(_bedrock(url))


def mistral_openllmetry(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """mistralai (with its own SDK spans where the release makes them) and OpenLLMetry's
    mistralai instrumentation: two sibling reports of each call; and ours."""
    from mistralai import Mistral, UserMessage
    from opentelemetry.instrumentation.mistralai import MistralAiInstrumentor

    MistralAiInstrumentor().instrument(tracer_provider=provider)
    # Ours too, as opentelemetry-instrument turns it on: it makes no span for mistralai, only
    # keeps the customer out of the baggage the SDK's own tracing sends.
    CostLedgerInstrumentor().instrument(tracer_provider=provider)
    client = Mistral(api_key="test-key", server_url=url)
    messages: list[Any] = [UserMessage(content="Where is my refund?")]
    made = itertools.count()

    def call() -> Any:  # sync and async in turn: both request paths of the SDK
        if next(made) % 2:
            return asyncio.run(
                client.chat.complete_async(model="mistral-small-latest", messages=messages)
            )
        return client.chat.complete(model="mistral-small-latest", messages=messages)

    return call


def langchain_anthropic(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """Anthropic through LangChain, with OpenInference's LangChain instrumentation and ours."""
    from langchain_anthropic import ChatAnthropic
    from openinference.instrumentation.langchain import LangChainInstrumentor

    CostLedgerInstrumentor().instrument(tracer_provider=provider)
    LangChainInstrumentor().instrument(tracer_provider=provider)
    model = ChatAnthropic(
        model_name="claude-sonnet-4-5",
        api_key="sk-ant-test",  # type: ignore[arg-type]
        base_url=url,
        max_retries=0,
        timeout=30,
        stop=None,
    )
    return lambda: model.invoke("Where is my refund?")


# The peers: setups whose packages live in environments of their own (requirements/peers*.in);
# tests/producers/test_peers.py runs them with that environment's python.


def gemini_contrib(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """google-genai 2.x (Gemini API) with OpenTelemetry contrib's instrumentation alone: it
    supports google-genai < 3, our own wrapper 3.6.1 and later."""
    from google import genai
    from google.genai import types
    from opentelemetry.instrumentation.google_genai import GoogleGenAiSdkInstrumentor

    GoogleGenAiSdkInstrumentor().instrument(tracer_provider=provider)
    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=url))
    return lambda: client.models.generate_content(
        model="gemini-2.5-flash", contents="Where is my refund?"
    )


def _litellm(url: str) -> Callable[[], Any]:
    import litellm

    return lambda: litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Where is my refund?"}],
        api_base=f"{url}/v1",
        api_key="sk-test",
        max_retries=0,
    )


def litellm_completion(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """``litellm.completion`` of an OpenAI model with our instrumentor on: LiteLLM calls the
    openai client's low-level ``post``, which our openai wrapper reports."""
    CostLedgerInstrumentor().instrument(tracer_provider=provider)
    return _litellm(url)


def _litellm_otel(call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` with LiteLLM's own OpenTelemetry callback on (``litellm.callbacks = ["otel"]``,
    which uses the global tracer provider).

    LiteLLM runs its callbacks in a thread after the call returns. A callback of ours after
    "otel" says when they are done, and each call waits for it: what the spans carry does not
    depend on the threads' timing.
    """
    import threading

    import litellm
    from litellm.integrations.custom_logger import CustomLogger

    class Logged(CustomLogger):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.done = threading.Event()

        def log_success_event(self, *args: Any, **kwargs: Any) -> None:
            self.done.set()

    logged = Logged()
    litellm.callbacks = ["otel", logged]

    def completion() -> Any:
        logged.done.clear()
        answer = call()
        if not logged.done.wait(60):
            raise RuntimeError("LiteLLM's callbacks did not run")
        return answer

    return completion


def litellm_otel_callback(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """``litellm.completion`` with our instrumentor on AND LiteLLM's OpenTelemetry callback: two
    reports of the calls. With a span active (the request span here) LiteLLM writes each call's
    model, usage, response id and cost onto that span rather than making one of its own."""
    return _litellm_otel(litellm_completion(provider, url))


def litellm_otel_alone(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """LiteLLM's OpenTelemetry callback alone, as it comes: each call's report overwrites the
    previous one on the active span, so only the last call of a request span is reported."""
    return _litellm_otel(_litellm(url))


def litellm_otel_request_span(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """LiteLLM's OpenTelemetry callback alone with ``USE_OTEL_LITELLM_REQUEST_SPAN=true``: a
    ``litellm_request`` span of its own for every call, also under an active span."""
    import os

    os.environ["USE_OTEL_LITELLM_REQUEST_SPAN"] = "true"
    return _litellm_otel(_litellm(url))


def _openlit(url: str, prices: dict[str, Any], model: str) -> Callable[[], Any]:
    """OpenLIT (``openlit.init()``, on the global tracer provider) over the openai 2.x client it
    requires, with ``prices`` as its price list; our instrumentor (openai 3.x) is off."""
    import json
    import os
    import tempfile

    import openai
    import openlit

    # OpenLIT reads its prices once, in init(); by default it downloads them.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as pricing:
        json.dump(prices, pricing)
    try:
        openlit.init(
            pricing_json=pricing.name,
            disable_metrics=True,
            disable_events=True,
            capture_message_content=False,
        )
    finally:
        os.unlink(pricing.name)
    client = openai.OpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0)
    return lambda: client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Where is my refund?"}]
    )


def openlit_openai(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """OpenLIT knowing gpt-4o-mini's list price (per thousand tokens): its span's
    ``gen_ai.usage.cost`` agrees with ours."""
    prices = {"chat": {"gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006}}}
    return _openlit(url, prices, "gpt-4o-mini")


def openlit_no_prices(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """OpenLIT without prices (what it has when its download fails): it writes a cost of 0."""
    return _openlit(url, {}, "gpt-4o-mini")


def openlit_unknown_model(provider: TracerProvider, url: str) -> Callable[[], Any]:
    """A model that neither OpenLIT nor genai-prices has a price for: OpenLIT writes 0."""
    return _openlit(url, {}, "acme-support-1")


SETUPS: dict[str, Callable[[TracerProvider, str], Callable[[], Any]]] = {
    "openai_openinference": openai_openinference,
    "gemini_openinference": gemini_openinference,
    "bedrock_botocore": bedrock_botocore,
    "bedrock_openllmetry": bedrock_openllmetry,
    "mistral_openllmetry": mistral_openllmetry,
    "langchain_anthropic": langchain_anthropic,
    "gemini_contrib": gemini_contrib,
    "litellm_completion": litellm_completion,
    "litellm_otel_callback": litellm_otel_callback,
    "litellm_otel_alone": litellm_otel_alone,
    "litellm_otel_request_span": litellm_otel_request_span,
    "openlit_openai": openlit_openai,
    "openlit_no_prices": openlit_no_prices,
    "openlit_unknown_model": openlit_unknown_model,
}


# Where the producers put token counts (gen_ai semconv and its older names, OpenLLMetry's
# totals, OpenInference's).
_USAGE_PREFIXES = ("gen_ai.usage.", "llm.usage.", "llm.token_count.")


class _Reports(SpanExporter):
    """Appends a JSON line per span with token usage (any producer's spelling) to a file."""

    def __init__(self, path: str) -> None:
        self._path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self._path, "a", encoding="utf-8") as out:
            for span in spans:
                keys = list(span.attributes or {})
                if any(key.startswith(_USAGE_PREFIXES) for key in keys):
                    scope = span.instrumentation_scope.name if span.instrumentation_scope else ""
                    out.write(json.dumps({"scope": scope, "name": span.name}) + "\n")
        return SpanExportResult.SUCCESS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("setup", choices=sorted(SETUPS))
    parser.add_argument("db_url")
    parser.add_argument("otlp_endpoint")
    parser.add_argument("mock_url")
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--reports")
    args = parser.parse_args()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(CostLedgerSpanProcessor())
    if args.reports:
        provider.add_span_processor(SimpleSpanProcessor(_Reports(args.reports)))
    for exporter in (
        CostLedgerSpanExporter(args.db_url),
        OTLPSpanExporter(endpoint=args.otlp_endpoint, insecure=True),
    ):
        provider.add_span_processor(
            BatchSpanProcessor(exporter, max_export_batch_size=args.batch, schedule_delay_millis=50)
        )
    trace.set_tracer_provider(provider)
    call = SETUPS[args.setup](provider, args.mock_url)
    tracer = provider.get_tracer("support-bot")
    with (
        attribute_to(customer_id="cust_12345", work_item_id="ticket_1"),
        tracer.start_as_current_span("handle_ticket"),
    ):
        for _ in range(args.calls):
            call()
    provider.shutdown()


if __name__ == "__main__":
    main()
