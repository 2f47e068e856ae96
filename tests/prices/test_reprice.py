"""Repricing the ledger and checking it for gaps, on SQLite and PostgreSQL (``ledger_url``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import ConfigError, InputError
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ingest.spans import SpanData
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.reprice import reprice
from opentelemetry.exporter.costledger.ledger.schema import ledger_entries, ledger_repricings
from opentelemetry.exporter.costledger.ledger.store import LedgerStore
from opentelemetry.exporter.costledger.prices.check import check_prices
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.pricing import PriceBook

JUNE_10 = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
JUNE_20 = datetime(2025, 6, 20, 12, 0, tzinfo=UTC)
JULY_2 = datetime(2025, 7, 2, 12, 0, tzinfo=UTC)

PRICE_FILE = """
[[model]]
provider = "self-hosted"
model = "llama-3.3-70b*"
input = "0.20"
output = "0.60"
from = 2025-06-01

[[model]]
provider = "self-hosted"
model = "llama-3.3-70b*"
input = "0.10"
output = "0.40"
from = 2025-06-15

[[unit_price]]
category = "human_review"
unit = "hour"
price = "45"
"""

_ids = iter(range(1, 10_000))


def call_span(
    provider: str,
    model: str,
    when: datetime,
    input_tokens: int,
    output_tokens: int,
    **extra: object,
) -> SpanData:
    n = next(_ids)
    ns = int(when.timestamp() * 1e9)
    return SpanData(
        trace_id=0xABC000 + n,
        span_id=n,
        parent_span_id=None,
        name=f"chat {model}",
        kind=2,
        start_time_ns=ns,
        end_time_ns=ns + 1_000_000,
        attributes={
            A.GEN_AI_PROVIDER_NAME: provider,
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_REQUEST_MODEL: model,
            A.GEN_AI_RESPONSE_MODEL: model,
            A.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
            A.CUSTOMER_ID: "cust_12345",
            **extra,
        },
        resource_attributes={A.SERVICE_NAME: "support-bot"},
    )


def review_span(when: datetime, minutes: str, amount: str | None = None) -> SpanData:
    n = next(_ids)
    ns = int(when.timestamp() * 1e9)
    attributes = {
        A.COST_CATEGORY: "human_review",
        A.COST_QUANTITY: minutes,
        A.COST_UNIT: "minute",
        A.CUSTOMER_ID: "cust_12345",
    }
    if amount is not None:
        attributes[A.COST_AMOUNT] = amount
    return SpanData(0xDEF000 + n, n, None, "cost human_review", 0, ns, ns + 1000, attributes)


@pytest.fixture
def ledger(ledger_url: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, Path]]:
    """A ledger with rows priced WITHOUT a price file, and the price file written afterwards."""
    book = PriceBook("")
    spans = [
        call_span("self-hosted", "llama-3.3-70b-instruct", JUNE_10, 1_000_000, 500_000),
        call_span("self-hosted", "llama-3.3-70b-instruct", JUNE_20, 1_000_000, 500_000),
        call_span("self-hosted", "llama-3.3-70b-instruct", JULY_2, 2_000_000, 0),
        call_span("anthropic", "claude-sonnet-4-5-20250929", JUNE_10, 100_000, 100_000),
        # a flagged row (cache larger than input): never priced, never repriced
        call_span(
            "self-hosted",
            "llama-3.3-70b-instruct",
            JUNE_10,
            10,
            10,
            **{A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 50},
        ),
        review_span(JUNE_10, "7"),
        review_span(JUNE_20, "30", amount="99.00"),  # an explicit amount is kept as is
    ]
    conversion = spans_to_rows(spans, book)
    assert len(conversion.rows) == 7, conversion.rejected
    store = LedgerStore(ledger_url)
    assert store.insert(conversion.rows).inserted == 7
    store.close()
    price_file = tmp_path / "prices.toml"
    price_file.write_text(PRICE_FILE, encoding="utf-8")
    engine = db.create_engine(ledger_url)
    yield engine, price_file
    engine.dispose()


def costs(engine: sa.Engine) -> dict[tuple[str | None, datetime], tuple[int | None, str | None]]:
    le = ledger_entries
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(le.c.model, le.c.timestamp, le.c.cost_nanos, le.c.price_rule, le.c.flags)
        ).all()
    out = {}
    for r in rows:
        ts = r.timestamp if r.timestamp.tzinfo else r.timestamp.replace(tzinfo=UTC)
        if r.flags is None:
            out[(r.model, ts)] = (r.cost_nanos, r.price_rule)
    return out


def repricings(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(ledger_repricings).order_by(ledger_repricings.c.id)))


LLAMA = "llama-3.3-70b-instruct"


def test_unknown_model_is_unpriced_then_repriced_after_adding_it(
    ledger: tuple[sa.Engine, Path],
) -> None:
    engine, price_file = ledger
    before = costs(engine)
    assert before[(LLAMA, JUNE_10)][0] is None
    assert before[("claude-sonnet-4-5-20250929", JUNE_10)][0] == 1_800_000_000  # 0.3 + 1.5

    check = check_prices(engine=engine, price_book=PriceBook(""))
    llama = next(r for r in check if r["model"] == LLAMA)
    assert (llama["rows"], llama["unpriced_rows"], llama["flagged_rows"]) == (4, 4, 1)
    assert llama["status"] == "unpriced"
    assert "knows no provider 'self-hosted'" in llama["reason"]
    assert any(r["category"] == "human_review" and r["unpriced_rows"] == 1 for r in check)

    result = reprice(engine=engine, unpriced=True, price_book=PriceBook(price_file))
    assert result.examined == 4  # 3 llama + 1 review
    assert result.skipped == 1  # the flagged row (the explicit-amount row is not unpriced)
    assert (result.changed, result.newly_priced, result.still_unpriced) == (4, 4, 0)

    after = costs(engine)
    # June 10 at 0.20/0.60 per M; June 20 at 0.10/0.40 (effective 2025-06-15); July 2 likewise
    assert after[(LLAMA, JUNE_10)] == (
        200_000_000 + 300_000_000,
        "prices.toml:2 model self-hosted/llama-3.3-70b* from 2025-06-01",
    )
    assert after[(LLAMA, JUNE_20)][0] == 100_000_000 + 200_000_000
    assert after[(LLAMA, JULY_2)][0] == 200_000_000
    reviews = sorted(v[0] or 0 for k, v in after.items() if k[0] is None)
    assert reviews == [5_250_000_000, 99_000_000_000]  # 7 min at $45/h; explicit $99 untouched
    # the sonnet row was never selected (not unpriced)
    assert (
        after[("claude-sonnet-4-5-20250929", JUNE_10)]
        == before[("claude-sonnet-4-5-20250929", JUNE_10)]
    )
    assert result.delta_nanos == 500_000_000 + 300_000_000 + 200_000_000 + 5_250_000_000

    history = repricings(engine)
    assert len(history) == 4
    assert all(h.old_cost_nanos is None and h.new_cost_nanos is not None for h in history)
    assert all(h.reason.startswith("costledger reprice --unpriced") for h in history)
    assert {h.new_price_rule for h in history} >= {
        "prices.toml:9 model self-hosted/llama-3.3-70b* from 2025-06-15"
    }

    # idempotent: the same prices again record nothing
    again = reprice(engine=engine, period="2025-06", price_book=PriceBook(price_file))
    # June: 2 llama, sonnet, review examined; the flagged and the explicit-amount rows skipped
    assert (again.changed, again.examined, again.skipped) == (0, 4, 2)
    assert len(repricings(engine)) == 4

    check_after = check_prices(engine=engine, price_book=PriceBook(price_file))
    assert [(r["model"], r["status"]) for r in check_after] == [(LLAMA, "flagged")]


def test_reprice_by_model_and_period_after_a_negotiated_rate(
    ledger: tuple[sa.Engine, Path], tmp_path: Path
) -> None:
    engine, _ = ledger
    discount = tmp_path / "discount.toml"
    discount.write_text(
        '[[override]]\nprovider = "anthropic"\nmultiplier = "0.8"\nfrom = 2025-06-01\n',
        encoding="utf-8",
    )
    book = PriceBook(discount)
    none = reprice(engine=engine, model="claude-*", period="2025-07", price_book=book)
    assert none.examined == 0 and none.changed == 0
    dry = reprice(engine=engine, model="claude-*", price_book=book, dry_run=True)
    assert dry.changed == 1 and repricings(engine) == []
    done = reprice(engine=engine, model="claude-*", period="2025-06", price_book=book)
    assert done.changed == 1 and done.delta_nanos == -360_000_000
    assert costs(engine)[("claude-sonnet-4-5-20250929", JUNE_10)][0] == 1_440_000_000
    (history,) = repricings(engine)
    assert (history.old_cost_nanos, history.new_cost_nanos) == (1_800_000_000, 1_440_000_000)
    assert history.old_price_rule.startswith("genai-prices")
    assert history.new_price_rule.startswith("discount.toml:1 override anthropic/* x0.8")
    # removing the discount again is a recorded change back
    back = reprice(engine=engine, provider="anthropic", price_book=PriceBook(""))
    assert back.changed == 1 and len(repricings(engine)) == 2


def test_reprice_small_batches_and_filters_required(ledger: tuple[sa.Engine, Path]) -> None:
    engine, price_file = ledger
    result = reprice(engine=engine, unpriced=True, price_book=PriceBook(price_file), batch_size=1)
    assert result.changed == 4
    with pytest.raises(InputError, match="say which rows"):
        reprice(engine=engine, price_book=PriceBook(price_file))
    with pytest.raises(InputError, match="invalid period"):
        reprice(engine=engine, period="june", price_book=PriceBook(price_file))


def test_cli_prices_check_and_reprice(
    ledger: tuple[sa.Engine, Path], ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine, price_file = ledger
    runner = CliRunner()
    checked = runner.invoke(main, ["prices", "check", "--db", ledger_url, "--format", "json"])
    assert checked.exit_code == 1, checked.output
    records = json.loads(checked.stdout)
    assert {r["model"] for r in records} == {LLAMA, None}
    monkeypatch.setenv("COSTLEDGER_PRICES", str(price_file))
    done = runner.invoke(main, ["reprice", "--unpriced", "--db", ledger_url])
    assert done.exit_code == 0, done.output
    assert "changed 4 (4 newly priced" in done.output
    assert "prices.toml:2 model self-hosted/llama-3.3-70b*" in done.output
    rechecked = runner.invoke(main, ["prices", "check", "--db", ledger_url, "--format", "json"])
    assert [r["status"] for r in json.loads(rechecked.stdout)] == ["flagged"]
    bad = price_file.parent / "bad.toml"
    bad.write_text('[[override]]\nprovider = "x"\nmultiplier = "lots"\n', encoding="utf-8")
    failed = runner.invoke(
        main, ["reprice", "--unpriced", "--db", ledger_url, "--prices", str(bad)]
    )
    assert failed.exit_code != 0
    assert f"{bad}:3: [[override]] #1, field 'multiplier'" in failed.output


def test_load_price_book_maps_price_file_errors(tmp_path: Path) -> None:
    from opentelemetry.exporter.costledger.price_book import load_price_book

    bad = tmp_path / "p.toml"
    bad.write_text("[[model]]\nmodel = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"p\.toml:1: \[\[model\]\] #1, field 'input'"):
        load_price_book(str(bad))


def test_quantity_is_exact_decimal(ledger: tuple[sa.Engine, Path]) -> None:
    engine, _ = ledger
    with engine.connect() as conn:
        quantities = conn.execute(
            sa.select(ledger_entries.c.quantity).where(ledger_entries.c.quantity.is_not(None))
        ).scalars()
        assert sorted(Decimal(q) for q in quantities) == [Decimal(7), Decimal(30)]
