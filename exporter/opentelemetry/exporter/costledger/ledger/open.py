"""Opening the ledger for a command, a job or an import: :func:`open_ledger`, one set of errors.

Every reader and writer of the ledger outside the ingest path opens it here (the exporter and
the receiver keep their own :class:`~.store.LedgerStore`, which retries instead of failing)::

    with open_ledger(database) as engine:            # a job: may make a new ledger
        ...
    with open_ledger(database, create=False) as engine:   # a command that only reads
        ...

``database`` is a URL (a bare path is a SQLite file), an :class:`sqlalchemy.Engine` (used as
is: neither migrated nor disposed), or ``None`` (``COSTLEDGER_DATABASE_URL``, else the default
file). Every SQLAlchemy error, on opening or inside the ``with`` block, becomes a
:class:`~..errors.DatabaseError` whose message names the database (password hidden) and says
what to check:

- the database is unreachable / down / locked: :class:`~.store.DatabaseUnavailable`, "the ledger
  database URL is unavailable (reason): check the database URL ... then run the command again";
- the database is not a costledger ledger (or failed otherwise): "the ledger database URL
  failed: reason: check that --db / COSTLEDGER_DATABASE_URL names your costledger ledger";
- there is no ledger there (``create=False``, or an unmigrated open): "there is no ledger at
  URL: check ... for a typo ..."; a PostgreSQL database that does not exist says so.

Only what writes the ledger may make one (``create=True``: the imports, ``demo``; the exporter
and ``serve`` through their store): a reader or a job pointed at a mistyped file or an empty
database says so instead of answering from a new, empty ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ..errors import DatabaseError
from . import db, migrations
from .schema import ledger_entries

Database = str | sa.Engine | None
"""What every job and command accepts: a database URL, an engine, or None (the default)."""


@contextmanager
def open_ledger(
    database: Database = None, *, create: bool = True, migrate: bool = True
) -> Iterator[sa.Engine]:
    """An engine on the ledger ``database``; disposed afterwards when this function made it.

    ``create=False`` (commands and jobs over an existing ledger): a missing SQLite file or a
    database without the ledger table is an error, never a new empty ledger. ``migrate`` (own
    engines only): bring the schema up to date first — which, with ``create``, makes a new
    ledger in an empty database; otherwise the ledger table must already exist.
    """
    if isinstance(database, sa.Engine):
        engine, own = database, False
    else:
        url = sa.make_url(db.resolve_database_url(database))
        if (
            not create
            and url.get_backend_name() == "sqlite"
            and url.database
            and url.database != ":memory:"
            and not Path(url.database).exists()
        ):
            raise no_ledger_error(url)
        engine, own = db.create_engine(url.render_as_string(hide_password=False)), True
    try:
        try:
            if own and not (create and migrate):
                # Only a migration with ``create`` makes a ledger: a reader never does, not in
                # an empty PostgreSQL database either.
                with engine.connect() as conn:
                    found = sa.inspect(conn).has_table(ledger_entries.name)
                if not found:
                    raise no_ledger_error(engine.url)
            if own and migrate:
                migrations.migrate(engine)
        except sa.exc.SQLAlchemyError as exc:
            raise command_database_error(exc, engine.url, create=create) from exc
        try:
            yield engine
        except sa.exc.SQLAlchemyError as exc:
            raise command_database_error(exc, engine.url, create=create) from exc
    finally:
        if own:
            engine.dispose()


def no_ledger_error(url: sa.URL) -> DatabaseError:
    """There is no ledger at ``url`` (a missing SQLite file, or a database without the table)."""
    where = url.database if url.get_backend_name() == "sqlite" else url.render_as_string(True)
    return DatabaseError(
        f"there is no ledger at {where}: check --db / COSTLEDGER_DATABASE_URL for a typo and"
        " point it at your ledger; a new ledger is made by what writes one (costledger serve,"
        " the in-process exporter, costledger import, costledger demo)"
    )


def missing_database(exc: BaseException, url: sa.URL) -> bool:
    """Whether ``exc`` says that the PostgreSQL database ``url`` names does not exist.

    psycopg gives a connection failure no SQLSTATE, so the server's message is read."""
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    text = str(getattr(exc, "orig", None) or exc)
    return f'database "{url.database}" does not exist' in text


def command_database_error(
    exc: BaseException, url: sa.URL, *, create: bool = True
) -> DatabaseError:
    """The error of a one-shot command that cannot use the ledger at ``url``.

    The classification (unavailable vs. broken) is the exporter's (:func:`.store.database_error`),
    but its advice ("costledger retries") is for the exporter's background retries: a command
    does not retry, so an unavailable database says what to check before running it again.
    """
    from .store import DatabaseUnavailable, database_error

    if missing_database(exc, url):
        server = f"{url.host or 'localhost'}:{url.port or 5432}"
        if not create:
            return DatabaseError(
                f"there is no database {url.database!r} on the PostgreSQL server {server}, so no"
                f" ledger: check --db / COSTLEDGER_DATABASE_URL for a typo and point it at your"
                " ledger"
            )
        return DatabaseError(
            f"there is no database {url.database!r} on the PostgreSQL server {server}: check"
            f" --db / COSTLEDGER_DATABASE_URL for a typo, or create it (createdb"
            f" {url.database}); costledger makes its tables in it"
        )
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
