"""aggregate: sums by customer × period in SQL, incremental and exact, time zones."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.jobs.aggregate import (
    CostAggregate,
    aggregate,
    aggregate_rows,
)
from opentelemetry.exporter.costledger.ledger import db, migrations
from opentelemetry.exporter.costledger.ledger.migrations import m0001_ledger
from opentelemetry.exporter.costledger.ledger.schema import ledger_entries
from opentelemetry.exporter.costledger.ledger.tables import cost_aggregates
from opentelemetry.exporter.costledger.periods import parse_period

from .helpers import insert, row


def _by_customer(url: str, **kw: object) -> dict[tuple[str | None, date], CostAggregate]:
    return {(r.customer_id, r.period_start): r for r in aggregate_rows(url, **kw)}  # type: ignore[arg-type]


def test_monthly_totals_tokens_calls_work_items(ledger_url: str) -> None:
    insert(
        ledger_url,
        [
            row("cust_a", "2025-05-02T10:15:32", "0.0256", input_tokens=1200, output_tokens=450,
                uncached_input_tokens=1000, cache_read_tokens=200, work_item_id="t1"),
            row("cust_a", "2025-05-02T10:16:10", "0.0160", input_tokens=800, output_tokens=200,
                uncached_input_tokens=800, work_item_id="t1"),
            row("cust_a", "2025-05-31T23:59:59", "0.0001", category="embedding", model="emb",
                input_tokens=5000, uncached_input_tokens=5000, output_tokens=0, work_item_id="t2"),
            row("cust_a", "2025-05-02T10:25:00", "0.25", category="human_review",
                quantity=Decimal("0.5"), unit="hour"),
            row("cust_a", "2025-06-01T00:00:00", "1"),
            row("cust_b", "2025-05-10", None, model="mystery"),
            row(None, "2025-05-10", "2"),
        ],
    )  # fmt: skip
    result = aggregate(ledger_url)
    assert result.full
    got = _by_customer(ledger_url)
    may_a = got[("cust_a", date(2025, 5, 1))]
    assert may_a.cost_usd == Decimal("0.2917")
    assert may_a.cost_nanos == 291_700_000
    assert (may_a.entries, may_a.calls, may_a.work_items) == (4, 3, 2)
    assert (may_a.input_tokens, may_a.output_tokens) == (7000, 650)
    assert may_a.cache_read_tokens == 200
    assert got[("cust_a", date(2025, 6, 1))].cost_usd == Decimal(1)
    may_b = got[("cust_b", date(2025, 5, 1))]
    assert (may_b.unpriced_entries, may_b.cost_nanos) == (1, 0)
    assert got[(None, date(2025, 5, 1))].cost_usd == Decimal(2)
    assert got[("cust_a", date(2025, 5, 1))].period == "2025-05"


def test_incremental_recomputes_only_changed_buckets_and_matches_full(ledger_url: str) -> None:
    insert(ledger_url, [row("cust_a", "2025-05-02", "1", work_item_id="w1"),
                        row("cust_a", "2025-04-02", "5")])  # fmt: skip
    aggregate(ledger_url, granularity="month")
    again = aggregate(ledger_url, granularity="month")
    assert not again.full
    assert again.buckets == 2  # rows recorded within the safety overlap are looked at again
    insert(ledger_url, [row("cust_a", "2025-05-20", "2", work_item_id="w1"),
                        row("cust_c", "2025-05-21", "3", work_item_id="w9")])  # fmt: skip
    result = aggregate(ledger_url, granularity="month")
    assert not result.full
    incremental = _by_customer(ledger_url)
    assert incremental[("cust_a", date(2025, 5, 1))].cost_usd == Decimal(3)
    assert incremental[("cust_a", date(2025, 5, 1))].work_items == 1
    assert incremental[("cust_c", date(2025, 5, 1))].cost_usd == Decimal(3)
    assert incremental[("cust_a", date(2025, 4, 1))].cost_usd == Decimal(5)
    aggregate(ledger_url, granularity="month", full=True)
    assert _by_customer(ledger_url) == incremental


def test_incremental_skips_untouched_buckets(ledger_url: str) -> None:
    from datetime import timedelta

    insert(ledger_url, [row("cust_a", "2025-05-02", "1"), row("cust_a", "2025-04-02", "5")])
    aggregate(ledger_url, overlap=timedelta(0))
    insert(ledger_url, [row("cust_a", "2025-05-03", "1")])
    result = aggregate(ledger_url, overlap=timedelta(0))
    assert result.buckets == 1


def test_dimensions_week_and_time_zone(ledger_url: str) -> None:
    insert(
        ledger_url,
        [
            # 2025-03-30 22:30 UTC is already Monday 2025-03-31 in Berlin (CEST, +2).
            row("cust_a", "2025-03-30T22:30:00", "1", model="m1"),
            row("cust_a", "2025-03-30T21:30:00", "2", model="m2"),
            # before the DST switch: 2025-03-29 23:30 UTC is Sunday 00:30 in Berlin (+1).
            row("cust_a", "2025-03-29T23:30:00", "4", model="m1"),
        ],
    )
    aggregate(ledger_url, granularity="day", time_zone="Europe/Berlin")
    days = {
        r.period_start: r.cost_usd
        for r in aggregate_rows(ledger_url, granularity="day", time_zone="Europe/Berlin")
    }
    assert days == {date(2025, 3, 30): Decimal(6), date(2025, 3, 31): Decimal(1)}
    aggregate(ledger_url, granularity="week", dimensions="model")
    weeks = {
        (r.model, r.period_start): r.cost_usd
        for r in aggregate_rows(ledger_url, granularity="week", dimensions=["model"])
    }
    assert weeks == {("m1", date(2025, 3, 24)): Decimal(5), ("m2", date(2025, 3, 24)): Decimal(2)}
    may = aggregate_rows(
        ledger_url, granularity="week", dimensions="model", period=parse_period("2025-05")
    )
    assert may == []


def test_full_run_buckets_match_incremental_ones_in_a_dst_zone(ledger_url: str) -> None:
    # Each row sits a second either side of a local midnight in New York, around both DST
    # switches: a full run (every bucket at once) and a run recomputing each bucket over its
    # UTC range must put every row in the same day.
    stamps = [
        "2025-03-09T04:59:59",
        "2025-03-09T05:00:00",  # midnight EST (-5), before the switch
        "2025-03-10T03:59:59",
        "2025-03-10T04:00:00",  # midnight EDT (-4), after it
        "2025-11-02T03:59:59",
        "2025-11-02T04:00:00",  # midnight EDT, the day it ends
        "2025-11-03T04:59:59",
        "2025-11-03T05:00:00",  # midnight EST
    ]
    insert(ledger_url, [row("cust_a", stamp, str(n + 1)) for n, stamp in enumerate(stamps)])
    kw = {"granularity": "day", "time_zone": "America/New_York"}
    aggregate(ledger_url, full=True, **kw)  # type: ignore[arg-type]
    full = {r.period_start: r.cost_usd for r in aggregate_rows(ledger_url, **kw)}  # type: ignore[arg-type]
    assert full == {
        date(2025, 3, 8): Decimal(1), date(2025, 3, 9): Decimal(2 + 3),
        date(2025, 3, 10): Decimal(4), date(2025, 11, 1): Decimal(5),
        date(2025, 11, 2): Decimal(6 + 7), date(2025, 11, 3): Decimal(8),
    }  # fmt: skip
    insert(ledger_url, [row("cust_a", "2025-03-09T12:00:00", "100")])
    aggregate(ledger_url, **kw)  # type: ignore[arg-type]
    again = {r.period_start: r.cost_usd for r in aggregate_rows(ledger_url, **kw)}  # type: ignore[arg-type]
    assert again == {**full, date(2025, 3, 9): Decimal(105)}


def test_rows_outside_the_runs_span_are_left_for_the_next_run(ledger_url: str) -> None:
    # A full run cuts buckets over the span it read first; a row committed while it runs may
    # fall outside them. It is left out (not put in a wrong bucket, not a NULL period) and the
    # next run counts it.
    from datetime import UTC, datetime

    from opentelemetry.exporter.costledger.jobs import groups as job
    from opentelemetry.exporter.costledger.periods import bucket_starts

    insert(ledger_url, [row("cust_a", "2025-04-10", "1"), row("cust_a", "2025-05-10", "2"),
                        row("cust_a", "2025-07-02", "4")])  # fmt: skip
    span = (datetime(2025, 4, 10, tzinfo=UTC), datetime(2025, 5, 11, tzinfo=UTC))
    engine = db.create_engine(ledger_url)
    with engine.begin() as conn:
        bucket, read_back = job.bucket_column(conn.dialect.name, "month", "UTC", span)
        found = sorted(read_back(v) or date.max for v in conn.execute(sa.select(bucket)).scalars())
        assert found == [date(2025, 4, 1), date(2025, 5, 1), date.max]
        dates, bounds = bucket_starts("month", "UTC", span)
        job.write_groups(conn, "month", ("customer",), "UTC", dates, bounds)
        written = conn.execute(
            sa.select(cost_aggregates.c.period_start, cost_aggregates.c.cost_nanos)
        ).all()
    engine.dispose()
    assert sorted(written) == [(date(2025, 4, 1), 10**9), (date(2025, 5, 1), 2 * 10**9)]
    aggregate(ledger_url)
    got = _by_customer(ledger_url)
    assert [got[("cust_a", date(2025, m, 1))].cost_usd for m in (4, 5, 7)] == [1, 2, 4]


def test_unknown_dimension_is_an_input_error(sqlite_url: str) -> None:
    with pytest.raises(InputError, match="unknown dimension"):
        aggregate(sqlite_url, dimensions="planet")


def test_upgrade_from_first_schema_keeps_rows(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    assert migrations.migrate(engine, until="m0001_ledger") == ["m0001_ledger"]
    with engine.begin() as conn:  # a ledger written before the jobs' migration existed
        values = row("cust_a", "2025-05-02", "1").values()
        first = {c.name for c in m0001_ledger.ledger_entries.columns}
        values = {k: v for k, v in values.items() if k in first}
        conn.execute(ledger_entries.insert().values(**values, recorded_at=values["timestamp"]))
    engine.dispose()
    aggregate(ledger_url)
    engine = db.create_engine(ledger_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cost_aggregates)).scalar() == 1
    engine.dispose()


def test_incremental_recomputes_only_the_changed_customers(ledger_url: str) -> None:
    from datetime import timedelta

    insert(ledger_url, [row("cust_a", "2025-05-02", "1"), row("cust_b", "2025-05-02", "2"),
                        row(None, "2025-05-03", "4")])  # fmt: skip
    aggregate(ledger_url, overlap=timedelta(0))
    before = {r["customer_id"]: r for r in _rows_with_ids(ledger_url)}
    insert(ledger_url, [row("cust_b", "2025-05-20", "3"), row(None, "2025-05-21", "5")])
    result = aggregate(ledger_url, overlap=timedelta(0))
    assert result.buckets == 1
    after = {r["customer_id"]: r for r in _rows_with_ids(ledger_url)}
    assert after["cust_a"]["id"] == before["cust_a"]["id"]  # untouched: not rewritten
    assert after["cust_b"]["id"] != before["cust_b"]["id"]
    assert (after["cust_b"]["cost_nanos"], after[None]["cost_nanos"]) == (5 * 10**9, 9 * 10**9)
    incremental = {k: v["cost_nanos"] for k, v in after.items()}
    aggregate(ledger_url, full=True)
    assert {k: v["cost_nanos"] for k, v in ((r["customer_id"], r) for r in
            _rows_with_ids(ledger_url))} == incremental  # fmt: skip


def _rows_with_ids(url: str) -> list[dict[str, object]]:
    engine = db.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(cost_aggregates)).mappings()]
    engine.dispose()
    return rows


def test_text_that_differs_only_in_case_or_unicode_form_stays_distinct(ledger_url: str) -> None:
    # Groups and distinct work items are compared byte for byte (COLLATE "C" on PostgreSQL),
    # which is what every deterministic collation does for equality: nothing is merged.
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    insert(
        ledger_url,
        [
            row("cust_a", "2025-05-02", "1", work_item_id="Ticket-1"),
            row("cust_a", "2025-05-03", "1", work_item_id="ticket-1"),
            row("cust_a", "2025-05-04", "1", work_item_id=composed),
            row("cust_a", "2025-05-05", "1", work_item_id=decomposed),
            row("cust_a", "2025-05-06", "1", work_item_id="ticket-1"),
            row("Cust_A", "2025-05-06", "2", work_item_id="ticket-1"),
            row("cust_a", "2025-05-07", "1"),
        ],
    )
    aggregate(ledger_url, dimensions="customer,work_item")
    aggregate(ledger_url)
    got = _by_customer(ledger_url)
    assert got[("cust_a", date(2025, 5, 1))].work_items == 4
    assert got[("cust_a", date(2025, 5, 1))].entries == 6
    assert got[("Cust_A", date(2025, 5, 1))].cost_usd == Decimal(2)
    items = {
        r.work_item_id: (r.entries, r.work_items)
        for r in aggregate_rows(ledger_url, dimensions="customer,work_item")
        if r.customer_id == "cust_a"
    }
    assert items == {
        "Ticket-1": (1, 1),
        "ticket-1": (2, 1),
        composed: (1, 1),
        decomposed: (1, 1),
        None: (1, 0),
    }
