"""The SDKs' ``stream()`` helpers: a manager never entered sends nothing and leaves no span.

``messages.stream(...)`` (anthropic), ``chat.completions.stream(...)`` and
``responses.stream(...)`` (openai) return a manager; the request is made when it is entered. The
async helpers of openai build that request at once (an un-awaited ``create`` coroutine kept in the
manager), so a span started at that call would stay open forever for a manager never entered.
Here: the real SDKs through the mock transports, a span processor that sees every span start and
end (so an unfinished span is seen, not only the exported ones), and the cost metrics.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.costledger.demo.fake_providers import Failure, FakeOpenAI, UsageSpec
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import (
    CACHE_1H,
    CACHE_5M,
    CACHE_READ,
    INPUT,
    MODEL,
    OUTPUT,
    FakeAnthropic,
)
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger import metrics as cl_metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

MESSAGES: Any = [{"role": "user", "content": "Summarize ticket 67890."}]


class OpenSpans(SpanProcessor):
    """Every span started and not ended yet, by span id."""

    def __init__(self) -> None:
        self.open: dict[int, str] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.open[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        assert span.context is not None
        self.open.pop(span.context.span_id, None)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing buffered (older SDK releases' base class returns None here)


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.open_spans = OpenSpans()
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.open_spans)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    @property
    def counted(self) -> list[ReadableSpan]:
        return [s for s in self.spans if (s.attributes or {}).get(A.COUNTED) is True]

    def unfinished(self) -> list[str]:
        gc.collect()  # a manager dropped: whatever it held is gone
        assert self.provider.force_flush()
        return list(self.open_spans.open.values())

    def metric_calls(self) -> int:
        """Counted calls the metrics saw (one duration point count per call)."""
        data = self.reader.get_metrics_data()
        calls = 0
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == "gen_ai.client.operation.duration":
                        for point in metric.data.data_points:
                            assert isinstance(point, HistogramDataPoint)
                            calls += point.count
        return calls


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    found = Telemetry()
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=found.provider)
    cl_metrics.enable_metrics(meter_provider=found.meter_provider)
    yield found
    cl_metrics.disable_metrics()
    instrumentor.uninstrument()
    found.meter_provider.shutdown()
    found.provider.shutdown()
    assert not found.open_spans.open


class Helper:
    """One SDK's stream helper: how to make a client and its manager, how to fail a call."""

    def __init__(
        self,
        make_fake: Callable[[], Any],
        client: Callable[[Any, str], Any],
        manager: Callable[[Any], Any],
        fail: Callable[[Any], Any],
        error: type[Exception],
        requests: Callable[[Any], int],
        usage: tuple[int, int],
    ) -> None:
        self.make_fake = make_fake
        self.client = client
        self.manager = manager
        self.fail = fail
        self.error = error
        self.requests = requests
        # The input (cache included) and output tokens the fake API reports for the call.
        self.usage = usage


def _anthropic_client(fake: FakeAnthropic, mode: str) -> Any:
    if mode == "sync":
        return fake.client(open_telemetry=False)
    return fake.async_client(open_telemetry=False)


def _openai_client(fake: FakeOpenAI, mode: str) -> Any:
    return fake.client() if mode == "sync" else fake.async_client()


ANTHROPIC_KW: dict[str, Any] = {"model": MODEL, "max_tokens": 256, "messages": MESSAGES}


def _fail_anthropic(client: Any, beta: bool) -> Any:
    messages = client.beta.messages if beta else client.messages
    return messages.stream(**{**ANTHROPIC_KW, "model": "error-500"})


def _fail_openai(fake: FakeOpenAI) -> None:
    fake.fail_next(Failure(500))


ANTHROPIC_USAGE = (INPUT + CACHE_READ + CACHE_5M + CACHE_1H, OUTPUT)
OPENAI_USAGE = (UsageSpec().input_tokens, UsageSpec().output_tokens)

HELPERS = {
    "anthropic-messages": Helper(
        FakeAnthropic,
        _anthropic_client,
        lambda c: c.messages.stream(**ANTHROPIC_KW),
        lambda c: _fail_anthropic(c, beta=False),
        anthropic.InternalServerError,
        lambda f: len(f.requests),
        ANTHROPIC_USAGE,
    ),
    "anthropic-beta-messages": Helper(
        FakeAnthropic,
        _anthropic_client,
        lambda c: c.beta.messages.stream(**ANTHROPIC_KW),
        lambda c: _fail_anthropic(c, beta=True),
        anthropic.InternalServerError,
        lambda f: len(f.requests),
        ANTHROPIC_USAGE,
    ),
    "openai-chat": Helper(
        FakeOpenAI,
        _openai_client,
        lambda c: c.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES),
        lambda c: c.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES),
        openai.InternalServerError,
        lambda f: len(f.requests),
        OPENAI_USAGE,
    ),
    "openai-responses": Helper(
        FakeOpenAI,
        _openai_client,
        lambda c: c.responses.stream(model="gpt-4.1", input="hi"),
        lambda c: c.responses.stream(model="gpt-4.1", input="hi"),
        openai.InternalServerError,
        lambda f: len(f.requests),
        OPENAI_USAGE,
    ),
}


@pytest.fixture(params=sorted(HELPERS))
def helper(request: pytest.FixtureRequest) -> Helper:
    return HELPERS[str(request.param)]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _consume(manager: Any, mode: str, stop_after: int | None = None) -> int:
    seen = 0
    if mode == "async":
        async with manager as stream:
            async for _ in stream:
                seen += 1
                if seen == stop_after:
                    break
    else:
        with manager as stream:
            for _ in stream:
                seen += 1
                if seen == stop_after:
                    break
    return seen


async def test_manager_never_entered_sends_nothing_and_leaves_no_span(
    telemetry: Telemetry, helper: Helper, mode: str
) -> None:
    fake = helper.make_fake()
    with warnings.catch_warnings():  # the SDK's own "never awaited" warning, checked below
        warnings.simplefilter("ignore", RuntimeWarning)
        manager = helper.manager(helper.client(fake, mode))
        assert manager is not None
        del manager
        assert telemetry.unfinished() == []
    assert helper.requests(fake) == 0
    assert telemetry.spans == []
    assert telemetry.metric_calls() == 0


async def test_manager_entered_is_one_counted_span_with_usage(
    telemetry: Telemetry, helper: Helper, mode: str
) -> None:
    fake = helper.make_fake()
    client = helper.client(fake, mode)
    manager = helper.manager(client)
    # Made, not sent yet: the request (and the span) wait for the manager to be entered.
    assert helper.requests(fake) == 0
    assert telemetry.open_spans.open == {}
    assert await _consume(manager, mode) > 0
    assert helper.requests(fake) == 1
    assert telemetry.unfinished() == []
    (span,) = telemetry.counted
    attrs = span.attributes or {}
    assert (attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS]) == helper.usage
    assert A.COST_AMOUNT in (span.attributes or {})
    assert telemetry.metric_calls() == 1


async def test_early_exit_is_one_counted_span(
    telemetry: Telemetry, helper: Helper, mode: str
) -> None:
    fake = helper.make_fake()
    assert await _consume(helper.manager(helper.client(fake, mode)), mode, stop_after=1) == 1
    assert telemetry.unfinished() == []
    assert len(telemetry.counted) == 1
    assert telemetry.metric_calls() == 1


async def test_error_when_entered_passes_unchanged_and_is_one_span(
    telemetry: Telemetry, helper: Helper, mode: str
) -> None:
    fake = helper.make_fake()
    client = helper.client(fake, mode)
    if isinstance(fake, FakeOpenAI):
        _fail_openai(fake)
    manager = helper.fail(client)
    with pytest.raises(helper.error):
        await _consume(manager, mode)
    assert telemetry.unfinished() == []
    (span,) = telemetry.counted
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[A.ERROR_TYPE] == helper.error.__name__


async def test_span_parent_is_the_span_current_when_entered(
    telemetry: Telemetry, helper: Helper
) -> None:
    """The request is made at ``async with``: the call's span is a child of the span then."""
    fake = helper.make_fake()
    manager = helper.manager(helper.client(fake, "async"))
    tracer = telemetry.provider.get_tracer("app")
    with tracer.start_as_current_span("handle ticket") as outer:
        await _consume(manager, "async")
    (span,) = telemetry.counted
    assert span.parent is not None
    assert span.parent.span_id == outer.get_span_context().span_id
    assert trace.get_current_span() is trace.INVALID_SPAN


def _dropped_manager_warnings(helper: Helper) -> list[str]:
    fake = helper.make_fake()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = helper.manager(helper.client(fake, "async"))
        del manager
        gc.collect()
    return sorted(str(w.message) for w in caught if w.category is RuntimeWarning)


async def test_dropped_async_manager_warns_as_without_instrumentation(
    telemetry: Telemetry, helper: Helper
) -> None:
    """Only the SDK's own "coroutine ... was never awaited", as without costledger."""
    instrumented = _dropped_manager_warnings(helper)
    CostLedgerInstrumentor().uninstrument()
    try:
        plain = _dropped_manager_warnings(helper)
    finally:
        CostLedgerInstrumentor().instrument(tracer_provider=telemetry.provider)
    assert instrumented == plain
    assert telemetry.unfinished() == []


async def test_async_chat_helper_rejected_stream_options_sent_again_once(
    telemetry: Telemetry,
) -> None:
    """The retry without our ``stream_options`` still works through a deferred helper call."""
    fake = FakeOpenAI(reject_stream_options=True)
    client = fake.async_client()
    manager = client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES)
    async with manager as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "".join(fake.text)
    assert len(fake.requests) == 2  # ours rejected, the caller's as written
    assert telemetry.unfinished() == []
    (span,) = telemetry.counted
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in (span.attributes or {})


async def test_async_response_stream_by_id_never_entered(telemetry: Telemetry) -> None:
    """``responses.stream(response_id=...)`` builds a ``retrieve`` coroutine: same rule."""
    fake = FakeOpenAI()
    client = fake.async_client()
    created = await client.responses.create(model="gpt-4.1", input="hi", background=True)
    telemetry.exporter.clear()
    sent = len(fake.requests)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        manager = client.responses.stream(response_id=created.id)
        del manager
        assert telemetry.unfinished() == []
    assert len(fake.requests) == sent
    assert telemetry.spans == []
    # Entered later, a new manager counts the background response once, when seen finished.
    async with client.responses.stream(response_id=created.id) as stream:
        await stream.get_final_response()
    assert len(telemetry.counted) == 1
    assert telemetry.unfinished() == []
