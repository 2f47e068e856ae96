"""``costledger budgets snapshot``: the in-app budget guard's snapshot, written to a file.

See :mod:`...jobs.budget_snapshot`; ``costledger serve --budgets`` serves the same document at
``GET /v1/budgets``.
"""

from __future__ import annotations

import sys

import click

from ...jobs.budget_snapshot import budget_snapshot, guard_budgets, write_snapshot
from ...jobs.budget_status import parse_as_of
from ._options import db_option, tz_option


def register(group: click.Group) -> None:
    group.add_command(budgets_group)


@click.group("budgets")
def budgets_group() -> None:
    """Budgets for the in-app guard (alerts on budgets: `costledger alerts --budgets`)."""


@budgets_group.command("snapshot")
@click.option(
    "--budgets",
    "budgets_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The budgets file; its [[budget]] entries with a hard_limit are snapshotted.",
)
@click.option(
    "--out",
    required=True,
    metavar="PATH",
    help="Where to write the snapshot (replaced atomically); `-` prints it.",
)
@click.option(
    "--as-of",
    help="The moment to take the budgets' periods and spend at (2025-05-20 = the end of that"
    " day; default now).",
)
@tz_option
@db_option
def snapshot_command(
    budgets_path: str,
    out: str,
    as_of: str | None,
    time_zone: str | None,
    database_url: str | None,
) -> None:
    """Write the budget guard's snapshot: each hard limit, what was spent against it in its
    period, and whether it is exceeded. Run it from cron (every minute or few) and point the
    guard at the file: COSTLEDGER_BUDGET_GUARD=raise COSTLEDGER_BUDGET_SNAPSHOT=PATH.

    \b
    Example:
      costledger budgets snapshot --budgets budgets.toml --out /var/lib/costledger/budgets.json
    """
    budgets = guard_budgets(budgets_path)
    moment = parse_as_of(as_of, time_zone) if as_of else None
    made = budget_snapshot(database_url, budgets, moment, time_zone=time_zone)
    if out == "-":
        sys.stdout.write(made.to_json())
        return
    path = write_snapshot(made, out)
    over = [limit.key for limit in made.limits if limit.exceeded]
    click.echo(
        f"wrote {len(made.limits)} hard limit(s) to {path};"
        f" over the limit: {', '.join(over) if over else 'none'}"
    )
