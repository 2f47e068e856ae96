"""``serve --tags``: the tag names the receiver's ledger keeps (argument, else $COSTLEDGER_TAGS,
else none), through the SDK's real OTLP/HTTP exporter."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.serve.server import Receiver
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.util.types import AttributeValue

CALL: dict[str, AttributeValue] = {
    A.GEN_AI_PROVIDER_NAME: "anthropic",
    A.GEN_AI_OPERATION_NAME: "chat",
    A.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5",
    A.GEN_AI_USAGE_INPUT_TOKENS: 100,
    A.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
    A.CUSTOMER_ID: "cust_1",
    "costledger.tag.plan": "pro",
    "costledger.tag.region": "eu",
}


def _tags_stored(receiver: Receiver, url: str) -> list[str | None]:
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("chat claude", attributes=CALL):
        pass
    provider.shutdown()
    with sa.create_engine(url).connect() as conn:
        return [t for (t,) in conn.execute(sa.text("SELECT tags FROM cost_ledger"))]


@pytest.mark.parametrize(
    ("tags", "env", "stored"),
    [
        (None, None, [None]),  # default: no tag is kept
        (("plan",), None, ['{"plan":"pro"}']),
        (None, "region", ['{"region":"eu"}']),
        (("plan",), "region", ['{"plan":"pro"}']),  # the argument wins over the environment
    ],
)
def test_serve_keeps_the_tags_it_is_told(
    start_receiver: Callable[..., Receiver],
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tags: tuple[str, ...] | None,
    env: str | None,
    stored: list[str | None],
) -> None:
    if env is None:
        monkeypatch.delenv("COSTLEDGER_TAGS", raising=False)
    else:
        monkeypatch.setenv("COSTLEDGER_TAGS", env)
    receiver = start_receiver(sqlite_url, tags=tags)
    assert _tags_stored(receiver, sqlite_url) == stored
