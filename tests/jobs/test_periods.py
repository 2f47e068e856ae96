"""periods: parsing, relative periods, DST transitions for SQLite buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.periods import (
    bucket_starts,
    offset_transitions,
    parse_period,
    shift,
)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025-05", date(2025, 5, 1), date(2025, 6, 1)),
        ("2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2025-W20", date(2025, 5, 12), date(2025, 5, 19)),
        ("2025-05-02", date(2025, 5, 2), date(2025, 5, 3)),
        ("2025", date(2025, 1, 1), date(2026, 1, 1)),
        ("2025-05-01..2025-05-15", date(2025, 5, 1), date(2025, 5, 16)),
    ],
)
def test_parse(text: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.start, period.end, period.label) == (start, end, text)


def test_relative_periods_in_a_time_zone() -> None:
    # 23:30 UTC on May 31 is already June 1 in Berlin.
    now = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
    assert parse_period("last-month", "UTC", now=now).label == "2025-04"
    assert parse_period("last-month", "Europe/Berlin", now=now).label == "2025-05"
    assert parse_period("this-week", "UTC", now=now).label == "2025-W22"
    assert parse_period("yesterday", "UTC", now=now).label == "2025-05-30"
    assert shift(parse_period("2025-01"), -1).label == "2024-12"
    assert shift(parse_period("2025-W01"), -1).label == "2024-W52"


def test_utc_range_of_a_local_month() -> None:
    lo, hi = parse_period("2025-03", "Europe/Berlin").utc_range()
    assert lo == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    assert hi == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)


def test_bucket_starts_are_local_midnights_across_dst() -> None:
    span = (datetime(2025, 3, 29, 22, 0, tzinfo=UTC), datetime(2025, 3, 31, 1, 0, tzinfo=UTC))
    dates, bounds = bucket_starts("day", "Europe/Berlin", span)
    assert dates == [date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)]
    assert bounds == [
        datetime(2025, 3, 28, 23, 0, tzinfo=UTC),  # +1 before the switch
        datetime(2025, 3, 29, 23, 0, tzinfo=UTC),
        datetime(2025, 3, 30, 22, 0, tzinfo=UTC),  # +2 after it
        datetime(2025, 3, 31, 22, 0, tzinfo=UTC),
    ]
    months = bucket_starts("month", "America/New_York", (span[0], span[0]))
    assert months[0] == [date(2025, 3, 1)]
    assert months[1] == [datetime(2025, 3, 1, 5, tzinfo=UTC), datetime(2025, 4, 1, 4, tzinfo=UTC)]


def test_offset_transitions_find_dst_to_the_second() -> None:
    found = offset_transitions(
        "Europe/Berlin", datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert found == [
        (datetime(2025, 1, 1, tzinfo=UTC), 3600),
        (datetime(2025, 3, 30, 1, 0, tzinfo=UTC), 7200),
        (datetime(2025, 10, 26, 1, 0, tzinfo=UTC), 3600),
    ]


@pytest.mark.parametrize("text", ["May", "2025-13", "2025-05-32", "2025-05-09..2025-05-01"])
def test_bad_periods_say_how_to_write_one(text: str) -> None:
    with pytest.raises(InputError):
        parse_period(text)


def test_unknown_time_zone() -> None:
    with pytest.raises(InputError, match="IANA"):
        parse_period("2025-05", "Mars/Olympus")
