"""The demo's simulated clock and repeatable ids, on a real SDK tracer provider."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from opentelemetry.exporter.costledger.demo.clock import (
    SeededIdGenerator,
    SimulatedClock,
    TimeShiftSpanProcessor,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

MOMENT = datetime(2025, 5, 2, 10, 15, 32, 250_000, tzinfo=UTC)
MOMENT_NS = int(MOMENT.timestamp()) * 10**9 + 250_000_000


def _provider(
    seed: str = "s",
) -> tuple[TracerProvider, SimulatedClock, InMemorySpanExporter, SeededIdGenerator]:
    clock = SimulatedClock()
    exporter = InMemorySpanExporter()
    ids = SeededIdGenerator(seed)
    provider = TracerProvider(id_generator=ids)
    provider.add_span_processor(TimeShiftSpanProcessor(clock, SimpleSpanProcessor(exporter)))
    return provider, clock, exporter, ids


def test_spans_inside_the_clock_move_to_the_simulated_moment_keeping_durations() -> None:
    provider, clock, exporter, _ = _provider()
    tracer = provider.get_tracer("t")
    began = time.time_ns()
    with (
        clock.at(MOMENT),
        tracer.start_as_current_span("ticket"),
        tracer.start_as_current_span("call") as call,
    ):
        call.set_attribute("k", "v")
    with tracer.start_as_current_span("outside"):
        pass
    after = time.time_ns()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    ticket, inner, outside = spans["ticket"], spans["call"], spans["outside"]
    assert ticket.start_time is not None and ticket.end_time is not None
    assert inner.start_time is not None and inner.end_time is not None
    # The block began at MOMENT: the span starts there plus the nanoseconds it took to start.
    assert MOMENT_NS <= ticket.start_time <= MOMENT_NS + (after - began)
    assert ticket.start_time <= inner.start_time <= inner.end_time <= ticket.end_time
    assert inner.attributes == {"k": "v"}
    assert inner.parent is not None and inner.parent.span_id == ticket.context.span_id
    # Outside the block nothing moves.
    assert outside.start_time is not None and began <= outside.start_time <= after


def test_seeded_ids_repeat_for_the_same_seed_only() -> None:
    def run(seed: str) -> list[tuple[int, int]]:
        provider, _, exporter, ids = _provider(seed)
        tracer = provider.get_tracer("t")
        for _ in range(3):
            with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
                pass
        spans = exporter.get_finished_spans()
        assert {s.context.trace_id for s in spans} == ids.trace_ids
        return [(s.context.trace_id, s.context.span_id) for s in spans]

    first = run("a")
    assert run("a") == first
    assert run("b") != first
    assert len({span_id for _, span_id in first}) == 6
