"""Any job by name with schedule-style options: what ``costledger jobs run NAME`` and the
scheduler call. Each runner reads its options (:mod:`.options`), calls the job's Python function
and returns a one-line summary for the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ..errors import ConfigError, CostLedgerError
from ..ledger.open import Database
from .options import alert_config, job_options
from .options import option as _opt

logger = logging.getLogger(__name__)


def _aggregate(db: Database, o: Mapping[str, Any]) -> str:
    from .aggregate import aggregate

    result = aggregate(
        db,
        granularity=_opt("aggregate", o, "by", "month"),
        dimensions=_opt("aggregate", o, "dimensions", ("customer",)),
        time_zone=_opt("aggregate", o, "tz"),
        full=_opt("aggregate", o, "full", False),
    )
    return f"{result.buckets} bucket(s) recomputed"


def _allocate(db: Database, o: Mapping[str, Any]) -> str:
    from .allocate import allocate

    if not o.get("bills"):
        raise ConfigError("the allocate job needs options.bills = <path of the bills file>")
    done = allocate(
        db,
        bills=_opt("allocate", o, "bills"),
        period=_opt("allocate", o, "period", "last-month"),
        time_zone=_opt("allocate", o, "tz"),
    )
    return f"{len(done)} bill(s) allocated"


def _normalize(db: Database, o: Mapping[str, Any]) -> str:
    from .normalize import normalize

    period = _opt("normalize", o, "period", "last-month")
    rows = normalize(db, period=period, time_zone=_opt("normalize", o, "tz"))
    return f"{len(rows)} customer(s)"


def _rank(db: Database, o: Mapping[str, Any]) -> str:
    from .rank import Thresholds, rank

    thresholds = Thresholds(
        ai_share=_opt("rank", o, "ai_share_threshold", Decimal(50)) / 100,
        sunset_after=_opt("rank", o, "sunset_after", 3),
        plan_order=tuple(_opt("rank", o, "plan_order", ())),
    )
    rows = rank(
        db,
        period=_opt("rank", o, "period", "last-month"),
        time_zone=_opt("rank", o, "tz"),
        thresholds=thresholds,
        sort=_opt("rank", o, "sort", "ai_cost"),
    )
    return f"{len(rows)} ranked"


def _alerts(db: Database, o: Mapping[str, Any]) -> str:
    from .alerts import run_alerts

    # Scheduled runs deliver through the webhook; stdout stays for interactive runs.
    run = run_alerts(
        db,
        period=_opt("alerts", o, "period"),
        config=alert_config(o),
        time_zone=_opt("alerts", o, "tz"),
        mark_stdout=False,
    )
    for alert in run.alerts:
        logger.warning("costledger alert: %s", alert.message)
    if run.webhook_error:  # the schedule logs and records the job as failed
        raise CostLedgerError(run.webhook_error)
    return f"{len(run.alerts)} alert(s), {run.webhook_sent} sent"


def _reconcile(db: Database, o: Mapping[str, Any]) -> str:
    from .reconcile import reconcile

    rows = reconcile(
        db,
        period=_opt("reconcile", o, "period", "last-month"),
        tolerance=_opt("reconcile", o, "tolerance", Decimal(1)) / 100,
        tolerance_abs=_opt("reconcile", o, "tolerance_abs", Decimal("0.01")),
    )
    return f"{sum(1 for r in rows if r.flagged)} flagged of {len(rows)}"


def _import(kind: str) -> Callable[[Database, Mapping[str, Any]], str]:
    job = f"import_{kind}"

    def run(db: Database, o: Mapping[str, Any]) -> str:
        from ..imports import invoices, user_data

        path = _opt(job, o, "path")
        if not path:
            raise ConfigError(f"the {job} job needs options.path = <file>")
        if kind == "usage":
            return f"{user_data.import_usage(db, path).rows} row(s)"
        if kind == "business":
            return f"{user_data.import_business(db, path).rows} row(s)"
        return f"{invoices.import_provider_costs(db, path).rows} row(s)"

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
}


def run_job(database: Database, name: str, options: Mapping[str, Any] | None = None) -> str:
    """Run one job by name with schedule-style options; returns a one-line summary."""
    if name not in JOBS:
        raise ConfigError(f"unknown job {name!r}: use one of {', '.join(JOBS)}")
    return JOBS[name](database, job_options(name, options or {}))
