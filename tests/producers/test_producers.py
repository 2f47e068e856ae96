"""Every setup gives exactly one ledger row per call, at the provider's list price, for the
customer of ``attribute_to`` — in process and through ``costledger serve``.

Real SDKs, real third-party instrumentations (OpenInference, OpenTelemetry contrib, OpenLLMetry),
a real OTLP exporter and a real receiver; the providers' APIs are a local mock answering
1,000 input / 200 output tokens per call (:mod:`.mock_api`). Each setup runs as an app in a
process of its own (:mod:`.app`), making two identical calls in one trace: both must count.
The expected cost comes from genai-prices' own ``calc_price``, not from our price book.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .mock_api import INPUT_TOKENS, OUTPUT_TOKENS, MockAPI

REPO = Path(__file__).resolve().parents[2]
CALLS = 2


@dataclass(frozen=True)
class Expected:
    provider: str  # the ledger's provider name
    model: str  # the model as the row names it
    prices_provider: str  # genai-prices provider id whose list price applies
    price_model: str  # the model genai-prices is asked about


EXPECTED = {
    "openai_openinference": Expected("openai", "gpt-4o-mini", "openai", "gpt-4o-mini"),
    "gemini_openinference": Expected(
        "gcp.gen_ai", "gemini-2.5-flash", "google", "gemini-2.5-flash"
    ),
    "bedrock_botocore": Expected(
        "aws.bedrock",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "aws",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    # OpenLLMetry's span names the model without the inference profile ("us.anthropic."), so
    # the row can only be priced at the model's own Bedrock price.
    "bedrock_openllmetry": Expected(
        "aws.bedrock",
        "claude-sonnet-4-5-20250929-v1:0",
        "aws",
        "claude-sonnet-4-5-20250929-v1:0",
    ),
    "mistral_openllmetry": Expected(
        "mistral_ai", "mistral-small-latest", "mistral", "mistral-small-latest"
    ),
    "langchain_anthropic": Expected(
        "anthropic", "claude-sonnet-4-5-20250929", "anthropic", "claude-sonnet-4-5-20250929"
    ),
}


def list_price_nanos(expected: Expected) -> int:
    """genai-prices' own price of one call of the mock's usage, in nano-dollars."""
    from genai_prices import Usage, calc_price

    price = calc_price(
        Usage(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS),
        model_ref=expected.price_model,
        provider_id=expected.prices_provider,
    )
    return int(Decimal(price.total_price) * 10**9)


def rows(path: Path) -> list[dict[str, Any]]:
    """Every row of the SQLite ledger at ``path``, in the order written."""
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM ledger_entries ORDER BY id")]


def run_app(
    setup: str,
    tmp_path: Path,
    receiver: Any,
    api: MockAPI,
    batch: int,
    python: str = sys.executable,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Run the app of ``setup`` (:mod:`.app`) with ``python``: its ledger is ``local.db``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "COSTLEDGER_"))}
    env.update(
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONWARNINGS="ignore",
        # LangChain's tracing service and telemetry of the SDKs: never on in a test.
        LANGCHAIN_TRACING_V2="false",
        TRACELOOP_TRACE_CONTENT="false",
    )
    env.update(extra_env or {})
    done = subprocess.run(
        [
            python,
            "-m",
            "tests.producers.app",
            setup,
            f"sqlite:///{tmp_path / 'local.db'}",
            f"127.0.0.1:{receiver.grpc_port}",
            api.url,
            "--calls",
            str(CALLS),
            "--batch",
            str(batch),
            "--reports",
            str(tmp_path / "reports.jsonl"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def reports(tmp_path: Path) -> list[dict[str, str]]:
    """The spans with token usage the last app exported (``--reports``): scope and name."""
    path = tmp_path / "reports.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("batch", [512, 1], ids=["one-batch", "span-per-batch"])
@pytest.mark.parametrize("setup", sorted(EXPECTED))
def test_one_row_per_call_at_list_price(
    setup: str, batch: int, tmp_path: Path, start_receiver: Any, mock_api: MockAPI
) -> None:
    receiver = start_receiver(f"sqlite:///{tmp_path / 'served.db'}")
    sent_before = len(mock_api.requests)
    run_app(setup, tmp_path, receiver, mock_api, batch)
    # No request names the customer (the mistralai SDK's own tracing sends the baggage).
    for _, headers, _ in mock_api.requests[sent_before:]:
        assert not [v for v in headers.values() if "cust_12345" in v], (setup, headers)
    receiver.stop(5)
    expected = EXPECTED[setup]
    assert_one_row_per_call(tmp_path, expected, list_price_nanos(expected))


def assert_one_row_per_call(tmp_path: Path, expected: Expected, cost: int) -> None:
    """Both ledgers (``local.db`` in process, ``served.db`` through serve) hold one row per
    call, of ``expected``'s provider and model, costing ``cost``, for the customer."""
    for ledger in ("local.db", "served.db"):
        found = rows(tmp_path / ledger)
        described = [
            (r["provider"], r["model"], r["input_tokens"], r["output_tokens"], r["customer_id"])
            for r in found
        ]
        assert len(found) == CALLS, (ledger, described)
        for row in found:
            assert row["provider"] == expected.provider, (ledger, described)
            assert row["model"].startswith(expected.model), (ledger, described)
            assert (row["input_tokens"], row["output_tokens"]) == (INPUT_TOKENS, OUTPUT_TOKENS)
            assert row["customer_id"] == "cust_12345", (ledger, described)
            assert row["work_item_id"] == "ticket_1"
            assert row["cost_nanos"] == cost, (ledger, row["price_rule"], row["unpriced_reason"])
            assert not row["flags"], (ledger, row["flags"])  # e.g. a producer's differing cost
            assert f" {expected.prices_provider}/" in row["price_rule"], row["price_rule"]
        assert len({row["trace_id"] for row in found}) == 1  # two identical calls, one trace
