"""Where the ledger lives: the database URL (argument, then env var, then default) and engines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import DatabaseError

DATABASE_URL_ENV = "COSTLEDGER_DATABASE_URL"


def default_database_path() -> Path:
    """``$XDG_DATA_HOME/costledger/ledger.db`` (``~/.local/share/costledger/ledger.db``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "costledger" / "ledger.db"


def resolve_database_url(url: str | None = None) -> str:
    """The ledger URL: the argument, else ``COSTLEDGER_DATABASE_URL``, else the default file.

    A bare path (no ``://``) is taken as a SQLite file.
    """
    chosen = url or os.environ.get(DATABASE_URL_ENV)
    if not chosen:
        path = default_database_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" not in chosen:
        return f"sqlite:///{Path(chosen).expanduser()}"
    return chosen


URL_EXAMPLES = (
    "sqlite:///path/to/ledger.db, a file path, or postgresql+psycopg://user:password@host/dbname"
)


class DatabaseURLError(DatabaseError):
    """The database URL names no database costledger can use; the message says what to write."""


def check_database_url(text: str) -> None:
    """Raise :class:`DatabaseURLError` unless ``text`` names a database costledger can use.

    Checked where the URL is given (the CLI's ``--db``, the exporter's constructor):
    SQLAlchemy would otherwise fail on first use, deep inside, with a traceback
    (``postgres://`` names no dialect; ``mysql://`` needs a driver we never install). A bare
    path (no ``://``) is a SQLite file and always usable. Messages hide the password: the URL
    may come from an environment variable and end up in logs.
    """
    if "://" not in text:
        return
    try:
        url = sa.make_url(text)
        backend = url.get_backend_name()
    except sa.exc.ArgumentError:
        raise DatabaseURLError(f"{text!r} is not a database URL: write {URL_EXAMPLES}") from None
    # the URL as it should read, its password hidden
    fixed = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
    if backend in ("postgres", "psql", "pg"):
        raise DatabaseURLError(f"{backend}:// is not a SQLAlchemy URL scheme: write {fixed}")
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseURLError(
            f"the ledger lives in SQLite or PostgreSQL, not {backend}: write {URL_EXAMPLES}"
        )
    try:
        url.get_dialect().import_dbapi()
    except sa.exc.NoSuchModuleError:
        raise DatabaseURLError(
            f"SQLAlchemy has no driver {url.drivername!r}: write {URL_EXAMPLES}"
        ) from None
    except ImportError as exc:
        if url.drivername == "postgresql+psycopg":
            hint = "pip install 'costledger[postgres]'"
        elif backend == "postgresql":
            hint = f"write {fixed} (psycopg 3, installed by pip install 'costledger[postgres]')"
        else:
            hint = f"install the driver, or write {URL_EXAMPLES}"
        raise DatabaseURLError(
            f"the driver of {url.drivername}:// is not installed ({exc}): {hint}"
        ) from None


DEFAULT_TIMEOUT_SECONDS = 5.0


def _sqlite_pragmas(timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers (reports, the dashboard) run while the exporter writes; busy_timeout
        # turns a brief lock into a wait instead of an immediate "database is locked".
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def create_engine(
    url: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, **kwargs: Any
) -> sa.Engine:
    """An engine for the ledger at ``url`` (see :func:`resolve_database_url`).

    ``timeout`` bounds how long one connection attempt (PostgreSQL ``connect_timeout``) or one
    wait for another SQLite writer's lock (``busy_timeout``) may take, in seconds.
    """
    resolved = sa.make_url(resolve_database_url(url))
    if resolved.get_backend_name() == "postgresql" and resolved.get_driver_name() in (
        "psycopg",
        "psycopg2",
    ):
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("connect_timeout", max(1, round(timeout)))
    engine = sa.create_engine(resolved, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(max(0, round(timeout * 1000))))
    return engine
