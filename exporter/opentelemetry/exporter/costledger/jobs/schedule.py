"""Running the jobs on a schedule: inside ``costledger serve --schedule FILE``, in the foreground
with ``costledger jobs schedule FILE``, or from cron with ``costledger jobs run NAME``.

The schedule file (TOML or YAML)::

    time_zone = "UTC"            # cron times are read in this zone (default UTC)

    [[jobs]]
    job = "aggregate"
    every = "1h"                 # s, m, h, d; also runs once right at start
    options = { by = "day" }

    [[jobs]]
    job = "alerts"
    cron = "0 8 * * 1"           # minute hour day-of-month month day-of-week (Mondays 08:00)
    options = { by = "week", threshold = 20, webhook = "https://hooks.example.com/T000/B000" }

    [[jobs]]
    job = "allocate"
    cron = "0 3 1 * *"           # 03:00 on the 1st: last month's shared bills
    options = { bills = "/etc/costledger/bills.toml", period = "last-month" }

Jobs: ``aggregate``, ``allocate``, ``normalize``, ``rank``, ``alerts``, ``reconcile``,
``import_usage``, ``import_business``, ``import_invoices``, ``import_calls``. Their options are
the flags and arguments of their commands, with ``_`` for ``-`` (``costledger aggregate --help``
lists them): both are made from one declaration per job, :data:`.options.OPTIONS`. Flags that
only change what a command prints (``format``, ``round_to``, ``all``, ...) are refused.

Options are read by :mod:`.options`, jobs are run by name by :mod:`.run`, and ``every`` and
``cron`` are read by :mod:`.cron`. The scheduler runs one job at a time in a background thread
(so a SQLite ledger never sees two job writers); a job that fails is logged and recorded in
``job_runs`` with its error, and the schedule goes on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import periods
from ..errors import ConfigError, CostLedgerError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from .bills import read_document
from .cron import Cron, parse_every
from .options import job_options
from .run import JOBS, run_job

__all__ = ["JOBS", "ScheduledJob", "Scheduler", "load_schedule", "run_job"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    name: str
    job: str
    options: Mapping[str, Any]
    every: timedelta | None = None
    cron: Cron | None = None

    def next_run(self, after: datetime, tz_name: str, *, first: bool) -> datetime:
        if self.every is not None:
            return after if first else after + self.every
        assert self.cron is not None
        return self.cron.next_after(after, tz_name)


def load_schedule(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """Read and check a schedule file; returns the mapping :class:`Scheduler` takes."""
    data = read_document(path)
    _jobs(data, str(path))
    return data


def _jobs(config: Mapping[str, Any], where: str) -> list[ScheduledJob]:
    entries = config.get("jobs")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where}: no [[jobs]] entries")
    periods.resolve_time_zone(config.get("time_zone") or "UTC")
    jobs = []
    for index, entry in enumerate(entries):
        at = f"{where}: jobs[{index}]"
        if not isinstance(entry, Mapping) or entry.get("job") not in JOBS:
            raise ConfigError(f"{at}: job must be one of {', '.join(JOBS)}")
        if ("every" in entry) == ("cron" in entry):
            raise ConfigError(f'{at}: give exactly one of every = "1h" or cron = "0 8 * * *"')
        options = entry.get("options") or {}
        if not isinstance(options, Mapping):
            raise ConfigError(f"{at}: options must be a table")
        job_options(str(entry["job"]), options, f"{at}: ")  # a typo fails at start, not at 3 am
        jobs.append(
            ScheduledJob(
                name=str(entry.get("name") or f"{entry['job']}#{index}"),
                job=str(entry["job"]),
                options=dict(options),
                every=parse_every(entry["every"]) if "every" in entry else None,
                cron=Cron.parse(entry["cron"]) if "cron" in entry else None,
            )
        )
    return jobs


class Scheduler:
    """Runs the configured jobs in a background thread until :meth:`stop`."""

    def __init__(self, database: Database, config: Mapping[str, Any]) -> None:
        self.database = database
        self.jobs = _jobs(config, "schedule")
        self.time_zone = str(config.get("time_zone") or "UTC")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # jobs run so far (successful or not)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="costledger-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the job that is running (if any) finishes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        start = now()
        due = {job.name: job.next_run(start, self.time_zone, first=True) for job in self.jobs}
        while not self._stop.is_set():
            job = min(self.jobs, key=lambda j: due[j.name])
            wait = (due[job.name] - now()).total_seconds()
            if wait > 0:
                self._stop.wait(min(wait, 60.0))
                continue
            self._run(job)
            due[job.name] = job.next_run(max(now(), due[job.name]), self.time_zone, first=False)

    def _run(self, job: ScheduledJob) -> None:
        started = now()
        try:
            summary = run_job(self.database, job.job, job.options)
            logger.info("costledger job %s: %s", job.name, summary)
        except (CostLedgerError, OSError, ValueError) as exc:
            logger.error("costledger job %s failed: %s", job.name, exc)
            self._record_failure(job, started, exc)
        except Exception as exc:  # a bug in one job must not stop the schedule
            logger.exception("costledger job %s crashed", job.name)
            self._record_failure(job, started, exc)
        finally:
            self.runs += 1

    def _record_failure(self, job: ScheduledJob, started: datetime, exc: BaseException) -> None:
        try:
            with open_ledger(self.database, create=False, migrate=False) as engine:
                record_run(engine, job.job, started, f"{job.name}: {exc}", ok=False)
        except Exception:  # the ledger itself may be what failed
            logger.exception("could not record the failure of %s", job.name)
