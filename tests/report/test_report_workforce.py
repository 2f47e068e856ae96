"""The report's AI Workforce P&L section and AI Cost Iceberg chart."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.exporter.costledger.report import write_report

from ..jobs.test_agents import seed as seed_agents
from ..jobs.test_iceberg import seed as seed_iceberg


def test_the_agents_section_and_the_iceberg(ledger_url: str, tmp_path: Path) -> None:
    seed_agents(ledger_url)
    page = write_report(ledger_url, out=tmp_path / "report.html", period="2025-05")
    html = page.read_text(encoding="utf-8")
    agents = html.split('<section id="agents">', 1)[1].split("</section>", 1)[0]
    assert "AI Workforce P&amp;L" in agents
    assert '<td>triage</td><td class="num">$6.50</td>' in agents
    assert "model-a $3.00; model-b $1.00" in agents
    iceberg = html.split('<section id="iceberg">', 1)[1].split("</section>", 1)[0]
    assert '<svg class="iceberg"' in iceberg and "waterline" in iceberg


def test_the_iceberg_chart_puts_the_visible_part_above_the_line(
    ledger_url: str, tmp_path: Path
) -> None:
    seed_iceberg(ledger_url)
    html = write_report(ledger_url, out=tmp_path / "r.html", period="2025-05").read_text()
    chart = html.split('<svg class="iceberg"', 1)[1].split("</svg>", 1)[0]
    assert chart.index("Visible: successful API calls") < chart.index("waterline")
    assert "10.000000000 USD" in chart  # the exact amount in the tooltip
    assert "Visible $10.00, hidden $46.00 (82% of $56.00)" in html
