"""The genai-prices side of the price book: model lookup, price periods, variants.

Everything here runs once per (provider, model, price period, context), never per call;
``pricing.py`` turns what it returns into integer rates. genai-prices (and pydantic with it) is
imported on first use, not at import time, and only its bundled snapshot is read: nothing here
touches the network. ``genai_prices.calc_price`` is the reference this module must agree with
(tests compare both on every Anthropic and OpenAI model).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genai_prices import types as gp_types

# GenAI semantic-convention provider names (gen_ai.provider.name) -> genai-prices provider ids.
# Names not listed are passed through lower-cased (genai-prices also matches some aliases).
PROVIDER_IDS: Mapping[str, str] = {
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "ibm.watsonx.ai": "ibm",
}

# genai-prices price keys -> our price kinds (USD per MTok; per_request is USD per call).
_KINDS: Mapping[str, str] = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "cache_write_5m_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_reasoning_mtok": "reasoning",
}


@dataclass(frozen=True, slots=True)
class Tiered:
    """A price that changes for the WHOLE call once total input exceeds a threshold.

    genai-prices' "cliff" model: with tiers ((200_000, 6),), a call of 200_001 input tokens pays
    6 for every token of that kind, one of 200_000 pays ``base``.
    """

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...]

    def scaled(self, factor: Decimal) -> Tiered:
        return Tiered(self.base * factor, tuple((s, p * factor) for s, p in self.tiers))

    def at_threshold(self, threshold: int) -> Decimal:
        """The price for calls whose total input is just above ``threshold`` (-1: the base)."""
        price = self.base
        for start, tier_price in self.tiers:
            if start <= threshold:
                price = tier_price
        return price


Price = Decimal | Tiered


@dataclass(frozen=True, slots=True)
class GenaiModel:
    """A genai-prices model found for a (provider, model name) pair."""

    provider: gp_types.Provider
    model: gp_types.ModelInfo
    native: bool  # the model is the provider's own (not via a fallback provider)
    source: str  # "genai-prices 0.2.3", or the data file's label

    @property
    def label(self) -> str:
        return f"{self.provider.id}/{self.model.id}"


@dataclass(frozen=True, slots=True)
class GenaiPrices:
    """The prices of one model for one period and context."""

    prices: dict[str, Price]
    description: str
    other_keys: tuple[str, ...]  # priced units we have no usage for (images, searches, ...)


def version() -> str:
    import genai_prices

    return str(genai_prices.__version__)


def provider_id(provider: str | None) -> str | None:
    if not provider:
        return None
    name = provider.strip().lower()
    return PROVIDER_IDS.get(name, name)


DATA_ENV = "COSTLEDGER_GENAI_PRICES_DATA"


def default_data_path() -> Path:
    """Where ``costledger prices update`` stores fetched genai-prices data."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "costledger" / "genai-prices.json"


def data_path(argument: str | os.PathLike[str] | None) -> Path | None:
    """The genai-prices data file to use: argument, env var, the default file if it exists.

    None: the snapshot bundled with the installed genai-prices package.
    """
    if argument is not None:
        return Path(argument) if os.fspath(argument) else None
    env = os.environ.get(DATA_ENV)
    if env is not None:
        return Path(env) if env else None
    default = default_data_path()
    return default if default.is_file() else None


@dataclass(frozen=True, slots=True)
class Source:
    """Where genai-prices data comes from: the package's snapshot or a fetched data file."""

    snapshot: Any  # genai_prices.data_snapshot.DataSnapshot
    label: str


_bundled: Source | None = None


def bundled_source() -> Source:
    global _bundled
    if _bundled is None:
        from genai_prices import data_snapshot

        _bundled = Source(data_snapshot.get_snapshot(), f"genai-prices {version()}")
    return _bundled


def load_source(path: Path) -> Source:
    """Read a data file written by ``costledger prices update``; ValueError if unusable."""
    import json

    from genai_prices import data_snapshot
    from genai_prices.types import _providers_from_raw  # the parser UpdatePrices uses

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, list):
            raise ValueError("expected a list of providers")
        providers = _providers_from_raw(raw)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unusable genai-prices data ({exc})") from exc
    day = datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()
    snapshot = data_snapshot.DataSnapshot(providers=providers, from_auto_update=False)
    return Source(snapshot, f"genai-prices data {path.name} of {day}")


def find_model(provider: str | None, model: str, source: Source | None = None) -> GenaiModel | str:
    """The genai-prices model for this call, or the reason there is none."""
    source = source or bundled_source()
    snapshot = source.snapshot
    pid = provider_id(provider)
    try:
        found_provider, found_model = snapshot.find_provider_model(model, None, pid, None)
    except LookupError:
        if pid is None:
            return f"{source.label} knows no model matching {model!r}"
        try:
            snapshot.find_provider(None, pid, None)
        except LookupError:
            return f"{source.label} knows no provider {provider!r}"
        return f"{source.label} has no price for {pid}/{model}"
    native = any(m is found_model for m in found_provider.models)
    return GenaiModel(found_provider, found_model, native, source.label)


def breakpoints(
    found: GenaiModel, service_tier: str | None, batch: bool
) -> tuple[list[datetime], list[Any]]:
    """Instants where the model's prices change (UTC midnights) and its time-of-day constraints,
    for calls of this context (variants for other tiers do not change this context's price)."""
    from genai_prices import types as gp

    ctx = context(service_tier, batch) if found.native else {}
    constraints: list[Any] = []
    if not isinstance(found.model.prices, gp.ModelPrice):
        constraints += [c.constraint for c in found.model.prices]
    constraints += [
        v.constraint
        for v in found.model.price_variants or ()
        if all(ctx.get(k) == value for k, value in v.when.items())
    ]
    starts = sorted(
        {
            datetime.combine(c.start_date, time(0), tzinfo=UTC)
            for c in constraints
            if isinstance(c, gp.StartDateConstraint)
        }
    )
    daily = [c for c in constraints if isinstance(c, gp.TimeOfDateConstraint)]
    return starts, daily


def context(service_tier: str | None, batch: bool) -> dict[str, str]:
    ctx: dict[str, str] = {}
    if service_tier:
        ctx["service_tier"] = service_tier
    if batch:
        ctx["processing"] = "batch"
    return ctx


def resolve(found: GenaiModel, at: datetime, service_tier: str | None, batch: bool) -> GenaiPrices:
    """The model's prices in force at ``at`` for this context, as genai-prices would apply them."""
    from genai_prices import types as gp

    ctx = context(service_tier, batch) if found.native else {}
    model_price = found.model.get_prices(at, ctx or None)
    description = f"{found.source} {found.label}"
    since = _conditional_start(found.model, at)
    if since is not None:
        description += f" from {since.isoformat()}"
    applied = {
        key
        for variant in found.model.price_variants or ()
        if ctx
        and (variant.constraint is None or variant.constraint.active(at))
        and all(ctx.get(k) == v for k, v in variant.when.items())
        for key in variant.when
    }
    if batch:
        description += " batch" if "processing" in applied else " (no batch price listed: standard)"
    if service_tier:
        description += (
            f" service_tier={service_tier}"
            if "service_tier" in applied
            else f" (no {service_tier!r} tier price listed: standard)"
        )
    prices: dict[str, Price] = {}
    other: list[str] = []
    for key, value in model_price.__dict__.items():
        if value is None or key.startswith("_"):
            continue
        price: Price
        if isinstance(value, gp.TieredPrices):
            price = Tiered(value.base, tuple((t.start, t.price) for t in value.tiers))
        else:
            price = value
        if key in _KINDS:
            prices[_KINDS[key]] = price
        elif key == "requests_kcount" and isinstance(price, Decimal):
            prices["per_request"] = price / 1000
        else:
            other.append(key)
    return GenaiPrices(prices, description, tuple(other))


def _conditional_start(model: Any, at: datetime) -> date | None:
    """Start date of the dated price in force (None: the model has one undated price)."""
    from genai_prices import types as gp

    if isinstance(model.prices, gp.ModelPrice):
        return None
    for conditional in reversed(model.prices):
        constraint = conditional.constraint
        if constraint is None or constraint.active(at):
            if isinstance(constraint, gp.StartDateConstraint):
                return constraint.start_date
            return None
    return None
