"""The examples run under ``opentelemetry-instrument`` in a process of their own; their console
exporter output is parsed and checked. Also: attribution crossing a real HTTP hop into another
process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import propagate
from opentelemetry.exporter.costledger.demo.fake_providers import FakeAnthropic, serve
from opentelemetry.instrumentation.costledger import attribute_to
from opentelemetry.instrumentation.costledger import attributes as A

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INSTRUMENT = BIN / "opentelemetry-instrument"
TIMEOUT = 120


def console_spans(text: str) -> list[dict[str, Any]]:
    """The JSON spans the console exporter printed, among the app's own output."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    pos = 0
    while (start := text.find("{\n", pos)) != -1:
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            pos = start + 1
            continue
        if isinstance(obj, dict) and "context" in obj and "attributes" in obj:
            found.append(obj)
        pos = end
    return found


def run_env(base_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "ANTHROPIC_", "COSTLEDGER_"))
    }
    env.update(
        ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=base_url,
        OTEL_SERVICE_NAME="support-bot",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    return env


def counted(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in spans if s["attributes"].get(A.COUNTED) is True]


def test_example_app_under_opentelemetry_instrument() -> None:
    fake = FakeAnthropic()
    with serve(fake) as base_url:
        done = subprocess.run(
            [str(INSTRUMENT), sys.executable, str(ROOT / "examples" / "anthropic_app.py")],
            env=run_env(base_url),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert "summary: Hello, world!" in done.stdout
    spans = console_spans(done.stdout)
    calls = counted(spans)
    assert [s["name"] for s in calls] == ["chat claude-haiku-4-5"] * 2
    first, second = (s["attributes"] for s in calls)
    assert {k: first.get(k) for k in A.CUSTOMER_KEYS} == {
        A.CUSTOMER_ID: "cust_12345",
        A.CUSTOMER_NAME: "Acme Corp",
        A.WORK_ITEM_ID: "ticket_67890",
        A.WORKSPACE_ID: "workspace_abc",
        A.USER_ID: "user_xyz",
    }
    assert second[A.CUSTOMER_ID] == "cust_777"
    assert second[A.CUSTOMER_NAME] == "Globex"
    for attrs in (first, second):
        assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 312
        assert attrs[A.COST_AMOUNT] == "0.000262000"
        assert all(s["kind"] == "SpanKind.CLIENT" for s in calls)
    # The SDK's own spans are there (opentelemetry-instrument set a provider), nested, not counted.
    native = [s for s in spans if s["name"] == "anthropic.messages.create"]
    assert len(native) == 2
    assert all(s["attributes"][A.COUNTED] is False for s in native)
    assert {s["parent_id"] for s in native} == {s["context"]["span_id"] for s in calls}
    assert native[0]["attributes"][A.CUSTOMER_ID] == "cust_12345"
    review = [s for s in spans if s["name"] == "cost human_review"]
    assert len(review) == 1
    assert review[0]["attributes"][A.COST_QUANTITY] == "30"
    assert review[0]["attributes"][A.CUSTOMER_ID] == "cust_777"
    assert all(s["resource"]["attributes"]["service.name"] == "support-bot" for s in spans)
    # What left the process: only user_id in metadata, none on the second call.
    messages = [r for r, p in zip(fake.bodies, fake.paths, strict=True) if p == "/v1/messages"]
    assert messages[0]["metadata"] == {"user_id": "user_xyz"}
    assert "metadata" not in messages[1]


def test_attribution_crosses_a_process_boundary() -> None:
    fake = FakeAnthropic()
    with serve(fake) as base_url:
        service = subprocess.Popen(
            [
                str(INSTRUMENT),
                sys.executable,
                str(ROOT / "examples" / "support_service.py"),
                "--port",
                "0",
                "--requests",
                "1",
            ],
            env=run_env(base_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert service.stderr is not None
            line = service.stderr.readline()
            assert line.startswith("listening on "), line
            port = int(line.split()[-1])
            with attribute_to("cust_12345", work_item_id="t_1", workspace_id="ws_9"):
                headers: dict[str, str] = {}
                propagate.inject(headers)
            assert "customer.id=cust_12345" in headers["baggage"]
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/summarize", data=b"{}", headers=headers
            )
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                assert json.load(response) == {"summary": "Hello, world!"}
            out, err = service.communicate(timeout=TIMEOUT)
        finally:
            if service.poll() is None:
                service.kill()
                service.communicate()
    assert service.returncode == 0, err
    (call,) = counted(console_spans(out))
    attrs = call["attributes"]
    assert attrs[A.CUSTOMER_ID] == "cust_12345"
    assert attrs[A.WORK_ITEM_ID] == "t_1"
    assert attrs[A.WORKSPACE_ID] == "ws_9"
    assert "baggage" not in fake.headers[-1] or "cust_12345" not in fake.headers[-1]["baggage"]


@pytest.mark.parametrize("flag", ["costledger"])
def test_disabled_by_otel_python_disabled_instrumentations(flag: str) -> None:
    fake = FakeAnthropic()
    with serve(fake) as base_url:
        env = run_env(base_url)
        env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = flag
        done = subprocess.run(
            [str(INSTRUMENT), sys.executable, str(ROOT / "examples" / "anthropic_app.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    # Without us the seed's metadata reaches the API, which rejects it: the app fails.
    assert done.returncode != 0
    assert "Extra inputs are not permitted" in done.stderr
    assert counted(console_spans(done.stdout)) == []
