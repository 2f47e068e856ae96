"""The report page in a real browser: headless Chromium over the DevTools protocol.

Checks what a person would see: the page loads with no console error or warning and no failed
request, every chart is an SVG with drawn bars of non-zero size, and a known customer's figure
is on the page. Screenshots go to ``test-artifacts/`` (git-ignored) for a human look.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.costledger.report import write_report
from opentelemetry.exporter.costledger.report.server import Dashboard

from .browser import Browser, chromium_path
from .jobs_data import run_jobs
from .ledger_data import seed_ledger

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CHART_SIZES = """
Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const bars = Array.from(svg.querySelectorAll('rect.bar'));
  return {
    width: box.width, height: box.height, bars: bars.length,
    drawn: bars.filter(b => { const r = b.getBBox(); return r.width > 0 && r.height > 0; }).length,
  };
})
"""


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium_path()  # skips with the reason when chromium is missing
    with Browser() as instance:
        yield instance


@pytest.fixture
def ledger(sqlite_url: str, tmp_path: Path) -> str:
    seed_ledger(sqlite_url).dispose()
    run_jobs(sqlite_url, tmp_path)  # ranking, unit economics and alerts on the page too
    return sqlite_url


def _check_page(browser: Browser, screenshot: str) -> None:
    assert browser.problems() == []
    charts = browser.evaluate(CHART_SIZES)
    assert len(charts) == 3
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["bars"] > 0 and chart["drawn"] == chart["bars"], chart
    acme = browser.evaluate(
        "document.querySelector('#customers tr[data-customer=\"cust_12345\"]').innerText"
    )
    assert "cust_12345" in acme and "Acme Corp" in acme and "$2,760.00" in acme
    total = browser.evaluate("document.querySelector('#total-cost .value').innerText")
    assert total == "$7,308.65"
    assert "gpt-9-preview" in browser.evaluate("document.querySelector('#unpriced').innerText")
    ranked = browser.evaluate("document.querySelectorAll('#ranking tbody tr').length")
    assert ranked == 4
    flag = browser.evaluate(
        "getComputedStyle(document.querySelector('#ranking .flag.red')).backgroundColor"
    )
    assert flag == "rgb(253, 226, 225)"  # unprofitable is shown in red
    shot = browser.screenshot(ARTIFACTS / screenshot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_report_file_renders_offline(browser: Browser, ledger: str, tmp_path: Path) -> None:
    page = write_report(ledger, out=tmp_path / "report.html", period="2025-05")
    browser.open(page.as_uri())
    _check_page(browser, "report.png")


def test_dashboard_renders(browser: Browser, ledger: str) -> None:
    server = Dashboard(ledger, period="2025-05", port=0)
    server.start()
    try:
        browser.open(server.url)
        _check_page(browser, "dashboard.png")
        assert browser.evaluate("document.title") == "AI cost report — 2025-05"
    finally:
        server.stop()


LAYOUT = """
(() => {
  const page = document.documentElement;
  const width = e => e.getBoundingClientRect().width;
  const content = s => s.clientWidth - parseFloat(getComputedStyle(s).paddingLeft)
                                     - parseFloat(getComputedStyle(s).paddingRight);
  return {
    window: page.clientWidth, scroll: page.scrollWidth,
    sections: Array.from(document.querySelectorAll('main section')).map(s => ({
      id: s.id, width: width(s), content: content(s),
      charts: Array.from(s.querySelectorAll('svg.chart')).map(width),
      tables: Array.from(s.querySelectorAll('.table-wrap')).map(width),
    })),
  };
})()
"""


@pytest.mark.parametrize("width", [1400, 800])
def test_the_page_uses_the_width_of_the_window(
    browser: Browser, ledger: str, tmp_path: Path, width: int
) -> None:
    """Sections fill the window (at 1400 px they used to stop at 1200), charts and tables fill
    their section, and nothing makes the page scroll sideways (a wide table scrolls inside)."""
    page = write_report(ledger, out=tmp_path / "report.html", period="2025-05")
    browser.set_width(width)
    browser.open(page.as_uri())
    layout = browser.evaluate(LAYOUT)
    assert layout["scroll"] <= layout["window"], layout
    assert len(layout["sections"]) == 8  # with the AI Cost Iceberg
    for section in layout["sections"]:
        assert section["width"] >= 0.9 * layout["window"], (width, section)
        for measured in section["charts"] + section["tables"]:
            assert measured >= section["content"] - 1, (width, section)
    shot = browser.screenshot(ARTIFACTS / f"report-{width}.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_budgets_table_fits_the_window(browser: Browser, ledger: str, tmp_path: Path) -> None:
    """With budgets evaluated (issue 16), the page has a ninth section whose wide table scrolls
    inside it at 800 px, never the page."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from opentelemetry.exporter.costledger.jobs.alerts import AlertConfig, run_alerts
    from opentelemetry.exporter.costledger.jobs.budgets import Budget

    budgets = (
        Budget("customer", "*", Decimal(2000), "month", hard_limit=Decimal(2500)),
        Budget("customer", "cust_12345", Decimal(1000), "week"),
    )
    config = AlertConfig(budget_entries=budgets, as_of=datetime(2025, 5, 20, tzinfo=UTC))
    run_alerts(ledger, config=config)
    page = write_report(ledger, out=tmp_path / "report.html", period="2025-05")
    browser.set_width(800)
    browser.open(page.as_uri())
    assert browser.problems() == []
    layout = browser.evaluate(LAYOUT)
    assert layout["scroll"] <= layout["window"], layout
    assert [s["id"] for s in layout["sections"]].count("budgets") == 1
    assert len(layout["sections"]) == 9
    rows = browser.evaluate("document.querySelectorAll('#budgets tbody tr').length")
    assert rows >= 2
    shot = browser.screenshot(ARTIFACTS / "report-budgets.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
