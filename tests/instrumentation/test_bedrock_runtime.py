"""boto3 ``bedrock-runtime`` through the real SDK against a local HTTP server on 127.0.0.1
(``endpoint_url``): one counted span and one ledger row per ``converse``, ``converse_stream``,
``invoke_model`` and ``invoke_model_with_response_stream``, with cache reads and writes, priced
on the requested inference profile at Bedrock's list price."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.exceptions import ClientError
from opentelemetry.exporter.costledger.demo.fake_providers.anthropic import (
    CACHE_1H,
    CACHE_5M,
    CACHE_READ,
    INPUT,
    OUTPUT,
    message,
    sse_events,
)
from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to
from opentelemetry.instrumentation.costledger import attributes as A

from . import aws_eventstream
from .ledger import Ledger, nanos

PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
EMBEDDER = "amazon.titan-embed-text-v2:0"
# Converse's usage: input EXCLUDES the cache reads and writes.
UNCACHED, READ, WRITE, WRITE_1H, OUT = 100, 800, 100, 40, 200
# The answer for the global profile splits its cache writes: 5-minute and 1-hour ones.
SPLIT = [{"ttl": "5m", "inputTokens": WRITE - WRITE_1H}, {"ttl": "1h", "inputTokens": WRITE_1H}]
CONVERSE_USAGE = {
    "inputTokens": UNCACHED,
    "outputTokens": OUT,
    "totalTokens": UNCACHED + READ + WRITE + OUT,
    "cacheReadInputTokens": READ,
    "cacheWriteInputTokens": WRITE,
    "cacheDetails": [{"ttl": "5m", "inputTokens": WRITE}],
}
# Bedrock's regional (us.) profile of claude-sonnet-4-5 per million tokens: input 3.30, cache
# read 0.33, 5-minute write 4.125, 1-hour write 6.60, output 16.50.
PRICES = (Decimal("3.3"), Decimal("0.33"), Decimal("4.125"), Decimal("6.6"), Decimal("16.5"))


def _cost(uncached: int, read: int, write_5m: int, write_1h: int, output: int) -> int:
    counts = (uncached, read, write_5m, write_1h, output)
    total = sum((c * p for c, p in zip(counts, PRICES, strict=True)), Decimal(0))
    return nanos(total / 1_000_000)


CONVERSE_COST = _cost(UNCACHED, READ, WRITE, 0, OUT)
ANTHROPIC_COST = _cost(INPUT, CACHE_READ, CACHE_5M, CACHE_1H, OUTPUT)
EMBED_TOKENS = 7
EMBED_COST = 140  # amazon.titan-embed-text-v2: 0.02 per million


def _anthropic_events() -> list[dict[str, Any]]:
    found = []
    for event in sse_events("claude-sonnet-4-5-20250929"):
        for line in event.decode().splitlines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
    return found


def _converse_stream_frames() -> bytes:
    events = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Your refund "}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "was issued."}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": CONVERSE_USAGE, "metrics": {"latencyMs": 12}}),
    ]
    return b"".join(aws_eventstream.event(name, payload) for name, payload in events)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, data: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("x-amzn-requestid", "req-1")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        answer: dict[str, Any]
        self.rfile.read(int(self.headers.get("content-length") or 0))
        path = unquote(self.path)
        model = path.split("/")[2]
        if model == "error-model":
            body = json.dumps({"message": "The provided model identifier is invalid."}).encode()
            self._send(400, body, "application/json", **{"x-amzn-errortype": "ValidationException"})
            return
        if path.endswith("/converse") and model.startswith("global."):
            usage = {**CONVERSE_USAGE, "cacheDetails": SPLIT}
            answer = {"output": {"message": {"role": "assistant", "content": []}}, "usage": usage}
            self._send(200, json.dumps(answer).encode(), "application/json")
        elif path.endswith("/converse"):
            answer = {
                "output": {
                    "message": {
                        "role": "assistant",
                        "content": [{"text": "Your refund was issued."}],
                    }
                },
                "stopReason": "end_turn",
                "usage": CONVERSE_USAGE,
                "metrics": {"latencyMs": 12},
            }
            self._send(200, json.dumps(answer).encode(), "application/json")
        elif path.endswith("/converse-stream"):
            self._send(200, _converse_stream_frames(), "application/vnd.amazon.eventstream")
        elif path.endswith("/invoke") and "embed" in model:
            answer = {"embedding": [0.1, 0.2], "inputTextTokenCount": EMBED_TOKENS}
            self._send(
                200,
                json.dumps(answer).encode(),
                "application/json",
                **{
                    "x-amzn-bedrock-input-token-count": str(EMBED_TOKENS),
                    "x-amzn-bedrock-output-token-count": "0",
                },
            )
        elif path.endswith("/invoke"):
            self._send(
                200, json.dumps(message("claude-sonnet-4-5-20250929")).encode(), "application/json"
            )
        elif path.endswith("/invoke-with-response-stream"):
            frames = b"".join(aws_eventstream.chunk(e) for e in _anthropic_events())
            self._send(200, frames, "application/vnd.amazon.eventstream")
        else:
            self._send(404, b"{}", "application/json")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.delenv("COSTLEDGER_PRICES", raising=False)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    found = Ledger(tmp_path)
    instrumentor = CostLedgerInstrumentor()
    instrumentor.instrument(tracer_provider=found.provider)
    yield found
    instrumentor.uninstrument()
    found.provider.shutdown()


def bedrock(endpoint: str) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
    )


MESSAGES: Any = [{"role": "user", "content": [{"text": "Where is my refund?"}]}]
ANTHROPIC_BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Where is my refund?"}],
    }
)


def _check(ledger: Ledger, cost: int, *, cache: bool = True) -> dict[str, Any]:
    span = ledger.one()
    attrs = span.attributes or {}
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == PROFILE
    assert A.GEN_AI_RESPONSE_MODEL not in attrs
    assert attrs[A.GEN_AI_RESPONSE_ID]
    [row] = ledger.rows()
    assert (row["provider"], row["model"], row["cost_nanos"], row["customer_id"]) == (
        "aws.bedrock",
        PROFILE,
        cost,
        "cust_12345",
    )
    return row


def test_converse(ledger: Ledger, endpoint: str) -> None:
    with attribute_to(customer_id="cust_12345"):
        answer = bedrock(endpoint).converse(modelId=PROFILE, messages=MESSAGES)
    assert answer["stopReason"] == "end_turn"
    row = _check(ledger, CONVERSE_COST)
    assert (row["input_tokens"], row["cache_read_tokens"]) == (UNCACHED + READ + WRITE, READ)
    assert (row["cache_write_5m_tokens"], row["cache_write_1h_tokens"]) == (WRITE, 0)
    assert (ledger.one().attributes or {})[A.GEN_AI_RESPONSE_ID] == "req-1"


def _models_cache_details() -> bool:
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return "cacheDetails" in model.shape_for("TokenUsage").members


@pytest.mark.skipif(
    not _models_cache_details(), reason="this botocore release drops Converse's cacheDetails"
)
def test_converse_one_hour_cache_writes(ledger: Ledger, endpoint: str) -> None:
    # The 1-hour writes of cacheDetails are split from the 5-minute ones (priced at the 1-hour
    # write price where genai-prices lists one).
    bedrock(endpoint).converse(modelId="global." + PROFILE[3:], messages=MESSAGES)
    [row] = ledger.rows()
    assert (row["cache_write_5m_tokens"], row["cache_write_1h_tokens"]) == (
        WRITE - WRITE_1H,
        WRITE_1H,
    )
    assert row["input_tokens"] == UNCACHED + READ + WRITE
    assert row["cost_nanos"]


def test_converse_stream(ledger: Ledger, endpoint: str) -> None:
    with attribute_to(customer_id="cust_12345"):
        answer = bedrock(endpoint).converse_stream(modelId=PROFILE, messages=MESSAGES)
        text = "".join(
            e["contentBlockDelta"]["delta"]["text"]
            for e in answer["stream"]
            if "contentBlockDelta" in e
        )
    assert text == "Your refund was issued."
    _check(ledger, CONVERSE_COST)


def test_invoke_model_anthropic(ledger: Ledger, endpoint: str) -> None:
    with attribute_to(customer_id="cust_12345"):
        answer = bedrock(endpoint).invoke_model(modelId=PROFILE, body=ANTHROPIC_BODY)
        # The caller still reads the whole body.
        assert json.loads(answer["body"].read())["usage"]["input_tokens"] == INPUT
    row = _check(ledger, ANTHROPIC_COST)
    assert row["cache_write_1h_tokens"] == CACHE_1H
    assert str((ledger.one().attributes or {})[A.GEN_AI_RESPONSE_ID]).startswith("msg_")


def test_invoke_model_with_response_stream(ledger: Ledger, endpoint: str) -> None:
    with attribute_to(customer_id="cust_12345"):
        answer = bedrock(endpoint).invoke_model_with_response_stream(
            modelId=PROFILE, body=ANTHROPIC_BODY
        )
        kinds = [json.loads(e["chunk"]["bytes"])["type"] for e in answer["body"]]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    _check(ledger, ANTHROPIC_COST)


def test_an_embedding_model_through_invoke_model(ledger: Ledger, endpoint: str) -> None:
    bedrock(endpoint).invoke_model(modelId=EMBEDDER, body=json.dumps({"inputText": "refund"}))
    span = ledger.one()
    assert span.name == f"embeddings {EMBEDDER}"
    [row] = ledger.rows()
    assert (row["operation"], row["input_tokens"], row["cost_nanos"]) == (
        "embeddings",
        EMBED_TOKENS,
        EMBED_COST,
    )


def test_a_stream_left_early_ends_the_call(ledger: Ledger, endpoint: str) -> None:
    answer = bedrock(endpoint).converse_stream(modelId=PROFILE, messages=MESSAGES)
    for _event in answer["stream"]:
        break
    answer["stream"].close()
    span = ledger.one()
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in (span.attributes or {})  # no usage seen yet


def test_api_errors_pass_through(ledger: Ledger, endpoint: str) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock(endpoint).converse(modelId="error-model", messages=MESSAGES)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    span = ledger.one()
    assert (span.attributes or {})[A.ERROR_TYPE] == "ValidationException"
    assert ledger.rows() == []


def test_other_services_and_uninstrument(ledger: Ledger, endpoint: str) -> None:
    sts = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    assert sts.meta.service_model.service_name == "sts"
    client = bedrock(endpoint)
    CostLedgerInstrumentor().uninstrument()
    try:
        client.converse(modelId=PROFILE, messages=MESSAGES)
        bedrock(endpoint).converse(modelId=PROFILE, messages=MESSAGES)
        assert ledger.all() == []
    finally:
        CostLedgerInstrumentor().instrument(tracer_provider=ledger.provider)


@pytest.mark.parametrize("first", ["contrib", "ours"])
def test_with_the_contrib_botocore_instrumentation_on(
    ledger: Ledger, endpoint: str, first: str
) -> None:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    contrib = BotocoreInstrumentor()
    if first == "contrib":
        CostLedgerInstrumentor().uninstrument()
        contrib.instrument(tracer_provider=ledger.provider)
        CostLedgerInstrumentor().instrument(tracer_provider=ledger.provider)
    else:
        contrib.instrument(tracer_provider=ledger.provider)
    try:
        with attribute_to(customer_id="cust_12345"):
            bedrock(endpoint).converse(modelId=PROFILE, messages=MESSAGES)
    finally:
        contrib.uninstrument()
    assert len(ledger.all()) == 2  # the contrib span, ours inside it
    _check(ledger, CONVERSE_COST)
