"""The seed's Steps 4–6 to the cent, from ledger rows inserted through the real store."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import sqlalchemy as sa
from opentelemetry.exporter.costledger.imports.user_data import import_business, import_usage
from opentelemetry.exporter.costledger.jobs.allocate import allocate
from opentelemetry.exporter.costledger.jobs.normalize import category_breakdown, normalize
from opentelemetry.exporter.costledger.jobs.rank import rank
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.migrations.m0010_span_counts import span_counts

from .helpers import insert, row
from .seed import LOG_EVENTS, OTHER_API_COST, STEP6, write_inputs


def _whole(value: Decimal | None) -> str:
    assert value is not None
    return str(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def build_may_2025(url: str, folder: Path) -> None:
    rows = [
        row("cust_12345", "2025-05-02T10:15:32", "1000", work_item_id="ticket_1"),
        row("cust_12345", "2025-05-20T10:15:32", "800", work_item_id="ticket_2"),
        row("cust_12345", "2025-05-02T10:20:45", "120", category="embedding", model="emb"),
    ]
    rows += [row(c, "2025-05-15", amount) for c, amount in OTHER_API_COST.items()]
    insert(url, rows)
    engine = db.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            span_counts.insert(),
            [
                {"day": date(2025, 5, 10), "customer_id": c, "service": "support-bot", "spans": n}
                for c, n in LOG_EVENTS.items()
            ],
        )
    engine.dispose()
    paths = write_inputs(folder)
    import_usage(url, paths["usage"])
    import_business(url, paths["business"])
    allocate(url, bills=paths["bills"])


def test_step4_fully_loaded_cost_of_cust_12345(ledger_url: str, tmp_path: Path) -> None:
    build_may_2025(ledger_url, tmp_path)
    breakdown = {
        r.category: r.cost_usd
        for r in category_breakdown(ledger_url, period="2025-05", customer_id="cust_12345")
    }
    assert breakdown == {
        "api": Decimal(1800),
        "embedding": Decimal(120),
        "vector_storage": Decimal(100),
        "observability": Decimal(60),
        "human_review": Decimal(600),
        "third_party": Decimal(80),
        "total": Decimal(2760),
    }


def test_step5_per_ticket_share_of_revenue_and_margin(ledger_url: str, tmp_path: Path) -> None:
    build_may_2025(ledger_url, tmp_path)
    economics = {r.customer_id: r for r in normalize(ledger_url, period="2025-05")}
    acme = economics["cust_12345"]
    assert acme.ai_cost_usd == Decimal(2760)
    assert acme.work_items == 6200 and acme.work_items_source == "imported"
    assert acme.cost_per_work_item is not None and acme.ai_share_of_revenue is not None
    assert acme.cost_per_work_item.quantize(Decimal("0.001")) == Decimal("0.445")
    assert acme.ai_share_of_revenue.quantize(Decimal("0.01")) == Decimal("0.86")
    assert acme.margin_usd == Decimal(2400)
    assert acme.profitability_usd == Decimal(-360)
    assert economics["cust_67890"].ai_cost_usd == Decimal("3412.50")
    assert economics["cust_54321"].ai_cost_usd == Decimal("890.35")
    assert economics["cust_11111"].ai_cost_usd == Decimal("245.80")


def test_step6_table_exactly(ledger_url: str, tmp_path: Path) -> None:
    build_may_2025(ledger_url, tmp_path)
    table = rank(ledger_url, period="2025-05")
    got = [
        (
            r.rank,
            r.customer_id,
            _whole(r.revenue_usd),
            _whole(r.ai_cost_usd),
            _whole(r.margin_usd),
            _whole(r.profitability_usd),
            _whole(Decimal(100) * (r.profitability_pct or 0)),
        )
        for r in table
    ]
    assert got == STEP6
    flagged = {r.customer_id: r for r in table if r.flags}
    assert set(flagged) == {"cust_12345"}
    assert flagged["cust_12345"].flags == "unprofitable,high_ai_share"
    assert flagged["cust_12345"].action == "usage pricing"
    assert "$0.059 per work item" in (flagged["cust_12345"].reason or "")
    exact = {r.customer_id: r.profitability_usd for r in table}
    assert exact["cust_67890"] == Decimal("5587.50")


def test_rerunning_allocation_replaces_it(ledger_url: str, tmp_path: Path) -> None:
    build_may_2025(ledger_url, tmp_path)
    allocate(ledger_url, bills=tmp_path / "bills.toml")
    engine = db.create_engine(ledger_url)
    with engine.connect() as conn:
        total = conn.execute(
            sa.text("SELECT SUM(cost_nanos) FROM ledger_entries WHERE source = 'allocation'")
        ).scalar()
    engine.dispose()
    assert total == (500 + 300 + 600 + 80) * 10**9
