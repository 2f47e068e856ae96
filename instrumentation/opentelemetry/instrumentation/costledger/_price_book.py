"""The price book: genai-prices plus the user's price file, resolved per model and price period.

:class:`PriceBook` answers what a call's tokens cost (:meth:`~PriceBook.price_counts`, the one
token-pricing entry point, and its views) and what a non-token event costs
(:meth:`~PriceBook.price_quantity`, ``_price_unit_costs``). How a price is chosen, and why it is
exact and cheap: ``pricing.py``. A model's entry (which genai-prices model and which price-file
rules apply to it, and the instants its prices change) is built once per
(provider, model, service tier, batch); each price period's rate once (``_price_rate``).
"""

from __future__ import annotations

import logging
import os
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from . import _price_genai as genai
from ._price_file import load_price_file
from ._price_file_syntax import PriceFileError
from ._price_rate import TOKEN_KINDS, TokenRate, build_rate, display
from ._price_rules import PriceRules, TokenRule
from ._price_unit_costs import UnitPrices
from ._priced import PricedCost, TokenQuote, unpriced
from ._setup import PRICES_ENV
from .usage import TokenUsage

logger = logging.getLogger("opentelemetry.instrumentation.costledger.pricing")

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
_MIN_NS, _MAX_NS = -(2**127), 2**127


def _ns(at: datetime) -> int:
    """``at`` in nanoseconds since the Unix epoch (price-period starts are whole microseconds)."""
    return (at - _UNIX_EPOCH) // _ONE_MICROSECOND * 1000


def _not_adding_up(usage: TokenUsage) -> str:
    return "token counts do not add up: " + "; ".join(usage.problems())


def _multiply(prices: Mapping[str, genai.Price], factor: Decimal) -> dict[str, genai.Price]:
    return {
        kind: (p.scaled(factor) if isinstance(p, genai.Tiered) else p * factor)
        for kind, p in prices.items()
    }


def _newest(rules: list[tuple[int, TokenRule]], at: datetime) -> TokenRule | None:
    """The rule in force at ``at``: the one naming the dated snapshot itself, then the latest
    ``from``, then the later entry of the file."""
    best: tuple[int, datetime, int] | None = None
    chosen = None
    for rank, rule in rules:
        if rule.in_force(at):
            key = (rank, rule.start or _EPOCH, rule.position)
            if best is None or key >= best:
                best, chosen = key, rule
    return chosen


@dataclass(slots=True)
class _TokenEntry:
    """One (provider, model, service tier, batch): its price periods, resolved lazily."""

    provider: str | None
    model: str
    service_tier: str | None
    batch: bool
    found: genai.GenaiModel | None
    missing_reason: str | None
    # (TokenRule.match_rank, rule) of the price file's entries that apply to this model
    model_rules: list[tuple[int, TokenRule]]
    override_rules: list[tuple[int, TokenRule]]
    starts: list[datetime]
    daily: tuple[time, ...]  # UTC times of day where a time-of-day price starts or ends
    rates: dict[Any, TokenRate | PricedCost] = field(default_factory=dict)
    # The rate last used by price_counts and the instants (ns, [start, end)) it is in force.
    window: tuple[int, int, TokenRate | PricedCost] | None = None


class PriceBook:
    """Prices for token usage and unit costs: genai-prices plus the user's price file.

    ``price_file``: a TOML/YAML file (see the module docs); ``None`` reads ``COSTLEDGER_PRICES``;
    an empty value means no file. Raises :class:`PriceFileError` if the file is invalid.
    Thread-safe: caches only grow, and a race at worst resolves the same period twice.
    """

    def __init__(
        self,
        price_file: str | os.PathLike[str] | None = None,
        *,
        genai_data: str | os.PathLike[str] | None = None,
    ) -> None:
        path = os.fspath(price_file) if price_file is not None else os.environ.get(PRICES_ENV)
        self.price_file: str | None = path or None
        self.rules: PriceRules = load_price_file(path) if path else PriceRules()
        # genai-prices data: the bundled snapshot (loaded on first use), or a file fetched by
        # ``costledger prices update`` (argument, COSTLEDGER_GENAI_PRICES_DATA, default file).
        data = genai.data_path(genai_data)
        self.genai_data: str | None = str(data) if data else None
        self._source: genai.Source | None = None
        if data is not None:
            try:
                self._source = genai.load_source(data)
            except ValueError as exc:
                raise PriceFileError(
                    str(data), None, f"{exc}; run `costledger prices update` again or delete it"
                ) from None
        self._tokens: dict[tuple[str | None, str, str | None, bool], _TokenEntry] = {}
        self._units = UnitPrices(self.rules.unit_rules, self.price_file)

    # --- tokens --------------------------------------------------------------------------

    def price_tokens(
        self,
        provider: str | None,
        model: str | None,
        usage: TokenUsage,
        at: datetime,
        *,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> PricedCost:
        """The cost of one call's tokens at ``at`` (naive datetimes are UTC). Never raises.

        :meth:`price_counts` with its result as a :class:`PricedCost`.
        """
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        nanos, rule, reason, currency = self.price_counts(
            provider,
            model,
            _ns(at),
            *usage,
            service_tier=service_tier,
            batch=batch,
        )
        return PricedCost(nanos, rule, reason, currency)

    def price_counts(
        self,
        provider: str | None,
        model: str | None,
        at_ns: int,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_5m_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        reasoning_tokens: int = 0,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> tuple[int | None, str | None, str | None, str]:
        """The cost of a call's token counts at ``at_ns`` (nanoseconds since the Unix epoch,
        UTC), as ``(cost_nanos, rule, unpriced_reason, currency)``. Never raises.

        The one implementation of token pricing (:meth:`price_tokens` is a view of it): the
        instrumentation prices every call and the ledger every row with it. It takes the counts
        as they are read from a span (no :class:`TokenUsage`, no datetime, no result object) and
        remembers, per model, the instants its last rate is in force, so that a call in the same
        price period costs a dictionary lookup, two comparisons and the integer arithmetic.
        """
        try:
            entry = self._tokens.get((provider, model, service_tier, batch))  # type: ignore[arg-type]
            window = entry.window if entry is not None else None
            if window is not None and window[0] <= at_ns < window[1]:
                rate = window[2]
            else:
                if not model:
                    return None, None, "the call names no model", "USD"
                rate = self._rate_ns(provider, model, at_ns, service_tier, batch)
            if type(rate) is not TokenRate:
                assert isinstance(rate, PricedCost)
                return None, None, rate.unpriced_reason, rate.currency
            uncached = input_tokens - cache_read_tokens - cache_write_5m_tokens
            uncached -= cache_write_1h_tokens
            nanos = rate.nanos(
                uncached,
                cache_read_tokens,
                cache_write_5m_tokens,
                cache_write_1h_tokens,
                output_tokens - reasoning_tokens,
                reasoning_tokens,
                input_tokens,
            )
            if nanos is None:
                usage = TokenUsage(
                    input_tokens,
                    output_tokens,
                    cache_read_tokens,
                    cache_write_5m_tokens,
                    cache_write_1h_tokens,
                    reasoning_tokens,
                )
                return None, None, _not_adding_up(usage), "USD"
            return nanos, rate.rule, None, rate.currency
        except Exception as exc:  # a price-data surprise must not break an export
            logger.exception("costledger: pricing %s/%s failed", provider, model)
            return None, None, f"pricing failed: {type(exc).__name__}: {exc}", "USD"

    def _rate_ns(
        self, provider: str | None, model: str, at_ns: int, service_tier: str | None, batch: bool
    ) -> TokenRate | PricedCost:
        """The rate at ``at_ns``, remembered with the instants it is in force."""
        at = _UNIX_EPOCH + timedelta(0, at_ns // 1_000_000_000, at_ns // 1000 % 1_000_000)
        rate = self._rate(provider, model, at, service_tier, batch)
        entry = self._tokens[(provider, model, service_tier, batch)]
        if not entry.daily:  # prices by time of day: no window, each call resolves its rate
            starts = entry.starts
            index = bisect_right(starts, at)
            start = _ns(starts[index - 1]) if index else _MIN_NS
            end = _ns(starts[index]) if index < len(starts) else _MAX_NS
            entry.window = (start, end, rate)
        return rate

    def quote_tokens(
        self,
        provider: str | None,
        model: str,
        at: datetime,
        *,
        service_tier: str | None = None,
        batch: bool = False,
    ) -> TokenQuote:
        """The per-kind prices :meth:`price_tokens` would use for such a call at ``at``.

        Raises nothing for unknown models (the quote carries the reason) but lets price-data
        errors through, for ``costledger prices`` to show.
        """
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        rate = self._rate(provider, model, at, service_tier, batch)
        entry = self._tokens[(provider, model, service_tier, batch)]
        later = [t for t in entry.starts if t > at]
        next_change = later[0] if later else None
        if isinstance(rate, PricedCost):
            return TokenQuote(
                provider, model, at, None, "USD", {}, (), rate.unpriced_reason, next_change
            )
        tiers = tuple((t, display(vector, rate.scale)) for t, vector in rate.bands[1:])
        return TokenQuote(
            provider,
            model,
            at,
            rate.rule,
            rate.currency,
            display(rate.bands[0][1], rate.scale),
            tiers,
            None,
            next_change,
        )

    def model_names(self, provider: str) -> list[str]:
        """The ids of every model genai-prices (this book's data) lists for ``provider``."""
        source = self._source or genai.bundled_source()
        pid = genai.provider_id(provider)
        return [m.id for p in source.snapshot.providers if p.id == pid for m in p.models]

    def _rate(
        self, provider: str | None, model: str, at: datetime, service_tier: str | None, batch: bool
    ) -> TokenRate | PricedCost:
        entry = self._tokens.get((provider, model, service_tier, batch))
        if entry is None:
            entry = self._token_entry(provider, model, service_tier, batch)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        key: Any = bisect_right(entry.starts, at) if entry.starts else 0
        if entry.daily:  # time-of-day prices: which part of the (UTC) day the call falls in
            key = (key, bisect_right(entry.daily, at.astimezone(UTC).time()))
        rate = entry.rates.get(key)
        if rate is None:
            rate = entry.rates[key] = self._resolve_tokens(entry, at)
        return rate

    def _token_entry(
        self, provider: str | None, model: str, service_tier: str | None, batch: bool
    ) -> _TokenEntry:
        key = (provider, model, service_tier, batch)  # as callers ask, before normalizing
        tier = service_tier.lower() if service_tier else None
        if tier == "batch":  # Anthropic reports batch calls as a service tier
            tier, batch = None, True
        elif tier in ("standard", "standard_only", "default", "auto"):
            tier = None
        rules = [
            (rank, r)
            for r in self.rules.token_rules
            if (rank := r.match_rank(provider, model, tier, batch)) is not None
        ]
        found = genai.find_model(provider, model, self._source)
        starts: set[datetime] = set()
        daily: tuple[time, ...] = ()
        if isinstance(found, genai.GenaiModel):
            genai_starts, daily = genai.breakpoints(found, tier, batch)
            starts.update(genai_starts)
        for _, rule in rules:
            starts.update(t for t in (rule.start, rule.end) if t is not None)
        entry = _TokenEntry(
            provider=provider,
            model=model,
            service_tier=tier,
            batch=batch,
            found=found if isinstance(found, genai.GenaiModel) else None,
            missing_reason=found if isinstance(found, str) else None,
            model_rules=[(rank, r) for rank, r in rules if r.kind == "model"],
            override_rules=[(rank, r) for rank, r in rules if r.kind == "override"],
            starts=sorted(starts),
            daily=daily,
        )
        self._tokens[key] = entry
        return entry

    def _resolve_tokens(self, entry: _TokenEntry, at: datetime) -> TokenRate | PricedCost:
        prices: dict[str, genai.Price] | None = None
        reason = entry.missing_reason
        base_rule = _newest(entry.model_rules, at)
        if base_rule is not None:
            prices, rule, currency = (
                dict(base_rule.prices),
                base_rule.describe(),
                base_rule.currency,
            )
        elif entry.found is not None:
            resolved = genai.resolve(entry.found, at, entry.service_tier, entry.batch)
            prices, rule, currency = resolved.prices, resolved.description, "USD"
            if not TOKEN_KINDS & prices.keys() and resolved.other_keys:
                prices = None
                reason = (
                    f"{resolved.description} prices only {', '.join(resolved.other_keys)},"
                    " not tokens"
                )
        override = _newest(entry.override_rules, at)
        if override is not None:
            if override.multiplier is not None:
                if prices is None:
                    return unpriced(f"{reason}; {override.describe()} needs a base price")
                prices = _multiply(prices, override.multiplier)
                rule = f"{override.describe()} on {rule}"
            elif prices is None:
                if not override.prices.keys() >= {"input", "output"}:
                    return unpriced(f"{reason}; {override.describe()} sets no input/output price")
                prices, rule, currency = (
                    dict(override.prices),
                    override.describe(),
                    override.currency,
                )
            else:
                # Kinds the override names replace the base's; the others keep the base price.
                if override.currency != currency and not override.prices.keys() >= prices.keys():
                    return unpriced(
                        f"{override.describe()} is in {override.currency} but the base price"
                        f" ({rule}) is in {currency}"
                    )
                prices = {**prices, **override.prices}
                rule, currency = f"{override.describe()} on {rule}", override.currency
        if prices is None:
            return unpriced(
                f"{reason}; add a [[model]] price for it to your price file"
                f" ({self.price_file or PRICES_ENV})"
            )
        return build_rate(prices, rule, currency)

    # --- non-token costs -----------------------------------------------------------------

    def price_quantity(
        self,
        category: str,
        unit: str | None,
        quantity: Decimal,
        at: datetime,
        *,
        item: str | None = None,
    ) -> PricedCost:
        """The cost of ``quantity`` ``unit`` of a ``category`` (human_review, ...). Never raises."""
        return self._units.price(category, unit, quantity, at, item)
