"""``costledger report`` and ``costledger dashboard``: the daily dashboard of the seed article.

Python API::

    from opentelemetry.exporter.costledger.report import build_report, write_report
    html = build_report(period="2025-05")               # the page as a string
    write_report("postgresql+psycopg://...", out="report.html", period="2025-05")

The page (:mod:`.page`) is one self-contained HTML file — inline CSS and SVG charts
(:mod:`.charts`), no scripts, no external URL — with: total AI cost per day; cost per customer
over time (top N customers, the rest as "other customers"); cost per work item per customer;
cost by category (API, embeddings, vector storage, observability, human review, third-party);
the profitability ranking with flags and suggested actions; budgets (:mod:`.budgets`); alerts;
unpriced models. The work items, ranking, alerts and unpriced sections are in :mod:`.sections`,
the AI Workforce P&L and Cost Iceberg in :mod:`.workforce`; the cells, tables and cards they are
built of in :mod:`.markup`. The figures come from :func:`.data.collect_report`: ledger sums
bucketed exactly like ``costledger aggregate`` and the jobs' own result tables
(``profitability``, ``unit_economics``, ``alerts``, ``budget_status``), so the page and the jobs
never disagree.

The dashboard (:mod:`.server`) serves the same page on 127.0.0.1, rebuilt from the database
on every request, with an automatic browser refresh.

May import: the shared modules, :mod:`..ledger`, :mod:`..ingest`, :mod:`..prices`,
:mod:`..imports` and :mod:`..jobs`. Never export, cli or demo.
"""

from __future__ import annotations

from pathlib import Path

from .. import periods
from ..currency import Rates
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from .converted import convert_report
from .data import ReportData, collect_report
from .page import render_page

DEFAULT_TOP_N = 8


def report_data(
    database: Database = None,
    *,
    period: str | periods.Period,
    time_zone: str | None = None,
    top_n: int = DEFAULT_TOP_N,
    rates: Rates | None = None,
) -> ReportData:
    """The figures of the report for ``period`` (see :mod:`.data`), in the currency of
    ``rates`` when given (:mod:`.converted`; default USD)."""
    chosen = (
        period if isinstance(period, periods.Period) else periods.parse_period(period, time_zone)
    )
    with open_ledger(database, create=False, migrate=False) as engine:
        data = collect_report(engine, chosen, top_n=top_n)
        return data if rates is None else convert_report(engine, data, rates)


def convert_report_data(database: Database, data: ReportData, rates: Rates) -> ReportData | None:
    """``data`` in the currency of ``rates`` (:mod:`.converted`); None for USD itself."""
    if rates.is_identity:
        return None
    with open_ledger(database, create=False, migrate=False) as engine:
        return convert_report(engine, data, rates)


def build_report(
    database: Database = None,
    *,
    period: str | periods.Period,
    time_zone: str | None = None,
    top_n: int = DEFAULT_TOP_N,
    refresh_seconds: int | None = None,
    rates: Rates | None = None,
) -> str:
    """The report page for ``period`` as an HTML string."""
    data = report_data(database, period=period, time_zone=time_zone, top_n=top_n, rates=rates)
    return render_page(data, refresh_seconds=refresh_seconds)


def write_report(
    database: Database = None,
    *,
    out: str | Path,
    period: str | periods.Period,
    time_zone: str | None = None,
    top_n: int = DEFAULT_TOP_N,
    rates: Rates | None = None,
) -> Path:
    """Write the report page to ``out`` (replaced atomically); return the path."""
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: there is no directory {target.parent}")
    html = build_report(database, period=period, time_zone=time_zone, top_n=top_n, rates=rates)
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text(html, encoding="utf-8")
    temp.replace(target)
    return target


__all__ = [
    "ReportData",
    "build_report",
    "collect_report",
    "convert_report_data",
    "render_page",
    "report_data",
    "write_report",
]
