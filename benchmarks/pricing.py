"""Per-call cost of ``PriceBook.price_tokens`` against ``genai_prices.calc_price``, in one run.

Also ``PriceBook.price_counts``, the ledger's per-row entry point (the same prices from plain
counts and integer nanoseconds, returning a tuple).

Both price the same calls (a mix of Anthropic and OpenAI models, with cache reads/writes,
reasoning and a long-context call) and must agree to the nano-dollar (checked first).

Two measurements:

1. Wall time per call (median of ``--repeats`` rounds, each timing ``--calls`` calls of ours and
   ``--calc-calls`` calls of calc_price, interleaved so both see the same machine load), and
   the ratio.
2. With ``--callgrind``: instructions per call, counted by ``valgrind --tool=callgrind`` as the
   difference between a run of 3N calls and a run of N calls divided by 2N (start-up, imports
   and the first, cache-filling call cancel out). Deterministic, unlike time on a shared machine.
3. With ``--baseline REF`` (a git commit): the same per-call measurements of our two entry
   points, and of ``price_counts`` on time-of-day prices (DeepSeek's peak hours, ``DAILY``),
   for the price book of REF (``git archive``d to a temporary directory and imported from
   there) and for the working tree, in one run: before, after and their ratio.

Usage::

    .venv/bin/python benchmarks/pricing.py                 # timing, a few seconds
    .venv/bin/python benchmarks/pricing.py --callgrind     # + instruction counts (~1 minute)
    .venv/bin/python benchmarks/pricing.py --calls 200000 --repeats 9   # bigger run
    .venv/bin/python benchmarks/pricing.py --callgrind --baseline HEAD~1  # before/after
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN

from opentelemetry.instrumentation.costledger.pricing import PriceBook
from opentelemetry.instrumentation.costledger.usage import TokenUsage

AT = datetime(2025, 11, 14, 12, 0, tzinfo=UTC)
CALLS: list[tuple[str, str, TokenUsage]] = [
    ("anthropic", "claude-sonnet-4-5-20250929", TokenUsage(2_345, 512, 1_024, 256, 0, 0)),
    ("anthropic", "claude-sonnet-4-5-20250929", TokenUsage(250_000, 3_000, 10_000, 0, 5_000, 0)),
    ("anthropic", "claude-haiku-4-5-20251001", TokenUsage(1_200, 300)),
    ("openai", "gpt-4o-2024-08-06", TokenUsage(10_000, 2_000, 3_000)),
    ("openai", "gpt-5-mini", TokenUsage(4_000, 1_500, 1_000, 0, 0, 800)),
    ("openai", "text-embedding-3-small", TokenUsage(8_000)),
]


def _genai_usage(usage: TokenUsage):  # type: ignore[no-untyped-def]
    import genai_prices

    return genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
    )


def ours(n: int) -> Callable[[], None]:
    book = PriceBook("")
    calls = CALLS
    k = len(calls)

    def run() -> None:
        price = book.price_tokens
        for i in range(n):
            provider, model, usage = calls[i % k]
            price(provider, model, usage, AT)

    return run


AT_NS = int(AT.timestamp()) * 10**9  # exact: AT is a whole second


def counts(n: int) -> Callable[[], None]:
    book = PriceBook("")
    calls = [(provider, model, *usage) for provider, model, usage in CALLS]
    k = len(calls)

    def run() -> None:
        price = book.price_counts
        at = AT_NS
        for i in range(n):
            provider, model, tokens_in, tokens_out, read, write_5m, write_1h, reasoning = calls[
                i % k
            ]
            price(provider, model, at, tokens_in, tokens_out, read, write_5m, write_1h, reasoning)

    return run


# Time-of-day prices: no in-force window, every call finds its part of the day.
DAILY: list[tuple[str, str, int, tuple[int, ...]]] = [
    ("deepseek", "deepseek-chat", hour, (20_000, 800, 5_000, 0, 0, 0)) for hour in (3, 12, 20)
]


def daily(n: int) -> Callable[[], None]:
    book = PriceBook("")
    day = int(datetime(2025, 3, 3, tzinfo=UTC).timestamp()) * 10**9
    calls = [(p, m, day + hour * 3600 * 10**9 + 37, *c) for p, m, hour, c in DAILY]
    k = len(calls)

    def run() -> None:
        price = book.price_counts
        for i in range(n):
            provider, model, at, tokens_in, tokens_out, read, write_5m, write_1h, reasoning = calls[
                i % k
            ]
            price(provider, model, at, tokens_in, tokens_out, read, write_5m, write_1h, reasoning)

    return run


def theirs(n: int) -> Callable[[], None]:
    import genai_prices

    calls = [(p, m, _genai_usage(u)) for p, m, u in CALLS]
    k = len(calls)

    def run() -> None:
        calc = genai_prices.calc_price
        for i in range(n):
            provider, model, usage = calls[i % k]
            calc(usage, model, provider_id=provider, genai_request_timestamp=AT)

    return run


def check_agreement() -> None:
    import genai_prices

    book = PriceBook("")
    for provider, model, usage in CALLS:
        expected = genai_prices.calc_price(
            _genai_usage(usage), model, provider_id=provider, genai_request_timestamp=AT
        ).total_price
        nanos = int((expected * 10**9).to_integral_value(ROUND_HALF_EVEN))
        got = book.price_tokens(provider, model, usage, AT).cost_nanos
        if got != nanos:
            raise SystemExit(f"disagreement on {provider}/{model}: {got} != {nanos}")
        from_counts = book.price_counts(provider, model, AT_NS, *usage)[0]
        if from_counts != nanos:
            raise SystemExit(f"price_counts disagrees on {provider}/{model}: {from_counts}")


def timing(calls: int, calc_calls: int, repeats: int) -> None:
    mine, reference = ours(calls), theirs(calc_calls)
    mine(), reference()  # fill caches, import everything
    per_ours, per_calc = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        mine()
        per_ours.append((time.perf_counter() - start) / calls)
        start = time.perf_counter()
        reference()
        per_calc.append((time.perf_counter() - start) / calc_calls)
    a, b = statistics.median(per_ours), statistics.median(per_calc)
    print(f"wall time per call, median of {repeats} rounds:")
    print(f"  PriceBook.price_tokens   {a * 1e6:10.2f} us   ({calls} calls per round)")
    print(f"  genai_prices.calc_price  {b * 1e6:10.2f} us   ({calc_calls} calls per round)")
    print(f"  ratio calc_price / price_tokens: {b / a:,.0f}x")


def _env(tree: str | None) -> dict[str, str] | None:
    """The environment that imports the price book from ``tree`` (None: the working tree)."""
    if tree is None:
        return None
    env = dict(os.environ)
    paths = [os.path.join(tree, "instrumentation"), os.path.join(tree, "exporter")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _instructions(impl: str, n: int, tree: str | None = None) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--inner",
        impl,
        "--calls",
        str(n),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=_env(tree)).stderr
    match = re.search(r"Collected\s*:\s*(\d+)", out)
    if not match:
        raise SystemExit(f"no callgrind total in:\n{out}")
    return int(match.group(1))


def callgrind(n_ours: int, n_calc: int) -> None:
    print("instructions per call (callgrind, (I(3N) - I(N)) / 2N):")
    results = {}
    names = {
        "ours": "PriceBook.price_tokens ",
        "counts": "PriceBook.price_counts ",
        "calc": "genai_prices.calc_price",
    }
    for impl, n in (("ours", n_ours), ("counts", n_ours), ("calc", n_calc)):
        low, high = _instructions(impl, n), _instructions(impl, 3 * n)
        results[impl] = (high - low) / (2 * n)
        print(f"  {names[impl]}  {results[impl]:12,.0f}   (N={n}: {low:,} / 3N: {high:,})")
    print(f"  ratio calc_price / price_tokens: {results['calc'] / results['ours']:,.0f}x")
    print(f"  ratio calc_price / price_counts: {results['calc'] / results['counts']:,.0f}x")


def _wall(impl: str, n: int, tree: str | None) -> float:
    """Seconds per call of ``impl`` in a fresh process importing ``tree`` (after a warm-up)."""
    command = [sys.executable, __file__, "--inner", impl, "--calls", str(n), "--time"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=_env(tree))
    return float(out.stdout.split()[-1])


def baseline(ref: str, calls: int, repeats: int, with_callgrind: bool) -> None:
    """Before (``ref``) and after (the working tree), per call, in one run."""
    with tempfile.TemporaryDirectory(prefix="costledger-baseline-") as tree:
        root = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "-C", root, "archive", ref, "instrumentation", "exporter"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        where = subprocess.run(
            [
                sys.executable,
                "-c",
                "import opentelemetry.instrumentation.costledger.pricing as p; print(p.__file__)",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=_env(tree),
        ).stdout.strip()
        if not where.startswith(tree):
            raise SystemExit(f"the baseline tree is not the one imported: {where}")
        rev = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", ref],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        names = {
            "ours": "price_tokens",
            "counts": "price_counts",
            "daily": "price_counts (time of day)",
        }
        print(f"before ({ref} = {rev}) and after (working tree), per call:")
        print(f"  wall time, median of {repeats} alternating rounds of {calls} calls:")
        for impl, name in names.items():
            before, after = [], []
            for _ in range(repeats):
                before.append(_wall(impl, calls, tree))
                after.append(_wall(impl, calls, None))
            a, b = statistics.median(before), statistics.median(after)
            print(
                f"    {name:28} {a * 1e6:8.2f} us -> {b * 1e6:8.2f} us   after/before {b / a:.3f}"
            )
        if with_callgrind:
            n = min(calls, 20_000)
            print(f"  instructions (callgrind, (I(3N) - I(N)) / 2N, N={n}):")
            for impl, name in names.items():
                a = (_instructions(impl, 3 * n, tree) - _instructions(impl, n, tree)) / (2 * n)
                b = (_instructions(impl, 3 * n) - _instructions(impl, n)) / (2 * n)
                print(f"    {name:28} {a:10,.0f} -> {b:10,.0f}   after/before {b / a:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=60_000, help="price_tokens calls per round")
    parser.add_argument("--calc-calls", type=int, default=600, help="calc_price calls per round")
    parser.add_argument("--repeats", type=int, default=7, help="timing rounds (median)")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions")
    parser.add_argument(
        "--baseline", metavar="REF", help="also measure the price book of this git commit"
    )
    parser.add_argument(
        "--inner", choices=("ours", "counts", "daily", "calc"), help=argparse.SUPPRESS
    )
    parser.add_argument("--time", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        run = {"ours": ours, "counts": counts, "daily": daily, "calc": theirs}[args.inner](
            args.calls
        )
        run()
        if args.time:  # warmed up: time a second run
            start = time.perf_counter()
            run()
            print((time.perf_counter() - start) / args.calls)
        return
    check_agreement()
    print(f"python {sys.version.split()[0]}, {len(CALLS)} distinct calls (see CALLS)")
    timing(args.calls, args.calc_calls, args.repeats)
    if args.callgrind:
        callgrind(min(args.calls, 20_000), min(args.calc_calls, 200))
    if args.baseline:
        baseline(args.baseline, args.calls, args.repeats, args.callgrind)


if __name__ == "__main__":
    main()
