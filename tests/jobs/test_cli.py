"""The job verbs through the real click group: every format, files in, tables out."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main

from .test_seed_jobs import build_may_2025

VERBS = ["aggregate", "allocate", "normalize", "rank", "alerts", "reconcile", "import", "jobs"]


@pytest.mark.parametrize("verb", VERBS)
def test_help(verb: str) -> None:
    result = CliRunner().invoke(main, [verb, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output or "Commands" in result.output


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_through_the_cli(sqlite_url: str, tmp_path: Path) -> None:
    build_may_2025(sqlite_url, tmp_path)
    table = _run("rank", "--period", "2025-05", "--round-to", "dollar", "--db", sqlite_url)
    for figure in ("$3,412", "$5,588", "62%", "-$360", "$3,235", "78%", "$1,104", "82%"):
        assert figure in table
    assert "unprofitable" in table and "usage pricing" in table
    rows = list(csv.DictReader(io.StringIO(
        _run("rank", "--period", "2025-05", "--format", "csv", "--db", sqlite_url)
    )))  # fmt: skip
    assert [r["customer_id"] for r in rows] == ["cust_67890", "cust_12345", "cust_54321",
                                                "cust_11111"]  # fmt: skip
    assert rows[0]["profitability_usd"] == "5587.50"
    assert rows[0]["profitability_nanos"] == "5587500000000"
    breakdown = json.loads(
        _run("normalize", "--period", "2025-05", "--customer", "cust_12345", "--format", "json",
             "--db", sqlite_url)
    )  # fmt: skip
    assert breakdown[-1] == {
        "category": "total",
        "cost_nanos": 2_760_000_000_000,
        "cost_usd": "2760.00",
        "entries": 7,
    }
    economics = json.loads(
        _run("normalize", "--period", "2025-05", "--format", "json", "--db", sqlite_url)
    )
    acme = next(r for r in economics if r["customer_id"] == "cust_12345")
    assert acme["cost_per_work_item"].startswith("0.445")
    monthly = json.loads(
        _run("aggregate", "--period", "2025-05", "--format", "json", "--db", sqlite_url)
    )
    assert {r["customer_id"]: r["cost_usd"] for r in monthly}["cust_12345"] == "2760.00"
    allocation = json.loads(
        _run("allocate", str(tmp_path / "bills.toml"), "--dry-run", "--format", "json",
             "--db", sqlite_url)
    )  # fmt: skip
    assert sum(len(r["amount_usd"]) > 0 for r in allocation) == 10
    status = _run("jobs", "status", "--format", "json", "--db", sqlite_url)
    assert {r["job"] for r in json.loads(status)} >= {"allocate", "rank", "normalize"}
    assert "aggregate: " in _run("jobs", "run", "aggregate", "-o", "by=week", "--db", sqlite_url)


def test_alerts_and_reconcile_commands(sqlite_url: str, tmp_path: Path) -> None:
    build_may_2025(sqlite_url, tmp_path)
    first = json.loads(_run("alerts", "--period", "2025-05", "--by", "month", "--format",
                            "json", "--db", sqlite_url))  # fmt: skip
    assert first == []  # no history before May: no baseline, no spike
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[budgets]\ncust_12345 = "2500"\n')
    over = json.loads(_run("alerts", "--period", "2025-05", "--by", "month", "--budgets",
                           str(budgets), "--format", "json", "--db", sqlite_url))  # fmt: skip
    assert [a["kind"] for a in over] == ["over_budget"]
    again = _run("alerts", "--period", "2025-05", "--by", "month", "--budgets", str(budgets),
                 "--format", "json", "--db", sqlite_url)  # fmt: skip
    assert json.loads(again) == []
    invoice = tmp_path / "billing.csv"
    invoice.write_text(
        "date,provider,model,cost_usd\n2025-05-15,anthropic,claude-sonnet-4-5,3012.50\n"
    )
    out = _run("reconcile", "--period", "2025-05", "--import", str(invoice), "--format", "json",
               "--db", sqlite_url)  # fmt: skip
    rows = {r["day"]: r for r in json.loads(out)}
    assert rows["2025-05-15"]["provider_cost_usd"] == "3012.50"
    assert rows["2025-05-15"]["difference_usd"] == "-896.15"  # the ledger also has 2 other calls
    assert rows["2025-05-15"]["cost_source"] == "csv"  # which import the billed cost came from
    result = CliRunner().invoke(main, ["rank", "--period", "May", "--db", sqlite_url])
    assert result.exit_code != 0 and "invalid period" in result.output
