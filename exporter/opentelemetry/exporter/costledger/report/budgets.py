"""The report's budgets table: where each budget stood at the last ``costledger alerts`` run.

Read from ``budget_status`` (written by the alerts job, :mod:`..jobs.budget_alerts`): every
budget period that overlaps the report's period — May's report shows the monthly budgets of May
and the weekly ones of May's weeks — with spent, the amount, the percentage, the thresholds
crossed, the forecast to the period's end and the date it passes the amount. A database the
alerts job never evaluated budgets in (or one older than the table) shows none, and the page
then has no budgets section.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from html import escape
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import decimal_text, nanos_to_text

from .. import periods
from ..columns import Column
from ..currency import USD, format_money

COLUMNS = [
    Column("budget", "Budget"),
    Column("scope", "Scope"),
    Column("scope_value", "Of"),
    Column("period", "Period"),
    Column("as_of", "As of", "date"),
    Column("spent_nanos", "Spent", "money"),
    Column("amount_nanos", "Budget", "money"),
    Column("percent", "% spent", "decimal"),
    Column("thresholds_crossed", "Thresholds crossed"),
    Column("forecast_nanos", "Forecast", "money"),
    Column("forecast_date", "Passes on", "date"),
    Column("hard_limit_nanos", "Hard limit", "money"),
]


def budgets_about(conn: sa.Connection, period: periods.Period) -> list[dict[str, Any]]:
    """The ``budget_status`` rows whose period overlaps ``period`` (by UTC instants, as the
    alerts are), ordered by budget, value and period."""
    from ..ledger import tables

    b = tables.budget_status
    if not sa.inspect(conn).has_table(b.name):
        return []
    start, end = period.utc_range()
    day = timedelta(days=1)  # the widest gap between two time zones' local dates
    found = []
    for row in conn.execute(
        sa.select(b)
        .where(b.c.period_start < period.end + day, b.c.period_end > period.start - day)
        .order_by(b.c.budget, b.c.scope_value, b.c.period_start)
    ).mappings():
        about = periods.Period(
            str(row["period"]),
            periods.as_date(row["period_start"]),
            periods.as_date(row["period_end"]),
            str(row["time_zone"]),
        )
        lo, hi = about.utc_range()
        if lo < end and hi > start:
            record = {c.key: row[c.key] for c in COLUMNS}
            record["as_of"] = periods.as_utc(row["as_of"])
            # Not shown: the budget period's days, over which another currency spreads its
            # amounts (``report/converted.py``).
            record["period_start"], record["period_end"] = about.start, about.end
            found.append(record)
    return found


def _money(nanos: int | None, currency: str) -> str:
    if nanos is None:
        return '<td class="num">—</td>'
    return (
        f'<td class="num" data-nanos="{nanos}" title="{nanos_to_text(nanos)}">'
        f"{escape(format_money(nanos, currency))}</td>"
    )


def _text(value: Any, *, nowrap: bool = False) -> str:
    css = ' class="nowrap"' if nowrap else ""
    return f"<td{css}>{escape('—' if value in (None, '') else str(value))}</td>"


def budgets_section(rows: list[dict[str, Any]], currency: str = USD) -> str:
    """The budgets table as an HTML section (red: the budget is spent; amber: a threshold), its
    amounts in ``currency`` (nano-units of it); nothing at all when no budget was evaluated for
    the period (a ledger without budgets gets no empty panel)."""
    if not rows:
        return ""
    headers = [c.header for c in COLUMNS if c.key != "budget"]
    money = partial(_money, currency=currency)
    body = []
    for r in rows:
        percent = r["percent"]
        flag = "red" if percent is not None and percent >= 100 else ""
        crossed = r["thresholds_crossed"]
        marks = "".join(
            f'<span class="flag {flag}">{escape(t)}%</span>' for t in crossed.split(",") if t
        )
        when = r["as_of"].strftime("%Y-%m-%d %H:%M")
        body.append(
            f'<tr data-budget="{escape(r["budget"])}">'
            f"{_text(r['scope'])}{_text(r['scope_value'])}{_text(r['period'], nowrap=True)}"
            f"{_text(when, nowrap=True)}"
            f"{money(r['spent_nanos'])}{money(r['amount_nanos'])}"
            f'<td class="num">{escape(decimal_text(percent) + "%" if percent is not None else "—")}'
            f"</td><td>{marks or '—'}</td>{money(r['forecast_nanos'])}"
            f"{_text(r['forecast_date'], nowrap=True)}{money(r['hard_limit_nanos'])}</tr>"
        )
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if h in ("Spent", "Budget", "% spent", "Forecast",
        "Hard limit") else f"<th>{escape(h)}</th>"
        for h in headers
    )  # fmt: skip
    return (
        '<section id="budgets"><h2>Budgets</h2><div class="table-wrap"><table><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        '<p class="note">As of the last <code>costledger alerts</code> run; the forecast runs'
        " the period's rate so far (without allocated shared costs) to its end.</p></section>"
    )
