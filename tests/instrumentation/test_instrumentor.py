"""The instrumentor's life cycle, record_cost, message batches, and failures of ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import wrapt
from anthropic.lib import streaming as streaming_module
from anthropic.resources.beta.messages import messages as beta_module
from anthropic.resources.messages import batches as batches_module
from anthropic.resources.messages import messages as messages_module
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import (
    MODEL,
    FakeAnthropic,
    errored,
    succeeded,
)
from opentelemetry.instrumentation.costledger import (
    CostLedgerInstrumentor,
    attribute_to,
    record_cost,
    supported_sdks,
)
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.trace import SpanKind

from .conftest import Spans

KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
WRAPPED = (
    [
        (cls, name)
        for module in (messages_module, beta_module)
        for cls in (module.Messages, module.AsyncMessages)
        for name in ("create", "parse", "stream")
    ]
    + [
        (cls, name)
        for cls in (batches_module.Batches, batches_module.AsyncBatches)
        for name in ("create", "results")
    ]
    + [
        (getattr(streaming_module, name), "__init__")
        for name in (
            "MessageStreamManager",
            "AsyncMessageStreamManager",
            "BetaMessageStreamManager",
            "BetaAsyncMessageStreamManager",
        )
    ]
)


def originals() -> dict[tuple[type, str], Any]:
    return {(cls, name): cls.__dict__[name] for cls, name in WRAPPED}


def test_entry_point_is_registered() -> None:
    found = [
        ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "costledger"
    ]
    assert len(found) == 1
    assert found[0].load() is CostLedgerInstrumentor


def test_uninstrument_restores_originals_after_cycles(spans: Spans, fake: FakeAnthropic) -> None:
    before = originals()
    instrumentor = CostLedgerInstrumentor()
    for _ in range(3):
        instrumentor.instrument(tracer_provider=spans.provider)
        instrumentor.instrument(tracer_provider=spans.provider)  # idempotent
        for (cls, name), original in before.items():
            current = cls.__dict__[name]
            assert isinstance(current, wrapt.FunctionWrapper), (cls, name)
            assert current.__wrapped__ is original, "a wrapper stacked on a wrapper"
        instrumentor.uninstrument()
        instrumentor.uninstrument()  # idempotent
        assert originals() == before
    instrumentor.instrument(tracer_provider=spans.provider)
    try:
        fake.client(open_telemetry=False).messages.create(**KW)
    finally:
        instrumentor.uninstrument()
    assert len(spans.counted()) == 1
    fake.client(open_telemetry=False).messages.create(**KW)
    assert len(spans.all()) == 1  # nothing after uninstrument


def test_either_sdk_is_enough() -> None:
    deps = list(CostLedgerInstrumentor().instrumentation_dependencies())
    assert any(d.startswith("anthropic") for d in deps)
    assert any(d.startswith("openai") for d in deps)
    assert get_dependency_conflicts(deps) is None
    # An SDK that is not installed (or at an unsupported release) does not stop the others.
    assert supported_sdks(("anthropic >= 0.45", "no-such-sdk >= 1")) == ["anthropic >= 0.45"]
    assert supported_sdks(("anthropic < 0.1",)) == ("anthropic < 0.1",)
    conflict = get_dependency_conflicts(supported_sdks(("no-such-sdk >= 1",)))
    assert conflict is not None and "no-such-sdk" in str(conflict)


# --- record_cost ---------------------------------------------------------------------------
def test_record_cost_span(instrumented: Spans) -> None:
    with attribute_to("cust_1", work_item_id="t1"):
        record_cost("human_review", quantity=30, unit="minute")
        record_cost(
            "third_party",
            quantity="1",
            unit="call",
            item="stripe.charge",
            cost_usd=Decimal("0.30"),
            work_item_id="t2",
        )
    review, stripe = instrumented.all()
    assert review.name == "cost human_review"
    assert review.kind is SpanKind.INTERNAL
    assert dict(review.attributes or {}) == {
        A.COST_CATEGORY: "human_review",
        A.COST_QUANTITY: "30",
        A.COST_UNIT: "minute",
        A.CUSTOMER_ID: "cust_1",
        A.WORK_ITEM_ID: "t1",
    }
    attrs = stripe.attributes or {}
    assert attrs[A.COST_AMOUNT] == "0.30"
    assert attrs[A.COST_CURRENCY] == "USD"
    assert attrs[A.COST_ITEM] == "stripe.charge"
    assert attrs[A.WORK_ITEM_ID] == "t2"
    assert attrs[A.CUSTOMER_ID] == "cust_1"


def test_record_cost_rejects_bad_input(instrumented: Spans) -> None:
    with pytest.raises(TypeError, match="floats cannot hold money"):
        record_cost("api", quantity=1, unit="call", cost_usd=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a decimal"):
        record_cost("api", quantity="ten", unit="call")
    with pytest.raises(ValueError, match="negative"):
        record_cost("api", quantity=-1, unit="call")
    with pytest.raises(ValueError, match=r"cost_usd='-0\.30'\) must not be negative"):
        record_cost("third_party", quantity=1, unit="call", cost_usd="-0.30")
    with pytest.raises(TypeError, match="customer"):
        record_cost("api", quantity=1, unit="call", customer=1)
    with pytest.raises(ValueError, match="unit"):
        record_cost("api", quantity=1, unit="")
    assert instrumented.all() == []


def test_record_cost_at_a_past_time(instrumented: Spans) -> None:
    """A cost that happened earlier is recorded at its own time (the seed tutorial's May)."""
    at = datetime(2025, 5, 2, 15, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    record_cost("human_review", quantity=30, unit="minute", customer_id="c", timestamp=at)
    [span] = instrumented.all()
    expected = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000
    assert span.start_time == span.end_time == expected
    assert span.start_time == 1_746_190_800_123_456_000
    for bad, error, message in (
        (datetime(2025, 5, 2, 15, 0), ValueError, "has no time zone: pass an aware datetime"),
        (datetime.now(UTC) + timedelta(days=1), ValueError, "is in the future"),
        ("2025-05-02T15:00:00Z", TypeError, "takes a datetime, got str"),
    ):
        with pytest.raises(error, match=message):
            record_cost("human_review", quantity=30, unit="minute", timestamp=bad)  # type: ignore[arg-type]
    assert len(instrumented.all()) == 1


# --- batches -------------------------------------------------------------------------------
def test_batch_results_are_counted_once_at_batch_price(
    instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client(open_telemetry=False)
    requests: Any = [
        {
            "custom_id": "r1",
            "params": {**KW, "metadata": {"customer_id": "cust_1", "user_id": "u1"}},
        },
        {"custom_id": "r2", "params": {**KW, "metadata": {"customer_id": "cust_2"}}},
        {"custom_id": "r3", "params": dict(KW)},
    ]
    batch = client.messages.batches.create(requests=requests)
    sent = fake.last_body["requests"]
    assert sent[0]["params"]["metadata"] == {"user_id": "u1"}
    assert "metadata" not in sent[1]["params"]
    assert instrumented.all() == []  # creating a batch costs nothing yet

    fake.batch_results = [succeeded("r1"), errored("r3"), succeeded("r2")]
    with attribute_to("fallback"):
        results = list(client.messages.batches.results(batch.id))
    assert [r.custom_id for r in results] == ["r1", "r3", "r2"]
    spans = instrumented.counted()
    assert [s.attributes[A.CUSTOMER_ID] for s in spans if s.attributes] == ["cust_1", "cust_2"]
    for span in spans:
        attrs = span.attributes or {}
        assert attrs[A.COSTLEDGER_BATCH] is True
        assert attrs["anthropic.batch.id"] == batch.id
    batch_cost = Decimal(str((spans[0].attributes or {})[A.COST_AMOUNT]))

    # Reading the same results again in this process reports nothing new.
    list(client.messages.batches.results(batch.id))
    assert len(instrumented.counted()) == 2

    # The batch price is half the list price of the same usage.
    client.messages.create(**KW)
    listed = Decimal(str((instrumented.counted()[-1].attributes or {})[A.COST_AMOUNT]))
    assert batch_cost * 2 == listed


async def test_async_batch_results(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.async_client(open_telemetry=False)
    fake.batch_results = [succeeded("a1")]
    with attribute_to("cust_ctx"):
        decoder = await client.messages.batches.results("msgbatch_async")
        found = [r.custom_id async for r in decoder]
    assert found == ["a1"]
    (span,) = instrumented.counted()
    assert (span.attributes or {})[A.CUSTOMER_ID] == "cust_ctx"


# --- failures of ours never break the call -------------------------------------------------
def test_bad_price_file_leaves_call_working_and_unpriced(
    spans: Spans, fake: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text("version = 1\n[[model]]\nprovider = 3\n")
    monkeypatch.setenv("COSTLEDGER_PRICES", str(bad))
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    try:
        response = fake.client(open_telemetry=False).messages.create(**KW)
    finally:
        instrumentor.uninstrument()
    assert response.content
    attrs = spans.one().attributes or {}
    assert A.COST_AMOUNT not in attrs
    assert "price book unavailable" in str(attrs[A.COST_UNPRICED_REASON])
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 15


def test_price_file_is_the_one_set_when_instrument_ran(
    spans: Spans, fake: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``COSTLEDGER_PRICES`` is read by ``instrument()``, as the content switch is: a change
    takes effect at the next ``instrument()``, not at the next call."""
    half = tmp_path / "half.toml"
    half.write_text('version = 1\n[[override]]\nprovider = "anthropic"\nmultiplier = "0.5"\n')
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    client = fake.client(open_telemetry=False)
    instrumentor = CostLedgerInstrumentor()
    for _ in range(2):
        instrumentor.instrument(tracer_provider=spans.provider)
        try:
            client.messages.create(**KW)
            monkeypatch.setenv("COSTLEDGER_PRICES", str(half))
            client.messages.create(**KW)
        finally:
            instrumentor.uninstrument()
    amounts = [Decimal(str((s.attributes or {})[A.COST_AMOUNT])) for s in spans.counted()]
    # List price twice (set after instrument()), then the file's half price twice.
    assert amounts[0] == amounts[1] == 2 * amounts[2] == 2 * amounts[3] > 0
    assert "x0.5" in str((spans.counted()[2].attributes or {})[A.COST_SOURCE])


def test_unknown_model_is_unpriced_with_reason(instrumented: Spans, fake: FakeAnthropic) -> None:
    fake.client(open_telemetry=False).messages.create(**{**KW, "model": "claude-nonexistent-9"})
    attrs = instrumented.one().attributes or {}
    assert A.COST_AMOUNT not in attrs
    assert attrs[A.COST_UNPRICED_REASON]
