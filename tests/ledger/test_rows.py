"""The ledger row (what the store inserts, as it inserts it) and its timestamp text."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from opentelemetry.exporter.costledger.ledger.rows import (
    LedgerRow,
    timestamp_text,
    timestamp_text_ns,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_timestamp_text_is_sqlalchemys_sqlite_text_truncated_to_the_microsecond() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        at_ns = rng.randrange(0, 4_102_444_800 * 10**9)  # 1970 .. 2100
        at = _EPOCH + timedelta(microseconds=at_ns // 1000)
        assert timestamp_text_ns(at_ns) == at.replace(tzinfo=None).isoformat(" ", "microseconds")
    assert timestamp_text_ns(0) == "1970-01-01 00:00:00.000000"
    assert timestamp_text(datetime(9999, 12, 31, 23, 59, 59, 999999)) == (
        "9999-12-31 23:59:59.999999"
    )
    plus_five = datetime(2025, 1, 1, 3, tzinfo=timezone(timedelta(hours=5)))
    assert timestamp_text(plus_five) == "2024-12-31 22:00:00.000000"


def test_a_row_holds_what_the_driver_takes_and_gives_python_values_back() -> None:
    at = datetime(2025, 5, 2, 10, 15, 32, 123456, tzinfo=UTC)
    row = LedgerRow.make(
        "k",
        at,
        "human_review",
        quantity=Decimal("0.500000001"),
        unit="hour",
        cost_nanos=22_500_000_045,
        customer_id="cust_1",
        batch=True,
    )
    assert row.timestamp == "2025-05-02 10:15:32.123456" and row.quantity == "0.500000001"
    assert all(type(value) in (str, int, bool, type(None)) for value in row)
    values = row.values()
    assert values["timestamp"] == at and values["quantity"] == Decimal("0.500000001")
    assert LedgerRow.make(**values) == row
    assert row.time == at and row.exact_quantity == Decimal("0.500000001")
    assert row.cost_usd == Decimal("22.500000045")
    naive = LedgerRow.make("k", at.replace(tzinfo=None), "api")
    assert naive.timestamp == row.timestamp and naive.quantity is None


def test_the_loss_log_line_reads_rows(caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.exporter.costledger.ingest.exporter import _log_dropped

    at = datetime(2025, 5, 2, 10, 15, 32, 123456, tzinfo=UTC)
    rows = [
        LedgerRow.make("a", at, "api", customer_id="cust_2", cost_nanos=1_500_000_000),
        LedgerRow.make("b", at + timedelta(hours=1), "api", customer_id="cust_1"),
        LedgerRow.make("c", at - timedelta(days=1), "api", cost_nanos=7),
    ]
    with caplog.at_level(logging.WARNING):
        _log_dropped(rows, "testing", logging.WARNING)
    assert caplog.records[-1].getMessage() == (
        "costledger: DROPPED 3 ledger rows (testing): 2 priced totalling 1.500000007 USD,"
        " from 2025-05-01T10:15:32.123456+00:00 to 2025-05-02T11:15:32.123456+00:00,"
        " customers (none), cust_1, cust_2"
    )
