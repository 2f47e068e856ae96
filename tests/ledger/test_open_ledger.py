"""One way to open the ledger (``ledger/open.py``): one set of messages, readers create nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import DatabaseError
from opentelemetry.exporter.costledger.ledger.open import open_ledger
from opentelemetry.exporter.costledger.ledger.schema import ledger_entries


@pytest.mark.parametrize(
    "command",
    [
        ["ledger"],
        ["prices", "check"],
        ["report", "--period", "2025-05"],
        ["export", "--period", "2025-05"],
        ["jobs", "status"],
    ],
    ids=lambda c: " ".join(c),
)
def test_a_reading_command_never_creates_a_missing_ledger(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "none.db"
    result = CliRunner().invoke(main, [*command, "--db", str(missing)])
    assert result.exit_code == 1, result.output
    assert f"there is no ledger at {missing}" in result.output
    assert "Traceback" not in result.output
    assert not missing.exists()


def test_a_database_without_a_ledger_is_the_same_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    with (
        pytest.raises(DatabaseError, match="there is no ledger at"),
        open_ledger(str(empty), create=False, migrate=False),
    ):
        pass


def test_a_job_makes_a_new_ledger(tmp_path: Path) -> None:
    target = tmp_path / "new.db"
    with open_ledger(str(target)) as engine, engine.connect() as conn:
        assert sa.inspect(conn).has_table(ledger_entries.name)
    assert target.exists()


def test_errors_inside_become_database_errors(sqlite_url: str) -> None:
    with (
        pytest.raises(DatabaseError, match="names your costledger ledger"),
        open_ledger(sqlite_url) as engine,
        engine.connect() as conn,
    ):
        conn.execute(sa.text("SELECT * FROM no_such_table"))


def test_an_engine_is_used_as_is(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    with open_ledger(engine) as opened:
        assert opened is engine
    with engine.connect() as conn:  # not disposed, not migrated
        assert not sa.inspect(conn).has_table(ledger_entries.name)
