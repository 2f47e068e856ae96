"""Where the ledger lives: the database URL (argument, then env var, then default) and engines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (reports, the dashboard) run while the exporter writes; busy_timeout
    # turns a brief lock into a wait instead of an immediate "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str | None = None, **kwargs: Any) -> sa.Engine:
    """An engine for the ledger at ``url`` (see :func:`resolve_database_url`)."""
    resolved = resolve_database_url(url)
    engine = sa.create_engine(resolved, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
