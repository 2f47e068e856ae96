"""``prices check`` / ``reprice`` edge cases, on SQLite and PostgreSQL (``ledger_url``).

Explicit ``record_cost`` amounts are priced (never gaps, never repriced), every gap comes with
the exact price-file entry that closes it, ``--model`` globs match with case on both
databases, and a database that is down gets advice for a command, not for the exporter.
"""

from __future__ import annotations

import json
import socket
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import DatabaseError
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ingest.spans import SpanData
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.reprice import reprice
from opentelemetry.exporter.costledger.ledger.rows import EXPLICIT_AMOUNT_RULE
from opentelemetry.exporter.costledger.ledger.schema import ledger_entries
from opentelemetry.exporter.costledger.ledger.store import LedgerStore
from opentelemetry.exporter.costledger.prices.check import check_prices
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.pricing import PriceBook, PriceFileError

JUNE_10 = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
_ns = int(JUNE_10.timestamp() * 1e9)


def cost_span(n: int, category: str, quantity: str, unit: str, **extra: str) -> SpanData:
    attributes = {
        A.COST_CATEGORY: category,
        A.COST_QUANTITY: quantity,
        A.COST_UNIT: unit,
        A.CUSTOMER_ID: "cust_12345",
    }
    for key, value in extra.items():
        attributes[getattr(A, key)] = value
    return SpanData(0xC0F000 + n, n, None, f"cost {category}", 0, _ns, _ns + 1000, attributes)


def call_span(n: int, provider: str, model: str) -> SpanData:
    attributes = {
        A.GEN_AI_PROVIDER_NAME: provider,
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_REQUEST_MODEL: model,
        A.GEN_AI_RESPONSE_MODEL: model,
        A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 1_000_000,
    }
    return SpanData(0xCA1000 + n, n, None, f"chat {model}", 2, _ns, _ns + 1000, attributes)


def make_ledger(url: str, spans: list[SpanData]) -> sa.Engine:
    conversion = spans_to_rows(spans, PriceBook(""))
    assert len(conversion.rows) == len(spans), conversion.rejected
    store = LedgerStore(url)
    assert store.insert(conversion.rows).inserted == len(spans)
    store.close()
    return db.create_engine(url)


def rules(engine: sa.Engine) -> dict[str | None, tuple[int | None, str | None]]:
    le = ledger_entries
    with engine.connect() as conn:
        rows = conn.execute(sa.select(le.c.model, le.c.cost_nanos, le.c.price_rule)).all()
    return {r.model: (r.cost_nanos, r.price_rule) for r in rows}


# --- explicit amounts ---------------------------------------------------------------------


def test_explicit_amounts_are_priced_not_gaps(ledger_url: str) -> None:
    """A record_cost amount is the price: check does not list it (exit 0), reprice skips it."""
    engine = make_ledger(
        ledger_url,
        [
            cost_span(1, "third_party", "1", "call", COST_ITEM="stripe.charge", COST_AMOUNT="0.30"),
            cost_span(2, "human_review", "30", "minute", COST_AMOUNT="22.50"),
        ],
    )
    try:
        assert {r[1] for r in rules(engine).values()} == {EXPLICIT_AMOUNT_RULE}
        # no price file at all: nothing would price these events, yet they are priced
        assert check_prices(engine=engine, price_book=PriceBook("")) == []
        checked = CliRunner().invoke(main, ["prices", "check", "--db", ledger_url])
        assert checked.exit_code == 0, checked.output
        assert "Every model and cost category in the ledger has a price." in checked.output

        result = reprice(engine=engine, period="2025-06", price_book=PriceBook(""))
        assert (result.examined, result.changed, result.skipped) == (0, 0, 2)
        assert rules(engine)["stripe.charge"] == (300_000_000, EXPLICIT_AMOUNT_RULE)
    finally:
        engine.dispose()


# --- every gap says exactly what to add ---------------------------------------------------


def gaps_ledger(url: str) -> sa.Engine:
    return make_ledger(
        url,
        [
            call_span(1, "self-hosted", "llama-3.3-70b-instruct"),
            cost_span(2, "human_review", "30", "minute"),
            cost_span(3, "third_party", "2", "call", COST_ITEM="vendor[eu]*"),
            # explicit amount beside an unpriced event of the same kind: only the latter counts
            cost_span(4, "human_review", "60", "minute", COST_AMOUNT="45.00"),
        ],
    )


def test_check_gives_the_exact_price_file_entry_for_each_gap(
    ledger_url: str, tmp_path: Path
) -> None:
    engine = gaps_ledger(ledger_url)
    try:
        records = check_prices(engine=engine, price_book=PriceBook(""))
        by_what = {(r["category"], r["model"]): r for r in records}
        assert set(by_what) == {
            ("api", "llama-3.3-70b-instruct"),
            ("human_review", None),
            ("third_party", "vendor[eu]*"),
        }
        review = by_what[("human_review", None)]
        assert (review["rows"], review["unpriced_rows"]) == (1, 1)  # not the $45 event
        assert all(r["fix_is_entry"] for r in records)

        entries = {key: tomllib.loads(r["fix"]) for key, r in by_what.items()}
        assert entries[("api", "llama-3.3-70b-instruct")] == {
            "model": [
                {
                    "provider": "self-hosted",
                    "model": "llama-3.3-70b-instruct",
                    "input": "?",
                    "output": "?",
                }
            ]
        }
        assert entries[("human_review", None)] == {
            "unit_price": [{"category": "human_review", "unit": "minute", "price": "?"}]
        }
        # glob characters in the item are escaped so the entry matches only this item
        assert entries[("third_party", "vendor[eu]*")] == {
            "unit_price": [
                {"category": "third_party", "item": "vendor[[]eu][*]", "unit": "call", "price": "?"}
            ]
        }

        # As printed, the file is refused at the "?" (the price is the user's to fill in) ...
        text = "\n\n".join(r["fix"] for r in records)
        unfilled = tmp_path / "unfilled.toml"
        unfilled.write_text(text, encoding="utf-8")
        with pytest.raises(PriceFileError, match=r"unfilled\.toml:\d+: .*field '(input|price)'"):
            PriceBook(unfilled)
        # ... and with prices filled in, it prices every gap.
        filled = tmp_path / "prices.toml"
        filled.write_text(text.replace('"?"', '"0.50"'), encoding="utf-8")
        after = check_prices(engine=engine, price_book=PriceBook(filled))
        assert {r["status"] for r in after} == {"repriceable"}
        assert {r["fix"] for r in after} == {
            f"run: costledger reprice --unpriced --prices {filled}"
        }
        done = reprice(engine=engine, unpriced=True, price_book=PriceBook(filled))
        assert (done.newly_priced, done.still_unpriced) == (3, 0)
        costs = rules(engine)
        assert costs["llama-3.3-70b-instruct"][0] == 1_000_000_000  # 1M in + 1M out at $0.50
        assert costs["vendor[eu]*"][0] == 1_000_000_000  # 2 calls at $0.50
        assert check_prices(engine=engine, price_book=PriceBook(filled)) == []
    finally:
        engine.dispose()


def test_check_entries_are_yaml_for_a_yaml_price_file(sqlite_url: str, tmp_path: Path) -> None:
    engine = gaps_ledger(sqlite_url)
    try:
        existing = tmp_path / "prices.yaml"
        existing.write_text("version: 1\n", encoding="utf-8")
        records = check_prices(engine=engine, price_book=PriceBook(existing))
        merged: dict[str, list[object]] = {}
        for record in records:
            for section, entries in yaml.safe_load(record["fix"]).items():
                merged.setdefault(section, []).extend(entries)
        existing.write_text(
            yaml.safe_dump({"version": 1, **merged}).replace("'?'", "'0.50'"), encoding="utf-8"
        )
        after = check_prices(engine=engine, price_book=PriceBook(existing))
        assert {r["status"] for r in after} == {"repriceable"}
    finally:
        engine.dispose()


def test_cli_check_prints_the_entries_to_add(ledger_url: str) -> None:
    gaps_ledger(ledger_url).dispose()
    runner = CliRunner()
    table = runner.invoke(main, ["prices", "check", "--db", ledger_url])
    assert table.exit_code == 1
    out = table.stdout
    assert "[]" not in out.replace("[[]", "")  # no markup eaten by the table renderer
    assert "Add to your price file (--prices or COSTLEDGER_PRICES)" in out
    assert 'with your prices where it says "?":' in out
    assert '[[unit_price]]\ncategory = "human_review"\nunit = "minute"\nprice = "?"' in out
    assert '[[model]]\nprovider = "self-hosted"\nmodel = "llama-3.3-70b-instruct"\n' in out
    assert "then run: costledger reprice --unpriced" in out

    as_json = runner.invoke(main, ["prices", "check", "--db", ledger_url, "--format", "json"])
    assert as_json.exit_code == 1
    fixes = {r["category"]: r["fix"] for r in json.loads(as_json.stdout)}
    assert fixes["human_review"].startswith("[[unit_price]]\n")


# --- --model globs match with case ----------------------------------------------------------


def test_model_glob_is_case_sensitive_on_every_database(ledger_url: str, tmp_path: Path) -> None:
    engine = make_ledger(
        ledger_url,
        [
            call_span(1, "self-hosted", "Llama-3-8B"),
            call_span(2, "self-hosted", "llama-3-8b"),
            call_span(3, "self-hosted", "llama_3_8b"),  # "_" is no wildcard
        ],
    )
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[[model]]\nprovider = "self-hosted"\nmodel = "*"\ninput = "1"\noutput = "1"\n',
        encoding="utf-8",
    )
    try:
        book = PriceBook(prices)
        upper = reprice(engine=engine, model="Llama-*", price_book=book, dry_run=True)
        assert [c.model for c in upper.changes] == ["Llama-3-8B"]
        lower = reprice(engine=engine, model="llama-?-8b", price_book=book, dry_run=True)
        assert [c.model for c in lower.changes] == ["llama-3-8b"]
        assert reprice(engine=engine, model="LLAMA*", price_book=book, dry_run=True).examined == 0
        exact = reprice(engine=engine, model="llama-3-8B", price_book=book, dry_run=True)
        assert exact.examined == 0

        cli = CliRunner().invoke(
            main, ["reprice", "--model", "Llama*", "--db", ledger_url, "--prices", str(prices)]
        )
        assert cli.exit_code == 0, cli.output
        assert "changed 1 (1 newly priced" in cli.output
        costs = rules(engine)
        assert costs["Llama-3-8B"][0] == 2_000_000_000
        assert costs["llama-3-8b"][0] is None and costs["llama_3_8b"][0] is None
    finally:
        engine.dispose()


# --- a database that is down ----------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "args",
    [["prices", "check"], ["reprice", "--unpriced"]],
    ids=["prices-check", "reprice"],
)
def test_database_down_says_what_to_check(args: list[str]) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/ledger"
    result = CliRunner().invoke(main, [*args, "--db", url])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    message = result.output
    assert f"the ledger database {url} is unavailable (" in message
    assert "check the database URL (--db or COSTLEDGER_DATABASE_URL)" in message
    assert "that the database server is running and reachable" in message
    assert "costledger retries" not in message


def test_database_down_in_the_python_api_is_a_database_error() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/ledger"
    with pytest.raises(DatabaseError, match="check the database URL") as raised:
        check_prices(url, price_book=PriceBook(""))
    assert "costledger retries" not in str(raised.value)
