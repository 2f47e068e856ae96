"""When a scheduled job runs: ``every = "1h"`` intervals and five-field cron expressions.

Cron fields take ``*``, numbers, ranges ``1-5``, lists ``1,15`` and steps ``*/15``; day of week
0–7 (0 and 7 are Sunday); when both day fields are restricted either may match (as in cron)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .. import periods
from ..errors import ConfigError

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
