"""What costledger's instrumentation adds to one LLM SDK call, next to a bare span and the peers.

Each variant runs in a process of its own (peers in their own venvs under ``benchmarks/out/``, so
they never touch ``.venv``), all calling the real SDK through an ``httpx2.MockTransport`` that
answers a fixed, API-shaped response (no network):

- ``bare``        the SDK call, no instrumentation (SDK spans off): the baseline;
- ``floor``       ``bare`` + one hand-made OTel span with 21 attributes around the call;
- ``costledger``  our instrumentor (span, usage, attribution from baggage, cost priced per call);
- ``native``      the anthropic SDK's own spans (anthropic only);
- ``genai``       opentelemetry-instrumentation-genai-anthropic / -openai 1.3b0;
- ``openllmetry`` OpenLLMetry's opentelemetry-instrumentation-anthropic / -openai 0.62.4.

Every variant has the same SDK ``TracerProvider`` with a ``SimpleSpanProcessor`` and an exporter
that drops spans, and the same W3C baggage (customer, work item) in the context.

Time: several rounds; each round runs every variant once, in a rotated order; a worker reports
the median per-call time of its batches. Reported: the median over rounds of each variant's
per-call time and of its difference to ``bare`` from the same round ("added"), and ratios.

Instructions (repeatable on a noisy machine): each variant runs under ``valgrind
--tool=callgrind --instr-atstart=no``; the worker switches instrumentation on around N calls and
around 3N calls (callgrind client requests from a tiny C helper built with gcc), and the
per-call count is ``(I(3N) - I(N)) / 2N``, which cancels everything but the calls. Each variant
runs in ``--cg-repeat`` such processes (default 3) and the median is reported: one process's count
moves by a few thousand instructions per call from one start to the next (where type-attribute
cache entries collide differs), more than many a code change is worth.

    .venv/bin/python benchmarks/instrumentation_overhead.py            # anthropic, defaults
    .venv/bin/python benchmarks/instrumentation_overhead.py --sdk all --calls 200 --batches 3 \
        --cg-calls 40 --cg-repeat 3                                     # the README's run
    .venv/bin/python benchmarks/instrumentation_overhead.py --no-callgrind --rounds 7

Most of the run time is the workers' start-up (importing the SDK; under valgrind, minutes on a
loaded machine); the call counts matter little.

The peer venvs are created on first use (``pip install`` of the peers into
``benchmarks/out/venv-*``, which see ``.venv``'s packages through a ``.pth`` file).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
VENV_SITE = ROOT / ".venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
PEERS = {
    "genai": [
        "opentelemetry-instrumentation-genai-anthropic==1.3b0",
        "opentelemetry-instrumentation-genai-openai==1.3b0",
    ],
    "openllmetry": [
        "opentelemetry-instrumentation-anthropic==0.62.4",
        "opentelemetry-instrumentation-openai==0.62.4",
    ],
}
MODES = {
    "anthropic": ["bare", "floor", "costledger", "native", "genai", "openllmetry"],
    "openai": ["bare", "floor", "costledger", "genai", "openllmetry"],
}
PEER_MODES = ("native", "genai", "openllmetry")

ANTHROPIC_BODY = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5-20251001",
    "content": [{"type": "text", "text": "Hello, world!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 200,
        "cache_creation": {"ephemeral_5m_input_tokens": 60, "ephemeral_1h_input_tokens": 40},
        "output_tokens": 15,
        "service_tier": "standard",
    },
}
OPENAI_BODY = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello, world!", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 312,
        "completion_tokens": 15,
        "total_tokens": 327,
        "prompt_tokens_details": {"cached_tokens": 200, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_06737a9306",
}

CALLGRIND_HELPER = r"""
#include <valgrind/callgrind.h>
void cl_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cl_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void cl_zero(void) { CALLGRIND_ZERO_STATS; }
void cl_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""


# --- the worker (runs in the variant's own process) ------------------------------------------
def _make_call(sdk: str, mode: str, provider: Any) -> Callable[[], Any]:
    import httpx2

    body = json.dumps(ANTHROPIC_BODY if sdk == "anthropic" else OPENAI_BODY).encode()
    headers = {"content-type": "application/json", "request-id": "req_1"}

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers=headers)

    http_client = httpx2.Client(transport=httpx2.MockTransport(handler))
    messages = [{"role": "user", "content": "Summarize ticket 67890"}]
    if sdk == "anthropic":
        import anthropic

        telemetry: Any = {"tracer_provider": provider} if mode == "native" else False
        client = anthropic.Anthropic(
            api_key="sk-ant-bench",
            max_retries=0,
            http_client=http_client,
            open_telemetry=telemetry,
        )
        create: Callable[..., Any] = client.messages.create
        kwargs: dict[str, Any] = {
            "model": "claude-haiku-4-5",
            "max_tokens": 256,
            "messages": messages,
        }
    else:
        import openai

        oclient = openai.OpenAI(api_key="sk-bench", max_retries=0, http_client=http_client)
        create = oclient.chat.completions.create
        kwargs = {"model": "gpt-4o-mini", "messages": messages, "max_tokens": 256}

    if mode != "floor":
        return lambda: create(**kwargs)

    from opentelemetry.trace import SpanKind

    tracer = provider.get_tracer("bench.floor")
    start_attrs = {
        "gen_ai.provider.name": sdk,
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": kwargs["model"],
        "gen_ai.request.max_tokens": 256,
        "server.address": "api.example.com",
        "server.port": 443,
        "customer.id": "cust_12345",
        "work_item.id": "ticket_67890",
    }

    def floor() -> Any:
        with tracer.start_as_current_span(
            f"chat {kwargs['model']}", kind=SpanKind.CLIENT, attributes=start_attrs
        ) as span:
            result = create(**kwargs)
            span.set_attributes(
                {
                    "gen_ai.response.model": "m",
                    "gen_ai.response.id": "id",
                    "gen_ai.response.finish_reasons": ["stop"],
                    "gen_ai.usage.input_tokens": 312,
                    "gen_ai.usage.output_tokens": 15,
                    "gen_ai.usage.cache_read.input_tokens": 200,
                    "gen_ai.usage.cache_write.input_tokens": 100,
                    "costledger.usage.cache_write_5m.input_tokens": 60,
                    "costledger.usage.cache_write_1h.input_tokens": 40,
                    "gen_ai.response.service_tier": "standard",
                    "costledger.cost.amount": "0.000262000",
                    "costledger.cost.currency": "USD",
                    "costledger.cost.source": "rule",
                }
            )
            return result

    return floor


def _instrument(sdk: str, mode: str, provider: Any) -> None:
    if mode == "costledger":
        from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor

        CostLedgerInstrumentor().instrument(tracer_provider=provider)
    elif mode == "genai":
        if sdk == "anthropic":
            from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor

            AnthropicInstrumentor().instrument(tracer_provider=provider)
        else:
            from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

            OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif mode == "openllmetry":
        if sdk == "anthropic":
            from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor as OA

            OA().instrument(tracer_provider=provider)
        else:
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OO

            OO().instrument(tracer_provider=provider)


def worker(args: argparse.Namespace) -> None:
    import warnings

    from opentelemetry import baggage, context, trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    warnings.simplefilter("ignore")

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)
    ctx = baggage.set_baggage("customer.id", "cust_12345")
    context.attach(baggage.set_baggage("work_item.id", "ticket_67890", ctx))
    _instrument(args.sdk, args.mode, provider)
    call = _make_call(args.sdk, args.mode, provider)
    for _ in range(args.warmup):
        call()
    if args.callgrind_lib:
        lib = ctypes.CDLL(args.callgrind_lib)
        for n in (args.calls, 3 * args.calls):
            lib.cl_start()
            lib.cl_zero()
            for _ in range(n):
                call()
            lib.cl_dump(f"calls={n}".encode())
            lib.cl_stop()
        return
    per_call = []
    for _ in range(args.batches):
        start = time.perf_counter_ns()
        for _ in range(args.calls):
            call()
        per_call.append((time.perf_counter_ns() - start) / args.calls)
    print(json.dumps({"per_call_ns": statistics.median(per_call)}))


# --- the orchestrator ------------------------------------------------------------------------
def _python(mode: str) -> str:
    if mode not in PEERS:
        return sys.executable
    venv = OUT / f"venv-{mode}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} for the {mode} peers ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        (site / "site-packages" / "_costledger_bench_base.pth").write_text(
            str((VENV_SITE / "site-packages").resolve()) + "\n"
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--pre", *PEERS[mode]], check=True
        )
    return str(python)


def _worker_cmd(sdk: str, mode: str, args: argparse.Namespace, **extra: Any) -> list[str]:
    cmd = [
        _python(mode),
        str(Path(__file__).resolve()),
        "--worker",
        "--sdk",
        sdk,
        "--mode",
        mode,
    ]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ANTHROPIC_"))}
    env["PYTHONPATH"] = str(ROOT / "instrumentation")
    return env


def time_modes(sdk: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    modes = MODES[sdk]
    times: dict[str, list[float]] = {m: [] for m in modes}
    added: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(args.rounds):
        order = modes[r % len(modes) :] + modes[: r % len(modes)]
        this_round: dict[str, float] = {}
        for mode in order:
            cmd = _worker_cmd(
                sdk, mode, args, calls=args.calls, batches=args.batches, warmup=args.warmup
            )
            done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=False)
            if done.returncode != 0:
                raise SystemExit(f"{sdk}/{mode} failed:\n{done.stderr}")
            this_round[mode] = json.loads(done.stdout.strip().splitlines()[-1])["per_call_ns"]
        for mode in modes:
            times[mode].append(this_round[mode])
            added[mode].append(this_round[mode] - this_round["bare"])
        print(
            f"  {sdk} round {r + 1}: "
            + " ".join(f"{m}={this_round[m] / 1000:.1f}us" for m in modes),
            file=sys.stderr,
        )
    return {
        m: {
            "per_call_us": statistics.median(times[m]) / 1000,
            "added_us": statistics.median(added[m]) / 1000,
        }
        for m in modes
    }


def _callgrind_lib() -> str | None:
    OUT.mkdir(parents=True, exist_ok=True)
    lib = OUT / "cgctl.so"
    if lib.exists():
        return str(lib)
    source = OUT / "cgctl.c"
    source.write_text(CALLGRIND_HELPER)
    done = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(lib), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"no callgrind helper (gcc failed): {done.stderr}", file=sys.stderr)
        return None
    return str(lib)


def _totals(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise ValueError(f"no totals in {path}")


def count_instructions(sdk: str, args: argparse.Namespace, lib: str) -> dict[str, float]:
    """Instructions per call of each variant: the median of ``--cg-repeat`` processes.

    Two valgrind processes at a time (two cores). Repeats, because one process's count moves by
    a few thousand instructions per call from start to start (where type-attribute cache
    entries collide depends on the process), more than a small code change.
    """
    running: list[tuple[str, int, subprocess.Popen[str]]] = []
    counts: dict[str, list[float]] = {mode: [] for mode in MODES[sdk]}

    def finish(mode: str, repeat: int, proc: subprocess.Popen[str]) -> None:
        proc.wait()
        name = f"callgrind.{sdk}.{mode}.{repeat}"
        log = OUT / f"{name}.log"
        if proc.returncode != 0:
            raise SystemExit(f"callgrind {sdk}/{mode} failed:\n{log.read_text()[-2000:]}")
        parts = sorted(OUT.glob(f"{name}.out.*"), key=lambda p: int(p.suffix[1:]))
        n, three_n = (_totals(p) for p in parts[:2])
        counts[mode].append((three_n - n) / (2 * args.cg_calls))

    for repeat in range(args.cg_repeat):
        for mode in MODES[sdk]:
            name = f"callgrind.{sdk}.{mode}.{repeat}"
            for old in OUT.glob(f"{name}.out*"):
                old.unlink()
            cmd = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={OUT / f'{name}.out'}",
                *_worker_cmd(
                    sdk, mode, args, calls=args.cg_calls, warmup=args.cg_warmup, callgrind_lib=lib
                ),
            ]
            with (OUT / f"{name}.log").open("w") as log:
                proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=log, text=True)
            running.append((mode, repeat, proc))
            if len(running) == 2:
                finish(*running.pop(0))
    for mode, repeat, proc in running:
        finish(mode, repeat, proc)
    for mode, values in counts.items():
        print(
            f"  {sdk} {mode}: " + " ".join(f"{v / 1000:,.1f}k" for v in values) + " per call",
            file=sys.stderr,
        )
    return {mode: statistics.median(counts[mode]) for mode in MODES[sdk]}


def report(sdk: str, times: dict[str, dict[str, float]], instr: dict[str, float] | None) -> None:
    floor_t = times["floor"]["added_us"]
    peers = [m for m in times if m in PEER_MODES]
    lightest_t = min(times[m]["added_us"] for m in peers)
    print(f"\n### {sdk}\n")
    header = "| variant | per call (µs) | added (µs) | added / floor | added / lightest peer |"
    if instr:
        header += " added instructions/call | instr. / floor | instr. / lightest peer |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    base_i = instr["bare"] if instr else 0.0
    floor_i = (instr["floor"] - base_i) if instr else 0.0
    lightest_i = min(instr[m] - base_i for m in peers) if instr else 0.0
    for mode, row in times.items():
        line = (
            f"| {mode} | {row['per_call_us']:.1f} | {row['added_us']:.1f} |"
            f" {row['added_us'] / floor_t:.2f} | {row['added_us'] / lightest_t:.2f} |"
        )
        if instr:
            add = instr[mode] - base_i
            line += f" {add / 1000:,.0f}k | {add / floor_i:.2f} | {add / lightest_i:.2f} |"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdk", choices=["anthropic", "openai", "all"], default="anthropic")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (interleaved)")
    parser.add_argument("--calls", type=int, default=200, help="calls per timed batch")
    parser.add_argument("--batches", type=int, default=3, help="timed batches per worker")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--cg-calls", type=int, default=20, help="N for callgrind (N and 3N)")
    parser.add_argument("--cg-warmup", type=int, default=10)
    parser.add_argument(
        "--cg-repeat", type=int, default=3, help="callgrind processes per variant (median)"
    )
    parser.add_argument("--no-callgrind", action="store_true")
    # worker-only
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-lib", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    sdks = ["anthropic", "openai"] if args.sdk == "all" else [args.sdk]
    lib = None if args.no_callgrind else _callgrind_lib()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f};"
        f" rounds={args.rounds} calls={args.calls} batches={args.batches}"
        f" cg_calls={args.cg_calls} cg_repeat={args.cg_repeat}"
    )
    for sdk in sdks:
        times = time_modes(sdk, args)
        instr = count_instructions(sdk, args, lib) if lib else None
        report(sdk, times, instr)
        print(json.dumps({"sdk": sdk, "times": times, "instructions": instr}), file=sys.stderr)


if __name__ == "__main__":
    main()
