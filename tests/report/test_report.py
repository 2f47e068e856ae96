"""The HTML report and the dashboard: figures against the ledger and the aggregate job."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger import periods
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import DatabaseError
from opentelemetry.exporter.costledger.jobs.aggregate import aggregate, aggregate_rows
from opentelemetry.exporter.costledger.ledger.schema import NANOS_PER_USD, ledger_entries
from opentelemetry.exporter.costledger.report import build_report, report_data, write_report
from opentelemetry.exporter.costledger.report.data import OTHER
from opentelemetry.exporter.costledger.report.server import Dashboard

from .ledger_data import (
    CUSTOMER_TOTALS_NANOS,
    MAY_TOTAL_NANOS,
    OUTSIDE_NANOS,
    ledger_rows,
    seed_ledger,
)


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[str]:
    seed_ledger(ledger_url).dispose()
    yield ledger_url


def test_figures_equal_the_ledger_and_the_aggregate_job(ledger: str) -> None:
    data = report_data(ledger, period="2025-05")
    assert data.total_nanos == MAY_TOTAL_NANOS
    assert {c.customer_id: c.cost_nanos for c in data.customers} == CUSTOMER_TOTALS_NANOS
    assert [c.customer_id for c in data.customers] == list(CUSTOMER_TOTALS_NANOS)  # biggest first
    assert len(data.days) == 31 and sum(data.daily_nanos) == MAY_TOTAL_NANOS
    assert dict((c, n) for c, n, _ in data.categories) == {
        "api": 6_348_650_000_000,
        "embedding": 120 * NANOS_PER_USD,
        "vector_storage": 100 * NANOS_PER_USD,
        "observability": 60 * NANOS_PER_USD,
        "human_review": 600 * NANOS_PER_USD,
        "third_party": 80 * NANOS_PER_USD,
    }
    assert [u["model"] for u in data.unpriced] == ["gpt-9-preview"]
    assert data.unpriced_calls == 1
    acme = next(c for c in data.customers if c.customer_id == "cust_12345")
    assert (acme.work_items, acme.cost_per_work_item_nanos) == (3, 920 * NANOS_PER_USD)

    # The same numbers as the aggregate job's table, day by day and customer by customer.
    aggregate(ledger, granularity="day", dimensions=("customer",))
    stored = aggregate_rows(ledger, granularity="day", dimensions=("customer",), period=data.period)
    per_day: dict[str, int] = {}
    for row in stored:
        day = periods.as_date(row.period_start).isoformat()
        nanos = row.cost_nanos
        assert row.cost_usd * NANOS_PER_USD == nanos
        per_day[day] = per_day.get(day, 0) + nanos
        assert row.customer_id is not None
        series = data.customer_series[row.customer_id]
        assert series[data.days.index(periods.as_date(row.period_start))] == nanos
    assert per_day == {
        d.isoformat(): n for d, n in zip(data.days, data.daily_nanos, strict=True) if n
    }


def test_top_n_sums_the_rest_as_other(ledger: str) -> None:
    data = report_data(ledger, period="2025-05", top_n=2)
    assert list(data.customer_series) == ["cust_67890", "cust_12345", OTHER]
    other = CUSTOMER_TOTALS_NANOS["cust_54321"] + CUSTOMER_TOTALS_NANOS["cust_11111"]
    assert sum(data.customer_series[OTHER]) == other
    assert sum(sum(v) for v in data.customer_series.values()) == MAY_TOTAL_NANOS


def test_page_is_self_contained_and_shows_the_figures(ledger: str) -> None:
    html = build_report(ledger, period="2025-05")
    # Offline: no script, no external stylesheet/image/font; the only URL is the SVG namespace.
    assert "<script" not in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert re.findall(r'(?:src|href)="([^"]*)"', html) == ["data:,"]
    for section in ("daily", "customers", "work-items", "categories", "ranking", "alerts",
                    "unpriced"):  # fmt: skip
        assert f'id="{section}"' in html
    assert html.count('<svg class="chart"') == 3
    assert "$7,308.65" in html  # total
    assert re.search(r'<tr data-customer="cust_12345">.*?\$2,760\.00', html)
    assert 'data-nanos="2760000000000"' in html
    assert "gpt-9-preview" in html and "no price for openai/gpt-9-preview" in html
    for label in ("API", "Embeddings", "Vector storage", "Observability", "Human review",
                  "Third-party"):  # fmt: skip
        assert f">{label}<" in html
    assert "costledger rank --period 2025-05" in html  # says which job fills the ranking


def test_empty_period_renders(ledger: str) -> None:
    html = build_report(ledger, period="2024-01")
    assert "No costs in this period" in html and "$0.00" in html


def test_no_ledger_is_a_clear_error(sqlite_url: str) -> None:
    with pytest.raises(DatabaseError, match="there is no ledger at"):
        build_report(sqlite_url, period="2025-05")
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # a reader creates nothing


def test_cli_report_writes_html_and_prints_tables(ledger: str, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "report.html"
    done = runner.invoke(main, ["report", "--period", "2025-05", "--out", str(out), "--db", ledger])
    assert done.exit_code == 0, done.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    table = runner.invoke(
        main, ["report", "--period", "2025-05", "--db", ledger], env={"COLUMNS": "160"}
    )
    assert table.exit_code == 0, table.output
    assert "$2,760.00" in table.output and "Human review" in table.output
    csv_out = runner.invoke(
        main, ["report", "--period", "2025-05", "--show", "customers", "--format", "csv",
               "--db", ledger],
    )  # fmt: skip
    assert csv_out.exit_code == 0, csv_out.output
    assert "cust_12345,Acme Corp,2760000000000,2760.00," in csv_out.output
    both = runner.invoke(
        main, ["report", "--period", "2025-05", "--show", "daily", "--show", "customers",
               "--format", "json", "--db", ledger],
    )  # fmt: skip
    assert both.exit_code != 0 and "pick it with --show" in both.output


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_dashboard_serves_fresh_figures(ledger: str) -> None:
    server = Dashboard(ledger, period="2025-05", port=0, refresh_seconds=30)
    server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        status, html = _get(server.url)
        assert status == 200
        assert '<meta http-equiv="refresh" content="30">' in html
        assert "$7,308.65" in html
        # A new row shows on the next request: the page is rebuilt from the database.
        engine = sa.create_engine(ledger)
        when = datetime(2025, 5, 20, tzinfo=UTC)
        row = dict(
            ledger_rows()[0], idempotency_key="late", timestamp=when, cost_nanos=NANOS_PER_USD
        )
        with engine.begin() as conn:
            conn.execute(ledger_entries.insert(), [row])
        engine.dispose()
        assert "$7,309.65" in _get(server.url)[1]
        assert "$2,761.00" in _get(server.url + "?period=2025-05")[1]  # cust_12345 + $1
        assert _get(server.url + "?period=2024-01")[0] == 200
        status, body = _get(server.url + "?period=May")
        assert status == 400 and "invalid period" in body
        assert _get(server.url + "healthz") == (200, "ok\n")
        assert _get(server.url + "nothing")[0] == 404
    finally:
        server.stop()


def test_dashboard_port_from_env(ledger: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTLEDGER_DASHBOARD_PORT", "0")
    server = Dashboard(ledger, period="2025-05")
    try:
        assert int(server.url.rsplit(":", 1)[1].strip("/")) > 0
    finally:
        server.stop()


def test_write_report_replaces_atomically(ledger: str, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "r.html"
    target.write_text("old")
    write_report(ledger, out=target, period="2025-05")
    assert "AI cost report" in target.read_text(encoding="utf-8")
    assert [p.name for p in folder.iterdir()] == ["r.html"]


def test_days_follow_the_time_zone(ledger: str) -> None:
    berlin = report_data(ledger, period="2025-05", time_zone="Europe/Berlin")
    # April 30th 23:59:59 UTC is May 1st 01:59:59 in Berlin: in the month, on its first day.
    assert berlin.period.time_zone == "Europe/Berlin"
    assert berlin.total_nanos == MAY_TOTAL_NANOS + OUTSIDE_NANOS
    utc = report_data(ledger, period="2025-05")
    assert berlin.daily_nanos[0] == utc.daily_nanos[0] + OUTSIDE_NANOS
    assert "time zone Europe/Berlin" in build_report(
        ledger, period="2025-05", time_zone="Europe/Berlin"
    )
