"""Bedrock Runtime usage, in each of its shapes, read into GenAI-convention token counts.

- Converse / ConverseStream ``usage``: ``inputTokens`` EXCLUDES the cache reads
  (``cacheReadInputTokens``) and writes (``cacheWriteInputTokens``), which are added in; the
  writes' ``cacheDetails`` entries of ``ttl`` ``1h`` are the 1-hour writes, the rest 5-minute
  ones (as genai-prices reads them). Amazon Nova's InvokeModel body says
  ``cacheReadInputTokenCount`` / ``cacheWriteInputTokenCount`` for the same counts.
- InvokeModel bodies of Anthropic models are Anthropic Messages (``usage.input_tokens`` ...):
  read by the Anthropic reader (``_anthropic._usage``), as are their stream's
  ``message_start`` / ``message_delta`` events.
- Any other model: the counts Bedrock puts on every InvokeModel answer, the
  ``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count`` headers, and at the end of a
  stream ``amazon-bedrock-invocationMetrics`` (``inputTokenCount``, ``outputTokenCount``,
  ``cacheReadInputTokenCount``, ``cacheWriteInputTokenCount``), whose input excludes the cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._anthropic._usage import AnthropicUsage
from ..usage import TokenUsage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def converse_usage(usage: Mapping[str, Any]) -> TokenUsage:
    """Converse's (and Nova's, and the invocation metrics') usage; input excludes the cache."""
    get = usage.get
    read = _int(get("cacheReadInputTokens")) or _int(get("cacheReadInputTokenCount"))
    write = _int(get("cacheWriteInputTokens")) or _int(get("cacheWriteInputTokenCount"))
    one_hour = 0
    for detail in get("cacheDetails") or ():
        if isinstance(detail, Mapping) and detail.get("ttl") == "1h":
            one_hour += _int(detail.get("inputTokens"))
    one_hour = min(one_hour, write)
    uncached = _int(get("inputTokens")) or _int(get("inputTokenCount"))
    output = _int(get("outputTokens")) or _int(get("outputTokenCount"))
    return TokenUsage(uncached + read + write, output, read, write - one_hour, one_hour, 0)


def header_usage(headers: Mapping[str, Any]) -> TokenUsage | None:
    """The token counts of an InvokeModel answer's headers (lower-cased names)."""
    given = headers.get("x-amzn-bedrock-input-token-count")
    if given is None:
        return None
    try:
        input_tokens = int(given)
        output_tokens = int(headers.get("x-amzn-bedrock-output-token-count") or 0)
    except ValueError:
        return None
    return TokenUsage(input_tokens, output_tokens)


def body_usage(body: Any, headers: Mapping[str, Any]) -> TokenUsage | None:
    """The usage of a decoded InvokeModel body, else of the answer's headers."""
    usage = body.get("usage") if isinstance(body, Mapping) else None
    if isinstance(usage, Mapping):
        if "input_tokens" in usage:  # an Anthropic Message
            reader = AnthropicUsage()
            reader.assign(usage)
            return reader.token_usage()
        if "inputTokens" in usage:  # Amazon Nova
            return converse_usage(usage)
    return header_usage(headers)
