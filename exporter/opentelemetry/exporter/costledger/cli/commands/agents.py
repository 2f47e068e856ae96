"""``costledger agents``: the AI Workforce P&L, per agent (see ``jobs/agents.py``)."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import to_nanos

from ...columns import Column
from ...currency import converted_key, resolve_rates
from ...jobs.agents import AgentPnl, agents
from ..output import as_record, emit, format_option
from ._options import currency_options, db_option, period_option, tz_option

COLUMNS = [
    Column("agent", "Agent"),
    Column("total_cost_nanos", "Total cost", "money"),
    Column("api_cost_nanos", "API", "money"),
    Column("api_by_model", "API by model", wrap=True),
    Column("tools_cost_nanos", "Tools & 3rd party", "money"),
    Column("human_review_cost_nanos", "Human review", "money"),
    Column("allocated_cost_nanos", "Allocated", "money"),
    Column("work_items", "Work items", "int"),
    Column("successful_outcomes", "Successes", "int"),
    Column("success_rate", "Success rate", "pct"),
    Column("cost_per_success", "Per success", "money", places=3),
    Column("target_cost_per_success", "Target", "money", places=3),
    Column("human_baseline_nanos", "Human baseline", "money"),
    Column("savings_nanos", "Savings", "money"),
    Column("missed_in_a_row", "Misses in a row", "int"),
    Column("flag", "Flag", "flags"),
    Column("action", "Suggested action", wrap=True),
]


def register(group: click.Group) -> None:
    group.add_command(agents_command)


@click.command("agents")
@period_option(default="last-month")
@click.option(
    "--targets",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML file of targets and human baselines per agent (see the README).",
)
@tz_option
@currency_options
@db_option
@format_option()
def agents_command(
    period: str,
    targets: str | None,
    time_zone: str | None,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
    fmt: str,
) -> None:
    """The AI Workforce P&L: each agent's cost structure, work items, success rate and cost per
    successful outcome, against its target and a human baseline, with the retirement trigger.

    \b
    Example:
      costledger agents --period 2025-05 --targets agents.toml
      costledger agents --period 2025-05 --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)
    usd = agents(database_url, period=period, targets=targets, time_zone=time_zone)
    rows: list[object] = list(usd)
    if not rates.is_identity:
        shown = agents(
            database_url, period=period, targets=targets, time_zone=time_zone, rates=rates
        )
        by_agent = {pnl.agent: pnl for pnl in shown}
        rows = [_with(as_record(r), by_agent[r.agent], rates.currency) for r in usd]
    emit(rows, COLUMNS, fmt, title=f"AI Workforce P&L {period}", currency=rates.currency)


def _with(usd: dict[str, object], converted: AgentPnl, currency: str) -> dict[str, object]:
    """The USD P&L's record with the converted amounts beside (``X_eur``); the per-model text
    in the currency."""
    for column in COLUMNS:
        if column.kind == "money":
            value = getattr(converted, column.key)
            usd[converted_key(column.key, currency)] = (
                value if value is None or isinstance(value, int) else to_nanos(value)
            )
    usd["api_by_model"] = converted.api_by_model
    return usd
