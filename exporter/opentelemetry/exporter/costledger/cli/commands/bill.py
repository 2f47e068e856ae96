"""``costledger bill``: per-customer charges from a pricing policy, pushed to a billing system."""

from __future__ import annotations

import click
from opentelemetry.instrumentation.costledger.money import format_usd

from ...columns import Column
from ...errors import CostLedgerError
from ...export.bill import bill
from ...jobs.billing_policy import DESTINATIONS, load_policy
from ..output import emit, format_option
from ._options import db_option, period_option, tz_option

COLUMNS = [
    Column("customer_id", "Customer"),
    Column("cost_nanos", "Ledger cost", "money"),
    Column("usage_nanos", "Usage", "money"),
    Column("allowance_nanos", "Allowance", "money"),
    Column("minimum_topup_nanos", "Minimum top-up", "money"),
    Column("total_nanos", "Charge", "money"),
    Column("work_items", "Work items", "int"),
    Column("unpriced_entries", "Unpriced", "int"),
]
LINE_COLUMNS = [
    Column("customer_id", "Customer"),
    Column("line_no", "Line", "int"),
    Column("kind", "Kind"),
    Column("description", "Description", wrap=True),
    Column("amount_nanos", "Amount", "money"),
]


def register(group: click.Group) -> None:
    group.add_command(bill_command)


@click.command("bill")
@period_option(required=True)
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The pricing policy file (TOML/YAML): markup, fees, resale token prices, allowances,"
    " minimums, the customers' ids in the billing system, the destinations.",
)
@click.option(
    "--to",
    type=click.Choice(DESTINATIONS),
    help="Send the charges to this billing system (its URL and key as the policy says).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="With --to: write that destination's events as JSON lines to this file, push nothing.",
)
@click.option(
    "--lines",
    is_flag=True,
    help="Show each charge's lines (tokens, cost plus, fee, allowance,"
    " minimum) instead of one row per customer.",
)
@tz_option
@format_option()
@db_option
def bill_command(
    period: str,
    policy_file: str,
    to: str | None,
    out: str | None,
    lines: bool,
    time_zone: str | None,
    fmt: str,
    database_url: str | None,
) -> None:
    """Compute what to charge each customer for a period from a pricing policy (cost plus a
    markup, resale token prices, a fee per work item, an allowance, a minimum), store it in
    billing_charges / billing_lines and, with --to, send it as Stripe meter events, OpenMeter
    CloudEvents or Lago events, each once with its idempotency key (retried on failure).
    Billing a period again sends only what is new: an increase as an adjustment; a decrease is
    reported as a credit due and never sent.

    \b
    Example:
      costledger bill --period 2025-05 --policy billing.toml
      costledger bill --period 2025-05 --policy billing.toml --lines
      costledger bill --period 2025-05 --policy billing.toml --to stripe
      costledger bill --period 2025-05 --policy billing.toml --to lago --out lago.jsonl
    """
    policy = load_policy(policy_file)
    result = bill(database_url, period=period, policy=policy, time_zone=time_zone, to=to, out=out)
    if lines:
        records = [
            {"customer_id": c.customer_id, "line_no": n, "kind": line.kind,
             "description": line.description, "amount_nanos": line.amount_nanos}
            for c in result.charges
            for n, line in enumerate(c.lines, 1)
        ]  # fmt: skip
        emit(records, LINE_COLUMNS, fmt, title=f"Charge lines {period}")
    else:
        emit(result.charges, COLUMNS, fmt, title=f"Charges {period}")
    if result.destination is None:
        return
    if out is not None:
        click.echo(
            f"{result.destination}: {result.written} events written to {out}"
            f" ({result.planned} new this run); nothing was sent",
            err=True,
        )
    else:
        click.echo(
            f"{result.destination}: {len(result.sent)} events sent, {result.already_sent}"
            f" sent before (not sent again), {len(result.failed)} failed",
            err=True,
        )
    for credit in result.credits_due:
        click.echo(
            f"credit due: {credit.customer_id} was sent {format_usd(credit.sent_nanos)} but is now"
            f" charged {format_usd(credit.total_nanos)}: issue a credit note in"
            f" {result.destination} (costledger never sends a negative event)",
            err=True,
        )
    if result.failed:
        reasons = "; ".join(f"{e.customer_id}: {error}" for e, error in result.failed)
        raise CostLedgerError(
            f"{len(result.failed)} events were not accepted ({reasons}): fix the cause and run"
            " the same command again; it sends only what is still unsent"
        )
