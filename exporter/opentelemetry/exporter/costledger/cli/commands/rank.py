"""``costledger rank``: Steps 6 and 7, the profitability table with flags and actions."""

from __future__ import annotations

from decimal import Decimal

import click

from ...columns import Column
from ...jobs.dimension_economics import BY, normalize_by
from ...jobs.rank import SORTS, Thresholds, rank
from ..output import emit, format_option
from ._options import db_option, period_option, tz_option
from .normalize import by_columns

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
@period_option(default="last-month")
@click.option("--sort", type=click.Choice(SORTS), default="ai_cost", show_default=True)
@click.option(
    "--by",
    type=click.Choice(["customer", *BY]),
    default="customer",
    show_default=True,
    help="Rank customers, or agents or features (by outcome value − AI cost, then by cost per"
    " successful outcome).",
)
@click.option(
    "--ai-share-threshold",
    type=click.FloatRange(0, None),
    default=50,
    show_default=True,
    help="Flag high_ai_share when AI cost exceeds this percentage of revenue.",
)
@click.option(
    "--plan-order",
    help="Plans from cheapest to dearest, comma-separated (enables 'tier up' suggestions).",
)
@click.option(
    "--sunset-after",
    type=click.IntRange(1, None),
    default=3,
    show_default=True,
    help="Suggest 'sunset' (not 'restrict') for AI cost above revenue after this many"
    " unprofitable periods in a row.",
)
@click.option(
    "--round-to",
    type=click.Choice(["cent", "dollar"]),
    default="cent",
    show_default=True,
    help="Display rounding of the table (half-even); csv/json stay exact.",
)
@tz_option
@db_option
@format_option()
def rank_command(
    period: str,
    sort: str,
    by: str,
    ai_share_threshold: float,
    plan_order: str | None,
    sunset_after: int,
    round_to: str,
    time_zone: str | None,
    database_url: str | None,
    fmt: str,
) -> None:
    """Rank customers by profitability, flag the unprofitable, suggest a Step 7 action.

    Profitability = margin − fully loaded AI cost; % = of the margin. Results go to the
    table profitability.

    \b
    Example:
      costledger rank --period 2025-05 --round-to dollar
      costledger rank --period 2025-05 --by feature
    """
    if by != "customer":
        rows = normalize_by(database_url, period=period, by=by, time_zone=time_zone)
        emit(
            rows,
            by_columns(by, ranked=True),
            fmt,
            title=f"{by.capitalize()}s ranked {period}",
            money_places=0 if round_to == "dollar" else 2,
        )
        return
    thresholds = Thresholds(
        ai_share=Decimal(str(ai_share_threshold)) / 100,
        sunset_after=sunset_after,
        plan_order=tuple(p.strip() for p in (plan_order or "").split(",") if p.strip()),
    )
    records = rank(
        database_url, period=period, time_zone=time_zone, thresholds=thresholds, sort=sort
    )
    emit(
        records,
        COLUMNS,
        fmt,
        title=f"Customer profitability {period}",
        money_places=0 if round_to == "dollar" else 2,
    )
