"""The report as ONE self-contained HTML page: inline CSS, inline SVG charts, no scripts.

Nothing on the page refers to another file or host, so it opens offline, from an e-mail
attachment or a CI artifact alike. Each figure keeps its exact value in a ``title`` tooltip
and in ``data-nanos`` attributes (integer nano-dollars), so a test, or a curious reader, can
check every number against the ledger. ``refresh_seconds`` adds a ``<meta http-equiv=refresh>``
for the live dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from functools import partial
from html import escape
from typing import Any

from opentelemetry.instrumentation.costledger.money import (
    MONEY_PLACES,
    UNIT_COST_PLACES,
    format_pct,
    nanos_to_text,
    per_unit_nanos,
    ratio,
)

from ..currency import USD, format_money
from .amortize import amortized_note
from .budgets import budgets_section
from .charts import hbar_chart, stacked_bar_chart
from .data import OTHER, ReportData, category_label
from .workforce import agents_section, iceberg_section

RED_FLAGS = frozenset({"unprofitable", "over_budget", "spike", "unpriced"})

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


def _money_td(nanos: int | None, places: int = MONEY_PLACES, currency: str = USD) -> str:
    if nanos is None:
        return '<td class="num">—</td>'
    neg = " neg" if nanos < 0 else ""
    return (
        f'<td class="num{neg}" data-nanos="{nanos}" title="{nanos_to_text(nanos)}">'
        f"{escape(format_money(nanos, currency, places=places))}</td>"
    )


def _money_for(currency: str) -> Callable[..., str]:
    """:func:`_money_td` in the report's currency."""
    return partial(_money_td, currency=currency)


def _num_td(value: int | None) -> str:
    return '<td class="num">—</td>' if value is None else f'<td class="num">{value:,}</td>'


def _pct_td(value: Decimal | None) -> str:
    return f'<td class="num">{escape(format_pct(value))}</td>'


def _text_td(value: Any, *, nowrap: bool = False) -> str:
    css = ' class="nowrap"' if nowrap else ""
    return f"<td{css}>{escape('—' if value in (None, '') else str(value))}</td>"


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


def _table(headers: Sequence[tuple[str, bool]], rows: Iterable[str], empty: str) -> str:
    body = "".join(rows)
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if n else f"<th>{escape(h)}</th>" for h, n in headers
    )
    # A table wider than a narrow window scrolls inside its section, never the page.
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _flags(value: str | None) -> str:
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    return "".join(
        f'<span class="flag{" red" if n in RED_FLAGS else ""}">{escape(n)}</span>' for n in names
    )


def _card(label: str, value: str, ident: str, nanos: int | None = None) -> str:
    extra = f' data-nanos="{nanos}" title="{nanos_to_text(nanos)}"' if nanos is not None else ""
    return (
        f'<div class="card" id="{ident}"><div class="label">{escape(label)}</div>'
        f'<div class="value"{extra}>{escape(value)}</div></div>'
    )


def _customer_label(customer_id: str, name: str | None) -> str:
    return f"{customer_id} ({name})" if name else customer_id


def render_page(data: ReportData, *, refresh_seconds: int | None = None, title: str = "") -> str:
    """The whole page as a string (UTF-8 HTML5)."""
    period = data.period
    money = _money_for(data.currency)
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
        + _card("Total AI cost", format_money(total, data.currency), "total-cost", total)
        + _card("LLM calls", f"{data.total_calls:,}", "total-calls")
        + _card("Customers", f"{len(data.customers):,}", "customer-count")
        + _card("Unpriced calls", f"{data.unpriced_calls:,}", "unpriced-count")
        + _card("Alerts", f"{len(data.alerts):,}", "alert-count")
        + "</div>"
    )

    day_rows = (
        f"<tr><td>{d.isoformat()}</td>{money(n)}{_num_td(c)}</tr>"
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
        + _table([("Day", False), ("Cost", True), ("LLM calls", True)], day_rows, "No costs.")
        + "</details></section>"
    )

    customer_rows = (
        f'<tr data-customer="{escape(c.customer_id)}"><td>{escape(c.customer_id)}</td>'
        f"{_text_td(c.customer_name)}{money(c.cost_nanos)}{money(c.api_cost_nanos)}"
        f"{_num_td(c.calls)}{_pct_td(ratio(c.cost_nanos, total))}</tr>"
        for c in data.customers
    )
    sections.append(
        '<section id="customers"><h2>Cost per customer over time</h2>'
        + stacked_bar_chart(
            day_labels, series, "Cost per customer per day", other=OTHER, currency=data.currency
        )
        + _table(
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

    sections.append(_work_items_section(data))

    category_items = [(category_label(c), n) for c, n, _ in data.categories]
    category_rows = (
        f"<tr><td>{escape(category_label(c))}</td><td>{escape(c)}</td>{money(n)}"
        f"{_num_td(e)}{_pct_td(ratio(n, total))}</tr>"
        for c, n, e in data.categories
    )
    sections.append(
        '<section id="categories"><h2>Cost by category</h2>'
        + hbar_chart(category_items, "Cost by category", currency=data.currency)
        + _table(
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

    sections.append(_ranking_section(data))
    sections.append(agents_section(data.agents))
    sections.append(iceberg_section(data.iceberg))
    sections.append(budgets_section(data.budgets, data.currency))
    sections.append(_alerts_section(data))
    sections.append(_unpriced_section(data))
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


def _work_items_section(data: ReportData) -> str:
    money = _money_for(data.currency)
    if data.unit_economics:
        rows = (
            f'<tr data-customer="{escape(u["customer_id"])}"><td>{escape(u["customer_id"])}</td>'
            f"{money(u['ai_cost_nanos'])}{_num_td(u['work_items'])}"
            f"{_text_td(u.get('work_items_source'))}"
            f"{money(per_unit_nanos(u['ai_cost_nanos'], u['work_items']), UNIT_COST_PLACES)}"
            "</tr>"
            for u in data.unit_economics
        )
        source = "from costledger normalize (unit_economics)"
    else:
        rows = (
            f'<tr data-customer="{escape(c.customer_id)}"><td>{escape(c.customer_id)}</td>'
            f"{money(c.cost_nanos)}{_num_td(c.work_items)}<td>distinct work_item_id</td>"
            f"{money(c.cost_per_work_item_nanos, UNIT_COST_PLACES)}</tr>"
            for c in data.customers
            if c.work_items
        )
        source = "distinct work items in the ledger (run costledger normalize for imported counts)"
    item_rows = (
        f"<tr><td>{escape(i['customer_id'])}</td><td>{escape(i['work_item_id'])}</td>"
        f"{money(i['cost_nanos'])}{_num_td(i['entries'])}</tr>"
        for i in data.top_work_items
    )
    return (
        '<section id="work-items"><h2>Cost per work item per customer</h2>'
        f'<p class="muted">Work items: {escape(source)}.</p>'
        + _table(
            [
                ("Customer", False),
                ("AI cost", True),
                ("Work items", True),
                ("Counted from", False),
                ("Cost per work item", True),
            ],
            rows,
            "No work items recorded in this period.",
        )
        + "<h2 style='margin-top:16px'>Most expensive work items</h2>"
        + _table(
            [("Customer", False), ("Work item", False), ("Cost", True), ("Entries", True)],
            item_rows,
            "No work items recorded in this period.",
        )
        + "</section>"
    )


def _ranking_section(data: ReportData) -> str:
    money = _money_for(data.currency)
    rows = (
        f'<tr data-customer="{escape(r["customer_id"])}"><td class="num">{r["rank"]}</td>'
        f"<td>{escape(r['customer_id'])}</td>{_text_td(r.get('plan'))}"
        f"{money(r.get('revenue_nanos'))}{money(r['ai_cost_nanos'])}"
        f"{money(r.get('margin_nanos'))}{money(r.get('profitability_nanos'))}"
        f"{_pct_td(r.get('profitability_pct'))}{_pct_td(r.get('ai_share_of_revenue'))}"
        f"<td>{_flags(r.get('flags'))}</td>{_text_td(r.get('action'))}"
        f"{_text_td(r.get('reason'))}</tr>"
        for r in data.ranking
    )
    return (
        '<section id="ranking"><h2>Profitability ranking</h2>'
        + _table(
            [
                ("Rank", True),
                ("Customer", False),
                ("Plan", False),
                ("Revenue", True),
                ("AI cost", True),
                ("Margin", True),
                ("Profitability", True),
                ("%", True),
                ("AI share of revenue", True),
                ("Flags", False),
                ("Suggested action", False),
                ("Why", False),
            ],
            rows,
            f"No ranking for {data.period.label}: import business data and run "
            f"costledger rank --period {data.period.label}.",
        )
        + "</section>"
    )


def _alerts_section(data: ReportData) -> str:
    money = _money_for(data.currency)
    rows = (
        f'<tr><td><span class="flag red">{escape(a["kind"])}</span></td>'
        f"{_text_td(a.get('customer_id') or a.get('scope_value') or a.get('model'))}"
        f"{_text_td(a.get('period'), nowrap=True)}"
        f"{money(a.get('amount_nanos'))}{money(a.get('reference_nanos'))}"
        f"{_pct_td(a.get('change'))}{_text_td(a['message'])}</tr>"
        for a in data.alerts
    )
    return (
        '<section id="alerts"><h2>Open alerts</h2>'
        + _table(
            [
                ("Kind", False),
                ("Customer / model", False),
                ("Period", False),
                ("Amount", True),
                ("Baseline / budget", True),
                ("Change", True),
                ("Message", False),
            ],
            rows,
            "No alerts for this period.",
        )
        + "</section>"
    )


def _unpriced_section(data: ReportData) -> str:
    rows = (
        f"<tr>{_text_td(u['provider'])}{_text_td(u['model'])}{_num_td(u['calls'])}"
        f"{_text_td(u['first_seen'].strftime('%Y-%m-%d %H:%M') if u['first_seen'] else None)}"
        f"{_text_td(u['last_seen'].strftime('%Y-%m-%d %H:%M') if u['last_seen'] else None)}"
        f"{_text_td(u['reason'])}</tr>"
        for u in data.unpriced
    )
    return (
        '<section id="unpriced"><h2>Unpriced models</h2>'
        + _table(
            [
                ("Provider", False),
                ("Model", False),
                ("Calls", True),
                ("First seen", False),
                ("Last seen", False),
                ("Reason", False),
            ],
            rows,
            "Every call in this period has a price.",
        )
        + (
            '<p class="note">Add a price for these models to your price file, then run '
            "<code>costledger reprice</code>: their rows are kept and get a cost.</p>"
            if data.unpriced
            else ""
        )
        + "</section>"
    )
