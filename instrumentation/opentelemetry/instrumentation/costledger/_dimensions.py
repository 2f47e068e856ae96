"""What a call tells about itself beyond its attribution: its agent, its request digest, its
HTTP attempts, and whether a stream was cancelled (``costledger.call.status = cancelled``).

Agent from an enclosing span
    Other producers (the OpenAI Agents SDK through OpenInference or OpenLLMetry, the GenAI
    conventions' ``invoke_agent`` spans) name the agent on a span that *encloses* the LLM calls
    it makes. A call (or another instrumentation's span) started while such a span is current
    takes its ``gen_ai.agent.name`` when its attribution names no agent (``attribute_to(agent=)``
    and baggage win: they are what the application said). The processor copies the name onto
    every span started inside, so it reaches calls several spans down.

Request digest (``costledger.request.hash``)
    A 128-bit BLAKE2b digest of the request's shape: provider, operation, model and the call's
    arguments (messages, system prompt, tools, parameters), without what does not change the
    question (``metadata``, ``stream``, timeouts, extra headers). Two calls of one work item with
    the same digest ask the same thing: the later one is an application retry or re-ask (the
    ledger's rule, see the exporter's ``jobs/retries.py``). The digest cannot be turned back into
    the content, and nothing of the content itself leaves the process. Since that rule compares
    calls within one work item only, the digest is made only for a call whose attribution names
    a work item (``work_item.id``, from ``attribute_to``, baggage or the call's ``metadata``):
    a call without one carries no digest and pays nothing for it.

HTTP attempts (``costledger.request.attempts``)
    The anthropic and openai SDKs retry failed HTTP requests themselves and announce the retry
    number on each attempt (the ``x-stainless-retry-count`` header). :func:`instrument` wraps
    the public ``send`` of their HTTP client (``httpx2.Client`` / ``AsyncClient``): while a
    counted call runs, each request it sends records its attempt number among the attributes
    the call sets when it ends (``LLMCall.end_attributes``, which the call's context carries), so
    the span ends with the number of attempts the call took (1 when it was not retried). A plain
    dict write per request: nothing touches the span until the call ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any, Final, cast

from opentelemetry.util.types import AttributeValue

from . import attributes as A
from ._context import running_call

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

RETRY_HEADER: Final = "x-stainless-retry-count"

# Arguments that do not change what is asked.
_NOT_THE_QUESTION: Final = frozenset(
    {
        "metadata",
        "stream",
        "stream_options",
        "timeout",
        "extra_headers",
        "extra_query",
        "extra_body",
        "user",
        "store",
        "service_tier",
    }
)


def enclosing_agent(span: object) -> str | None:
    """The agent named by ``span`` (another producer's agent span, or one the processor marked)."""
    attrs = getattr(span, "attributes", None)
    if not attrs:
        return None
    name = attrs.get(A.GEN_AI_AGENT_NAME)
    return name if isinstance(name, str) and name else None


def _plain(value: Any) -> Any:
    # SDK models (pydantic), sentinels and other objects: their stable text form.
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            pass
    return repr(value)


# The canonical form of a request: made once (``json.dumps`` with these options would build a
# new encoder on every call); keys sorted, so the digest is the same in every process. No check
# for circular references (a marker per list and dict): a request the SDK can send has none,
# and one that had would still end in an error (``RecursionError``), so in no digest.
_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), default=_plain, ensure_ascii=False, check_circular=False
)


def request_digest(
    provider: str,
    operation: str,
    model: str | None,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> str | None:
    """The digest of a request's shape (see the module docstring); None if it cannot be made."""
    try:
        asked = {k: v for k, v in kwargs.items() if k not in _NOT_THE_QUESTION}
        text = _CANONICAL.encode([provider, operation, model, args, asked])
    except Exception:
        logger.debug("costledger: could not digest a request", exc_info=True)
        return None
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def add_call_dimensions(
    attrs: dict[str, AttributeValue],
    provider: str,
    operation: str,
    model: str | None,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    parent: object,
) -> None:
    """Put the request digest (when the call names a work item, see the module docstring), and
    the enclosing span's agent when none is named, on a call's start attributes."""
    if A.WORK_ITEM_ID in attrs:
        digest = request_digest(provider, operation, model, args, kwargs)
        if digest is not None:
            attrs[A.REQUEST_HASH] = digest
    if A.GEN_AI_AGENT_NAME not in attrs:
        agent = enclosing_agent(parent)
        if agent is not None:
            attrs[A.GEN_AI_AGENT_NAME] = agent


def mark_if_cancelled(call: object) -> None:
    """A stream that ended without error, before its end and without a finish reason, was
    abandoned by the caller (closed, left by ``break``, dropped): its call is ``cancelled``.
    (A stream the SDK's helpers read to the end, e.g. ``get_final_message()``, has its finish
    reason, so it is not.)"""
    attrs = getattr(call, "end_attributes", None)
    if attrs is not None and A.GEN_AI_RESPONSE_FINISH_REASONS not in attrs:
        attrs[A.CALL_STATUS] = "cancelled"


# --- the SDKs' HTTP attempts ------------------------------------------------------------------


def _record_attempt(request: Any) -> None:
    # The counted call's end attributes, in the context its SDK method runs in
    # (``_context.call_context``): where the attempts are recorded.
    running = running_call()
    if running is None:
        return
    value = request.headers.get(RETRY_HEADER)
    if value is None:
        return
    attempt = int(value) + 1
    end_attributes = running.end_attributes
    if attempt > cast(int, end_attributes.get(A.REQUEST_ATTEMPTS, 0)):
        end_attributes[A.REQUEST_ATTEMPTS] = attempt


def _send(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        request = args[0] if args else kwargs.get("request")
        if request is not None:
            _record_attempt(request)
    except Exception:
        logger.debug("costledger: could not read the SDK's retry count", exc_info=True)
    return wrapped(*args, **kwargs)


_patched: list[tuple[type, str]] = []


def instrument(tracer: object = None) -> None:
    """Wrap ``httpx2.Client.send`` and ``httpx2.AsyncClient.send`` (once)."""
    if _patched:
        return
    import httpx2
    import wrapt

    for cls in (httpx2.Client, httpx2.AsyncClient):
        wrapt.wrap_function_wrapper(cls, "send", _send)
        _patched.append((cls, "send"))


def uninstrument() -> None:
    from opentelemetry.instrumentation.utils import unwrap

    while _patched:
        cls, method = _patched.pop()
        unwrap(cls, method)
