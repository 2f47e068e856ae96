"""Span to ledger row: every producer's span shape, bad values, record_cost, what is ignored."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.instrumentation.costledger.pricing import PriceBook

from . import producers
from .spanmaker import AT, make_span

# Hand-computed from Anthropic's list prices for claude-sonnet-4-5 (USD per million tokens):
# input 3, cache read 0.30, cache write 5m 3.75, cache write 1h 6, output 15.
WITH_1H_SPLIT = 100 * 3_000 + 5000 * 300 + 1500 * 3_750 + 500 * 6_000 + 300 * 15_000
ALL_5M = 100 * 3_000 + 5000 * 300 + 2000 * 3_750 + 300 * 15_000


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


@pytest.mark.parametrize("producer", sorted(producers.ALL_ANTHROPIC))
def test_each_producer_gives_the_same_buckets(producer: str, book: PriceBook) -> None:
    attrs = producers.ALL_ANTHROPIC[producer]
    conversion = spans_to_rows([make_span(attrs, scope_name=_scope(producer))], book)
    [row] = conversion.rows
    assert {name: getattr(row, name) for name in producers.BUCKETS} == producers.BUCKETS
    assert row.cache_write_5m_tokens + row.cache_write_1h_tokens == 2000
    assert row.flags is None and row.unpriced_reason is None
    assert row.provider == "anthropic"
    assert row.model == producers.MODEL
    assert row.category == "api"
    assert row.time == AT
    assert row.service == "support-bot"
    if producer in ("ours", "anthropic-sdk"):  # they carry the 1-hour split
        assert (row.cache_write_5m_tokens, row.cache_write_1h_tokens) == (1500, 500)
        assert row.cost_nanos == WITH_1H_SPLIT * 1000 // 1000  # 14_925_000 nano-dollars
    else:
        assert (row.cache_write_5m_tokens, row.cache_write_1h_tokens) == (2000, 0)
        assert row.cost_nanos == ALL_5M
    assert row.price_rule is not None and "claude-sonnet-4-5" in row.price_rule
    assert row.idempotency_key == f"call:{0xABC:032x}:{producers.RESPONSE_ID}"


def _scope(producer: str) -> str:
    return {
        "ours": "opentelemetry.instrumentation.costledger",
        "anthropic-sdk": "com.anthropic.sdk.python",
        "openllmetry": "opentelemetry.instrumentation.anthropic",
        "openllmetry-legacy": "opentelemetry.instrumentation.anthropic",
        "openlit": "openlit.instrumentation.anthropic",
    }[producer]


def test_hand_computed_prices() -> None:
    assert WITH_1H_SPLIT == 14_925_000
    assert ALL_5M == 13_800_000


def test_openai_v2_semconv_chat_with_cache_and_reasoning(book: PriceBook) -> None:
    [row] = spans_to_rows([make_span(producers.OPENAI_V2)], book).rows
    assert (row.provider, row.model, row.operation) == ("openai", "o3-mini-2025-01-31", "chat")
    assert row.input_tokens == 2000 and row.uncached_input_tokens == 976
    assert row.cache_read_tokens == 1024
    assert row.output_tokens == 900 and row.reasoning_tokens == 640
    # The request said "auto"; the response says what was billed.
    assert row.service_tier == "default"
    # o3-mini list prices: input 1.10, cached input 0.55, output 4.40 per million.
    assert row.cost_nanos == 976 * 1_100 + 1024 * 550 + 900 * 4_400


def test_embeddings_are_their_own_category(book: PriceBook) -> None:
    [row] = spans_to_rows([make_span(producers.OPENAI_V2_EMBEDDINGS)], book).rows
    assert row.category == "embedding"
    assert row.input_tokens == 5000 and row.output_tokens == 0
    assert row.cost_nanos == 5000 * 20  # text-embedding-3-small: 0.02 per million


def test_openllmetry_embedding_request_type(book: PriceBook) -> None:
    attrs = {
        "gen_ai.system": "openai",
        "llm.request.type": "embedding",
        "gen_ai.request.model": "text-embedding-3-small",
        "gen_ai.usage.prompt_tokens": 10,
        "llm.usage.total_tokens": 10,
    }
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert row.category == "embedding" and row.input_tokens == 10 and row.cost_nanos == 200


def test_input_from_total_when_only_total_and_output(book: PriceBook) -> None:
    attrs = {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "llm.usage.total_tokens": 1500,
        "llm.usage.completion_tokens": 500,
    }
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert (row.input_tokens, row.output_tokens) == (1000, 500)


@pytest.mark.parametrize(
    ("change", "flag"),
    [
        ({"gen_ai.usage.input_tokens": "abc"}, "input_tokens is not an integer (text)"),
        ({"gen_ai.usage.output_tokens": 12.5}, "output_tokens is not an integer (12.5)"),
        ({"gen_ai.usage.output_tokens": True}, "output_tokens is not an integer (bool)"),
        ({"gen_ai.usage.output_tokens": -3}, "output_tokens is negative (-3)"),
        ({"gen_ai.usage.input_tokens": 6000}, "exceed input_tokens (6000)"),
        ({"gen_ai.usage.reasoning.output_tokens": 301}, "reasoning_tokens (301) exceed"),
        (
            {"costledger.usage.cache_write_1h.input_tokens": 400},
            "cache write split (1500 5m + 400 1h) does not add up",
        ),
    ],
)
def test_impossible_counts_are_kept_flagged_and_unpriced(
    change: dict[str, object], flag: str, book: PriceBook
) -> None:
    attrs = {**producers.OURS, **change}
    conversion = spans_to_rows([make_span(attrs)], book)
    [row] = conversion.rows
    assert row.flags is not None and flag in row.flags
    assert row.cost_nanos is None
    assert row.unpriced_reason is not None and flag in row.unpriced_reason
    assert conversion.flagged == 1 and not conversion.rejected


def test_negative_remainder_is_stored_as_reported(book: PriceBook) -> None:
    attrs = {**producers.OURS, "gen_ai.usage.input_tokens": 6000}
    [row] = spans_to_rows([make_span(attrs)], book).rows
    # Not clamped to zero: the inconsistency stays visible in the data.
    assert row.uncached_input_tokens == 6000 - 5000 - 2000
    assert row.input_tokens == 6000


def test_integral_float_and_numeric_string_counts_are_read(book: PriceBook) -> None:
    attrs = {**producers.OURS, "gen_ai.usage.output_tokens": 300.0}
    attrs["gen_ai.usage.input_tokens"] = "7100"
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert row.flags is None and row.cost_nanos == 14_925_000


def test_unknown_model_row_is_kept_unpriced_with_reason(book: PriceBook) -> None:
    attrs = {**producers.OURS, "gen_ai.response.model": "claude-nonexistent-9"}
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert row.cost_nanos is None
    assert row.unpriced_reason and "claude-nonexistent-9" in row.unpriced_reason
    assert row.input_tokens == 7100


def test_not_counted_spans_are_not_rows(book: PriceBook) -> None:
    attrs = {**producers.OPENLLMETRY, "costledger.counted": False}
    conversion = spans_to_rows([make_span(attrs)], book)
    assert conversion.rows == [] and conversion.not_counted == 1


def test_plain_and_aggregate_spans_are_ignored(book: PriceBook) -> None:
    http = make_span({"http.request.method": "GET", "url.path": "/tickets"}, name="GET")
    agent = make_span(
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.usage.input_tokens": 9000,
            "gen_ai.usage.output_tokens": 900,
        },
        name="invoke_agent triage",
    )
    workflow = make_span(
        {"traceloop.span.kind": "workflow", "gen_ai.usage.prompt_tokens": 9000},
        name="triage.workflow",
    )
    count_tokens = make_span(
        {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "anthropic.message.count_tokens.input_tokens": 42,
        },
        name="anthropic.messages.count_tokens",
    )
    conversion = spans_to_rows([http, agent, workflow, count_tokens], book)
    assert conversion.rows == [] and conversion.ignored == 4


def test_record_cost_span_priced_from_unit_prices(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(
        'version = 1\n[[unit_price]]\ncategory = "human_review"\nunit = "hour"\nprice = "45.00"\n'
    )
    attrs = {
        "costledger.cost.category": "human_review",
        "costledger.cost.quantity": "30",
        "costledger.cost.unit": "minute",
        "customer.id": "cust_12345",
        "work_item.id": "ticket_67890",
    }
    [row] = spans_to_rows([make_span(attrs, name="cost human_review")], PriceBook(prices)).rows
    assert (row.category, row.unit, row.exact_quantity) == ("human_review", "minute", Decimal(30))
    assert row.cost_nanos == 22_500_000_000  # half an hour at $45
    assert row.price_rule and "human_review" in row.price_rule
    assert (row.customer_id, row.work_item_id) == ("cust_12345", "ticket_67890")
    assert row.input_tokens == 0 and row.source == "span"


def test_record_cost_explicit_amount_and_item(book: PriceBook) -> None:
    attrs = {
        "costledger.cost.category": "third_party",
        "costledger.cost.quantity": "1",
        "costledger.cost.unit": "call",
        "costledger.cost.item": "stripe.charge",
        "costledger.cost.amount": "0.300000001",
    }
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert row.cost_nanos == 300_000_001 and row.model == "stripe.charge"
    assert row.price_rule == "explicit amount on the span"


def test_record_cost_without_a_unit_price_is_unpriced(book: PriceBook) -> None:
    attrs = {
        "costledger.cost.category": "vector_storage",
        "costledger.cost.quantity": "2.5",
        "costledger.cost.unit": "GB",
    }
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert row.cost_nanos is None and row.unpriced_reason and row.exact_quantity == Decimal("2.5")


def test_record_cost_bad_quantity_is_flagged(book: PriceBook) -> None:
    attrs = {"costledger.cost.category": "human_review", "costledger.cost.quantity": "lots"}
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert row.flags and "costledger.cost.quantity is not a number (text)" in row.flags
    assert "lots" not in row.flags
    assert row.cost_nanos is None and row.quantity is None


def test_record_cost_negative_amount_is_flagged(book: PriceBook) -> None:
    """A negative amount from another process (record_cost refuses one) is not a cost: kept,
    flagged and unpriced, as a negative quantity is."""
    attrs = {
        "costledger.cost.category": "third_party",
        "costledger.cost.quantity": "1",
        "costledger.cost.unit": "call",
        "costledger.cost.amount": "-0.30",
    }
    [row] = spans_to_rows([make_span(attrs)], book).rows
    assert row.flags and "costledger.cost.amount is negative (-0.30)" in row.flags
    assert row.cost_nanos is None


def test_batch_flag_is_passed_to_the_price(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text(
        'version = 1\n[[override]]\nprovider = "anthropic"\nmultiplier = "0.5"\nbatch = true\n'
    )
    book = PriceBook(prices)
    batch = {**producers.OURS, "costledger.batch": True}
    [batch_row, plain_row] = spans_to_rows(
        [make_span(batch, trace_id=1), make_span(producers.OURS, trace_id=2)], book
    ).rows
    assert (batch_row.batch, plain_row.batch) == (True, False)
    assert (batch_row.cost_nanos, plain_row.cost_nanos) == (14_925_000 // 2, 14_925_000)


def test_span_without_response_id_is_keyed_by_trace_and_span(book: PriceBook) -> None:
    attrs = {k: v for k, v in producers.OURS.items() if k != "gen_ai.response.id"}
    [row] = spans_to_rows([make_span(attrs, trace_id=7, span_id=9)], book).rows
    assert row.idempotency_key == f"span:{7:032x}:{9:016x}"
    assert (row.trace_id, row.span_id) == (f"{7:032x}", f"{9:016x}")


def test_invalid_ids_reject_cost_spans_only(book: PriceBook) -> None:
    conversion = spans_to_rows(
        [make_span(producers.OURS, trace_id=0), make_span({"http.route": "/"}, trace_id=0)], book
    )
    assert conversion.rows == [] and conversion.ignored == 1
    assert [reason for _, reason in conversion.rejected] == [
        "span has no valid trace id or span id"
    ]


def test_token_usage_is_an_immutable_value() -> None:
    from opentelemetry.instrumentation.costledger.usage import TokenUsage

    positional = TokenUsage(7100, 300, 5000, 1500, 500, 20)
    named = TokenUsage(
        input_tokens=7100,
        output_tokens=300,
        cache_read_tokens=5000,
        cache_write_5m_tokens=1500,
        cache_write_1h_tokens=500,
        reasoning_tokens=20,
    )
    assert positional == named and hash(positional) == hash(named)
    assert positional.uncached_input_tokens == 100 and positional.problems() == []
    with pytest.raises(AttributeError):
        positional.input_tokens = 1  # type: ignore[misc]
