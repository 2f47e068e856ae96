"""``costledger report`` and ``costledger dashboard``: the daily dashboard of the seed article.

Python API::

    from opentelemetry.exporter.costledger.report import build_report, write_report
    html = build_report("2025-05")                      # the page as a string
    write_report("report.html", "2025-05", database="postgresql+psycopg://...")

The page (:mod:`.page`) is one self-contained HTML file — inline CSS and SVG charts
(:mod:`.charts`), no scripts, no external URL — with: total AI cost per day; cost per customer
over time (top N customers, the rest as "other customers"); cost per work item per customer;
cost by category (API, embeddings, vector storage, observability, human review, third-party);
the profitability ranking with flags and suggested actions; alerts; unpriced models. The
figures come from :func:`.data.collect_report`: ledger sums bucketed exactly like
``costledger aggregate`` and the jobs' own result tables (``profitability``,
``unit_economics``, ``alerts``), so the page and the jobs never disagree.

The dashboard (:mod:`.server`) serves the same page on 127.0.0.1, rebuilt from the database
on every request, with an automatic browser refresh.

May import: the shared modules, :mod:`..ledger`, :mod:`..ingest`, :mod:`..prices`,
:mod:`..imports` and :mod:`..jobs`. Never export, cli or demo.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from .. import periods
from ..errors import DatabaseError, InputError
from ..ledger.db import create_engine
from ..ledger.schema import ledger_entries
from .data import ReportData, collect_report
from .page import render_page

DEFAULT_TOP_N = 8


def open_ledger(database: str | sa.Engine | None) -> tuple[sa.Engine, bool]:
    """``(engine, owned)`` for a URL/engine/None; fails clearly when there is no ledger."""
    engine = database if isinstance(database, sa.Engine) else create_engine(database)
    try:
        with engine.connect() as conn:
            found = sa.inspect(conn).has_table(ledger_entries.name)
    except sa.exc.OperationalError as exc:
        raise DatabaseError(
            f"cannot open the ledger at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}. Check --db / COSTLEDGER_DATABASE_URL and that the server is up."
        ) from exc
    if not found:
        raise DatabaseError(
            f"{engine.url.render_as_string(hide_password=True)} holds no cost ledger yet: send "
            "it spans (costledger serve, or the in-process exporter) or run costledger demo."
        )
    return engine, not isinstance(database, sa.Engine)


def report_data(
    period: str | periods.Period,
    *,
    database: str | sa.Engine | None = None,
    time_zone: str | None = None,
    top_n: int = DEFAULT_TOP_N,
) -> ReportData:
    """The figures of the report for ``period`` (see :mod:`.data`)."""
    chosen = (
        period if isinstance(period, periods.Period) else periods.parse_period(period, time_zone)
    )
    engine, owned = open_ledger(database)
    try:
        return collect_report(engine, chosen, top_n=top_n)
    finally:
        if owned:
            engine.dispose()


def build_report(
    period: str | periods.Period,
    *,
    database: str | sa.Engine | None = None,
    time_zone: str | None = None,
    top_n: int = DEFAULT_TOP_N,
    refresh_seconds: int | None = None,
) -> str:
    """The report page for ``period`` as an HTML string."""
    data = report_data(period, database=database, time_zone=time_zone, top_n=top_n)
    return render_page(data, refresh_seconds=refresh_seconds)


def write_report(
    out: str | Path,
    period: str | periods.Period,
    *,
    database: str | sa.Engine | None = None,
    time_zone: str | None = None,
    top_n: int = DEFAULT_TOP_N,
) -> Path:
    """Write the report page to ``out`` (replaced atomically); return the path."""
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: there is no directory {target.parent}")
    html = build_report(period, database=database, time_zone=time_zone, top_n=top_n)
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text(html, encoding="utf-8")
    temp.replace(target)
    return target


__all__ = [
    "ReportData",
    "build_report",
    "collect_report",
    "render_page",
    "report_data",
    "write_report",
]
