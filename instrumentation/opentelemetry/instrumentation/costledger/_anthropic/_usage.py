"""Anthropic ``usage`` read once, into GenAI-convention token counts; a complete Message.

Anthropic reports ``input_tokens`` EXCLUDING cache; the span's input INCLUDES cache reads and
writes. Cache writes are split 5-minute / 1-hour from ``usage.cache_creation`` (all 5-minute
when the breakdown is absent); thinking tokens (``usage.output_tokens_details``) are part of
the output; beta *compaction* iterations (``usage.iterations`` of type ``compaction``), which
the top-level counts leave out but which are billed, are added in. See the package docstring.
"""

from __future__ import annotations

from typing import Any, Final

from .._call import LLMCall
from ..usage import TokenUsage
from ._fields import as_int, get, jsonable, reader
from ._platforms import answered_model

# The fields ``AnthropicUsage.assign`` and ``record_message`` read from a usage and a message.
_USAGE_FIELDS: Final = frozenset(
    {
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "cache_creation",
        "output_tokens_details",
        "service_tier",
    }
)
_MESSAGE_FIELDS: Final = frozenset({"usage", "stop_reason", "model", "id"})
_PLAIN_USAGE: dict[type, bool] = {}
_PLAIN_MESSAGE: dict[type, bool] = {}


class AnthropicUsage:
    """The one reader of Anthropic ``usage`` (an SDK model or a decoded dict).

    ``assign(usage)`` takes the fields a usage reports; a stream's later ``message_delta``
    reports running totals, not increments, so each field present replaces the last. Beta
    compaction iterations, billed beyond the top-level counts, are read from the latest usage.
    ``token_usage()`` gives the GenAI-convention counts: input INCLUDES cache reads and writes
    (Anthropic reports them apart), 1-hour cache writes split from 5-minute ones, reasoning
    (``thinking_tokens``) within output.
    """

    # Class-level starting values: a fresh reader costs no ``__init__`` (one per call); ``assign``
    # sets the instance's own.
    input = 0
    output = 0
    cache_read = 0
    cache_write = 0
    cache_1h = 0
    thinking = 0
    compaction = (0, 0)
    service_tier: str | None = None

    def assign(self, usage: Any) -> None:
        read = reader(usage, _USAGE_FIELDS, _PLAIN_USAGE)
        value = read(usage, "input_tokens")
        if type(value) is int:
            self.input = value
        value = read(usage, "output_tokens")
        if type(value) is int:
            self.output = value
        value = read(usage, "cache_read_input_tokens")
        if type(value) is int:
            self.cache_read = value
        value = read(usage, "cache_creation_input_tokens")
        if type(value) is int:
            self.cache_write = value
        breakdown = read(usage, "cache_creation")
        if breakdown is not None:
            value = get(breakdown, "ephemeral_1h_input_tokens")
            self.cache_1h = value if type(value) is int else 0
        details = read(usage, "output_tokens_details")
        if details is not None:
            value = get(details, "thinking_tokens")
            self.thinking = value if type(value) is int else 0
        tier = read(usage, "service_tier")
        if tier:
            self.service_tier = tier
        self.compaction = _compaction_tokens(usage)

    def token_usage(self) -> TokenUsage:
        write = self.cache_write
        one_hour = self.cache_1h if self.cache_1h < write else write
        output = self.output
        thinking = self.thinking if self.thinking < output else output
        extra_input, extra_output = self.compaction
        # Positional, in the field order of TokenUsage (a keyword call of a NamedTuple costs more).
        return TokenUsage(
            self.input + self.cache_read + write + extra_input,  # input_tokens
            output + extra_output,  # output_tokens
            self.cache_read,  # cache_read_tokens
            write - one_hour,  # cache_write_5m_tokens
            one_hour,  # cache_write_1h_tokens
            thinking,  # reasoning_tokens
        )


def _compaction_tokens(usage: Any) -> tuple[int, int]:
    """(input incl. cache, output) of beta compaction iterations, billed beyond the top level."""
    entries = get(usage, "iterations")
    if not isinstance(entries, list):
        return 0, 0
    tokens_in = tokens_out = 0
    for entry in entries:
        if get(entry, "type") == "compaction":
            tokens_in += (
                as_int(get(entry, "input_tokens"))
                + as_int(get(entry, "cache_read_input_tokens"))
                + as_int(get(entry, "cache_creation_input_tokens"))
            )
            tokens_out += as_int(get(entry, "output_tokens"))
    return tokens_in, tokens_out


def record_message(call: LLMCall, message: Any) -> None:
    """Put a complete Message (an SDK model or a decoded dict) on ``call``."""
    read = reader(message, _MESSAGE_FIELDS, _PLAIN_MESSAGE)
    stop = read(message, "stop_reason")
    usage = read(message, "usage")
    tier = None
    if usage is not None:
        fields = AnthropicUsage()
        fields.assign(usage)
        call.usage = fields.token_usage()
        tier = fields.service_tier
    call.set_response(
        model=answered_model(call, read(message, "model")),
        response_id=read(message, "id"),
        finish_reasons=[stop] if isinstance(stop, str) else None,
        service_tier=tier,
    )
    if call.capture_content:
        content = jsonable(get(message, "content"))
        call.set_content(output_messages=[{"role": "assistant", "content": content}])
