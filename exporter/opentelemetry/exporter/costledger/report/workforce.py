"""The report's sections beyond the customer: the AI Workforce P&L and the AI Cost Iceberg.

:func:`agents_section` is the table of ``costledger agents`` (no targets file: the report shows
the cost structure and productivity; the targets are the command's); :func:`iceberg_section`
draws the iceberg — the visible layer above the waterline, the hidden layers below it, each a
bar as wide as its cost, with the exact amount in its tooltip — beside the layers' table.
"""

from __future__ import annotations

from html import escape

from opentelemetry.instrumentation.costledger.money import (
    UNIT_COST_PLACES,
    nanos_to_text,
    to_nanos,
)

from ..currency import format_money
from ..jobs.agents import AgentPnl
from ..jobs.iceberg import Iceberg

_WIDTH = 640
_ROW = 22
_WATER = "#4e79a7"
_ICE_ABOVE = "#e8f1fb"
_ICE_BELOW = "#9dbbd9"


def _pct(part: int, whole: int) -> str:
    return "—" if not whole else f"{part * 100 / whole:.0f}%"


def iceberg_chart(found: Iceberg) -> str:
    """An inline SVG iceberg: one centred bar per layer, as wide as its cost."""
    if not found.total_nanos:
        return '<p class="muted">No costs in this period.</p>'
    layers = [layer for layer in found.layers if layer.cost_nanos > 0]
    widest = max(layer.cost_nanos for layer in layers)
    height = (len(layers) + 2) * _ROW + 10
    parts = [
        f'<svg class="iceberg" viewBox="0 0 {_WIDTH} {height}" width="100%" role="img"'
        f' aria-label="AI cost iceberg" font-family="system-ui, sans-serif" font-size="11">'
    ]
    y = 4
    water_drawn = False
    for layer in layers:
        if not layer.visible and not water_drawn:
            water = y + 4
            parts.append(
                f'<line x1="0" x2="{_WIDTH}" y1="{water}" y2="{water}" stroke="{_WATER}"'
                ' stroke-width="2" stroke-dasharray="6 3"/>'
                f'<text x="4" y="{water - 4}" fill="{_WATER}">waterline</text>'
            )
            y += 10
            water_drawn = True
        width = max(2.0, (_WIDTH - 260) * layer.cost_nanos / widest)
        x = (_WIDTH - width) / 2
        fill = _ICE_ABOVE if layer.visible else _ICE_BELOW
        share = _pct(layer.cost_nanos, found.total_nanos)
        label = f"{layer.label}: {format_money(layer.cost_nanos, found.currency)} ({share})"
        parts.append(
            f"<g><title>{escape(layer.label)}: {nanos_to_text(layer.cost_nanos)}"
            f" {found.currency}</title>"
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{_ROW - 4}" fill="{fill}"'
            f' stroke="{_WATER}"/>'
            f'<text x="{_WIDTH / 2:.0f}" y="{y + _ROW - 9}" text-anchor="middle">'
            f"{escape(label)}</text></g>"
        )
        y += _ROW
    parts.append("</svg>")
    return "".join(parts)


def iceberg_section(found: Iceberg | None) -> str:
    """The ``iceberg`` section of the page."""
    if found is None:
        return ""
    rows = "".join(
        f"<tr><td>{escape(layer.label)}</td>"
        f'<td class="num">{format_money(layer.cost_nanos, found.currency)}</td>'
        f'<td class="num">{_pct(layer.cost_nanos, found.total_nanos)}</td>'
        f'<td class="num">{layer.entries:,}</td></tr>'
        for layer in found.layers
    )
    visible, hidden, total = (
        format_money(nanos, found.currency)
        for nanos in (found.visible_nanos, found.hidden_nanos, found.total_nanos)
    )
    summary = (
        f"Visible {visible}, hidden {hidden}"
        f" ({_pct(found.hidden_nanos, found.total_nanos)} of {total});"
        f" the SDKs retried {found.sdk_retries:,} HTTP request(s), not billed."
    )
    table = (
        '<div class="table-wrap"><table><thead><tr><th>Layer</th><th class="num">Cost</th>'
        '<th class="num">Share</th><th class="num">Entries</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
        if rows
        else ""
    )
    return (
        '<section id="iceberg"><h2>The AI Cost Iceberg</h2>'
        f'<p class="muted">{escape(summary)}</p>{iceberg_chart(found)}{table}</section>'
    )


def _per_success(pnl: AgentPnl) -> str:
    if pnl.cost_per_success is None:
        return "—"
    return format_money(to_nanos(pnl.cost_per_success), pnl.currency, places=UNIT_COST_PLACES)


def agents_section(found: list[AgentPnl]) -> str:
    """The ``agents`` section of the page (nothing when no row names an agent)."""
    if not found:
        return ""
    rows = "".join(
        f"<tr><td>{escape(a.agent)}</td>"
        f'<td class="num">{format_money(a.total_cost_nanos, a.currency)}</td>'
        f'<td class="num">{format_money(a.api_cost_nanos, a.currency)}</td>'
        f'<td class="num">{format_money(a.tools_cost_nanos, a.currency)}</td>'
        f'<td class="num">{format_money(a.human_review_cost_nanos, a.currency)}</td>'
        f'<td class="num">{format_money(a.allocated_cost_nanos, a.currency)}</td>'
        f'<td class="num">{a.work_items:,}</td>'
        f'<td class="num">{a.successful_outcomes:,}</td>'
        f'<td class="num">{"—" if a.success_rate is None else f"{a.success_rate * 100:.0f}%"}</td>'
        f'<td class="num">{_per_success(a)}'
        f"</td><td>{escape(a.api_by_model)}</td></tr>"
        for a in found
    )
    headers = (
        '<th>Agent</th><th class="num">Total</th><th class="num">API</th>'
        '<th class="num">Tools &amp; 3rd party</th><th class="num">Human review</th>'
        '<th class="num">Allocated</th><th class="num">Work items</th>'
        '<th class="num">Successes</th><th class="num">Success rate</th>'
        '<th class="num">Per success</th><th>API by model</th>'
    )
    return (
        '<section id="agents"><h2>AI Workforce P&amp;L</h2>'
        '<p class="muted">Each agent like an employee: what it costs, what it gets done. Targets,'
        " human baselines and the retirement trigger: <code>costledger agents --targets"
        " FILE</code>.</p>"
        f'<div class="table-wrap"><table><thead><tr>{headers}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div></section>"
    )
