"""The Grafana dashboard's SQL, run against a real PostgreSQL ledger.

Grafana expands its macros before sending a query; the test does the same with fixed values
(``$__timeFilter(col)`` → ``col BETWEEN '…' AND '…'`` and ``$__timeFrom()`` / ``$__timeTo()`` →
``'…'`` as Grafana writes them, the ``customer`` variable's "All" value and the ``top``
variable), runs every panel's query over the seed tutorial's May 2025 (built by the real
imports and jobs) and checks each result against the seed's and the jobs' figures.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from opentelemetry.exporter.costledger.jobs.alerts import AlertConfig, run_alerts
from opentelemetry.exporter.costledger.jobs.normalize import stored_unit_economics
from opentelemetry.exporter.costledger.jobs.rank import rank

from ..jobs.helpers import insert, row
from ..jobs.seed import STEP6
from ..jobs.test_seed_jobs import build_may_2025

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
    sql = sql.replace("$__timeFrom()", "'2025-05-01T00:00:00Z'")
    sql = sql.replace("$__timeTo()", "'2025-05-31T23:59:59Z'")
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
def pg_ledger(postgres_url: str, tmp_path: Path) -> Any:
    """The seed tutorial's May 2025 through the real imports and jobs (Steps 3-6), plus one
    unpriced call, one April call, and alerts and rankings of other periods run after May's."""
    build_may_2025(postgres_url, tmp_path)
    insert(
        postgres_url,
        [
            row("cust_54321", "2025-05-04T09:00", None, provider="openai", model="gpt-9-preview",
                unpriced_reason="no price for openai/gpt-9-preview"),
            row("cust_12345", "2025-04-20T10:00", "5", work_item_id="ticket_0"),
        ],
    )  # fmt: skip
    rank(postgres_url, period="2025-05")
    rank(postgres_url, period="2025-04")  # ranked last: the latest run, not the latest period
    monthly = AlertConfig(granularity="month", budgets={"cust_12345": Decimal(2500)})
    weekly = AlertConfig(granularity="week", budgets={"cust_12345": Decimal(1)})
    run_alerts(postgres_url, period="2025-05", config=monthly, mark_stdout=False)
    run_alerts(postgres_url, period="2025-W21", config=weekly, mark_stdout=False)
    run_alerts(postgres_url, period="2025-04", config=replace(monthly, budgets={"*": Decimal(1)}),
               mark_stdout=False)  # fmt: skip
    engine = sa.create_engine(postgres_url)
    yield engine
    engine.dispose()


def run_panel(engine: sa.Engine, title: str, **variables: Any) -> list[dict[str, Any]]:
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


SEED_TOTAL = Decimal("2760") + Decimal("3412.50") + Decimal("890.35") + Decimal("245.80")
ALLOCATED = Decimal(500 + 300 + 600 + 80)  # Pinecone, Langfuse, human review, Stripe/Twilio


@pytest.mark.postgres
def test_panel_figures_are_the_seed_tutorials(pg_ledger: sa.Engine) -> None:
    """Every panel over the seed's May 2025, checked against the jobs' and the seed's figures."""
    assert run_panel(pg_ledger, "Total AI cost")[0]["AI cost"] == SEED_TOTAL
    assert run_panel(pg_ledger, "Total AI cost", customer="'cust_12345'")[0]["AI cost"] == 2760
    assert run_panel(pg_ledger, "LLM calls")[0]["LLM calls"] == 7  # 3 of cust_12345, 3 others, 1
    assert run_panel(pg_ledger, "Unpriced calls")[0]["Unpriced"] == 1
    assert run_panel(pg_ledger, "Customers")[0]["Customers"] == 4

    # Daily: the allocated bills are amortized over May's 31 days, not one tall day.
    daily = {
        r["time"].date().isoformat(): r["AI cost"]
        for r in run_panel(pg_ledger, "Total AI cost per day")
    }
    assert len(daily) == 31 and abs(sum(daily.values()) - SEED_TOTAL) < Decimal("1e-9")
    per_day = ALLOCATED / 31
    assert abs(daily["2025-05-02"] - (1120 + per_day)) < Decimal("1e-9")  # API + embeddings
    assert abs(daily["2025-05-16"] - per_day) < Decimal("1e-9")  # where the ledger books them
    assert abs(daily["2025-05-31"] - per_day) < Decimal("1e-9")
    title = next(t for t in _panels() if t.startswith("Cost per customer"))
    sums: dict[str, Decimal] = {}
    for r in run_panel(pg_ledger, title, top=2):
        sums[r["metric"]] = sums.get(r["metric"], Decimal(0)) + r["value"]
    assert {k: v.quantize(Decimal("0.01")) for k, v in sums.items()} == {
        "cust_67890": Decimal("3412.50"),
        "cust_12345": Decimal("2760.00"),
        "other": Decimal("1136.15"),
    }

    categories = {r["Category"]: r["Cost"] for r in run_panel(pg_ledger, "Cost by category")}
    assert categories == {
        "API": Decimal("1800") + Decimal("3908.65"),
        "Embeddings": Decimal(120),
        "Vector storage": Decimal(500),
        "Observability": Decimal(300),
        "Human review": Decimal(600),
        "Third-party": Decimal(80),
    }

    # Cost per work item agrees with normalize: imported ticket counts, the seed's $0.445.
    per_item = {r["Customer"]: r for r in run_panel(pg_ledger, "Cost per work item per customer")}
    assert set(per_item) == {"cust_12345", "cust_67890", "cust_54321", "cust_11111"}
    acme = per_item["cust_12345"]
    assert (acme["Period"], acme["AI cost"], acme["Work items"], acme["Counted from"]) == (
        "2025-05",
        2760,
        6200,
        "imported",
    )
    assert acme["Cost per work item"].quantize(Decimal("0.001")) == Decimal("0.445")
    stored = {u.customer_id: u for u in stored_unit_economics(pg_ledger, period="2025-05")}
    assert {c: r["Cost per work item"] for c, r in per_item.items()} == {
        c: u.cost_per_work_item for c, u in stored.items()
    }

    items = run_panel(pg_ledger, "Most expensive work items")
    assert [(r["Work item"], r["Cost"]) for r in items] == [("ticket_1", 1000), ("ticket_2", 800)]
    assert [r["Model"] for r in run_panel(pg_ledger, "Unpriced models")] == ["gpt-9-preview"]

    # Alerts by the period they concern (all were raised today), never April's.
    found = run_panel(pg_ledger, "Alerts")
    assert [(a["Kind"], a["Customer"], a["Period"], a["Amount"]) for a in found] == [
        ("over_budget", "cust_12345", "2025-W21", Decimal(800)),
        ("unpriced", None, "2025-05", None),
        ("over_budget", "cust_12345", "2025-05", Decimal(2760)),
    ]
    assert [a["Kind"] for a in run_panel(pg_ledger, "Alerts", customer="'cust_67890'")] == [
        "unpriced"
    ]

    # The latest period's whole ranking (the seed's Step 6), though April was ranked after it.
    ranking = run_panel(pg_ledger, "Profitability ranking (latest period)")
    assert [(r["Period"], r["Rank"], r["Customer"]) for r in ranking] == [
        ("2025-05", position, customer) for position, customer, *_ in STEP6
    ]
    assert [r["Profitability"] for r in ranking] == [
        Decimal("5587.50"),
        Decimal(-360),
        Decimal("3234.65"),
        Decimal("1104.20"),
    ]
    assert ranking[1]["Flags"] == "unprofitable,high_ai_share"
    only = run_panel(pg_ledger, "Profitability ranking (latest period)", customer="'cust_12345'")
    assert [r["Customer"] for r in only] == ["cust_12345"]
