"""What a month's plan is made of: each cost event as it will be sent (:class:`PlannedCall`),
the tickets they belong to, the month, and what the ledger must hold afterwards.

:func:`.traffic.plan_month` makes a :class:`MonthPlan`; the app sends it and the tests compare
the ledger with :meth:`MonthPlan.totals`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from opentelemetry.instrumentation.costledger.usage import TokenUsage

from .customers import Customer

# How a call ends: answered in full; cut at the token limit (the API's finish reason says so);
# failed mid-stream with the API's ``error`` event after the input was billed; or abandoned by the
# app, which stops reading the stream after a few events.
Fate = Literal["ok", "truncated", "failed", "abandoned"]
CallKind = Literal[
    "embedding", "triage", "draft", "chat_anthropic", "chat_openai", "human_review", "third_party"
]
TRIAGE_MAX_TOKENS = 100  # the triage call's ``max_completion_tokens``
SDK_KINDS: frozenset[str] = frozenset(
    {"embedding", "triage", "draft", "chat_anthropic", "chat_openai"}
)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One cost event exactly as it will be sent: an SDK call's response usage, or a cost."""

    kind: CallKind
    category: str  # the ledger category the row must get
    provider: str | None = None  # "anthropic" / "openai" for SDK calls
    model: str | None = None  # the model the API answers with
    request_model: str | None = None  # the model the app asks for
    usage: TokenUsage = field(default_factory=TokenUsage)
    stream: bool = False
    # Anthropic only: the stream helper (``messages.stream``) instead of ``create(stream=True)``.
    stream_helper: bool = False
    via_metadata: bool = False  # attribution through the seed's Step 1 ``metadata=`` pattern
    # The first attempt gets 429 rate_limit_error; the SDK retries (one call, one row).
    rate_limited: bool = False
    fate: Fate = "ok"
    turn: int = 0  # chat turns: the turn's number in the ticket's conversation (from 1)
    output_text: str = ""
    input_texts: tuple[str, ...] = ()  # embeddings: the inputs
    # Cost events (record_cost).
    quantity: Decimal | None = None
    unit: str | None = None
    cost_usd: Decimal | None = None
    item: str | None = None

    @property
    def is_sdk_call(self) -> bool:
        return self.kind in SDK_KINDS


@dataclass(frozen=True, slots=True)
class Ticket:
    """A support ticket: the work item that every call it makes is attributed to."""

    id: str
    customer: Customer
    workspace_id: str
    user_id: str
    subject: str
    start: datetime  # UTC, the simulated moment the app starts working on it
    calls: tuple[PlannedCall, ...]
    # Handled by the app's asyncio worker (AsyncAnthropic / AsyncOpenAI) instead of the sync one.
    asynchronous: bool = False
    # Its outcome, recorded with ``record_outcome`` when the app is done with it.
    resolved: bool = True


@dataclass(frozen=True, slots=True)
class MonthPlan:
    month: str  # YYYY-MM
    seed: int
    tickets: tuple[Ticket, ...]  # in time order

    @property
    def calls(self) -> int:
        return sum(len(t.calls) for t in self.tickets)

    def totals(self) -> dict[tuple[str, str], PlannedTotals]:
        """What the ledger must hold per (customer_id, category), from the plan alone."""
        found: dict[tuple[str, str], PlannedTotals] = {}
        for ticket in self.tickets:
            for call in ticket.calls:
                key = (ticket.customer.id, call.category)
                found.setdefault(key, PlannedTotals()).add(call)
        return found


@dataclass(slots=True)
class PlannedTotals:
    rows: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    quantity: Decimal = Decimal(0)
    cost_usd: Decimal = Decimal(0)  # record_cost events only (token prices are the ledger's)

    def add(self, call: PlannedCall) -> None:
        self.rows += 1
        self.input_tokens += call.usage.input_tokens
        self.output_tokens += call.usage.output_tokens
        self.cache_read_tokens += call.usage.cache_read_tokens
        self.cache_write_5m_tokens += call.usage.cache_write_5m_tokens
        self.cache_write_1h_tokens += call.usage.cache_write_1h_tokens
        if call.quantity is not None:
            self.quantity += call.quantity
        if call.cost_usd is not None:
            self.cost_usd += call.cost_usd
