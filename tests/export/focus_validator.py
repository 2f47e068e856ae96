"""The FinOps Foundation's ``focus-validator``, run as a separate process on a FOCUS file.

Its 2.x releases (the ones that know FOCUS 1.2 and later) need Python >= 3.12, and costledger
supports 3.11: the validator lives in a venv of its own, ``.venv-focus``, that
``make focus-validator`` builds from ``requirements/focus-validator.txt`` with whatever Python 3.12
it finds (``make test`` does it first). Without any Python 3.12 the tests skip with that reason;
with one but no ``.venv-focus`` they fail and say to run ``make focus-validator``.

The validator's report (its ``unittest`` output, JUnit XML) lists every rule of its requirements
model as passed, failed, skipped or errored. Where the model says "one of these" (an ``OR`` rule,
e.g. "InvoiceId MUST be null when ..." OR "MUST NOT be null when ..."), the alternatives that do
not hold are reported as failures although the rule holds: :func:`validate` excuses exactly those
(a failed rule whose ``OR`` parent passed, or whose failed parent is itself excused) and counts
every other failure and every error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-focus"
EXECUTABLE = VENV / "bin" / "focus-validator"
# A folder holding the FinOps Foundation's FOCUS 1.3 requirements model (model-1.3*.json, an
# asset of the FOCUS_Spec v1.3 release): focus-validator 2.2.1 bundles only 1.2's and downloads
# the others from GitHub at run time, which tests never do.
RULES_ENV = "COSTLEDGER_FOCUS_RULES"


def python312() -> str | None:
    """The Python 3.12 the Makefile would use: pyenv's, else ``python3.12`` on PATH."""
    found = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    if found:
        return str(found[0])
    return shutil.which("python3.12")


def require_validator() -> Path:
    """The validator's executable; skip without Python 3.12, fail if it was not set up."""
    if EXECUTABLE.exists():
        return EXECUTABLE
    if python312() is None:
        pytest.skip(
            "no Python 3.12 on this machine (pyenv's or python3.12 on PATH): focus-validator "
            "2.x needs Python >= 3.12, so the FOCUS exports are not checked by it here"
        )
    pytest.fail(f"Python 3.12 is here but {VENV} is not: run `make focus-validator`")


def _package() -> Path:
    found = sorted(VENV.glob("lib/python3*/site-packages/focus_validator"))
    assert found, f"focus_validator is not installed in {VENV}: run `make focus-validator`"
    return found[0]


def rules_directory(version: str) -> Path:
    """The folder of requirements models that knows ``version``; skip when none does."""
    bundled = _package() / "rules"
    if list(bundled.glob(f"model-{version}*.json")):
        return bundled
    supplied = os.environ.get(RULES_ENV)
    if supplied and list(Path(supplied).glob(f"model-{version}*.json")):
        return Path(supplied)
    pytest.skip(
        f"focus-validator 2.2.1 bundles only the FOCUS 1.2 requirements model and downloads "
        f"model-{version}*.json from the FOCUS_Spec GitHub release at run time (tests use no "
        f"network): put that file in a folder and set {RULES_ENV} to it"
    )


@dataclass
class Report:
    """A validator run: rule ids by outcome, and the message of each counted problem."""

    passed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # counted: rule id -> message
    excused: set[str] = field(default_factory=set)  # alternatives of an OR rule that held
    errors: dict[str, str] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)

    @property
    def problems(self) -> dict[str, str]:
        return {**self.failed, **self.errors}


def _links(requirement: Any, parent: str, under_or: bool, out: list[tuple[str, str, bool]]) -> None:
    if not isinstance(requirement, dict):
        return
    function = requirement.get("CheckFunction")
    if function == "CheckModelRule":
        out.append((requirement["ModelRuleId"], parent, under_or))
    for item in requirement.get("Items", []) or []:
        _links(item, parent, function == "OR" if function in ("AND", "OR") else under_or, out)


@cache
def _parents(model: Path) -> dict[str, list[tuple[str, bool]]]:
    """rule id -> [(parent rule id, whether it is an alternative of an OR)] from a model file."""
    rules = json.loads(model.read_text(encoding="utf-8"))["ModelRules"]
    links: list[tuple[str, str, bool]] = []
    for rule_id, rule in rules.items():
        _links(rule.get("ValidationCriteria", {}).get("Requirement"), rule_id, False, links)
    parents: dict[str, list[tuple[str, bool]]] = {}
    for child, parent, under_or in links:
        parents.setdefault(child, []).append((parent, under_or))
    return parents


def read_report(xml_file: Path, model: Path) -> Report:
    """Sort the validator's JUnit report by outcome, excusing the alternatives of held ORs."""
    status: dict[str, str] = {}
    messages: dict[str, str] = {}
    for case in ET.parse(xml_file).getroot().iter("testcase"):
        rule_id = (case.get("name") or "").split(" :: ")[0]
        found = list(case)
        status[rule_id] = found[0].tag if found else "passed"
        if found:
            messages[rule_id] = f"{found[0].get('message')} {found[0].text or ''}".strip()
    parents = _parents(model)

    def excused(rule_id: str, seen: frozenset[str] = frozenset()) -> bool:
        for parent, under_or in parents.get(rule_id, []):
            if parent in seen:
                continue
            if under_or and status.get(parent) == "passed":
                return True
            if status.get(parent) == "failure" and excused(parent, seen | {rule_id}):
                return True
        return False

    report = Report()
    for rule_id, outcome in status.items():
        if outcome == "passed":
            report.passed.add(rule_id)
        elif outcome == "skipped":
            report.skipped.add(rule_id)
        elif outcome == "failure" and excused(rule_id):
            report.excused.add(rule_id)
        elif outcome == "failure":
            report.failed[rule_id] = messages[rule_id]
        else:
            report.errors[rule_id] = messages[rule_id]
    return report


def validate(data_file: Path, version: str, work: Path) -> Report:
    """Run focus-validator on ``data_file`` against FOCUS ``version``; its report, sorted."""
    executable = require_validator()
    rules = rules_directory(version)
    models = sorted(rules.glob(f"model-{version}*.json"))
    work.mkdir(parents=True, exist_ok=True)
    # focus-validator 2.2.1 opens focus_validator/rules/currency_codes.csv relative to the
    # working directory (and writes its debug log there): run it in a folder of its own that
    # has that path.
    link = work / "focus_validator"
    if not link.exists():
        link.symlink_to(_package(), target_is_directory=True)
    xml_file = work / f"{data_file.stem}-report.xml"
    completed = subprocess.run(
        [
            str(executable),
            "--data-file",
            str(data_file.resolve()),
            "--validate-version",
            version,
            "--rule-set-path",
            str(rules),
            "--block-download",
            "--output-type",
            "unittest",
            "--output-destination",
            str(xml_file),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0 and xml_file.exists(), (
        f"focus-validator exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    )
    return read_report(xml_file, models[-1])
