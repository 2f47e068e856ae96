"""The README's tutorial "agents, outcomes and the hidden costs", run from the README itself
through the CLI on SQLite and PostgreSQL, and checked against the figures computed by hand."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("### Tutorial: agents, outcomes and the hidden costs", 1)[1].split(
    "\n### ", 1
)[0]


def _script() -> tuple[dict[str, str], list[list[str]]]:
    """The files the tutorial writes (``cat > FILE <<'EOF'``) and the commands it runs."""
    block = SECTION.split("```console\n", 1)[1].split("```", 1)[0]
    files = dict(re.findall(r"cat > (\S+) <<'EOF'\n(.*?)\nEOF\n", block, re.S))
    rest = re.sub(r"cat > \S+ <<'EOF'\n.*?\nEOF\n", "", block, flags=re.S)
    commands = [shlex.split(line)[1:] for line in rest.splitlines() if line.strip()]
    return files, commands


def _json(args: list[str], db: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_readme_runs_as_written(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, commands = _script()
    assert set(files) == {"calls-2026-11.csv", "outcomes-2026-11.csv", "agents.toml"}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTLEDGER_DATABASE_URL", ledger_url)
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n", encoding="utf-8")
    for args in commands:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (args, result.output)

    agents = {a["agent"]: a for a in _json(commands[2], ledger_url)}
    triage, resolver = agents["triage"], agents["resolver"]
    assert (triage["api_cost_usd"], triage["human_review_cost_usd"]) == ("0.045", "2.00")
    assert triage["total_cost_usd"] == "2.045"
    assert (triage["work_items"], triage["successful_outcomes"]) == (3, 2)
    assert Decimal(triage["cost_per_success"]) == Decimal("1.0225")
    assert (triage["human_baseline_usd"], triage["savings_usd"]) == ("8.00", "5.955")
    assert triage["flag"] is None
    assert (resolver["total_cost_usd"], resolver["successful_outcomes"]) == ("2.135", 1)
    assert Decimal(resolver["cost_per_success"]) == Decimal("2.135")
    assert resolver["flag"] == "below_target"

    layers = {row["layer"]: row for row in _json(commands[3], ledger_url)}
    costs = {name: Decimal(row["cost_usd"]) for name, row in layers.items()}
    assert costs == {
        "visible": Decimal("0.075"),
        "human_review": Decimal("4"),
        "app_retries": Decimal("0.045"),
        "failed_outcomes": Decimal("0.045"),
        "failed_calls": Decimal("0.015"),
        "unattributed": Decimal("0.015"),
        "sdk_retries": Decimal("0"),
    }
    assert layers["sdk_retries"]["entries"] == 2
    assert sum(costs.values()) == Decimal("4.195")

    acme = next(r for r in _json(commands[4], ledger_url) if r["customer_id"] == "acme")
    assert acme["ai_cost_usd"] == "4.18" and acme["work_items"] == 3
    assert acme["successful_outcomes"] == 2
    assert Decimal(acme["cost_per_successful_outcome"]) == Decimal("2.09")


def test_the_hand_computed_tables_are_the_readmes() -> None:
    """The figures the README states are the ones the test above checks."""
    stated = (
        "**$2.045**",
        "**$1.0225**",
        "**$5.955 saved**",
        "**$2.135**",
        "**visible $0.075**",
        "hidden $4.12 (98%)",
        "**$2.09 per successful outcome**",
    )
    for text in stated:
        assert text in SECTION, text
    header = next(csv.reader(io.StringIO(_script()[0]["calls-2026-11.csv"])))
    assert header[:2] == ["id", "timestamp"]
