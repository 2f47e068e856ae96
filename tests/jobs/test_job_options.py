"""Job options (``costledger jobs run JOB -o key=value`` and schedule files): names checked,
values read into their types with a message naming the option."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

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
