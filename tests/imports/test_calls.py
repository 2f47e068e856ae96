"""`costledger import calls`: past LLM calls and costs into the ledger at their own time, priced
at the prices in force then, idempotent on their id, bad lines refused with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.imports.calls import import_calls
from opentelemetry.exporter.costledger.ledger.reprice import reprice
from opentelemetry.exporter.costledger.ledger.schema import ledger_entries
from opentelemetry.exporter.costledger.prices.check import check_prices
from opentelemetry.instrumentation.costledger.pricing import PriceBook

# A price change on June 1st: a call is priced at the rate of its own day.
PRICES = """\
version = 1

[[model]]
provider = "anthropic"
model = "house-claude"
input = "1000"
output = "4000"
from = 2025-01-01

[[model]]
provider = "anthropic"
model = "house-claude"
input = "500"
output = "2000"
from = 2025-06-01

[[unit_price]]
category = "human_review"
unit = "hour"
price = "60"
"""

HEADER = (
    "id,timestamp,customer_id,work_item_id,provider,model,input_tokens,output_tokens,"
    "cache_read_tokens,category,quantity,unit,cost_usd\n"
)


@pytest.fixture
def book(tmp_path: Path) -> PriceBook:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    return PriceBook(path)


def _rows(url: str) -> dict[str, dict[str, object]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(ledger_entries)
            return {r["idempotency_key"]: dict(r) for r in conn.execute(query).mappings()}
    finally:
        engine.dispose()


def test_calls_and_costs_priced_at_their_time(
    ledger_url: str, tmp_path: Path, book: PriceBook
) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        HEADER
        + "c1,2025-05-31T23:00:00Z,cust_1,t1,anthropic,house-claude,1000,100,200,,,,\n"
        + "c2,2025-06-01T01:30:00+02:00,cust_1,t2,anthropic,house-claude,1000,100,,,,,\n"
        + "c3,2025-06-02T08:00:00Z,cust_1,t3,anthropic,house-claude,1000,100,,,,,\n"
        + "r1,2025-05-02T15:00:00Z,cust_1,t1,,,,,,human_review,30,minute,\n"
        + "s1,2025-05-03T15:00:00Z,cust_1,,,,,,,third_party,1,call,0.30\n"
    )
    result = import_calls(ledger_url, path, price_book=book)
    assert (result.rows, result.inserted, result.duplicates, result.unpriced) == (5, 5, 0, 0)
    rows = _rows(ledger_url)
    # $1,000 / $4,000 per million in May; +02:00 is still May 31st in UTC; $500 / $2,000 after
    assert rows["import:c1"]["cost_nanos"] == 1_400_000_000
    assert rows["import:c2"]["cost_nanos"] == 1_400_000_000
    assert rows["import:c3"]["cost_nanos"] == 700_000_000
    c1 = rows["import:c1"]
    assert (c1["source"], c1["category"], c1["customer_id"], c1["work_item_id"]) == (
        "import",
        "api",
        "cust_1",
        "t1",
    )
    assert (c1["input_tokens"], c1["cache_read_tokens"], c1["uncached_input_tokens"]) == (
        1000,
        200,
        800,
    )
    assert str(c1["price_rule"]).startswith("prices.toml:3 model anthropic/house-claude")
    review = rows["import:r1"]
    assert (review["category"], review["cost_nanos"], review["unit"]) == (
        "human_review",
        30_000_000_000,
        "minute",
    )
    assert rows["import:s1"]["cost_nanos"] == 300_000_000
    # again: nothing twice
    again = import_calls(ledger_url, path, price_book=book)
    assert (again.inserted, again.duplicates) == (0, 5)
    assert len(_rows(ledger_url)) == 5


def test_json_lines_and_the_command(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "prices.toml").write_text(PRICES)
    path = tmp_path / "calls.jsonl"
    lines = [
        {"id": "a", "timestamp": "2025-05-02T10:00:00Z", "customer_id": "cust_1",
         "provider": "Anthropic", "model": "house-claude", "input_tokens": 1000,
         "output_tokens": 100},
        {"id": "b", "timestamp": "2025-05-02T10:00:00Z", "customer_id": "cust_1",
         "provider": "anthropic", "model": "no-such-model", "input_tokens": 10,
         "output_tokens": 1},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = CliRunner().invoke(
        main,
        ["import", "calls", str(path), "--prices", str(tmp_path / "prices.toml"),
         "--db", sqlite_url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "imported 2 call/cost row(s)" in result.output
    assert "2 new, 0 already in the ledger; $1.40 priced, 1 unpriced" in result.output
    rows = _rows(sqlite_url)
    assert rows["import:a"]["provider"] == "anthropic"
    # an imported call without a price is a gap like any other, and reprice fills it
    gaps = check_prices(sqlite_url, price_book=PriceBook(tmp_path / "prices.toml"))
    assert [(g["model"], g["unpriced_rows"]) for g in gaps] == [("no-such-model", 1)]
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(
        PRICES + '\n[[model]]\nprovider = "anthropic"\nmodel = "no-such-model"\n'
        'input = "1000"\noutput = "1000"\n'
    )
    done = reprice(sqlite_url, unpriced=True, price_file=str(fixed))
    assert done.newly_priced == 1
    assert _rows(sqlite_url)["import:b"]["cost_nanos"] == 11_000_000


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x1,2025-05-02 10:00,c,,anthropic,house-claude,1,1,,,,,",
         "calls.csv:2: timestamp '2025-05-02 10:00' has no time zone: add Z"),
        ("x1,2999-01-01T00:00:00Z,c,,anthropic,house-claude,1,1,,,,,",
         "calls.csv:2: timestamp '2999-01-01T00:00:00Z' is in the future"),
        ("x1,yesterday,c,,anthropic,house-claude,1,1,,,,,", "timestamp 'yesterday' is not ISO"),
        (",2025-05-02T10:00:00Z,c,,anthropic,house-claude,1,1,,,,,", "calls.csv:2: missing id"),
        ("x1,2025-05-02T10:00:00Z,c,,anthropic,,1,1,,,,,", "calls.csv:2: missing model"),
        ("x1,2025-05-02T10:00:00Z,c,,anthropic,house-claude,-5,1,,,,,",
         "calls.csv:2: input_tokens '-5' is not a count"),
        ("x1,2025-05-02T10:00:00Z,c,,anthropic,house-claude,10,1,20,,,,",
         "calls.csv:2: cache reads and writes (20) exceed input_tokens (10)"),
        ("x1,2025-05-02T10:00:00Z,c,,anthropic,house-claude,10,1,,,,,-1",
         "calls.csv:2: cost_usd '-1' is negative"),
        ("x1,2025-05-02T10:00:00Z,c,,,,,,,human_review,,minute,",
         "calls.csv:2: a human_review cost needs quantity and unit"),
    ],
)  # fmt: skip
def test_bad_lines_are_refused_with_their_place(
    sqlite_url: str, tmp_path: Path, book: PriceBook, line: str, message: str
) -> None:
    path = tmp_path / "calls.csv"
    good = "ok1,2025-05-02T10:00:00Z,c,,anthropic,house-claude,1,1,,,,,\n"
    path.write_text(HEADER + line + "\n" + good)
    with pytest.raises(InputError, match="nothing was recorded") as caught:
        import_calls(sqlite_url, path, price_book=book)
    assert message in str(caught.value)
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # not even the good line


def test_every_bad_line_is_named_and_ids_are_unique(
    sqlite_url: str, tmp_path: Path, book: PriceBook
) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        HEADER
        + "a,2025-05-02T10:00:00Z,c,,anthropic,house-claude,1,1,,,,,\n"
        + "a,2025-05-03T10:00:00Z,c,,anthropic,house-claude,1,1,,,,,\n"
        + "b,2025-05-03T10:00:00,c,,anthropic,house-claude,1,1,,,,,\n"
    )
    with pytest.raises(InputError) as caught:
        import_calls(sqlite_url, path, price_book=book)
    text = str(caught.value)
    assert "2 line(s) cannot be imported" in text
    assert f"{path}:3: id 'a' is also on {path}:2" in text
    assert f"{path}:4: timestamp" in text
