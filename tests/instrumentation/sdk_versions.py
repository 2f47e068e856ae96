"""Check the instrumentation against another release of the anthropic or openai SDK.

Each SDK spec gets a venv of its own under ``benchmarks/out/sdk-*`` (gitignored) that sees
``.venv``'s packages through a ``.pth`` file but has the requested SDK release installed over
them; the same checks then run inside it: sync and async calls, a stream (Anthropic's
``messages.stream`` helper; OpenAI's chat stream with the hidden usage chunk), metadata
stripping, exact usage and a cost on every counted span::

    .venv/bin/python tests/instrumentation/sdk_versions.py anthropic==1.17.0 openai==2.54.0

Not part of the pytest run (it installs packages); the README lists the releases it verified.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "out"


def _spans() -> tuple[Any, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider


def _counted(exporter: Any) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.attributes.get("costledger.counted")]


def check_anthropic() -> str:
    import anthropic
    import anthropic._base_client as bc
    from opentelemetry.exporter.costledger.demo.fake_providers import anthropic as fx
    from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to

    hx: Any = vars(bc).get("httpx2") or vars(bc)["httpx"]
    sent: list[dict[str, Any]] = []

    def handler(request: Any) -> Any:
        body = json.loads(request.content)
        sent.append(body)
        if body.get("stream"):
            content = b"".join(fx.sse_events(fx.MODEL))
            return hx.Response(200, content=content, headers={"content-type": "text/event-stream"})
        return hx.Response(200, json=fx.message(fx.MODEL))

    exporter, provider = _spans()
    CostLedgerInstrumentor().instrument(tracer_provider=provider)
    transport = hx.MockTransport(handler)
    client: Any = anthropic.Anthropic(
        api_key="k", max_retries=0, http_client=hx.Client(transport=transport)
    )
    aclient: Any = anthropic.AsyncAnthropic(
        api_key="k", max_retries=0, http_client=hx.AsyncClient(transport=transport)
    )
    kw: dict[str, Any] = {
        "model": fx.MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }

    async def async_calls() -> None:
        await aclient.messages.create(**kw)
        async with aclient.messages.stream(**kw) as stream:
            await stream.get_final_message()

    with attribute_to("cust_1"):
        client.messages.create(**kw, metadata={"customer_id": "cust_2", "user_id": "u"})
        for _ in client.messages.create(**kw, stream=True):
            pass
        with client.messages.stream(**kw) as stream:
            stream.get_final_message()
        asyncio.run(async_calls())
    CostLedgerInstrumentor().uninstrument()
    spans = _counted(exporter)
    assert len(spans) == 5, [s.name for s in exporter.get_finished_spans()]
    assert sent[0]["metadata"] == {"user_id": "u"}, sent[0]
    for span in spans:
        assert span.attributes["gen_ai.usage.input_tokens"] == 312, dict(span.attributes)
        assert span.attributes["gen_ai.usage.output_tokens"] == 15, dict(span.attributes)
        assert "costledger.cost.amount" in span.attributes, dict(span.attributes)
    assert spans[0].attributes["customer.id"] == "cust_2"
    assert spans[1].attributes["customer.id"] == "cust_1"
    return f"anthropic {anthropic.__version__}: OK ({len(spans)} counted spans)"


def check_openai() -> str:
    import openai
    import openai._base_client as bc
    from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor, attribute_to

    hx: Any = vars(bc).get("httpx2") or vars(bc)["httpx"]
    usage = {
        "prompt_tokens": 312,
        "completion_tokens": 15,
        "total_tokens": 327,
        "prompt_tokens_details": {"cached_tokens": 200},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }

    def chunk(delta: Any, finish: Any = None, choices: bool = True) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
        }

    def handler(request: Any) -> Any:
        body = json.loads(request.content)
        if body.get("stream"):
            chunks = [chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop")]
            if (body.get("stream_options") or {}).get("include_usage"):
                for item in chunks:
                    item["usage"] = None
                chunks.append({**chunk({}, choices=False), "usage": usage})
            data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            headers = {"content-type": "text/event-stream"}
            return hx.Response(200, content=data.encode(), headers=headers)
        message = {"role": "assistant", "content": "Hi"}
        return hx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
                ],
                "usage": usage,
            },
        )

    exporter, provider = _spans()
    CostLedgerInstrumentor().instrument(tracer_provider=provider)
    transport = hx.MockTransport(handler)
    client: Any = openai.OpenAI(
        api_key="k", max_retries=0, http_client=hx.Client(transport=transport)
    )
    aclient: Any = openai.AsyncOpenAI(
        api_key="k", max_retries=0, http_client=hx.AsyncClient(transport=transport)
    )
    kw: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with attribute_to("cust_1"):
        client.chat.completions.create(**kw)
        seen = list(client.chat.completions.create(**kw, stream=True))
        assert len(seen) == 2, seen  # the usage-only chunk we asked for is hidden
        asyncio.run(aclient.chat.completions.create(**kw))
    CostLedgerInstrumentor().uninstrument()
    spans = _counted(exporter)
    assert len(spans) == 3, [s.name for s in exporter.get_finished_spans()]
    for span in spans:
        assert span.attributes["gen_ai.usage.input_tokens"] == 312, dict(span.attributes)
        assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 200
        assert span.attributes["customer.id"] == "cust_1"
        assert "costledger.cost.amount" in span.attributes, dict(span.attributes)
    return f"openai {openai.__version__}: OK ({len(spans)} counted spans)"


def run(spec: str) -> str:
    """Create (once) the venv for ``spec`` and run the check of its SDK inside it."""
    name = spec.split("=")[0].split("<")[0].split(">")[0].strip()
    venv = OUT / ("sdk-" + "".join(c for c in spec if c.isalnum() or c in ".-"))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        site = ROOT / ".venv" / "lib" / version / "site-packages"
        (venv / "lib" / version / "site-packages" / "_base.pth").write_text(f"{site}\n")
        subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
    done = subprocess.run(
        [str(python), "-W", "ignore", __file__, "--check", name],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'instrumentation'}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0:
        return f"{spec}: FAILED\n{done.stderr[-3000:]}"
    return done.stdout.strip()


def main() -> None:
    if sys.argv[1:2] == ["--check"]:
        print(check_anthropic() if sys.argv[2] == "anthropic" else check_openai())
        return
    for spec in sys.argv[1:]:
        print(run(spec))


if __name__ == "__main__":
    main()
