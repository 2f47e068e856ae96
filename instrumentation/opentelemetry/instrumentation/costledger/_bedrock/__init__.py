"""boto3 ``bedrock-runtime``: every model call becomes one counted span with usage and cost.

Covered: ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream`` (provider ``aws.bedrock``; operation ``chat``, or
``embeddings`` for an embedding model). The model is the request's ``modelId`` -- a model id,
an inference profile (``us.anthropic.claude-sonnet-4-5-20250929-v1:0``) or an ARN -- which is
what Bedrock bills: the call is priced on it at Bedrock's list price, and no answer replaces it.
Usage (``_usage``): Converse's with its cache reads and writes (``cacheReadInputTokens``,
``cacheWriteInputTokens``, 1-hour writes from ``cacheDetails``); an InvokeModel body's own
(Anthropic Messages, Amazon Nova), else the token-count headers Bedrock adds to every answer;
streams read as the caller reads them (ConverseStream's ``metadata`` event, the Anthropic
events of an InvokeModel stream or its ``amazon-bedrock-invocationMetrics``). A stream left
early records the usage seen so far. ``gen_ai.response.id``: the Anthropic message id where
there is one, else Bedrock's request id.

How: through botocore's public event system, the way botocore's own extensions hook a call.
``botocore.session.Session.create_client`` is wrapped so that each ``bedrock-runtime`` client
made while instrumented gets our handlers (a client made before ``instrument()`` is not
covered): ``before-parameter-build`` keeps the call's API parameters, ``before-call`` (after
botocore validated them) starts the span and makes it current while the request is sent,
``after-call`` records the answer (or the API error) and ``after-call-error`` a failed
request. Another instrumentation's span around the same call (the contrib botocore
instrumentation's, current when ours starts) is marked not counted.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry.trace import Status, StatusCode, Tracer

from .. import attributes as A
from .._call import start_call
from .._context import is_call_active
from .._patching import Patches, sdk_classes
from ..guard import BudgetExceeded
from ._operations import OPERATIONS

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

_SERVICE: Final = "bedrock-runtime"
_PARAMS: Final = "costledger.params"
_CALL: Final = "costledger.call"
_HANDLERS_ID: Final = "costledger"

_patches = Patches()
# The tracer while instrumented: the handlers stay on the clients they were given, and do
# nothing once this is None.
_tracer: Tracer | None = None


def _keep_params(params: Any, model: Any, context: Any, **_: Any) -> None:
    if _tracer is not None and isinstance(context, dict):
        context[_PARAMS] = params


def _before_call(model: Any, context: Any, **_: Any) -> None:
    tracer = _tracer
    if tracer is None or not isinstance(context, dict):
        return
    try:
        operation = OPERATIONS.get(model.name)
        params = context.pop(_PARAMS, None)
        if operation is None or params is None or is_call_active():
            return
        call = start_call(tracer, operation.request(params))
        context[_CALL] = (call, otel_context.attach(call.context), operation)
    except BudgetExceeded:
        raise  # botocore lets it through: the request is never sent
    except Exception:
        logger.debug("costledger: could not start a Bedrock call span", exc_info=True)


def _after_call(http_response: Any, parsed: Any, context: Any, **_: Any) -> None:
    found = context.pop(_CALL, None) if isinstance(context, dict) else None
    if found is None:
        return
    call, token, operation = found
    otel_context.detach(token)
    try:
        status = getattr(http_response, "status_code", 200)
        if status >= 300:
            code = str((parsed.get("Error") or {}).get("Code") or f"HTTP {status}")
            call.span.set_attribute(A.ERROR_TYPE, code)
            call.span.set_status(Status(StatusCode.ERROR, code))
            call.end()
            return
        operation.result(call, parsed)
    except Exception:
        logger.debug("costledger: could not record a Bedrock answer", exc_info=True)
        call.end()


def _after_call_error(exception: Any, context: Any, **_: Any) -> None:
    found = context.pop(_CALL, None) if isinstance(context, dict) else None
    if found is None:
        return
    call, token, _operation = found
    otel_context.detach(token)
    call.end(exception if isinstance(exception, BaseException) else None)


def _register(events: Any) -> None:
    for operation in OPERATIONS:
        for event, handler in (
            ("before-parameter-build", _keep_params),
            ("before-call", _before_call),
            ("after-call", _after_call),
            ("after-call-error", _after_call_error),
        ):
            events.register(
                f"{event}.{_SERVICE}.{operation}",
                handler,
                unique_id=f"{_HANDLERS_ID}-{event}-{operation}",
            )


def _on_create_client(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    client = wrapped(*args, **kwargs)
    try:
        if client.meta.service_model.service_name == _SERVICE:
            _register(client.meta.events)
    except Exception:
        logger.debug("costledger: could not hook a bedrock-runtime client", exc_info=True)
    return client


def instrument(tracer: Tracer) -> None:
    """Hook the ``bedrock-runtime`` clients botocore makes from now on."""
    global _tracer
    _tracer = tracer
    for cls in sdk_classes("botocore.session", ("Session",)):
        _patches.wrap(cls, "create_client", _on_create_client)


def uninstrument() -> None:
    """Unwrap ``create_client``; the hooks already given to clients do nothing from now on."""
    global _tracer
    _tracer = None
    _patches.unwrap_all()


__all__ = ["instrument", "uninstrument"]
