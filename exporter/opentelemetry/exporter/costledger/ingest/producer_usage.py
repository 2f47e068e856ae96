"""Token usage as producers report it, read into the ledger's non-overlapping buckets.

:func:`read_usage` reads a call span's counts under any producer's keys (which spans are calls,
and their provider and model: :mod:`.producers`); :func:`what_it_is` describes a bad value for
the row's ``flags``.

Producers and their token semantics
-----------------------------------
Rows hold non-overlapping buckets: ``uncached_input + cache_read + cache_write_5m +
cache_write_1h = input_tokens`` and ``reasoning`` is part of ``output_tokens``.

=============================== ========================== =====================================
producer                        input count                cache keys
=============================== ========================== =====================================
costledger (ours)               includes cache             ``gen_ai.usage.cache_read/cache_write``
                                                           + ``costledger.usage.cache_write_5m/1h``
anthropic SDK 2.x own spans     includes cache (it sums)   ``cache_read/cache_write`` +
                                                           ``anthropic.usage.cache_creation.*``
instrumentation-genai / semconv includes cache             ``cache_read`` / ``cache_creation``
OpenLLMetry (traceloop)         includes cache (it sums;   ``cache_read/cache_creation``, legacy
                                legacy ``prompt_tokens``)  ``cache_read_input_tokens`` ...
OpenLIT                         Anthropic: EXCLUDES cache  ``cache_read/cache_creation``,
                                (raw API field); others    ``prompt_tokens_details.cached_tokens``
                                include it                 / ``.cache_creation_tokens`` (spans
                                                           carry ``telemetry.sdk.name=openlit``)
OpenInference (kinds LLM and    ``llm.token_count.prompt`` ``llm.token_count.prompt_details.``
EMBEDDING only)                 includes cache             ``cache_read`` / ``cache_write``
LiteLLM                         ``prompt_tokens`` (legacy) none
=============================== ========================== =====================================

Where the 5-minute / 1-hour split of cache writes is known it is used; otherwise every cache
write is a 5-minute write (the price every producer but Anthropic's 1h TTL bills).

Bad values are kept, never guessed
----------------------------------
A count that is not a whole number (``"abc"``, ``1.5``, ``True``) is treated as unknown and named
in the row's ``flags`` (a number as it is, anything else by its type: text put in a count may be
a prompt or a secret and is not copied into the ledger); counts that cannot all be true
(negative, cache larger than input, reasoning larger than output) are kept as reported and named
in ``flags``. Such a row is stored UNPRICED with the reason, so it shows up in ``costledger
prices check`` instead of carrying a made-up cost or a silent zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.usage import TokenUsage

from .spans import SpanData

# Each token bucket's keys, the current convention's first. Any usage key on a span makes it a
# candidate LLM call.
_INPUT_KEYS = (A.GEN_AI_USAGE_INPUT_TOKENS, *A.LEGACY_INPUT_TOKENS, A.LLM_TOKEN_COUNT_PROMPT)
_OUTPUT_KEYS = (A.GEN_AI_USAGE_OUTPUT_TOKENS, *A.LEGACY_OUTPUT_TOKENS, A.LLM_TOKEN_COUNT_COMPLETION)
_CACHE_READ_KEYS = (
    A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    *A.LEGACY_CACHE_READ_TOKENS,
    A.LLM_TOKEN_COUNT_CACHE_READ,
)
_CACHE_WRITE_KEYS = (
    A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    *A.LEGACY_CACHE_WRITE_TOKENS,
    A.LLM_TOKEN_COUNT_CACHE_WRITE,
)
_CACHE_5M_KEYS = (A.COSTLEDGER_USAGE_CACHE_WRITE_5M_TOKENS, A.ANTHROPIC_CACHE_WRITE_5M_TOKENS)
_CACHE_1H_KEYS = (A.COSTLEDGER_USAGE_CACHE_WRITE_1H_TOKENS, A.ANTHROPIC_CACHE_WRITE_1H_TOKENS)
_REASONING_KEYS = (
    A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    *A.LEGACY_REASONING_TOKENS,
    A.LLM_TOKEN_COUNT_REASONING,
)
_TOTAL_KEY_TUPLE = (*A.LEGACY_TOTAL_TOKENS, A.LLM_TOKEN_COUNT_TOTAL)
USAGE_KEY_SET = frozenset((*_INPUT_KEYS, *_OUTPUT_KEYS, *_TOTAL_KEY_TUPLE))
_BUCKET_KEYS = (
    _INPUT_KEYS,
    _OUTPUT_KEYS,
    _CACHE_READ_KEYS,
    _CACHE_WRITE_KEYS,
    _CACHE_5M_KEYS,
    _CACHE_1H_KEYS,
    _REASONING_KEYS,
)
_IN_KEY, _OUT_KEY, _READ_KEY, _WRITE_KEY, _5M_KEY, _1H_KEY, _REASONING_KEY = (
    keys[0] for keys in _BUCKET_KEYS
)
# Keys that only other producers use: when a span has none of them (our own spans, the
# anthropic SDK's, semconv producers) each bucket is one dictionary lookup.
_SECONDARY_USAGE_KEYS = frozenset(key for keys in _BUCKET_KEYS for key in keys[1:]) - {
    _IN_KEY,
    _OUT_KEY,
}
_TOTAL_KEYS = frozenset(_TOTAL_KEY_TUPLE)

# Providers whose raw API input count excludes cache tokens, for producers that pass it on as is.
_INPUT_EXCLUDES_CACHE_PROVIDERS = frozenset({"anthropic"})


Usage = tuple[int, int, int, int, int, int, list[str] | None, bool]
"""What :func:`read_usage` reads: ``(input, output, cache_read, cache_write_5m, cache_write_1h,
reasoning, problems, unusable)`` — the problems named in the row's ``flags`` (``None`` or
empty when there are none), and whether the counts are unusable (the row stays unpriced)."""


def read_usage(span: SpanData, provider: str | None) -> Usage:
    """The token usage of a call span, in non-overlapping buckets, from any producer's keys."""
    attrs = span.attributes
    get = attrs.get
    input_tokens = get(_IN_KEY)
    output_tokens = get(_OUT_KEY)
    cache_read = get(_READ_KEY)
    write_5m = get(_WRITE_KEY)
    reasoning = get(_REASONING_KEY)
    if (
        # The common case (our spans, the SDKs', semconv producers): whole-number counts under
        # the current keys only, one lookup per bucket.
        type(input_tokens) is int
        and (type(output_tokens) is int or output_tokens is None)
        and (cache_read is None or type(cache_read) is int)
        and (write_5m is None or type(write_5m) is int)
        and (reasoning is None or type(reasoning) is int)
        and _SECONDARY_USAGE_KEYS.isdisjoint(attrs)
        and _5M_KEY not in attrs
        and _1H_KEY not in attrs
        # without an output count (embeddings) a total count would say what it is
        and (output_tokens is not None or _TOTAL_KEYS.isdisjoint(attrs))
    ):
        output_tokens = output_tokens or 0
        cache_read = cache_read or 0
        write_5m = write_5m or 0
        reasoning = reasoning or 0
        if (
            input_tokens
            and provider in _INPUT_EXCLUDES_CACHE_PROVIDERS
            and _input_excludes_cache(span, provider)
        ):
            input_tokens += cache_read + write_5m
        if (
            (input_tokens | output_tokens | cache_read | write_5m | reasoning) < 0
            or input_tokens < cache_read + write_5m
            or output_tokens < reasoning
        ):
            problems = TokenUsage(
                input_tokens, output_tokens, cache_read, write_5m, 0, reasoning
            ).problems()
            return input_tokens, output_tokens, cache_read, write_5m, 0, reasoning, problems, True
        return input_tokens, output_tokens, cache_read, write_5m, 0, reasoning, None, False

    # Any other span: legacy keys, totals, the 5m/1h split, unreadable values.
    read = _Reader(attrs)
    others = not _SECONDARY_USAGE_KEYS.isdisjoint(attrs)
    input_tokens = _pick(read, input_tokens, _INPUT_KEYS, others)
    output_tokens = _pick(read, output_tokens, _OUTPUT_KEYS, others)
    cache_read = _pick(read, cache_read, _CACHE_READ_KEYS, others) or 0
    cache_write = _pick(read, write_5m, _CACHE_WRITE_KEYS, others)
    split_5m = _pick(read, get(_5M_KEY), _CACHE_5M_KEYS, others)
    split_1h = _pick(read, get(_1H_KEY), _CACHE_1H_KEYS, others)
    reasoning = _pick(read, reasoning, _REASONING_KEYS, others) or 0
    if input_tokens is None or output_tokens is None:
        total = read.count(_TOTAL_KEY_TUPLE)
        if total is not None and input_tokens is None and output_tokens is not None:
            input_tokens = total - output_tokens
        elif total is not None and output_tokens is None and input_tokens is not None:
            output_tokens = total - input_tokens
    if split_5m is None and split_1h is None:
        write_5m, write_1h = cache_write or 0, 0
    else:
        write_5m, write_1h = split_5m or 0, split_1h or 0
        if cache_write is not None and cache_write != write_5m + write_1h:
            read.flags.append(
                f"cache write split ({write_5m} 5m + {write_1h} 1h) does not add up to"
                f" the cache write count ({cache_write})"
            )
            read.unknown = True
    input_tokens = input_tokens or 0
    output_tokens = output_tokens or 0
    if input_tokens and _input_excludes_cache(span, provider):
        input_tokens += cache_read + write_5m + write_1h
    flags = read.flags
    unusable = read.unknown
    if (
        min(input_tokens, cache_read, write_5m, write_1h, reasoning) < 0
        or input_tokens < cache_read + write_5m + write_1h
        or output_tokens < reasoning
    ):
        usage = TokenUsage(input_tokens, output_tokens, cache_read, write_5m, write_1h, reasoning)
        flags = flags + usage.problems()
        unusable = True
    return input_tokens, output_tokens, cache_read, write_5m, write_1h, reasoning, flags, unusable


def _input_excludes_cache(span: SpanData, provider: str | None) -> bool:
    if provider not in _INPUT_EXCLUDES_CACHE_PROVIDERS:
        return False
    sdk = span.attributes.get(A.TELEMETRY_SDK_NAME)
    return sdk == "openlit" or (span.scope_name or "").startswith("openlit")


def _pick(read: _Reader, value: Any, keys: tuple[str, ...], others: bool) -> int | None:
    """The count of one bucket, given the value of its first key (the common case)."""
    if type(value) is int:
        return value
    if value is None and not others:
        return None
    return read.count(keys)


class _Reader:
    """Reads counts from one span's attributes, collecting what is wrong with them."""

    __slots__ = ("attrs", "flags", "unknown")

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        self.attrs = attrs
        self.flags: list[str] = []
        self.unknown = False  # a count was present but unreadable

    def count(self, keys: tuple[str, ...]) -> int | None:
        """The first of ``keys`` present, as an int; ``None`` when absent or unreadable."""
        for key in keys:
            value = self.attrs.get(key)
            if value is None:
                continue
            if type(value) is int:
                return value
            number = _whole_number(value)
            if number is None:
                self.flags.append(f"{key} is not an integer ({what_it_is(value)})")
                self.unknown = True
            return number
        return None


def what_it_is(value: Any) -> str:
    """A bad value described for ``flags``: a number as it is, anything else by its type only.

    Text put where a number belongs may be anything (a prompt, a secret): it is not copied
    into the ledger.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return "text" if isinstance(value, str) else type(value).__name__


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None
