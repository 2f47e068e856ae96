"""Who an LLM call (or any cost) is for: customer, workspace, work item, user -- and which agent,
feature, conversation (session) and user-declared tags it belongs to.

Attribution lives in the OpenTelemetry context as W3C Baggage under the keys of
:mod:`.attributes` (``customer.id``, ``customer.name``, ``workspace.id``, ``work_item.id``,
``user.id``). Baggage is what the OTel propagators carry across HTTP and gRPC hops, so a customer
set at the edge of one service reaches the LLM calls of the services behind it (the default
``OTEL_PROPAGATORS=tracecontext,baggage`` carries it; keep ``baggage`` in the list).

The dimensions beyond the customer travel the same way: ``agent=`` (``gen_ai.agent.name``),
``feature=`` (``costledger.feature``), ``session=`` (``gen_ai.conversation.id``) and
``tags={"plan": "pro"}`` (``costledger.tag.plan``; the ledger keeps only the tag names its
configuration allows, see the exporter's ``COSTLEDGER_TAGS``).

Three ways to set it, all ending in the same context:

``attribute_to(...)`` -- a context manager and a decorator (plain and ``async def`` functions)::

    from opentelemetry.instrumentation.costledger import attribute_to

    with attribute_to(customer_id="cust_12345", work_item_id="ticket_67890"):
        client.messages.create(...)

    @attribute_to(customer_id="cust_12345")
    async def handle(ticket): ...

Incoming baggage -- a request whose ``baggage`` header carries ``customer.id=cust_12345`` is
attributed with no code change in the receiving service (its server instrumentation extracts the
context).

The call's own ``metadata=`` (Step 1 of the seed article)::

    client.messages.create(..., metadata={"customer_id": "cust_12345", "work_item_id": "t_1"})

The attribution keys (``customer_id``, ``customer_name``, ``workspace_id``, ``work_item_id``,
``user_id``) are taken out of ``metadata`` before the request leaves the process; only what the
provider accepts is forwarded (Anthropic: ``user_id``). They apply to that one call.

Rules:

- The innermost value wins, key by key: a nested ``attribute_to(work_item_id=...)`` keeps the
  outer customer; a call's ``metadata`` beats the context.
- A *different* customer starts afresh: the outer customer's name, workspace, work item, user
  and session are not carried over to another customer (they belong to the outer one) unless
  given again.
- A value of ``None`` means "not given here" (the outer value stays).
- A missing customer is recorded as missing (no ``customer.id`` attribute; the ledger row has a
  NULL customer), never guessed from other keys.
- The context is detached when the block or the decorated call exits, also on exceptions.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, TypeVar, cast

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.context import Context

from .attributes import (
    ATTRIBUTION_KEYS,
    CUSTOMER_ID,
    CUSTOMER_NAME,
    FEATURE,
    GEN_AI_AGENT_NAME,
    METADATA_KEYS,
    SESSION,
    TAG_PREFIX,
    USER_ID,
    WORK_ITEM_ID,
    WORKSPACE_ID,
)

F = TypeVar("F", bound=Callable[..., Any])

# The keys that belong to one customer: dropped when an inner scope names another customer.
# (A conversation is one customer's too; agent, feature and tags are not.)
_CUSTOMER_SCOPED: Final = (CUSTOMER_NAME, WORKSPACE_ID, WORK_ITEM_ID, USER_ID, SESSION)


def _value(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(
            f"attribute_to({name}=...) takes a str (or int), got {type(value).__name__}"
        )
    text = str(value)
    if not text:
        raise ValueError(f"attribute_to({name}=...) is empty; pass None to leave it unset")
    return text


def merge_attribution(outer: Mapping[str, str], inner: Mapping[str, str]) -> dict[str, str]:
    """``inner`` over ``outer`` by the rules of this module (another customer starts afresh)."""
    inner_customer = inner.get(CUSTOMER_ID)
    if inner_customer is not None and inner_customer != outer.get(CUSTOMER_ID):
        merged = {k: v for k, v in outer.items() if k not in _CUSTOMER_SCOPED}
    else:
        merged = dict(outer)
    merged.update(inner)
    return merged


def current_attribution(context: Context | None = None) -> dict[str, str]:
    """The attribution in ``context`` (default: the current one), read from W3C Baggage."""
    entries = baggage.get_all(context)
    return attribution_in(entries) if entries else {}


def attribution_in(entries: Mapping[str, object]) -> dict[str, str]:
    """The attribution among baggage ``entries`` (the fixed keys, then the tags)."""
    found = {key: str(entries[key]) for key in ATTRIBUTION_KEYS if key in entries}
    for key, value in entries.items():
        if key.startswith(TAG_PREFIX):
            found[key] = str(value)
    return found


def _tag_values(tags: object) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise TypeError(f"attribute_to(tags=...) takes a dict of str, got {type(tags).__name__}")
    found = {}
    for name, value in tags.items():
        if not isinstance(name, str) or not name or any(c in name for c in ' ,;="\\'):
            raise ValueError(
                f"attribute_to(tags=...): tag name {name!r} must be a non-empty str without"
                " spaces, commas, semicolons, '=' or quotes (it becomes a baggage key)"
            )
        text = _value(f"tags[{name!r}]", value)
        if text is not None:
            found[TAG_PREFIX + name] = text
    return found


def context_with_attribution(values: Mapping[str, str], context: Context | None = None) -> Context:
    """``context`` with ``values`` merged into its baggage (see :func:`merge_attribution`)."""
    ctx = context if context is not None else otel_context.get_current()
    outer = current_attribution(ctx)
    merged = merge_attribution(outer, values)
    for key in dict.fromkeys((*ATTRIBUTION_KEYS, *merged, *outer)):
        if key in merged:
            if outer.get(key) != merged[key]:
                ctx = baggage.set_baggage(key, merged[key], ctx)
        elif key in outer:
            ctx = baggage.remove_baggage(key, ctx)
    return ctx


def split_metadata(
    metadata: object, forward: frozenset[str]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Split a call's ``metadata=`` into what goes to the provider and the attribution it names.

    Returns ``(metadata_to_send, attribution)``; ``metadata_to_send`` is ``None`` when nothing is
    left to send (drop the argument). Keys in ``forward`` (e.g. Anthropic's ``user_id``) are sent
    on AND used for attribution. A ``metadata`` that is not a mapping is returned untouched (the
    SDK's own sentinels such as ``omit``), with no attribution.
    """
    if not isinstance(metadata, Mapping):
        return cast(Any, metadata), {}
    send: dict[str, Any] = {}
    found: dict[str, str] = {}
    for key, value in metadata.items():
        attribute = METADATA_KEYS.get(key)
        if attribute is None:
            send[key] = value
            continue
        if value is not None and not isinstance(value, bool) and isinstance(value, str | int):
            text = str(value)
            if text:
                found[attribute] = text
        if key in forward:
            send[key] = value
    return (send or None), found


class attribute_to:
    """Attribute every LLM call and cost event inside to a customer (context manager/decorator).

    ``customer_id`` is what the ledger sums by; the others refine it. See the module docstring
    for the rules (innermost wins, a different customer starts afresh, None = not given).
    """

    __slots__ = ("_tokens", "_values")

    def __init__(
        self,
        customer_id: str | int | None = None,
        *,
        work_item_id: str | int | None = None,
        workspace_id: str | int | None = None,
        user_id: str | int | None = None,
        customer_name: str | None = None,
        agent: str | None = None,
        feature: str | None = None,
        session: str | int | None = None,
        tags: Mapping[str, str | int] | None = None,
    ) -> None:
        values = {
            CUSTOMER_ID: _value("customer_id", customer_id),
            CUSTOMER_NAME: _value("customer_name", customer_name),
            WORKSPACE_ID: _value("workspace_id", workspace_id),
            WORK_ITEM_ID: _value("work_item_id", work_item_id),
            USER_ID: _value("user_id", user_id),
            GEN_AI_AGENT_NAME: _value("agent", agent),
            FEATURE: _value("feature", feature),
            SESSION: _value("session", session),
        }
        self._values: dict[str, str] = {k: v for k, v in values.items() if v is not None}
        self._values.update(_tag_values(tags))
        self._tokens: list[object] = []

    @property
    def values(self) -> dict[str, str]:
        """The attribution this scope sets, by attribute key."""
        return dict(self._values)

    def __enter__(self) -> attribute_to:
        self._tokens.append(otel_context.attach(context_with_attribution(self._values)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        otel_context.detach(cast(Any, self._tokens.pop()))

    async def __aenter__(self) -> attribute_to:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    @contextmanager
    def _scope(self) -> Iterator[None]:
        # A token per call, not on the instance: a decorated function may run in many threads.
        token = otel_context.attach(context_with_attribution(self._values))
        try:
            yield
        finally:
            otel_context.detach(token)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._scope():
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._scope():
                return func(*args, **kwargs)

        return cast(F, wrapper)
