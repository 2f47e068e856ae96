"""Token usage of one call in non-overlapping buckets, shared by instrumentation and ledger."""

from __future__ import annotations

from typing import NamedTuple


class TokenUsage(NamedTuple):
    """Token counts of one call.

    ``input_tokens`` is the total input INCLUDING cache reads and writes, as the GenAI
    conventions define ``gen_ai.usage.input_tokens``; ``output_tokens`` includes reasoning.
    ``cache_write_tokens`` is the sum of the 5-minute and 1-hour writes when the provider splits
    them (Anthropic), and is all 5-minute writes when it does not.

    A ``NamedTuple`` rather than a frozen dataclass: one is built per call in users' apps and per
    row in the ledger, and a tuple is built without an ``object.__setattr__`` per field.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def uncached_input_tokens(self) -> int:
        """Input billed at the base input price; negative means the counts are inconsistent."""
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens

    @property
    def non_reasoning_output_tokens(self) -> int:
        return self.output_tokens - self.reasoning_tokens

    def problems(self) -> list[str]:
        """Why these counts cannot all be true at once (empty when they add up)."""
        found = [
            f"{name} is negative ({value})"
            for name, value in (
                ("input_tokens", self.input_tokens),
                ("output_tokens", self.output_tokens),
                ("cache_read_tokens", self.cache_read_tokens),
                ("cache_write_5m_tokens", self.cache_write_5m_tokens),
                ("cache_write_1h_tokens", self.cache_write_1h_tokens),
                ("reasoning_tokens", self.reasoning_tokens),
            )
            if value < 0
        ]
        if self.uncached_input_tokens < 0:
            found.append(
                f"cache tokens ({self.cache_read_tokens} read + {self.cache_write_tokens} write)"
                f" exceed input_tokens ({self.input_tokens})"
            )
        if self.non_reasoning_output_tokens < 0:
            found.append(
                f"reasoning_tokens ({self.reasoning_tokens}) exceed output_tokens"
                f" ({self.output_tokens})"
            )
        return found
