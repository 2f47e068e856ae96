"""``costledger serve`` tunes its own process's garbage collector once started (server.tune_gc)."""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.costledger.ingest.serve import Receiver, ServeConfig
from opentelemetry.exporter.costledger.ingest.serve.server import GC_THRESHOLDS, run


@pytest.fixture
def _restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("_restore_gc")
def test_serve_freezes_startup_objects_and_collects_young_objects_less_often(
    sqlite_url: str,
) -> None:
    seen: dict[str, object] = {}

    def ready(receiver: Receiver) -> None:
        seen["thresholds"] = gc.get_threshold()
        seen["frozen"] = gc.get_freeze_count()
        os.kill(os.getpid(), signal.SIGTERM)  # what a stopping container sends

    gc.unfreeze()
    config = ServeConfig(
        database_url=sqlite_url, grpc_endpoint="127.0.0.1:0", http_endpoint="127.0.0.1:0"
    )
    assert run(config, ready=ready)
    assert seen["thresholds"] == GC_THRESHOLDS
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 10_000  # the imported libraries
    # Collection still works: a cycle made after the freeze is found.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
