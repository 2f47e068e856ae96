"""``costledger demo``: a month of realistic AI traffic for four customers, end to end, offline.

The demo is the quickest way to see costledger work: the real ``anthropic`` and ``openai`` SDKs
(answered by an in-process mock of their HTTP APIs, so no API key is needed) make a month of a
support copilot's calls for the seed article's four customers — chat, streamed chat, cached
prompts, embeddings — plus human review and third-party costs recorded with ``record_cost``.
Every call goes through the real costledger instrumentation and the in-process exporter into a
ledger database, and the demo prints the seed's Step 3 table queried from the ``cost_ledger``
view.

Modules: :mod:`.customers` is the cast (customers, models, third-party prices),
:mod:`.traffic` plans the month (deterministic by seed) into a :mod:`.plan`,
:mod:`.fake_providers` is the fake Anthropic and OpenAI APIs (the tests' and benchmarks' too),
:mod:`.mock_api` has it answer the planned calls, :mod:`.app` is the application,
:mod:`.clock` places the calls in the simulated month and makes span ids repeatable,
:mod:`.runner` wires the pipeline (:func:`run_demo`), :mod:`.summary` queries the ledger,
:mod:`.render` prints.

The demo drives everything: it may import any stage (the CLI's own modules aside); only the
CLI's ``costledger demo`` imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import DemoResult, run_demo
    from .traffic import DEFAULT_CALLS, DEFAULT_SEED

__all__ = ["DEFAULT_CALLS", "DEFAULT_SEED", "DemoResult", "run_demo"]


def __getattr__(name: str) -> Any:
    # The runner (and the ledger it writes) loads on first use, so that importing the fake
    # provider APIs (:mod:`.fake_providers`, used by tests and benchmarks) stays light.
    if name in __all__:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
