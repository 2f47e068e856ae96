"""google-genai ``usage_metadata`` read into GenAI-convention token counts.

Gemini reports ``prompt_token_count`` INCLUDING the cached content (``cached_content_token_count``,
cache reads) and, apart, ``tool_use_prompt_token_count`` (the input of built-in tools, billed as
input); ``candidates_token_count`` EXCLUDES the thinking tokens (``thoughts_token_count``), which
are billed as output. So: input = prompt + tool-use prompt, cache read = cached content, output =
candidates + thoughts, reasoning = thoughts -- as genai-prices reads the same fields. An
embedding's ``usage_metadata`` (``UsageMetadata``) has the prompt count only; where it is absent
(Vertex AI) the embeddings' own ``statistics.token_count`` are added up.
"""

from __future__ import annotations

from typing import Any

from ..usage import TokenUsage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def token_usage(usage: Any) -> TokenUsage:
    """The counts of a ``usage_metadata`` (a google-genai model)."""
    thoughts = _int(getattr(usage, "thoughts_token_count", None))
    output = _int(getattr(usage, "candidates_token_count", None))
    if not output:  # embeddings' UsageMetadata says response_token_count
        output = _int(getattr(usage, "response_token_count", None))
    return TokenUsage(
        input_tokens=_int(getattr(usage, "prompt_token_count", None))
        + _int(getattr(usage, "tool_use_prompt_token_count", None)),
        output_tokens=output + thoughts,
        cache_read_tokens=_int(getattr(usage, "cached_content_token_count", None)),
        reasoning_tokens=thoughts,
    )


def embedding_usage(response: Any) -> TokenUsage | None:
    """The counts of an ``EmbedContentResponse``; ``None`` when it reports none."""
    usage = getattr(response, "usage_metadata", None)
    if usage is not None and getattr(usage, "prompt_token_count", None) is not None:
        return token_usage(usage)
    total: float = 0
    seen = False
    for embedding in getattr(response, "embeddings", None) or ():
        count = getattr(getattr(embedding, "statistics", None), "token_count", None)
        if isinstance(count, int | float) and not isinstance(count, bool):
            total += count
            seen = True
    return TokenUsage(input_tokens=int(total)) if seen else None


def finish_reasons(response: Any) -> list[str]:
    reasons = []
    for candidate in getattr(response, "candidates", None) or ():
        reason = getattr(candidate, "finish_reason", None)
        if reason is not None:
            reasons.append(str(getattr(reason, "value", reason)).lower())
    return reasons
