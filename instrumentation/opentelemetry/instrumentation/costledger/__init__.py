"""costledger instrumentation: every LLM SDK call becomes one priced, attributed span.

Turn it on with no code change
------------------------------
::

    pip install costledger
    OTEL_SERVICE_NAME=support-bot opentelemetry-instrument python app.py

``opentelemetry-instrument`` finds ``CostLedgerInstrumentor`` on the ``opentelemetry_instrumentor``
entry point (name ``costledger``). Or in code, after setting up your tracer provider::

    from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor
    CostLedgerInstrumentor().instrument()                 # global tracer provider
    CostLedgerInstrumentor().instrument(tracer_provider=provider)

``instrument()`` and ``uninstrument()`` are idempotent and fully reversible: uninstrument restores
the SDKs' original methods (no wrapper stays behind, however many cycles).

What you get
------------
One CLIENT span per LLM call, named ``{gen_ai.operation.name} {gen_ai.request.model}`` (e.g.
``chat claude-sonnet-4-5``), with the GenAI attributes (provider, operation, request and response
model, response id, finish reasons, ``gen_ai.usage.input_tokens`` INCLUDING cached input, output,
cache read, cache write with Anthropic's 5-minute / 1-hour split, reasoning tokens, service tier),
the attribution (``customer.id``, ``customer.name``, ``workspace.id``, ``work_item.id``,
``user.id``), ``costledger.counted = true`` and the cost (``costledger.cost.amount`` as a decimal
string in ``costledger.cost.currency``, ``costledger.cost.source`` the price rule; or
``costledger.cost.unpriced_reason``). Failed calls get ``error.type`` and ERROR status and the
exception passes through unchanged. Streams are counted exactly from their usage events; the
span ends exactly once, whether the stream is read to the end, broken out of, closed, used as a
context manager or fails. Covered calls: see ``_anthropic/`` (also ``AnthropicBedrock`` /
``AnthropicVertex``), ``_openai/`` (also ``AzureOpenAI`` and the client's low-level ``post``
that LiteLLM uses), ``_google_genai/`` and ``_bedrock/`` (boto3 ``bedrock-runtime``).
mistralai's calls are reported by its SDK and by OpenLLMetry; ``_mistralai`` only keeps their
requests free of customer ids.

Attribution: :func:`attribute_to` (context manager / decorator), incoming W3C Baggage, or the
attribution keys in a call's ``metadata=`` (stripped before the request leaves; see
``attribution.py``). Costs that are not LLM calls: :func:`record_cost`. Attribution on other
instrumentations' spans and on the anthropic SDK's own spans: :class:`CostLedgerSpanProcessor`
(added to the SDK tracer provider by ``instrument()``; see ``processor.py`` to add it by hand).

Supported SDKs: anthropic 2.x, openai 3.x, google-genai 3.x, botocore and mistralai (declared in
``package.py``; the test suite runs against the first and the newest release of each). The
instrumentor turns on when at least one of them is installed.

Environment variables
---------------------
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
    ``true`` puts prompts and completions on the spans (``gen_ai.input.messages``,
    ``gen_ai.output.messages``, ``gen_ai.system_instructions``). Default: no content, ever.
    Read when ``instrument()`` runs.
``COSTLEDGER_PRICES``
    A price file of yours (negotiated rates, custom models) layered over genai-prices; the
    price book (``pricing.py``) that costs each call is that file's. Read when ``instrument()``
    runs, like the switch above (a change takes effect at the next ``instrument()``).
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``
    ``costledger`` in this list keeps ``opentelemetry-instrument`` from turning us on.
``OTEL_PROPAGATORS``
    Keep ``baggage`` in it (the default ``tracecontext,baggage`` does) for attribution to cross
    service boundaries.
``ANTHROPIC_OPEN_TELEMETRY``
    The anthropic SDK's own spans (``false`` turns them off). Either way each call is counted
    once, by our span; the SDK's span nests under it, marked ``costledger.counted = false``.
``OTEL_INSTRUMENTATION_COSTLEDGER_ATTRIBUTE_ALL_SPANS``
    ``true`` (default): :class:`CostLedgerSpanProcessor` puts the attribution on every span
    started inside it (HTTP, database, ...), so Jaeger finds a customer's whole request and
    ``costledger serve`` counts log events per customer; ``false``: GenAI spans only.

``COSTLEDGER_BUDGET_GUARD``, ``COSTLEDGER_BUDGET_SNAPSHOT``, ``COSTLEDGER_BUDGET_REFRESH``,
``COSTLEDGER_BUDGET_MAX_AGE``, ``COSTLEDGER_BUDGET_TOKEN``
    The budget guard, off by default (``guard.py``): ``raise`` stops a call for a customer,
    workspace, feature, agent or tag over its hard limit with :class:`BudgetExceeded` before
    anything is sent; ``mark`` only marks its span (``costledger.budget.exceeded``). Also
    arguments of ``instrument()``: ``budget_guard=``, ``budget_snapshot=``, ``budget_refresh=``,
    ``budget_max_age=``, ``budget_token=`` (they win over the environment).

Nothing heavy happens at import or per call: no threads, no event loops, no network, no
database; the price data (genai-prices) is loaded on the first priced call. The budget guard,
when turned on, reads its snapshot in a daemon thread of its own; the call path only looks the
call's attribution up in a dictionary.

This package runs inside the user's app and may import only the OpenTelemetry API/SDK,
``wrapt``, genai-prices (pricing), PyYAML (price files) and the SDKs it wraps, never the
exporter (``opentelemetry.exporter.costledger``), which imports it. Its layout: README, "How the
instrumentation is laid out".
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection
from typing import Any, Final

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from . import _setup, costs, guard
from .attribution import attribute_to, current_attribution
from .costs import record_cost, record_outcome
from .guard import BudgetExceeded
from .package import _instruments
from .processor import CostLedgerSpanProcessor, ensure_processor
from .version import __version__

__all__ = [
    "BudgetExceeded",
    "CostLedgerInstrumentor",
    "CostLedgerSpanProcessor",
    "__version__",
    "attribute_to",
    "current_attribution",
    "record_cost",
    "record_outcome",
]

logger = logging.getLogger("opentelemetry.instrumentation.costledger")


# The SDK (the module whose import turns its wrapping on) -> our module that wraps it, imported
# only then.
_SDK_MODULES: Final = (
    ("anthropic", "._anthropic"),
    ("openai", "._openai"),
    ("google.genai", "._google_genai"),
    ("botocore", "._bedrock"),
    # mistralai: no span of ours (its SDK and OpenLLMetry report its calls), only its requests
    # kept free of customer ids.
    ("mistralai", "._mistralai"),
    # httpx2: the anthropic and openai SDKs' HTTP client, whose requests tell the SDK's retry
    # count (the call's attempts).
    ("httpx2", "._dimensions"),
)


def _provider_module(name: str) -> Any:
    try:
        return importlib.import_module(name, __name__)
    except ImportError:
        logger.debug("costledger: instrumentation module %s unavailable", name, exc_info=True)
        return None


def supported_sdks(requirements: Collection[str]) -> Collection[str]:
    """The requirements that this process satisfies; all of them when it satisfies none.

    ``BaseInstrumentor`` refuses to instrument unless every listed dependency is installed, but
    either SDK is enough: an app that uses only anthropic must still be instrumented. Listing
    all of them when none is installed keeps the instrumentor's own message about what is
    missing.
    """
    met = [req for req in requirements if get_dependency_conflicts([req]) is None]
    return met or tuple(requirements)


# ``BaseInstrumentor`` comes untyped (its package ships no type information): ``--strict``
# refuses to subclass it, the project's default settings do not.
class CostLedgerInstrumentor(BaseInstrumentor):  # type: ignore[misc, unused-ignore]
    """Instruments the LLM SDKs of ``package.py``; see the module docstring."""

    _processor: CostLedgerSpanProcessor | None = None
    _generation = 0
    _instrumented: list[Any]

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton: __init__ runs on every CostLedgerInstrumentor().
        if not hasattr(self, "_instrumented"):
            self._instrumented = []

    def instrumentation_dependencies(self) -> Collection[str]:
        return supported_sdks(_instruments)

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.get("tracer_provider")
        # First: a bad guard setting raises here, before anything is wrapped.
        guard.configure(kwargs)
        _setup.SETTINGS.reload()
        tracer = _setup.get_tracer(tracer_provider)
        costs.set_tracer_provider(tracer_provider)
        self._add_processor(tracer_provider or trace.get_tracer_provider())
        self._generation += 1
        generation = self._generation
        # Each SDK is wrapped when it is imported (now, if it already is): an app that uses one
        # SDK never pays for importing the other (openai's import alone takes seconds).
        for sdk, name in _SDK_MODULES:

            def hook(_: Any, name: str = name, generation: int = generation) -> None:
                if generation != self._generation:
                    return  # registered by an instrument() that was since undone
                target = _provider_module(name)
                if target is None:
                    return
                try:
                    target.instrument(tracer)
                    self._instrumented.append(target)
                except Exception:
                    logger.warning("costledger: could not instrument %s", target, exc_info=True)

            wrapt.register_post_import_hook(hook, sdk)

    def _add_processor(self, provider: Any) -> None:
        processor = ensure_processor(provider)
        if processor is None:
            # Not an SDK provider (yet): the app sets one later. Retry on the first call.
            _setup.defer(lambda: self._add_processor_later())
            return
        if processor.added_by_instrumentor:
            processor.enabled = True
        self._processor = processor

    def _add_processor_later(self) -> bool:
        processor = ensure_processor(trace.get_tracer_provider())
        if processor is None:
            return False
        if processor.added_by_instrumentor:
            processor.enabled = True
        self._processor = processor
        return True

    def _uninstrument(self, **kwargs: Any) -> None:
        self._generation += 1
        guard.stop()
        while self._instrumented:
            self._instrumented.pop().uninstrument()
        _setup.defer(None)
        costs.set_tracer_provider(None)
        # An SDK provider cannot drop a processor: switch it off until instrument() again.
        if self._processor is not None and self._processor.added_by_instrumentor:
            self._processor.enabled = False
