"""``PriceBook.price_counts`` (the ledger's per-row entry point) agrees with ``price_tokens``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.instrumentation.costledger.pricing import PriceBook
from opentelemetry.instrumentation.costledger.usage import TokenUsage

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1) * 1000


def as_tuple(book: PriceBook, call: tuple, usage: TokenUsage, at_ns: int) -> tuple:
    provider, model, tier, batch = call
    at = _EPOCH + timedelta(microseconds=at_ns // 1000)
    priced = book.price_tokens(provider, model, usage, at, service_tier=tier, batch=batch)
    return priced.cost_nanos, priced.rule, priced.unpriced_reason, priced.currency


CALLS = [
    ("anthropic", "claude-sonnet-4-5-20250929", None, False),
    ("anthropic", "claude-sonnet-4-6", None, False),  # price change on 2026-03-13
    ("anthropic", "claude-sonnet-4-5", "batch", False),
    ("openai", "gpt-4o-2024-08-06", "priority", False),
    ("openai", "gpt-4o", None, True),
    ("openai", "text-embedding-3-small", None, False),
    ("deepseek", "deepseek-chat", None, False),  # off-peak prices by time of day
    ("openai", "gpt-99-turbo", None, False),  # unknown: unpriced with the reason
    ("self-hosted", "llama-3.3-70b-instruct", None, False),  # price file, two periods
    ("openai", None, None, False),
]
USAGES = [
    TokenUsage(1_200, 300),
    TokenUsage(9_000, 800, 7_000, 500, 0, 200),
    TokenUsage(300_000, 1_000, 0, 1_000, 2_000, 0),  # long-context tier
    TokenUsage(10, 0, 20),  # does not add up: unpriced
    TokenUsage(0, 0),
]
# Instants in random order around every period boundary, to the nanosecond.
BOUNDARIES = [
    datetime(2025, 6, 15, tzinfo=UTC),
    datetime(2026, 3, 13, tzinfo=UTC),
    datetime(2025, 11, 14, 0, 30, tzinfo=UTC),
    datetime(2025, 11, 14, 16, 30, tzinfo=UTC),
]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> PriceBook:
    path: Path = tmp_path_factory.mktemp("prices") / "prices.toml"
    path.write_text(
        'version = 1\n[[model]]\nprovider = "self-hosted"\nmodel = "llama-3.3-70b*"\n'
        'input = "0.20"\noutput = "0.60"\nfrom = 2025-06-01\n'
        '[[model]]\nprovider = "self-hosted"\nmodel = "llama-3.3-70b*"\n'
        'input = "0.10"\noutput = "0.40"\nfrom = 2025-06-15\n'
    )
    return PriceBook(path)


def test_price_counts_equals_price_tokens_in_any_order(book: PriceBook) -> None:
    instants = [
        ns(at) + delta
        for at in BOUNDARIES
        for delta in (-3_600 * 10**9, -1_000, -1, 0, 1, 999, 1_000, 3_600 * 10**9)
    ]
    cases = [(call, usage, at) for call in CALLS for usage in USAGES for at in instants]
    random.Random(3).shuffle(cases)
    for call, usage, at in cases:
        provider, model, tier, batch = call
        fast = book.price_counts(provider, model, at, *usage, tier, batch)
        assert fast == as_tuple(book, call, usage, at), (call, usage, at)


def test_the_cached_window_follows_a_price_change(book: PriceBook) -> None:
    usage = TokenUsage(300_000, 1_000)
    change = ns(datetime(2026, 3, 13, tzinfo=UTC))
    before = book.price_counts("anthropic", "claude-sonnet-4-6", change - 1, *usage)
    after = book.price_counts("anthropic", "claude-sonnet-4-6", change, *usage)
    again = book.price_counts("anthropic", "claude-sonnet-4-6", change - 1, *usage)
    assert before == again
    assert before[0] == 300_000 * 6_000 + 1_000 * 22_500  # $6 / $22.5 per million, in nanos
    assert after[0] == 300_000 * 3_000 + 1_000 * 15_000


def test_a_service_tier_that_means_batch_is_remembered_as_asked(book: PriceBook) -> None:
    # Anthropic reports batch calls as service tier "batch": the model is resolved once, under
    # the tier the caller named, and quote_tokens finds it there.
    at = datetime(2026, 11, 2, tzinfo=UTC)
    usage = TokenUsage(100_000, 100_000)
    first = book.price_tokens("anthropic", "claude-sonnet-4-5", usage, at, service_tier="batch")
    entries = len(book._tokens)
    again = book.price_tokens("anthropic", "claude-sonnet-4-5", usage, at, service_tier="batch")
    assert again == first and len(book._tokens) == entries
    quote = book.quote_tokens("anthropic", "claude-sonnet-4-5", at, service_tier="batch")
    assert quote.rule == first.rule
