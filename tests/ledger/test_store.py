"""The ledger database on SQLite and PostgreSQL: idempotent inserts, exact money, Step 3."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.errors import DatabaseError
from opentelemetry.exporter.costledger.ledger.rows import LedgerRow
from opentelemetry.exporter.costledger.ledger.schema import ledger_entries
from opentelemetry.exporter.costledger.ledger.store import DatabaseUnavailable, LedgerStore

T0 = datetime(2025, 5, 2, 10, 15, 32, 123456, tzinfo=UTC)


def _row(key: str, **values: Any) -> LedgerRow:
    return LedgerRow.make(key, values.pop("timestamp", T0), "api", **values)


@pytest.fixture
def store(ledger_url: str) -> Iterator[LedgerStore]:
    made = LedgerStore(ledger_url)
    yield made
    made.close()


def test_same_key_twice_is_one_row(store: LedgerStore) -> None:
    rows = [_row("span:a:1", cost_nanos=5), _row("span:a:2", cost_nanos=7)]
    first = store.insert(rows)
    again = store.insert([*rows, _row("span:a:3", cost_nanos=11)])
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (again.inserted, again.duplicates) == (1, 2)
    with store.engine.connect() as conn:
        count, total = conn.execute(
            sa.select(sa.func.count(), sa.func.sum(ledger_entries.c.cost_nanos))
        ).one()
    assert (count, total) == (3, 23)


def test_batches_after_a_conflict_and_long_after_count_exactly(store: LedgerStore) -> None:
    # PostgreSQL COPYs new rows straight in and falls back after a conflict for a few batches:
    # whichever path a batch takes, every key counts once and nothing else is lost.
    assert store.insert([_row("first", cost_nanos=1)]).inserted == 1
    outcomes = [store.insert([_row("first"), _row("fresh-0", cost_nanos=1)])]
    for n in range(1, 12):
        outcomes.append(store.insert([_row(f"fresh-{n}", cost_nanos=1)]))
    outcomes.append(store.insert([_row("fresh-3"), _row("fresh-new", cost_nanos=1)]))
    assert [(o.inserted, o.duplicates) for o in outcomes] == [(1, 1)] + [(1, 0)] * 11 + [(1, 1)]
    with store.engine.connect() as conn:
        count, total = conn.execute(
            sa.select(sa.func.count(), sa.func.sum(ledger_entries.c.cost_nanos))
        ).one()
    assert (count, total) == (14, 14)


def test_duplicates_inside_one_batch_count_once(store: LedgerStore) -> None:
    result = store.insert([_row("k", cost_nanos=1), _row("k", cost_nanos=2)])
    assert (result.inserted, result.duplicates) == (1, 1)


def test_every_column_round_trips(store: LedgerStore) -> None:
    row = LedgerRow.make(
        idempotency_key="span:" + "ab" * 16 + ":" + "cd" * 8,
        timestamp=T0,
        category="human_review",
        source="span",
        customer_id="cust_12345",
        customer_name="Acme",
        workspace_id="ws_abc",
        work_item_id="ticket_67890",
        user_id="u_1",
        service="support-bot",
        provider="anthropic",
        model="claude-sonnet-4-5",
        operation="chat",
        input_tokens=7100,
        output_tokens=300,
        uncached_input_tokens=100,
        cache_read_tokens=5000,
        cache_write_5m_tokens=1500,
        cache_write_1h_tokens=500,
        reasoning_tokens=0,
        quantity=Decimal("0.500000001"),
        unit="hour",
        cost_nanos=22_500_000_045,
        currency="USD",
        price_rule="prices.toml:3 unit_price",
        unpriced_reason=None,
        flags="x; y",
        batch=True,
        service_tier="priority",
        trace_id="ab" * 16,
        span_id="cd" * 8,
    )
    store.insert([row])
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(ledger_entries)).mappings().one()
    for name, value in row.values().items():
        got = stored[name]
        if name == "timestamp":
            got = got if got.tzinfo else got.replace(tzinfo=UTC)
        if name == "quantity" and store.engine.dialect.name == "sqlite":
            # SQLite has no exact decimal type: quantities are REAL there.
            assert got == pytest.approx(value)
            continue
        assert got == value, name
    assert stored["recorded_at"] is not None


def _cost(i: int) -> int:
    # Pseudo-random costs with all nine decimals (up to ~$12.35 a row), computable in SQL too.
    return (i * 2654435761) % 12345678901 + 1


def test_a_million_rows_sum_exactly(store: LedgerStore) -> None:
    n = 1_000_000
    select = (
        "SELECT 'k' || i, '2025-05-02 10:15:32', 'api', 'span', 'cust_' || (i % 4),"
        " (i * 2654435761) % 12345678901 + 1, '2025-05-02 10:15:32'"
    )
    columns = "idempotency_key, timestamp, category, source, customer_id, cost_nanos, recorded_at"
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    f"INSERT INTO ledger_entries ({columns})"
                    f" {select} FROM generate_series(1, {n}) AS i"
                )
            )
        else:
            conn.execute(
                sa.text(
                    f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})"
                    f" INSERT INTO ledger_entries ({columns}) {select} FROM n"
                )
            )
    # A few rows through the store too, so its path is part of the sum.
    store.insert(
        [_row(f"store{i}", customer_id="cust_1", cost_nanos=_cost(n + i)) for i in range(1, 1001)]
    )
    costs = [_cost(i) for i in range(1, n + 1001)]
    expected = sum(costs)
    with store.engine.connect() as conn:
        count, total = conn.execute(
            sa.text("SELECT COUNT(*), SUM(cost_nanos) FROM ledger_entries")
        ).one()
        per_customer: dict[str, int] = {
            customer: int(cost)
            for customer, cost in conn.execute(
                sa.text("SELECT customer_id, SUM(cost_nanos) FROM cost_ledger GROUP BY customer_id")
            )
        }
        assert count == n + 1000
        assert int(total) == expected
        assert sum(int(v) for v in per_customer.values()) == expected
        assert int(per_customer["cust_2"]) == sum(_cost(i) for i in range(2, n + 1, 4))
        if store.engine.dialect.name == "postgresql":
            usd = conn.execute(sa.text("SELECT SUM(cost_usd) FROM cost_ledger")).scalar_one()
            assert isinstance(usd, Decimal)
            assert usd == Decimal(expected) / Decimal(1_000_000_000)
            one = conn.execute(
                sa.text("SELECT cost_usd FROM cost_ledger WHERE idempotency_key = 'k7'")
            )
            assert one.scalar_one() == Decimal(_cost(7)) / Decimal(1_000_000_000)


STEP3_POSTGRES = """
SELECT
  customer_id,
  DATE_TRUNC('month', timestamp) as month,
  SUM(cost_usd) as total_ai_cost,
  SUM(input_tokens) as total_input_tokens,
  SUM(output_tokens) as total_output_tokens,
  COUNT(*) as api_calls
FROM cost_ledger
GROUP BY customer_id, month
ORDER BY total_ai_cost DESC;
"""

STEP3_SQLITE = """
SELECT
  customer_id,
  strftime('%Y-%m-01', timestamp) as month,
  SUM(cost_usd) as total_ai_cost,
  SUM(input_tokens) as total_input_tokens,
  SUM(output_tokens) as total_output_tokens,
  COUNT(*) as api_calls
FROM cost_ledger
GROUP BY customer_id, month
ORDER BY total_ai_cost DESC;
"""


def _seed_rows() -> list[LedgerRow]:
    # The seed's Step 2 rows, plus a call in the last half hour of May (UTC) and one in June.
    def row(
        key: str, at: datetime, customer: str, model: str, i: int, o: int, cost: int
    ) -> LedgerRow:
        return LedgerRow.make(
            key,
            at,
            "api",
            customer_id=customer,
            workspace_id="ws_abc",
            work_item_id="ticket_67890",
            model=model,
            input_tokens=i,
            output_tokens=o,
            cost_nanos=cost,
        )

    may = datetime(2025, 5, 2, 10, 15, 32, tzinfo=UTC)
    return [
        row("1", may, "cust_12345", "claude-3-5-sonnet", 1200, 450, 25_600_000),
        row(
            "2",
            may + timedelta(seconds=38),
            "cust_12345",
            "claude-3-5-sonnet",
            800,
            200,
            16_000_000,
        ),
        row("3", may + timedelta(minutes=5), "cust_12345", "embedding-api", 5000, 0, 100_000),
        row(
            "4",
            datetime(2025, 5, 31, 23, 30, tzinfo=UTC),
            "cust_67890",
            "gpt-4o",
            10,
            10,
            1_000_000_000,
        ),
        row("5", datetime(2025, 6, 1, 0, 30, tzinfo=UTC), "cust_67890", "gpt-4o", 1, 1, 1_000_000),
    ]


def test_seed_step3_query_runs_as_written(store: LedgerStore) -> None:
    store.insert(_seed_rows())
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.connect() as conn:
        if postgres:
            # Months are UTC months even for a client far from UTC.
            conn.execute(sa.text("SET TIME ZONE 'Pacific/Auckland'"))
        result = conn.execute(sa.text(STEP3_POSTGRES if postgres else STEP3_SQLITE)).all()
    months = [(r[0], str(r[1])[:7], r[3], r[4], r[5]) for r in result]
    assert months == [
        ("cust_67890", "2025-05", 10, 10, 1),
        ("cust_12345", "2025-05", 7000, 650, 3),
        ("cust_67890", "2025-06", 1, 1, 1),
    ]
    totals = [r[2] for r in result]
    if postgres:
        assert totals == [Decimal("1"), Decimal("0.0417"), Decimal("0.001")]
    else:
        assert totals == pytest.approx([1, 0.0417, 0.001])


def test_locked_sqlite_is_unavailable_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    store = LedgerStore(f"sqlite:///{path}", timeout=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseUnavailable, match="database is locked"):
            store.insert([_row("a")])
        blocker.execute("ROLLBACK")
        assert store.insert([_row("a")]).inserted == 1
    finally:
        blocker.close()
        store.close()


def test_postgres_refusing_connections_is_unavailable(postgres_url: str) -> None:
    url = sa.make_url(postgres_url)
    with sa.create_engine(url.set(database="postgres")).connect():
        pass  # the real server is up...
    bad = url.set(port=_free_port())  # ...but nothing listens here
    store = LedgerStore(bad.render_as_string(hide_password=False), migrate=False, timeout=1)
    try:
        with pytest.raises(DatabaseUnavailable, match="unavailable"):
            store.insert([_row("a")])
    finally:
        store.close()


def test_a_file_that_is_not_a_database_is_a_lasting_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(DatabaseError) as caught:
        LedgerStore(f"sqlite:///{path}")
    assert not isinstance(caught.value, DatabaseUnavailable)
    assert "not a database" in str(caught.value)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_exporters_starting_together_migrate_a_new_database_once(ledger_url: str) -> None:
    import threading

    stores = [LedgerStore(ledger_url, migrate=False) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def write(store: LedgerStore, number: int) -> None:
        start.wait()
        # An exporter retries what is unavailable, after a pause: the migration (longer since
        # m0060) holds the lock meanwhile, and 20 immediate retries ran out under load.
        for _ in range(500):
            try:
                store.insert([_row(f"k{number}")])
                return
            except DatabaseUnavailable:
                time.sleep(0.01)
                continue
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with stores[0].engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM ledger_entries")).scalar_one() == 4
    finally:
        for store in stores:
            store.close()


@pytest.mark.postgres
def test_postgres_statement_stuck_behind_a_lock_is_cancelled(postgres_url: str) -> None:
    store = LedgerStore(postgres_url, statement_timeout=0.5)
    other = sa.create_engine(postgres_url)
    try:
        with other.connect() as conn:
            # Another session inserts the same key and does not commit yet: ours must wait.
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_entries (idempotency_key, timestamp, category, source,"
                    " recorded_at) VALUES ('a', now(), 'api', 'span', now())"
                )
            )
            with pytest.raises(DatabaseUnavailable, match="statement timeout"):
                store.insert([_row("a")])
            conn.commit()
        assert store.insert([_row("a")]).duplicates == 1
    finally:
        store.close()
        other.dispose()


def test_timestamps_are_stored_as_utc_instants(store: LedgerStore) -> None:
    from datetime import timezone

    moments = {
        "whole-second": datetime(2025, 5, 2, 10, 15, 32, tzinfo=UTC),
        "micro": datetime(2025, 5, 2, 10, 15, 32, 5, tzinfo=UTC),
        "offset": datetime(2025, 5, 2, 12, 15, 32, 7, tzinfo=timezone(timedelta(hours=2))),
    }
    store.insert([_row(key, timestamp=at) for key, at in moments.items()])
    with store.engine.connect() as conn:
        stored = dict(
            conn.execute(
                sa.select(ledger_entries.c.idempotency_key, ledger_entries.c.timestamp)
            ).all()
        )
    for key, at in moments.items():
        got = stored[key]
        assert (got if got.tzinfo else got.replace(tzinfo=UTC)) == at, key
