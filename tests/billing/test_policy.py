"""The pricing policy file: overrides, model patterns, and mistakes that name the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.exporter.costledger.errors import ConfigError
from opentelemetry.exporter.costledger.jobs.billing_policy import load_policy, parse_policy


def test_customers_override_the_defaults_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "billing.yaml"
    path.write_text(
        "defaults:\n  markup_pct: 20\n  minimum: '50.00'\n  token_prices:\n"
        "    'claude-*': {input: '3', output: '15'}\n    gpt-4.1: {input: 2, output: 8}\n"
        "customers:\n  cust_a:\n    markup_pct: '12.5'\n    token_prices:\n"
        "      gpt-4.1: {input: '1.5', output: 6, cache_read: '0.5'}\n"
    )
    policy = load_policy(path)
    a, other = policy.terms("cust_a"), policy.terms("cust_z")
    assert (a.markup_pct, a.minimum, other.markup_pct) == (Decimal("12.5"), Decimal("50.00"), 20)
    gpt = a.token_price("gpt-4.1")
    assert gpt is not None
    assert (gpt.per_million("input"), gpt.per_million("cache_read")) == (1.5, Decimal("0.5"))
    assert gpt.per_million("cache_write") == Decimal("1.5")  # the input price
    claude = other.token_price("claude-sonnet-4-5-20250929")
    assert claude is not None and claude.output == 15
    assert other.token_price("gemini-2.5-pro") is None and other.token_price(None) is None


def test_a_float_is_read_as_written() -> None:
    policy = parse_policy({"defaults": {"fee_per_work_item": 0.05}})
    assert policy.defaults.fee_per_work_item == Decimal("0.05")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"defaults": {"markup": 20}}, "[defaults]: unknown field markup"),
        ({"defaults": {"markup_pct": "-5"}}, "markup_pct = -5: cannot be negative"),
        ({"defaults": {"minimum": "9.999"}}, "minimum = 9.999: write whole cents"),
        ({"defaults": {"fee_per_work_item": "abc"}}, "is not a number"),
        ({"customers": {"c": {"token_prices": {"m": {"input": 1}}}}},
         "token_prices.m: output is required"),
        ({"destinations": {"chargebee": {}}}, "unknown destination [destinations.chargebee]"),
        ({"destinations": {"stripe": {"url": 5}}}, "[destinations.stripe] url: expected"),
        ({"retry": {"max_attempts": 0}}, "max_attempts must be at least 1"),
    ],
)  # fmt: skip
def test_mistakes_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(data, "billing.toml")
    assert message in str(caught.value)
