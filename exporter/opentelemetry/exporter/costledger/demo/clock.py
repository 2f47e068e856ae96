"""Placing a month of calls in a minute: the simulated clock and repeatable span ids.

The demo makes every call now, through the real SDKs, instrumentation and exporter; the SDK
stamps real wall-clock times on the spans. To let those calls stand for a month of traffic, the
demo's tracer provider forwards finished spans to the exporter through
:class:`TimeShiftSpanProcessor`, which moves each span's start AND end by the same offset so that
the ticket it belongs to begins at its simulated moment. Nothing else about a span changes:
durations, attributes, ids, parents and the order of calls within a ticket are what really
happened. Only spans started inside :meth:`SimulatedClock.at` are moved, and only by the demo's
own provider — the instrumentation and the exporter have no demo code in them.

:class:`SeededIdGenerator` makes trace and span ids a function of the demo's options, so running
the same demo again yields the same ids, hence the same ledger idempotency keys: the ledger keeps
the first copy and nothing is counted twice.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SimulatedClock:
    """Which simulated moment the work now running stands for."""

    def __init__(self) -> None:
        self._offset_ns: contextvars.ContextVar[int | None] = contextvars.ContextVar(
            "costledger_demo_offset_ns", default=None
        )

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        """Spans started inside are moved so that this block begins at ``moment``."""
        offset = (moment - _EPOCH) // timedelta(microseconds=1) * 1_000 - time.time_ns()
        token = self._offset_ns.set(offset)
        try:
            yield
        finally:
            self._offset_ns.reset(token)

    @property
    def offset_ns(self) -> int | None:
        return self._offset_ns.get()


class TimeShiftSpanProcessor(SpanProcessor):
    """Forwards finished spans to ``downstream`` moved to their simulated time."""

    def __init__(self, clock: SimulatedClock, downstream: SpanProcessor) -> None:
        self._clock = clock
        self._downstream = downstream
        self._offsets: dict[int, int] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        offset = self._clock.offset_ns
        if offset is not None:
            with self._lock:
                self._offsets[span.context.span_id] = offset
        self._downstream.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        with self._lock:
            offset = self._offsets.pop(context.span_id, None) if context is not None else None
        if offset is None or span.start_time is None or span.end_time is None:
            self._downstream.on_end(span)
            return
        moved = ReadableSpan(
            name=span.name,
            context=context,
            parent=span.parent,
            resource=span.resource,
            attributes=span.attributes,
            events=span.events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time + offset,
            end_time=span.end_time + offset,
            instrumentation_scope=span.instrumentation_scope,
        )
        self._downstream.on_end(moved)

    def shutdown(self) -> None:
        self._downstream.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._downstream.force_flush(timeout_millis)


class SeededIdGenerator(IdGenerator):
    """Trace and span ids from a seeded generator: the same run gives the same ids."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.trace_ids: set[int] = set()

    def generate_span_id(self) -> int:
        with self._lock:
            span_id = 0
            while span_id == 0:  # 0 is the invalid span id
                span_id = self._rng.getrandbits(64)
            return span_id

    def generate_trace_id(self) -> int:
        with self._lock:
            trace_id = 0
            while trace_id == 0:
                trace_id = self._rng.getrandbits(128)
            self.trace_ids.add(trace_id)
            return trace_id
