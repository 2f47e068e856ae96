"""The genai-prices side of the price book: model lookup, price periods, variants.

Everything here runs once per (provider, model, price period, context), never per call;
``pricing.py`` turns what it returns into integer rates. genai-prices (and pydantic with it) is
imported on first use, not at import time, and only its bundled snapshot is read: nothing here
touches the network. ``genai_prices.calc_price`` is the reference this module must agree with
(tests compare both on every Anthropic and OpenAI model).

genai-prices is used through its public API only: the snapshot (``data_snapshot.get_snapshot``,
``DataSnapshot`` and its ``find_provider_model`` / ``find_provider``), ``ModelInfo.calc_price``
(documented with ``price_context``), whose ``PriceCalculation.model_price`` is the price in force
for a call at a time and in a context exactly as genai-prices resolves it, and the fields of its
public data types (``ModelInfo.prices`` / ``price_variants``, ``ConditionalPrice``,
``StartDateConstraint``, ``TimeOfDateConstraint``, ``TieredPrices``), read to know WHEN prices
may change, never to pick a price ourselves. One private name is kept on purpose:
``genai_prices.types._providers_from_raw``, the parser of genai-prices' JSON data (the one
``UpdatePrices.fetch`` uses); genai-prices has no public function that parses data we hold, and
``costledger prices update`` files must be read (see :func:`providers_from_json`;
``tests/prices/test_genai_prices_api.py`` fails loudly when it changes). Works with genai-prices
0.1.0 and later (releases before 0.1.11 have no batch or service-tier prices: such calls pay the
standard price, and the rule says so).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .providers import genai_prices_id

if TYPE_CHECKING:
    from genai_prices import types as gp_types


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
    """The genai-prices provider of a provider name in any spelling (see :mod:`.providers`)."""
    if not provider:
        return None
    return genai_prices_id(provider)


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


PRIVATE_PARSER = "genai_prices.types._providers_from_raw"


def providers_from_json(raw: Any) -> list[gp_types.Provider]:
    """genai-prices' providers from its JSON data (``raw``: the decoded list); ValueError if not.

    The one private name of genai-prices that costledger uses, on purpose: it is the parser that
    genai-prices' own ``UpdatePrices.fetch`` applies to the same data, and genai-prices has no
    public function that parses data we hold (``UpdatePrices.fetch`` only downloads and parses,
    it never hands back the bytes to store). ``costledger prices update`` validates a download
    with it, and price books read the stored file with it, so what the update accepted is what
    they read. ``tests/prices/test_genai_prices_api.py`` fails, naming it, when a genai-prices
    release removes or changes it; until then a missing parser makes a data file unusable (the
    bundled snapshot still works).
    """
    import genai_prices.types

    parse = getattr(genai_prices.types, PRIVATE_PARSER.rsplit(".", 1)[1], None)
    if parse is None:
        raise ValueError(
            f"genai-prices {version()} has no {PRIVATE_PARSER}, the parser of its data files"
            " that costledger uses; use a genai-prices release that has it, or the bundled"
            " snapshot"
        )
    if not isinstance(raw, list):
        raise ValueError("expected a list of providers")
    providers = parse(raw)
    return list(providers)


def load_source(path: Path) -> Source:
    """Read a data file written by ``costledger prices update``; ValueError if unusable."""
    import json

    from genai_prices import data_snapshot

    try:
        providers = providers_from_json(json.loads(path.read_text(encoding="utf-8")))
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


def _variants(found: GenaiModel, ctx: Mapping[str, str]) -> list[Any]:
    """The model's price variants (genai-prices 0.1.11+) listed for this context, whenever they
    are in force; none for a model reached through a fallback provider (genai-prices applies no
    context there)."""
    if not ctx or not found.native:
        return []
    return [
        v
        for v in getattr(found.model, "price_variants", None) or ()
        if all(ctx.get(k) == value for k, value in v.when.items())
    ]


def _utc_time(value: time) -> time:
    """A time of day as a naive UTC time (naive times are UTC, as in genai-prices)."""
    if value.tzinfo is None:
        return value
    return datetime.combine(date(1970, 1, 1), value).astimezone(UTC).time()


def breakpoints(
    found: GenaiModel, service_tier: str | None, batch: bool
) -> tuple[list[datetime], tuple[time, ...]]:
    """When the model's prices may change for calls of this context (variants for other tiers do
    not change this context's price): the instants (UTC midnights of the start dates) and the
    times of day (naive UTC) where a time-of-day price starts or ends.

    Between two consecutive instants, and (if there are times of day) between two consecutive
    times of day, genai-prices applies the same prices: a rate resolved once there holds for
    every call there.
    """
    from genai_prices import types as gp

    constraints: list[Any] = []
    if not isinstance(found.model.prices, gp.ModelPrice):
        constraints += [c.constraint for c in found.model.prices]
    constraints += [v.constraint for v in _variants(found, context(service_tier, batch))]
    starts = sorted(
        {
            datetime.combine(c.start_date, time(0), tzinfo=UTC)
            for c in constraints
            if isinstance(c, gp.StartDateConstraint)
        }
    )
    daily = {
        _utc_time(t)
        for c in constraints
        if isinstance(c, gp.TimeOfDateConstraint)
        for t in (c.start_time, c.end_time)
    }
    return starts, tuple(sorted(daily))


def context(service_tier: str | None, batch: bool) -> dict[str, str]:
    ctx: dict[str, str] = {}
    if service_tier:
        ctx["service_tier"] = service_tier
    if batch:
        ctx["processing"] = "batch"
    return ctx


def _model_price(found: GenaiModel, at: datetime, ctx: Mapping[str, str]) -> Any:
    """The ``ModelPrice`` genai-prices applies to such a call: ``ModelInfo.calc_price``'s own."""
    import genai_prices

    usage = genai_prices.Usage(input_tokens=0, output_tokens=0)
    if ctx:  # only where a variant is in force (0.1.x warns on a context no variant matches)
        calculation = found.model.calc_price(
            usage, found.provider, genai_request_timestamp=at, price_context=dict(ctx)
        )
    else:  # releases before 0.1.11 take no price_context
        calculation = found.model.calc_price(usage, found.provider, genai_request_timestamp=at)
    return calculation.model_price


def _price_values(model_price: Any) -> dict[str, Any]:
    # ModelPrice keeps each price it lists as an attribute (its repr and == read them the same
    # way); unset registered keys read as None.
    return {k: v for k, v in vars(model_price).items() if v is not None and not k.startswith("_")}


def resolve(found: GenaiModel, at: datetime, service_tier: str | None, batch: bool) -> GenaiPrices:
    """The model's prices in force at ``at`` for this context, as genai-prices applies them."""
    from genai_prices import types as gp

    ctx = context(service_tier, batch)
    day = at.astimezone(UTC).date()
    # the variants of this context that may be in force at ``at``: undated, started by its UTC
    # date (as for the breakpoints), or by time of day (genai-prices decides which)
    variants = [
        v
        for v in _variants(found, ctx)
        if not isinstance(v.constraint, gp.StartDateConstraint) or v.constraint.start_date <= day
    ]
    standard = _model_price(found, at, {})
    model_price = _model_price(found, at, ctx) if variants else standard
    values = _price_values(model_price)
    description = f"{found.source} {found.label}"
    since = _conditional_start(found.model, at, standard)
    if since is not None:
        description += f" from {since.isoformat()}"

    def applied(key: str) -> bool:
        # genai-prices lists a price in force for this key of the context; a time-of-day
        # variant is in force when the call priced with that key alone costs differently
        of_key = [v for v in variants if key in v.when]
        if any(not isinstance(v.constraint, gp.TimeOfDateConstraint) for v in of_key):
            return True
        if of_key:
            alone = _model_price(found, at, {key: ctx[key]})
            return _price_values(alone) != _price_values(standard)
        return False

    if batch:
        description += " batch" if applied("processing") else " (no batch price listed: standard)"
    if service_tier:
        description += (
            f" service_tier={service_tier}"
            if applied("service_tier")
            else f" (no {service_tier!r} tier price listed: standard)"
        )
    prices: dict[str, Price] = {}
    other: list[str] = []
    for key, value in values.items():
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


def _conditional_start(model: Any, at: datetime, standard: Any) -> date | None:
    """Start date of the dated price in force (None: an undated or time-of-day price is).

    ``standard`` is the price genai-prices applies at ``at`` (no context); the price in force is
    the latest listed one equal to it that has started by ``at``'s UTC date.
    """
    from genai_prices import types as gp

    if isinstance(model.prices, gp.ModelPrice):
        return None
    day = at.astimezone(UTC).date()
    for conditional in reversed(model.prices):
        constraint = conditional.constraint
        if isinstance(constraint, gp.StartDateConstraint):
            if constraint.start_date <= day and conditional.prices == standard:
                return constraint.start_date
        elif conditional.prices == standard:
            return None
    return None
