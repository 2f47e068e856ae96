"""What the installed genai-prices release knows, for tests that need newer price data.

The suite also runs against the oldest supported genai-prices: a test that asserts a price only
newer data lists (batch and service-tier prices came with 0.1.11 and most of their data with
0.2.0) is skipped there, saying why, while the code paths it covers still run elsewhere.
"""

from __future__ import annotations

import inspect

import genai_prices
import pytest
from genai_prices import data_snapshot

VERSION = genai_prices.__version__
# calc_price(price_context=...): genai-prices 0.1.11 and later
HAS_PRICE_CONTEXT = "price_context" in inspect.signature(genai_prices.calc_price).parameters


def lists_variant(provider: str, model: str, key: str, value: str) -> bool:
    """Whether genai-prices lists a ``{key: value}`` price variant for the model."""
    try:
        _, found = data_snapshot.get_snapshot().find_provider_model(model, None, provider, None)
    except LookupError:
        return False
    variants = getattr(found, "price_variants", None) or ()
    return any(v.when.get(key) == value for v in variants)


def needs_variant(provider: str, model: str, key: str, value: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not lists_variant(provider, model, key, value),
        reason=f"genai-prices {VERSION} lists no {key}={value} price for {provider}/{model}",
    )
