"""schedule: cron and intervals, the background scheduler, bad schedule files."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.errors import ConfigError
from opentelemetry.exporter.costledger.jobs.cron import Cron, parse_every
from opentelemetry.exporter.costledger.jobs.schedule import Scheduler, load_schedule
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.tables import cost_aggregates, job_runs

from .helpers import insert, row


def test_cron_next_run() -> None:
    after = datetime(2025, 5, 14, 9, 30, tzinfo=UTC)  # a Wednesday
    assert Cron.parse("0 8 * * 1").next_after(after, "UTC") == datetime(
        2025, 5, 19, 8, 0, tzinfo=UTC
    )
    assert Cron.parse("*/15 * * * *").next_after(after, "UTC") == datetime(
        2025, 5, 14, 9, 45, tzinfo=UTC
    )
    assert Cron.parse("0 3 1 * *").next_after(after, "UTC") == datetime(
        2025, 6, 1, 3, 0, tzinfo=UTC
    )
    # 08:00 in Berlin (CEST) is 06:00 UTC
    assert Cron.parse("0 8 * * *").next_after(after, "Europe/Berlin") == datetime(
        2025, 5, 15, 6, 0, tzinfo=UTC
    )
    # day-of-month OR day-of-week when both are restricted (cron semantics); 7 = Sunday
    assert Cron.parse("0 0 1 * 7").next_after(after, "UTC") == datetime(
        2025, 5, 18, 0, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["* * *", "60 * * * *", "a * * * *", "*/0 * * * *"])
def test_bad_cron(text: str) -> None:
    with pytest.raises(ConfigError, match="cron"):
        Cron.parse(text)


def test_every() -> None:
    assert parse_every("15m").total_seconds() == 900
    with pytest.raises(ConfigError):
        parse_every("often")


def test_bad_schedule_files(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[jobs]]\njob = "dance"\nevery = "1h"\n')
    with pytest.raises(ConfigError, match="job must be one of"):
        load_schedule(path)
    path.write_text('[[jobs]]\njob = "aggregate"\n')
    with pytest.raises(ConfigError, match="exactly one of"):
        load_schedule(path)
    # a required option is missing when the schedule is loaded, not when the job runs
    path.write_text('[[jobs]]\njob = "allocate"\nevery = "1h"\n')
    with pytest.raises(ConfigError, match=r"the allocate job needs options\.bills"):
        load_schedule(path)


def test_scheduler_runs_jobs_in_the_background(sqlite_url: str, tmp_path: Path) -> None:
    insert(sqlite_url, [row("a", "2025-05-02", "1")])
    path = tmp_path / "schedule.yaml"
    path.write_text(
        "jobs:\n"
        "  - {job: aggregate, every: 1h, options: {by: day}}\n"
        "  - {job: allocate, every: 1h, options: {bills: no-such-bills.toml}}\n"
    )
    scheduler = Scheduler(sqlite_url, load_schedule(path))
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while scheduler.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert scheduler.runs == 2
    engine = db.create_engine(sqlite_url)
    with engine.connect() as conn:
        runs = {r.job: r for r in conn.execute(sa.select(job_runs))}
        aggregates = conn.execute(sa.select(cost_aggregates.c.granularity)).scalars().all()
    engine.dispose()
    assert runs["aggregate"].status == "ok" and aggregates == ["day"]
    # a failing job is recorded and does not stop the schedule
    assert runs["allocate"].status == "failed" and "no-such-bills.toml" in runs["allocate"].detail


def test_serve_starts_the_scheduler_through_the_contract(sqlite_url: str, tmp_path: Path) -> None:
    from opentelemetry.exporter.costledger.ingest.serve.server import start_scheduler

    insert(sqlite_url, [row("a", "2025-05-02", "1")])
    path = tmp_path / "schedule.toml"
    path.write_text('[[jobs]]\njob = "aggregate"\nevery = "1h"\noptions = { by = "week" }\n')
    scheduler = start_scheduler(str(path), sqlite_url)
    try:
        deadline = time.monotonic() + 30
        while scheduler.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    engine = db.create_engine(sqlite_url)
    with engine.connect() as conn:
        granularities = conn.execute(sa.select(cost_aggregates.c.granularity)).scalars().all()
    engine.dispose()
    assert granularities == ["week"]
