"""A price-file entry naming a model family also prices its dated snapshots.

The APIs return dated names (``claude-sonnet-4-5-20250929``, ``gpt-4o-2024-08-06``, Vertex's
``claude-sonnet-4-5@20250929``); users write the name from the price page. Both entry points
(``price_tokens``, ``price_counts``), ``costledger prices`` and ``prices check`` must agree, an
entry naming the snapshot itself must beat the family entry, and a family must not reach a
different model that merely shares its prefix.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ingest.spans import SpanData
from opentelemetry.exporter.costledger.ledger.store import LedgerStore
from opentelemetry.exporter.costledger.prices.check import check_prices
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger._price_rules import (
    NAMES_MODEL,
    NAMES_SNAPSHOT,
    snapshot_family,
)
from opentelemetry.instrumentation.costledger.pricing import PriceBook
from opentelemetry.instrumentation.costledger.usage import TokenUsage

GENAI = "genai-prices " + __import__("genai_prices").__version__
K100 = 100_000
CALL = TokenUsage(input_tokens=K100, output_tokens=K100)
NOV_1 = datetime(2025, 11, 1, 12, tzinfo=UTC)
NOV_1_NS = int(NOV_1.timestamp()) * 10**9


def write(tmp_path: Path, text: str, name: str = "prices.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def priced(book: PriceBook, provider: str, model: str, at: datetime = NOV_1) -> tuple[int, str]:
    """(nano-dollars, rule) of a 100k-in/100k-out call, the same from both entry points."""
    cost = book.price_tokens(provider, model, CALL, at)
    assert cost.cost_nanos is not None, cost.unpriced_reason
    at_ns = int(at.timestamp()) * 10**9
    assert book.price_counts(provider, model, at_ns, K100, K100) == (
        cost.cost_nanos,
        cost.rule,
        None,
        "USD",
    )
    assert cost.rule is not None
    return cost.cost_nanos, cost.rule


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o", None),
        ("gpt-4o-mini", None),
        ("claude-sonnet-4-5", None),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        ("gpt-4-0125-preview", "gpt-4"),  # spelling only: model_rank asks genai-prices
        ("gpt-4-1306", None),  # month 13
        ("gpt-4-0132", None),  # day 32
        ("gpt-4-turbo", None),
        ("gpt-4.1", None),
        ("o1-preview", None),
        ("-0613", None),
        ("gpt-4o-2024-0806", None),  # half one date format, half the other
        ("model-20251341", None),  # month 13: not a date
        ("-20250929", None),
    ],
)
def test_snapshot_family(name: str, family: str | None) -> None:
    assert snapshot_family(name) == family


def test_family_override_applies_to_dated_snapshots(tmp_path: Path) -> None:
    book = PriceBook(
        write(
            tmp_path,
            """
[[override]]
provider = "anthropic"
model = "claude-sonnet-4-5"
multiplier = "0.8"
""",
        )
    )
    rule = (
        f"prices.toml:2 override anthropic/claude-sonnet-4-5 x0.8 on {GENAI}"
        " anthropic/claude-sonnet-4-5"
    )
    # list $3/$15 per MTok: 0.30 + 1.50 = 1.80, 20% off = 1.44
    for model in ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "Claude-Sonnet-4-5-20250929"):
        assert priced(book, "anthropic", model) == (1_440_000_000, rule)
    # was: 1.80 at list price, the override silently ignored
    assert PriceBook("").price_tokens(
        "anthropic", "claude-sonnet-4-5-20250929", CALL, NOV_1
    ).amount == Decimal("1.8")


def test_family_model_entry_prices_every_date_format_yaml(tmp_path: Path) -> None:
    book = PriceBook(
        write(
            tmp_path,
            """
model:
  - provider: openai
    model: gpt-4o
    input: 2.00
    output: 8.00
  - provider: self-hosted
    model: house-llm
    input: "0.20"
    output: "0.60"
""",
            "prices.yaml",
        )
    )
    gpt = "prices.yaml:3 model openai/gpt-4o"
    # 100k x $2 + 100k x $8 per MTok = 0.20 + 0.80
    assert priced(book, "openai", "gpt-4o-2024-08-06") == (1_000_000_000, gpt)
    assert priced(book, "openai", "gpt-4o-2024-11-20") == (1_000_000_000, gpt)
    house = "prices.yaml:7 model self-hosted/house-llm"
    # 0.02 + 0.06, for the name, an Anthropic-style, an OpenAI-style and a Vertex-style date
    for model in ("house-llm", "house-llm-20251101", "house-llm-2025-11-01", "house-llm@20251101"):
        assert priced(book, "self-hosted", model) == (80_000_000, house)


def test_family_does_not_reach_a_model_sharing_its_prefix(tmp_path: Path) -> None:
    book = PriceBook(
        write(
            tmp_path,
            """
[[model]]
provider = "openai"
model = "gpt-4o"
input = "2.00"
output = "8.00"

[[override]]
provider = "anthropic"
model = "claude-sonnet-4"
multiplier = "0.5"
""",
        )
    )
    # gpt-4o-mini list $0.15/$0.60: 0.015 + 0.06
    mini = (75_000_000, f"{GENAI} openai/gpt-4o-mini")
    assert priced(book, "openai", "gpt-4o-mini") == mini
    assert priced(book, "openai", "gpt-4o-mini-2024-07-18") == mini
    # claude-sonnet-4-5 keeps its list price; claude-sonnet-4's own snapshot gets the 50%
    assert priced(book, "anthropic", "claude-sonnet-4-5-20250929") == (
        1_800_000_000,
        f"{GENAI} anthropic/claude-sonnet-4-5",
    )
    assert priced(book, "anthropic", "claude-sonnet-4-20250514") == (
        900_000_000,
        f"prices.toml:8 override anthropic/claude-sonnet-4 x0.5 on {GENAI}"
        " anthropic/claude-sonnet-4-0",
    )
    # a snapshot entry does not price the family or other snapshots
    snap = PriceBook(
        write(
            tmp_path,
            '[[model]]\nprovider = "openai"\nmodel = "gpt-4o-2024-08-06"\n'
            'input = "1"\noutput = "1"\n',
            "snap.toml",
        )
    )
    assert priced(snap, "openai", "gpt-4o-2024-08-06") == (
        200_000_000,
        "snap.toml:1 model openai/gpt-4o-2024-08-06",
    )
    assert priced(snap, "openai", "gpt-4o")[1] == f"{GENAI} openai/gpt-4o"
    assert priced(snap, "openai", "gpt-4o-2024-11-20")[1] == f"{GENAI} openai/gpt-4o"


def test_an_entry_naming_the_snapshot_beats_the_family(tmp_path: Path) -> None:
    book = PriceBook(
        write(
            tmp_path,
            """
[[override]]
provider = "anthropic"
model = "claude-sonnet-4-5-20250929"
multiplier = "0.9"
from = 2025-10-01

[[override]]                   # later in the file and a later 'from': still the family entry
provider = "anthropic"
model = "claude-sonnet-4-5"
multiplier = "0.5"
from = 2025-10-15
""",
        )
    )
    snapshot = "prices.toml:2 override anthropic/claude-sonnet-4-5-20250929 x0.9 from 2025-10-01"
    family = "prices.toml:8 override anthropic/claude-sonnet-4-5 x0.5 from 2025-10-15"
    list_rule = f"{GENAI} anthropic/claude-sonnet-4-5"
    dated, other = "claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20260101"
    assert priced(book, "anthropic", dated, datetime(2025, 9, 30, tzinfo=UTC)) == (
        1_800_000_000,
        list_rule,
    )
    assert priced(book, "anthropic", dated) == (1_620_000_000, f"{snapshot} on {list_rule}")
    # other snapshots and the bare name follow the family entry
    assert priced(book, "anthropic", other) == (900_000_000, f"{family} on {list_rule}")
    assert priced(book, "anthropic", "claude-sonnet-4-5") == (
        900_000_000,
        f"{family} on {list_rule}",
    )


def test_globs_work_as_documented(tmp_path: Path) -> None:
    """A glob is matched as written (no date rule added); among a glob and a family entry that
    both reach a snapshot, the latest 'from', then the later entry wins, as for the bare name."""
    book = PriceBook(
        write(
            tmp_path,
            """
[[override]]
provider = "anthropic"
model = "claude-sonnet-4-5"
multiplier = "0.5"

[[override]]
provider = "anthropic"
model = "claude-sonnet-4-5*"
multiplier = "0.8"

[[override]]
provider = "openai"
model = "gpt-4o-2024-*"
multiplier = "0.5"
""",
        )
    )
    glob = f"prices.toml:7 override anthropic/claude-sonnet-4-5* x0.8 on {GENAI}"
    for model in ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"):
        assert priced(book, "anthropic", model) == (
            1_440_000_000,
            f"{glob} anthropic/claude-sonnet-4-5",
        )
    # the glob names dated snapshots only: the bare name keeps its list price ($2.50/$10)
    assert priced(book, "openai", "gpt-4o") == (1_250_000_000, f"{GENAI} openai/gpt-4o")
    assert priced(book, "openai", "gpt-4o-2024-08-06")[0] == 625_000_000


PRICES = """
[[model]]
provider = "self-hosted"
model = "house-llm"
input = "0.20"
output = "0.60"

[[override]]
provider = "anthropic"
model = "claude-sonnet-4-5"
multiplier = "0.8"
"""


def test_prices_command_shows_the_family_price_for_a_snapshot(tmp_path: Path) -> None:
    path = write(tmp_path, PRICES)
    result = CliRunner().invoke(
        main,
        ["prices", "--model", "claude-sonnet-4-5-20250929", "--provider", "anthropic",
         "--at", "2025-11-01", "--prices", str(path), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    base = json.loads(result.output)[0]
    assert (base["input"], base["output"], base["cache_read"]) == ("2.4", "12", "0.24")
    assert base["rule"].startswith("prices.toml:8 override anthropic/claude-sonnet-4-5 x0.8")


def test_prices_check_finds_no_gap_for_a_snapshot_of_a_priced_family(
    ledger_url: str, tmp_path: Path
) -> None:
    attributes = {
        A.GEN_AI_PROVIDER_NAME: "self-hosted",
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_REQUEST_MODEL: "house-llm-20251101",
        A.GEN_AI_RESPONSE_MODEL: "house-llm-20251101",
        A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 1_000_000,
    }
    span = SpanData(0xDA7ED, 1, None, "chat", 2, NOV_1_NS, NOV_1_NS + 1000, attributes)
    conversion = spans_to_rows([span], PriceBook(""))
    store = LedgerStore(ledger_url)
    try:
        assert store.insert(conversion.rows).inserted == 1
    finally:
        store.close()
    without = check_prices(ledger_url, price_book=PriceBook(""))
    assert [(r["model"], r["status"]) for r in without] == [("house-llm-20251101", "unpriced")]
    with_file = check_prices(ledger_url, price_book=PriceBook(write(tmp_path, PRICES)))
    assert [(r["model"], r["status"]) for r in with_file] == [("house-llm-20251101", "repriceable")]


def test_model_rank_alone_for_callers_without_a_provider(tmp_path: Path) -> None:
    """``model_rank`` is the model half of the match, for code that looks for the provider of
    a model (``costledger prices --model`` without ``--provider``)."""
    family, snapshot, glob = PriceBook(
        write(
            tmp_path,
            '[[model]]\nprovider = "self-hosted"\nmodel = "house-llm"\ninput = 1\noutput = 1\n'
            '[[model]]\nprovider = "self-hosted"\nmodel = "house-llm-20251101"\ninput = 1\n'
            "output = 1\n"
            '[[model]]\nprovider = "self-hosted"\nmodel = "house-*"\ninput = 1\noutput = 1\n',
        )
    ).rules.token_rules
    assert family.model_rank("House-LLM-2025-11-01") == NAMES_MODEL
    assert family.model_rank("house-llm-mini-20251101") is None
    assert snapshot.model_rank("house-llm-20251101") == NAMES_SNAPSHOT
    assert snapshot.model_rank("house-llm") is None
    assert glob.model_rank("house-llm-20251101") == NAMES_MODEL
    assert NAMES_SNAPSHOT > NAMES_MODEL


MMDD_PRICES = """
[[override]]
provider = "openai"
model = "gpt-3.5-turbo"
multiplier = "0.8"

[[override]]
provider = "openai"
model = "gpt-4"
multiplier = "0.8"

[[override]]
provider = "openai"
model = "gpt-4-0314"
multiplier = "0.5"

[[model]]
provider = "self-hosted"
model = "house-llm"
input = "0.20"
output = "0.60"
"""


def test_family_prices_openai_month_day_snapshots(tmp_path: Path) -> None:
    book = PriceBook(write(tmp_path, MMDD_PRICES))
    turbo35 = f"prices.toml:2 override openai/gpt-3.5-turbo x0.8 on {GENAI} openai/gpt-3.5-turbo"
    # list $0.50/$1.50 per MTok: 0.05 + 0.15 = 0.20, 20% off = 0.16
    for model in ("gpt-3.5-turbo", "gpt-3.5-turbo-0125", "GPT-3.5-Turbo-0125"):
        assert priced(book, "openai", model) == (160_000_000, turbo35)
    # was: 0.20 at list price, the override silently ignored
    assert PriceBook("").price_tokens("openai", "gpt-3.5-turbo-0125", CALL, NOV_1).amount == (
        Decimal("0.2")
    )
    gpt4 = f"prices.toml:7 override openai/gpt-4 x0.8 on {GENAI} openai/gpt-4"
    # list $30/$60: 3 + 6 = 9, 20% off = 7.20
    assert priced(book, "openai", "gpt-4") == (7_200_000_000, gpt4)
    assert priced(book, "openai", "gpt-4-0613") == (7_200_000_000, gpt4)
    # an entry naming the snapshot wins over the family: half of 9
    assert priced(book, "openai", "gpt-4-0314") == (
        4_500_000_000,
        f"prices.toml:12 override openai/gpt-4-0314 x0.5 on {GENAI} openai/gpt-4",
    )
    house = "prices.toml:17 model self-hosted/house-llm"
    for model in ("house-llm-0613", "house-llm-1106-preview"):
        assert priced(book, "self-hosted", model) == (80_000_000, house)


def test_month_day_family_never_takes_another_models_price(tmp_path: Path) -> None:
    """Snapshots genai-prices prices as models of their own keep their own list price: the
    GPT-4 Turbo previews are not ``gpt-4``, and two gpt-3.5-turbo snapshots cost more."""
    book = PriceBook(write(tmp_path, MMDD_PRICES))
    # gpt-4-turbo list $10/$30: 1 + 3
    for model in ("gpt-4-1106-preview", "gpt-4-0125-preview", "gpt-4-turbo"):
        assert priced(book, "openai", model) == (4_000_000_000, f"{GENAI} openai/gpt-4-turbo")
    # gpt-3.5-turbo-1106 list $1/$2: 0.1 + 0.2; gpt-3.5-turbo-0613 $1.50/$2: 0.15 + 0.2
    assert priced(book, "openai", "gpt-3.5-turbo-1106") == (
        300_000_000,
        f"{GENAI} openai/gpt-3.5-turbo-1106",
    )
    assert priced(book, "openai", "gpt-3.5-turbo-0613") == (
        350_000_000,
        f"{GENAI} openai/gpt-3.5-turbo-0613",
    )
    # models sharing the prefix: gpt-4o list $2.50/$10
    assert priced(book, "openai", "gpt-4o") == (1_250_000_000, f"{GENAI} openai/gpt-4o")
    assert priced(book, "openai", "gpt-4.1")[1] == f"{GENAI} openai/gpt-4.1"
    # a [[model]] entry for gpt-4 does not reach the Turbo previews either
    custom = PriceBook(
        write(
            tmp_path,
            '[[model]]\nprovider = "openai"\nmodel = "gpt-4"\ninput = "1"\noutput = "1"\n',
            "custom.toml",
        )
    )
    assert priced(custom, "openai", "gpt-4-0613") == (
        200_000_000,
        "custom.toml:1 model openai/gpt-4",
    )
    assert priced(custom, "openai", "gpt-4-1106-preview") == (
        4_000_000_000,
        f"{GENAI} openai/gpt-4-turbo",
    )


def test_month_day_model_rank(tmp_path: Path) -> None:
    gpt4, glob_provider, snapshot = PriceBook(
        write(
            tmp_path,
            '[[model]]\nprovider = "openai"\nmodel = "gpt-4"\ninput = 1\noutput = 1\n'
            '[[model]]\nprovider = "*"\nmodel = "gpt-3.5-turbo"\ninput = 1\noutput = 1\n'
            '[[model]]\nprovider = "openai"\nmodel = "gpt-4-0613"\ninput = 1\noutput = 1\n',
        )
    ).rules.token_rules
    assert gpt4.model_rank("gpt-4-0613") == NAMES_MODEL
    assert gpt4.model_rank("gpt-4-1106-preview") is None
    assert gpt4.model_rank("gpt-4o") is None
    assert gpt4.model_rank("gpt-4-turbo") is None
    assert glob_provider.model_rank("gpt-3.5-turbo-0125") == NAMES_MODEL
    assert glob_provider.model_rank("gpt-3.5-turbo-1106") is None
    assert snapshot.model_rank("gpt-4-0613") == NAMES_SNAPSHOT
    assert snapshot.model_rank("gpt-4") is None
