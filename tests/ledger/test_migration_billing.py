"""m0080_billing on a blank database and on one of the previous schema, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from opentelemetry.exporter.costledger.ledger import db, migrations, tables

_BILLING = {"billing_charges", "billing_lines", "billing_events"}


def test_m0080_on_a_blank_database(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        assert "m0080_billing" in migrations.migrate(engine)
        assert set(sa.inspect(engine).get_table_names()) >= _BILLING
    finally:
        engine.dispose()


def test_m0080_on_an_old_database_keeps_its_rows(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine, until="m0060_dimensions")
        assert not _BILLING & set(sa.inspect(engine).get_table_names())
        stamp = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_entries (idempotency_key, timestamp, category, source,"
                    " customer_id, cost_nanos, recorded_at) VALUES"
                    " ('span:1:1', :ts, 'api', 'span', 'cust_a', 25600000, :ts)"
                ),
                {"ts": stamp},
            )
        ran = migrations.migrate(engine)
        assert "m0080_billing" in ran
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM ledger_entries")).scalar() == 1
            conn.execute(
                tables.billing_charges.insert().values(
                    period="2025-05", time_zone="UTC", customer_id="cust_a",
                    period_start=date(2025, 5, 1), period_end=date(2025, 6, 1),
                    cost_nanos=25600000, usage_nanos=30000000, allowance_nanos=0,
                    minimum_topup_nanos=0, total_nanos=30000000, work_items=0,
                    unpriced_entries=0, computed_at=stamp,
                )
            )  # fmt: skip
            conn.execute(
                tables.billing_events.insert().values(
                    idempotency_key="cl-2025-05-r0-x", destination="stripe", period="2025-05",
                    time_zone="UTC", customer_id="cust_a", revision=0, period_starts_at=stamp,
                    period_ends_at=stamp, billing_customer="cus_A", amount_nanos=30000000,
                    total_nanos=30000000,
                    event_time=stamp, created_at=stamp,
                )
            )  # fmt: skip
            attempts = conn.execute(sa.select(tables.billing_events.c.attempts)).scalar()
        assert attempts == 0
        with engine.begin() as conn:
            try:
                conn.execute(
                    tables.billing_events.insert().values(
                        idempotency_key="cl-other", destination="stripe", period="2025-05",
                        time_zone="UTC", customer_id="cust_a", revision=0,
                        period_starts_at=stamp, period_ends_at=stamp,
                        billing_customer="cus_A", amount_nanos=1, total_nanos=1,
                        event_time=stamp, created_at=stamp,
                    )
                )  # fmt: skip
            except sa.exc.IntegrityError:
                duplicate_refused = True
            else:
                duplicate_refused = False
        assert duplicate_refused, "a second revision 0 for one customer and period"
    finally:
        engine.dispose()
