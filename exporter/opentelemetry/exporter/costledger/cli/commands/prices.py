"""``costledger prices``: the prices in force and where they come from; ``prices check``."""

from __future__ import annotations

import sys
from typing import Any

import click

from ...columns import Column
from ...price_book import load_price_book
from ...prices.check import check_prices
from ...prices.report import list_models, parse_at, price_file_rules, quote_model
from ...prices.update import update_genai_prices
from ..output import emit, format_option
from ._options import db_option, prices_option

_PRICE_COLUMNS = [
    Column("provider", "Provider"),
    Column("model", "Model"),
    Column("band", "Input band"),
    Column("input", "Input /MTok", "decimal"),
    Column("cache_read", "Cache read", "decimal"),
    Column("cache_write_5m", "Cache write 5m", "decimal"),
    Column("cache_write_1h", "Cache write 1h", "decimal"),
    Column("output", "Output /MTok", "decimal"),
    Column("reasoning", "Reasoning", "decimal"),
    Column("per_request", "Per request", "decimal"),
    Column("currency", "Cur"),
    Column("rule", "Rule (where the price comes from)"),
    Column("next_change", "Next change", "date"),
    Column("unpriced_reason", "Unpriced reason"),
]
# Narrower columns for a table of many models (JSON/CSV carry every column).
_LIST_COLUMNS = [
    Column("model", "Model"),
    Column("input", "Input", "decimal"),
    Column("output", "Output", "decimal"),
    Column("cache_read", "Cache read", "decimal"),
    Column("cache_write_5m", "Write 5m", "decimal"),
    Column("cache_write_1h", "Write 1h", "decimal"),
    Column("source", "From"),
]
_KIND_LABELS = {
    "input": "input",
    "cache_read": "cache read",
    "cache_write_5m": "cache write (5 min)",
    "cache_write_1h": "cache write (1 hour)",
    "output": "output",
    "reasoning": "reasoning (output)",
    "per_request": "per request (per call)",
}
_RULE_COLUMNS = [
    Column("source", "Where"),
    Column("kind", "Kind"),
    Column("applies_to", "Applies to"),
    Column("price", "Price"),
    Column("currency", "Cur"),
    Column("from", "From", "date"),
    Column("until", "Until", "date"),
]
_CHECK_COLUMNS = [
    Column("provider", "Provider"),
    Column("model", "Model / item"),
    Column("category", "Category"),
    Column("unit", "Unit"),
    Column("rows", "Rows", "int"),
    Column("unpriced_rows", "Unpriced", "int"),
    Column("flagged_rows", "Flagged", "int"),
    Column("first_seen", "First seen", "date"),
    Column("last_seen", "Last seen", "date"),
    Column("status", "Status"),
    Column("reason", "Reason"),
]
# JSON/CSV also carry the fix (a price-file entry); tables print the fixes below the table.
_CHECK_MACHINE_COLUMNS = [*_CHECK_COLUMNS, Column("fix", "Fix")]


def register(group: click.Group) -> None:
    group.add_command(prices)


@click.group("prices", invoke_without_command=True)
@click.option("--model", help="Show this model's prices (as the API names it; dated is fine).")
@click.option(
    "--provider",
    help="Provider (anthropic, openai, aws.bedrock, ...); without --model: list its models.",
)
@click.option("--at", "at_text", help="Date or ISO datetime (UTC) to price at (default: now).")
@click.option("--service-tier", help="Service tier to price (priority, flex, ...).")
@click.option("--batch", is_flag=True, help="Price batch API calls.")
@prices_option
@format_option()
@click.pass_context
def prices(
    ctx: click.Context,
    model: str | None,
    provider: str | None,
    at_text: str | None,
    service_tier: str | None,
    batch: bool,
    price_file: str | None,
    fmt: str,
) -> None:
    """Show the prices in force and where each comes from.

    With --model: that model's price per kind of token (per million tokens) at --at, with the
    rule it comes from (genai-prices or a line of your price file) and the next date it changes.
    With only --provider: every model of that provider. With neither: the rules of your price
    file.

    \b
    Examples:
      costledger prices --model claude-sonnet-4-5-20250929 --at 2025-06-01
      costledger prices --provider openai --format json
      costledger prices --prices prices.toml
      costledger prices check
      costledger prices update
    """
    if ctx.invoked_subcommand is not None:
        return
    book = load_price_book(price_file)
    at = parse_at(at_text)
    if model:
        records = quote_model(
            book, model, provider=provider, at=at, service_tier=service_tier, batch=batch
        )
        if fmt == "table":
            _show_quote(records, named_provider=provider is not None)
        else:
            emit(records, _PRICE_COLUMNS, fmt)
    elif provider:
        records = list_models(book, provider, at=at, service_tier=service_tier, batch=batch)
        title = f"{provider} prices at {at:%Y-%m-%d %H:%M} UTC (per million tokens)"
        if fmt == "table":
            for record in records:
                # the file:line, or "genai-prices"; the full rule is in --model / json output
                record["source"] = record["rule"].split(" ")[0] if record["rule"] else "no price"
            emit(records, _LIST_COLUMNS, fmt, title=title)
        else:
            emit(records, _PRICE_COLUMNS, fmt, title=title)
    else:
        records = price_file_rules(book)
        where = book.price_file or "no price file (set --prices or COSTLEDGER_PRICES)"
        emit(records, _RULE_COLUMNS, fmt, title=f"Price file: {where}")
        if fmt == "table":
            click.echo(
                "Token prices not overridden come from genai-prices; see one model with"
                " --model NAME, or a provider's models with --provider NAME.",
                err=True,
            )


@prices.command("check")
@db_option
@prices_option
@format_option()
def check(database_url: str | None, price_file: str | None, fmt: str) -> None:
    """Name every model in the ledger that has no price, with row counts.

    Lists models (and non-token cost categories) with unpriced rows, or that your current
    prices no longer cover, and the exact [[model]] or [[unit_price]] entry to add to your
    price file for each (put your price where it says "?"). Exits with status 1 when there are
    any, so it can gate a job.

    \b
    Examples:
      costledger prices check
      costledger prices check --prices prices.toml --format json
    """
    check_book = load_price_book(price_file)
    records = check_prices(database_url, price_book=check_book)
    if not records and fmt == "table":
        click.echo("Every model and cost category in the ledger has a price.")
        return
    if fmt != "table":
        emit(records, _CHECK_MACHINE_COLUMNS, fmt)
        sys.exit(1)
    emit(records, _CHECK_COLUMNS, fmt, title="Models without a price")
    book_file = check_book.price_file
    entries = [r["fix"] for r in records if r["fix_is_entry"]]
    if entries:
        where = book_file or "your price file (--prices or COSTLEDGER_PRICES)"
        click.echo(f'\nAdd to {where}, with your prices where it says "?":\n')
        click.echo("\n\n".join(entries))
        prices = f" --prices {book_file}" if book_file else ""
        click.echo(f"\nthen run: costledger reprice --unpriced{prices}")
    for record in records:
        if not record["fix_is_entry"]:
            what = record["model"] or record["category"]
            click.echo(f"{what}: {record['fix']}")
    sys.exit(1)


@prices.command("update")
@click.option("--url", help="Where to fetch from (default: genai-prices' published data).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="File to write (default: $XDG_DATA_HOME/costledger/genai-prices.json, which price"
    " books read when present; set COSTLEDGER_GENAI_PRICES_DATA to use another).",
)
def update(url: str | None, out: str | None) -> None:
    """Fetch genai-prices' newest price data (the only time costledger goes online for prices).

    Without it, prices come from the snapshot bundled with the installed genai-prices package.
    Rows already in the ledger keep their cost until you run costledger reprice.

    \b
    Examples:
      costledger prices update
      costledger reprice --period this-month
    """
    written = update_genai_prices(url, out)
    click.echo(
        f"wrote {written['models']} models of {written['providers']} providers from"
        f" {written['url']} to {written['path']}"
    )


def _show_quote(records: list[dict[str, Any]], *, named_provider: bool) -> None:
    """One model's prices for people: a row per kind of token, a column per input band.

    The title names the model as asked (the rule line names the provider found for it).
    """
    first = records[0]
    who = f"{first['provider']}/{first['model']}" if named_provider else first["model"]
    click.echo(f"{who} at {first['at']:%Y-%m-%d %H:%M} UTC")
    if first["unpriced_reason"]:
        click.echo(f"no price: {first['unpriced_reason']}")
        return
    bands = [Column(f"b{i}", str(r["band"]), "decimal") for i, r in enumerate(records)]
    rows = [
        {"kind": label, **{f"b{i}": r[key] for i, r in enumerate(records)}}
        for key, label in _KIND_LABELS.items()
        if key != "per_request" or any(r[key] for r in records)
    ]
    emit(rows, [Column("kind", f"{first['currency']} per million tokens"), *bands], "table")
    click.echo(f"rule: {first['rule']}")
    if first["next_change"] is not None:
        click.echo(f"next change: {first['next_change']:%Y-%m-%d %H:%M} UTC")
