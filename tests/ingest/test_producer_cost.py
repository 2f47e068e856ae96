"""A producer's own cost: kept when no price is known, compared when one is.

LiteLLM's spans (``litellm.callbacks=["otel"]``, litellm/integrations/opentelemetry.py) carry its
own provider strings in ``gen_ai.system``, the legacy token keys and the call's cost as a float
in ``gen_ai.cost.total_cost``; OpenLIT's carry ``gen_ai.usage.cost``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ledger.reprice import reprice
from opentelemetry.exporter.costledger.ledger.store import LedgerStore
from opentelemetry.instrumentation.costledger.pricing import PriceBook

from .spanmaker import make_span


def _litellm(provider: str, model: str, cost: Any) -> dict[str, Any]:
    return {
        "gen_ai.system": provider,
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "gen_ai.response.id": "chatcmpl-7",
        "gen_ai.usage.prompt_tokens": 1000,
        "gen_ai.usage.completion_tokens": 200,
        "llm.usage.total_tokens": 1200,
        "gen_ai.cost.total_cost": cost,
        "llm.request.type": "chat",
    }


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def test_no_price_known_keeps_the_producers_cost(book: PriceBook) -> None:
    span = make_span(_litellm("hosted_vllm", "house-llm-7b", 0.000123), scope_name="litellm")
    [row] = spans_to_rows([span], book).rows
    assert row.provider == "vllm"
    assert (row.cost_nanos, row.price_rule) == (123_000, "producer:litellm")
    assert row.unpriced_reason is None and row.flags is None


def test_a_known_price_wins_and_a_differing_producer_cost_is_flagged(book: PriceBook) -> None:
    # gpt-4o-mini at 0.15 / 0.60 USD per million tokens: 0.00027 USD.
    agreeing = make_span(_litellm("openai", "gpt-4o-mini", 0.00027), scope_name="litellm")
    close = make_span(_litellm("openai", "gpt-4o-mini", 0.0002702), scope_name="litellm")
    differing = make_span(_litellm("openai", "gpt-4o-mini", 0.00030), scope_name="litellm")
    rows = [spans_to_rows([span], book).rows[0] for span in (agreeing, close, differing)]
    assert [row.cost_nanos for row in rows] == [270_000] * 3
    assert all(row.price_rule and row.price_rule.startswith("genai-prices") for row in rows)
    assert rows[0].flags is None and rows[1].flags is None  # within one part in a thousand
    assert rows[2].flags is not None and "litellm's own cost 0.0003" in rows[2].flags


@pytest.mark.parametrize("value", ["abc", -1.0, float("nan"), True])
def test_an_unusable_producer_cost_is_not_a_price(value: Any, book: PriceBook) -> None:
    span = make_span(_litellm("hosted_vllm", "house-llm-7b", value), scope_name="litellm")
    [row] = spans_to_rows([span], book).rows
    assert row.cost_nanos is None and row.unpriced_reason


def test_a_producer_cost_of_zero_is_no_price(book: PriceBook) -> None:
    # OpenLIT writes 0 where it has no price (tests/producers/test_peers.py runs the real one).
    def openlit(provider: str, model: str) -> dict[str, Any]:
        attrs = _litellm(provider, model, None)
        del attrs["gen_ai.cost.total_cost"]
        return {**attrs, "gen_ai.usage.cost": 0.0, "telemetry.sdk.name": "openlit"}

    unknown = make_span(openlit("hosted_vllm", "house-llm-7b"), scope_name="openlit")
    known = make_span(openlit("openai", "gpt-4o-mini"), scope_name="openlit")
    [unpriced], [priced] = (spans_to_rows([span], book).rows for span in (unknown, known))
    assert unpriced.cost_nanos is None and unpriced.price_rule is None
    assert unpriced.unpriced_reason
    assert (priced.cost_nanos, priced.flags) == (270_000, None)


def test_reprice_keeps_the_producers_cost_until_a_price_covers_the_model(
    tmp_path: Path, book: PriceBook
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = LedgerStore(url)
    try:
        span = make_span(_litellm("hosted_vllm", "house-llm-7b", 0.000123), scope_name="litellm")
        store.insert(spans_to_rows([span], book).rows)
        reprice(engine=store.engine, provider="vllm", price_book=book)
        prices = tmp_path / "prices.toml"
        prices.write_text(
            '[[model]]\nprovider = "vllm"\nmodel = "house-llm-7b"\ninput = "0.10"\n'
            'output = "0.20"\nfrom = 2020-01-01\n'
        )
        with store.engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT cost_nanos, price_rule FROM ledger_entries")).one()
        assert tuple(kept) == (123_000, "producer:litellm")
        reprice(engine=store.engine, provider="vllm", price_book=PriceBook(prices))
        with store.engine.connect() as conn:
            cost, rule = conn.execute(
                sa.text("SELECT cost_nanos, price_rule FROM ledger_entries")
            ).one()
        assert cost == 1000 * 100 + 200 * 200 and "prices.toml" in rule
    finally:
        store.close()
