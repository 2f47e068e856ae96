"""One way to open the ledger (``ledger/open.py``): one set of messages, readers create nothing."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import DatabaseError
from opentelemetry.exporter.costledger.ledger.open import open_ledger
from opentelemetry.exporter.costledger.ledger.schema import ledger_entries

# Every command that reads the ledger or runs a job over it (the period where one is needed).
OVER_A_LEDGER = [
    ("ledger", []),
    ("prices check", []),
    ("report", ["--period", "2025-05"]),
    ("report", ["--period", "2025-05", "--out", "REPORT"]),
    ("export", ["--period", "2025-05"]),
    ("jobs status", []),
    ("jobs run", ["aggregate"]),
    ("jobs run", ["rank"]),
    ("aggregate", []),
    ("allocate", ["BILLS", "--period", "2025-05"]),
    ("normalize", ["--period", "2025-05"]),
    ("normalize", ["--period", "2025-05", "--customer", "cust_12345"]),
    ("rank", ["--period", "2025-05"]),
    ("normalize", ["--period", "2025-05", "--by", "agent"]),
    ("agents", ["--period", "2025-05"]),
    ("iceberg", ["--period", "2025-05"]),
    ("alerts", []),
    ("reconcile", ["--period", "2025-05"]),
    ("reprice", ["--period", "2025-05"]),
    ("dashboard", ["--port", "0"]),
    ("budgets snapshot", ["--budgets", "BUDGETS", "--out", "SNAPSHOT"]),
    ("bill", ["--period", "2025-05", "--policy", "POLICY"]),
]
# What writes the ledger, so may make one; and what does not touch it.
WRITERS = {
    "demo",
    "serve",
    "ingest",
    "import usage",
    "import business",
    "import invoices",
    "import calls",
    "import outcomes",
}
NO_LEDGER = {"prices", "prices update", "jobs schedule"}  # schedule: its jobs say it, each run


def _commands(group: click.Group, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names |= _commands(command, f"{prefix}{name} ")
            if command.invoke_without_command:
                names.add(f"{prefix}{name}")
        else:
            names.add(f"{prefix}{name}")
    return names


def test_every_command_is_classified() -> None:
    """A new command is either tested below or knowingly allowed to make a ledger."""
    tested = {name for name, _ in OVER_A_LEDGER}
    assert _commands(main) == tested | WRITERS | NO_LEDGER


def _invoke(name: str, args: list[str], db: str, tmp_path: Path) -> Result:
    bills = tmp_path / "bills.toml"
    bills.write_text('[[bills]]\nname = "x"\namount = 1\ncategory = "c"\nmethod = "even"\n')
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[budget]]\ncustomer = "c"\namount = "1"\nhard_limit = "2"\n')
    policy = tmp_path / "billing.toml"
    policy.write_text('[defaults]\nmarkup_pct = "20"\n')
    files = {
        "BILLS": str(bills),
        "REPORT": str(tmp_path / "report.html"),
        "BUDGETS": str(budgets),
        "SNAPSHOT": str(tmp_path / "budgets.json"),
        "POLICY": str(policy),
    }
    command = [*name.split(), *(files.get(w, w) for w in args), "--db", db]
    return CliRunner().invoke(main, command)


def _id(case: tuple[str, list[str]]) -> str:
    return " ".join([case[0], *case[1]])


@pytest.mark.parametrize("case", OVER_A_LEDGER, ids=_id)
def test_a_mistyped_file_is_never_made_a_ledger(
    case: tuple[str, list[str]], tmp_path: Path
) -> None:
    """`rank --db typo.db` printed "(no rows)" and exit 0, leaving a new empty ledger behind."""
    missing = tmp_path / "typo.db"
    result = _invoke(*case, str(missing), tmp_path)
    assert result.exit_code == 1, result.output
    assert f"there is no ledger at {missing}: check --db" in result.output
    assert "for a typo" in result.output
    assert "Traceback" not in result.output
    assert not missing.exists()
    assert not (tmp_path / "report.html").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("case", OVER_A_LEDGER, ids=_id)
def test_a_mistyped_postgresql_database_says_so(
    case: tuple[str, list[str]], postgres_url: str, tmp_path: Path
) -> None:
    """A database that does not exist, and one that exists but holds no ledger (a reader
    migrated it into a new empty ledger)."""
    missing = sa.make_url(postgres_url).set(database="costledger_no_such_db")
    result = _invoke(*case, missing.render_as_string(hide_password=False), tmp_path)
    assert result.exit_code == 1, result.output
    assert "there is no database 'costledger_no_such_db' on the PostgreSQL server" in result.output
    assert "unavailable" not in result.output
    result = _invoke(*case, postgres_url, tmp_path)
    assert result.exit_code == 1, result.output
    assert "there is no ledger at postgresql+psycopg://" in result.output
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


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
