"""Opening the ledger: an engine on a migrated ledger database, with errors that say what to check.

Every command and job opens the ledger here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from ..errors import DatabaseError
from . import db, migrations


@contextmanager
def open_ledger(database_url: str | None, engine: sa.Engine | None) -> Iterator[sa.Engine]:
    """``engine`` as is, or an engine on ``database_url`` (migrated, disposed afterwards).

    SQLAlchemy errors inside become :class:`DatabaseError` messages that name the database and
    say what to check (:func:`command_database_error`).
    """
    from . import migrations

    own = engine is None
    engine = engine or db.create_engine(database_url)
    try:
        if own:
            migrations.migrate(engine)
        yield engine
    except sa.exc.SQLAlchemyError as exc:
        raise command_database_error(exc, engine.url) from exc
    finally:
        if own:
            engine.dispose()


def command_database_error(exc: BaseException, url: sa.URL) -> DatabaseError:
    """The error of a one-shot command that cannot use the ledger at ``url``.

    The classification (unavailable vs. broken) is the exporter's (:func:`.store.database_error`),
    but its advice ("costledger retries") is for the exporter's background retries: a command
    does not retry, so an unavailable database says what to check before running it again.
    """
    from .store import DatabaseUnavailable, database_error

    error = database_error(exc, url)
    if not isinstance(error, DatabaseUnavailable):
        return DatabaseError(
            f"{error}: check that --db / COSTLEDGER_DATABASE_URL names your costledger ledger"
            " (run `costledger demo --db FILE` to make one)"
        )
    where = url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return DatabaseUnavailable(
        f"the ledger database {where} is unavailable ({reason}): check the database URL (--db or"
        " COSTLEDGER_DATABASE_URL) and that the database server is running and reachable, then"
        " run the command again"
    )


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
