"""``costledger rank``: Steps 6 and 7, the profitability table with flags and actions."""

from __future__ import annotations

from decimal import Decimal

import click

from ...columns import Column
from ...currency import resolve_rates
from ...jobs.dimension_economics import normalize_by
from ...jobs.rank import Thresholds, rank
from ..output import emit
from ._options import db_option, job_params
from .normalize import by_columns, converted_pnl

COLUMNS = [
    Column("rank", "Rank", "int"),
    Column("customer_id", "Customer"),
    Column("revenue_nanos", "Subscription revenue", "money"),
    Column("ai_cost_nanos", "AI cost", "money"),
    Column("margin_nanos", "Margin", "money"),
    Column("profitability_nanos", "Profitability", "money"),
    Column("profitability_pct", "%", "pct"),
    Column("flags", "Flags", "flags"),
    Column("action", "Suggested action"),
    Column("reason", "Why", wrap=True),
]


def register(group: click.Group) -> None:
    group.add_command(rank_command)


@click.command("rank")
@job_params("rank")
@db_option
def rank_command(
    period: str,
    by: str,
    sort: str,
    ai_share_threshold: Decimal,
    plan_order: tuple[str, ...],
    sunset_after: int,
    round_to: str,
    tz: str | None,
    fmt: str,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Rank customers by profitability, flag the unprofitable, suggest a Step 7 action.

    Profitability = margin − fully loaded AI cost; % = of the margin. Results go to the
    table profitability.

    \b
    Example:
      costledger rank --period 2025-05 --round-to dollar
      costledger rank --period 2025-05 --by feature
      costledger rank --period 2025-05 --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)
    if by != "customer":
        groups = normalize_by(database_url, period=period, by=by, time_zone=tz)
        emit(
            converted_pnl(database_url, groups, rates, period, tz, by),
            by_columns(by, ranked=True),
            fmt,
            title=f"{by.capitalize()}s ranked {period}",
            money_places=0 if round_to == "dollar" else 2,
            currency=rates.currency,
        )
        return
    thresholds = Thresholds(
        ai_share=ai_share_threshold / 100, sunset_after=sunset_after, plan_order=plan_order
    )
    records = rank(database_url, period=period, time_zone=tz, thresholds=thresholds, sort=sort)
    emit(
        converted_pnl(database_url, records, rates, period, tz),
        COLUMNS,
        fmt,
        title=f"Customer profitability {period}",
        money_places=0 if round_to == "dollar" else 2,
        currency=rates.currency,
    )
