"""Provider names: every spelling producers use, one name each, and who prices it.

Producers name the provider of a call in their own words: the GenAI semantic conventions'
``gen_ai.provider.name`` (``aws.bedrock``) or its older ``gen_ai.system``, OpenInference's
``llm.provider`` / ``llm.system`` (``aws``, ``google``, ``mistralai``), OpenLIT's (``gemini``,
``vertex_ai``, ``ibm.watson.ai``, ``xai``, ``vLLM``), LiteLLM's own provider strings
(``bedrock``, ``vertex_ai``, ``azure``, ``together_ai``, ``fireworks_ai``, ``hosted_vllm``).
:func:`normalize` turns each into the conventions' well-known value where there is one
(``anthropic``, ``aws.bedrock``, ``azure.ai.openai``, ``azure.ai.inference``, ``gcp.gemini``,
``gcp.vertex_ai``, ``gcp.gen_ai``, ``mistral_ai``, ``cohere``, ``groq``, ``deepseek``, ``x_ai``,
``perplexity``, ``ibm.watsonx.ai``, ``openai``), else a lower-cased name of our own
(``together_ai``, ``fireworks_ai``, ``vllm``), so that the ledger groups one provider's rows
under one name whoever reported them. :data:`GENAI_PRICES_IDS` then names the genai-prices
provider whose list prices apply (Bedrock's own prices for ``aws.bedrock``, not Anthropic's).

This module owns the table: the ledger's reading of spans and the price book both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# Spelling (lower-cased, trimmed) -> the name the ledger keeps. A name not listed is kept
# lower-cased as it is.
SPELLINGS: Final[Mapping[str, str]] = {
    # Anthropic's own API
    "anthropic": "anthropic",
    "claude": "anthropic",
    # Amazon Bedrock (OpenInference says "aws"; LiteLLM "bedrock" / "bedrock_converse")
    "aws.bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "aws_bedrock": "aws.bedrock",
    "aws-bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "amazon-bedrock": "aws.bedrock",
    # Azure OpenAI and Azure AI Inference
    "azure.ai.openai": "azure.ai.openai",
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure-openai": "azure.ai.openai",
    "azure.openai": "azure.ai.openai",
    "azure.ai.inference": "azure.ai.inference",
    "az.ai.inference": "azure.ai.inference",
    "azure_ai": "azure.ai.inference",
    "azure_ai_inference": "azure.ai.inference",
    # Google: the Gemini API, Vertex AI, or either ("google": OpenInference cannot tell)
    "gcp.gemini": "gcp.gemini",
    "gemini": "gcp.gemini",
    "google_ai_studio": "gcp.gemini",
    "gcp.vertex_ai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gcp.gen_ai": "gcp.gen_ai",
    "google": "gcp.gen_ai",
    "google_genai": "gcp.gen_ai",
    "google-genai": "gcp.gen_ai",
    # Mistral AI
    "mistral_ai": "mistral_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "mistral-ai": "mistral_ai",
    # xAI
    "x_ai": "x_ai",
    "xai": "x_ai",
    "x-ai": "x_ai",
    # IBM watsonx.ai
    "ibm.watsonx.ai": "ibm.watsonx.ai",
    "ibm.watson.ai": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
    "ibm": "ibm.watsonx.ai",
    # The others the conventions name, as they are spelt elsewhere
    "openai": "openai",
    "text-completion-openai": "openai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "perplexityai": "perplexity",
    # Providers the conventions have no name for (LiteLLM's and OpenLIT's spellings)
    "together_ai": "together_ai",
    "together": "together_ai",
    "togetherai": "together_ai",
    "fireworks_ai": "fireworks_ai",
    "fireworks": "fireworks_ai",
    "vllm": "vllm",
    "hosted_vllm": "vllm",
    "openrouter": "openrouter",
    "ollama": "ollama",
}

# The ledger's provider name -> the genai-prices provider id whose prices apply. A name not
# listed is looked up as it is (genai-prices also matches some aliases itself).
GENAI_PRICES_IDS: Final[Mapping[str, str]] = {
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "x_ai": "x-ai",
    "mistral_ai": "mistral",
    "ibm.watsonx.ai": "ibm",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
}


def normalize(name: str) -> str:
    """The ledger's name for a provider spelt ``name`` (see :data:`SPELLINGS`)."""
    key = name.strip().lower()
    return SPELLINGS.get(key, key)


def genai_prices_id(name: str) -> str:
    """The genai-prices provider id for a provider spelt ``name``."""
    normalized = normalize(name)
    return GENAI_PRICES_IDS.get(normalized, normalized)
