"""Named, atomic schema migrations.

Each module ``mNNNN_<name>.py`` in this package holds one migration: ``upgrade(conn)`` runs
inside one transaction together with the row recording it in ``schema_migrations``, so a
migration is applied entirely or not at all (PostgreSQL and SQLite both have transactional DDL).
Migrations are applied in name order and never edited once released; a change to the schema is
a new migration. Numbers are reserved by area: 0001-0009 ledger, 0010-0019 receiver,
0020-0029 jobs, 0030-0039 reports.

Part of the ledger stage: may import SQLAlchemy and the standard library only (a migration is
frozen once released, so it never reads the current schema of :mod:`..schema`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

_metadata = sa.MetaData()
schema_migrations = sa.Table(
    "schema_migrations",
    _metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Migration:
    name: str
    upgrade: Callable[[sa.Connection], None]


def all_migrations() -> list[Migration]:
    """Every migration of this package, in the order they apply."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(Migration(info.name, module.upgrade))
    return sorted(found, key=lambda m: m.name)


def applied(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("schema_migrations"):
            return set()
        return set(conn.execute(sa.select(schema_migrations.c.name)).scalars())


def migrate(engine: sa.Engine, *, until: str | None = None) -> list[str]:
    """Apply the migrations not yet applied (up to and including ``until``); return their names."""
    with engine.begin() as conn:
        schema_migrations.create(conn, checkfirst=True)
    done = applied(engine)
    ran = []
    for migration in all_migrations():
        if migration.name in done:
            continue
        with engine.begin() as conn:
            migration.upgrade(conn)
            conn.execute(
                schema_migrations.insert().values(name=migration.name, applied_at=datetime.now(UTC))
            )
        ran.append(migration.name)
        if until is not None and migration.name == until:
            break
    return ran
