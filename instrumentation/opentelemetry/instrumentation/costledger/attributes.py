"""Every span attribute and baggage key costledger reads or writes, in one place.

The GenAI keys follow the OpenTelemetry GenAI semantic conventions; the ``LEGACY_*`` tuples list
spellings that other producers (OpenLLMetry, OpenLIT, older semconv releases) still emit, so the
exporter can read their spans. Keys the conventions lack live under ``costledger.*``.
"""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions -------------------------------------------------------------
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"  # pre-1.37 spelling of the provider
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
GEN_AI_REQUEST_SERVICE_TIER: Final = "gen_ai.request.service_tier"
GEN_AI_RESPONSE_SERVICE_TIER: Final = "gen_ai.response.service_tier"

# Token usage. ``input_tokens`` INCLUDES cached input (read and write); ``output_tokens``
# INCLUDES reasoning tokens.
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
# The conventions have one cache-write count; Anthropic bills 5-minute and 1-hour writes
# differently, so the split travels under our namespace (the two add up to cache_write).
COSTLEDGER_USAGE_CACHE_WRITE_5M_TOKENS: Final = "costledger.usage.cache_write_5m.input_tokens"
COSTLEDGER_USAGE_CACHE_WRITE_1H_TOKENS: Final = "costledger.usage.cache_write_1h.input_tokens"

ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
SERVICE_NAME: Final = "service.name"  # resource attribute

# Legacy / other producers' spellings, read by the exporter (first match wins).
LEGACY_INPUT_TOKENS: Final = (
    "gen_ai.usage.prompt_tokens",
    "llm.usage.prompt_tokens",
    "gen_ai.usage.input_tokens",
)
LEGACY_OUTPUT_TOKENS: Final = (
    "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens",
    "gen_ai.usage.output_tokens",
)
LEGACY_TOTAL_TOKENS: Final = ("llm.usage.total_tokens", "gen_ai.usage.total_tokens")
LEGACY_CACHE_READ_TOKENS: Final = (
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cached_tokens",
    "gen_ai.usage.prompt_tokens_details.cached_tokens",  # OpenLIT
)
LEGACY_CACHE_WRITE_TOKENS: Final = (
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.prompt_tokens_details.cache_creation_tokens",  # OpenLIT
)
LEGACY_REASONING_TOKENS: Final = (
    "gen_ai.usage.reasoning_tokens",
    "llm.usage.reasoning_tokens",
    "gen_ai.usage.completion_tokens_details.reasoning_tokens",
)

# --- Dimensions beyond the customer (span attributes AND W3C Baggage keys) --------------------
# Which agent spent (the GenAI conventions' agent name; other producers' ``invoke_agent`` spans
# carry it too), the product feature, the conversation (session), and the user's own tags:
# ``tags={"plan": "pro"}`` travels as ``costledger.tag.plan = pro``.
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
FEATURE: Final = "costledger.feature"
SESSION: Final = GEN_AI_CONVERSATION_ID
TAG_PREFIX: Final = "costledger.tag."
DIMENSION_KEYS: Final = (GEN_AI_AGENT_NAME, FEATURE, SESSION)
# The deployment environment, a resource attribute (older semconv: ``deployment.environment``).
DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment"

# --- Attribution (span attributes AND W3C Baggage keys) --------------------------------------
CUSTOMER_ID: Final = "customer.id"
CUSTOMER_NAME: Final = "customer.name"
WORKSPACE_ID: Final = "workspace.id"
WORK_ITEM_ID: Final = "work_item.id"
USER_ID: Final = "user.id"
CUSTOMER_KEYS: Final = (CUSTOMER_ID, CUSTOMER_NAME, WORKSPACE_ID, WORK_ITEM_ID, USER_ID)
ATTRIBUTION_KEYS: Final = (*CUSTOMER_KEYS, *DIMENSION_KEYS)
"""The fixed attribution keys (the customer's and the dimensions'); tags add
``costledger.tag.<name>`` keys of the user's choosing (:data:`TAG_PREFIX`)."""
# The seed's Step 1 ``metadata=`` keys, mapped to the attribute each one sets.
METADATA_KEYS: Final = {
    "customer_id": CUSTOMER_ID,
    "customer_name": CUSTOMER_NAME,
    "workspace_id": WORKSPACE_ID,
    "work_item_id": WORK_ITEM_ID,
    "user_id": USER_ID,
}

# --- costledger.* ----------------------------------------------------------------------------
# The call's cost as priced in process (the ledger prices again from tokens, exactly).
# The amount is a decimal STRING so that no float ever carries money.
COST_AMOUNT: Final = "costledger.cost.amount"
COST_CURRENCY: Final = "costledger.cost.currency"
COST_SOURCE: Final = "costledger.cost.source"  # the price rule that made the amount
COST_UNPRICED_REASON: Final = "costledger.cost.unpriced_reason"
# record_cost events (human review minutes, third-party calls, ...).
COST_CATEGORY: Final = "costledger.cost.category"
COST_QUANTITY: Final = "costledger.cost.quantity"  # decimal string
COST_UNIT: Final = "costledger.cost.unit"
# False on a span that must NOT become a ledger row (another span counts the same call).
COUNTED: Final = "costledger.counted"
# How the call ended when that is neither success nor an exception: ``cancelled`` (a stream
# closed or dropped before its end). Errors have ``error.type``; truncation is a finish reason.
CALL_STATUS: Final = "costledger.call.status"
# The SDK's HTTP attempts for the call (1 + the retries it announced in x-stainless-retry-count).
REQUEST_ATTEMPTS: Final = "costledger.request.attempts"
# A digest of the request's shape (model, operation and parameters, content included, hashed):
# equal digests within one work item mean the application asked the same thing again. Never
# reversible to the content; see ``_dimensions.request_digest``.
REQUEST_HASH: Final = "costledger.request.hash"
# record_outcome events: the work item's outcome (success true/false, an optional value).
OUTCOME_SUCCESS: Final = "costledger.outcome.success"
OUTCOME_VALUE: Final = "costledger.outcome.value"  # decimal string
# The budget guard (``guard.py``) found the call's customer, workspace, feature, agent or tag
# over its hard limit: ``customer:cust_12345`` (``tag:team=search``). Set in ``mark`` mode (the
# call went) and in ``raise`` mode (the call was stopped: ``error.type = BudgetExceeded``).
BUDGET_EXCEEDED: Final = "costledger.budget.exceeded"
# Batch API calls are billed at the batch price.
COSTLEDGER_BATCH: Final = "costledger.batch"
# What a unit price of a record_cost event applies to (e.g. "stripe.charge").
COST_ITEM: Final = "costledger.cost.item"

# --- Other producers' keys the ledger reads (they never appear on our own spans) ------------
# Semconv 1.37+ name of the cache write count (the Anthropic SDK spells it cache_write).
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
# The Anthropic SDK's own spans: the 5-minute / 1-hour split of cache writes, and its tiers.
ANTHROPIC_CACHE_WRITE_5M_TOKENS: Final = "anthropic.usage.cache_creation.ephemeral_5m_input_tokens"
ANTHROPIC_CACHE_WRITE_1H_TOKENS: Final = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"
ANTHROPIC_RESPONSE_SERVICE_TIER: Final = "anthropic.response.service_tier"
ANTHROPIC_REQUEST_SERVICE_TIER: Final = "anthropic.request.service_tier"
# Semconv before 1.37 (opentelemetry-instrumentation-openai-v2 and others).
GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: Final = "gen_ai.openai.response.service_tier"
GEN_AI_OPENAI_REQUEST_SERVICE_TIER: Final = "gen_ai.openai.request.service_tier"
# OpenLLMetry: the kind of request ("chat", "completion", "embedding") and of span.
LLM_REQUEST_TYPE: Final = "llm.request.type"
TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"
# OpenLIT marks its spans with the SDK name (its Anthropic input_tokens EXCLUDE cache tokens).
TELEMETRY_SDK_NAME: Final = "telemetry.sdk.name"
# OpenInference (Arize): a call is a span of kind LLM or EMBEDDING; its prompt count INCLUDES
# cached input, its completion count includes reasoning.
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OPENINFERENCE_CALL_KINDS: Final = frozenset({"LLM", "EMBEDDING"})
LLM_PROVIDER: Final = "llm.provider"  # who hosts the model: "aws", "azure", "google", ...
LLM_SYSTEM: Final = "llm.system"  # whose model it is: "anthropic", "openai", ...
LLM_MODEL_NAME: Final = "llm.model_name"
EMBEDDING_MODEL_NAME: Final = "embedding.model_name"
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"
LLM_TOKEN_COUNT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
LLM_TOKEN_COUNT_REASONING: Final = "llm.token_count.completion_details.reasoning"
# A producer's own cost of a call (USD, a float on the span): kept when no price is known.
PRODUCER_COST_KEYS: Final = (
    ("gen_ai.cost.total_cost", "litellm"),
    ("gen_ai.usage.cost", "openlit"),
    ("llm.cost.total", "openinference"),
)
