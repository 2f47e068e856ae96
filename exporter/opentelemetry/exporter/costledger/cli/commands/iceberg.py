"""``costledger iceberg``: the AI Cost Iceberg, visible API spend against the hidden parts."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import format_usd

from ...columns import Column
from ...jobs.iceberg import IcebergLayer, iceberg
from ..output import emit, format_option
from ._options import db_option, period_option, tz_option

COLUMNS = [
    Column("layer", "Layer"),
    Column("label", "What", wrap=True),
    Column("cost_nanos", "Cost", "money"),
    Column("share", "Share", "pct"),
    Column("entries", "Entries", "int"),
]


def register(group: click.Group) -> None:
    group.add_command(iceberg_command)


@click.command("iceberg")
@period_option(default="last-month")
@click.option("--customer", help="One customer's iceberg (default: all, unattributed cost too).")
@tz_option
@db_option
@format_option()
def iceberg_command(
    period: str, customer: str | None, time_zone: str | None, database_url: str | None, fmt: str
) -> None:
    """The AI Cost Iceberg: visible API spend (successful calls that served a successful
    outcome) against the hidden parts — failed, cancelled and truncated calls, application
    retries, calls of failed work items, unattributed cost and the non-API categories.

    The last row counts the SDKs' own HTTP retries (not billed by the providers).

    \b
    Example:
      costledger iceberg --period 2025-05
      costledger iceberg --period 2025-05 --customer cust_12345
    """
    found = iceberg(database_url, period=period, customer=customer, time_zone=time_zone)
    retries = IcebergLayer(
        layer="sdk_retries",
        label="SDK retries: HTTP attempts made again (counted, not billed)",
        visible=False,
        cost_nanos=0,
        entries=found.sdk_retries,
        share=None,
    )
    who = f" of {customer}" if customer else ""
    share = found.hidden_share
    hidden = "" if share is None else f" ({share * 100:.0f}% of {format_usd(found.total_nanos)})"
    emit(
        [*found.layers, retries],
        COLUMNS,
        fmt,
        title=f"AI Cost Iceberg{who} {found.period}: visible {format_usd(found.visible_nanos)},"
        f" hidden {format_usd(found.hidden_nanos)}{hidden}",
    )
