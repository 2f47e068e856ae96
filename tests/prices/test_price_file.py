"""The user's price file: overrides, explicit and custom prices, unit prices, validation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.instrumentation.costledger import pricing
from opentelemetry.instrumentation.costledger.pricing import (
    PriceBook,
    PricedCost,
    PriceFileError,
    get_price_book,
)
from opentelemetry.instrumentation.costledger.usage import TokenUsage

from .genai_data import needs_variant

K100 = 100_000


def write(tmp_path: Path, text: str, name: str = "prices.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def usd(priced: PricedCost) -> Decimal:
    assert priced.amount is not None, priced.unpriced_reason
    return priced.amount


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


SONNET = ("anthropic", "claude-sonnet-4-5-20250929")
CALL = TokenUsage(input_tokens=K100, output_tokens=K100)  # list: 0.30 + 1.50


def test_override_multiplier_takes_effect_on_its_date(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
version = 1

[[override]]
provider = "anthropic"
multiplier = 0.8          # 20% off list, negotiated
from = 2025-10-15
""",
    )
    book = PriceBook(path)
    before = book.price_tokens(*SONNET, CALL, at("2025-10-14T23:59:59"))
    after = book.price_tokens(*SONNET, CALL, at("2025-10-15T00:00:00"))
    assert usd(before) == Decimal("1.80")
    assert usd(after) == Decimal("1.80") * Decimal("0.8") == Decimal("1.44")
    assert after.rule == (
        "prices.toml:4 override anthropic/* x0.8 from 2025-10-15 on"
        " genai-prices " + __import__("genai_prices").__version__ + " anthropic/claude-sonnet-4-5"
    )
    # other providers are untouched
    gpt = book.price_tokens("openai", "gpt-4o", CALL, at("2025-11-01"))
    assert usd(gpt) == Decimal("0.25") + Decimal("1")


def test_explicit_override_replaces_the_kinds_it_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[override]]
provider = "openai"
model = "gpt-4o*"
input = "2.00"
cache_read = "0.50"
""",
    )
    book = PriceBook(path)
    usage = TokenUsage(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=1_000)
    priced = book.price_tokens("openai", "gpt-4o-2024-08-06", usage, at("2025-11-01"))
    # input and cache read negotiated, output at list ($10/M)
    expected = Decimal(6_000 * 2 + 4_000 * Decimal("0.5") + 1_000 * 10) / 1_000_000
    assert usd(priced) == expected
    assert priced.rule is not None and priced.rule.startswith(
        "prices.toml:2 override openai/gpt-4o* prices on genai-prices"
    )
    # gpt-4o-mini also matches the glob, but gpt-5 does not
    assert "override" not in (
        book.price_tokens("openai", "gpt-5", usage, at("2025-11-01")).rule or ""
    )


def test_explicit_input_and_output_keep_the_list_cache_price(tmp_path: Path) -> None:
    path = write(tmp_path, '[[override]]\nmodel = "gpt-4o"\ninput = 2\noutput = 8\n')
    usage = TokenUsage(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=1_000)
    priced = PriceBook(path).price_tokens("openai", "gpt-4o", usage, at("2025-11-01"))
    # cache reads stay at the list $1.25/M
    assert usd(priced) == Decimal(6_000 * 2 + 4_000 * Decimal("1.25") + 1_000 * 8) / 1_000_000


def test_custom_self_hosted_model_with_a_price_change_mid_month(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
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
""",
    )
    book = PriceBook(path)
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=500_000)
    may = book.price_tokens("self-hosted", "llama-3.3-70b-instruct", usage, at("2025-05-31"))
    assert may.cost_nanos is None and "knows no provider 'self-hosted'" in (
        may.unpriced_reason or ""
    )
    early = book.price_tokens(
        "self-hosted", "llama-3.3-70b-instruct", usage, at("2025-06-14T23:00")
    )
    late = book.price_tokens("self-hosted", "llama-3.3-70b-instruct", usage, at("2025-06-15T01:00"))
    assert usd(early) == Decimal("0.20") + Decimal("0.30")
    assert usd(late) == Decimal("0.10") + Decimal("0.20")
    assert early.rule == "prices.toml:2 model self-hosted/llama-3.3-70b* from 2025-06-01"
    assert late.rule == "prices.toml:9 model self-hosted/llama-3.3-70b* from 2025-06-15"


def test_rounding_once_per_call_half_even(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[model]]
provider = "local"
model = "tiny"
input = "0.0375"    # 37.5 nano-dollars per token
output = "0"
""",
    )
    book = PriceBook(path)
    now = at("2025-01-01")

    def nanos(tokens: int) -> int | None:
        return book.price_tokens("local", "tiny", TokenUsage(input_tokens=tokens), now).cost_nanos

    assert nanos(1) == 38  # 37.5 -> 38 (8 is even)
    assert nanos(3) == 112  # 112.5 -> 112 (2 is even)
    assert nanos(5) == 188  # 187.5 -> 188
    assert nanos(4) == 150  # exact


def test_multiplier_without_a_base_price_is_unpriced_with_both_reasons(tmp_path: Path) -> None:
    path = write(tmp_path, '[[override]]\nprovider = "acme"\nmultiplier = "0.5"\n')
    priced = PriceBook(path).price_tokens("acme", "acme-1", CALL, at("2025-01-01"))
    assert priced.cost_nanos is None
    assert "knows no provider 'acme'" in (priced.unpriced_reason or "")
    assert "needs a base price" in (priced.unpriced_reason or "")


@needs_variant("anthropic", "claude-sonnet-4-5", "processing", "batch")
def test_batch_filter_and_until(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[override]]
provider = "anthropic"
batch = true
multiplier = "0.5"
until = 2026-10-14   # genai-prices lists the batch price itself from then on
""",
    )
    book = PriceBook(path)
    batch = book.price_tokens(*SONNET, CALL, at("2025-11-01"), batch=True)
    assert usd(batch) == Decimal("0.90")
    assert "[batch]" in (batch.rule or "")
    assert usd(book.price_tokens(*SONNET, CALL, at("2025-11-01"))) == Decimal("1.80")
    listed = book.price_tokens(*SONNET, CALL, at("2026-10-20"), batch=True)
    assert usd(listed) == Decimal("0.90") and "override" not in (listed.rule or "")


def test_yaml_file_with_exact_decimals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
model:
  - provider: local
    model: my-model
    input: 0.1
    output: 0.3
    from: 2025-01-01
override:
  - model: my-model
    multiplier: 0.9
""",
        name="prices.yaml",
    )
    book = PriceBook(path)
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    priced = book.price_tokens("local", "my-model", usage, at("2025-02-01"))
    assert usd(priced) == (Decimal("0.1") + Decimal("0.3")) * Decimal("0.9")
    assert priced.rule is not None and priced.rule.startswith("prices.yaml:9 override */my-model")


def test_unit_prices_with_unit_conversion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[unit_price]]
category = "human_review"
unit = "hour"
price = "45.00"
from = 2025-01-01

[[unit_price]]
category = "human_review"
unit = "hour"
price = "50.00"
from = 2025-07-01

[[unit_price]]
category = "third_party"
unit = "call"
price = "0.002"

[[unit_price]]
category = "third_party"
item = "stripe.*"
unit = "call"
price = "0.30"
""",
    )
    book = PriceBook(path)
    june = at("2025-06-30T12:00")
    review = book.price_quantity("human_review", "minutes", Decimal(7), june)
    assert usd(review) == Decimal("5.25")  # 7/60 h x $45, exact
    assert review.rule == "prices.toml:2 unit_price human_review 45.00 USD/hour from 2025-01-01"
    assert usd(book.price_quantity("human_review", "hours", Decimal("1.5"), june)) == Decimal(
        "67.5"
    )
    assert usd(book.price_quantity("human_review", "s", Decimal(90), june)) == Decimal("1.125")
    july = book.price_quantity("human_review", "minute", Decimal(30), at("2025-07-01"))
    assert usd(july) == Decimal("25")
    # a third of a cent rounds half-even to whole nano-dollars: 1 minute at $50/h = 0.8333...
    one_minute = book.price_quantity("human_review", "minute", Decimal(1), at("2025-07-02"))
    assert one_minute.cost_nanos == 833_333_333
    # per call, with an item-specific price beating the generic one
    generic = book.price_quantity("third_party", "calls", Decimal(1000), june, item="geocode")
    stripe = book.price_quantity("third_party", "call", Decimal(3), june, item="stripe.charge")
    assert usd(generic) == Decimal("2")
    assert usd(stripe) == Decimal("0.90")
    assert "[stripe.*]" in (stripe.rule or "")
    # before the first human_review price, or in a unit that does not convert: unpriced
    early = book.price_quantity("human_review", "hour", Decimal(1), at("2024-12-31"))
    assert early.cost_nanos is None and "in force" in (early.unpriced_reason or "")
    pages = book.price_quantity("human_review", "page", Decimal(3), june)
    assert "prices human_review per hour" in (pages.unpriced_reason or "")
    other = book.price_quantity("vector_storage", "GB", Decimal(3), june)
    assert "[[unit_price]]" in (other.unpriced_reason or "")


def test_no_price_file_unit_costs_are_unpriced(tmp_path: Path) -> None:
    priced = PriceBook("").price_quantity("human_review", "hour", Decimal(1), at("2025-01-01"))
    assert priced.cost_nanos is None
    assert "COSTLEDGER_PRICES" in (priced.unpriced_reason or "")


# --- errors name the file, the line and the field ------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (
            '[[override]]\nprovider = "anthropic"\nmultiplier = "abc"\n',
            3,
            "[[override]] #1, field 'multiplier': expected a decimal number",
        ),
        (
            '[[model]]\nmodel = "x"\ninput = "1"\noutput = 2\n\n'
            '[[model]]\nmodel = "y"\ninput = "1"\n',
            6,
            "[[model]] #2, field 'output': missing",
        ),
        (
            '[[model]]\nmodel = "x"\ninput = "1"\noutput = "2"\ninptu = "3"\n',
            5,
            "field 'inptu': unknown field",
        ),
        (
            '[[unit_price]]\ncategory = "human_review"\nunit = "hour"\nprice = "-4"\n',
            4,
            "field 'price': must be at least 0",
        ),
        (
            '[[override]]\nprovider = "openai"\nfrom = "June 1st"\nmultiplier = 0.9\n',
            3,
            "field 'from': expected a date",
        ),
        (
            '[[override]]\nprovider = "openai"\nmultiplier = 0.9\ninput = "1"\n',
            3,
            "either a multiplier or explicit prices",
        ),
        ("[[override]]\nmultiplier = 0.9\n", 1, "name a provider or a model"),
        ('[[overide]]\nprovider = "x"\n', 1, "unknown section 'overide'"),
        ('[[model]]\nmodel = "x"\ninput = 1\noutput = \n', 4, "invalid TOML"),
        (
            '[[model]]\nmodel = "x"\ninput = 1\noutput = 2\n'
            "from = 2025-06-01\nuntil = 2025-05-01\n",
            6,
            "field 'until': must be later",
        ),
        (
            '[[model]]\nmodel = "x"\ninput = 1\noutput = 2\ncurrency = "dollars"\n',
            5,
            "field 'currency': expected an ISO 4217 code",
        ),
    ],
)
def test_toml_errors_name_line_and_field(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PriceFileError) as info:
        PriceBook(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert needle in message
    assert info.value.line == line


def test_yaml_errors_name_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "unit_price:\n  - category: human_review\n    unit: hour\n    price: 45\n"
        "  - category: third_party\n    unit: call\n    prize: 0.3\n",
        name="prices.yml",
    )
    with pytest.raises(PriceFileError) as info:
        PriceBook(path)
    # named as the YAML user wrote it: no TOML [[...]] in a YAML file
    assert str(info.value).startswith(f"{path}:7: unit_price #2, field 'prize'")
    broken = write(tmp_path, "model:\n  - model: x\n   input: [1\n", name="broken.yaml")
    with pytest.raises(PriceFileError, match=r"broken\.yaml:\d+: invalid YAML"):
        PriceBook(broken)


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (
            "model:\n  - model: x\n    input: 1\n    output: 2\n"
            "  - model: y\n    input: 1\n    output: abc\n",
            7,
            "model #2, field 'output': expected a decimal number",
        ),
        (
            "unit_price:\n  - category: human_review\n    unit: hour\n",
            2,
            "unit_price #1, field 'price': missing; add price: \"45.00\"",
        ),
        ("override:\n  - provider: openai\n", 2, 'override #1: give multiplier: "0.8"'),
        (
            "model:\n  - input: 1\n    output: 2\n",
            2,
            "model #1, field 'model': missing; add model: \"...\"",
        ),
        ("version: 2\n", 1, "unsupported version; write version: 1"),
        ("overide:\n  - provider: x\n", 1, "expected lists model:, override: or unit_price:"),
        ("model:\n  - 3\n", 2, "model #1: expected a mapping of fields"),
    ],
)
def test_yaml_errors_speak_yaml(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, text, name="prices.yaml")
    with pytest.raises(PriceFileError) as info:
        PriceBook(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert needle in message
    assert "[[" not in message and " = " not in message


def test_toml_hints_stay_toml(tmp_path: Path) -> None:
    path = write(tmp_path, '[[unit_price]]\ncategory = "human_review"\nunit = "hour"\n')
    with pytest.raises(
        PriceFileError, match=r"\[\[unit_price\]\] #1, field 'price': missing; add price = "
    ):
        PriceBook(path)


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="price file not found"):
        PriceBook(tmp_path / "nope.toml")
    with pytest.raises(PriceFileError, match=r"name it \*\.toml"):
        PriceBook(write(tmp_path, "x", name="prices.txt"))


# --- configuration precedence ---------------------------------------------------------------


def test_argument_then_env_then_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = write(tmp_path, '[[override]]\nprovider = "anthropic"\nmultiplier = 0.5\n', "e.toml")
    arg_file = write(
        tmp_path, '[[override]]\nprovider = "anthropic"\nmultiplier = 0.25\n', "a.toml"
    )
    monkeypatch.setenv(pricing.PRICES_ENV, str(env_file))
    when = at("2025-11-01")
    assert usd(PriceBook().price_tokens(*SONNET, CALL, when)) == Decimal("0.90")
    assert usd(PriceBook(arg_file).price_tokens(*SONNET, CALL, when)) == Decimal("0.45")
    monkeypatch.setenv(pricing.PRICES_ENV, "")
    assert usd(PriceBook().price_tokens(*SONNET, CALL, when)) == Decimal("1.80")


def test_get_price_book_is_cached_per_env_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pricing, "_books", {})
    monkeypatch.setattr(pricing, "_failures", {})
    assert get_price_book() is get_price_book()
    assert get_price_book().price_file is None
    good = write(tmp_path, '[[override]]\nprovider = "anthropic"\nmultiplier = 0.5\n', "g.toml")
    monkeypatch.setenv(pricing.PRICES_ENV, str(good))
    assert get_price_book().price_file == str(good)
    # An explicit file (the instrumentation's, read by instrument()) shares the same books.
    assert get_price_book(str(good)) is get_price_book()
    assert get_price_book("").price_file is None
    bad = write(tmp_path, "[[override]]\nmultiplier = 0.5\n", "b.toml")
    monkeypatch.setenv(pricing.PRICES_ENV, str(bad))
    for _ in range(2):
        with pytest.raises(PriceFileError, match="name a provider or a model"):
            get_price_book()


def test_any_prices_and_counts_equal_the_decimal_computation(tmp_path: Path) -> None:
    """Property: the integer path equals Decimal arithmetic rounded once, half to even."""
    from decimal import ROUND_HALF_EVEN

    from hypothesis import given, settings
    from hypothesis import strategies as st

    price = st.decimals(min_value=0, max_value=200, places=6, allow_nan=False)
    count = st.integers(min_value=0, max_value=3_000_000)
    kinds = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")

    @settings(max_examples=200, deadline=None)
    @given(prices=st.tuples(*(price for _ in kinds)), counts=st.tuples(*(count for _ in range(6))))
    def check(prices: tuple[Decimal, ...], counts: tuple[int, ...]) -> None:
        table = dict(zip(kinds, prices, strict=True))
        lines = "\n".join(f'{k} = "{v}"' for k, v in table.items())
        path = tmp_path / "p.toml"
        path.write_text(f'[[model]]\nmodel = "m"\n{lines}\n', encoding="utf-8")
        uncached, read, w5, w1, plain_output, reasoning = counts
        usage = TokenUsage(
            input_tokens=uncached + read + w5 + w1,
            output_tokens=plain_output + reasoning,
            cache_read_tokens=read,
            cache_write_5m_tokens=w5,
            cache_write_1h_tokens=w1,
            reasoning_tokens=reasoning,
        )
        exact = (
            uncached * table["input"]
            + read * table["cache_read"]
            + w5 * table["cache_write_5m"]
            + w1 * table["cache_write_1h"]
            + plain_output * table["output"]
            + reasoning * table["reasoning"]
        ) / 1_000_000
        expected = int((exact * 10**9).to_integral_value(ROUND_HALF_EVEN))
        priced = PriceBook(path).price_tokens("x", "m", usage, at("2025-01-01"))
        assert priced.cost_nanos == expected

    check()
