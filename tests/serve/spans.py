"""Real SDK spans for the receiver tests: LLM call spans and plain spans, per customer."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

_counter = itertools.count()


def make_spans(
    calls: int,
    *,
    customer: str | None = "acme",
    plain: int = 0,
    service: str = "checkout",
    model: str = "claude-sonnet-4-5",
) -> list[ReadableSpan]:
    """``calls`` LLM call spans (each a ledger row) and ``plain`` HTTP spans (counted only)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({A.SERVICE_NAME: service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.serve")
    extra = {A.CUSTOMER_ID: customer} if customer else {}
    for _ in range(calls):
        n = next(_counter)
        with tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={
                A.GEN_AI_PROVIDER_NAME: "anthropic",
                A.GEN_AI_OPERATION_NAME: "chat",
                A.GEN_AI_REQUEST_MODEL: model,
                A.GEN_AI_RESPONSE_MODEL: model,
                A.GEN_AI_RESPONSE_ID: f"msg_{n:08d}",
                A.GEN_AI_USAGE_INPUT_TOKENS: 1000 + n % 7,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
                **extra,
            },
        ):
            pass
    for _ in range(plain):
        with tracer.start_as_current_span("GET /cart", kind=SpanKind.SERVER, attributes=extra):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def span_keys(spans: Sequence[ReadableSpan]) -> set[tuple[str, str]]:
    """(trace id hex, span id hex) of each span, as the ledger stores them."""
    keys = set()
    for span in spans:
        assert span.context is not None
        keys.add((f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"))
    return keys


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The OTLP/JSON form of ``spans`` (as the Collector's ``file`` exporter writes a line)."""
    document = json_format.MessageToDict(encode_spans(spans))
    # MessageToDict writes bytes as base64; OTLP/JSON ids are hex.
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return document
