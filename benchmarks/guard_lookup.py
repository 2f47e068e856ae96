"""The budget guard's own per-call cost, in instructions: ``BudgetGuard.check`` on a call's start
attributes (the narrow harness's: a customer and a work item from baggage) against a snapshot of
1,000 exceeded limits (200 each of customers, workspaces, features, agents and tags), the
customer not among them; and, with the guard off, the one check ``start_call`` makes.

Run under callgrind (the switches are client requests of ``benchmarks/out/cgctl.so``, which
``instrumentation_overhead.py`` builds)::

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=benchmarks/out/guard.out \
        .venv/bin/python benchmarks/guard_lookup.py

It prints, per variant, ``(I(3N) - I(N)) / 2N`` instructions per call (an empty function call's
figure too, the loop's own cost), from the dumps callgrind wrote.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

from instrumentation_overhead import guard_snapshot  # this folder's: the same 1,000 limits
from opentelemetry.instrumentation.costledger import guard
from opentelemetry.instrumentation.costledger.guard import BudgetGuard

OUT = Path(__file__).resolve().parent / "out"
N = 1000
ATTRS: dict[str, Any] = {
    "gen_ai.provider.name": "anthropic",
    "gen_ai.operation.name": "chat",
    "costledger.counted": True,
    "gen_ai.request.model": "claude-haiku-4-5",
    "gen_ai.request.max_tokens": 256,
    "customer.id": "cust_12345",
    "work_item.id": "ticket_67890",
    "costledger.request.hash": "0" * 32,
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("guard.out.*"):  # an earlier run's dumps
        old.unlink()
    path = guard_snapshot(OUT / "guard-lookup-snapshot.json")
    on = BudgetGuard("raise", path, refresh=86400, max_age=86400)
    assert on.load() and on.check(dict(ATTRS)) is None

    def guard_on() -> Any:
        return on.check(ATTRS)

    def guard_off() -> Any:  # start_call's line, with guard.ACTIVE None
        return None if guard.ACTIVE is None else guard.ACTIVE.check(ATTRS)

    def empty() -> Any:
        return None

    lib = ctypes.CDLL(str(OUT / "cgctl.so"))
    variants = (("guard on", guard_on), ("guard off", guard_off), ("empty call", empty))
    for _, fn in variants:
        for _ in range(N):
            fn()
        for n in (N, 3 * N):
            lib.cl_start()
            lib.cl_zero()
            for _ in range(n):
                fn()
            lib.cl_dump(f"n={n}".encode())
            lib.cl_stop()
    dumps = sorted(OUT.glob("guard.out.*"), key=lambda p: int(p.suffix[1:]))
    if len(dumps) < 2 * len(variants):
        print("no callgrind dumps: run it under valgrind as the docstring says")
        return
    totals = [_total(p) for p in dumps]
    for i, (name, _) in enumerate(variants):
        per_call = (totals[2 * i + 1] - totals[2 * i]) / (2 * N)
        print(f"{name}: {per_call:,.0f} instructions per call")


def _total(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise ValueError(f"no totals in {path}")


if __name__ == "__main__":
    main()
