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

Jobs and their options (the same as the CLI flags, with ``_`` for ``-``):

==================  =============================================================================
``aggregate``       ``by`` (day/week/month), ``dimensions`` (list), ``tz``, ``full``
``allocate``        ``bills`` (required), ``period`` (default ``last-month``), ``tz``
``normalize``       ``period`` (default ``last-month``), ``tz``
``rank``            ``period`` (default ``last-month``), ``tz``, ``sort``, ``ai_share_threshold``
                    (percent), ``plan_order`` (list), ``sunset_after``
``alerts``          ``period`` (default: the last complete one), ``by``, ``threshold`` (percent),
                    ``baseline_periods``, ``min_baseline``, ``budgets`` (table or file),
                    ``webhook``, ``tz``
``reconcile``       ``period`` (default ``last-month``), ``tolerance`` (percent),
                    ``tolerance_abs`` (dollars)
``import_usage``,   ``path`` (required): re-import a file that another process refreshes
``import_business``,
``import_invoices``
==================  =============================================================================

An option the job does not take is refused, naming the ones it does (a typo such as
``treshold`` would otherwise run with the default), when the schedule is loaded and by ``jobs
run``. Values are read as the CLI reads its flags: flags ``true``/``false``, amounts and
percentages exact (``"0.01"``, ``"$1,000"``, ``20``), counts whole numbers; ``budgets`` is a
table or the path of a budgets file (as ``--budgets`` takes). Relative paths (``bills``,
``budgets``, ``path``) are read from the working directory of the process.

Cron fields take ``*``, numbers, ranges ``1-5``, lists ``1,15`` and steps ``*/15``; day of week
0–7 (0 and 7 are Sunday); when both day fields are restricted either may match (as in cron).
The scheduler runs one job at a time in a background thread (so a SQLite ledger never sees two
job writers); a job that fails is logged and recorded in ``job_runs`` with its error, and the
schedule goes on.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .. import periods
from ..errors import ConfigError, CostLedgerError
from ..ledger.runs import now, record_run
from .amounts import parse_amount
from .bills import read_document

logger = logging.getLogger(__name__)


# Each job's options: kind (how the value is read) and an example value for the messages. A name
# not listed is refused: a typo such as `treshold` would otherwise run silently with the default.
_KINDS = {
    "text": "a text",
    "flag": "true or false",
    "amount": "an amount of dollars",
    "percent": "a percentage",
    "count": "a whole number",
    "list": "a list",
    "budgets": "a table of budgets or the path of a budgets file",
}
OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "aggregate": {
        "by": ("text", "day"),
        "dimensions": ("list", '["customer", "model"]'),
        "tz": ("text", "Europe/Berlin"),
        "full": ("flag", "true"),
    },
    "allocate": {
        "bills": ("text", "bills.toml"),
        "period": ("text", "last-month"),
        "tz": ("text", "Europe/Berlin"),
    },
    "normalize": {"period": ("text", "last-month"), "tz": ("text", "Europe/Berlin")},
    "rank": {
        "period": ("text", "last-month"),
        "tz": ("text", "Europe/Berlin"),
        "sort": ("text", "ai_cost"),
        "ai_share_threshold": ("percent", "50"),
        "plan_order": ("list", '["free", "pro"]'),
        "sunset_after": ("count", "3"),
    },
    "alerts": {
        "period": ("text", "2025-W20"),
        "by": ("text", "week"),
        "threshold": ("percent", "20"),
        "baseline_periods": ("count", "4"),
        "min_baseline": ("amount", "5"),
        "budgets": ("budgets", "budgets.toml"),
        "webhook": ("text", "https://hooks.example.com/x"),
        "tz": ("text", "Europe/Berlin"),
    },
    "reconcile": {
        "period": ("text", "last-month"),
        "tolerance": ("percent", "1"),
        "tolerance_abs": ("amount", "0.01"),
    },
    "import_usage": {"path": ("text", "usage.csv")},
    "import_business": {"path": ("text", "business.csv")},
    "import_invoices": {"path": ("text", "costs.json")},
}


def job_options(job: str, options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``options`` checked against what ``job`` takes and read into their types (ConfigError
    naming the option and an example otherwise); ``where`` prefixes the messages."""
    known = OPTIONS[job]
    unknown = sorted(str(name) for name in options if name not in known)
    if unknown:
        hints = [
            f"{name!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(name, known, n=1))
            else repr(name)
            for name in unknown
        ]
        raise ConfigError(
            f"{where}the {job} job has no option {', '.join(hints)}:"
            f" its options are {', '.join(known)}"
        )
    return {name: _option(job, name, value, where) for name, value in options.items()}


def _option(job: str, name: str, value: Any, where: str = "") -> Any:
    kind, example = OPTIONS[job][name]
    converted = _convert(kind, value)
    if converted is None:
        toml_example = f'"{example}"' if kind in ("text", "amount", "budgets") else example
        raise ConfigError(
            f"{where}{job} option {name} = {value!r} is not {_KINDS[kind]}: write e.g."
            f" -o {name}={example} (in a schedule file: {name} = {toml_example})"
        )
    return converted


def _convert(kind: str, value: Any) -> Any:
    """``value`` read as ``kind``, or None when it is not one."""
    if kind == "flag":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {"true": True, "false": False}.get(text) if isinstance(value, str) else None
    if kind in ("amount", "percent"):
        return parse_amount(value)
    if kind == "count":
        if isinstance(value, bool | float):
            return None
        try:
            number = int(str(value).strip())
        except ValueError:
            return None
        return number if number >= 0 else None
    if kind == "list":
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        return None
    if kind == "budgets":
        return value if isinstance(value, str | Mapping) else None
    # text: numbers are welcome (`-o period=2025` arrives as the number 2025)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def _opt(job: str, options: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """One option, read into its type (``alert_config`` also gets the raw values of the CLI)."""
    if options.get(name) is None:
        return default
    return _option(job, name, options[name])


def _aggregate(db: str, o: Mapping[str, Any]) -> str:
    from .aggregate import aggregate

    result = aggregate(
        db,
        granularity=_opt("aggregate", o, "by", "month"),
        dimensions=_opt("aggregate", o, "dimensions", ("customer",)),
        time_zone=_opt("aggregate", o, "tz"),
        full=_opt("aggregate", o, "full", False),
    )
    return f"{result.buckets} bucket(s) recomputed"


def _allocate(db: str, o: Mapping[str, Any]) -> str:
    from .allocate import allocate

    if not o.get("bills"):
        raise ConfigError("the allocate job needs options.bills = <path of the bills file>")
    done = allocate(
        db,
        bills=_opt("allocate", o, "bills"),
        period=_opt("allocate", o, "period", "last-month"),
        time_zone=_opt("allocate", o, "tz"),
    )
    return f"{len(done)} bill(s) allocated"


def _normalize(db: str, o: Mapping[str, Any]) -> str:
    from .normalize import normalize

    period = _opt("normalize", o, "period", "last-month")
    rows = normalize(db, period=period, time_zone=_opt("normalize", o, "tz"))
    return f"{len(rows)} customer(s)"


def _rank(db: str, o: Mapping[str, Any]) -> str:
    from .rank import Thresholds, rank

    thresholds = Thresholds(
        ai_share=_opt("rank", o, "ai_share_threshold", Decimal(50)) / 100,
        sunset_after=_opt("rank", o, "sunset_after", 3),
        plan_order=tuple(_opt("rank", o, "plan_order", ())),
    )
    rows = rank(
        db,
        period=_opt("rank", o, "period", "last-month"),
        time_zone=_opt("rank", o, "tz"),
        thresholds=thresholds,
        sort=_opt("rank", o, "sort", "ai_cost"),
    )
    return f"{len(rows)} ranked"


def alert_config(o: Mapping[str, Any], base: str | os.PathLike[str] | None = None) -> Any:
    """The alerts job's options as an ``AlertConfig``; a ``budgets`` path is read relative to
    ``base`` when given (the CLI's --config directory), else to the working directory."""
    from .alerts import AlertConfig, budgets_table, load_budgets

    budgets = budgets_table(_opt("alerts", o, "budgets", {}), "budgets", base)
    return AlertConfig(
        granularity=_opt("alerts", o, "by", "week"),
        threshold=_opt("alerts", o, "threshold", Decimal(20)) / 100,
        baseline_periods=_opt("alerts", o, "baseline_periods", 4),
        min_baseline=_opt("alerts", o, "min_baseline", Decimal(0)),
        budgets=load_budgets(budgets, "budgets"),
        webhook_url=_opt("alerts", o, "webhook"),
    )


def _alerts(db: str, o: Mapping[str, Any]) -> str:
    from .alerts import run_alerts

    # Scheduled runs deliver through the webhook; stdout stays for interactive runs.
    run = run_alerts(
        db,
        period=_opt("alerts", o, "period"),
        config=alert_config(o),
        time_zone=_opt("alerts", o, "tz"),
        mark_stdout=False,
    )
    for alert in run.alerts:
        logger.warning("costledger alert: %s", alert.message)
    return f"{len(run.alerts)} alert(s), {run.webhook_sent} sent"


def _reconcile(db: str, o: Mapping[str, Any]) -> str:
    from .reconcile import reconcile

    rows = reconcile(
        db,
        period=_opt("reconcile", o, "period", "last-month"),
        tolerance=_opt("reconcile", o, "tolerance", Decimal(1)) / 100,
        tolerance_abs=_opt("reconcile", o, "tolerance_abs", Decimal("0.01")),
    )
    return f"{sum(1 for r in rows if r['flagged'])} flagged of {len(rows)}"


def _import(kind: str) -> Callable[[str, Mapping[str, Any]], str]:
    job = f"import_{kind}"

    def run(db: str, o: Mapping[str, Any]) -> str:
        from ..imports import invoices, user_data

        path = _opt(job, o, "path")
        if not path:
            raise ConfigError(f"the {job} job needs options.path = <file>")
        if kind == "usage":
            return f"{user_data.import_usage(db, path).rows} row(s)"
        if kind == "business":
            return f"{user_data.import_business(db, path).rows} row(s)"
        return f"{invoices.import_provider_costs(db, path).rows} row(s)"

    return run


JOBS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "aggregate": _aggregate,
    "allocate": _allocate,
    "normalize": _normalize,
    "rank": _rank,
    "alerts": _alerts,
    "reconcile": _reconcile,
    "import_usage": _import("usage"),
    "import_business": _import("business"),
    "import_invoices": _import("invoices"),
}


def run_job(database_url: str, name: str, options: Mapping[str, Any] | None = None) -> str:
    """Run one job by name with schedule-style options; returns a one-line summary."""
    if name not in JOBS:
        raise ConfigError(f"unknown job {name!r}: use one of {', '.join(JOBS)}")
    return JOBS[name](database_url, job_options(name, options or {}))


# --- when ------------------------------------------------------------------------------------

_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def parse_every(text: str) -> timedelta:
    match = _EVERY.match(str(text))
    if not match or int(match[1]) == 0:
        raise ConfigError(f"every = {text!r}: write a positive interval such as 30s, 15m, 1h, 1d")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = str(text).split()
        if len(parts) != 5:
            raise ConfigError(f"cron = {text!r}: needs 5 fields (minute hour day month weekday)")
        sets = [
            _cron_field(p, lo, hi, text) for p, (lo, hi) in zip(parts, _CRON_RANGES, strict=True)
        ]
        weekdays = frozenset(0 if d == 7 else d for d in sets[4])
        return cls(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] != "*", parts[4] != "*")

    def matches(self, at: datetime) -> bool:
        weekday = (at.weekday() + 1) % 7
        day_ok = at.day in self.days
        weekday_ok = weekday in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            calendar_ok = day_ok or weekday_ok
        else:
            calendar_ok = day_ok and weekday_ok
        return (
            at.minute in self.minutes
            and at.hour in self.hours
            and at.month in self.months
            and calendar_ok
        )

    def next_after(self, after: datetime, tz_name: str) -> datetime:
        """The first matching minute strictly after ``after`` (aware), as an aware UTC time."""
        zone = periods.zone_info(tz_name)
        local = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(60 * 24 * 366 * 5):
            if self.matches(local):
                return local.astimezone(UTC)
            local = (local.astimezone(UTC) + timedelta(minutes=1)).astimezone(zone)
        raise ConfigError("cron expression never matches")


def _cron_field(text: str, lo: int, hi: int, whole: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                first, last = lo, hi
            elif "-" in base:
                a, b = base.split("-", 1)
                first, last = int(a), int(b)
            else:
                first = last = int(base)
                if step_text:
                    last = hi
        except ValueError as exc:
            raise ConfigError(f"cron = {whole!r}: cannot read {part!r}") from exc
        if step < 1 or not lo <= first <= last <= hi:
            raise ConfigError(f"cron = {whole!r}: {part!r} is outside {lo}-{hi}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


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

    def __init__(self, database_url: str, config: Mapping[str, Any]) -> None:
        self.database_url = database_url
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
            summary = run_job(self.database_url, job.job, job.options)
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
        from ..ledger import db

        try:
            engine = db.create_engine(self.database_url)
            try:
                record_run(engine, job.job, started, f"{job.name}: {exc}", ok=False)
            finally:
                engine.dispose()
        except Exception:  # the ledger itself may be what failed
            logger.exception("could not record the failure of %s", job.name)
