"""What costledger's instrumentation adds to one LLM SDK call, next to a bare span and the peers.

Each variant runs in a process of its own (peers in their own venvs under ``benchmarks/out/``, so
they never touch ``.venv``), all calling the real SDK through an ``httpx2.MockTransport`` on the
fake provider API the demo and the tests use (``demo/fake_providers``), which answers like the
API with cache usage (no network):

- ``bare``        the SDK call, no instrumentation (SDK spans off): the baseline;
- ``floor``       ``bare`` + one hand-made OTel span with 21 attributes around the call;
- ``costledger``  our instrumentor (span, usage, attribution from baggage, cost priced per call);
- ``core``        ``costledger`` without the call-path features that issues 12 and 13 added: no
  request digest, no enclosing-agent lookup (``_dimensions.add_call_dimensions`` a no-op), no
  HTTP-attempts wrapper of ``httpx2``'s ``send``, no wrapper of the openai client's low-level
  ``post`` -- what the layout and the call itself cost, to set beside the code of a commit
  that had none of them (``--baseline``); the Bedrock/Vertex platform lookup of anthropic calls
  (two dictionary reads) stays;
- ``costledger@REF`` (``--baseline REF``, a git commit) our instrumentor as it was at REF: its
  ``instrumentation/`` tree (``git archive``) first on the worker's ``PYTHONPATH``, under this
  harness, ``.venv`` and fake provider API -- before and after in one run;
- ``guard``       ``costledger`` with the budget guard on (``raise``) over a snapshot of 1,000
  exceeded limits (200 each of customers, workspaces, features, agents and tags), the call's
  customer not among them: the lookups a call pays (the snapshot is read once, off the call
  path; no refresh during the run);
- ``native``      the anthropic SDK's own spans (anthropic only);
- ``genai``       opentelemetry-instrumentation-genai-anthropic / -openai 1.3b0;
- ``openllmetry`` OpenLLMetry's opentelemetry-instrumentation-anthropic / -openai 0.62.4.

Two shapes of harness (``--shape``, both by default), the same for every variant:

- ``app``     shaped like a user's app: clients with their default settings (default
  ``max_retries`` and timeouts), NO baggage in the context, a ``SimpleSpanProcessor`` with an
  ``InMemorySpanExporter`` (finished spans stay alive, as in a test suite or a batching exporter's
  queue, so the cyclic GC walks them), and a response body made per request (fresh id) with cache
  usage;
- ``narrow``  the first harness: ``max_retries=0``, W3C baggage (customer, work item) in the
  context, a ``SimpleSpanProcessor`` with an exporter that drops spans, one fixed response body.

Time: several rounds; each round runs every variant once, in a rotated order; a worker reports
the median per-call time of its batches. Reported: the median over rounds of each variant's
per-call time and of its difference to ``bare`` from the same round ("added"), and ratios.

Instructions (repeatable on a noisy machine): each variant runs under ``valgrind
--tool=callgrind --instr-atstart=no``; the worker switches instrumentation on around N calls and
around 3N calls (callgrind client requests from a tiny C helper built with gcc), and the
per-call count is ``(I(3N) - I(N)) / 2N``, which cancels everything but the calls. Before the
warm-up the first call is counted on its own ("first call": one-off work such as lazy imports
and the price data costledger loads then); after the warm-up every variant runs ``gc.collect()``,
so that the full collection start-up makes due (a larger heap after a first call that loaded
more) falls outside the measured calls for all variants alike, instead of inside the 3N window
of one process and not of another. The collections that the measured calls cause themselves
(the spans an ``InMemorySpanExporter`` keeps, our objects) are counted. Each variant
runs in ``--cg-repeat`` such processes (default 3) and the median is reported: one process's count
moves by a few thousand instructions per call from one start to the next (where type-attribute
cache entries collide differs), more than many a code change is worth.

    .venv/bin/python benchmarks/instrumentation_overhead.py            # anthropic, defaults
    .venv/bin/python benchmarks/instrumentation_overhead.py --sdk all --calls 200 --batches 3 \
        --rounds 3 --cg-calls 40 --cg-repeat 3                # the README's run (both shapes)
    .venv/bin/python benchmarks/instrumentation_overhead.py --shape app --modes costledger \
        --no-timing --cg-repeat 1                                       # a quick look at ours
    .venv/bin/python benchmarks/instrumentation_overhead.py --no-callgrind --rounds 7
    .venv/bin/python benchmarks/instrumentation_overhead.py --shape narrow \
        --modes costledger,guard --no-timing --cg-repeat 1            # the guard's cost
    .venv/bin/python benchmarks/instrumentation_overhead.py --sdk all --modes costledger,core \
        --baseline 2250fe7 --no-timing                                    # before / after

Most of the run time is the workers' start-up (importing the SDK; under valgrind, minutes on a
loaded machine); the call counts matter little.

The peer venvs are created on first use (``pip install`` of the peers into
``benchmarks/out/venv-*``, which see ``.venv``'s packages through a ``.pth`` file).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib
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
    "anthropic": ["bare", "floor", "costledger", "core", "guard", "native", "genai", "openllmetry"],
    "openai": ["bare", "floor", "costledger", "core", "guard", "genai", "openllmetry"],
}
# ``--baseline REF``: the variant's name -> the ``instrumentation/`` tree of REF.
BASELINES: dict[str, Path] = {}
PEER_MODES = ("native", "genai", "openllmetry")

# The usage every answer reports (the fake Anthropic API's default: 12 uncached input tokens,
# 200 read from the cache, 60 + 40 written for 5 minutes / 1 hour, 15 output tokens).
OPENAI_USAGE = {
    "input_tokens": 312,
    "cached_tokens": 200,
    "output_tokens": 15,
    "reasoning_tokens": 0,
}

CALLGRIND_HELPER = r"""
#include <valgrind/callgrind.h>
void cl_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cl_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void cl_zero(void) { CALLGRIND_ZERO_STATS; }
void cl_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""


# --- the worker (runs in the variant's own process) ------------------------------------------
def _make_call(sdk: str, mode: str, shape: str, provider: Any) -> Callable[[], Any]:
    import httpx2
    from opentelemetry.exporter.costledger.demo.fake_providers import (
        FakeAnthropic,
        FakeOpenAI,
        SeededIds,
        UsageSpec,
    )

    # The fake provider API of the demo and the tests. ``app``: as a server would, a body of its
    # own per request (fresh ids, the same size every time); ``narrow``: one fixed body, replayed.
    ids = SeededIds("bench") if shape == "app" else None
    fake: FakeAnthropic | FakeOpenAI
    if sdk == "anthropic":
        fake = FakeAnthropic(text=("Hello, world!",), ids=ids, record=False)
        url = "https://api.anthropic.com/v1/messages"
    else:
        usage = UsageSpec(**OPENAI_USAGE)
        fake = FakeOpenAI(usage, text=("Hello, world!",), ids=ids, record=False)
        url = "https://api.openai.com/v1/chat/completions"
    model = "claude-haiku-4-5" if sdk == "anthropic" else "gpt-4o-mini"
    messages = [{"role": "user", "content": "Summarize ticket 67890"}]
    request = {"model": model, "max_tokens": 256, "messages": messages}
    first = fake.handler(httpx2.Request("POST", url, json=request))
    body, headers = first.read(), dict(first.headers)

    def replay(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers=headers)

    handler = replay if shape == "narrow" else fake.handler
    http_client = httpx2.Client(transport=httpx2.MockTransport(handler))
    if sdk == "anthropic":
        import anthropic

        telemetry: Any = {"tracer_provider": provider} if mode == "native" else False
        settings: dict[str, Any] = {"max_retries": 0} if shape == "narrow" else {}
        client = anthropic.Anthropic(
            api_key="sk-ant-bench", http_client=http_client, open_telemetry=telemetry, **settings
        )
        create: Callable[..., Any] = client.messages.create
        kwargs: dict[str, Any] = {
            "model": model,
            "max_tokens": 256,
            "messages": messages,
        }
    else:
        import openai

        settings = {"max_retries": 0} if shape == "narrow" else {}
        oclient = openai.OpenAI(api_key="sk-bench", http_client=http_client, **settings)
        create = oclient.chat.completions.create
        kwargs = {"model": model, "messages": messages, "max_tokens": 256}

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


def guard_snapshot(path: Path) -> str:
    """Write a snapshot of 1,000 exceeded limits over the five scopes (200 each) to ``path``;
    the benchmark's customer is not among them. Also used by ``guard_lookup.py``."""
    from datetime import date
    from decimal import Decimal

    from opentelemetry.instrumentation.costledger.budget_snapshot import BudgetLimit, snapshot

    limits = [
        BudgetLimit(
            scope,
            f"team=t{n}" if scope == "tag" else f"{scope}_{n}",
            date(2025, 5, 1),
            date(2025, 6, 1),
            Decimal(100),
            Decimal(150),
            True,
        )
        for scope in ("customer", "workspace", "feature", "agent", "tag")
        for n in range(200)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(snapshot(limits).to_json())
    return str(path)


def _instrument(sdk: str, mode: str, provider: Any) -> None:
    if mode in ("costledger", "guard", "core"):
        if mode == "core":
            # Imported first, so that the instrumentor wraps them now (it does so when they are
            # imported) and the wrappers of the features can be taken off below.
            import httpx2  # noqa: F401

            importlib.import_module(sdk)
        from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor

        guard: dict[str, Any] = {}
        if mode == "guard":
            guard = {
                "budget_guard": "raise",
                "budget_snapshot": guard_snapshot(OUT / f"guard-snapshot-{os.getpid()}.json"),
                "budget_refresh": 86400,  # read once: the refresh thread stays out of the count
                "budget_max_age": 86400,
            }
        CostLedgerInstrumentor().instrument(tracer_provider=provider, **guard)
        if mode == "core":
            # Our own modules' names (a benchmark's view inside; nothing a user would do).
            from opentelemetry.instrumentation.costledger import _call, _dimensions

            _dimensions.uninstrument()  # the HTTP attempts (issue 13)
            if sdk == "openai":  # the client's low-level ``post`` (issue 12: LiteLLM's path)
                import openai
                from opentelemetry.instrumentation.utils import unwrap

                for client_cls in (openai.OpenAI, openai.AsyncOpenAI):
                    for cls in client_cls.__mro__:
                        if "post" in cls.__dict__:
                            unwrap(cls, "post")
                            break

            def no_dimensions(*args: Any, **kwargs: Any) -> None:
                return None

            vars(_call)["add_call_dimensions"] = no_dimensions  # the name start_call calls
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
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    warnings.simplefilter("ignore")

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    exporter = Drop() if args.shape == "narrow" else InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if args.shape == "narrow":
        ctx = baggage.set_baggage("customer.id", "cust_12345")
        context.attach(baggage.set_baggage("work_item.id", "ticket_67890", ctx))
    _instrument(args.sdk, args.mode, provider)
    call = _make_call(args.sdk, args.mode, args.shape, provider)
    lib = ctypes.CDLL(args.callgrind_lib) if args.callgrind_lib else None
    if lib is not None:  # the first call: one-off work (lazy imports, costledger's price data)
        lib.cl_start()
        lib.cl_zero()
        call()
        lib.cl_dump(b"first")
        lib.cl_stop()
    for _ in range(args.warmup):
        call()
    # Every variant starts its measured calls from the same GC state: what start-up left for
    # the cyclic GC (imports, the price data costledger loads on its first call, a peer's own
    # set-up) is collected now, not in a window or not depending on where the counters stood.
    # The collections the measured calls cause themselves stay in the figures.
    gc.collect()
    if lib is not None:
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


def _worker_cmd(
    sdk: str, mode: str, shape: str, args: argparse.Namespace, **extra: Any
) -> list[str]:
    cmd = [
        _python(mode),
        str(Path(__file__).resolve()),
        "--worker",
        "--sdk",
        sdk,
        "--mode",
        mode.split("@")[0],
        "--shape",
        shape,
    ]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def _env(mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ANTHROPIC_"))}
    env["PYTHONPATH"] = str(BASELINES.get(mode, ROOT / "instrumentation"))
    return env


def baseline_tree(ref: str) -> Path:
    """REF's ``instrumentation/`` tree, from ``git archive``, under ``benchmarks/out/``."""
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = OUT / f"baseline-{rev}"
    if not (tree / "instrumentation").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "instrumentation"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree / "instrumentation"


def time_modes(
    sdk: str, shape: str, modes: list[str], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {m: [] for m in modes}
    added: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(args.rounds):
        order = modes[r % len(modes) :] + modes[: r % len(modes)]
        this_round: dict[str, float] = {}
        for mode in order:
            cmd = _worker_cmd(
                sdk, mode, shape, args, calls=args.calls, batches=args.batches, warmup=args.warmup
            )
            done = subprocess.run(cmd, capture_output=True, text=True, env=_env(mode), check=False)
            if done.returncode != 0:
                raise SystemExit(f"{sdk}/{shape}/{mode} failed:\n{done.stderr}")
            this_round[mode] = json.loads(done.stdout.strip().splitlines()[-1])["per_call_ns"]
        for mode in modes:
            times[mode].append(this_round[mode])
            added[mode].append(this_round[mode] - this_round["bare"])
        print(
            f"  {sdk}/{shape} round {r + 1}: "
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


def count_instructions(
    sdk: str, shape: str, modes: list[str], args: argparse.Namespace, lib: str
) -> dict[str, float]:
    """Instructions per call of each variant: the median of ``--cg-repeat`` processes.

    Two valgrind processes at a time (two cores). Repeats, because one process's count moves by
    a few thousand instructions per call from start to start (where type-attribute cache
    entries collide depends on the process), more than a small code change.
    """
    running: list[tuple[str, int, subprocess.Popen[str]]] = []
    counts: dict[str, list[float]] = {mode: [] for mode in modes}
    firsts: dict[str, list[float]] = {mode: [] for mode in modes}

    def finish(mode: str, repeat: int, proc: subprocess.Popen[str]) -> None:
        proc.wait()
        name = f"callgrind.{sdk}.{shape}.{mode}.{repeat}"
        log = OUT / f"{name}.log"
        if proc.returncode != 0:
            raise SystemExit(f"callgrind {sdk}/{shape}/{mode} failed:\n{log.read_text()[-2000:]}")
        parts = sorted(OUT.glob(f"{name}.out.*"), key=lambda p: int(p.suffix[1:]))
        first_call, n, three_n = (_totals(p) for p in parts[:3])
        counts[mode].append((three_n - n) / (2 * args.cg_calls))
        firsts[mode].append(first_call)

    for repeat in range(args.cg_repeat):
        for mode in modes:
            name = f"callgrind.{sdk}.{shape}.{mode}.{repeat}"
            for old in OUT.glob(f"{name}.out*"):
                old.unlink()
            cmd = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={OUT / f'{name}.out'}",
                *_worker_cmd(
                    sdk,
                    mode,
                    shape,
                    args,
                    calls=args.cg_calls,
                    warmup=args.cg_warmup,
                    callgrind_lib=lib,
                ),
            ]
            with (OUT / f"{name}.log").open("w") as log:
                proc = subprocess.Popen(cmd, env=_env(mode), stdout=log, stderr=log, text=True)
            running.append((mode, repeat, proc))
            if len(running) == args.cg_jobs:
                finish(*running.pop(0))
    for mode, repeat, proc in running:
        finish(mode, repeat, proc)
    for mode, values in counts.items():
        print(
            f"  {sdk}/{shape} {mode}: "
            + " ".join(f"{v / 1000:,.1f}k" for v in values)
            + " per call",
            file=sys.stderr,
        )
    found = {mode: statistics.median(counts[mode]) for mode in modes}
    found.update({f"first:{mode}": statistics.median(firsts[mode]) for mode in modes})
    return found


def report(
    sdk: str,
    shape: str,
    times: dict[str, dict[str, float]] | None,
    instr: dict[str, float] | None,
) -> None:
    """A markdown table: added per call, against the floor (a bare span) and the lightest peer."""
    modes = list(times) if times else [m for m in instr or {} if not m.startswith("first:")]
    peers = [m for m in modes if m in PEER_MODES]
    print(f"\n### {sdk}, shape {shape}\n")
    header = "| variant |"
    if times:
        header += " per call (µs) | added (µs) | added / floor |"
        if peers:
            header += " added / lightest peer |"
    if instr:
        header += f" added instructions/call (bare {instr['bare'] / 1000:,.0f}k) | instr. / floor |"
        if peers:
            header += " instr. / lightest peer |"
        header += " first call, added (one-off) |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for mode in modes:
        line = f"| {mode} |"
        if times:
            row = times[mode]
            floor_t = times["floor"]["added_us"]
            line += f" {row['per_call_us']:.1f} | {row['added_us']:.1f} |"
            line += f" {row['added_us'] / floor_t:.2f} |"
            if peers:
                lightest_t = min(times[m]["added_us"] for m in peers)
                line += f" {row['added_us'] / lightest_t:.2f} |"
        if instr:
            base_i = instr["bare"]
            floor_i = instr["floor"] - base_i
            add = instr[mode] - base_i
            line += f" {add / 1000:,.0f}k | {add / floor_i:.2f} |"
            if peers:
                lightest_i = min(instr[m] - base_i for m in peers)
                line += f" {add / lightest_i:.2f} |"
            first = instr[f"first:{mode}"] - instr["first:bare"]
            line += f" {first / 1e6:,.1f}M |"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdk", choices=["anthropic", "openai", "all"], default="anthropic")
    parser.add_argument(
        "--shape", choices=["app", "narrow", "all"], default="all", help="harness shape(s)"
    )
    parser.add_argument(
        "--modes", help="comma-separated variants (default: all; bare and floor always run)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (interleaved)")
    parser.add_argument("--calls", type=int, default=200, help="calls per timed batch")
    parser.add_argument("--batches", type=int, default=3, help="timed batches per worker")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--cg-calls", type=int, default=20, help="N for callgrind (N and 3N)")
    parser.add_argument("--cg-warmup", type=int, default=10)
    parser.add_argument(
        "--cg-repeat", type=int, default=3, help="callgrind processes per variant (median)"
    )
    parser.add_argument("--cg-jobs", type=int, default=2, help="valgrind processes at a time")
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--no-timing", action="store_true", help="instructions only")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also run our instrumentor as it was at this git commit (variant costledger@REF)",
    )
    # worker-only
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-lib", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    sdks = ["anthropic", "openai"] if args.sdk == "all" else [args.sdk]
    if args.baseline:
        BASELINES[f"costledger@{args.baseline}"] = baseline_tree(args.baseline)
    shapes = ["app", "narrow"] if args.shape == "all" else [args.shape]
    lib = None if args.no_callgrind else _callgrind_lib()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f};"
        f" rounds={args.rounds} calls={args.calls} batches={args.batches}"
        f" cg_calls={args.cg_calls} cg_repeat={args.cg_repeat}; "
        + ", ".join(
            f"{name} {_version(name)}" for name in ("anthropic", "openai", "opentelemetry-sdk")
        )
    )
    for sdk in sdks:
        modes = MODES[sdk]
        if args.modes:
            wanted = {"bare", "floor", *args.modes.split(",")}
            modes = [m for m in modes if m in wanted]
        modes = modes + list(BASELINES)
        for shape in shapes:
            times = None if args.no_timing else time_modes(sdk, shape, modes, args)
            instr = count_instructions(sdk, shape, modes, args, lib) if lib else None
            report(sdk, shape, times, instr)
            print(
                json.dumps({"sdk": sdk, "shape": shape, "times": times, "instructions": instr}),
                file=sys.stderr,
            )


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


if __name__ == "__main__":
    main()
