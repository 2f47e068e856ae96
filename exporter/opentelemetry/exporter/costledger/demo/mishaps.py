"""What goes wrong in a few of the demo's tickets, so that the iceberg's hidden layers of failed,
cancelled and truncated calls and application re-asks have something in them.

:func:`mishap` draws from the ticket's own generator, so every other ticket keeps its plan, and
it keeps the ticket's number of calls, so a plan still has exactly the calls it was asked for.
What each planned call then reports (its usage) is what the ledger must hold: a stream left or
failed early has reported its input and its first output token.
"""

from __future__ import annotations

import random
from dataclasses import replace

from opentelemetry.instrumentation.costledger.usage import TokenUsage

from .plan import TRIAGE_MAX_TOKENS, PlannedCall, Ticket

# Shares of tickets, in this order of the one draw (a ticket has one mishap at most).
TRUNCATED_SHARE = 0.03  # the triage answer is cut at its token limit; the app asks again
FAILED_SHARE = 0.05  # an Anthropic chat stream fails mid-way (billed); the app asks again
ABANDONED_SHARE = 0.04  # the user leaves an Anthropic chat stream before its end


def mishap(ticket: Ticket, rng: random.Random) -> Ticket:
    """Maybe one thing goes wrong in ``ticket`` (its own generator: other tickets keep their plan).

    - truncated: the triage answer stops at ``max_completion_tokens`` (finish reason ``length``,
      billed in full); the app asks the same question again;
    - failed: an Anthropic chat turn's stream ends with the API's ``error`` event after a few
      deltas; the input was billed at ``message_start``. The app asks the same question again;
    - abandoned: the user leaves the last Anthropic chat turn after a few deltas; the app stops
      reading and closes the stream (the input is billed, and the first output token).

    A re-ask takes the place of the ticket's last chat turn, so the plan keeps its size; a ticket
    without a chat turn after the call stays as it is.
    """
    calls = list(ticket.calls)
    chats = [i for i, c in enumerate(calls) if c.kind in ("chat_anthropic", "chat_openai")]
    streams = [i for i in chats if calls[i].kind == "chat_anthropic"]
    roll = rng.random()
    if roll < TRUNCATED_SHARE:
        triage = next((i for i, c in enumerate(calls) if c.kind == "triage"), None)
        if triage is None or not chats or chats[-1] < triage:
            return ticket
        asked = calls[triage]
        cut = asked.usage._replace(output_tokens=TRIAGE_MAX_TOKENS)
        text = asked.output_text[: len(asked.output_text) // 2]
        calls[triage] = replace(asked, fate="truncated", usage=cut, output_text=text)
        _reask(calls, triage, asked, chats[-1])
    elif roll < TRUNCATED_SHARE + FAILED_SHARE:
        if not streams or streams[0] == chats[-1]:
            return ticket
        asked = calls[streams[0]]
        calls[streams[0]] = replace(asked, fate="failed", usage=_first_token(asked.usage))
        _reask(calls, streams[0], asked, chats[-1])
    elif roll < TRUNCATED_SHARE + FAILED_SHARE + ABANDONED_SHARE:
        if not streams:
            return ticket
        left = calls[streams[-1]]
        calls[streams[-1]] = replace(left, fate="abandoned", usage=_first_token(left.usage))
    else:
        return ticket
    return replace(ticket, calls=tuple(calls))


def _first_token(usage: TokenUsage) -> TokenUsage:
    # What a stream left early has reported: its input, and one output token (message_start).
    return usage._replace(output_tokens=min(usage.output_tokens, 1))


def _reask(calls: list[PlannedCall], index: int, asked: PlannedCall, instead_of: int) -> None:
    again = replace(asked, rate_limited=calls[instead_of].rate_limited)
    del calls[instead_of]
    calls.insert(index + 1, again)
