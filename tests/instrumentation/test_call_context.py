"""The context an SDK method runs in: built in one copy, or through the public API as a fallback.

``_calls`` finds the API's context keys for the current span and the baggage at import and builds
a call's context (span current, call marked active, attribution out of the baggage) in one copy;
an API that keeps them differently gets the public functions instead. Both must behave the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.costledger import _calls, attribute_to
from opentelemetry.instrumentation.costledger import attributes as A

from .anthropic_fixtures import MODEL, FakeAnthropic
from .conftest import Spans

KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


META_T9: Any = {"work_item_id": "t9"}


def attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.fixture(params=["one-copy", "public-api"])
def context_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "public-api":
        monkeypatch.setattr(_calls, "_FAST_CONTEXT", False)
    monkeypatch.setattr(_calls, "_last_baggage", None)
    yield request.param


def test_context_keys_are_found() -> None:
    # The one-copy path is the one users get with the opentelemetry-api this project pins.
    assert _calls._FAST_CONTEXT
    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    ctx = otel_context.Context({_calls._SPAN_KEY: span})
    assert trace.get_current_span(ctx) is span
    assert baggage.get_all(baggage.set_baggage("k", "v")) == {"k": "v"}


def test_sdk_runs_in_the_call_context(
    context_path: str, instrumented: Spans, fake: FakeAnthropic
) -> None:
    seen: list[tuple[Any, dict[str, object], bool]] = []
    original = fake.handler

    def handler(request: Any) -> Any:
        seen.append((trace.get_current_span(), dict(baggage.get_all()), _calls.is_call_active()))
        return original(request)

    fake.handler = handler  # type: ignore[method-assign]
    client = fake.client(open_telemetry={"tracer_provider": instrumented.provider})
    token = otel_context.attach(baggage.set_baggage("deployment.region", "eu"))
    try:
        with attribute_to("cust_1", work_item_id="t1"):
            before = otel_context.get_current()
            client.messages.create(**KW)
            assert otel_context.get_current() is before
    finally:
        otel_context.detach(token)
    assert not _calls.is_call_active()
    (ours,) = instrumented.counted()
    assert attrs(ours)[A.CUSTOMER_ID] == "cust_1"
    assert attrs(ours)[A.WORK_ITEM_ID] == "t1"
    ((current, entries, active),) = seen
    # The HTTP request is made under the SDK's own span, a child of ours.
    assert current.parent is not None and current.parent.span_id == ours.context.span_id
    assert entries == {"deployment.region": "eu"}
    assert active
    assert "cust_1" not in fake.headers[-1].get("baggage", "")


def test_each_baggage_gives_its_own_attribution(
    context_path: str, instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client()
    for customer in ("cust_a", "cust_b", "cust_a"):
        with attribute_to(customer):
            client.messages.create(**KW)
    client.messages.create(**KW)  # no baggage at all: no customer
    spans = instrumented.counted()
    assert [attrs(s).get(A.CUSTOMER_ID) for s in spans] == ["cust_a", "cust_b", "cust_a", None]


def test_same_baggage_object_twice(
    context_path: str, instrumented: Spans, fake: FakeAnthropic
) -> None:
    client = fake.client()
    with attribute_to("cust_same", user_id="u1"):
        client.messages.create(**KW)
        client.messages.create(**KW, metadata=META_T9)
        client.messages.create(**KW)
    first, second, third = (attrs(s) for s in instrumented.counted())
    assert first[A.USER_ID] == third[A.USER_ID] == "u1"
    assert A.WORK_ITEM_ID not in first and A.WORK_ITEM_ID not in third
    assert second[A.WORK_ITEM_ID] == "t9"
    assert second[A.CUSTOMER_ID] == "cust_same"


def test_cost_amount_is_exact_text() -> None:
    assert _calls._decimal_string(262_000) == "0.000262000"
    assert _calls._decimal_string(-1_500_000_001) == "-1.500000001"
    assert _calls._decimal_string(0) == "0.000000000"
