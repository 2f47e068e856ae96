"""Periods and time zones: what "May 2025" means, and how SQL puts a timestamp into its bucket.

A period is written the way people say it:

==========================  =====================================================
``2025-05``                 a calendar month
``2025-W19``                an ISO week (Monday to Sunday)
``2025-05-02``              a day
``2025``                    a year
``2025-05-01..2025-05-15``  an inclusive range of days
``today``, ``yesterday``,   relative periods, resolved in the job's time zone at the moment
``this-week``,              the job runs (handy in schedules: allocate ``last-month`` on the
``last-week``,              first of each month)
``this-month``,
``last-month``
==========================  =====================================================

Every period is a half-open range of local dates ``[start, end)`` in a time zone (default UTC;
``--tz`` / ``COSTLEDGER_TIMEZONE``), turned into an exact UTC instant range for queries, so the
indexes on ``ledger_entries.timestamp`` are used.

Bucketing (day / week / month) happens in SQL. PostgreSQL converts with ``timezone(tz, ts)``.
SQLite knows no time zones, so the UTC offsets in force over the queried range (with their
daylight-saving transitions, from the IANA database via :mod:`zoneinfo`) become a ``CASE`` that
shifts each timestamp before SQLite's own ``date()``/``strftime()`` truncate it. Weeks start on
Monday (ISO 8601).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from .errors import InputError

TIMEZONE_ENV = "COSTLEDGER_TIMEZONE"
GRANULARITIES = ("day", "week", "month")


def resolve_time_zone(name: str | None = None) -> str:
    """The job's time zone: argument, then ``COSTLEDGER_TIMEZONE``, then ``UTC``; validated."""
    chosen = name or os.environ.get(TIMEZONE_ENV) or "UTC"
    zone_info(chosen)
    return chosen


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
        ) from exc


def check_granularity(granularity: str) -> str:
    if granularity not in GRANULARITIES:
        raise InputError(
            f"unknown granularity {granularity!r}: use one of {', '.join(GRANULARITIES)}"
        )
    return granularity


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates ``[start, end)`` in ``time_zone``, with the label the user gave it."""

    label: str
    start: date
    end: date
    time_zone: str = "UTC"

    def utc_range(self) -> tuple[datetime, datetime]:
        """The exact UTC instants ``[start, end)`` of this period's local midnights."""
        tz = zone_info(self.time_zone)
        return (local_midnight_utc(self.start, tz), local_midnight_utc(self.end, tz))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def buckets(self, granularity: str) -> list[date]:
        """The starts of every ``granularity`` bucket overlapping this period."""
        return list(iter_buckets(self.start, self.end, granularity))


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def bucket_start(day: date, granularity: str) -> date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: date, granularity: str) -> date:
    if granularity == "day":
        return start + timedelta(days=1)
    if granularity == "week":
        return start + timedelta(days=7)
    return _add_months(start, 1)


def bucket_period(start: date, granularity: str, time_zone: str = "UTC") -> Period:
    """The period of one bucket, labelled as :func:`parse_period` would read it back."""
    end = next_bucket(start, granularity)
    if granularity == "day":
        label = start.isoformat()
    elif granularity == "week":
        year, week, _ = start.isocalendar()
        label = f"{year}-W{week:02d}"
    else:
        label = f"{start.year:04d}-{start.month:02d}"
    return Period(label, start, end, time_zone)


def iter_buckets(start: date, end: date, granularity: str) -> Iterator[date]:
    current = bucket_start(start, granularity)
    while current < end:
        yield current
        current = next_bucket(current, granularity)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(text: str, time_zone: str | None = None, *, now: datetime | None = None) -> Period:
    """Read a period as written in the table of this module's docstring."""
    tz_name = resolve_time_zone(time_zone)
    spec = text.strip()
    try:
        if ".." in spec:
            first, _, last = spec.partition("..")
            start, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
            if end < start:
                raise InputError(f"period {text!r} ends before it starts")
            return Period(spec, start, end + timedelta(days=1), tz_name)
        if m := _MONTH.match(spec):
            return bucket_period(date(int(m[1]), int(m[2]), 1), "month", tz_name)
        if m := _WEEK.match(spec):
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return bucket_period(monday, "week", tz_name)
        if _DAY.match(spec):
            return bucket_period(date.fromisoformat(spec), "day", tz_name)
        if m := _YEAR.match(spec):
            year = int(m[1])
            return Period(spec, date(year, 1, 1), date(year + 1, 1, 1), tz_name)
    except ValueError as exc:
        raise InputError(f"invalid period {text!r}: {exc}") from exc
    relative = _relative_period(spec, tz_name, now)
    if relative is not None:
        return relative
    raise InputError(
        f"invalid period {text!r}: write a month (2025-05), an ISO week (2025-W19), a day "
        "(2025-05-02), a year (2025), a range (2025-05-01..2025-05-15), or one of today, "
        "yesterday, this-week, last-week, this-month, last-month"
    )


def _relative_period(spec: str, tz_name: str, now: datetime | None) -> Period | None:
    today = (now or datetime.now(UTC)).astimezone(zone_info(tz_name)).date()
    granularity, back = {
        "today": ("day", 0),
        "yesterday": ("day", 1),
        "this-week": ("week", 0),
        "last-week": ("week", 1),
        "this-month": ("month", 0),
        "last-month": ("month", 1),
    }.get(spec, (None, 0))
    if granularity is None:
        return None
    return shift(bucket_period(bucket_start(today, granularity), granularity, tz_name), -back)


def shift(period: Period, count: int) -> Period:
    """The bucket ``count`` buckets after (negative: before) a one-bucket period."""
    granularity = period_granularity(period)
    start = period.start
    for _ in range(abs(count)):
        start = (
            next_bucket(start, granularity)
            if count > 0
            else bucket_start(start - timedelta(days=1), granularity)
        )
    return bucket_period(start, granularity, period.time_zone)


def period_granularity(period: Period) -> str:
    """``day``/``week``/``month`` when the period is exactly one such bucket, else InputError."""
    for granularity in GRANULARITIES:
        if (
            bucket_start(period.start, granularity) == period.start
            and next_bucket(period.start, granularity) == period.end
        ):
            return granularity
    raise InputError(f"period {period.label!r} is not a single day, week or month")


# --- SQL ------------------------------------------------------------------------------------


def offset_transitions(tz_name: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """``[(from_utc, offset_seconds), ...]``: the UTC offsets of ``tz_name`` over [start, end].

    The first entry starts at ``start``; each later one at an exact transition instant.
    """
    tz = zone_info(tz_name)

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    found = [(start, offset(start))]
    cursor = start
    step = timedelta(days=1)
    while cursor < end:
        following = min(cursor + step, end)
        if offset(following) != offset(cursor):
            low, high = cursor, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == offset(cursor):
                    low = middle
                else:
                    high = middle
            found.append((high.replace(microsecond=0), offset(following)))
        cursor = following
    return found


def bucket_expression(
    column: sa.ColumnElement[Any],
    granularity: str,
    time_zone: str,
    dialect: str,
    *,
    span: tuple[datetime, datetime] | None = None,
) -> sa.ColumnElement[Any]:
    """SQL for the local start date of the ``granularity`` bucket holding ``column``.

    ``span`` (UTC) bounds the timestamps the query can meet; SQLite needs it to know which
    daylight-saving transitions to encode (ignored for UTC and on PostgreSQL).
    """
    check_granularity(granularity)
    if dialect == "postgresql":
        return sa.cast(
            sa.func.date_trunc(granularity, sa.func.timezone(time_zone, column)), sa.Date
        )
    local: sa.ColumnElement[Any] = column
    if time_zone != "UTC":
        local = sa.func.datetime(column, _sqlite_offset(column, time_zone, span))
    if granularity == "day":
        return sa.func.date(local)
    if granularity == "week":
        return sa.func.date(local, "weekday 0", "-6 days")
    return sa.func.strftime("%Y-%m-01", local)


def bucket_starts(
    granularity: str, time_zone: str, span: tuple[datetime, datetime]
) -> tuple[list[date], list[datetime]]:
    """The buckets covering ``span`` (UTC, half-open): their local start dates, and the UTC
    instants where each starts followed by the end of the last one (one more than the dates).

    Rows with ``starts_utc[i] <= timestamp < starts_utc[i + 1]`` are in bucket ``dates[i]``:
    the same local midnights :meth:`Period.utc_range` cuts, so a bucket found this way and the
    range a bucket is recomputed over agree, daylight-saving transitions included.
    """
    check_granularity(granularity)
    zone = zone_info(time_zone)
    first = span[0].astimezone(zone).date()
    last = (span[1] - timedelta(microseconds=1)).astimezone(zone).date()
    dates = list(iter_buckets(first, last + timedelta(days=1), granularity))
    instants = [local_midnight_utc(start, zone) for start in dates]
    instants.append(local_midnight_utc(next_bucket(dates[-1], granularity), zone))
    return dates, instants


def _sqlite_offset(
    column: sa.ColumnElement[Any], time_zone: str, span: tuple[datetime, datetime] | None
) -> sa.ColumnElement[Any]:
    if span is None:
        raise InputError("a time-zone bucket on SQLite needs the time span of the data")
    transitions = offset_transitions(time_zone, span[0] - timedelta(days=1), span[1])
    if len(transitions) == 1:
        return sa.literal(f"{transitions[0][1]:+d} seconds")
    whens = [
        (column < sa.bindparam(None, at, type_=sa.DateTime(timezone=True)), f"{prev:+d} seconds")
        for (at, _), (_, prev) in zip(transitions[1:], transitions[:-1], strict=True)
    ]
    return sa.case(*whens, else_=f"{transitions[-1][1]:+d} seconds")


def as_date(value: Any) -> date:
    """A bucket value read back from SQL (``date`` on PostgreSQL, ISO text on SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_utc(value: Any) -> datetime:
    """A timestamp read back from SQL as an aware UTC datetime (SQLite gives naive UTC, or
    text from an aggregate such as ``MIN``; PostgreSQL an aware datetime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
