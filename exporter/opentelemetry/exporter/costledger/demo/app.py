"""The demo's application: a support copilot written the way a user would write it.

Nothing here knows about the ledger. It calls the real ``anthropic`` and ``openai`` SDKs and
tells costledger who each call is for in the three documented ways:

- ``with attribute_to(customer_id=..., work_item_id=..., ...)`` around the ticket's work
  (embeddings, triage, chat turns, cost events);
- the seed's Step 1 pattern for the drafted answer, from a code path without that context:
  ``client.messages.create(..., metadata={"customer_id": ..., "customer_name": ...,
  "work_item_id": ..., "workspace_id": ..., "user_id": ...})`` — the instrumentation takes the
  attribution keys out before the request leaves the process (the mock API rejects unknown
  metadata keys as the real one does);
- ``record_cost(...)`` for what is not an LLM call: human review minutes, Twilio SMS, DeepL
  translations, each with its amount.

Each ticket is one trace (a ``support.ticket`` span around its calls), as a web request would be.
Tickets marked ``asynchronous`` are handled with the async clients (``await``, ``async for``,
``async with``); the requests are built once (:func:`sdk_request`) for both.

Now and then something goes wrong, as planned (:mod:`.mishaps`): a stream fails mid-way with the
API's ``error`` event and the app asks the same question again; a triage answer is cut at its
token limit and the app asks again; a user leaves a chat stream early and the app closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import anthropic
from anthropic import Anthropic, AsyncAnthropic
from openai import AsyncOpenAI, OpenAI
from opentelemetry.instrumentation.costledger import attribute_to, record_cost, record_outcome
from opentelemetry.trace import Tracer

from .customers import EMBEDDING_DIMENSIONS
from .mock_api import MockProviders
from .plan import TRIAGE_MAX_TOKENS, PlannedCall, Ticket

# The app's agents and product features, by step (``attribute_to(agent=..., feature=...)``).
AGENTS: dict[str, str] = {
    "embedding": "triage",
    "triage": "triage",
    "draft": "resolver",
    "chat_anthropic": "resolver",
    "chat_openai": "resolver",
}
FEATURES: dict[str, str] = {
    "embedding": "ticket-triage",
    "triage": "ticket-triage",
    "draft": "reply-draft",
    "chat_anthropic": "agent-chat",
    "chat_openai": "agent-chat",
    "human_review": "quality-review",
    "third_party": "customer-messaging",
}

TRIAGE_PROMPT = (
    "You are the triage step of a customer-support desk. Classify the ticket into one of "
    "billing, account, bug, how-to, integration and give a priority (low, normal, high). "
    'Answer with JSON only: {"category": ..., "priority": ...}.'
)


@dataclass(frozen=True, slots=True)
class SdkRequest:
    """One SDK call, independent of sync or async: which method, its arguments, how to read it."""

    provider: Literal["anthropic", "openai"]
    method: tuple[str, ...]  # attribute path on the client, e.g. ("messages", "create")
    kwargs: dict[str, Any]
    read: Literal["result", "iterate", "stream_helper"]


def sdk_request(ticket: Ticket, call: PlannedCall) -> SdkRequest:
    """The SDK call the app makes for ``call`` of ``ticket``."""
    model = call.request_model or ""
    if call.kind == "embedding":
        text: Any = list(call.input_texts) if len(call.input_texts) > 1 else call.input_texts[0]
        return SdkRequest(
            "openai",
            ("embeddings", "create"),
            {"model": model, "input": text, "dimensions": EMBEDDING_DIMENSIONS},
            "result",
        )
    if call.kind == "triage":
        messages = [
            {"role": "system", "content": TRIAGE_PROMPT},
            {"role": "user", "content": ticket.subject},
        ]
        kwargs = {
            "model": model,
            "messages": messages,
            "response_format": {"type": "json_object"},
            "max_completion_tokens": TRIAGE_MAX_TOKENS,
        }
        return SdkRequest("openai", ("chat", "completions", "create"), kwargs, "result")
    if call.kind == "chat_openai":
        messages = [
            {"role": "system", "content": _kb_prompt(ticket)},
            {"role": "user", "content": _follow_up(ticket, call)},
        ]
        kwargs = {"model": model, "messages": messages, "stream": True}
        return SdkRequest("openai", ("chat", "completions", "create"), kwargs, "iterate")
    if call.kind == "draft":
        customer = ticket.customer
        kwargs = {
            "model": model,
            "max_tokens": 2048,
            "system": _system(ticket),
            "messages": [{"role": "user", "content": f"Draft a reply to: {ticket.subject}"}],
            # The seed's Step 1, as written.
            "metadata": {
                "customer_id": customer.id,
                "customer_name": customer.name,
                "work_item_id": ticket.id,
                "workspace_id": ticket.workspace_id,
                "user_id": ticket.user_id,
            },
        }
        return SdkRequest("anthropic", ("messages", "create"), kwargs, "result")
    if call.kind == "chat_anthropic":
        kwargs = {
            "model": model,
            "max_tokens": 1024,
            "system": _system(ticket),
            "messages": [{"role": "user", "content": _follow_up(ticket, call)}],
        }
        if call.stream_helper:
            return SdkRequest("anthropic", ("messages", "stream"), kwargs, "stream_helper")
        return SdkRequest(
            "anthropic", ("messages", "create"), {**kwargs, "stream": True}, "iterate"
        )
    raise ValueError(f"{call.kind!r} is not an SDK call")


class SupportCopilot:
    """Handles tickets with real SDK clients; ``api`` is told which response comes next."""

    def __init__(
        self,
        anthropic: Anthropic,
        openai: OpenAI,
        api: MockProviders,
        tracer: Tracer,
        async_anthropic: AsyncAnthropic | None = None,
        async_openai: AsyncOpenAI | None = None,
    ) -> None:
        self.clients: dict[str, Any] = {"anthropic": anthropic, "openai": openai}
        self.async_clients: dict[str, Any] = {
            "anthropic": async_anthropic,
            "openai": async_openai,
        }
        self.api = api
        self.tracer = tracer

    def handle(self, ticket: Ticket, on_call: Callable[[], None] | None = None) -> None:
        """Run every planned call of ``ticket``; ``on_call()`` after each (progress)."""
        with contextlib.closing(self._steps(ticket)) as steps:
            self._run(steps, on_call)

    def _run(
        self,
        steps: Iterator[tuple[PlannedCall, SdkRequest | None]],
        on_call: Callable[[], None] | None,
    ) -> None:
        for call, request in steps:
            if request is None:
                _record(call)
            else:
                method = _method(self.clients[request.provider], request)
                with _unless_planned_to_fail(call):
                    _read(method(**request.kwargs), request, call)
            if on_call is not None:
                on_call()

    async def handle_async(self, ticket: Ticket, on_call: Callable[[], None] | None = None) -> None:
        """:meth:`handle` with the async clients."""
        with contextlib.closing(self._steps(ticket)) as steps:
            await self._run_async(steps, on_call)

    async def _run_async(
        self,
        steps: Iterator[tuple[PlannedCall, SdkRequest | None]],
        on_call: Callable[[], None] | None,
    ) -> None:
        for call, request in steps:
            if request is None:
                _record(call)
            else:
                client = self.async_clients[request.provider]
                if client is None:
                    raise ValueError(f"no async {request.provider} client was given")
                with _unless_planned_to_fail(call):
                    await _read_async(_method(client, request)(**request.kwargs), request, call)
            if on_call is not None:
                on_call()

    def _steps(self, ticket: Ticket) -> Generator[tuple[PlannedCall, SdkRequest | None]]:
        """Each call inside the ticket's span and its attribution; the mock told what comes.

        The consumer makes the call while this generator is suspended inside those ``with``
        blocks (generators run in their caller's context, so the attribution is visible);
        callers close it on error so the span ends and the context is detached at once.
        """
        with self.tracer.start_as_current_span(
            "support.ticket", attributes={"support.ticket.subject": ticket.subject}
        ):
            for call in ticket.calls:
                scope = contextlib.nullcontext() if call.via_metadata else _attribution(ticket)
                # The agent and feature of the step (human review and third-party events name
                # no agent: the ledger shares them among the ticket's agents).
                role = attribute_to(agent=AGENTS.get(call.kind), feature=FEATURES.get(call.kind))
                with scope, role:
                    if call.is_sdk_call:
                        self.api.expect(call)
                        yield call, sdk_request(ticket, call)
                    else:
                        yield call, None
            with _attribution(ticket):
                record_outcome(success=ticket.resolved)


def run_tickets(
    copilot: SupportCopilot,
    tickets: Iterable[Ticket],
    around: Callable[[Ticket], contextlib.AbstractContextManager[Any]] | None = None,
    on_call: Callable[[], None] | None = None,
) -> None:
    """Handle ``tickets`` in order, the asynchronous ones on one event loop.

    ``around(ticket)`` wraps each ticket (the demo's simulated clock).
    """
    with asyncio.Runner() as loop:
        for ticket in tickets:
            with around(ticket) if around is not None else contextlib.nullcontext():
                if ticket.asynchronous:
                    # By default a Runner runs everything in ONE context copied when it started;
                    # the ticket must see the context of now (the demo clock, OTel context).
                    context = contextvars.copy_context()
                    loop.run(copilot.handle_async(ticket, on_call), context=context)
                else:
                    copilot.handle(ticket, on_call)


def _attribution(ticket: Ticket) -> contextlib.AbstractContextManager[Any]:
    customer = ticket.customer
    return attribute_to(
        customer_id=customer.id,
        customer_name=customer.name,
        workspace_id=ticket.workspace_id,
        work_item_id=ticket.id,
        user_id=ticket.user_id,
    )


def _record(call: PlannedCall) -> None:
    if call.quantity is None or call.unit is None:
        raise ValueError(f"a planned {call.kind} event needs a quantity and a unit")
    record_cost(
        call.category,
        quantity=call.quantity,
        unit=call.unit,
        cost_usd=call.cost_usd,
        item=call.item,
    )


def _method(client: Any, request: SdkRequest) -> Any:
    target = client
    for name in request.method:
        target = getattr(target, name)
    return target


@contextlib.contextmanager
def _unless_planned_to_fail(call: PlannedCall) -> Iterator[None]:
    """The app's error handling: a failed answer is asked again (the plan's next call)."""
    if call.fate != "failed":
        yield
        return
    with contextlib.suppress(anthropic.APIStatusError):
        yield
        raise RuntimeError(f"the {call.kind} call was planned to fail but did not")


# Events (or text pieces) a user sees before leaving an abandoned stream.
_READ_BEFORE_LEAVING = 3


def _read(result: Any, request: SdkRequest, call: PlannedCall) -> None:
    # Read the answer the way a UI would: the whole text, every streamed event; an abandoned
    # stream only its first events, then the app closes it.
    if request.read == "stream_helper":
        with result as stream:
            if call.fate == "abandoned":
                for _, _text in zip(range(_READ_BEFORE_LEAVING), stream.text_stream, strict=False):
                    pass
                return
            "".join(stream.text_stream)
            stream.get_final_message()
    elif request.read == "iterate":
        with contextlib.closing(result):
            limit = _READ_BEFORE_LEAVING if call.fate == "abandoned" else None
            for _event in itertools.islice(result, limit):
                pass


async def _read_async(pending: Any, request: SdkRequest, call: PlannedCall) -> None:
    if request.read == "stream_helper":
        async with pending as stream:
            read = 0
            async for _text in stream.text_stream:
                read += 1
                if call.fate == "abandoned" and read >= _READ_BEFORE_LEAVING:
                    return
            await stream.get_final_message()
        return
    result = await pending
    if request.read == "iterate":
        try:
            read = 0
            async for _event in result:
                read += 1
                if call.fate == "abandoned" and read >= _READ_BEFORE_LEAVING:
                    break
        finally:
            await result.close()


def _follow_up(ticket: Ticket, call: PlannedCall) -> str:
    # Each turn asks something new (the same words again would be a re-ask of the same request).
    return f"Follow-up {call.turn} on: {ticket.subject}"


def _kb_prompt(ticket: Ticket) -> str:
    return (
        f"You answer support tickets for {ticket.customer.name}. Use the knowledge base "
        "articles below and never invent policies."
    )


def _system(ticket: Ticket) -> Any:
    # The customer's knowledge base is the long, stable prefix that prompt caching is for.
    ttl = ticket.customer.cache_ttl
    return [
        {
            "type": "text",
            "text": _kb_prompt(ticket),
            "cache_control": {"type": "ephemeral", "ttl": ttl},
        }
    ]
