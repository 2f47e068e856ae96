"""The Grafana dashboard's SQL, run against a real PostgreSQL ledger.

Grafana expands its macros before sending a query; the test does the same with fixed values
(``$__timeFilter(col)`` → ``col BETWEEN '…' AND '…'`` as Grafana writes it, the ``customer``
variable's "All" value and the ``top`` variable), runs every panel's query and checks the
figures against the seeded ledger.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from opentelemetry.exporter.costledger.ledger.tables import alerts, profitability

from .ledger_data import CUSTOMER_TOTALS_NANOS, MAY_TOTAL_NANOS, seed_ledger

GRAFANA = Path(__file__).resolve().parents[2] / "collector-config" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "costledger.json"
NANOS = Decimal(1_000_000_000)


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def expand(sql: str, customer: str = "'__all__'", top: int = 8) -> str:
    """Grafana's macro and variable expansion for a May 2025 time range."""
    sql = re.sub(
        r"\$__timeFilter\(([^)]+)\)",
        r"\1 BETWEEN '2025-05-01T00:00:00Z' AND '2025-05-31T23:59:59Z'",
        sql,
    )
    sql = sql.replace("${customer:sqlstring}", customer).replace("$top", str(top))
    assert "$" not in sql, sql
    return sql


def _panels() -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in _dashboard()["panels"]}


def test_dashboard_json_is_consistent() -> None:
    board = _dashboard()
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "costledger.yaml").read_text()
    )["datasources"][0]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == datasource["uid"]
        assert panel["datasource"]["type"] == datasource["type"]
        assert panel["targets"] and all(t["rawSql"].strip() for t in panel["targets"])
    variables = {v["name"]: v for v in board["templating"]["list"]}
    # Grafana inserts a custom "All" value unformatted: it must already be an SQL literal.
    assert variables["customer"]["allValue"] == "'__all__'"
    titles = set(_panels())
    for needed in ("Total AI cost per day", "Cost by category", "Cost per work item per customer",
                   "Alerts"):  # fmt: skip
        assert needed in titles
    assert any(t.startswith("Cost per customer") for t in titles)


@pytest.fixture
def pg_ledger(postgres_url: str) -> Any:
    engine = seed_ledger(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            alerts.insert().values(
                alert_key="spike:cust_12345:2025-05",
                kind="spike",
                period="2025-05",
                customer_id="cust_12345",
                amount_nanos=2760 * 10**9,
                reference_nanos=1800 * 10**9,
                change=Decimal("0.533333333333"),
                message="cust_12345 cost rose 53% over its baseline",
                first_seen_at=datetime(2025, 5, 31, 13, tzinfo=UTC),
            )
        )
        conn.execute(
            profitability.insert().values(
                period="2025-05",
                time_zone="UTC",
                customer_id="cust_12345",
                rank=2,
                revenue_nanos=3200 * 10**9,
                ai_cost_nanos=2760 * 10**9,
                margin_nanos=2400 * 10**9,
                profitability_nanos=-360 * 10**9,
                profitability_pct=Decimal("-0.15"),
                flags="unprofitable",
                action="tier up",
                reason="AI cost exceeds margin",
                computed_at=datetime(2025, 6, 1, tzinfo=UTC),
            )
        )
    yield engine
    engine.dispose()


def _run(engine: sa.Engine, title: str, **variables: Any) -> list[dict[str, Any]]:
    panel = _panels()[title]
    with engine.connect() as conn:
        return [
            dict(row)
            for row in conn.execute(
                sa.text(expand(panel["targets"][0]["rawSql"], **variables))
            ).mappings()
        ]


@pytest.mark.postgres
def test_every_panel_query_runs_on_postgresql(pg_ledger: sa.Engine) -> None:
    for title, panel in _panels().items():
        for target in panel["targets"]:
            with pg_ledger.connect() as conn:
                conn.execute(sa.text(expand(target["rawSql"])))  # raises on bad SQL
            with pg_ledger.connect() as conn:
                conn.execute(sa.text(expand(target["rawSql"], customer="'cust_12345'")))
            assert title


@pytest.mark.postgres
def test_panel_figures_equal_the_ledger(pg_ledger: sa.Engine) -> None:
    total = _run(pg_ledger, "Total AI cost")[0]["AI cost"]
    assert total * NANOS == MAY_TOTAL_NANOS
    assert _run(pg_ledger, "Total AI cost", customer="'cust_12345'")[0]["AI cost"] == Decimal(
        "2760"
    )
    daily = _run(pg_ledger, "Total AI cost per day")
    assert len(daily) == 13 and sum(r["AI cost"] for r in daily) * NANOS == MAY_TOTAL_NANOS
    assert daily[0]["time"] == datetime(2025, 5, 1, tzinfo=UTC)
    title = next(t for t in _panels() if t.startswith("Cost per customer"))
    series = _run(pg_ledger, title, top=2)
    sums: dict[str, Decimal] = {}
    for row in series:
        sums[row["metric"]] = sums.get(row["metric"], Decimal(0)) + row["value"]
    assert {k: v * NANOS for k, v in sums.items()} == {
        "cust_67890": CUSTOMER_TOTALS_NANOS["cust_67890"],
        "cust_12345": CUSTOMER_TOTALS_NANOS["cust_12345"],
        "other": CUSTOMER_TOTALS_NANOS["cust_54321"] + CUSTOMER_TOTALS_NANOS["cust_11111"],
    }
    categories = {r["Category"]: r["Cost"] for r in _run(pg_ledger, "Cost by category")}
    assert categories == {
        "API": Decimal("6348.65"),
        "Embeddings": Decimal(120),
        "Vector storage": Decimal(100),
        "Observability": Decimal(60),
        "Human review": Decimal(600),
        "Third-party": Decimal(80),
    }
    per_item = {r["Customer"]: r for r in _run(pg_ledger, "Cost per work item per customer")}
    assert per_item["cust_12345"]["AI cost"] == Decimal(2760)
    assert per_item["cust_12345"]["Work items"] == 3
    assert per_item["cust_12345"]["Cost per work item"] == Decimal(920)
    assert [r["Model"] for r in _run(pg_ledger, "Unpriced models")] == ["gpt-9-preview"]
    assert _run(pg_ledger, "Unpriced calls")[0]["Unpriced"] == 1
    found = _run(pg_ledger, "Alerts")
    assert [(a["Kind"], a["Customer"], a["Amount"]) for a in found] == [
        ("spike", "cust_12345", Decimal(2760))
    ]
    ranking = _run(pg_ledger, "Profitability ranking (latest period)")
    assert ranking[0]["Profitability"] == Decimal(-360) and ranking[0]["Flags"] == "unprofitable"
    assert _run(pg_ledger, "Alerts", customer="'cust_67890'") == []
