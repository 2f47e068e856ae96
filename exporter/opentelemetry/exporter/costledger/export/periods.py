"""Reporting periods as users type them: ``--period 2025-05`` and friends.

A :class:`Period` is a half-open UTC interval ``[start, end)``; every query filters
``start <= timestamp < end`` so adjacent periods never count a row twice. Accepted spellings:

==========================  =====================================================
``2025``                    the calendar year
``2025-05``                 the calendar month
``2025-W18``                the ISO week (Monday to Monday)
``2025-05-02``              one day
``2025-05-01..2025-05-15``  the days from the first to the last, both included
``last-7d`` / ``last-30d``  the N whole days up to and including today (UTC)
``all``                     everything in the ledger
==========================  =====================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..errors import InputError

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in UTC, with the spelling the user gave as ``label``."""

    start: datetime
    end: datetime
    label: str

    def days(self) -> list[date]:
        """Every UTC day the period touches (empty for ``all``: the ledger decides)."""
        if self.start == _EARLIEST:
            return []
        first = self.start.date()
        last = (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    @property
    def unbounded(self) -> bool:
        return self.start == _EARLIEST and self.end == _LATEST


def _day(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def parse_period(text: str, *, today: date | None = None) -> Period:
    """Parse a period spelling (see the module docstring); raise :class:`InputError` if bad."""
    spec = text.strip()
    try:
        if spec == "all":
            return Period(_EARLIEST, _LATEST, spec)
        if m := re.fullmatch(r"last-(\d+)d", spec):
            days = int(m.group(1))
            if days < 1:
                raise ValueError("at least one day")
            now = today or datetime.now(UTC).date()
            end = _day(now.isoformat()) + timedelta(days=1)
            return Period(end - timedelta(days=days), end, spec)
        if re.fullmatch(r"\d{4}", spec):
            year = int(spec)
            return Period(_month_start(year, 1), _month_start(year + 1, 1), spec)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", spec):
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError("month out of range")
            return Period(_month_start(year, month), _month_start(year, month + 1), spec)
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", spec):
            monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
            start = _day(monday.isoformat())
            return Period(start, start + timedelta(days=7), spec)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", spec):
            start, last = _day(m.group(1)), _day(m.group(2))
            if last < start:
                raise ValueError("the range ends before it starts")
            return Period(start, last + timedelta(days=1), spec)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec):
            start = _day(spec)
            return Period(start, start + timedelta(days=1), spec)
    except ValueError as exc:
        raise InputError(f"invalid period {text!r}: {exc}") from exc
    raise InputError(
        f"invalid period {text!r}: use YYYY, YYYY-MM, YYYY-Www, YYYY-MM-DD, "
        "YYYY-MM-DD..YYYY-MM-DD, last-Nd or all"
    )
