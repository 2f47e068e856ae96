"""Values from data reach the terminal as written: rich must never read them as markup.

The `ledger` table's "Unpriced / flags" column read "add a [] to a price file": rich took
`[[model]]` for markup. Every table-producing command gets bracketed customers, models, bills,
plans and file names here, and must print them verbatim.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main

from tests.jobs.helpers import insert, row

CUSTOMER = "cust_[red]x[/red]"
MODEL = "[[model]]"
BILL = "[b]Pinecone[/b]"
PLAN = "[pro]"


@pytest.fixture
def ledger(sqlite_url: str, tmp_path: Path) -> str:
    insert(
        sqlite_url,
        [
            row(CUSTOMER, "2025-05-02T10:00", "12.50", work_item_id="[t1]"),
            row(CUSTOMER, "2025-05-03T10:00", None, model=MODEL, provider="[[self]]",
                unpriced_reason=f"no price for {MODEL}: add a [[model]] to a price file"),
        ],
    )  # fmt: skip
    (tmp_path / "[usage].csv").write_text(
        f"customer_id,date,metric,quantity\n{CUSTOMER},2025-05-31,vectors,10\n"
    )
    (tmp_path / "business.csv").write_text(
        f"customer_id,period,revenue,margin_pct,plan\n{CUSTOMER},2025-05,100,75%,{PLAN}\n"
    )
    (tmp_path / "bills.toml").write_text(
        f'[[bills]]\nname = "{BILL}"\namount = "50"\ncategory = "vector_storage"\n'
        'method = "proportional"\ndriver = "usage:vectors"\n'
    )
    for args in (
        ["import", "usage", str(tmp_path / "[usage].csv")],
        ["import", "business", str(tmp_path / "business.csv")],
        ["allocate", str(tmp_path / "bills.toml"), "--period", "2025-05"],
    ):
        result = CliRunner().invoke(main, [*args, "--db", sqlite_url])
        assert result.exit_code == 0, result.output
    return sqlite_url


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["ledger", "--period", "2025-05"], [CUSTOMER, MODEL, "[t1]", "add a [[model]] to"]),
        (["aggregate", "--period", "2025-05", "-d", "model"], [CUSTOMER, MODEL, "[[self]]"]),
        (["allocate", "BILLS", "--period", "2025-05", "--dry-run"], [BILL, CUSTOMER]),
        (["normalize", "--period", "2025-05"], [CUSTOMER, PLAN]),
        (["normalize", "--period", "2025-05", "--customer", CUSTOMER], [f"serve {CUSTOMER} in"]),
        (["rank", "--period", "2025-05"], [CUSTOMER]),
        (["alerts", "--by", "month", "--period", "2025-05", "--all"], [MODEL]),
        (["report", "--period", "2025-05", "--show", "customers"], [CUSTOMER]),
        (["report", "--period", "2025-05", "--show", "unpriced"], [MODEL, "[[self]]"]),
        (["prices", "check"], [MODEL, "[[self]]"]),
        (["jobs", "status"], ["[usage].csv"]),
    ],
)
def test_bracketed_data_is_printed_verbatim(
    ledger: str, tmp_path: Path, command: list[str], expected: list[str]
) -> None:
    args = [str(tmp_path / "bills.toml") if word == "BILLS" else word for word in command]
    result = CliRunner().invoke(main, [*args, "--db", ledger], env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    for text in expected:
        assert text in result.output, (text, result.output)
