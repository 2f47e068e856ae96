"""A month of support-desk AI traffic for the seed's four customers, planned before it is sent.

The demo app is a support copilot. For every support ticket (the work item) it

1. embeds the ticket text (OpenAI ``text-embedding-3-small``, category ``embedding``);
2. triages it (OpenAI ``gpt-4o-mini`` chat; a 1,400-token shared system prompt that OpenAI
   caches automatically, so warm calls report ``cached_tokens``);
3. drafts an answer (Anthropic ``messages.create`` with the customer's knowledge base as a
   cached system prompt: the first call in a cache lifetime WRITES the cache, later ones READ it;
   the biggest customer uses the 1-hour cache, the others the 5-minute one), attributed with the
   seed's Step 1 ``metadata=`` pattern;
4. chats with the agent for a few streamed turns (Anthropic or OpenAI SSE streams; the history
   grows every turn);
5. sometimes has a person spot-check the answer for a few minutes (``record_cost("human_review",
   ...)`` in minutes at $60/hour), sends an SMS (Twilio) or translates the reply (DeepL):
   ``third_party`` events.

About a third of the tickets go through the app's asyncio worker, which uses the SDKs' async
clients (``AsyncAnthropic``, ``AsyncOpenAI``). About 2% of the SDK calls are rate limited on
their first attempt (HTTP 429) and retried by the SDK: still one call, one ledger row. In a few
tickets something goes wrong (:mod:`.mishaps`): a stream fails mid-way, a user leaves a stream
early, a triage answer is cut at its token limit; the app asks again after a failure or a cut.

:func:`plan_month` decides everything up front — ticket times, models, every token count, every
cost event — from ``random.Random`` seeded with the demo's seed, so a plan is a pure function of
``(month, calls, seed)`` and the tests can compare the ledger with what was planned (and hence
sent) exactly. Ticket times follow business hours in each customer's time zone, quieter on
weekends; cust_54321 ramps up in the month's last week, so ``costledger alerts`` has a spike to
find.

Who the customers are, the models and the third-party prices: :mod:`.customers`.
"""

from __future__ import annotations

import calendar
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opentelemetry.instrumentation.costledger.usage import TokenUsage

from .customers import (
    CUSTOMERS,
    EMBEDDING,
    GPT_MINI,
    GPT_MINI_ALIAS,
    REPLY_SENTENCES,
    REVIEW_USD_PER_MINUTE,
    SMS_USD_PER_SEGMENT,
    TICKET_SUBJECTS,
    TRANSLATE_USD_PER_CHARACTER,
    Customer,
)
from .mishaps import mishap
from .plan import CallKind, MonthPlan, PlannedCall, Ticket

DEFAULT_CALLS = 2_000  # ~12 s of CPU on one core of this machine's class
DEFAULT_SEED = 42
# The plan (response texts included) is held in memory: ~1.5 kB per call.
MAX_CALLS = 100_000

# A prompt cached by OpenAI stays warm for a few minutes of inactivity; it caches the longest
# prefix in 128-token steps once the prompt reaches 1,024 tokens.
OPENAI_CACHE_IDLE = timedelta(minutes=7)
TRIAGE_SYSTEM_TOKENS = 1_412
ASYNC_SHARE = 0.3  # tickets the app handles with the SDKs' async clients
RATE_LIMITED_SHARE = 0.02  # SDK calls whose first attempt is rate limited (then retried)


def parse_month(month: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` → (first instant, first instant of the next month), UTC."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"month {month!r} is not YYYY-MM (for example 2025-05)") from None
    days = calendar.monthrange(start.year, start.month)[1]
    return start, start + timedelta(days=days)


def alerts_week(month: str) -> str:
    """The ISO week the demo suggests checking for spikes: the month's last full week, whose
    end holds cust_54321's ramp-up (``spike_last_week``)."""
    _, end = parse_month(month)
    year, week, _ = (end - timedelta(days=4)).isocalendar()
    return f"{year}-W{week:02d}"


def previous_month(now: datetime | None = None) -> str:
    """The last complete calendar month (UTC) before ``now``: the demo's default month."""
    now = now or datetime.now(UTC)
    first = now.replace(day=1)
    last_of_previous = first - timedelta(days=1)
    return f"{last_of_previous.year:04d}-{last_of_previous.month:02d}"


def split_calls(calls: int, customers: Sequence[Customer] = CUSTOMERS) -> dict[str, int]:
    """``calls`` shared among customers by weight, largest remainder (sums to ``calls``)."""
    total = sum(c.weight for c in customers)
    parts = {c.id: divmod(calls * c.weight, total) for c in customers}
    shares = {cid: whole for cid, (whole, _) in parts.items()}
    left = calls - sum(shares.values())
    for cid in sorted(parts, key=lambda cid: parts[cid][1], reverse=True)[:left]:
        shares[cid] += 1
    return shares


def plan_month(month: str, calls: int, seed: int) -> MonthPlan:
    """The month's tickets, with exactly ``calls`` cost events in all, deterministic by seed."""
    if not 1 <= calls <= MAX_CALLS:
        raise ValueError(f"calls must be between 1 and {MAX_CALLS:,}, got {calls:,}")
    start, end = parse_month(month)
    skeletons: list[tuple[Customer, list[_Step], random.Random]] = []
    quotas = split_calls(calls)
    for customer in CUSTOMERS:
        quota = quotas[customer.id]
        rng = random.Random(f"{seed}:{month}:{customer.id}")
        left = quota
        while left > 0:
            steps = _ticket_steps(customer, rng)[:left]
            left -= len(steps)
            skeletons.append((customer, steps, rng))
    # Times per customer, drawn from its business-hours profile; then all tickets in time order.
    by_customer: dict[str, list[int]] = {}
    for index, (customer, _, _) in enumerate(skeletons):
        by_customer.setdefault(customer.id, []).append(index)
    starts: dict[int, datetime] = {}
    for customer in CUSTOMERS:
        indexes = by_customer.get(customer.id, [])
        rng = random.Random(f"{seed}:{month}:{customer.id}:times")
        for index, moment in zip(
            indexes, sorted(_ticket_times(customer, start, end, len(indexes), rng)), strict=True
        ):
            starts[index] = moment
    order = sorted(range(len(skeletons)), key=lambda i: (starts[i], skeletons[i][0].id))
    state = _CacheState()
    tickets = []
    for number, index in enumerate(order, start=1):
        customer, steps, _ = skeletons[index]
        rng = random.Random(f"{seed}:{month}:ticket:{number}")
        ticket = _realize(number, customer, steps, starts[index], state, rng)
        # A generator of its own, so that the rest of the plan is what it was before outcomes.
        outcome = random.Random(f"{seed}:{month}:ticket:{number}:outcome")
        ticket = replace(ticket, resolved=outcome.random() < customer.resolve_rate)
        tickets.append(mishap(ticket, random.Random(f"{seed}:{month}:ticket:{number}:mishap")))
    return MonthPlan(month=month, seed=seed, tickets=tuple(tickets))


# --- internals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    kind: CallKind
    size: int  # output tokens, minutes, segments or characters, by kind
    ticket_tokens: int = 0  # the ticket text's size (same for every step of a ticket)
    context_tokens: int = 0  # knowledge-base articles retrieved for the ticket (not cached)
    stream_helper: bool = False
    item: str | None = None  # third-party events: what was bought


def _ticket_steps(customer: Customer, rng: random.Random) -> list[_Step]:
    ticket_tokens = int(rng.lognormvariate(5.0, 0.6)) + 30  # median ~180 tokens
    # Articles and the ticket's thread retrieved for the answer: median ~16,000 tokens.
    context = int(rng.lognormvariate(9.6, 0.5)) + 500
    steps = [
        _Step("embedding", 0, ticket_tokens),
        _Step("triage", rng.randint(18, 46), ticket_tokens),
        _Step("draft", int(rng.lognormvariate(6.6, 0.35)) + 60, ticket_tokens, context),
    ]
    for _ in range(rng.randint(*customer.turns)):
        kind: CallKind = "chat_openai" if customer.chat_model == GPT_MINI else "chat_anthropic"
        size = int(rng.lognormvariate(5.3, 0.45)) + 20
        steps.append(_Step(kind, size, ticket_tokens, context, rng.random() < 0.5))
    if rng.random() < customer.review_rate:
        steps.append(_Step("human_review", rng.randint(*customer.review_minutes)))
    if rng.random() < customer.sms_rate:
        steps.append(_Step("third_party", rng.randint(1, 3), item="twilio.sms"))
    if rng.random() < customer.translate_rate:
        steps.append(_Step("third_party", rng.randint(400, 2_400), item="deepl.translate"))
    return steps


def _ticket_times(
    customer: Customer, start: datetime, end: datetime, count: int, rng: random.Random
) -> list[datetime]:
    hours = int((end - start).total_seconds() // 3600) - 1  # keep the month's last hour free
    last_week = end - timedelta(days=7)
    weights = []
    for hour in range(hours):
        moment = start + timedelta(hours=hour)
        local = moment + timedelta(hours=customer.utc_offset_hours)
        weight = 1.0 if 8 <= local.hour < 19 else 0.08
        if local.weekday() >= 5:
            weight *= 0.25
        if moment >= last_week:
            weight *= customer.spike_last_week
        weights.append(weight)
    chosen = rng.choices(range(hours), weights=weights, k=count)
    return [start + timedelta(hours=hour, seconds=rng.randrange(3600)) for hour in chosen]


@dataclass(slots=True)
class _CacheState:
    """When each cached prompt was last used, to decide cache write versus cache read."""

    anthropic: dict[tuple[str, str], datetime] = field(default_factory=dict)
    openai_triage: datetime | None = None


def _realize(
    number: int,
    customer: Customer,
    steps: Sequence[_Step],
    start: datetime,
    cache: _CacheState,
    rng: random.Random,
) -> Ticket:
    subject = rng.choice(TICKET_SUBJECTS)
    calls: list[PlannedCall] = []
    history = 0  # conversation tokens so far (ticket, draft, turns)
    turn = 0  # chat turns so far
    ttl = timedelta(hours=1) if customer.cache_ttl == "1h" else timedelta(minutes=5)
    for step in steps:
        if step.kind == "embedding":
            text = _ticket_text(subject, step.ticket_tokens, rng)
            usage = TokenUsage(input_tokens=step.ticket_tokens)
            calls.append(
                PlannedCall(
                    "embedding",
                    "embedding",
                    "openai",
                    EMBEDDING,
                    EMBEDDING,
                    usage,
                    input_texts=(text,),
                )
            )
        elif step.kind == "triage":
            prompt = TRIAGE_SYSTEM_TOKENS + step.ticket_tokens
            warm = cache.openai_triage is not None and start - cache.openai_triage < (
                OPENAI_CACHE_IDLE
            )
            cache.openai_triage = start
            cached = (TRIAGE_SYSTEM_TOKENS // 128) * 128 if warm else 0
            usage = TokenUsage(
                input_tokens=prompt, output_tokens=step.size, cache_read_tokens=cached
            )
            category = rng.choice(("billing", "account", "bug", "how-to", "integration"))
            priority = rng.choice(("low", "normal", "high"))
            text = json.dumps({"category": category, "priority": priority})
            calls.append(
                PlannedCall(
                    "triage", "api", "openai", GPT_MINI, GPT_MINI_ALIAS, usage, output_text=text
                )
            )
        elif step.kind == "draft" or step.kind == "chat_anthropic":
            model = customer.draft_model if step.kind == "draft" else customer.chat_model
            key = (customer.id, model)
            last = cache.anthropic.get(key)
            read = last is not None and start - last < ttl
            cache.anthropic[key] = start
            kb = customer.kb_tokens
            # instructions + ticket + retrieved articles + the conversation so far
            uncached = 28 + step.ticket_tokens + step.context_tokens + history
            usage = TokenUsage(
                input_tokens=kb + uncached,
                output_tokens=step.size,
                cache_read_tokens=kb if read else 0,
                cache_write_5m_tokens=0 if read or customer.cache_ttl == "1h" else kb,
                cache_write_1h_tokens=0 if read or customer.cache_ttl == "5m" else kb,
            )
            # After the draft the cache is warm for the turns that follow.
            turn += step.kind == "chat_anthropic"
            calls.append(
                PlannedCall(
                    step.kind,
                    "api",
                    "anthropic",
                    model,
                    model,
                    usage,
                    stream=step.kind == "chat_anthropic",
                    stream_helper=step.stream_helper,
                    via_metadata=step.kind == "draft",
                    turn=turn if step.kind == "chat_anthropic" else 0,
                    output_text=_reply_text(step.size, rng),
                )
            )
            history += step.size + rng.randint(15, 80)  # the answer and the user's next message
        elif step.kind == "chat_openai":
            prompt = 40 + step.ticket_tokens + step.context_tokens + history
            usage = TokenUsage(input_tokens=prompt, output_tokens=step.size)
            turn += 1
            calls.append(
                PlannedCall(
                    "chat_openai",
                    "api",
                    "openai",
                    GPT_MINI,
                    GPT_MINI_ALIAS,
                    usage,
                    stream=True,
                    turn=turn,
                    output_text=_reply_text(step.size, rng),
                )
            )
            history += step.size + rng.randint(15, 80)
        elif step.kind == "human_review":
            minutes = Decimal(step.size)
            calls.append(
                PlannedCall(
                    "human_review",
                    "human_review",
                    quantity=minutes,
                    unit="minute",
                    cost_usd=minutes * REVIEW_USD_PER_MINUTE,
                    item="support.review",
                )
            )
        elif step.item == "twilio.sms":
            segments = Decimal(step.size)
            calls.append(
                PlannedCall(
                    "third_party",
                    "third_party",
                    quantity=segments,
                    unit="segment",
                    cost_usd=segments * SMS_USD_PER_SEGMENT,
                    item="twilio.sms",
                )
            )
        else:
            characters = Decimal(step.size)
            calls.append(
                PlannedCall(
                    "third_party",
                    "third_party",
                    quantity=characters,
                    unit="character",
                    cost_usd=characters * TRANSLATE_USD_PER_CHARACTER,
                    item="deepl.translate",
                )
            )
    calls = [
        replace(call, rate_limited=True)
        if call.is_sdk_call and rng.random() < RATE_LIMITED_SHARE
        else call
        for call in calls
    ]
    return Ticket(
        id=f"ticket_{60000 + number}",
        customer=customer,
        workspace_id=rng.choice(customer.workspaces),
        user_id=rng.choice(customer.users),
        subject=subject,
        start=start,
        calls=tuple(calls),
        asynchronous=rng.random() < ASYNC_SHARE,
    )


def _ticket_text(subject: str, tokens: int, rng: random.Random) -> str:
    words = [subject + "."]
    filler = ("Hello team,", "we noticed that", "since yesterday", "our users report",
              "the page", "shows an error", "when they try", "again.", "Could you check",
              "what is going on?", "Thanks,", "regards.")  # fmt: skip
    # ~0.75 words per token in English prose
    while len(words) < tokens * 3 // 4:
        words.append(rng.choice(filler))
    return " ".join(words)


def _reply_text(tokens: int, rng: random.Random) -> str:
    target = tokens * 4  # ~4 characters per token
    parts: list[str] = []
    size = 0
    while size < target:
        sentence = rng.choice(REPLY_SENTENCES)
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)


def customers_by_id(customers: Iterable[Customer] = CUSTOMERS) -> dict[str, Customer]:
    return {c.id: c for c in customers}
