"""A small, known ledger for the report/export tests: the seed's May 2025, four customers.

Rows go in through SQLAlchemy Core into the real ``ledger_entries`` table of a migrated
database (SQLite file or PostgreSQL). cust_12345 follows the seed's Step 4 breakdown (API
$1,800, embeddings $120, vector storage $100, observability $60, human review $600, third-party
$80 = $2,760); the others have Step 3's totals ($3,412.50, $890.35, $245.80) as API calls. One
call of an unknown model is unpriced, and one row lies outside May (April 30th, 23:59:59).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.exporter.costledger.ledger.db import create_engine
from opentelemetry.exporter.costledger.ledger.migrations import migrate
from opentelemetry.exporter.costledger.ledger.rows import LedgerRow
from opentelemetry.exporter.costledger.ledger.schema import NANOS_PER_USD, ledger_entries

MAY = datetime(2025, 5, 1, tzinfo=UTC)

CUSTOMER_TOTALS_NANOS = {
    "cust_67890": 3_412_500_000_000,
    "cust_12345": 2_760_000_000_000,
    "cust_54321": 890_350_000_000,
    "cust_11111": 245_800_000_000,
}
MAY_TOTAL_NANOS = sum(CUSTOMER_TOTALS_NANOS.values())
OUTSIDE_NANOS = 5_000_000_000


def _usd(text: str) -> int:
    return int(Decimal(text) * NANOS_PER_USD)


def _row(n: int, when: datetime, customer: str | None, **values: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "customer_id": customer,
        "customer_name": {"cust_12345": "Acme Corp"}.get(customer or ""),
        "workspace_id": "ws_abc" if customer == "cust_12345" else None,
        "service": "support-bot",
        "price_rule": "test prices",
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        **values,
    }
    row = LedgerRow.make(f"test:{n}", when, fields.pop("category", "api"), **fields)
    return {**row.values(), "recorded_at": when}


def _calls(
    start: int, customer: str, total_nanos: int, days: int, model: str, category: str = "api"
) -> list[dict[str, Any]]:
    """``days`` calls (one a day from May 1st) summing exactly to ``total_nanos``."""
    share, rest = divmod(total_nanos, days)
    rows = []
    for day in range(days):
        nanos = share + (rest if day == 0 else 0)
        rows.append(
            _row(
                start + day,
                MAY + timedelta(days=day, hours=10, minutes=15, seconds=32),
                customer,
                provider="anthropic" if model.startswith("claude") else "openai",
                model=model,
                operation="embeddings" if category == "embedding" else "chat",
                input_tokens=1200,
                output_tokens=0 if category == "embedding" else 450,
                uncached_input_tokens=1200,
                cost_nanos=nanos,
                category=category,
                work_item_id=f"ticket_{customer}_{day % 3}",
            )
        )
    return rows


def ledger_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    rows += _calls(1000, "cust_12345", _usd("1800"), 10, "claude-sonnet-4-5")
    rows += _calls(2000, "cust_12345", _usd("120"), 5, "text-embedding-3-small", "embedding")
    rows += _calls(3000, "cust_67890", _usd("3412.50"), 12, "claude-sonnet-4-5")
    rows += _calls(4000, "cust_54321", _usd("890.35"), 7, "gpt-4o")
    rows += _calls(5000, "cust_11111", _usd("245.80"), 3, "gpt-4o-mini")
    end_of_may = MAY + timedelta(days=30, hours=12)
    for n, (category, nanos, quantity, unit, source, provider) in enumerate(
        [
            ("vector_storage", _usd("100"), Decimal("2000000"), "vectors", "allocation", None),
            ("observability", _usd("60"), Decimal("8000"), "events", "allocation", None),
            ("human_review", _usd("600"), Decimal("10"), "hour", "span", None),
            ("third_party", _usd("80"), Decimal("160"), "call", "span", "stripe"),
        ]
    ):
        rows.append(
            _row(
                6000 + n,
                end_of_may,
                "cust_12345",
                category=category,
                cost_nanos=nanos,
                quantity=quantity,
                unit=unit,
                source=source,
                provider=provider,
                model=None,
            )
        )
    rows.append(
        _row(
            7000,
            MAY + timedelta(days=3, hours=9),
            "cust_54321",
            provider="openai",
            model="gpt-9-preview",
            operation="chat",
            input_tokens=100,
            output_tokens=50,
            uncached_input_tokens=100,
            cost_nanos=None,
            price_rule=None,
            unpriced_reason="no price for openai/gpt-9-preview",
        )
    )
    rows.append(
        _row(
            8000,
            MAY - timedelta(seconds=1),
            "cust_12345",
            provider="anthropic",
            model="claude-sonnet-4-5",
            operation="chat",
            input_tokens=10,
            output_tokens=10,
            uncached_input_tokens=10,
            cost_nanos=OUTSIDE_NANOS,
        )
    )
    return rows


def seed_ledger(url: str) -> sa.Engine:
    """Migrate the database at ``url`` and insert :func:`ledger_rows`; return an engine."""
    engine = create_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(ledger_entries.insert(), ledger_rows())
    return engine
