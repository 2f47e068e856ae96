"""``costledger iceberg``: the AI Cost Iceberg, visible API spend against the hidden parts."""

from __future__ import annotations

import click

from ...columns import Column
from ...currency import converted_key, format_money, resolve_rates
from ...jobs.iceberg import IcebergLayer, iceberg
from ..output import as_record, emit, format_option
from ._options import currency_options, db_option, period_option, tz_option

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
@currency_options
@db_option
@format_option()
def iceberg_command(
    period: str,
    customer: str | None,
    time_zone: str | None,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
    fmt: str,
) -> None:
    """The AI Cost Iceberg: visible API spend (successful calls that served a successful
    outcome) against the hidden parts — failed, cancelled and truncated calls, application
    retries, calls of failed work items, unattributed cost and the non-API categories.

    The last row counts the SDKs' own HTTP retries (not billed by the providers).

    \b
    Example:
      costledger iceberg --period 2025-05
      costledger iceberg --period 2025-05 --customer cust_12345
      costledger iceberg --period 2025-05 --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)
    found = iceberg(database_url, period=period, customer=customer, time_zone=time_zone)
    records: list[object] = list(found.layers)
    shown = found
    if not rates.is_identity:
        shown = iceberg(
            database_url, period=period, customer=customer, time_zone=time_zone, rates=rates
        )
        costs = {layer.layer: layer.cost_nanos for layer in shown.layers}
        key = converted_key("cost_nanos", rates.currency)
        records = [{**as_record(layer), key: costs.get(layer.layer, 0)} for layer in found.layers]
    retries = IcebergLayer(
        layer="sdk_retries",
        label="SDK retries: HTTP attempts made again (counted, not billed)",
        visible=False,
        cost_nanos=0,
        entries=found.sdk_retries,
        share=None,
    )
    if not rates.is_identity:
        retries_record: object = {
            **as_record(retries),
            converted_key("cost_nanos", rates.currency): 0,
        }
    else:
        retries_record = retries
    who = f" of {customer}" if customer else ""
    share = shown.hidden_share

    def money(nanos: int) -> str:
        return format_money(nanos, shown.currency)

    hidden = "" if share is None else f" ({share * 100:.0f}% of {money(shown.total_nanos)})"
    emit(
        [*records, retries_record],
        COLUMNS,
        fmt,
        title=f"AI Cost Iceberg{who} {found.period}: visible {money(shown.visible_nanos)},"
        f" hidden {money(shown.hidden_nanos)}{hidden}",
        currency=rates.currency,
    )
