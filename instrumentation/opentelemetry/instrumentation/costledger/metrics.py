"""Optional OpenTelemetry metrics for every counted LLM call (off unless you turn them on).

Turn on
-------
``COSTLEDGER_METRICS=true`` in the environment (read at the first LLM call, or when
:func:`configure_from_environment` runs), or in code::

    from opentelemetry.instrumentation.costledger.metrics import enable_metrics
    enable_metrics()                              # the global MeterProvider
    enable_metrics(meter_provider=provider)       # or your own

The instruments (meter ``opentelemetry.instrumentation.costledger``), per the OpenTelemetry
GenAI semantic conventions:

``gen_ai.client.token.usage`` — Histogram, ``{token}``
    One measurement per token type and call: ``gen_ai.token.type`` = ``input`` (INCLUDES cached
    input, as ``gen_ai.usage.input_tokens``) or ``output`` (includes reasoning). Buckets 1, 4,
    16, … 67108864 (the conventions' advice).
``gen_ai.client.operation.duration`` — Histogram, ``s``
    The call's duration, from the span's start to its end (for a stream: until the stream
    ended), with ``error.type`` when it failed. Buckets 0.01, 0.02, … 81.92 s.
``costledger.client.cost`` — Counter, ``{nanodollar}`` (integer nano-US-dollars)
    The priced cost of each call, exact (an integer, never a float); divide by 1e9 for dollars
    (Prometheus: ``costledger_client_cost_total / 1e9``). Unpriced calls add nothing.

Attributes on all three: ``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.response.model`` (when known).

Customer ids on metrics are OPT-IN: every distinct ``customer.id`` is a new time series in your
metrics backend, which gets expensive with many customers. ``COSTLEDGER_METRICS_CUSTOMER=true``
(or ``enable_metrics(customer_attributes=True)``) adds ``customer.id``. Per-customer cost belongs
in the ledger in any case; metrics are for live monitoring.

Cost of being off: :func:`record_call_metrics` returns after one global read.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from opentelemetry import metrics
from opentelemetry.util.types import AttributeValue

from . import attributes as A

if TYPE_CHECKING:
    from ._call import LLMCall

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

METRICS_ENV: Final = "COSTLEDGER_METRICS"
CUSTOMER_ENV: Final = "COSTLEDGER_METRICS_CUSTOMER"

GEN_AI_CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
GEN_AI_CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
COSTLEDGER_CLIENT_COST: Final = "costledger.client.cost"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"

# Bucket boundaries the GenAI semantic conventions specify for the two histograms.
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

_TRUE: Final = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True, slots=True)
class _Instruments:
    token_usage: metrics.Histogram
    duration: metrics.Histogram
    cost: metrics.Counter
    customer_attributes: bool


_instruments: _Instruments | None = None
_configured = False


def enable_metrics(
    meter_provider: metrics.MeterProvider | None = None,
    *,
    customer_attributes: bool | None = None,
) -> None:
    """Record metrics for every counted LLM call from now on.

    ``customer_attributes``: add ``customer.id`` (argument, else ``COSTLEDGER_METRICS_CUSTOMER``,
    else no).
    """
    global _instruments, _configured
    from .version import __version__

    if customer_attributes is None:
        customer_attributes = _env_flag(CUSTOMER_ENV)
    meter = metrics.get_meter(
        "opentelemetry.instrumentation.costledger", __version__, meter_provider=meter_provider
    )
    _instruments = _Instruments(
        token_usage=meter.create_histogram(
            GEN_AI_CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        ),
        duration=meter.create_histogram(
            GEN_AI_CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        ),
        cost=meter.create_counter(
            COSTLEDGER_CLIENT_COST,
            unit="{nanodollar}",
            description="Priced cost of LLM calls in nano-US-dollars (1e-9 USD), exact.",
        ),
        customer_attributes=customer_attributes,
    )
    _configured = True


def disable_metrics() -> None:
    """Stop recording metrics (until :func:`enable_metrics` or the environment turns them on)."""
    global _instruments, _configured
    _instruments = None
    _configured = True


def configure_from_environment() -> None:
    """Turn metrics on or off from ``COSTLEDGER_METRICS`` / ``COSTLEDGER_METRICS_CUSTOMER``."""
    if _env_flag(METRICS_ENV):
        enable_metrics()
    else:
        disable_metrics()


def metrics_enabled() -> bool:
    return _instruments is not None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def record_call_metrics(call: LLMCall, error: BaseException | None = None) -> None:
    """Record one ended LLM call (an ``_call.LLMCall``); a near no-op while metrics are off.

    Reads what the call put on its span (operation, attribution) and the cost the call kept
    (``call.cost_nanos``, the same integer its span's amount was written from), so that the
    metrics and the span never disagree. Never raises.
    """
    instruments = _instruments
    if instruments is None:
        if _configured:
            return
        try:
            configure_from_environment()
        except Exception:
            logger.debug("costledger: could not set up metrics", exc_info=True)
            disable_metrics()
        instruments = _instruments
        if instruments is None:
            return
    try:
        _record(instruments, call, error)
    except Exception:
        logger.debug("costledger: could not record LLM call metrics", exc_info=True)


def _record(instruments: _Instruments, call: LLMCall, error: BaseException | None) -> None:
    span = call.span
    span_attributes = getattr(span, "attributes", None) or {}
    attrs: dict[str, AttributeValue] = {A.GEN_AI_PROVIDER_NAME: call.provider}
    operation = span_attributes.get(A.GEN_AI_OPERATION_NAME)
    if operation:
        attrs[A.GEN_AI_OPERATION_NAME] = operation
    if call.request_model:
        attrs[A.GEN_AI_REQUEST_MODEL] = call.request_model
    if call.response_model:
        attrs[A.GEN_AI_RESPONSE_MODEL] = call.response_model
    if instruments.customer_attributes:
        customer = span_attributes.get(A.CUSTOMER_ID)
        if customer:
            attrs[A.CUSTOMER_ID] = customer

    usage = call.usage
    if usage is not None:
        instruments.token_usage.record(usage.input_tokens, {**attrs, GEN_AI_TOKEN_TYPE: "input"})
        instruments.token_usage.record(usage.output_tokens, {**attrs, GEN_AI_TOKEN_TYPE: "output"})

    start_ns = getattr(span, "start_time", None)
    if start_ns:
        duration_attrs = attrs
        if error is not None and isinstance(error, Exception):
            duration_attrs = {**attrs, A.ERROR_TYPE: type(error).__qualname__}
        end_ns = getattr(span, "end_time", None) or time.time_ns()
        instruments.duration.record(max(end_ns - start_ns, 0) / 1e9, duration_attrs)

    nanos = call.cost_nanos
    if nanos is not None and nanos > 0:  # a counter only grows
        currency = call.cost_currency or "USD"
        instruments.cost.add(nanos, {**attrs, A.COST_CURRENCY: currency})
