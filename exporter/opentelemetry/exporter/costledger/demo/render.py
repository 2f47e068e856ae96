"""What ``costledger demo`` prints: the progress bar, the seed's Step 3 table, what to run next."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal

import click
from opentelemetry.instrumentation.costledger.money import format_pct, format_usd, to_nanos
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from .plan import MonthPlan
from .runner import HINT_SPIKE_THRESHOLD, DemoResult
from .summary import CustomerMonth
from .traffic import alerts_week

CATEGORY_ORDER = ("api", "embedding", "human_review", "third_party")


def money(amount: Decimal) -> str:
    """Dollars for people by the one precision rule (``money.format_usd``: to the cent, a cost
    under a cent shown as ``<$0.01``); the ledger keeps nano-dollars."""
    return format_usd(to_nanos(amount))


@contextmanager
def progress_bar(
    console: Console, enabled: bool = True
) -> Iterator[tuple[Callable[[MonthPlan], None], Callable[[], None]]]:
    """``(on_plan, on_call)`` callbacks for :func:`~.runner.run_demo` driving a rich bar."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )
    task = progress.add_task("planning the month", total=None)

    def on_plan(plan: MonthPlan) -> None:
        progress.update(
            task,
            description=f"{plan.month}: {len(plan.tickets):,} tickets",
            total=plan.calls,
        )

    def on_call() -> None:
        progress.advance(task)

    with progress:
        yield on_plan, on_call


def customer_month_rich_table(lines: Sequence[CustomerMonth]) -> Table:
    table = Table(title="AI cost per customer (seed Step 3, from the cost_ledger view)")
    table.add_column("customer_id")
    table.add_column("month")
    table.add_column("total AI cost", justify="right")
    table.add_column("input tokens", justify="right")
    table.add_column("output tokens", justify="right")
    table.add_column("calls", justify="right")
    for line in lines:
        cost = money(line.total_cost)
        if line.unpriced_rows:
            cost += f" (+{line.unpriced_rows} unpriced)"
        table.add_row(
            Text(line.customer_id or "(none)"),  # data, not markup
            line.month,
            cost,
            f"{line.total_input_tokens:,}",
            f"{line.total_output_tokens:,}",
            f"{line.calls:,}",
        )
    return table


def category_rich_table(result: DemoResult) -> Table:
    table = Table(title="Cost by category (seed Step 4: the part of the iceberg under the API)")
    categories = list(CATEGORY_ORDER)
    categories += sorted({c.category for c in result.categories} - set(categories))
    table.add_column("customer_id")
    for category in categories:
        table.add_column(category, justify="right")
    table.add_column("total", justify="right")
    by_customer: dict[str | None, dict[str, Decimal]] = {}
    for cost in result.categories:
        by_customer.setdefault(cost.customer_id, {})[cost.category] = cost.cost
    for line in result.table:
        costs = by_customer.get(line.customer_id, {})
        table.add_row(
            Text(line.customer_id or "(none)"),
            *(money(costs[c]) if c in costs else "-" for c in categories),
            money(sum(costs.values(), Decimal(0))),
        )
    return table


# (verb, arguments, what it shows); a suggestion is printed only if the installed CLI has the
# verb and every option it uses, so the list never names a command that does not exist.
def next_steps(result: DemoResult) -> list[tuple[str, list[str], str]]:
    month = result.month
    db = ["--db", result.database_url] if _needs_db(result.database_url) else []
    inputs = result.inputs
    last_week = alerts_week(month)
    return [
        ("ledger", ["--customer", "cust_12345", "--period", month, *db],
         "the rows behind a customer's figure"),
        ("aggregate", ["--by", "day", "--period", month, *db], "cost per customer and day"),
        ("import", ["usage", str(inputs.usage), *db], "vectors each customer stores"),
        ("allocate", [str(inputs.bills), "--period", month, *db],
         "shared bills (Pinecone, Langfuse) split per customer"),
        ("import", ["business", str(inputs.business), *db], "revenue and margin per customer"),
        ("normalize", ["--period", month, "--customer", "cust_12345", *db],
         "fully loaded cost, per ticket and as a share of revenue (seed Steps 4-5)"),
        ("rank", ["--period", month, *db], "profitability ranking and what to do (Steps 6-7)"),
        ("agents", ["--period", month, *db], "cost and success rate of each agent"),
        ("iceberg", ["--period", month, *db],
         "visible spend against failed, cancelled, cut and re-asked calls and failed work"),
        ("alerts", ["--by", "week", "--period", last_week, "--threshold",
                    str(HINT_SPIKE_THRESHOLD), *db], _spike_hint(result)),
        ("prices", ["check", "--prices", str(inputs.prices), *db],
         "models and cost items in the ledger without a price"),
        ("report", ["--period", month, "--out", "report.html", *db],
         "one HTML page with the charts"),
        ("export", ["--format", "focus", "--period", month, *db], "FinOps FOCUS export"),
    ]  # fmt: skip


def _spike_hint(result: DemoResult) -> str:
    """What the suggested alerts command prints, from the same check (never a promise)."""
    if not result.spikes:
        return f"no customer's cost more than doubled in {alerts_week(result.month)}"
    flagged = ", ".join(f"{a.customer_id} (+{format_pct(a.change or 0)})" for a in result.spikes)
    return f"customers whose cost more than doubled: {flagged}"


def _needs_db(url: str) -> bool:
    from ..ledger.db import resolve_database_url

    return url != resolve_database_url(None)


def available_steps(
    group: click.Group | None, steps: Sequence[tuple[str, list[str], str]]
) -> list[tuple[str, str]]:
    found = []
    for verb, args, why in steps:
        if group is None:
            continue
        command = group.commands.get(verb)
        if command is None:
            continue
        words = list(args)
        if isinstance(command, click.Group) and words and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        options = {opt for p in command.params for opt in getattr(p, "opts", ())}
        if all(w in options for w in words if w.startswith("--")):
            found.append((" ".join(["costledger", verb, *map(_quote, args)]), why))
    return found


def _quote(word: str) -> str:
    return f"'{word}'" if any(ch in word for ch in " ;&|$") else word


def print_result(console: Console, result: DemoResult, group: click.Group | None) -> None:
    plan = result.plan
    console.print(
        f"\nSent {plan.calls:,} cost events for {len(plan.tickets):,} support tickets of"
        f" {result.month} through the real anthropic and openai SDKs, the costledger"
        f" instrumentation and exporter, in {result.seconds:.1f} s."
    )
    if result.already_recorded:
        console.print(
            f"{result.already_recorded:,} of them were already in the ledger from an identical"
            " earlier run (same seed → same span ids): kept once, not counted twice."
        )
    console.print(
        f"Ledger: {result.database_url} ({result.new_rows:,} new rows)\n",
        soft_wrap=True,
        markup=False,
    )
    console.print(customer_month_rich_table(result.table))
    console.print(category_rich_table(result))
    if result.other_rows:
        console.print(
            f"[yellow]Note:[/] {result.month} in this ledger also holds {result.other_rows:,}"
            " rows that are not this run's (other demo options or your own data); the tables"
            " include them. Use --db with a new file for a clean ledger."
        )
    console.print(
        "\nThe first table is the seed's Step 3 query over the cost_ledger view (GROUP BY"
        " customer_id, month), summing cost_nanos exactly. Bills, vectors and revenue for the"
        f" jobs below: {result.inputs.bills.parent}",
        markup=False,
        highlight=False,
    )
    steps = available_steps(group, next_steps(result))
    if steps:
        console.print("\n[bold]What to run next[/]")
        for command, why in steps:
            # One line per command, never wrapped, so it can be copied as is.
            console.print(f"  {command}", soft_wrap=True, markup=False, highlight=False)
            console.print(f"      [dim]{why}[/]", highlight=False)
