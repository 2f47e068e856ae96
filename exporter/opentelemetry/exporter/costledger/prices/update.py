"""Fetching newer genai-prices data: :func:`update_genai_prices` (``costledger prices update``).

The only place costledger touches the network for prices, and only when the user asks.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError

Record = dict[str, Any]

# --- fetching newer genai-prices data (explicit, never at run time) -------------------------


def update_genai_prices(
    url: str | None = None, out: str | None = None, *, timeout: float = 30.0
) -> Record:
    """Download genai-prices' current data to ``out`` (default: the file price books read).

    The only place costledger touches the network for prices, and only when the user runs
    ``costledger prices update``. The download is validated with genai-prices' own parser and
    written atomically; price books made afterwards (and processes started afterwards) use it
    instead of the bundled snapshot. Returns what was written.
    """
    import json
    import os
    from pathlib import Path

    import httpx2
    from genai_prices.update_prices import DEFAULT_UPDATE_URL
    from opentelemetry.instrumentation.costledger import _price_genai

    source = url or DEFAULT_UPDATE_URL
    target = Path(out) if out else _price_genai.default_data_path()
    try:
        response = httpx2.get(source, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
        raw = json.loads(response.content)
        if not isinstance(raw, list):
            raise ValueError("expected a JSON list of providers")
        # the parser price books read the file with (genai-prices' own, see _price_genai)
        providers = _price_genai.providers_from_json(raw)
        if not any(p.models for p in providers):
            # Valid JSON with no model in it would leave every later call without a price.
            raise ValueError("the data lists no model")
    except (httpx2.HTTPError, ValueError) as exc:
        raise InputError(
            f"could not update genai-prices data from {source}: {exc}; nothing was changed"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(response.content)
    os.replace(partial, target)
    return {
        "url": source,
        "path": str(target),
        "providers": len(providers),
        "models": sum(len(p.models) for p in providers),
    }
