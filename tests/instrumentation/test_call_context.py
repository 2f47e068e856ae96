"""The context an SDK method runs in, as the SDK and the HTTP layer under it observe it.

While the SDK method runs: our span is the current span, the call is marked active (a wrapped
call made inside is not counted again), and the attribution entries are out of the baggage (the
SDK and HTTP instrumentations would send them to the provider); other baggage stays. After the
call the caller's context is back, attribution included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import MODEL, FakeAnthropic
from opentelemetry.instrumentation.costledger import _context, attribute_to, current_attribution
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.money import nanos_to_text

from .conftest import Spans

KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


META_T9: Any = {"work_item_id": "t9"}


def attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


class Seen:
    """What the HTTP layer sees of the context, request by request."""

    def __init__(self, fake: FakeAnthropic) -> None:
        self.current: list[trace.Span] = []
        self.baggage: list[dict[str, object]] = []
        self.active: list[bool] = []
        self.inside: Any = None  # run once inside the next request (e.g. a nested call)
        original = fake.handler

        def handler(request: Any) -> Any:
            self.current.append(trace.get_current_span())
            self.baggage.append(dict(baggage.get_all()))
            self.active.append(_context.is_call_active())
            inside, self.inside = self.inside, None
            if inside is not None:
                inside()
            return original(request)

        fake.handler = handler  # type: ignore[method-assign]


@pytest.fixture
def seen(fake: FakeAnthropic) -> Seen:
    return Seen(fake)


@pytest.fixture
def region() -> Iterator[None]:
    token = otel_context.attach(baggage.set_baggage("deployment.region", "eu"))
    yield
    otel_context.detach(token)


def test_our_span_is_current_inside_the_sdk_call(
    instrumented: Spans, fake: FakeAnthropic, seen: Seen
) -> None:
    client = fake.client(open_telemetry=False)
    with instrumented.provider.get_tracer("app").start_as_current_span("request") as outer:
        client.messages.create(**KW)
        assert trace.get_current_span() is outer  # the caller's span again
    (ours,) = instrumented.counted()
    (current,) = seen.current
    assert current.get_span_context().span_id == ours.context.span_id
    assert ours.parent is not None and ours.parent.span_id == outer.get_span_context().span_id
    assert seen.active == [True]
    assert not _context.is_call_active()


def test_sdk_native_span_is_a_child_of_ours(
    instrumented: Spans, fake: FakeAnthropic, seen: Seen
) -> None:
    client = fake.client(open_telemetry={"tracer_provider": instrumented.provider})
    client.messages.create(**KW)
    (ours,) = instrumented.counted()
    (current,) = seen.current  # the HTTP request runs under the SDK's own span
    (native,) = instrumented.by_scope("com.anthropic.sdk.python")
    assert current.get_span_context().span_id == native.context.span_id
    assert native.parent is not None and native.parent.span_id == ours.context.span_id
    assert attrs(native)[A.COUNTED] is False


def test_a_call_made_inside_a_counted_call_is_not_counted(
    instrumented: Spans, fake: FakeAnthropic, seen: Seen
) -> None:
    client = fake.client(open_telemetry=False)
    seen.inside = lambda: client.messages.create(**KW)
    client.messages.create(**KW)
    assert seen.active == [True, True]
    assert len(fake.requests) == 2
    assert len(instrumented.counted()) == 1
    assert len(instrumented.all()) == 1
    # Once the counted call is over, the next call is counted again.
    client.messages.create(**KW)
    assert len(instrumented.counted()) == 2


@pytest.mark.usefixtures("region")
def test_attribution_is_out_of_the_baggage_while_the_sdk_runs_and_back_after(
    instrumented: Spans, fake: FakeAnthropic, seen: Seen
) -> None:
    client = fake.client(open_telemetry={"tracer_provider": instrumented.provider})
    with attribute_to("cust_1", work_item_id="t1"):
        before = otel_context.get_current()
        client.messages.create(**KW)
        assert otel_context.get_current() is before
        assert current_attribution() == {A.CUSTOMER_ID: "cust_1", A.WORK_ITEM_ID: "t1"}
    assert seen.baggage == [{"deployment.region": "eu"}]
    sent = fake.headers[-1].get("baggage", "")
    assert "deployment.region=eu" in sent
    assert "cust_1" not in sent and "t1" not in sent
    (ours,) = instrumented.counted()
    assert attrs(ours)[A.CUSTOMER_ID] == "cust_1"
    assert attrs(ours)[A.WORK_ITEM_ID] == "t1"


def test_baggage_of_attribution_only_is_empty_while_the_sdk_runs(
    instrumented: Spans, fake: FakeAnthropic, seen: Seen
) -> None:
    client = fake.client(open_telemetry={"tracer_provider": instrumented.provider})
    with attribute_to("cust_2", user_id="u2"):
        client.messages.create(**KW)
        assert current_attribution() == {A.CUSTOMER_ID: "cust_2", A.USER_ID: "u2"}
    assert seen.baggage == [{}]
    assert "cust_2" not in fake.headers[-1].get("baggage", "")


def test_other_baggage_passes_untouched(
    instrumented: Spans, fake: FakeAnthropic, seen: Seen
) -> None:
    client = fake.client(open_telemetry=False)
    ctx = baggage.set_baggage("a", "1", baggage.set_baggage("b", "2"))
    token = otel_context.attach(baggage.set_baggage("c", "3", ctx))
    try:
        with attribute_to("cust_3"):
            client.messages.create(**KW)
        client.messages.create(**KW)
    finally:
        otel_context.detach(token)
    assert seen.baggage == [{"a": "1", "b": "2", "c": "3"}] * 2
    first, second = instrumented.counted()
    assert attrs(first)[A.CUSTOMER_ID] == "cust_3"
    assert A.CUSTOMER_ID not in attrs(second)


def test_each_baggage_gives_its_own_attribution(instrumented: Spans, fake: FakeAnthropic) -> None:
    client = fake.client()
    for customer in ("cust_a", "cust_b", "cust_a"):
        with attribute_to(customer):
            client.messages.create(**KW)
    client.messages.create(**KW)  # no baggage at all: no customer
    spans = instrumented.counted()
    assert [attrs(s).get(A.CUSTOMER_ID) for s in spans] == ["cust_a", "cust_b", "cust_a", None]


def test_same_baggage_twice(instrumented: Spans, fake: FakeAnthropic) -> None:
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
    assert nanos_to_text(262_000) == "0.000262000"
    assert nanos_to_text(-1_500_000_001) == "-1.500000001"
    assert nanos_to_text(0) == "0.000000000"
