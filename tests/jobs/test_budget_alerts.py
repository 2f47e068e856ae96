"""Budgets that warn ahead, through ``costledger alerts``: thresholds once per period and a
forecast once, worked out by hand (issue 16, item 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.jobs.run import run_job
from opentelemetry.exporter.costledger.ledger.tables import alerts, budget_status

from .helpers import insert, row

BUDGETS = """\
thresholds = [50, 80, 100]

[[budget]]
customer = "cust_12345"
amount = "2000"
period = "month"
hard_limit = "2500"

[[budget]]
tag = "team=search"
amount = 300
period = "week"
thresholds = [100]
"""


def worked_example(url: str, folder: Path) -> Path:
    """May 2025 (UTC), each row at noon: cust_12345 $300 on May 1, $200 May 3, $250 May 6,
    $300 May 10, $100 May 12, $500 May 15, $400 May 20; cust_777 with tag team=search $120 on
    May 12, $90 May 13, $100 May 15 (ISO week 2025-W20, May 12–18)."""
    days = {"01": "300", "03": "200", "06": "250", "10": "300", "12": "100", "15": "500"}
    rows = [row("cust_12345", f"2025-05-{d}T12:00", cost) for d, cost in days.items()]
    rows.append(row("cust_12345", "2025-05-20T12:00", "400"))
    search = '{"team":"search"}'
    for day, cost in (("12", "120"), ("13", "90"), ("15", "100")):
        rows.append(row("cust_777", f"2025-05-{day}T12:00", cost, tags=search))
    insert(url, rows)
    path = folder / "budgets.toml"
    path.write_text(BUDGETS)
    return path


def _alerts(url: str, budgets: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        main,
        ["alerts", "--budgets", str(budgets), *args, "--format", "json", "--db", url],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def _brief(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(a["kind"], a["scope_value"], a["threshold"], a["message"]) for a in found]


def test_worked_example_thresholds_and_forecasts(ledger_url: str, tmp_path: Path) -> None:
    """Four runs, each ``--as-of`` the end of a day (its next midnight, UTC):

    A. as of May 8: cust_12345 spent 300 + 200 + 250 = $750 in 8 days (37.5%, no threshold).
       Forecast 750 + 750 × 23/8 = 750 + 2,156.25 = $2,906.25 > $2,000: it passes after
       (2000 − 750) × 8/750 = 13⅓ days from May 9 00:00 = May 22 08:00 → "around May 22".
       team=search: week 2025-W19 (May 5–11) has nothing → no alert.
    B. as of May 12: cust_12345 $1,150 = 57.5% → 50% crossed (its forecast, 1150 + 1150 ×
       19/12 = $2,970.83, is still over, but was alerted in A). team=search, W20 one day in:
       $120 = 40%; forecast 120 + 120 × 6/1 = $840 > $300, passing after 180 × 1/120 = 1.5
       days from May 13 00:00 = May 14 12:00 → "around May 14".
    C. as of May 15: cust_12345 $1,650 = 82.5% → 80%. team=search 120 + 90 + 100 = $310 =
       103.33% → 100% (its only threshold).
    D. as of May 20: cust_12345 $2,050 = 102.5% → 100%. W21 of team=search has nothing.
    A fifth run as of May 20 prints nothing new; ``--all`` lists what holds then.
    """
    budgets = worked_example(ledger_url, tmp_path)
    run_a = _alerts(ledger_url, budgets, "--as-of", "2025-05-08")
    assert _brief(run_a) == [
        (
            "budget_forecast",
            "cust_12345",
            None,
            "cust_12345 will pass its $2,000 monthly budget around May 22 (forecast $2,906.25"
            " for 2025-05, $750 spent so far)",
        )
    ]
    [forecast] = run_a
    assert forecast["forecast_usd"] == "2906.25" and forecast["forecast_date"] == "2025-05-22"
    assert forecast["amount_usd"] == "750.00" and forecast["reference_usd"] == "2000.00"
    assert forecast["customer_id"] == "cust_12345" and forecast["period"] == "2025-05"
    assert forecast["change"] == "0.375" and forecast["scope"] == "customer"

    assert _brief(_alerts(ledger_url, budgets, "--as-of", "2025-05-12")) == [
        (
            "budget_threshold",
            "cust_12345",
            "50",
            "cust_12345: $1,150 spent of its $2,000 monthly budget for 2025-05 (57.5%, past 50%)",
        ),
        (
            "budget_forecast",
            "team=search",
            None,
            "team=search will pass its $300 weekly budget around May 14 (forecast $840 for"
            " 2025-W20, $120 spent so far)",
        ),
    ]
    assert _brief(_alerts(ledger_url, budgets, "--as-of", "2025-05-15")) == [
        (
            "budget_threshold",
            "cust_12345",
            "80",
            "cust_12345: $1,650 spent of its $2,000 monthly budget for 2025-05 (82.5%, past 80%)",
        ),
        (
            "budget_threshold",
            "team=search",
            "100",
            "team=search: $310 spent of its $300 weekly budget for 2025-W20 (103.33%, past 100%)",
        ),
    ]
    assert _brief(_alerts(ledger_url, budgets, "--as-of", "2025-05-20")) == [
        (
            "budget_threshold",
            "cust_12345",
            "100",
            "cust_12345: $2,050 spent of its $2,000 monthly budget for 2025-05 (102.5%, past 100%)",
        )
    ]
    assert _alerts(ledger_url, budgets, "--as-of", "2025-05-20") == []
    holding = _alerts(ledger_url, budgets, "--as-of", "2025-05-20", "--all")
    assert [(a["kind"], a["threshold"]) for a in holding] == [
        ("budget_threshold", "50"),
        ("budget_threshold", "80"),
        ("budget_threshold", "100"),
    ]
    assert all(a["forecast_date"] is None for a in holding)

    engine = sa.create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(alerts.c.alert_key, alerts.c.forecast_date, alerts.c.period_end)
                .where(alerts.c.kind.like("budget%"))
                .order_by(alerts.c.id)
            ).all()
            status = (
                conn.execute(
                    sa.select(budget_status).where(budget_status.c.scope_value == "cust_12345")
                )
                .mappings()
                .one()
            )
    finally:
        engine.dispose()
    assert [key for key, _, _ in stored] == [
        "budget_forecast:customer:cust_12345:2025-05",
        "budget_threshold:customer:cust_12345:2025-05:50",
        "budget_forecast:tag:team=search:2025-W20",
        "budget_threshold:customer:cust_12345:2025-05:80",
        "budget_threshold:tag:team=search:2025-W20:100",
        "budget_threshold:customer:cust_12345:2025-05:100",
    ]
    assert str(stored[0][1]) == "2025-05-22" and str(stored[2][2]) == "2025-05-19"
    # The last run's figures: as of May 21 00:00, 2050 + 2050 × 11/20 = $3,177.50 forecast.
    assert status["spent_nanos"] == 2050 * 10**9 and status["forecast_nanos"] == 3177_500_000_000
    assert status["thresholds_crossed"] == "50,80,100" and status["forecast_date"] is None
    assert status["hard_limit_nanos"] == 2500 * 10**9 and str(status["percent"]) == "102.5000"


def test_alerts_with_a_period_and_no_as_of_evaluate_its_end(
    ledger_url: str, tmp_path: Path
) -> None:
    """``--period 2025-05`` without ``--as-of``: the budgets as of the end of May — cust_12345
    at $2,050 (all three thresholds); team=search in the week holding May 31 (W22) spent
    nothing. The short form's ``over_budget`` in the same file still fires."""
    budgets = worked_example(ledger_url, tmp_path)
    budgets.write_text(BUDGETS + '\n[budgets]\ncust_777 = "100"\n')
    found = _alerts(ledger_url, budgets, "--period", "2025-05", "--by", "month")
    assert [(a["kind"], a["customer_id"], a["threshold"]) for a in found] == [
        ("over_budget", "cust_777", None),
        ("budget_threshold", "cust_12345", "50"),
        ("budget_threshold", "cust_12345", "80"),
        ("budget_threshold", "cust_12345", "100"),
    ]


def test_scheduled_alerts_take_as_of(ledger_url: str, tmp_path: Path) -> None:
    budgets = worked_example(ledger_url, tmp_path)
    summary = run_job(ledger_url, "alerts", {"budgets": str(budgets), "as_of": "2025-05-08"})
    assert summary == "1 alert(s), 0 sent"


def test_a_bad_as_of_says_what_to_write(sqlite_url: str, tmp_path: Path) -> None:
    budgets = worked_example(sqlite_url, tmp_path)
    result = CliRunner().invoke(
        main, ["alerts", "--budgets", str(budgets), "--as-of", "May 8", "--db", sqlite_url]
    )
    assert result.exit_code != 0
    assert "--as-of 'May 8' is not a date (2025-05-20)" in result.output


def test_a_bad_budget_file_names_the_entry(sqlite_url: str, tmp_path: Path) -> None:
    budgets = worked_example(sqlite_url, tmp_path)
    budgets.write_text('[[budget]]\ncustomer = "a"\namount = "2000"\nperiod = "year"\n')
    result = CliRunner().invoke(main, ["alerts", "--budgets", str(budgets), "--db", sqlite_url])
    assert result.exit_code != 0
    assert "budget #1: period = 'year' is not one of day, week, month, quarter" in result.output


def test_the_report_shows_the_budgets(ledger_url: str, tmp_path: Path) -> None:
    """After runs as of May 8, 12, 15 and 20, May's report holds each budget period that
    overlaps May as its last run left it: cust_12345's May as of May 21 00:00 ($2,050, 102.5%,
    forecast 2050 + 2050 × 11/20 = $3,177.50) and team=search's weeks W19 (nothing), W20 (as of
    May 16: $310, 103.33%, forecast 310 + 310 × 3/4 = $542.50) and W21 (nothing yet)."""
    budgets = worked_example(ledger_url, tmp_path)
    for day in ("08", "12", "15", "20"):
        _alerts(ledger_url, budgets, "--as-of", f"2025-05-{day}")
    args = ["report", "--period", "2025-05", "--show", "budgets", "--format", "json"]
    result = CliRunner().invoke(
        main,
        [*args, "--db", ledger_url],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    keys = ["scope_value", "period", "spent_usd", "percent", "thresholds_crossed"]
    keys += ["forecast_usd", "forecast_date", "hard_limit_usd"]
    rows = [(*(r[k] for k in keys), r["as_of"][:16]) for r in json.loads(result.stdout)]
    assert rows == [
        ("cust_12345", "2025-05", "2050.00", "102.5", "50,80,100", "3177.50", None, "2500.00",
         "2025-05-21T00:00"),
        ("team=search", "2025-W19", "0.00", "0", "", "0.00", None, None, "2025-05-09T00:00"),
        ("team=search", "2025-W20", "310.00", "103.33", "100", "542.50", None, None,
         "2025-05-16T00:00"),
        ("team=search", "2025-W21", "0.00", "0", "", "0.00", None, None, "2025-05-21T00:00"),
    ]  # fmt: skip
    from opentelemetry.exporter.costledger.report import build_report

    html = build_report(ledger_url, period="2025-05")
    section = html.split('<section id="budgets">', 1)[1].split("</section>", 1)[0]
    assert 'data-budget="customer=cust_12345"' in section
    assert 'data-nanos="3177500000000"' in section and "102.5%" in section
    june = build_report(ledger_url, period="2025-06")
    assert 'id="budgets"' not in june  # no budget period overlaps June: no section


def test_the_readme_shows_this_example() -> None:
    """The README's Budgets section shows this file and these messages."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Budgets that warn ahead", 1)[1].split("\n### ", 1)[0]
    assert "# budgets.toml\n" + BUDGETS in section
    shown = [line for line in section.splitlines() if line.startswith(("cust_", "team="))]
    assert shown == [
        "cust_12345 will pass its $2,000 monthly budget around May 22 (forecast $2,906.25 for"
        " 2025-05, $750 spent so far)",
        "cust_12345: $1,150 spent of its $2,000 monthly budget for 2025-05 (57.5%, past 50%)",
        "team=search will pass its $300 weekly budget around May 14 (forecast $840 for"
        " 2025-W20, $120 spent so far)",
        "cust_12345: $1,650 spent of its $2,000 monthly budget for 2025-05 (82.5%, past 80%)",
        "team=search: $310 spent of its $300 weekly budget for 2025-W20 (103.33%, past 100%)",
        "cust_12345: $2,050 spent of its $2,000 monthly budget for 2025-05 (102.5%, past 100%)",
    ]


def test_a_long_tag_value_fits_the_columns(ledger_url: str) -> None:
    """A tag value longer than ``scope_value`` (300) and a key longer than 400 characters are
    cut, with a digest of the whole: the insert succeeds (PostgreSQL checks the widths)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from opentelemetry.exporter.costledger.jobs.alerts import AlertConfig, run_alerts
    from opentelemetry.exporter.costledger.jobs.budgets import Budget

    value = "x" * 420
    insert(ledger_url, [row("a", "2025-05-02", "10", tags=json.dumps({"team": value}))])
    config = AlertConfig(
        budget_entries=(Budget("tag", "team=*", Decimal(1), "month"),),
        as_of=datetime(2025, 5, 3, tzinfo=UTC),
    )
    run = run_alerts(ledger_url, config=config)
    keys = [a.alert_key for a in run.alerts]
    assert len(keys) == 3 and all(len(k) == 400 for k in keys) and len(set(keys)) == 3
    assert all(len(a.scope_value or "") == 300 for a in run.alerts)
