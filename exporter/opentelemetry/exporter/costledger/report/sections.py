"""The report page's sections below the charts, each a ``<section>`` made from
:class:`~.data.ReportData`: cost per work item per customer (:func:`work_items_section`), the
profitability ranking (:func:`ranking_section`), the open alerts (:func:`alerts_section`) and the
unpriced models (:func:`unpriced_section`). :mod:`.page` puts them on the page, with the
sections of :mod:`.budgets` and :mod:`.workforce`.
"""

from __future__ import annotations

from html import escape

from opentelemetry.instrumentation.costledger.money import UNIT_COST_PLACES, per_unit_nanos

from .data import ReportData
from .markup import flags, money_for, num_td, pct_td, table, text_td


def work_items_section(data: ReportData) -> str:
    money = money_for(data.currency)
    if data.unit_economics:
        rows = (
            f'<tr data-customer="{escape(u["customer_id"])}"><td>{escape(u["customer_id"])}</td>'
            f"{money(u['ai_cost_nanos'])}{num_td(u['work_items'])}"
            f"{text_td(u.get('work_items_source'))}"
            f"{money(per_unit_nanos(u['ai_cost_nanos'], u['work_items']), UNIT_COST_PLACES)}"
            "</tr>"
            for u in data.unit_economics
        )
        source = "from costledger normalize (unit_economics)"
    else:
        rows = (
            f'<tr data-customer="{escape(c.customer_id)}"><td>{escape(c.customer_id)}</td>'
            f"{money(c.cost_nanos)}{num_td(c.work_items)}<td>distinct work_item_id</td>"
            f"{money(c.cost_per_work_item_nanos, UNIT_COST_PLACES)}</tr>"
            for c in data.customers
            if c.work_items
        )
        source = "distinct work items in the ledger (run costledger normalize for imported counts)"
    item_rows = (
        f"<tr><td>{escape(i['customer_id'])}</td><td>{escape(i['work_item_id'])}</td>"
        f"{money(i['cost_nanos'])}{num_td(i['entries'])}</tr>"
        for i in data.top_work_items
    )
    return (
        '<section id="work-items"><h2>Cost per work item per customer</h2>'
        f'<p class="muted">Work items: {escape(source)}.</p>'
        + table(
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
        + table(
            [("Customer", False), ("Work item", False), ("Cost", True), ("Entries", True)],
            item_rows,
            "No work items recorded in this period.",
        )
        + "</section>"
    )


def ranking_section(data: ReportData) -> str:
    money = money_for(data.currency)
    rows = (
        f'<tr data-customer="{escape(r["customer_id"])}"><td class="num">{r["rank"]}</td>'
        f"<td>{escape(r['customer_id'])}</td>{text_td(r.get('plan'))}"
        f"{money(r.get('revenue_nanos'))}{money(r['ai_cost_nanos'])}"
        f"{money(r.get('margin_nanos'))}{money(r.get('profitability_nanos'))}"
        f"{pct_td(r.get('profitability_pct'))}{pct_td(r.get('ai_share_of_revenue'))}"
        f"<td>{flags(r.get('flags'))}</td>{text_td(r.get('action'))}"
        f"{text_td(r.get('reason'))}</tr>"
        for r in data.ranking
    )
    return (
        '<section id="ranking"><h2>Profitability ranking</h2>'
        + table(
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


def alerts_section(data: ReportData) -> str:
    money = money_for(data.currency)
    rows = (
        f'<tr><td><span class="flag red">{escape(a["kind"])}</span></td>'
        f"{text_td(a.get('customer_id') or a.get('scope_value') or a.get('model'))}"
        f"{text_td(a.get('period'), nowrap=True)}"
        f"{money(a.get('amount_nanos'))}{money(a.get('reference_nanos'))}"
        f"{pct_td(a.get('change'))}{text_td(a['message'])}</tr>"
        for a in data.alerts
    )
    return (
        '<section id="alerts"><h2>Open alerts</h2>'
        + table(
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


def unpriced_section(data: ReportData) -> str:
    rows = (
        f"<tr>{text_td(u['provider'])}{text_td(u['model'])}{num_td(u['calls'])}"
        f"{text_td(u['first_seen'].strftime('%Y-%m-%d %H:%M') if u['first_seen'] else None)}"
        f"{text_td(u['last_seen'].strftime('%Y-%m-%d %H:%M') if u['last_seen'] else None)}"
        f"{text_td(u['reason'])}</tr>"
        for u in data.unpriced
    )
    return (
        '<section id="unpriced"><h2>Unpriced models</h2>'
        + table(
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
