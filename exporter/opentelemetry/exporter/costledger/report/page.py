"""The report as ONE self-contained HTML page: inline CSS, inline SVG charts, no scripts.

Nothing on the page refers to another file or host, so it opens offline, from an e-mail
attachment or a CI artifact alike. Each figure keeps its exact value in a ``title`` tooltip
and in ``data-nanos`` attributes (integer nano-dollars), so a test, or a curious reader, can
check every number against the ledger. ``refresh_seconds`` adds a ``<meta http-equiv=refresh>``
for the live dashboard.

The page is assembled here (:func:`render_page`): the style sheet, the summary cards, the daily,
customer and category charts with their tables, then the sections of :mod:`.sections`,
:mod:`.workforce` and :mod:`.budgets`; cells and tables are :mod:`.markup`'s.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from opentelemetry.instrumentation.costledger.money import ratio

from ..currency import USD, format_money
from .amortize import amortized_note
from .budgets import budgets_section
from .charts import hbar_chart, stacked_bar_chart
from .data import OTHER, ReportData, category_label
from .markup import RED_FLAGS, card, money_for, num_td, pct_td, table, text_td
from .sections import alerts_section, ranking_section, unpriced_section, work_items_section
from .workforce import agents_section, iceberg_section

__all__ = ["RED_FLAGS", "render_page"]

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2330;
       background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c5cad3; font-size: 13px; }
main { padding: 16px 32px 40px; }
section { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px; padding: 16px 20px;
          margin: 16px 0; }
h2 { font-size: 17px; margin: 0 0 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px; padding: 12px 16px;
        min-width: 150px; }
.card .label { color: #5b6370; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 8px; }
th, td { padding: 6px 8px; border-bottom: 1px solid #eef0f3; text-align: left;
         vertical-align: top; }
th { color: #5b6370; font-weight: 600; background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.neg { color: #c62828; }
td.nowrap { white-space: nowrap; }
.flag { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 12px;
        margin-right: 4px; background: #fff4d6; color: #7a5a00; }
.flag.red { background: #fde2e1; color: #a61b1b; }
.muted { color: #6b7380; font-size: 13px; }
.note { background: #f1f5ff; border-left: 3px solid #4e79a7; padding: 8px 12px; font-size: 13px; }
svg.chart { display: block; width: 100%; height: auto; }
.table-wrap { overflow-x: auto; }
@media (max-width: 900px) {
  header { padding: 14px 12px; }
  main { padding: 8px 12px 32px; }
  section { padding: 12px; }
}
details summary { cursor: pointer; color: #4e79a7; font-size: 13px; margin-top: 8px; }
"""


def _allocations_note(data: ReportData) -> str:
    """How the daily chart shows allocated bills: amortized over their billing period's days
    (:mod:`.amortize`), or, for allocation rows of no known run, on the day they are booked."""
    notes = []
    if data.amortized:
        info = amortized_note(data.amortized, data.days)
        ranges = "; ".join(
            a.isoformat() if a == b else f"{a.isoformat()} to {b.isoformat()}"
            for a, b in info["ranges"]
        )
        text = (
            f"Amortized: {format_money(info['total_nanos'], data.currency)} of shared bills and"
            " direct costs split"
            " over customers by <code>costledger allocate</code> is spread evenly over the days"
            f" of its billing period ({ranges}); the ledger books each share as one row in the"
            " middle of its period."
        )
        if sum(data.daily_nanos) != data.total_nanos:
            text += (
                " The days shown add up to"
                f" {format_money(sum(data.daily_nanos), data.currency)}; the total"
                f" {format_money(data.total_nanos, data.currency)} counts each bill whole in the"
                " period its middle falls in."
            )
        notes.append(f'<p class="note" id="amortized-note">{text}</p>')
    if data.allocated_by_day:
        days = ", ".join(
            f"{format_money(nanos, data.currency)} on {day.isoformat()}"
            for day, nanos in data.allocated_by_day.items()
        )
        notes.append(
            '<p class="note" id="allocations-note">Includes shared bills split over customers by'
            " <code>costledger allocate</code>, each booked on one day of its billing period:"
            f" {days}.</p>"
        )
    return "".join(notes)


def _customer_label(customer_id: str, name: str | None) -> str:
    return f"{customer_id} ({name})" if name else customer_id


def render_page(data: ReportData, *, refresh_seconds: int | None = None, title: str = "") -> str:
    """The whole page as a string (UTF-8 HTML5)."""
    period = data.period
    money = money_for(data.currency)
    heading = title or f"AI cost report — {period.label}"
    if data.currency != USD:
        heading += f" in {data.currency}"
    day_labels = [d.strftime("%m-%d") for d in data.days]
    names = {c.customer_id: c.customer_name for c in data.customers}
    series = {
        (name if name == OTHER else _customer_label(name, names.get(name))): values
        for name, values in data.customer_series.items()
    }
    total = data.total_nanos
    sections = []

    sections.append(
        '<div class="cards">'
        + card("Total AI cost", format_money(total, data.currency), "total-cost", total)
        + card("LLM calls", f"{data.total_calls:,}", "total-calls")
        + card("Customers", f"{len(data.customers):,}", "customer-count")
        + card("Unpriced calls", f"{data.unpriced_calls:,}", "unpriced-count")
        + card("Alerts", f"{len(data.alerts):,}", "alert-count")
        + "</div>"
    )

    day_rows = (
        f"<tr><td>{d.isoformat()}</td>{money(n)}{num_td(c)}</tr>"
        for d, n, c in zip(data.days, data.daily_nanos, data.daily_calls, strict=True)
        if n or c
    )
    sections.append(
        '<section id="daily"><h2>Total AI cost per day</h2>'
        + stacked_bar_chart(
            day_labels,
            {"Total": data.daily_nanos},
            "Total AI cost per day",
            currency=data.currency,
        )
        + _allocations_note(data)
        + "<details><summary>Figures per day</summary>"
        + table([("Day", False), ("Cost", True), ("LLM calls", True)], day_rows, "No costs.")
        + "</details></section>"
    )

    customer_rows = (
        f'<tr data-customer="{escape(c.customer_id)}"><td>{escape(c.customer_id)}</td>'
        f"{text_td(c.customer_name)}{money(c.cost_nanos)}{money(c.api_cost_nanos)}"
        f"{num_td(c.calls)}{pct_td(ratio(c.cost_nanos, total))}</tr>"
        for c in data.customers
    )
    sections.append(
        '<section id="customers"><h2>Cost per customer over time</h2>'
        + stacked_bar_chart(
            day_labels, series, "Cost per customer per day", other=OTHER, currency=data.currency
        )
        + table(
            [
                ("Customer", False),
                ("Name", False),
                ("AI cost (fully loaded)", True),
                ("API + embeddings", True),
                ("LLM calls", True),
                ("Share", True),
            ],
            customer_rows,
            "No customer costs in this period.",
        )
        + "</section>"
    )

    sections.append(work_items_section(data))

    category_items = [(category_label(c), n) for c, n, _ in data.categories]
    category_rows = (
        f"<tr><td>{escape(category_label(c))}</td><td>{escape(c)}</td>{money(n)}"
        f"{num_td(e)}{pct_td(ratio(n, total))}</tr>"
        for c, n, e in data.categories
    )
    sections.append(
        '<section id="categories"><h2>Cost by category</h2>'
        + hbar_chart(category_items, "Cost by category", currency=data.currency)
        + table(
            [
                ("Category", False),
                ("Ledger category", False),
                ("Cost", True),
                ("Entries", True),
                ("Share", True),
            ],
            category_rows,
            "No costs in this period.",
        )
        + "</section>"
    )

    sections.append(ranking_section(data))
    sections.append(agents_section(data.agents))
    sections.append(iceberg_section(data.iceberg))
    sections.append(budgets_section(data.budgets, data.currency))
    sections.append(alerts_section(data))
    sections.append(unpriced_section(data))
    if data.missing_jobs:
        sections.append(
            '<section id="missing"><h2>Not computed yet</h2><ul class="muted">'
            + "".join(f"<li>{escape(m)}</li>" for m in data.missing_jobs)
            + "</ul></section>"
        )

    refresh = (
        f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">' if refresh_seconds else ""
    )
    last_day = period.end - timedelta(days=1)
    span = (
        period.start.isoformat()
        if last_day == period.start
        else f"{period.start.isoformat()} – {last_day.isoformat()}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # An empty inline icon: browsers otherwise fetch /favicon.ico, which an offline file
        # (or the dashboard) does not have.
        '<link rel="icon" href="data:,">'
        f"{refresh}<title>{escape(heading)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(heading)}</h1><p>{escape(span)} · time zone "
        f"{escape(period.time_zone)} · generated "
        f"{escape(data.generated_at.strftime('%Y-%m-%d %H:%M:%S UTC'))}</p></header>"
        f"<main>{''.join(sections)}</main></body></html>"
    )
