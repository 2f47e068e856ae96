"""``costledger ledger``: show ledger rows with filters (see ``ledger_view.py``)."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import format_usd, to_nanos

from ...columns import Column
from ...currency import converted_key, dated, resolve_rates
from ...ledger.ledger_view import RECORD_COLUMNS, ledger_rows
from ..output import emit, format_option
from ._options import PERIOD_HELP, currency_options, db_option, tz_option

# What people see in the table; csv and json carry every column.
_TABLE = (
    Column("timestamp", "Time (UTC)"),
    Column("customer_id", "Customer"),
    Column("work_item_id", "Work item"),
    Column("model", "Model"),
    Column("category", "Category"),
    Column("input_tokens", "Input tok", "int"),
    Column("output_tokens", "Output tok", "int"),
    Column("cost_usd", "Cost", "money", places=6),
    Column("notes", "Unpriced / flags", wrap=True),
)
_KINDS = {
    "input_tokens": "int", "output_tokens": "int", "uncached_input_tokens": "int",
    "cache_read_tokens": "int", "cache_write_5m_tokens": "int", "cache_write_1h_tokens": "int",
    "reasoning_tokens": "int", "quantity": "decimal", "cost_usd": "money",
}  # fmt: skip
_ALL = tuple(Column(name, name, _KINDS.get(name, "text")) for name in RECORD_COLUMNS)  # type: ignore[arg-type]


def register(group: click.Group) -> None:
    group.add_command(ledger_command)


@click.command("ledger")
@click.option("--customer", help="Only this customer_id.")
@click.option("--work-item", "work_item", help="Only this work_item_id (e.g. a ticket).")
@click.option("--workspace", help="Only this workspace_id.")
@click.option("--user", help="Only this user_id.")
@click.option("--model", help="Only this model; * is a wildcard ('claude-sonnet-4-5*').")
@click.option("--provider", help="Only this provider (anthropic, openai, ...).")
@click.option("--category", help="Only this category (api, embedding, human_review, ...).")
@click.option("--service", help="Only rows from this service.name.")
@click.option("--period", help=f"Only this period: {PERIOD_HELP}.")
@click.option("--since", help="From this date or time on (2025-05-02 or 2025-05-02T10:00; UTC).")
@click.option("--until", help="Before this date or time (exclusive; UTC unless an offset).")
@click.option("--unpriced", is_flag=True, help="Only rows without a price.")
@click.option("--flagged", is_flag=True, help="Only rows whose input had problems.")
@click.option(
    "--limit", type=int, default=50, show_default=True, help="At most this many rows (0: all)."
)
@tz_option
@currency_options
@db_option
@format_option()
def ledger_command(
    customer: str | None,
    work_item: str | None,
    workspace: str | None,
    user: str | None,
    model: str | None,
    provider: str | None,
    category: str | None,
    service: str | None,
    period: str | None,
    since: str | None,
    until: str | None,
    unpriced: bool,
    flagged: bool,
    limit: int,
    time_zone: str | None,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
    fmt: str,
) -> None:
    """Show the ledger's rows, newest first, with filters.

    Every cost event recorded (LLM calls, embeddings, human review, third-party calls, ...)
    with its customer, work item, model, tokens and exact cost. The table is for reading;
    --format csv/json give every column with exact money (decimal strings).

    \b
    Examples:
      costledger ledger --customer cust_12345 --period 2025-05
      costledger ledger --work-item ticket_67890 --format json
      costledger ledger --model 'claude-sonnet-4-5*' --since 2025-05-01 --limit 0 --format csv
      costledger ledger --unpriced
      costledger ledger --customer cust_12345 --currency EUR --rates eurofxref-hist.csv
    """
    rates = resolve_rates(currency, rates_file)
    page = ledger_rows(
        database_url,
        customer=customer,
        work_item=work_item,
        workspace=workspace,
        user=user,
        model=model,
        provider=provider,
        category=category,
        service=service,
        period=period,
        since=since,
        until=until,
        time_zone=time_zone,
        unpriced=unpriced,
        flagged=flagged,
        limit=limit or None,
    )
    shown_in = rates.currency
    rows = list(page.records)
    if not rates.is_identity:
        # Each row at the rate in force on its UTC date, as an export converts it.
        key = converted_key("cost_usd", shown_in)
        rows = [
            {
                **record,
                key: None
                if record["cost_usd"] is None
                else rates.convert(to_nanos(record["cost_usd"]), dated(record["timestamp"])),
            }
            for record in rows
        ]
    if fmt != "table":
        emit(rows, _ALL, fmt, currency=shown_in)
        return
    records = [
        {
            **record,
            "timestamp": record["timestamp"].strftime("%Y-%m-%d %H:%M:%S"),
            "notes": "; ".join(
                text for text in (record["unpriced_reason"], record["flags"]) if text
            ),
        }
        for record in rows
    ]
    emit(records, _TABLE, "table", money_places=6, currency=shown_in)
    shown = len(records)
    unpriced_note = f", {page.unpriced} unpriced" if page.unpriced else ""
    click.echo(
        f"{shown} of {page.matching} matching rows shown; total cost of all"
        f" {page.matching}: {format_usd(to_nanos(page.total_cost_usd), places=9)}{unpriced_note}"
        + ("" if rates.is_identity else f" (in USD; the rows above in {shown_in})")
    )
