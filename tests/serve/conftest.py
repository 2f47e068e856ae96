"""Fixtures of the receiver tests: a real ``Receiver`` on free 127.0.0.1 ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve import Receiver, ServeConfig


@pytest.fixture
def start_receiver() -> Iterator[Callable[..., Receiver]]:
    """Start a receiver (gRPC and HTTP on free ports unless told); stopped after the test."""
    started: list[Receiver] = []

    def start(database_url: str | None = None, **options: Any) -> Receiver:
        options.setdefault("grpc_endpoint", "127.0.0.1:0")
        options.setdefault("http_endpoint", "127.0.0.1:0")
        options.setdefault("shutdown_timeout", 10.0)
        sink = options.pop("sink", None)
        receiver = Receiver(ServeConfig(database_url=database_url, **options), sink=sink)
        receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop(5)


def ledger_keys(url: str) -> list[tuple[str, str]]:
    """(trace_id, span_id) of every ledger row, with repeats if any."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT trace_id, span_id FROM ledger_entries")).all()
    finally:
        engine.dispose()
    return [(r[0], r[1]) for r in rows]


def span_counts(url: str) -> dict[tuple[str | None, str | None], int]:
    """``span_counts`` summed over days: {(customer_id, service): spans}."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT customer_id, service, SUM(spans) FROM span_counts"
                    " GROUP BY customer_id, service"
                )
            ).all()
    finally:
        engine.dispose()
    return {(r[0], r[1]): int(r[2]) for r in rows}
