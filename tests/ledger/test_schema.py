"""``ledger/schema.py`` is the ledger as the migrations leave it, and the row is its columns."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from opentelemetry.exporter.costledger.ledger import db, migrations
from opentelemetry.exporter.costledger.ledger.rows import LedgerRow
from opentelemetry.exporter.costledger.ledger.schema import (
    ROW_COLUMNS,
    ledger_entries,
    ledger_repricings,
)


def _generic(column_type: sa.types.TypeEngine[Any]) -> type:
    """The portable type class a column reflects as (e.g. BIGINT and INTEGER both integers)."""
    for kind in (sa.Boolean, sa.Integer, sa.Numeric, sa.DateTime, sa.String):
        if isinstance(column_type, kind):
            return kind
    # SQLite reflects a Boolean as BOOLEAN, PostgreSQL as BOOLEAN too; anything else by name.
    return type(column_type)


def test_schema_py_is_the_migrated_ledger(ledger_url: str) -> None:
    engine = db.create_engine(ledger_url)
    try:
        migrations.migrate(engine)
        inspector = sa.inspect(engine)
        for table in (ledger_entries, ledger_repricings):
            reflected = inspector.get_columns(table.name)
            assert [c["name"] for c in reflected] == [c.name for c in table.columns], table.name
            for found in reflected:
                column = table.c[found["name"]]
                where = f"{table.name}.{column.name}"
                assert found["nullable"] == column.nullable, where
                expected = _generic(column.type.dialect_impl(engine.dialect))
                assert _generic(found["type"]) is expected, where
                length = getattr(column.type, "length", None)
                if length is not None:
                    assert getattr(found["type"], "length", None) == length, where
            indexes = {
                index["name"]: tuple(index["column_names"])
                for index in inspector.get_indexes(table.name)
                if not index.get("unique") or (index["name"] or "").startswith("ix_")
            }
            declared = {index.name: tuple(c.name for c in index.columns) for index in table.indexes}
            assert indexes == declared, table.name
        unique = {
            tuple(constraint["column_names"])
            for constraint in inspector.get_unique_constraints(ledger_entries.name)
        } | {
            tuple(index["column_names"])
            for index in inspector.get_indexes(ledger_entries.name)
            if index.get("unique")
        }
        assert ("idempotency_key",) in unique
    finally:
        engine.dispose()


def test_the_row_is_the_table_without_id_and_recorded_at() -> None:
    columns = [c.name for c in ledger_entries.columns]
    assert [*ROW_COLUMNS, "recorded_at"] == [name for name in columns if name != "id"]
    assert sorted(LedgerRow._fields) == sorted(ROW_COLUMNS)
