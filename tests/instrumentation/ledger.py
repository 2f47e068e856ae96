"""The in-process exporter behind a real SDK TracerProvider, and the ledger rows it wrote.

``Ledger(tmp_path)``: a TracerProvider with an in-memory exporter (the spans) and the costledger
in-process exporter writing a SQLite ledger (the rows), both through ``SimpleSpanProcessor``;
``rows()`` flushes and reads ``ledger_entries``.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from opentelemetry.exporter.costledger import CostLedgerSpanExporter
from opentelemetry.instrumentation.costledger import CostLedgerSpanProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from .conftest import Spans


class Ledger(Spans):
    def __init__(self, tmp_path: Path) -> None:
        super().__init__()
        self.provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
        self.provider.add_span_processor(CostLedgerSpanProcessor())
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.path = tmp_path / "ledger.db"
        self.provider.add_span_processor(
            SimpleSpanProcessor(CostLedgerSpanExporter(f"sqlite:///{self.path}"))
        )

    def rows(self) -> list[dict[str, Any]]:
        self.provider.force_flush()
        if not self.path.exists():  # the exporter makes the ledger with its first row
            return []
        with sqlite3.connect(self.path) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM ledger_entries ORDER BY rowid")]


def nanos(dollars: Decimal) -> int:
    """Exact nano-dollars of an exact dollar amount."""
    value = dollars * 10**9
    assert value == int(value), dollars
    return int(value)
