"""The run log: one ``job_runs`` row per job or import run (``costledger jobs status``)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from .tables import job_runs


def now() -> datetime:
    return datetime.now(UTC)


def record_run(engine: sa.Engine, job: str, started: datetime, detail: str, *, ok: bool) -> None:
    """One row in ``job_runs`` (what ran, when, and how it went) for ``costledger jobs status``."""
    with engine.begin() as conn:
        conn.execute(
            job_runs.insert().values(
                job=job,
                started_at=started,
                finished_at=now(),
                status="ok" if ok else "failed",
                detail=detail[:2000],
            )
        )
