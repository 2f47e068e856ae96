"""mistralai: no span of ours, only the customer ids kept from the provider.

The calls of the mistralai SDK are reported by the SDK itself (its own tracing, in the releases
that have it) and by OpenLLMetry's mistralai instrumentation; the ledger counts them once
(see the README's producers). costledger makes no span for them.

What it does: the SDK's tracing injects the current context into each request it sends
(``propagate.inject``), W3C Baggage included, so inside ``attribute_to`` the provider would get
``baggage: customer.id=…``. While the SDK sends a request — ``BaseSDK.do_request`` /
``do_request_async``, the method every operation of the SDK goes through (chat, FIM,
embeddings, agents, OCR, streams alike) — the attribution keys are taken out of the baggage, as
for the SDKs costledger counts, and kept under a context key of ours that no propagator reads:
the SDK's span, started there, still gets the customer from the span processor. The rest of the
baggage goes out as before. Nothing changes outside ``attribute_to`` (or incoming baggage with
attribution), and a failure of ours leaves the request as it was.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context

from ._context import context_keeping_attribution
from ._patching import Patches, sdk_classes

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

_patches = Patches()


def _private_context() -> Context | None:
    """The current context without attribution in its baggage (None: nothing to take out)."""
    try:
        return context_keeping_attribution(otel_context.get_current())
    except Exception:
        logger.warning("costledger: could not clean a mistralai request's baggage", exc_info=True)
        return None


def _do_request(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    ctx = _private_context()
    if ctx is None:
        return wrapped(*args, **kwargs)
    token = otel_context.attach(ctx)
    try:
        return wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)


async def _do_request_async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    ctx = _private_context()
    if ctx is None:
        return await wrapped(*args, **kwargs)
    token = otel_context.attach(ctx)
    try:
        return await wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)


def instrument(tracer: Any) -> None:
    """Wrap the request method of the installed mistralai SDK (no-op if it is absent)."""
    for cls in sdk_classes("mistralai.basesdk", ("BaseSDK",)):
        _patches.wrap(cls, "do_request", _do_request)
        _patches.wrap(cls, "do_request_async", _do_request_async)


def uninstrument() -> None:
    """Restore the methods :func:`instrument` wrapped."""
    _patches.unwrap_all()


__all__ = ["instrument", "uninstrument"]
