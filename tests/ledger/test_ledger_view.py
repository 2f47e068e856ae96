"""``costledger ledger`` and its API, ``ledger_rows``, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import DatabaseError, InputError
from opentelemetry.exporter.costledger.ledger.ledger_view import ledger_rows
from opentelemetry.exporter.costledger.ledger.rows import LedgerRow
from opentelemetry.exporter.costledger.ledger.store import LedgerStore


def _rows() -> list[LedgerRow]:
    def row(
        key: str, at: datetime, customer: str, model: str, cost: int | None, **kw: Any
    ) -> LedgerRow:
        made = LedgerRow.make(
            key,
            at,
            str(kw.pop("category", "api")),
            customer_id=customer,
            model=model,
            provider="anthropic" if model.startswith("claude") else "openai",
            cost_nanos=cost,
            input_tokens=1000,
            output_tokens=100,
            uncached_input_tokens=1000,
        )
        return made._replace(**kw)

    return [
        row("a", datetime(2025, 4, 30, 23, 59, tzinfo=UTC), "cust_12345", "claude-sonnet-4-5", 1),
        row(
            "b",
            datetime(2025, 5, 2, 10, 15, 32, tzinfo=UTC),
            "cust_12345",
            "claude-sonnet-4-5-20250929",
            25_600_000,
            work_item_id="ticket_67890",
        ),
        row(
            "c",
            datetime(2025, 5, 2, 10, 16, 10, tzinfo=UTC),
            "cust_12345",
            "claude-sonnet-4-5-20250929",
            16_000_001,
            work_item_id="ticket_67890",
        ),
        row(
            "d",
            datetime(2025, 5, 20, tzinfo=UTC),
            "cust_67890",
            "my-llama",
            None,
            unpriced_reason="no price for self-hosted/my-llama",
            provider="self-hosted",
        ),
        row(
            "e",
            datetime(2025, 5, 21, tzinfo=UTC),
            "cust_67890",
            "text-embedding-3-small",
            100_000,
            category="embedding",
            flags="gen_ai.usage.input_tokens is not a whole number ('x')",
        ),
        row("f", datetime(2025, 6, 1, tzinfo=UTC), "cust_67890", "gpt-4o", 7),
    ]


@pytest.fixture
def ledger(ledger_url: str) -> str:
    store = LedgerStore(ledger_url)
    store.insert(_rows())
    store.close()
    return ledger_url


def _keys(page_records: list[dict[str, object]]) -> list[object]:
    return [r["idempotency_key"] for r in page_records]


def test_all_rows_newest_first_with_exact_total(ledger: str) -> None:
    page = ledger_rows(ledger)
    assert _keys(page.records) == ["f", "e", "d", "c", "b", "a"]
    assert page.matching == 6 and page.unpriced == 1
    assert page.total_cost_usd == Decimal("0.041700009")
    first = page.records[-1]
    assert first["timestamp"] == datetime(2025, 4, 30, 23, 59, tzinfo=UTC)
    assert first["cost_usd"] == Decimal("0.000000001")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"customer": "cust_12345"}, ["c", "b", "a"]),
        ({"work_item": "ticket_67890"}, ["c", "b"]),
        ({"model": "claude-sonnet-4-5"}, ["a"]),
        ({"model": "claude-sonnet-4-5*"}, ["c", "b", "a"]),
        ({"category": "embedding"}, ["e"]),
        ({"provider": "openai"}, ["f", "e"]),
        ({"period": "2025-05"}, ["e", "d", "c", "b"]),
        ({"since": "2025-05-02T10:16:00", "until": "2025-05-21"}, ["d", "c"]),
        ({"since": "2025-05-02T12:16:00+02:00"}, ["f", "e", "d", "c"]),
        ({"unpriced": True}, ["d"]),
        ({"flagged": True}, ["e"]),
        ({"customer": "cust_12345", "period": "2025-05", "limit": 1}, ["c"]),
    ],
)
def test_filters(ledger: str, filters: dict[str, object], expected: list[str]) -> None:
    page = ledger_rows(ledger, **filters)  # type: ignore[arg-type]
    assert _keys(page.records) == expected


def test_limit_does_not_change_the_totals(ledger: str) -> None:
    page = ledger_rows(ledger, customer="cust_12345", limit=1)
    assert len(page.records) == 1 and page.matching == 3
    assert page.total_cost_usd == Decimal("0.041600002")


def test_bad_filters_say_what_to_write(ledger: str) -> None:
    with pytest.raises(InputError, match="either --period or --since/--until"):
        ledger_rows(ledger, period="2025-05", since="2025-05-01")
    with pytest.raises(InputError, match="is not a date or time"):
        ledger_rows(ledger, since="May 1st")
    with pytest.raises(InputError, match="must be after"):
        ledger_rows(ledger, since="2025-05-02", until="2025-05-01")
    with pytest.raises(InputError, match="invalid period"):
        ledger_rows(ledger, period="May")


def test_missing_sqlite_ledger_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="costledger demo"):
        ledger_rows(str(tmp_path / "nowhere.db"))
    assert not (tmp_path / "nowhere.db").exists()


def test_cli_table(ledger: str) -> None:
    result = CliRunner().invoke(main, ["ledger", "--db", ledger, "--customer", "cust_67890"])
    assert result.exit_code == 0, result.output
    assert "my-llama" in result.output and "no price for self-hosted/my-llama" in result.output
    assert "3 of 3 matching rows shown; total cost of all 3: $0.000100007, 1 unpriced" in (
        result.output
    )


def test_cli_csv_and_json_are_exact(ledger: str) -> None:
    runner = CliRunner()
    out = runner.invoke(
        main, ["ledger", "--db", ledger, "--work-item", "ticket_67890", "--format", "csv"]
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert [r["cost_usd"] for r in rows] == ["0.016000001", "0.0256"]
    assert rows[0]["timestamp"] == "2025-05-02T10:16:10+00:00"
    out = runner.invoke(main, ["ledger", "--db", ledger, "--period", "2025-06", "--format", "json"])
    assert out.exit_code == 0, out.output
    [record] = json.loads(out.output)
    assert record["cost_usd"] == "0.000000007" and record["model"] == "gpt-4o"


def test_cli_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ledger", "--db", str(tmp_path / "none.db")])
    assert result.exit_code != 0
    assert "there is no ledger at" in result.output and "Traceback" not in result.output
