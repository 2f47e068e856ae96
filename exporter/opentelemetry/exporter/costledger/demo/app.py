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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anthropic import Anthropic
from openai import OpenAI
from opentelemetry.instrumentation.costledger import attribute_to, record_cost
from opentelemetry.trace import Tracer

from .mock_api import MockProviders
from .traffic import EMBEDDING_DIMENSIONS, PlannedCall, Ticket

TRIAGE_PROMPT = (
    "You are the triage step of a customer-support desk. Classify the ticket into one of "
    "billing, account, bug, how-to, integration and give a priority (low, normal, high). "
    'Answer with JSON only: {"category": ..., "priority": ...}.'
)


class SupportCopilot:
    """Handles tickets with real SDK clients; ``api`` is told which response comes next."""

    def __init__(
        self, anthropic: Anthropic, openai: OpenAI, api: MockProviders, tracer: Tracer
    ) -> None:
        self.anthropic = anthropic
        self.openai = openai
        self.api = api
        self.tracer = tracer

    def handle(self, ticket: Ticket, on_call: Callable[[], None] | None = None) -> None:
        """Run every planned call of ``ticket``; ``on_call()`` after each (progress)."""
        customer = ticket.customer
        with self.tracer.start_as_current_span(
            "support.ticket", attributes={"support.ticket.subject": ticket.subject}
        ):
            for call in ticket.calls:
                if call.via_metadata:
                    self._draft_with_metadata(ticket, call)
                else:
                    with attribute_to(
                        customer_id=customer.id,
                        customer_name=customer.name,
                        workspace_id=ticket.workspace_id,
                        work_item_id=ticket.id,
                        user_id=ticket.user_id,
                    ):
                        self._call(ticket, call)
                if on_call is not None:
                    on_call()

    def _call(self, ticket: Ticket, call: PlannedCall) -> None:
        if call.is_sdk_call:
            self.api.expect(call)
        if call.kind == "embedding":
            self.openai.embeddings.create(
                model=call.request_model or "",
                input=list(call.input_texts) if len(call.input_texts) > 1 else call.input_texts[0],
                dimensions=EMBEDDING_DIMENSIONS,
            )
        elif call.kind == "triage":
            self.openai.chat.completions.create(
                model=call.request_model or "",
                messages=[
                    {"role": "system", "content": TRIAGE_PROMPT},
                    {"role": "user", "content": ticket.subject},
                ],
                response_format={"type": "json_object"},
                max_completion_tokens=100,
            )
        elif call.kind == "chat_anthropic":
            self._anthropic_turn(ticket, call)
        elif call.kind == "chat_openai":
            stream = self.openai.chat.completions.create(
                model=call.request_model or "",
                messages=[
                    {"role": "system", "content": _kb_prompt(ticket)},
                    {"role": "user", "content": f"Follow-up on: {ticket.subject}"},
                ],
                stream=True,
            )
            "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        elif call.kind in ("human_review", "third_party"):
            if call.quantity is None or call.unit is None:
                raise ValueError(f"a planned {call.kind} event needs a quantity and a unit")
            record_cost(
                call.category,
                quantity=call.quantity,
                unit=call.unit,
                cost_usd=call.cost_usd,
                item=call.item,
            )
        else:  # pragma: no cover - the plan only has the kinds above
            raise ValueError(f"unknown planned call kind {call.kind!r}")

    def _draft_with_metadata(self, ticket: Ticket, call: PlannedCall) -> None:
        customer = ticket.customer
        # The seed's Step 1, as written (the SDK's type only knows the API's own user_id).
        metadata: Any = {
            "customer_id": customer.id,
            "customer_name": customer.name,
            "work_item_id": ticket.id,
            "workspace_id": ticket.workspace_id,
            "user_id": ticket.user_id,
        }
        self.api.expect(call)
        self.anthropic.messages.create(
            model=call.request_model or "",
            max_tokens=2048,
            system=_system(ticket),
            messages=[{"role": "user", "content": f"Draft a reply to: {ticket.subject}"}],
            metadata=metadata,
        )

    def _anthropic_turn(self, ticket: Ticket, call: PlannedCall) -> None:
        request: dict[str, Any] = {
            "model": call.request_model or "",
            "max_tokens": 1024,
            "system": _system(ticket),
            "messages": [{"role": "user", "content": f"Follow-up on: {ticket.subject}"}],
        }
        if call.stream_helper:
            with self.anthropic.messages.stream(**request) as stream:
                "".join(stream.text_stream)
                stream.get_final_message()
        else:
            events = self.anthropic.messages.create(stream=True, **request)
            for _event in events:
                pass


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
