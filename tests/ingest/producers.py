"""The attribute sets real GenAI producers put on their spans, for one Anthropic call.

Each set is what that producer's released code emits (read from its source; versions named),
for the same call: claude-sonnet-4-5-20250929, 100 uncached input tokens, 5000 cache reads,
2000 cache writes (1500 with the 5-minute TTL, 500 with the 1-hour TTL), 300 output tokens.
The Anthropic API reports ``input_tokens = 100`` (EXCLUDING cache); producers differ in whether
they pass that on or the total 7100.
"""

from __future__ import annotations

from typing import Any

RESPONSE_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"
MODEL = "claude-sonnet-4-5-20250929"

# What every producer's row must hold for the call above.
BUCKETS = {
    "input_tokens": 7100,
    "uncached_input_tokens": 100,
    "cache_read_tokens": 5000,
    "output_tokens": 300,
}

# costledger's own instrumentation (INSTR/_call.py): semconv + our 5m/1h split.
OURS: dict[str, Any] = {
    "gen_ai.provider.name": "anthropic",
    "gen_ai.operation.name": "chat",
    "costledger.counted": True,
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.response.model": MODEL,
    "gen_ai.response.id": RESPONSE_ID,
    "gen_ai.usage.input_tokens": 7100,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 5000,
    "gen_ai.usage.cache_write.input_tokens": 2000,
    "costledger.usage.cache_write_5m.input_tokens": 1500,
    "costledger.usage.cache_write_1h.input_tokens": 500,
    "costledger.cost.amount": "0.014925",
    "costledger.cost.currency": "USD",
}

# anthropic 2.14 (anthropic/_tracing.py SPAN_ATTRIBUTES + lib/_tracing/_response.py
# set_usage_sums, which ADDS the cache counts to input_tokens). Scope com.anthropic.sdk.python.
ANTHROPIC_SDK: dict[str, Any] = {
    "server.address": "api.anthropic.com",
    "server.port": 443,
    "gen_ai.provider.name": "anthropic",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.request.max_tokens": 1024,
    "http.request.method": "POST",
    "http.route": "/v1/messages",
    "gen_ai.usage.input_tokens": 7100,
    "http.response.status_code": 200,
    "anthropic.request.id": "req_011CQ",
    "gen_ai.response.id": RESPONSE_ID,
    "gen_ai.response.model": MODEL,
    "gen_ai.usage.cache_write.input_tokens": 2000,
    "gen_ai.usage.cache_read.input_tokens": 5000,
    "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 1500,
    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 500,
    "anthropic.response.service_tier": "standard",
    "gen_ai.usage.output_tokens": 300,
    "anthropic.message.stop_reason": "end_turn",
}

# OpenLLMetry opentelemetry-instrumentation-anthropic 0.62 (__init__._set_token_usage: input =
# input + cache_read + cache_creation; semconv 1.3x cache keys; total tokens). No 5m/1h split.
OPENLLMETRY: dict[str, Any] = {
    "gen_ai.provider.name": "anthropic",
    "gen_ai.operation.name": "chat",
    "llm.request.type": "chat",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.request.max_tokens": 1024,
    "gen_ai.response.model": MODEL,
    "gen_ai.response.id": RESPONSE_ID,
    "gen_ai.usage.input_tokens": 7100,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.total_tokens": 7400,
    "gen_ai.usage.cache_read.input_tokens": 5000,
    "gen_ai.usage.cache_creation.input_tokens": 2000,
}

# OpenLLMetry before the semconv migration (0.2x-0.3x): gen_ai.system "Anthropic", prompt /
# completion tokens (prompt includes cache), Anthropic-style cache keys, llm.usage.total_tokens.
OPENLLMETRY_LEGACY: dict[str, Any] = {
    "gen_ai.system": "Anthropic",
    "llm.request.type": "chat",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.response.model": MODEL,
    "gen_ai.response.id": RESPONSE_ID,
    "gen_ai.usage.prompt_tokens": 7100,
    "gen_ai.usage.completion_tokens": 300,
    "llm.usage.total_tokens": 7400,
    "gen_ai.usage.cache_read_input_tokens": 5000,
    "gen_ai.usage.cache_creation_input_tokens": 2000,
}

# OpenLIT 1.45 (instrumentation/anthropic/utils.py): input_tokens is Anthropic's raw count,
# EXCLUDING cache ("prompt_tokens_include_cache stays False"); gen_ai.usage.cost is a float
# (never used for money); telemetry.sdk.name = "openlit".
OPENLIT: dict[str, Any] = {
    "telemetry.sdk.name": "openlit",
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "server.address": "api.anthropic.com",
    "server.port": 443,
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.response.model": MODEL,
    "gen_ai.response.id": RESPONSE_ID,
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.total_tokens": 400,
    "gen_ai.usage.cost": 0.0138,  # its own price of the call: no 1-hour split known
    "gen_ai.usage.cache_read.input_tokens": 5000,
    "gen_ai.usage.cache_creation.input_tokens": 2000,
    "deployment.environment": "default",
    "service.name": "default",
    "gen_ai.request.is_stream": False,
}

# opentelemetry-instrumentation-openai-v2 2.4b0 (semconv 1.3x, gen_ai.system spelling), an
# OpenAI chat: prompt_tokens INCLUDES cached tokens; reasoning inside completion tokens.
OPENAI_V2: dict[str, Any] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "o3-mini",
    "gen_ai.response.model": "o3-mini-2025-01-31",
    "gen_ai.response.id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.openai.response.service_tier": "default",
    "gen_ai.openai.request.service_tier": "auto",
    "gen_ai.usage.input_tokens": 2000,
    "gen_ai.usage.output_tokens": 900,
    "gen_ai.usage.cache_read.input_tokens": 1024,
    "gen_ai.usage.reasoning.output_tokens": 640,
    "server.address": "api.openai.com",
}

# opentelemetry-instrumentation-openai-v2: an embeddings call.
OPENAI_V2_EMBEDDINGS: dict[str, Any] = {
    "gen_ai.operation.name": "embeddings",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "text-embedding-3-small",
    "gen_ai.response.model": "text-embedding-3-small",
    "gen_ai.usage.input_tokens": 5000,
    "server.address": "api.openai.com",
}

ALL_ANTHROPIC = {
    "ours": OURS,
    "anthropic-sdk": ANTHROPIC_SDK,
    "openllmetry": OPENLLMETRY,
    "openllmetry-legacy": OPENLLMETRY_LEGACY,
    "openlit": OPENLIT,
}
