"""``costledger alerts``: spikes over each customer's baseline, budgets (thresholds and
forecasts), unpriced models."""

from __future__ import annotations

from decimal import Decimal

import click

from ... import periods
from ...columns import Column
from ...currency import converted_key, resolve_rates
from ...errors import CostLedgerError
from ...jobs.alerts import Alert, run_alerts
from ...jobs.options import alert_config, alert_options, option
from ..output import as_record, emit
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
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Raise alerts: cost spikes over a customer's own baseline, budgets (each threshold
    and a forecast to the period's end, once per period), models without a price. Prints only
    alerts not shown before (--all for every one); --webhook POSTs each alert once.

    \b
    Example:
      costledger alerts --by week --threshold 20 --webhook https://hooks.example.com/x
      costledger alerts --budgets budgets.toml --as-of 2025-05-20
      costledger alerts --by month --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)  # what is shown; the webhook gets USD
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
    shown: list[object] = list(run.alerts if show_all else run.new_for_stdout)
    if not rates.is_identity:
        # An alert's amounts belong to its period as a whole: spread over its days, each at
        # its rate (README "Other currencies"); the message keeps the USD it was raised with.
        zone = option("alerts", options, "tz")
        converted: list[object] = []
        for alert in shown:
            record = as_record(alert)
            about = periods.parse_period(record["period"], zone) if record["period"] else None
            for key in Alert.MONEY:
                nanos = record[key]
                record[converted_key(key, rates.currency)] = (
                    None if about is None else rates.spread_period(nanos, about.start, about.end)
                )
            converted.append(record)
        shown = converted
    emit(
        shown,
        COLUMNS,
        fmt,
        title=f"Alerts {run.period}"
        + ("" if show_all else " (new)")
        + (f" — {run.webhook_sent} sent to the webhook" if run.webhook_sent else ""),
        currency=rates.currency,
    )
    if run.webhook_error:
        # Printed after the alerts, which are shown whatever the webhook did; exit status 1
        # tells cron and CI that the webhook still owes them (sent on the next run).
        raise CostLedgerError(run.webhook_error)
