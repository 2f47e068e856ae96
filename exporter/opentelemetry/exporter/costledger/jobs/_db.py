"""Shared SQL plumbing of the jobs: bulk inserts and small queries.

Opening the ledger is :mod:`..ledger.open`, money conversions :mod:`..money`, the run log
:mod:`..ledger.runs`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) inside the caller's transaction.

    PostgreSQL with psycopg: ``COPY … FROM STDIN`` — psycopg's ``executemany`` sends one
    statement per row, which made writing an allocation of a thousand customers cost more than
    computing it. Elsewhere (SQLite's C ``executemany`` is fast): ``executemany``.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        names = list(rows[0])
        quoted = ", ".join(f'"{name}"' for name in names)
        driver = conn.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row([row[name] for name in names])
        return
    conn.execute(table.insert(), rows)


def has_table(conn: sa.Connection, name: str) -> bool:
    return sa.inspect(conn).has_table(name)


def scalar(conn: sa.Connection, statement: sa.Executable) -> Any:
    return conn.execute(statement).scalar()
