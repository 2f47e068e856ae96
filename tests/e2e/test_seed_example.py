"""The seed article's worked example (May 2025), end to end and to the cent.

The real pipeline: the real ``anthropic`` and ``openai`` SDKs (only the network replaced by an
``httpx2.MockTransport`` on the fake provider APIs, ``demo/fake_providers``), the costledger
instrumentation on a real SDK ``TracerProvider``, ``attribute_to`` / ``metadata=`` /
``record_cost`` for attribution and non-API costs, the user's price file, the in-process
``CostLedgerSpanExporter`` writing the ledger, then the jobs run as the README's tutorial commands
(the very text of the README section ``jobs``, which this test checks). The SDK calls are made
now and moved to May 2025 by the demo's ``TimeShiftSpanProcessor`` (start and end shifted alike;
nothing else changes); ``record_cost`` takes its May time itself (``timestamp=``). The README's
tutorial itself, which imports the same calls with ``costledger import calls``, is replayed from
its text by ``test_readme_walkthrough.py``.

Expected, from the seed: cust_12345's API calls $1,800 and embeddings $120 (made so by the price
file), vector storage $100 (Pinecone $500, 2M of 10M vectors), observability $60 (Langfuse $300,
8,000 of 40,000 log events), human review $600 (20 reviews of 30 minutes at $60/hour),
third-party $80 (200 Stripe charges at $0.40) — $2,760 in all; $0.445 per ticket at 6,200
tickets; 86% of $3,200 revenue; margin $2,400 (75%) → −$360, unprofitable; and Step 6 for the four
customers, whose Step 3 totals ($3,412.50, $890.35, $245.80) include their shares of the two
shared bills.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger import CostLedgerSpanExporter
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.demo.clock import SimulatedClock, TimeShiftSpanProcessor
from opentelemetry.exporter.costledger.demo.fake_providers import (
    FakeAnthropic,
    FakeOpenAI,
    SeededIds,
    UsageSpec,
)
from opentelemetry.instrumentation.costledger import (
    CostLedgerInstrumentor,
    attribute_to,
    record_cost,
)
from opentelemetry.instrumentation.costledger.pricing import PriceBook
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

README = Path(__file__).resolve().parents[2] / "README.md"
CHAT_MODEL = "claude-3-5-sonnet-20241022"
EMBEDDING_MODEL = "text-embedding-3-small"

# --- the tutorial's files, verbatim in the README ------------------------------------------

PRICES_TOML = """\
version = 1

[[model]]                       # the negotiated (here: made-up) rate of the seed's example
provider = "anthropic"
model = "claude-3-5-sonnet-20241022"
input = "1000"                  # USD per million tokens
output = "4000"

[[model]]
provider = "openai"
model = "text-embedding-3-small"
input = "1000"
output = "0"

[[unit_price]]
category = "human_review"
unit = "hour"
price = "60.00"

[[unit_price]]
category = "third_party"
item = "stripe.charge"
unit = "call"
price = "0.40"
"""

BILLS_TOML = """\
[[bills]]
name = "Pinecone"
amount = "500.00"
category = "vector_storage"
method = "proportional"
driver = "usage:vectors"

[[bills]]
name = "Langfuse"
amount = "300.00"
category = "observability"
method = "proportional"
driver = "usage:log_events"
"""

USAGE_CSV = """\
customer_id,date,metric,quantity
cust_12345,2025-05-31,vectors,2000000
cust_67890,2025-05-31,vectors,5000000
cust_54321,2025-05-31,vectors,2000000
cust_11111,2025-05-31,vectors,1000000
cust_12345,2025-05-31,log_events,8000
cust_67890,2025-05-31,log_events,20000
cust_54321,2025-05-31,log_events,8000
cust_11111,2025-05-31,log_events,4000
"""

BUSINESS_CSV = """\
customer_id,period,revenue,margin_pct,plan,work_items
cust_67890,2025-05,12000,75%,enterprise,
cust_12345,2025-05,3200,75%,pro,6200
cust_54321,2025-05,5500,75%,pro,
cust_11111,2025-05,1800,75%,starter,
"""

COMMANDS = """\
costledger import usage usage-2025-05.csv
costledger import business business-2025-05.csv
costledger allocate bills.toml --period 2025-05
costledger aggregate --by month --period 2025-05
costledger normalize --period 2025-05 --customer cust_12345
costledger normalize --period 2025-05
costledger rank --period 2025-05 --round-to dollar
"""

# (customer, day of May, input tokens, output tokens): at $1,000 / $4,000 per million tokens.
CHATS = [
    ("cust_12345", 2, 250_000, 50_000),
    ("cust_12345", 9, 250_000, 50_000),
    ("cust_12345", 16, 250_000, 50_000),
    ("cust_12345", 23, 250_000, 50_000),  # $1,800 in all
    ("cust_67890", 5, 512_500, 250_000),
    ("cust_67890", 19, 500_000, 250_000),  # $3,012.50 (+ $250 vectors + $150 events)
    ("cust_54321", 12, 330_350, 100_000),  # $730.35 (+ $100 + $60)
    ("cust_11111", 20, 65_800, 25_000),  # $165.80 (+ $50 + $30)
]


def _may(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 5, day, hour, tzinfo=UTC)


@pytest.fixture
def instrumented(
    ledger_url: str, tmp_path: Path
) -> Iterator[tuple[TracerProvider, SimulatedClock]]:
    (tmp_path / "prices.toml").write_text(PRICES_TOML)
    exporter = CostLedgerSpanExporter(ledger_url, price_book=PriceBook(tmp_path / "prices.toml"))
    clock = SimulatedClock()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-copilot"}))
    provider.add_span_processor(TimeShiftSpanProcessor(clock, SimpleSpanProcessor(exporter)))
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield provider, clock
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def _run_may_2025(clock: SimulatedClock) -> None:
    # The fake provider APIs, answering each call with the usage the tutorial gives it.
    chat = FakeAnthropic(text=("Here is the answer.",), ids=SeededIds("seed example"))
    chat.snapshots = {}  # answer with the model asked for
    vectors = FakeOpenAI(ids=SeededIds("seed example"), dimensions=3)
    vectors.usage = UsageSpec(input_tokens=60_000, cached_tokens=0, output_tokens=0)
    claude: anthropic.Anthropic = chat.client()
    gpt: openai.OpenAI = vectors.client()
    for index, (customer, day, tokens_in, tokens_out) in enumerate(CHATS):
        prompt = json.dumps({"input": tokens_in, "output": tokens_out})
        chat.usage = UsageSpec(
            input_tokens=tokens_in, cached_tokens=0, output_tokens=tokens_out, reasoning_tokens=0
        )
        with clock.at(_may(day)):
            if customer == "cust_67890":
                # the seed's Step 1 pattern: attribution in metadata=, stripped before sending
                metadata: Any = {"customer_id": customer, "work_item_id": f"ticket_{index}"}
                claude.messages.create(
                    model=CHAT_MODEL,
                    max_tokens=1024,
                    messages=[{"role": "user", "content": prompt}],
                    metadata=metadata,
                )
            else:
                with attribute_to(customer_id=customer, work_item_id=f"ticket_{index}"):
                    claude.messages.create(
                        model=CHAT_MODEL,
                        max_tokens=1024,
                        messages=[{"role": "user", "content": prompt}],
                    )
    with attribute_to(customer_id="cust_12345", customer_name="Acme Corp"):
        for day in (3, 17):
            with clock.at(_may(day)):
                gpt.embeddings.create(model=EMBEDDING_MODEL, input=["tokens 60000"])  # $60 each
        # What is not an LLM call is recorded at its own time (no clock needed).
        for review in range(20):  # 20 reviews of 30 minutes at $60/hour
            record_cost("human_review", quantity=30, unit="minute", work_item_id=f"r{review}",
                        timestamp=_may(1 + review, 15))  # fmt: skip
        for day in (6, 13, 20, 27):  # 4 x 50 Stripe charges at $0.40
            record_cost("third_party", quantity=50, unit="call", item="stripe.charge",
                        timestamp=_may(day, 16))  # fmt: skip


def _readme_section() -> str:
    text = README.read_text()
    return text[text.index("<!-- section:jobs -->") : text.index("<!-- /section:jobs -->")]


def test_the_readme_tutorial_is_this_test() -> None:
    section = _readme_section()
    for block in (PRICES_TOML, BILLS_TOML, USAGE_CSV, BUSINESS_CSV):
        assert block in section
    for command in COMMANDS.splitlines():
        assert command in section


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_may_2025_to_the_cent(
    instrumented: tuple[TracerProvider, SimulatedClock],
    ledger_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider, clock = instrumented
    _run_may_2025(clock)
    provider.force_flush()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTLEDGER_DATABASE_URL", ledger_url)
    (tmp_path / "bills.toml").write_text(BILLS_TOML)
    (tmp_path / "usage-2025-05.csv").write_text(USAGE_CSV)
    (tmp_path / "business-2025-05.csv").write_text(BUSINESS_CSV)
    outputs = [_cli(*shlex.split(line)[1:]) for line in COMMANDS.splitlines()]

    # Step 3: the ledger's own API totals per customer (before allocation they are Step 3's
    # totals minus the shared bills; after, exactly the seed's).
    monthly = {r["customer_id"]: r for r in json.loads(_cli("aggregate", "--format", "json"))}
    assert monthly["cust_67890"]["cost_usd"] == "3412.50"
    assert monthly["cust_54321"]["cost_usd"] == "890.35"
    assert monthly["cust_11111"]["cost_usd"] == "245.80"
    assert monthly["cust_12345"]["calls"] == 6  # 4 chats + 2 embeddings

    # Step 4: the fully loaded cost of cust_12345.
    breakdown = json.loads(
        _cli("normalize", "--period", "2025-05", "--customer", "cust_12345", "--format", "json")
    )
    assert {r["category"]: r["cost_usd"] for r in breakdown} == {
        "api": "1800.00",
        "embedding": "120.00",
        "vector_storage": "100.00",
        "observability": "60.00",
        "human_review": "600.00",
        "third_party": "80.00",
        "total": "2760.00",
    }
    assert "$2,760.00" in outputs[4]
    section = _readme_section()
    for line in outputs[4].strip().splitlines():  # the README shows this very table
        assert line.strip() in section, line

    # Step 5: per ticket, share of revenue, against the margin.
    economics = {
        r["customer_id"]: r
        for r in json.loads(_cli("normalize", "--period", "2025-05", "--format", "json"))
    }
    acme = economics["cust_12345"]
    assert Decimal(acme["cost_per_work_item"]).quantize(Decimal("0.001")) == Decimal("0.445")
    assert Decimal(acme["ai_share_of_revenue"]).quantize(Decimal("0.01")) == Decimal("0.86")
    assert (acme["margin_usd"], acme["profitability_usd"]) == ("2400.00", "-360.00")
    assert "$0.445" in outputs[5] and "86%" in outputs[5]

    # Step 6: the table, exactly as the seed prints it (whole dollars, half-even).
    ranked = list(
        csv.DictReader(io.StringIO(_cli("rank", "--period", "2025-05", "--format", "csv")))
    )
    assert [
        (
            r["rank"],
            r["customer_id"],
            r["revenue_usd"],
            r["ai_cost_usd"],
            r["margin_usd"],
            r["profitability_usd"],
        )
        for r in ranked
    ] == [
        ("1", "cust_67890", "12000.00", "3412.50", "9000.00", "5587.50"),
        ("2", "cust_12345", "3200.00", "2760.00", "2400.00", "-360.00"),
        ("3", "cust_54321", "5500.00", "890.35", "4125.00", "3234.65"),
        ("4", "cust_11111", "1800.00", "245.80", "1350.00", "1104.20"),
    ]
    assert [r["flags"] for r in ranked] == ["", "unprofitable,high_ai_share", "", ""]
    table = outputs[6]
    for line, figures in (
        ("cust_67890", ("$12,000", "$3,412", "$9,000", "$5,588", "62%")),
        ("cust_12345", ("$3,200", "$2,760", "$2,400", "-$360", "unprofitable", "usage pricing")),
        ("cust_54321", ("$5,500", "$890", "$4,125", "$3,235", "78%")),
        ("cust_11111", ("$1,800", "$246", "$1,350", "$1,104", "82%")),
    ):
        row = next(text for text in table.splitlines() if line in text)
        for figure in figures:
            assert figure in row, (line, figure, row)
