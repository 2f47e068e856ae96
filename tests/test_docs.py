"""Docs that the tests keep honest: every CLI command has help and appears in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
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
