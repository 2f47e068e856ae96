"""Docs that the tests keep honest: every CLI command has help and appears in the README, and
every job's csv/json fields are the README's "Result fields"."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


COMMANDS = _commands(main)


def test_the_cli_has_the_verbs_the_issues_name() -> None:
    verbs = {path[0] for path in COMMANDS}
    assert {
        "demo",
        "ledger",
        "prices",
        "reprice",
        "serve",
        "ingest",
        "aggregate",
        "allocate",
        "normalize",
        "rank",
        "alerts",
        "reconcile",
        "report",
        "dashboard",
        "export",
    } <= verbs


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert command.help and len(command.help.strip()) > 20, f"costledger {' '.join(path)}"
    ctx = click.Context(command, info_name=" ".join(("costledger", *path)))
    assert command.get_help(ctx)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_appears_in_the_readme(path: tuple[str, ...]) -> None:
    pattern = r"costledger\s+" + r"\s+".join(re.escape(part) for part in path) + r"\b"
    assert re.search(pattern, README), f"`costledger {' '.join(path)}` is not in README.md"


def test_the_readme_shows_the_two_commands_on_its_first_screen() -> None:
    first_screen = "\n".join(README.splitlines()[:30])
    assert "make demo" in first_screen
    assert "make test" in first_screen


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def _readme_result_fields() -> dict[str, list[str]]:
    """README "Result fields": ``{command: [field, ...]}`` from its tables and the report's
    paragraph (``report --show NAME``)."""
    section = README.split("### Result fields", 1)[1].split("<!-- /section:jobs -->", 1)[0]
    fields: dict[str, list[str]] = {}
    for block in section.split("\n#### ")[1:]:
        title, _, body = block.partition("\n")
        fields[title.strip().strip("`")] = re.findall(r"^\| `(\w+)` \|", body, re.M)
    report = " ".join(section.split("The report's sections", 1)[1].split())
    for name, listed in re.findall(r"`([\w-]+)` — ((?:`\w+`(?:, )?)+)", report):
        fields[f"report --show {name}"] = re.findall(r"`(\w+)`", listed)
    return fields


def test_every_jobs_csv_and_json_fields_are_the_readmes(tmp_path: Path) -> None:
    from .jobs.test_seed_jobs import build_may_2025

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    build_may_2025(url, tmp_path)
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[budgets]\ncust_12345 = "2500"\n')
    invoice = tmp_path / "billing.csv"
    invoice.write_text(
        "date,provider,model,cost_usd\n2025-05-15,anthropic,claude-sonnet-4-5,3012.50\n"
    )
    month = ["--period", "2025-05"]
    commands: dict[str, list[str]] = {
        "aggregate": ["aggregate", *month],
        "allocate": ["allocate", str(tmp_path / "bills.toml"), "--dry-run"],
        "normalize": ["normalize", *month],
        "normalize --customer": ["normalize", *month, "--customer", "cust_12345"],
        "normalize --by agent": ["normalize", *month, "--by", "agent"],
        "rank": ["rank", *month],
        "rank --by feature": ["rank", *month, "--by", "feature"],
        "alerts": ["alerts", *month, "--by", "month", "--budgets", str(budgets), "--all"],
        "reconcile": ["reconcile", *month, "--import", str(invoice)],
    }
    from opentelemetry.exporter.costledger.report.tables import SECTIONS

    for name in SECTIONS:
        commands[f"report --show {name}"] = ["report", *month, "--show", name]
    documented = _readme_result_fields()
    assert set(documented) == set(commands), "README's Result fields name other commands"
    for command, args in commands.items():
        outputs = {}
        for fmt in ("json", "csv"):
            result = CliRunner().invoke(
                main, [*args, "--format", fmt, "--db", url], catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
            outputs[fmt] = result.stdout
        records = json.loads(outputs["json"])
        header = next(csv.reader(io.StringIO(outputs["csv"])))
        assert header == documented[command], command
        assert records or command.startswith("report"), f"{command}: no records to check"
        for record in records:
            assert list(record) == documented[command], command
