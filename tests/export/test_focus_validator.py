"""Every FOCUS export passes the FinOps Foundation's own focus-validator: the demo month and the
seed tutorial, FOCUS 1.2 and 1.3, with 0 failures and 0 errors (see :mod:`.focus_validator`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.costledger.demo import run_demo
from opentelemetry.exporter.costledger.demo.traffic import DEFAULT_CALLS, DEFAULT_SEED
from opentelemetry.exporter.costledger.export import export_ledger
from opentelemetry.exporter.costledger.imports.user_data import import_usage
from opentelemetry.exporter.costledger.jobs.allocate import allocate

from ..jobs.test_seed_jobs import build_may_2025
from .focus_validator import Report, read_report, require_validator, validate
from .test_export import FOCUS_1_2_COLUMNS
from .test_focus_1_3 import FOCUS_1_3_COLUMNS

DEMO_MONTH = "2025-10"
NEW_IN_1_3 = set(FOCUS_1_3_COLUMNS) - set(FOCUS_1_2_COLUMNS)
# The SDK warns that the demo's dated model snapshots are nearing end of life.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make demo`'s month (its default calls and seed) with the shared bills allocated, as the
    demo's suggested next steps do: every kind of row the demo makes is in it."""
    require_validator()  # the demo is not worth building when the validator cannot run
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'ledger.db'}"
    result = run_demo(db=url, month=DEMO_MONTH, calls=DEFAULT_CALLS, seed=DEFAULT_SEED)
    import_usage(url, result.inputs.usage)
    allocate(url, bills=result.inputs.bills, period=DEMO_MONTH)
    yield url


@pytest.fixture(scope="module")
def seed_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The seed tutorial's May 2025: its calls, bills, direct costs and business data."""
    folder = tmp_path_factory.mktemp("seed")
    url = f"sqlite:///{folder / 'ledger.db'}"
    build_may_2025(url, folder)
    yield url


def _assert_valid(report: Report) -> None:
    assert not report.problems, "focus-validator found:\n" + "\n".join(
        f"  {rule}: {message}" for rule, message in sorted(report.problems.items())
    )
    # It did check the file: the rules on the columns we fill ran and passed.
    assert len(report.passed) > 100, sorted(report.passed)
    assert {"BilledCost-C-000-M", "ChargeCategory-C-000-M", "ServiceName-C-000-M"} <= {
        rule.removeprefix("CAU-") for rule in report.passed
    }


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_the_demo_month_passes_the_focus_validator(
    demo_ledger: str, version: str, tmp_path: Path
) -> None:
    out = tmp_path / f"demo-focus-{version}.csv"
    result = export_ledger(
        demo_ledger, fmt="focus", focus_version=version, period=DEMO_MONTH, out=out
    )
    assert result.rows > DEFAULT_CALLS  # the calls plus the allocated shares of the bills
    _assert_valid(validate(out, version, tmp_path / "validator"))


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_the_seed_tutorial_passes_the_focus_validator(
    seed_ledger: str, version: str, tmp_path: Path
) -> None:
    out = tmp_path / f"seed-focus-{version}.csv"
    export_ledger(seed_ledger, fmt="focus", focus_version=version, period="2025-05", out=out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["x_Source"] for r in rows} == {"span", "allocation"}
    _assert_valid(validate(out, version, tmp_path / "validator"))


def test_the_demo_month_in_1_3_less_its_new_columns_passes_the_1_2_rules(
    demo_ledger: str, tmp_path: Path
) -> None:
    """While the validator has no FOCUS 1.3 model here, what 1.3 shares with 1.2 (all but the
    eight columns 1.3 adds) is checked by its bundled 1.2 rules."""
    out = tmp_path / "demo-focus-1.3.csv"
    export_ledger(demo_ledger, fmt="focus", focus_version="1.3", period=DEMO_MONTH, out=out)
    reader = csv.DictReader(out.open(encoding="utf-8"))
    shared = [c for c in reader.fieldnames or [] if c not in NEW_IN_1_3]
    assert len(shared) == len(reader.fieldnames or []) - 8
    rows = list(reader)
    assert any(r["AllocatedMethodId"] for r in rows)
    trimmed = tmp_path / "demo-focus-1.3-shared.csv"
    with trimmed.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, shared, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    _assert_valid(validate(trimmed, "1.2", tmp_path / "validator"))


def test_the_validator_catches_a_broken_export(seed_ledger: str, tmp_path: Path) -> None:
    """The check can fail: a null ChargeCategory, a cost that is not a number and a missing
    mandatory column are each reported."""
    good = tmp_path / "seed-focus.csv"
    export_ledger(seed_ledger, fmt="focus", period="2025-05", out=good)
    reader = csv.DictReader(good.open(encoding="utf-8"))
    columns = [c for c in reader.fieldnames or [] if c != "ServiceName"]
    rows = list(reader)
    rows[0]["ChargeCategory"] = ""
    rows[1]["BilledCost"] = "ten dollars"
    broken = tmp_path / "broken-focus.csv"
    with broken.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    problems = validate(broken, "1.2", tmp_path / "validator").problems
    assert any(rule.startswith("ChargeCategory-") for rule in problems), problems
    assert any(rule.startswith("BilledCost-") for rule in problems), problems
    assert any("ServiceName" in rule for rule in problems), problems


def test_only_the_alternatives_of_a_rule_that_holds_are_excused(tmp_path: Path) -> None:
    """How a report is read, on a small requirements model of the validator's shape."""
    model = tmp_path / "model-9.9.json"
    rule = "CheckModelRule"
    model.write_text(
        json.dumps(
            {
                "ModelRules": {
                    "A-000": {"ValidationCriteria": {"Requirement": {
                        "CheckFunction": "OR",
                        "Items": [{"CheckFunction": rule, "ModelRuleId": "A-001"},
                                  {"CheckFunction": rule, "ModelRuleId": "A-002"}]}}},
                    "B-000": {"ValidationCriteria": {"Requirement": {
                        "CheckFunction": "OR",
                        "Items": [{"CheckFunction": rule, "ModelRuleId": "B-001"},
                                  {"CheckFunction": rule, "ModelRuleId": "B-002"}]}}},
                    "C-000": {"ValidationCriteria": {"Requirement": {
                        "CheckFunction": "AND",
                        "Items": [{"CheckFunction": rule, "ModelRuleId": "C-001"}]}}},
                }
            }
        )
    )  # fmt: skip
    outcomes = {
        "A-000": "", "A-001": "<failure message='alternative'/>", "A-002": "",
        "B-000": "<failure message='no alternative holds'/>",
        "B-001": "<failure message='b1'/>", "B-002": "<failure message='b2'/>",
        "C-000": "<failure message='c'/>", "C-001": "<failure message='c1'/>",
        "D-000": "<error message='crashed'/>", "E-000": "<skipped message='n/a'/>",
    }  # fmt: skip
    cases = "".join(f'<testcase name="{k} :: Check">{v}</testcase>' for k, v in outcomes.items())
    report_file = tmp_path / "report.xml"
    report_file.write_text(f'<testsuites><testsuite name="s">{cases}</testsuite></testsuites>')
    report = read_report(report_file, model)
    assert report.excused == {"A-001"}
    assert set(report.failed) == {"B-000", "B-001", "B-002", "C-000", "C-001"}
    assert report.errors == {"D-000": "crashed"}
    assert report.passed == {"A-000", "A-002"} and report.skipped == {"E-000"}
