"""Job options (``costledger jobs run JOB -o key=value`` and schedule files): names checked,
values read into their types with a message naming the option."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import ConfigError
from opentelemetry.exporter.costledger.jobs.options import alert_config, job_options
from opentelemetry.exporter.costledger.jobs.run import run_job
from opentelemetry.exporter.costledger.jobs.schedule import load_schedule
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.tables import alerts

from .helpers import insert, row


def test_unknown_option_is_refused_naming_the_valid_ones(ledger_url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_job(ledger_url, "rank", {"period": "2025-05", "fulll": True})
    message = str(caught.value)
    assert "'fulll'" in message and "ai_share_threshold" in message and "sunset_after" in message
    with pytest.raises(ConfigError, match="did you mean 'full'"):
        run_job(ledger_url, "aggregate", {"fulll": True})


def test_a_typo_in_a_schedule_file_fails_when_it_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[jobs]]\njob = "alerts"\nevery = "1h"\noptions = { treshold = 20 }\n')
    with pytest.raises(ConfigError, match=r"jobs\[0\]: the alerts job has no option 'treshold'"):
        load_schedule(path)
    path.write_text(
        '[[jobs]]\njob = "reconcile"\nevery = "1h"\noptions = { tolerance_abs = "x" }\n'
    )
    with pytest.raises(ConfigError, match="tolerance_abs = 'x' is not an amount"):
        load_schedule(path)


@pytest.mark.parametrize(
    ("job", "name", "value", "expected"),
    [
        ("reconcile", "tolerance_abs", "abc", "-o tolerance_abs=0.01"),
        ("rank", "ai_share_threshold", "abc", "-o ai_share_threshold=50"),
        ("aggregate", "full", "maybe", "not true or false"),
        ("rank", "sunset_after", 2.5, "not a whole number"),
        ("alerts", "min_baseline", "-5", "not an amount"),
        ("alerts", "budgets", 12, "budgets = 12 is not a table"),
    ],
)
def test_bad_values_name_the_option_and_an_example(
    job: str, name: str, value: object, expected: str
) -> None:
    with pytest.raises(ConfigError, match=f"{job} option {name}") as caught:
        job_options(job, {name: value})
    assert expected in str(caught.value)


def test_values_are_read_exactly() -> None:
    read = job_options("reconcile", {"tolerance_abs": 0.1, "tolerance": "2", "period": 2025})
    assert read == {"tolerance_abs": Decimal("0.1"), "tolerance": Decimal(2), "period": "2025"}
    assert job_options("aggregate", {"full": False, "dimensions": "customer,model"}) == {
        "full": False,
        "dimensions": ["customer", "model"],
    }
    config = alert_config({"threshold": 35, "min_baseline": "$1,000", "baseline_periods": "6"})
    assert config.threshold == Decimal("0.35") and config.min_baseline == Decimal(1000)
    assert config.baseline_periods == 6


def test_cli_run_refuses_instead_of_running_with_defaults(sqlite_url: str) -> None:
    runner = CliRunner()
    for args, expected in (
        (["rank", "-o", "period=2025-05", "-o", "fulll=true"], "has no option 'fulll'"),
        (["rank", "-o", "ai_share_threshold=abc"], "ai_share_threshold = 'abc'"),
        (["aggregate", "-o", "full=maybe"], "full = 'maybe' is not true or false"),
        (["reconcile", "-o", "tolerance_abs=abc"], "-o tolerance_abs=0.01"),
    ):
        result = runner.invoke(main, ["jobs", "run", *args, "--db", sqlite_url])
        assert result.exit_code != 0 and result.exception is not None, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        assert expected in result.output


def test_schedule_alerts_read_a_budgets_file(ledger_url: str, tmp_path: Path) -> None:
    insert(ledger_url, [row("a", "2025-05-02", "10"), row("b", "2025-05-03", "1")])
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[budgets]\na = "5"\n')
    summary = run_job(
        ledger_url, "alerts", {"budgets": str(budgets), "by": "month", "period": "2025-05"}
    )
    assert summary.startswith("1 alert(s)")
    engine = db.create_engine(ledger_url)
    with engine.connect() as conn:
        found = conn.execute(sa.select(alerts.c.kind, alerts.c.customer_id)).all()
    engine.dispose()
    assert [tuple(r) for r in found] == [("over_budget", "a")]


# --- one declaration: the command's flags and the job's options ------------------------------

COMMANDS = {
    "aggregate": ["aggregate"],
    "allocate": ["allocate"],
    "normalize": ["normalize"],
    "rank": ["rank"],
    "alerts": ["alerts"],
    "reconcile": ["reconcile"],
    "import_usage": ["import", "usage"],
    "import_business": ["import", "business"],
    "import_invoices": ["import", "invoices"],
    "import_calls": ["import", "calls"],
}


@pytest.mark.parametrize("job", sorted(COMMANDS))
def test_a_job_takes_what_its_command_takes(job: str) -> None:
    """`jobs run aggregate -o period=...` was refused although `aggregate --period` exists:
    the job options and the command's parameters are one declaration."""
    from opentelemetry.exporter.costledger.jobs.options import OPTIONS
    from opentelemetry.exporter.costledger.jobs.run import JOBS

    assert set(COMMANDS) == set(JOBS) == set(OPTIONS)
    command: click.Command = main
    for word in COMMANDS[job]:
        assert isinstance(command, click.Group)
        command = command.commands[word]
    params = {p.name for p in command.params} - {"database_url", "help"}
    assert params == {o.param or o.name for o in OPTIONS[job]}
    required = {o.name: o.example for o in OPTIONS[job] if o.required}
    for spec in OPTIONS[job]:
        given = {**required, spec.name: spec.example or "true"}
        if spec.display:
            with pytest.raises(ConfigError, match=f"{spec.name} only changes what"):
                job_options(job, given)
        else:
            assert job_options(job, given)[spec.name] is not None


def test_jobs_run_takes_the_commands_options(sqlite_url: str, tmp_path: Path) -> None:
    insert(sqlite_url, [row("cust_1", "2025-05-02", "10"), row("cust_2", "2025-04-02", "3")])
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["jobs", "run", *args, "--db", sqlite_url])
        assert result.exit_code == 0, result.output
        return result.output

    assert "2025-05: $10.00 in 1 group(s)" in run("aggregate", "-o", "period=2025-05")
    assert "cust_1: $10.00" in run("normalize", "-o", "period=2025-05", "-o", "customer=cust_1")
    bills = tmp_path / "bills.toml"
    bills.write_text(
        '[[bills]]\nname = "A"\namount = 5\ncategory = "c"\nmethod = "even"\n'
        '[[bills]]\nname = "B"\namount = 7\ncategory = "c"\nmethod = "even"\n'
    )
    done = run("allocate", "-o", f"bills={bills}", "-o", "period=2025-05", "-o", "bill=A",
               "-o", "dry_run=true")  # fmt: skip
    assert "1 bill(s) allocated (dry run, nothing written)" in done
    refused = runner.invoke(main, ["jobs", "run", "rank", "-o", "round_to=dollar"])
    assert refused.exit_code == 1
    assert "round_to only changes what `costledger rank` prints" in refused.output
    # and the command has what only the job had: alerts --min-baseline
    result = runner.invoke(
        main,
        [
            "alerts",
            "--min-baseline",
            "5",
            "--by",
            "month",
            "--period",
            "2025-05",
            "--db",
            sqlite_url,
        ],
    )
    assert result.exit_code == 0, result.output
