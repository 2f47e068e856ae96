"""Optional GenAI metrics from the instrumentation, read back with a real MeterProvider.

The real anthropic SDK runs against the fake Anthropic API of the instrumentation tests
(``httpx2.MockTransport``), instrumented by ``CostLedgerInstrumentor`` with a real SDK
``TracerProvider``; metrics go to a real ``MeterProvider`` with an ``InMemoryMetricReader``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import pytest
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import (
    CACHE_1H,
    CACHE_5M,
    CACHE_READ,
    INPUT,
    MODEL,
    OUTPUT,
    RESPONSE_MODEL,
    FakeAnthropic,
)
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to
from opentelemetry.instrumentation.costledger import metrics as cl_metrics
from opentelemetry.instrumentation.costledger.attributes import COST_AMOUNT, COUNTED
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def counted_span(self) -> ReadableSpan:
        found = [s for s in self.spans.get_finished_spans() if (s.attributes or {}).get(COUNTED)]
        assert len(found) == 1
        return found[0]

    def points(self) -> dict[str, tuple[Any, list[Any]]]:
        """metric name → (metric, data points)."""
        data = self.reader.get_metrics_data()
        found: dict[str, tuple[Any, list[Any]]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[metric.name] = (metric, list(metric.data.data_points))
        return found


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    monkeypatch.delenv("COSTLEDGER_METRICS", raising=False)
    monkeypatch.delenv("COSTLEDGER_METRICS_CUSTOMER", raising=False)
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    found = Telemetry()
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=found.tracer_provider)
    yield found
    instrumentor.uninstrument()
    cl_metrics.disable_metrics()
    found.meter_provider.shutdown()
    found.tracer_provider.shutdown()


def _call(client: anthropic.Anthropic, model: str = MODEL) -> None:
    with attribute_to(customer_id="cust_12345", work_item_id="ticket_67890"):
        client.messages.create(
            model=model, max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
        )


def test_token_usage_duration_and_cost(telemetry: Telemetry) -> None:
    cl_metrics.enable_metrics(meter_provider=telemetry.meter_provider)
    _call(FakeAnthropic().client(open_telemetry=False))
    span = telemetry.counted_span()
    points = telemetry.points()

    usage, usage_points = points["gen_ai.client.token.usage"]
    assert usage.unit == "{token}"
    by_type = {p.attributes["gen_ai.token.type"]: p for p in usage_points}
    assert by_type["input"].sum == INPUT + CACHE_READ + CACHE_5M + CACHE_1H  # includes cache
    assert by_type["output"].sum == OUTPUT
    for point in usage_points:
        assert tuple(point.explicit_bounds) == cl_metrics.TOKEN_BUCKETS
        assert point.attributes["gen_ai.operation.name"] == "chat"
        assert point.attributes["gen_ai.provider.name"] == "anthropic"
        assert point.attributes["gen_ai.request.model"] == MODEL
        assert point.attributes["gen_ai.response.model"] == RESPONSE_MODEL
        assert "customer.id" not in point.attributes  # opt-in only

    duration, duration_points = points["gen_ai.client.operation.duration"]
    assert duration.unit == "s"
    (point,) = duration_points
    assert point.count == 1 and tuple(point.explicit_bounds) == cl_metrics.DURATION_BUCKETS
    assert point.sum == pytest.approx((span.end_time - span.start_time) / 1e9)  # type: ignore[operator]
    assert "error.type" not in point.attributes

    cost, cost_points = points["costledger.client.cost"]
    assert cost.unit == "{nanodollar}"
    (point,) = cost_points
    amount = Decimal(str((span.attributes or {})[COST_AMOUNT]))
    assert isinstance(point.value, int) and point.value == amount * 1_000_000_000 > 0


def test_customer_id_only_when_opted_in(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTLEDGER_METRICS_CUSTOMER", "true")
    cl_metrics.enable_metrics(meter_provider=telemetry.meter_provider)
    _call(FakeAnthropic().client(open_telemetry=False))
    for _, points in telemetry.points().values():
        assert {p.attributes["customer.id"] for p in points} == {"cust_12345"}
        assert all("work_item.id" not in p.attributes for p in points)


def test_failed_call_records_duration_with_error_type(telemetry: Telemetry) -> None:
    cl_metrics.enable_metrics(meter_provider=telemetry.meter_provider)
    with pytest.raises(anthropic.InternalServerError):
        _call(FakeAnthropic().client(open_telemetry=False), model="error-500")
    points = telemetry.points()
    (point,) = points["gen_ai.client.operation.duration"][1]
    assert point.attributes["error.type"] == "InternalServerError"
    assert "gen_ai.client.token.usage" not in points and "costledger.client.cost" not in points


def test_off_unless_turned_on(telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch) -> None:
    cl_metrics.enable_metrics(meter_provider=telemetry.meter_provider)
    monkeypatch.setenv("COSTLEDGER_METRICS", "false")
    cl_metrics.configure_from_environment()
    assert not cl_metrics.metrics_enabled()
    _call(FakeAnthropic().client(open_telemetry=False))
    assert telemetry.points() == {}
    monkeypatch.setenv("COSTLEDGER_METRICS", "true")
    cl_metrics.configure_from_environment()
    assert cl_metrics.metrics_enabled()
