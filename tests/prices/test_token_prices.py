"""Token prices from genai-prices against values computed by hand from published list prices."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from opentelemetry.instrumentation.costledger.pricing import PriceBook, PricedCost
from opentelemetry.instrumentation.costledger.usage import TokenUsage

from .genai_data import HAS_PRICE_CONTEXT, needs_variant

M = 1_000_000
K100 = 100_000
NOV_2025 = datetime(2025, 11, 14, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook("")


def usd(priced: PricedCost) -> Decimal:
    assert priced.cost_nanos is not None, priced.unpriced_reason
    assert priced.amount is not None
    return priced.amount


def per_million(tokens: int, price: str) -> Decimal:
    return Decimal(tokens) * Decimal(price) / M


# claude-sonnet-4-5 list prices (USD per million tokens): input 3, output 15, cache read 0.30,
# cache write 5m 3.75, cache write 1h 6 (2x base input).
@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        # 100k tokens (a million would cross the 200k long-context tier): a tenth of the price
        (TokenUsage(input_tokens=K100), Decimal("0.3")),
        (TokenUsage(output_tokens=K100), Decimal("1.5")),
        (TokenUsage(input_tokens=K100, cache_read_tokens=K100), Decimal("0.030")),
        (TokenUsage(input_tokens=K100, cache_write_5m_tokens=K100), Decimal("0.375")),
        (TokenUsage(input_tokens=K100, cache_write_1h_tokens=K100), Decimal("0.6")),
        # reasoning is billed as output
        (TokenUsage(output_tokens=2000, reasoning_tokens=1500), per_million(2000, "15")),
        (
            TokenUsage(
                input_tokens=12_345,
                output_tokens=678,
                cache_read_tokens=4_000,
                cache_write_5m_tokens=1_000,
                cache_write_1h_tokens=2_000,
            ),
            per_million(5_345, "3")
            + per_million(4_000, "0.30")
            + per_million(1_000, "3.75")
            + per_million(2_000, "6")
            + per_million(678, "15"),
        ),
    ],
)
def test_claude_sonnet_4_5_every_token_kind(
    book: PriceBook, usage: TokenUsage, expected: Decimal
) -> None:
    priced = book.price_tokens("anthropic", "claude-sonnet-4-5-20250929", usage, NOV_2025)
    assert usd(priced) == expected
    assert priced.currency == "USD"
    assert priced.rule is not None and "anthropic/claude-sonnet-4-5" in priced.rule
    assert priced.rule.startswith("genai-prices ")


def test_dated_snapshot_and_alias_names_resolve_to_the_same_price(book: PriceBook) -> None:
    usage = TokenUsage(input_tokens=1000, output_tokens=500)
    expected = per_million(1000, "3") + per_million(500, "15")
    for name in ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"):
        assert usd(book.price_tokens("anthropic", name, usage, NOV_2025)) == expected


# gpt-4o: input 2.50, cached input 1.25, output 10 per million.
@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"])
def test_gpt_4o(book: PriceBook, model: str) -> None:
    usage = TokenUsage(input_tokens=10_000, output_tokens=2_000, cache_read_tokens=3_000)
    expected = per_million(7_000, "2.50") + per_million(3_000, "1.25") + per_million(2_000, "10")
    priced = book.price_tokens("openai", model, usage, NOV_2025)
    assert usd(priced) == expected == Decimal("0.041250")
    assert priced.rule is not None and "openai/gpt-4o" in priced.rule


def test_embedding_model(book: PriceBook) -> None:
    # text-embedding-3-small: $0.02 per million input tokens
    priced = book.price_tokens(
        "openai", "text-embedding-3-small", TokenUsage(input_tokens=123_456), NOV_2025
    )
    assert usd(priced) == per_million(123_456, "0.02") == Decimal("0.00246912")


def test_one_token_costs_its_exact_nano_dollars(book: PriceBook) -> None:
    # $0.02 per million = 20 nano-dollars per token; $1.25 per million = 1250 nano-dollars.
    one = TokenUsage(input_tokens=1)
    assert book.price_tokens("openai", "text-embedding-3-small", one, NOV_2025).cost_nanos == 20
    cached = TokenUsage(input_tokens=1, cache_read_tokens=1)
    assert book.price_tokens("openai", "gpt-4o", cached, NOV_2025).cost_nanos == 1250


def test_long_context_tier_applies_to_the_whole_call(book: PriceBook) -> None:
    # claude-sonnet-4-5 above 200k input tokens: input 6, output 22.5 for ALL tokens.
    small = TokenUsage(input_tokens=200_000, output_tokens=1_000)
    large = TokenUsage(input_tokens=200_001, output_tokens=1_000)
    assert usd(book.price_tokens("anthropic", "claude-sonnet-4-5", small, NOV_2025)) == (
        per_million(200_000, "3") + per_million(1_000, "15")
    )
    assert usd(book.price_tokens("anthropic", "claude-sonnet-4-5", large, NOV_2025)) == (
        per_million(200_001, "6") + per_million(1_000, "22.5")
    )


def test_price_change_mid_month_from_genai_prices_history(book: PriceBook) -> None:
    # genai-prices: claude-sonnet-4-6 had long-context tiers until 2026-03-12 and a flat price
    # over the whole window from 2026-03-13 (UTC dates).
    usage = TokenUsage(input_tokens=300_000, output_tokens=1_000)
    before = book.price_tokens(
        "anthropic", "claude-sonnet-4-6", usage, datetime(2026, 3, 12, 23, 59, 59, tzinfo=UTC)
    )
    after = book.price_tokens(
        "anthropic", "claude-sonnet-4-6", usage, datetime(2026, 3, 13, 0, 0, tzinfo=UTC)
    )
    assert usd(before) == per_million(300_000, "6") + per_million(1_000, "22.5")
    assert usd(after) == per_million(300_000, "3") + per_million(1_000, "15")
    assert after.rule is not None and "from 2026-03-13" in after.rule
    # a naive timestamp is UTC
    naive = book.price_tokens("anthropic", "claude-sonnet-4-6", usage, datetime(2026, 3, 13))
    assert naive == after


@needs_variant("openai", "gpt-4o", "processing", "batch")
@needs_variant("anthropic", "claude-sonnet-4-5", "processing", "batch")
def test_batch_and_service_tier_variants(book: PriceBook) -> None:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    usage = TokenUsage(input_tokens=M, output_tokens=M)
    batch = book.price_tokens("openai", "gpt-4o", usage, at, batch=True)
    assert usd(batch) == Decimal("1.25") + Decimal("5")
    assert batch.rule is not None and batch.rule.endswith(" batch")
    priority = book.price_tokens("openai", "gpt-4o", usage, at, service_tier="priority")
    assert usd(priority) == Decimal("4.25") + Decimal("17")
    # Anthropic reports batch calls as service tier "batch"; "standard" is the list price.
    small = TokenUsage(input_tokens=K100, output_tokens=K100)  # under the 200k tier
    anthropic_batch = book.price_tokens(
        "anthropic", "claude-sonnet-4-5", small, at, service_tier="batch"
    )
    assert usd(anthropic_batch) == Decimal("0.15") + Decimal("0.75")
    standard = book.price_tokens(
        "anthropic", "claude-sonnet-4-5", small, at, service_tier="standard"
    )
    assert usd(standard) == Decimal("0.3") + Decimal("1.5")


def test_batch_before_genai_prices_lists_a_batch_price_is_standard_and_says_so(
    book: PriceBook,
) -> None:
    priced = book.price_tokens(
        "anthropic", "claude-sonnet-4-5", TokenUsage(input_tokens=K100), NOV_2025, batch=True
    )
    assert usd(priced) == Decimal("0.3")
    assert priced.rule is not None and "no batch price listed" in priced.rule


def test_semconv_provider_names_map_to_genai_prices(book: PriceBook) -> None:
    usage = TokenUsage(input_tokens=M)
    bedrock = book.price_tokens(
        "aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", usage, NOV_2025
    )
    assert bedrock.cost_nanos is not None, bedrock.unpriced_reason
    assert bedrock.rule is not None and "aws/" in bedrock.rule


def test_unknown_model_and_provider_are_unpriced_with_a_reason(book: PriceBook) -> None:
    usage = TokenUsage(input_tokens=10, output_tokens=10)
    unknown = book.price_tokens("openai", "gpt-99-turbo", usage, NOV_2025)
    assert unknown.cost_nanos is None and unknown.amount is None and unknown.rule is None
    assert "no price for openai/gpt-99-turbo" in (unknown.unpriced_reason or "")
    assert "[[model]]" in (unknown.unpriced_reason or "")
    provider = book.price_tokens("acme-llm", "acme-1", usage, NOV_2025)
    assert "knows no provider 'acme-llm'" in (provider.unpriced_reason or "")
    assert book.price_tokens("openai", None, usage, NOV_2025).unpriced_reason == (
        "the call names no model"
    )


def test_inconsistent_usage_is_unpriced_not_zero(book: PriceBook) -> None:
    usage = TokenUsage(input_tokens=10, cache_read_tokens=20)
    priced = book.price_tokens("anthropic", "claude-sonnet-4-5", usage, NOV_2025)
    assert priced.cost_nanos is None
    assert "exceed input_tokens" in (priced.unpriced_reason or "")


def test_agrees_with_genai_prices_calc_price_on_every_anthropic_and_openai_model() -> None:
    """Our cached integer arithmetic equals calc_price rounded to nano-dollars, everywhere."""
    import genai_prices
    from genai_prices import data_snapshot

    book = PriceBook("")
    usages = [
        TokenUsage(1234, 567),
        TokenUsage(250_000, 3000, 10_000, 5000, 7000, 100),
        TokenUsage(50_000, 800, 20_000, 1000, 2000, 300),
    ]
    dates = [datetime(2024, 6, 1, tzinfo=UTC), NOV_2025, datetime(2026, 11, 20, tzinfo=UTC)]
    contexts: list[dict[str, object]] = [{}, {"batch": True}, {"service_tier": "priority"}]
    compared = 0
    for provider in data_snapshot.get_snapshot().providers:
        if provider.id not in ("anthropic", "openai"):
            continue
        for model in provider.models:
            for usage in usages:
                for at in dates:
                    for ctx in contexts:
                        price_context = {}
                        if ctx.get("batch"):
                            price_context["processing"] = "batch"
                        if ctx.get("service_tier"):
                            price_context["service_tier"] = str(ctx["service_tier"])
                        if not HAS_PRICE_CONTEXT:  # before 0.1.11: standard prices only
                            reference_context = {}
                        else:
                            reference_context = {"price_context": price_context or None}
                        try:
                            reference = genai_prices.calc_price(
                                genai_prices.Usage(
                                    input_tokens=usage.input_tokens,
                                    output_tokens=usage.output_tokens,
                                    cache_read_tokens=usage.cache_read_tokens,
                                    cache_write_tokens=usage.cache_write_tokens,
                                    cache_write_5m_tokens=usage.cache_write_5m_tokens,
                                    cache_write_1h_tokens=usage.cache_write_1h_tokens,
                                    output_reasoning_tokens=usage.reasoning_tokens,
                                ),
                                model.id,
                                provider_id=provider.id,
                                genai_request_timestamp=at,
                                **reference_context,
                            )
                        except LookupError:  # an id that is not its own match string
                            ours = book.price_tokens(provider.id, model.id, usages[0], at)
                            assert ours.cost_nanos is None
                            continue
                        ours = book.price_tokens(provider.id, model.id, usage, at, **ctx)  # type: ignore[arg-type]
                        if ours.cost_nanos is None and "prices only" in (
                            ours.unpriced_reason or ""
                        ):
                            continue  # image/audio-only models: we refuse to call them free
                        expected = int(
                            (reference.total_price * 10**9).to_integral_value(ROUND_HALF_EVEN)
                        )
                        assert ours.cost_nanos == expected, (provider.id, model.id, at, ctx, usage)
                        compared += 1
    assert compared > 1000


def test_importing_pricing_does_not_import_genai_prices() -> None:
    import subprocess

    code = (
        "import sys; import opentelemetry.instrumentation.costledger.pricing; "
        "print('genai_prices' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_quote_shows_prices_in_force_with_tiers_and_next_change(book: PriceBook) -> None:
    quote = book.quote_tokens("anthropic", "claude-sonnet-4-6", datetime(2026, 3, 1, tzinfo=UTC))
    assert quote.prices["input"] == Decimal("3") and quote.prices["output"] == Decimal("15")
    assert quote.prices["cache_write_1h"] == Decimal("6")
    assert quote.tiers[0][0] == 200_000 and quote.tiers[0][1]["input"] == Decimal("6")
    assert quote.next_change == datetime(2026, 3, 13, tzinfo=UTC)
    later = book.quote_tokens("anthropic", "claude-sonnet-4-6", datetime(2026, 4, 1, tzinfo=UTC))
    assert later.tiers == ()


def test_time_of_day_prices_agree_with_calc_price_around_the_clock(book: PriceBook) -> None:
    """DeepSeek's off-peak hours: the cached rate depends on the time of day, not only the date."""
    import genai_prices

    usage = TokenUsage(input_tokens=50_000, output_tokens=800, cache_read_tokens=20_000)
    costs = set()
    for hour in range(24):
        when = datetime(2025, 3, 1, hour, 37, tzinfo=UTC)
        reference = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=50_000, output_tokens=800, cache_read_tokens=20_000),
            "deepseek-chat",
            provider_id="deepseek",
            genai_request_timestamp=when,
        )
        ours = book.price_tokens("deepseek", "deepseek-chat", usage, when)
        expected = int((reference.total_price * 10**9).to_integral_value(ROUND_HALF_EVEN))
        assert ours.cost_nanos == expected, hour
        costs.add(ours.cost_nanos)
    assert len(costs) == 2  # peak and off-peak
