"""The budget guard: the real anthropic and openai SDKs against their fake APIs (``httpx2``
mock transports that record every request), a snapshot in a real file or behind a real HTTP
server on 127.0.0.1, and the spans of a real SDK tracer provider.

``raise``: BudgetExceeded, and the transport received nothing; ``mark``: the request went and
the span says so; ``off`` (the default): nothing changes. Unreadable or stale snapshots fail
open, logged once.
"""

from __future__ import annotations

import gc
import http.server
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.costledger.demo.fake_providers import FakeOpenAI
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import MODEL, FakeAnthropic
from opentelemetry.instrumentation.costledger import (
    BudgetExceeded,
    CostLedgerInstrumentor,
    attribute_to,
    guard,
)
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.budget_snapshot import (
    BudgetLimit,
    parse_snapshot,
    snapshot,
)
from opentelemetry.trace import StatusCode

from .conftest import Spans

KW: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "Summarize ticket 67890."}],
}
OPENAI_KW: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Summarize ticket 67890."}],
}
MAY = (date(2025, 5, 1), date(2025, 6, 1))


def limit(scope: str, value: str, spent: str = "2610.50", cap: str = "2500") -> BudgetLimit:
    return BudgetLimit(
        scope, value, *MAY, Decimal(cap), Decimal(spent), Decimal(spent) >= Decimal(cap)
    )


OVER = [
    limit("customer", "cust_over"),
    limit("customer", "cust_under", spent="12.00"),
    limit("workspace", "ws_over"),
    limit("feature", "summaries"),
    limit("agent", "triage"),
    limit("tag", "team=search"),
]


def write(path: Path, limits: list[BudgetLimit], generated_at: datetime | None = None) -> Path:
    # Written whole, then renamed: the refresh thread never reads half a file.
    part = path.with_suffix(".part")
    part.write_text(snapshot(limits, generated_at).to_json())
    part.replace(path)
    return path


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    return write(tmp_path / "budgets.json", OVER)


@pytest.fixture
def guarded(
    spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., CostLedgerInstrumentor]]:
    """``guarded(budget_guard=..., budget_snapshot=...)``: the instrumentor on, with those."""
    for name in ("GUARD", "SNAPSHOT", "REFRESH", "MAX_AGE", "TOKEN"):
        monkeypatch.delenv(f"COSTLEDGER_BUDGET_{name}", raising=False)
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    instrumentor = CostLedgerInstrumentor()

    def on(**options: Any) -> CostLedgerInstrumentor:
        instrumentor.instrument(tracer_provider=spans.provider, **options)
        return instrumentor

    yield on
    instrumentor.uninstrument()
    assert guard.ACTIVE is None


def assert_stopped(spans: Spans, fake: Any, key: str) -> None:
    assert fake.requests == []  # the provider never saw a request
    span = spans.one()
    attrs = dict(span.attributes or {})
    assert attrs[A.ERROR_TYPE] == "BudgetExceeded"
    assert attrs[A.BUDGET_EXCEEDED] == key
    assert span.status.status_code is StatusCode.ERROR
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs


# --- raise ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["create", "create-stream", "stream-helper"])
def test_raise_stops_an_anthropic_call_before_it_is_sent(
    guarded: Any, spans: Spans, snapshot_file: Path, kind: str
) -> None:
    guarded(budget_guard="raise", budget_snapshot=str(snapshot_file))
    fake = FakeAnthropic()
    client = fake.client()
    with attribute_to(customer_id="cust_over"), pytest.raises(BudgetExceeded) as caught:
        if kind == "stream-helper":
            with client.messages.stream(**KW) as stream:
                stream.get_final_message()
        else:
            client.messages.create(**KW, stream=kind == "create-stream")
    assert_stopped(spans, fake, "customer:cust_over")
    exc = caught.value
    assert (exc.scope, exc.value) == ("customer", "cust_over")
    assert (exc.limit, exc.spent) == (Decimal("2500"), Decimal("2610.50"))
    assert (exc.period_start, exc.period_end) == MAY
    assert str(exc).startswith(
        "customer 'cust_over' has spent $2610.50 of its $2500.00 hard limit for 2025-05-01 to"
        " 2025-06-01: the LLM call was not sent"
    )
    assert "hard_limit" in str(exc)


def test_raise_lets_everyone_else_through(guarded: Any, spans: Spans, snapshot_file: Path) -> None:
    guarded(budget_guard="raise", budget_snapshot=str(snapshot_file))
    fake = FakeAnthropic()
    client = fake.client()
    for customer in ("cust_under", "cust_other", None):
        with attribute_to(customer_id=customer):
            client.messages.create(**KW)
    client.messages.create(**KW, metadata={"customer_id": "cust_under"})
    assert len(fake.requests) == 4
    for span in spans.counted():
        assert A.BUDGET_EXCEEDED not in (span.attributes or {})
        assert span.status.status_code is not StatusCode.ERROR
    # The call's own metadata= attribution is guarded too.
    with pytest.raises(BudgetExceeded):
        client.messages.create(**KW, metadata={"customer_id": "cust_over"})
    assert len(fake.requests) == 4


@pytest.mark.parametrize(
    ("scope", "attribution"),
    [
        ("workspace:ws_over", {"customer_id": "cust_ok", "workspace_id": "ws_over"}),
        ("feature:summaries", {"customer_id": "cust_ok", "feature": "summaries"}),
        ("agent:triage", {"agent": "triage"}),
        ("tag:team=search", {"tags": {"team": "search", "plan": "pro"}}),
    ],
)
def test_every_scope_is_guarded(
    guarded: Any, spans: Spans, snapshot_file: Path, scope: str, attribution: dict[str, Any]
) -> None:
    guarded(budget_guard="raise", budget_snapshot=str(snapshot_file))
    fake = FakeAnthropic()
    with attribute_to(**attribution), pytest.raises(BudgetExceeded) as caught:
        fake.client().messages.create(**KW)
    assert_stopped(spans, fake, scope)
    assert f"{caught.value.scope}:{caught.value.value}" == scope


async def test_raise_async_anthropic(guarded: Any, spans: Spans, snapshot_file: Path) -> None:
    guarded(budget_guard="raise", budget_snapshot=str(snapshot_file))
    fake = FakeAnthropic()
    client = fake.async_client()
    with attribute_to(customer_id="cust_over"):
        with pytest.raises(BudgetExceeded):
            await client.messages.create(**KW)
        with pytest.raises(BudgetExceeded):
            async with client.messages.stream(**KW) as stream:
                await stream.get_final_message()
    assert fake.requests == []
    assert [dict(s.attributes or {})[A.ERROR_TYPE] for s in spans.counted()] == [
        "BudgetExceeded"
    ] * 2


async def test_raise_openai_sync_async_and_stream_helper(
    guarded: Any, spans: Spans, snapshot_file: Path
) -> None:
    guarded(budget_guard="raise", budget_snapshot=str(snapshot_file))
    fake = FakeOpenAI()
    with attribute_to(customer_id="cust_over"):
        with pytest.raises(BudgetExceeded):
            fake.client().chat.completions.create(**OPENAI_KW)
        with pytest.raises(BudgetExceeded):
            await fake.async_client().chat.completions.create(**OPENAI_KW)
        # The async stream helper makes its coroutine at once and sends on ``async with``.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(BudgetExceeded):
                manager = fake.async_client().chat.completions.stream(**OPENAI_KW)
                async with manager as stream:
                    await stream.get_final_completion()
            del manager
            gc.collect()
        assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
    assert fake.requests == []
    assert len(spans.counted()) == 3
    with attribute_to(customer_id="cust_under"):
        fake.client().chat.completions.create(**OPENAI_KW)
    assert len(fake.requests) == 1


# --- mark and off -----------------------------------------------------------------------------
def test_mark_sends_and_marks_the_span(guarded: Any, spans: Spans, snapshot_file: Path) -> None:
    guarded(budget_guard="mark", budget_snapshot=str(snapshot_file))
    fake = FakeAnthropic()
    with attribute_to(customer_id="cust_over"):
        fake.client().messages.create(**KW)
    assert len(fake.requests) == 1
    span = spans.one()
    attrs = dict(span.attributes or {})
    assert attrs[A.BUDGET_EXCEEDED] == "customer:cust_over"
    assert A.ERROR_TYPE not in attrs and attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 15
    spans.clear()
    with attribute_to(customer_id="cust_under"):
        fake.client().messages.create(**KW)
    assert A.BUDGET_EXCEEDED not in (spans.one().attributes or {})


def test_off_by_default_changes_nothing(
    guarded: Any, spans: Spans, snapshot_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTLEDGER_BUDGET_SNAPSHOT", str(snapshot_file))  # a snapshot alone
    guarded()
    assert guard.ACTIVE is None
    fake = FakeAnthropic()
    with attribute_to(customer_id="cust_over"):
        fake.client().messages.create(**KW)
    assert len(fake.requests) == 1
    assert A.BUDGET_EXCEEDED not in (spans.one().attributes or {})
    assert not [t for t in threading.enumerate() if t.name == "costledger-budget-guard"]


def test_environment_then_argument(
    guarded: Any, spans: Spans, snapshot_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTLEDGER_BUDGET_GUARD", "raise")
    monkeypatch.setenv("COSTLEDGER_BUDGET_SNAPSHOT", str(snapshot_file))
    monkeypatch.setenv("COSTLEDGER_BUDGET_REFRESH", "120")
    guarded(budget_guard="mark")  # the argument wins over the environment
    assert guard.ACTIVE is not None
    assert (guard.ACTIVE.mode, guard.ACTIVE.refresh) == ("mark", 120.0)
    CostLedgerInstrumentor().uninstrument()
    guarded()
    assert guard.ACTIVE is not None and guard.ACTIVE.mode == "raise"
    fake = FakeAnthropic()
    with attribute_to(customer_id="cust_over"), pytest.raises(BudgetExceeded):
        fake.client().messages.create(**KW)
    CostLedgerInstrumentor().uninstrument()  # off again: the thread ends, calls go
    assert guard.ACTIVE is None
    assert not [t for t in threading.enumerate() if t.name == "costledger-budget-guard"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"budget_guard": "block"}, "must be off, raise or mark"),
        ({"budget_guard": "raise"}, "needs its snapshot: set COSTLEDGER_BUDGET_SNAPSHOT"),
        ({"budget_guard": "mark", "budget_snapshot": "x", "budget_refresh": 0}, "above 0"),
    ],
)
def test_a_bad_setting_refuses_to_instrument(
    guarded: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        guarded(**options)
    assert guard.ACTIVE is None
    assert not CostLedgerInstrumentor().is_instrumented_by_opentelemetry


# --- the snapshot: refreshed in the background, failing open ---------------------------------
def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the refresh thread did not pick the snapshot up"
        time.sleep(0.02)


def stopped(client: Any, customer: str) -> bool:
    try:
        with attribute_to(customer_id=customer):
            client.messages.create(**KW)
    except BudgetExceeded:
        return True
    return False


def test_file_is_refreshed_in_the_background(guarded: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "budgets.json", [])
    guarded(budget_guard="raise", budget_snapshot=str(path), budget_refresh=0.05)
    client = FakeAnthropic().client()
    assert not stopped(client, "cust_over")
    write(path, OVER)
    wait_for(lambda: stopped(client, "cust_over"))
    write(path, [limit("customer", "cust_over", spent="10")])  # the limit was raised
    wait_for(lambda: not stopped(client, "cust_over"))


class SnapshotServer:
    """A real HTTP server on 127.0.0.1 answering ``GET /v1/budgets`` with ``body``."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.authorizations: list[str | None] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.authorizations.append(self.headers.get("Authorization"))
                body = owner.body
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # an SDK request that got through is recorded too

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/budgets"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[SnapshotServer]:
    found = SnapshotServer()
    yield found
    found.close()


def test_url_is_refreshed_in_the_background_with_the_token(
    guarded: Any, server: SnapshotServer
) -> None:
    server.body = snapshot([]).to_json().encode()
    guarded(
        budget_guard="raise", budget_snapshot=server.url, budget_refresh=0.05, budget_token="s3"
    )
    client = FakeAnthropic().client()
    assert not stopped(client, "cust_over")
    server.body = snapshot(OVER).to_json().encode()
    wait_for(lambda: stopped(client, "cust_over"))
    assert set(server.authorizations) == {"Bearer s3"}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "snapshot" in r.getMessage()
    ]


def test_unreachable_and_bad_snapshots_fail_open_logged_once(
    guarded: Any,
    server: SnapshotServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "opentelemetry.instrumentation.costledger")
    guarded(budget_guard="raise", budget_snapshot=str(tmp_path / "missing.json"))
    active = guard.ACTIVE
    assert active is not None
    client = FakeAnthropic().client()
    assert not stopped(client, "cust_over")
    active.load()
    active.load()
    [message] = warnings_of(caplog)
    assert "cannot read the budget snapshot" in message and "missing.json" in message
    assert "go through unguarded" in message

    # In force, then the server answers nonsense: the last good snapshot stays while fresh.
    server.body = snapshot(OVER).to_json().encode()
    active.source = server.url
    assert active.load() and stopped(client, "cust_over")
    for body in (b"{not json", b'{"version": 2, "generated_at": "2025-05-20T00:00:00Z"}'):
        server.body = body
        caplog.clear()
        assert active.load() and stopped(client, "cust_over")
        [message] = warnings_of(caplog)
        assert "stays in force" in message
    assert "version 2 is not 1" in message

    # The server gone: still the last good snapshot; once it is too old, nothing is stopped.
    server.close()
    caplog.clear()
    assert active.load() and stopped(client, "cust_over")
    active.max_age = 0.001
    time.sleep(0.01)
    assert not active.load()
    assert not stopped(client, "cust_over")
    assert "is stale" in warnings_of(caplog)[-1]


def test_a_stale_snapshot_stops_nothing(
    guarded: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "opentelemetry.instrumentation.costledger")
    old = datetime.now(UTC) - timedelta(hours=2)
    path = write(tmp_path / "budgets.json", OVER, generated_at=old)
    guarded(budget_guard="raise", budget_snapshot=str(path), budget_max_age=3600)
    assert not stopped(FakeAnthropic().client(), "cust_over")
    [message] = warnings_of(caplog)
    assert "is stale" in message and "is its publisher running?" in message
    caplog.clear()
    write(path, OVER)  # a fresh one: in force again, said at INFO
    assert guard.ACTIVE is not None and guard.ACTIVE.load()
    assert stopped(FakeAnthropic().client(), "cust_over")
    assert "in force again" in caplog.text


def test_snapshot_format_round_trips_exactly() -> None:
    made = snapshot(OVER, datetime(2025, 5, 20, 9, 30, tzinfo=UTC))
    text = made.to_json()
    assert '"generated_at": "2025-05-20T09:30:00Z"' in text
    assert '"spent_usd": "2610.50"' in text and '"limit_usd": "2500.00"' in text
    assert parse_snapshot(text) == made
    assert [key for key, _ in made.exceeded()] == [
        A.CUSTOMER_ID,
        A.WORKSPACE_ID,
        A.FEATURE,
        A.GEN_AI_AGENT_NAME,
        "costledger.tag.team",
    ]
    with pytest.raises(ValueError, match="must be decimal text"):
        parse_snapshot(text.replace('"2610.50"', "2610.5"))


def test_raise_stops_a_bedrock_call_before_it_is_sent(
    guarded: Any, spans: Spans, snapshot_file: Path, server: SnapshotServer
) -> None:
    """boto3 ``bedrock-runtime`` against a real local server that records what reaches it."""
    boto3 = pytest.importorskip("boto3")
    guarded(budget_guard="raise", budget_snapshot=str(snapshot_file))
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=server.url.removesuffix("/v1/budgets"),
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
    )
    messages: Any = [{"role": "user", "content": [{"text": "Where is my refund?"}]}]
    with attribute_to(customer_id="cust_over"), pytest.raises(BudgetExceeded):
        client.converse(modelId="us.anthropic.claude-sonnet-4-5-20250929-v1:0", messages=messages)
    assert server.authorizations == []  # nothing reached the server
    assert dict(spans.one().attributes or {})[A.ERROR_TYPE] == "BudgetExceeded"
