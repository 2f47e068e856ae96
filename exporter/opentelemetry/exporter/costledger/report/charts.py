"""Inline SVG charts, generated here: no JavaScript, no CDN, nothing fetched when the page opens.

Three kinds cover the report: :func:`bar_chart` (one value per day), :func:`stacked_bar_chart`
(several series per day, e.g. cost per customer with the smaller ones summed as "other") and
:func:`hbar_chart` (labelled totals, e.g. cost by category). Values come in as integer
nano-dollars; floats are used only for pixel geometry, and every bar carries a ``<title>``
tooltip with the exact amount as the ledger has it. Axes get "nice" round ticks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD, format_usd, nanos_to_text

from ..currency import USD, currency_symbol, format_money

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
)
OTHER_COLOR = "#bab0ac"

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def color_for(index: int, name: str, other: str | None = None) -> str:
    return OTHER_COLOR if other is not None and name == other else PALETTE[index % len(PALETTE)]


def nice_ticks(maximum_nanos: int, count: int = 5) -> list[int]:
    """Round axis ticks from 0 to at least ``maximum_nanos`` (1, 2, 2.5 or 5 × 10^k dollars)."""
    if maximum_nanos <= 0:
        return [0, NANOS_PER_USD]
    raw = maximum_nanos / NANOS_PER_USD / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step_nanos = max(1, round(step * NANOS_PER_USD))
    ticks = [0]
    while ticks[-1] < maximum_nanos:
        ticks.append(ticks[-1] + step_nanos)
    return ticks


def _axis_label(nanos: int, currency: str = USD) -> str:
    if nanos >= 1000 * NANOS_PER_USD:
        thousands = nanos / NANOS_PER_USD / 1000
        shown = f"${thousands:,.1f}k".replace(".0k", "k")
    elif nanos % NANOS_PER_USD == 0:
        shown = f"${nanos // NANOS_PER_USD:,}"
    else:
        shown = format_usd(nanos)
    return shown if currency == USD else shown.replace("$", currency_symbol(currency), 1)


def _empty(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart empty" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} '
        f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" {_FONT} fill="#666">'
        "No costs in this period</text></svg>"
    )


def stacked_bar_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    title: str,
    *,
    other: str | None = None,
    width: int = 900,
    height: int = 280,
    currency: str = USD,
) -> str:
    """Bars per label (x axis), one stacked segment per series; a legend when there are several."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    if not labels or not any(totals):
        return _empty(width, height, title)
    left, right, top, bottom = 64, 12, 12, 40
    legend_height = 0 if len(series) <= 1 else 18 * math.ceil(len(series) / 4)
    plot_w = width - left - right
    plot_h = height - top - bottom - legend_height
    ticks = nice_ticks(max(totals))
    scale = plot_h / ticks[-1]
    slot = plot_w / len(labels)
    bar_w = max(1.0, slot * 0.75)
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} '
        f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT} fill="#555">'
            f"{escape(_axis_label(tick, currency))}</text>"
        )
    every = max(1, math.ceil(len(labels) / 12))
    names = list(series)
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        base = float(top + plot_h)
        for s, name in enumerate(names):
            value = series[name][i]
            if value <= 0:
                continue
            h = value * scale
            base -= h
            tip = (
                f"{label} · {name}: {format_money(value, currency)} (exact {nanos_to_text(value)})"
            )
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" '
                f'height="{max(h, 0.5):.1f}" fill="{color_for(s, name, other)}" '
                f'data-series="{escape(name)}" data-value="{nanos_to_text(value)}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'{_FONT} fill="#555">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#999"/>'
    )
    if legend_height:
        for s, name in enumerate(names):
            lx = left + (s % 4) * (plot_w / 4)
            ly = height - legend_height + 18 * (s // 4) + 4
            parts.append(
                f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" '
                f'fill="{color_for(s, name, other)}"/>'
                f'<text x="{lx + 14:.1f}" y="{ly + 9}" {_FONT}>{escape(name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[int],
    title: str,
    *,
    name: str = "Total",
    currency: str = USD,
) -> str:
    """One bar per label."""
    return stacked_bar_chart(labels, {name: values}, title, currency=currency)


def hbar_chart(
    items: Sequence[tuple[str, int]],
    title: str,
    *,
    width: int = 900,
    row: int = 26,
    currency: str = USD,
) -> str:
    """Horizontal bars, one per ``(label, nanos)``, with the amount written at the bar's end."""
    if not items or not any(v for _, v in items):
        return _empty(width, 2 * row + 20, title)
    label_w, right = 170, 110
    height = row * len(items) + 8
    biggest = max(max(v for _, v in items), 1)
    plot_w = width - label_w - right
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} '
        f'{height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(value, 0) / biggest * plot_w
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" {_FONT}>'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(w, 0.5):.1f}" '
            f'height="{row - 8}" fill="{PALETTE[i % len(PALETTE)]}" data-series="{escape(label)}" '
            f'data-value="{nanos_to_text(value)}"><title>{escape(label)}: '
            f"{format_money(value, currency)} "
            f"(exact {nanos_to_text(value)})</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + row / 2 + 4:.1f}" {_FONT}>'
            f"{escape(format_money(value, currency))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
