"""FOCUS's words for ours: provider display names, service categories, units, decimals."""

from __future__ import annotations

import re

PROVIDER_NAMES = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "aws.bedrock": "AWS",
    "azure.ai.openai": "Microsoft",
    "azure.ai.inference": "Microsoft",
    "gcp.vertex_ai": "Google Cloud",
    "gcp.gemini": "Google",
    "gcp.gen_ai": "Google",
    "mistral_ai": "Mistral AI",
    "cohere": "Cohere",
    "groq": "Groq",
    "deepseek": "DeepSeek",
    "x_ai": "xAI",
    "perplexity": "Perplexity",
    "ibm.watsonx.ai": "IBM",
}

SERVICE_CATEGORIES: dict[str, tuple[str, str, str]] = {
    # category: (ServiceCategory, ServiceSubcategory, service label)
    "api": ("AI and Machine Learning", "Generative AI", "API"),
    "embedding": ("AI and Machine Learning", "Natural Language Processing", "Embeddings"),
    "vector_storage": ("Databases", "Other (Databases)", "Vector storage"),
    "observability": ("Management and Governance", "Observability", "Observability"),
    "human_review": ("Other", "Other (Other)", "Human review"),
    "third_party": ("Other", "Other (Other)", "Third-party"),
}

# FOCUS UnitFormat spellings (capitalised, plural for counts) of the units ledger rows carry.
_UNITS = {
    "token": "Tokens",
    "tokens": "Tokens",
    "h": "Hours",
    "hour": "Hours",
    "hours": "Hours",
    "min": "Minutes",
    "minute": "Minutes",
    "minutes": "Minutes",
    "s": "Seconds",
    "second": "Seconds",
    "seconds": "Seconds",
    "call": "Requests",
    "calls": "Requests",
    "request": "Requests",
    "requests": "Requests",
    "api_call": "API Calls",
    "api_calls": "API Calls",
    "vector": "Vectors",
    "vectors": "Vectors",
    "event": "Events",
    "events": "Events",
    "log_event": "Log Events",
    "log_events": "Log Events",
    "character": "Characters",
    "characters": "Characters",
    "segment": "Segments",
    "segments": "Segments",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def provider_display_name(provider: str | None) -> str:
    if not provider:
        return "Internal"
    return PROVIDER_NAMES.get(provider, provider)


def focus_unit(unit: str | None) -> str | None:
    """A FOCUS UnitFormat spelling for one of our free-form units.

    Known units map to FOCUS's spelling (``hour`` → ``Hours``, ``log_events`` → ``Log Events``);
    an allocation driver names the usage metric it counted (``usage:vectors`` → ``Vectors``);
    anything else keeps its words, capitalised and separated by spaces (UnitFormat allows letters,
    digits and spaces only: ``GPU_seconds`` → ``GPU Seconds``).
    """
    if unit is None:
        return None
    text = unit.strip()
    if text.lower().startswith("usage:"):
        text = text[len("usage:") :]
    known = _UNITS.get(text.lower())
    if known:
        return known
    words = _WORD.findall(text)
    return " ".join(w[0].upper() + w[1:] for w in words) or None


def focus_decimal(text: str) -> str:
    """A NumericFormat decimal that reads as a decimal: ``1500`` → ``1500.0``.

    FOCUS types quantities as Decimal, and a CSV has no types: readers that infer them (the
    FinOps Foundation's validator, pandas, polars, DuckDB) take a column of whole numbers for
    integers and then reject it as "not of type Decimal". One fractional digit keeps the value
    exact and the type unambiguous.
    """
    return text if "." in text else f"{text}.0"
