"""The README's memory bound, checked: peak RSS of a ``costledger serve`` process under
concurrent large requests (read from its own /proc/<pid>/status, ``VmHWM``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

COSTLEDGER = str(Path(sys.executable).with_name("costledger"))
MIB = 1024 * 1024
SIZE = 4 * MIB  # --max-request-size
CONCURRENT = 4  # --max-concurrent-requests


def memory_bound(max_concurrent: int, max_request_size: int) -> int:
    """The README's bound on the receiver's resident memory, in bytes."""
    return 160 * MIB + 10 * max_concurrent * max_request_size


_next = iter(range(1, 10**9))


def _request(spans: int, attributes: list[KeyValue], names: int = 1) -> bytes:
    made = []
    for _ in range(spans):
        n = next(_next)
        span = Span(
            trace_id=n.to_bytes(16, "big"),
            span_id=n.to_bytes(8, "big"),
            name="chat",
            start_time_unix_nano=1746000000000000000 + n,
        )
        if attributes:
            span.attributes.extend(attributes)
            span.attributes.append(
                KeyValue(key="gen_ai.response.id", value=AnyValue(string_value=f"m{n}"))
            )
        made.append(span)
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="m"))])
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=made)])]
    )
    return request.SerializeToString()


def _call(tokens: int) -> list[KeyValue]:
    return [
        KeyValue(key="gen_ai.provider.name", value=AnyValue(string_value="anthropic")),
        KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat")),
        KeyValue(key="gen_ai.response.model", value=AnyValue(string_value="claude-sonnet-4-5")),
        KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=tokens)),
        KeyValue(key="gen_ai.usage.output_tokens", value=AnyValue(int_value=10)),
        KeyValue(key="customer.id", value=AnyValue(string_value="acme")),
    ]


def _payloads() -> list[bytes]:
    """Requests at the limits: many tiny spans, as many call spans as allowed, big prompts."""
    tiny = _request(SIZE // 45, [])  # ~90,000 spans of ~42 bytes: refused by count
    calls = _request(9_000, _call(100))  # under the span limit, near the size limit
    prompt = KeyValue(key="gen_ai.input.messages", value=AnyValue(string_value="p" * 200_000))
    prompts = _request(19, [*_call(5), prompt])  # prompts: cut to --max-attribute-length
    for payload in (tiny, calls, prompts):
        assert SIZE // 2 < len(payload) <= SIZE
    return [tiny, calls, prompts]


def _vm_hwm(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match, status
    return int(match[1]) * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_peak_memory_under_concurrent_large_requests(ledger_url: str) -> None:
    process = subprocess.Popen(
        [
            COSTLEDGER, "serve", "--db", ledger_url, "--grpc-endpoint", "none",
            "--http-endpoint", "127.0.0.1:0", "--log-level", "warning",
            "--max-request-size", f"{SIZE}", "--max-concurrent-requests", f"{CONCURRENT}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )  # fmt: skip
    statuses: list[int] = []
    lock = threading.Lock()
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        port = re.search(r"OTLP/HTTP on http://127\.0\.0\.1:(\d+)", ready)
        assert port, ready
        url = f"http://127.0.0.1:{port[1]}/v1/traces"
        payloads = _payloads()

        def send(body: bytes) -> None:
            request = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/x-protobuf"}
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            with lock:
                statuses.append(status)

        for payload in payloads:  # each alone first: decoded (200) or refused by count (413)
            send(payload)
        assert statuses == [413, 200, 200], statuses
        for _ in range(2):  # rounds of 4 x max-concurrent requests at once
            threads = [
                threading.Thread(target=send, args=(payloads[i % len(payloads)],))
                for i in range(4 * CONCURRENT)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(180)
        peak = _vm_hwm(process.pid)
    finally:
        process.terminate()
        process.communicate(timeout=60)
    assert set(statuses) <= {200, 413, 503}, statuses
    print(f"peak RSS {peak / MIB:.0f} MiB, bound {memory_bound(CONCURRENT, SIZE) / MIB:.0f} MiB")
    assert peak <= memory_bound(CONCURRENT, SIZE)
