"""Schema migrations on a blank database, on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from opentelemetry.exporter.costledger.ledger import db, migrations, schema, tables
from opentelemetry.exporter.costledger.ledger.migrations import m0030_result_periods as m0030


def test_blank_database_gets_every_migration_once(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        first = migrations.migrate(engine)
        assert first == [m.name for m in migrations.all_migrations()]
        assert migrations.migrate(engine) == []
        columns = {c["name"] for c in sa.inspect(engine).get_columns("ledger_entries")}
        assert columns == {c.name for c in schema.ledger_entries.columns}
    finally:
        engine.dispose()


def test_seed_step3_columns_are_on_the_cost_ledger_view(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine)
        with engine.connect() as conn:
            result = conn.execute(sa.text("SELECT * FROM cost_ledger WHERE 1 = 0"))
            names = set(result.keys())
        assert {
            "timestamp",
            "customer_id",
            "workspace_id",
            "work_item_id",
            "user_id",
            "model",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "category",
        } <= names
    finally:
        engine.dispose()


def test_sqlite_ledger_uses_wal(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_a_bare_path_is_a_sqlite_file(tmp_path: Path) -> None:
    assert db.resolve_database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"


def test_upgrade_from_the_first_schema_keeps_rows(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        assert migrations.migrate(engine, until="m0001_ledger") == ["m0001_ledger"]
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_entries (idempotency_key, timestamp, category, source,"
                    " customer_id, input_tokens, cost_nanos, recorded_at) VALUES"
                    " ('span:1:1', :ts, 'api', 'span', 'cust_12345', 1200, 25600000, :ts)"
                ),
                {"ts": datetime(2025, 5, 31, 23, 30, tzinfo=UTC)},
            )
        ran = migrations.migrate(engine)
        assert ran == [m.name for m in migrations.all_migrations()][1:]
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SET TIME ZONE 'Europe/Berlin'"))
            row = conn.execute(
                sa.text("SELECT customer_id, timestamp, cost_usd, input_tokens FROM cost_ledger")
            ).one()
        assert row.customer_id == "cust_12345" and row.input_tokens == 1200
        # The view shows UTC whatever the session's time zone.
        assert str(row.timestamp).startswith("2025-05-31 23:30:00")
        assert Decimal(str(row.cost_usd)) == Decimal("0.0256")
    finally:
        engine.dispose()


def test_m0030_dates_the_periods_of_existing_alerts_and_rankings(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine, until="m0020_jobs")
        stamp = datetime(2026, 12, 1, 8, tzinfo=UTC)
        with engine.begin() as conn:
            labels = {"spike:2026-W48:a": "2026-W48", "unpriced:x:y": "2026-11",
                      "spike:r:a": "2026-11-01..2026-11-15", "odd": None}  # fmt: skip
            for key, period in labels.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO alerts (alert_key, kind, period, message, first_seen_at)"
                        " VALUES (:key, 'spike', :period, 'm', :stamp)"
                    ),
                    {"key": key, "period": period, "stamp": stamp},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO profitability (period, time_zone, customer_id, rank,"
                    " ai_cost_nanos, computed_at) VALUES ('2025-05', 'Europe/Berlin', 'a', 1, 5,"
                    " :stamp)"
                ),
                {"stamp": stamp},
            )
        assert migrations.migrate(engine, until="m0030_result_periods") == ["m0030_result_periods"]
        with engine.connect() as conn:
            alerts = {
                key: (tz, str(start)[:10] if start else None, str(end)[:10] if end else None)
                for key, tz, start, end in conn.execute(
                    sa.select(
                        tables.alerts.c.alert_key,
                        tables.alerts.c.time_zone,
                        tables.alerts.c.period_start,
                        tables.alerts.c.period_end,
                    )
                )
            }
            ranked = conn.execute(
                sa.select(tables.profitability.c.period_start, tables.profitability.c.period_end)
            ).one()
        assert alerts == {
            "spike:2026-W48:a": ("UTC", "2026-11-23", "2026-11-30"),
            "unpriced:x:y": ("UTC", "2026-11-01", "2026-12-01"),
            "spike:r:a": ("UTC", "2026-11-01", "2026-11-16"),
            "odd": ("UTC", None, None),
        }
        assert [str(d)[:10] for d in ranked] == ["2025-05-01", "2025-06-01"]
        columns = {c["name"] for c in sa.inspect(engine).get_columns("alerts")}
        # What m0030 leaves (m0070 adds the budget columns after it).
        assert columns == {c.name for c in m0030.alerts_table.columns}
    finally:
        engine.dispose()


def test_m0070_adds_the_budget_columns_and_table(ledger_url: str) -> None:
    """On an old database (up to m0060) an alert keeps its row, with NULL in the new columns."""
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine, until="m0060_dimensions")
        stamp = datetime(2026, 12, 1, 8, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO alerts (alert_key, kind, period, message, first_seen_at,"
                    " amount_nanos) VALUES ('over_budget:2025-05:a', 'over_budget', '2025-05',"
                    " 'm', :stamp, 7)"
                ),
                {"stamp": stamp},
            )
        # Later migrations (m0080_billing, ...) follow it: m0070 is the first to run.
        assert migrations.migrate(engine)[0] == "m0070_budgets"
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("alerts")}
        assert columns == {c.name for c in tables.alerts.columns}
        status = {c["name"] for c in inspector.get_columns("budget_status")}
        assert status == {c.name for c in tables.budget_status.columns}
        with engine.connect() as conn:
            old = conn.execute(sa.select(tables.alerts)).mappings().one()
        assert old["amount_nanos"] == 7 and old["scope"] is None and old["forecast_date"] is None
    finally:
        engine.dispose()


def test_blank_database_has_the_budget_columns_and_table(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine)
        inspector = sa.inspect(engine)
        for table in (tables.alerts, tables.budget_status):
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}
    finally:
        engine.dispose()
