"""``costledger alerts``: spikes over each customer's baseline, budgets, unpriced models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ... import periods
from ...columns import Column
from ...errors import CostLedgerError, InputError
from ...jobs.alerts import run_alerts
from ...jobs.bills import read_document
from ...jobs.options import alert_config
from ..output import emit, format_option
from ._options import PERIOD_HELP, db_option, tz_option

COLUMNS = [
    Column("kind", "Alert", "flags"),
    Column("period", "Period"),
    Column("customer_id", "Customer"),
    Column("model", "Model"),
    Column("amount_nanos", "Cost", "money"),
    Column("reference_nanos", "Baseline / budget", "money"),
    Column("change", "Change", "pct"),
    Column("message", "Message", wrap=True),
]


def register(group: click.Group) -> None:
    group.add_command(alerts_command)


@click.command("alerts")
@click.option("--period", help=f"Period to check (default: the last complete one): {PERIOD_HELP}.")
@click.option(
    "--by",
    "granularity",
    type=click.Choice(periods.GRANULARITIES),
    default=None,
    help="Period size [default: week].",
)
@click.option("--threshold", type=float, help="Spike threshold in percent over baseline [20].")
@click.option("--baseline-periods", type=int, help="Previous periods averaged as baseline [4].")
@click.option(
    "--budgets",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML/YAML file: [budgets] customer = amount per period ('*' = everyone else).",
)
@click.option("--webhook", help="POST new alerts as JSON to this URL.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML/YAML file with an [alerts] table of these options (flags override it).",
)
@click.option("--all", "show_all", is_flag=True, help="Show every alert, not only new ones.")
@tz_option
@db_option
@format_option()
def alerts_command(
    period: str | None,
    granularity: str | None,
    threshold: float | None,
    baseline_periods: int | None,
    budgets: str | None,
    webhook: str | None,
    config_path: str | None,
    show_all: bool,
    time_zone: str | None,
    database_url: str | None,
    fmt: str,
) -> None:
    """Raise alerts: cost spikes over a customer's own baseline, customers over budget, models
    without a price. Prints only alerts not shown before (--all for every one); --webhook
    POSTs each alert once.

    \b
    Example:
      costledger alerts --by week --threshold 20 --webhook https://hooks.example.com/x
    """
    options: dict[str, Any] = {}
    if config_path:
        document = read_document(config_path)
        options.update(document.get("alerts", document))
    if budgets:
        # Absolute, so that it is not read relative to the config file as the config's own
        # `budgets = "budgets.toml"` is.
        options["budgets"] = str(Path(budgets).resolve())
    given = {
        "by": granularity,
        "threshold": threshold,
        "baseline_periods": baseline_periods,
        "webhook": webhook,
    }
    options.update({k: v for k, v in given.items() if v is not None})
    if threshold is not None and threshold < 0:
        raise InputError("--threshold must not be negative")
    config = alert_config(options, base=Path(config_path).parent if config_path else None)
    run = run_alerts(database_url, period=period, config=config, time_zone=time_zone)
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
