"""The report shows the jobs' results as the jobs stored them: ranking, unit economics, alerts."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from opentelemetry.exporter.costledger.jobs.alerts import run_alerts
from opentelemetry.exporter.costledger.jobs.normalize import stored_unit_economics
from opentelemetry.exporter.costledger.ledger.schema import NANOS_PER_USD
from opentelemetry.exporter.costledger.report import build_report, report_data

from ..jobs.helpers import insert, row
from ..jobs.test_seed_jobs import build_may_2025
from .jobs_data import run_jobs
from .ledger_data import seed_ledger


def test_ranking_unit_economics_and_alerts_come_from_the_jobs(
    ledger_url: str, tmp_path: Path
) -> None:
    seed_ledger(ledger_url).dispose()
    run_jobs(ledger_url, tmp_path)
    data = report_data(ledger_url, period="2025-05")
    assert data.missing_jobs == []

    ranking = {r["customer_id"]: r for r in data.ranking}
    assert [r["customer_id"] for r in data.ranking] == [
        "cust_67890",
        "cust_12345",
        "cust_54321",
        "cust_11111",
    ]
    acme = ranking["cust_12345"]
    assert acme["profitability_nanos"] == -360 * NANOS_PER_USD
    assert "unprofitable" in acme["flags"] and acme["action"]
    assert ranking["cust_67890"]["profitability_nanos"] == 5_587_500_000_000

    stored = {u.customer_id: u for u in stored_unit_economics(ledger_url, period="2025-05")}
    assert {u["customer_id"] for u in data.unit_economics} == set(stored)
    assert stored["cust_12345"].work_items == 6200
    kinds = {(a["kind"], a.get("customer_id") or a.get("model")) for a in data.alerts}
    assert ("over_budget", "cust_12345") in kinds and ("unpriced", "gpt-9-preview") in kinds

    html = build_report(ledger_url, period="2025-05")
    row = re.search(r'<section id="ranking">.*?<tr data-customer="cust_12345">(.*?)</tr>', html)
    assert row is not None
    cells = row.group(1)
    assert "-$360.00" in cells and "$3,200.00" in cells and "$2,400.00" in cells
    assert '<span class="flag red">unprofitable</span>' in cells
    assert acme["action"] in cells and "neg" in cells
    per_item = re.search(
        r'<section id="work-items">.*?<tr data-customer="cust_12345">(.*?)</tr>', html
    )
    assert per_item is not None and "6,200" in per_item.group(1)
    assert "$0.445<" in per_item.group(1)  # $2,760 / 6,200 tickets: the seed's $0.445
    assert "over_budget" in html and "Not computed yet" not in html


def test_alerts_are_shown_with_the_period_they_concern(sqlite_url: str) -> None:
    """Weekly spikes of May 2025 raised today are in May's report — not in the report of the
    month they were raised in, nor in June's. A week across two months is in both."""
    rows = []
    for day in ("2025-04-07", "2025-04-14", "2025-04-21", "2025-04-28", "2025-05-05"):
        rows.append(row("a", day, "100"))
    rows += [row("a", "2025-05-12", "300"), row("a", "2025-05-26", "900")]
    insert(sqlite_url, rows)
    for week in ("2025-W20", "2025-W22"):  # May 12-18, and May 26 - June 1
        run_alerts(sqlite_url, period=week, mark_stdout=False)

    def shown(period: str) -> list[str]:
        return [str(a["period"]) for a in report_data(sqlite_url, period=period).alerts]

    assert shown("2025-05") == ["2025-W22", "2025-W20"]
    assert shown("2025-06") == ["2025-W22"]
    assert shown("2025-W20") == ["2025-W20"]
    raised = date.today()
    assert shown(f"{raised.year}-{raised.month:02d}") == []
    html = build_report(sqlite_url, period="2025-05")
    assert "No alerts for this period" not in html and "2025-W20" in html


def test_daily_views_amortize_allocated_bills(ledger_url: str, tmp_path: Path) -> None:
    """The seed's May: $1,480 of bills and direct costs allocated for the month are spread over
    its 31 days (the ledger books them on May 16th, a tower beside days of a few dollars)."""
    build_may_2025(ledger_url, tmp_path)
    data = report_data(ledger_url, period="2025-05")
    daily = dict(zip(data.days, data.daily_nanos, strict=True))
    share = 1480 * NANOS_PER_USD // 31  # each row's remainder goes a nano a day to its first days
    assert abs(daily[date(2025, 5, 16)] - share) < 20
    assert abs(daily[date(2025, 5, 2)] - (1120 * NANOS_PER_USD + share)) < 20
    assert all(abs(n - share) < 20 for d, n in daily.items() if d.day not in (2, 15, 20))
    assert sum(data.daily_nanos) == data.total_nanos == 7308_650_000_000  # exact
    acme = data.customer_series["cust_12345"]
    assert sum(acme) == 2760 * NANOS_PER_USD and max(acme) < 1200 * NANOS_PER_USD
    html = build_report(ledger_url, period="2025-05")
    assert (
        '<p class="note" id="amortized-note">Amortized: $1,480.00 of shared bills and direct'
        " costs split over customers by <code>costledger allocate</code> is spread evenly over"
        " the days of its billing period (2025-05-01 to 2025-05-31)"
    ) in html
    # A week of May shows its days' shares; the ledger's total counts the bills whole in the
    # week their middle falls in (W20: May 12-18), and the note says so.
    week = report_data(ledger_url, period="2025-W20")
    assert sum(week.daily_nanos) != week.total_nanos
    assert "counts each bill whole in the period its middle falls in" in build_report(
        ledger_url, period="2025-W20"
    )
