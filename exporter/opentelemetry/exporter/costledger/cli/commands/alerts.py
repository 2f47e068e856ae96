"""``costledger alerts``: spikes over each customer's baseline, budgets (thresholds and
forecasts), unpriced models."""

from __future__ import annotations

from decimal import Decimal

import click

from ...columns import Column
from ...errors import CostLedgerError
from ...jobs.alerts import run_alerts
from ...jobs.options import alert_config, alert_options, option
from ..output import emit
from ._options import db_option, job_params

COLUMNS = [
    Column("kind", "Alert", "flags"),
    Column("period", "Period"),
    Column("customer_id", "Customer"),
    Column("model", "Model"),
    Column("amount_nanos", "Cost", "money"),
    Column("reference_nanos", "Baseline / budget", "money"),
    Column("change", "Change", "pct"),
    Column("scope", "Budget scope"),
    Column("scope_value", "Budget of"),
    Column("threshold", "Threshold %", "decimal"),
    Column("forecast_nanos", "Forecast", "money"),
    Column("forecast_date", "Passes on", "date"),
    Column("message", "Message", wrap=True),
]


def register(group: click.Group) -> None:
    group.add_command(alerts_command)


@click.command("alerts")
@job_params("alerts", defaults=False)
@db_option
def alerts_command(
    period: str | None,
    by: str | None,
    threshold: Decimal | None,
    baseline_periods: int | None,
    min_baseline: Decimal | None,
    budgets: str | None,
    as_of: str | None,
    webhook: str | None,
    config: str | None,
    show_all: bool,
    tz: str | None,
    fmt: str,
    database_url: str | None,
) -> None:
    """Raise alerts: cost spikes over a customer's own baseline, budgets (each threshold
    and a forecast to the period's end, once per period), models without a price. Prints only
    alerts not shown before (--all for every one); --webhook POSTs each alert once.

    \b
    Example:
      costledger alerts --by week --threshold 20 --webhook https://hooks.example.com/x
      costledger alerts --budgets budgets.toml --as-of 2025-05-20
    """
    given = {
        "period": period,
        "by": by,
        "threshold": threshold,
        "baseline_periods": baseline_periods,
        "min_baseline": min_baseline,
        "budgets": budgets,
        "as_of": as_of,
        "webhook": webhook,
        "config": config,
        "tz": tz,
    }
    options, base = alert_options(given)
    run = run_alerts(
        database_url,
        period=option("alerts", options, "period"),
        config=alert_config(options, base=base),
        time_zone=option("alerts", options, "tz"),
    )
    shown = run.alerts if show_all else run.new_for_stdout
    emit(
        shown,
        COLUMNS,
        fmt,
        title=f"Alerts {run.period}"
        + ("" if show_all else " (new)")
        + (f" — {run.webhook_sent} sent to the webhook" if run.webhook_sent else ""),
    )
    if run.webhook_error:
        # Printed after the alerts, which are shown whatever the webhook did; exit status 1
        # tells cron and CI that the webhook still owes them (sent on the next run).
        raise CostLedgerError(run.webhook_error)
