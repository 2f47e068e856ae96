"""Any job by name with schedule-style options: what ``costledger jobs run NAME`` and the
scheduler call. Each runner reads its options (:mod:`.options`), calls the job's Python function
and returns a one-line summary for the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.instrumentation.costledger.money import format_usd

from ..errors import ConfigError, CostLedgerError
from ..ledger.open import Database
from .options import alert_config, alert_options, job_options
from .options import option as _opt

logger = logging.getLogger(__name__)


def _aggregate(db: Database, o: Mapping[str, Any]) -> str:
    from .. import periods
    from .aggregate import aggregate, aggregate_rows

    granularity = _opt("aggregate", o, "by")
    dimensions = _opt("aggregate", o, "dimensions") or ("customer",)
    time_zone = _opt("aggregate", o, "tz")
    result = aggregate(
        db,
        granularity=granularity,
        dimensions=dimensions,
        time_zone=time_zone,
        full=_opt("aggregate", o, "full"),
    )
    summary = f"{result.buckets} bucket(s) recomputed"
    period = _opt("aggregate", o, "period")
    if period:
        chosen = periods.parse_period(period, time_zone)
        rows = aggregate_rows(
            db, granularity=granularity, dimensions=dimensions, time_zone=time_zone, period=chosen
        )
        total = sum(r.cost_nanos for r in rows)
        summary += f"; {chosen.label}: {format_usd(total)} in {len(rows)} group(s)"
    return summary


def _allocate(db: Database, o: Mapping[str, Any]) -> str:
    from .allocate import allocate

    done = allocate(
        db,
        bills=_opt("allocate", o, "bills"),
        period=_opt("allocate", o, "period"),
        time_zone=_opt("allocate", o, "tz"),
        only=tuple(_opt("allocate", o, "bill") or ()),
        dry_run=_opt("allocate", o, "dry_run"),
    )
    dry = " (dry run, nothing written)" if _opt("allocate", o, "dry_run") else ""
    return f"{len(done)} bill(s) allocated{dry}"


def _normalize(db: Database, o: Mapping[str, Any]) -> str:
    from .normalize import category_breakdown, normalize

    period = _opt("normalize", o, "period")
    time_zone = _opt("normalize", o, "tz")
    rows = normalize(db, period=period, time_zone=time_zone)
    customer = _opt("normalize", o, "customer")
    if customer:
        *_, total = category_breakdown(db, period=period, customer_id=customer, time_zone=time_zone)
        return f"{len(rows)} customer(s); {customer}: {format_usd(total.cost_nanos)}"
    return f"{len(rows)} customer(s)"


def _rank(db: Database, o: Mapping[str, Any]) -> str:
    from .rank import Thresholds, rank

    thresholds = Thresholds(
        ai_share=_opt("rank", o, "ai_share_threshold") / 100,
        sunset_after=_opt("rank", o, "sunset_after"),
        plan_order=tuple(_opt("rank", o, "plan_order") or ()),
    )
    rows = rank(
        db,
        period=_opt("rank", o, "period"),
        time_zone=_opt("rank", o, "tz"),
        thresholds=thresholds,
        sort=_opt("rank", o, "sort"),
    )
    return f"{len(rows)} ranked"


def _alerts(db: Database, o: Mapping[str, Any]) -> str:
    from .alerts import run_alerts

    options, base = alert_options(o)
    # Scheduled runs deliver through the webhook; stdout stays for interactive runs.
    run = run_alerts(
        db,
        period=_opt("alerts", options, "period"),
        config=alert_config(options, base=base),
        time_zone=_opt("alerts", options, "tz"),
        mark_stdout=False,
    )
    for alert in run.alerts:
        logger.warning("costledger alert: %s", alert.message)
    if run.webhook_error:  # the schedule logs and records the job as failed
        raise CostLedgerError(run.webhook_error)
    return f"{len(run.alerts)} alert(s), {run.webhook_sent} sent"


def _reconcile(db: Database, o: Mapping[str, Any]) -> str:
    from ..imports.invoices import import_provider_costs
    from .reconcile import reconcile

    for path in _opt("reconcile", o, "imports") or ():
        import_provider_costs(db, path)
    rows = reconcile(
        db,
        period=_opt("reconcile", o, "period"),
        tolerance=_opt("reconcile", o, "tolerance") / 100,
        tolerance_abs=_opt("reconcile", o, "tolerance_abs"),
    )
    return f"{sum(1 for r in rows if r.flagged)} flagged of {len(rows)}"


def _import(kind: str) -> Callable[[Database, Mapping[str, Any]], str]:
    job = f"import_{kind}"

    def run(db: Database, o: Mapping[str, Any]) -> str:
        from ..imports import calls, invoices, user_data

        path = _opt(job, o, "path")
        if kind == "usage":
            return f"{user_data.import_usage(db, path).rows} row(s)"
        if kind == "business":
            return f"{user_data.import_business(db, path).rows} row(s)"
        if kind == "calls":
            done = calls.import_calls(db, path, price_book=_opt(job, o, "prices"))
            return f"{done.rows} row(s), {done.inserted} new"
        chosen = _opt(job, o, "export_format")
        result = invoices.import_provider_costs(
            db,
            path,
            source_format=None if chosen == "auto" else chosen,
            provider=_opt(job, o, "provider"),
        )
        return f"{result.rows} row(s)"

    return run


JOBS: dict[str, Callable[[Database, Mapping[str, Any]], str]] = {
    "aggregate": _aggregate,
    "allocate": _allocate,
    "normalize": _normalize,
    "rank": _rank,
    "alerts": _alerts,
    "reconcile": _reconcile,
    "import_usage": _import("usage"),
    "import_business": _import("business"),
    "import_invoices": _import("invoices"),
    "import_calls": _import("calls"),
}


def run_job(database: Database, name: str, options: Mapping[str, Any] | None = None) -> str:
    """Run one job by name with schedule-style options; returns a one-line summary."""
    if name not in JOBS:
        raise ConfigError(f"unknown job {name!r}: use one of {', '.join(JOBS)}")
    return JOBS[name](database, job_options(name, options or {}))
