"""``span_counts`` (migration m0010): upgrade path, NULL keys, idempotent counting, pruning."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve.counts import (
    prune_requests,
    record_counts,
    span_count_requests,
    span_counts,
)
from opentelemetry.exporter.costledger.ingest.serve.decoded import CountKey
from opentelemetry.exporter.costledger.ledger import db, migrations

from .conftest import span_counts as read_counts


def test_upgrade_from_the_first_schema_keeps_rows(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine, until="m0001_ledger")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_entries (idempotency_key, timestamp, category, source,"
                    " recorded_at) VALUES ('k', :t, 'api', 'span', :t)"
                ),
                {"t": datetime(2025, 6, 1, tzinfo=UTC)},
            )
        assert "m0010_span_counts" in migrations.migrate(engine)
        inspector = sa.inspect(engine)
        for table in (span_counts, span_count_requests):
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM ledger_entries")).scalar() == 1
    finally:
        engine.dispose()


def test_counting_is_once_per_request_and_null_keys_merge(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine)
        day = date(2025, 6, 1)
        first = {CountKey(day, None, "api"): 3, CountKey(day, "acme", None): 2}
        assert record_counts(engine, b"request-1", first)
        assert not record_counts(engine, b"request-1", first)  # the retry
        assert record_counts(engine, b"request-2", {CountKey(day, None, "api"): 4})
        assert read_counts(ledger_url) == {(None, "api"): 7, ("acme", None): 2}
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(span_counts)).scalar() == 2

        with engine.begin() as conn:
            conn.execute(
                span_count_requests.update()
                .where(span_count_requests.c.request_key == b"request-1".hex())
                .values(received_at=datetime.now(UTC) - timedelta(days=8))
            )
        assert prune_requests(engine) == 1
        assert prune_requests(engine) == 0
    finally:
        engine.dispose()


def test_rows_and_counts_commit_together(postgres_url: str) -> None:
    """A request's ledger rows and driver counts are one transaction: when the counts cannot be
    written (here a trigger refuses them with a retryable error, as a serialization failure
    would), no row of the request is stored either; the retry stores both, once."""
    from opentelemetry.exporter.costledger.ingest.serve import decode_protobuf
    from opentelemetry.exporter.costledger.ingest.serve.sink import LedgerSink
    from opentelemetry.exporter.costledger.ledger.store import DatabaseUnavailable, LedgerStore
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from .spans import make_spans

    body = encode_spans(make_spans(3, customer="acme", plain=2)).SerializeToString()
    store = LedgerStore(postgres_url)
    sink = LedgerSink(store)
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'busy' USING ERRCODE = 'serialization_failure'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON span_counts"
                " FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        with pytest.raises(DatabaseUnavailable):
            sink.write(decode_protobuf(body))
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM ledger_entries").scalar() == 0
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM span_count_requests").scalar() == 0
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse ON span_counts")
        outcome = sink.write(decode_protobuf(body))
        again = sink.write(decode_protobuf(body))  # the sender's retry of a lost answer
        assert (outcome.inserted, outcome.counted) == (3, True)
        assert (again.inserted, again.duplicates, again.counted) == (0, 3, False)
        assert read_counts(postgres_url) == {("acme", "checkout"): 5}
    finally:
        sink.close()
        engine.dispose()
