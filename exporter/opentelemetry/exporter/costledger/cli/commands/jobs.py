"""``costledger jobs run|schedule|status``: any job on demand, a schedule, and the run log."""

from __future__ import annotations

import json
import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Any

import click
import sqlalchemy as sa

from ...columns import Column
from ...errors import InputError
from ...jobs.schedule import JOBS, Scheduler, load_schedule, run_job
from ...ledger.db import resolve_database_url
from ...ledger.open import open_ledger
from ...ledger.tables import job_runs
from ..output import emit, format_option
from ._options import db_option

STATUS_COLUMNS = [
    Column("id", "Run", "int"),
    Column("job", "Job"),
    Column("started_at", "Started"),
    Column("finished_at", "Finished"),
    Column("status", "Status"),
    Column("detail", "Detail", wrap=True),
]


def register(group: click.Group) -> None:
    group.add_command(jobs_group)


@click.group("jobs")
def jobs_group() -> None:
    """Run jobs on demand or on a schedule, and see what ran."""


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@jobs_group.command("run")
@click.argument("job", type=click.Choice(sorted(JOBS)))
@click.option(
    "--option",
    "-o",
    "options",
    multiple=True,
    help="KEY=VALUE as in a schedule file's options (JSON values: -o full=true); repeatable.",
)
@db_option
def run_command(job: str, options: tuple[str, ...], database_url: str | None) -> None:
    """Run one JOB now with schedule-style options (handy from cron).

    \b
    Example:
      costledger jobs run aggregate -o by=day
      costledger jobs run allocate -o bills=/etc/costledger/bills.toml -o period=last-month
    """
    parsed: dict[str, Any] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--option {item!r}: write KEY=VALUE")
        parsed[key.strip()] = _value(value)
    click.echo(f"{job}: {run_job(resolve_database_url(database_url), job, parsed)}")


@jobs_group.command("schedule")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@db_option
def schedule_command(path: str, database_url: str | None) -> None:
    """Run the jobs of a schedule file in the foreground until Ctrl-C / SIGTERM.

    (`costledger serve --schedule FILE` runs the same schedule inside the receiver.)
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    scheduler = Scheduler(resolve_database_url(database_url), load_schedule(path))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    click.echo(f"running {len(scheduler.jobs)} scheduled job(s); Ctrl-C to stop", err=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop()


@jobs_group.command("status")
@click.option("--limit", default=20, show_default=True, help="How many recent runs.")
@db_option
@format_option()
def status_command(limit: int, database_url: str | None, fmt: str) -> None:
    """The most recent job runs (table job_runs)."""
    with open_ledger(database_url, create=False) as engine, engine.connect() as conn:
        rows = conn.execute(
            sa.select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
        ).mappings()
        records = [
            {k: _utc(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows
        ]
    emit(records, STATUS_COLUMNS, fmt, title="Job runs")


def _utc(moment: datetime) -> datetime:
    """SQLite returns the stored UTC times naive; say they are UTC, as PostgreSQL's are."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
