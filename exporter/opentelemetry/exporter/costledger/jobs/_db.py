"""Shared plumbing of the jobs: opening the ledger, money conversions, recording job runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from .. import db, migrations
from ..errors import DatabaseError, InputError
from ..schema import NANOS_PER_USD
from .tables import job_runs

Database = str | sa.Engine | None
"""What every job accepts: a database URL, an engine, or None (``COSTLEDGER_DATABASE_URL``)."""


@contextmanager
def ledger_engine(database: Database) -> Iterator[sa.Engine]:
    """An engine on a migrated ledger; disposed afterwards when this function created it."""
    if isinstance(database, sa.Engine):
        yield database
        return
    engine = db.create_engine(database)
    try:
        try:
            migrations.migrate(engine)
        except sa.exc.OperationalError as exc:
            raise DatabaseError(
                f"cannot open the ledger at {engine.url.render_as_string(hide_password=True)}:"
                f" {exc.orig}. Check --db / COSTLEDGER_DATABASE_URL and that the server is up."
            ) from exc
        yield engine
    finally:
        engine.dispose()


def now() -> datetime:
    return datetime.now(UTC)


def to_nanos(amount: Decimal | int | str, *, what: str = "amount") -> int:
    """Dollars to integer nano-dollars; finer fractions round half-even (never float)."""
    try:
        value = Decimal(str(amount).replace(",", "").replace("$", "").strip())
    except InvalidOperation as exc:
        raise InputError(f"{what} {amount!r} is not a number: write it like 1234.56") from exc
    if not value.is_finite():
        raise InputError(f"{what} {amount!r} is not a finite number")
    return int((value * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def to_dollars(nanos: int | None) -> Decimal | None:
    if nanos is None:
        return None
    return Decimal(int(nanos)) / NANOS_PER_USD


def ratio(numerator: int | Decimal, denominator: int | Decimal | None) -> Decimal | None:
    """An exact ratio, to 12 decimal places (the NUMERIC scale it is stored at)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("1e-12"), rounding=ROUND_HALF_EVEN
    )


def record_run(engine: sa.Engine, job: str, started: datetime, detail: str, *, ok: bool) -> None:
    """One row in ``job_runs`` (what ran, when, and how it went) for ``costledger jobs status``."""
    with engine.begin() as conn:
        conn.execute(
            job_runs.insert().values(
                job=job,
                started_at=started,
                finished_at=now(),
                status="ok" if ok else "failed",
                detail=detail[:2000],
            )
        )


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
