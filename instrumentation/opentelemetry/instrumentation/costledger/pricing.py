"""The price book: what one LLM call or one non-token cost event costs, exactly and cheaply.

Used in two places: the instrumentation puts each call's cost on its span, and the ledger prices
every row again from its tokens. Both ask :func:`get_price_book` (or a :class:`PriceBook` of
their own) and get a :class:`PricedCost`: integer nano-dollars, the rule that made them, or the
reason there is no price. Nothing here raises on an unknown model.

Where prices come from
----------------------
1. **genai-prices** (pydantic's maintained price data) from its *bundled* snapshot: Decimal
   prices per million tokens for input, output, cache read, cache write (5-minute and 1-hour),
   reasoning where billed apart, per-request fees, with their history (a call is priced at the
   price in force at its timestamp, UTC dates as genai-prices uses them), batch and service-tier
   variants (``batch=True`` -> ``processing=batch``; ``service_tier="priority"`` ...) and
   long-context tiers (the whole call pays the tier price once its total input exceeds the
   threshold). Model names as APIs return them (``claude-sonnet-4-5-20250929``,
   ``gpt-4o-2024-08-06``) match as in genai-prices. Nothing is fetched at run time; for
   newer data, upgrade the ``genai-prices`` package, or run ``costledger prices update``, which
   downloads genai-prices' current data to ``$XDG_DATA_HOME/costledger/genai-prices.json``;
   price books then read that file (``genai_data=`` argument, else the
   ``COSTLEDGER_GENAI_PRICES_DATA`` env var, else that default file if it exists; an empty
   value means the bundled snapshot). Where genai-prices lists no batch or tier
   price for the date, the standard price applies and the rule says so.
2. **The user's price file** (``PriceBook(path)``, else the ``COSTLEDGER_PRICES`` env var; TOML
   ``*.toml`` or YAML ``*.yaml``), validated on load; a bad file raises :class:`PriceFileError`
   ``"prices.toml:12: [[override]] #2, field 'multiplier': ..."``. Prices are USD per million
   tokens unless ``currency`` says otherwise; write numbers as you would on an invoice::

       version = 1

       [[model]]                  # a custom or self-hosted model (or a price genai-prices lacks)
       provider = "self-hosted"   # globs: "*", "claude-*"; matched case-insensitively
       model = "llama-3.3-70b*"
       input = "0.20"             # USD per million input tokens
       output = "0.60"
       from = 2025-01-01          # effective date (UTC midnight) or ISO datetime; optional

       [[override]]               # negotiated rate on top of the base price
       provider = "anthropic"
       model = "claude-sonnet-4-5"  # also its dated snapshots: claude-sonnet-4-5-20250929
       multiplier = "0.8"         # 20% off list
       from = 2025-06-01
       until = 2026-06-01         # optional end (exclusive)

       [[override]]               # explicit negotiated prices (kinds not given keep the base)
       provider = "openai"
       model = "gpt-4o*"
       input = "2.00"
       output = "8.00"
       batch = false              # optional: only (non-)batch calls; service_tier = "priority"

       [[unit_price]]             # costs that are not tokens (record_cost events)
       category = "human_review"
       unit = "hour"              # a 30-minute event costs half (minute/hour/day, KB/MB/GB, ...)
       price = "45.00"
       [[unit_price]]
       category = "third_party"
       item = "stripe.charge"     # optional glob on record_cost's item=
       unit = "call"
       price = "0.30"

   Price kinds: ``input``, ``output``, ``cache_read``, ``cache_write`` (both TTLs),
   ``cache_write_5m``, ``cache_write_1h``, ``reasoning`` (default: the output price),
   ``per_request`` (USD per call). A kind a model does not set is billed like genai-prices does:
   cache reads and writes at the input price, 1-hour writes at the generic cache-write price.

How a price is chosen for a call at time *t*
--------------------------------------------
- Base price: the ``[[model]]`` entry matching the provider and model that is in force at *t*
  (``from`` <= *t* < ``until``); if several, one naming the call's dated snapshot itself wins,
  then the latest ``from``, then the later entry in the file. Without one: genai-prices.
  Without either: unpriced, with the reason. A model name without glob characters also
  matches its dated snapshots (``gpt-4o`` matches ``gpt-4o-2024-08-06``, not ``gpt-4o-mini``;
  see ``_price_file.py``). Which entries match is decided once per model name, when its price
  periods are built, never per call.
- Then the ``[[override]]`` in force at *t* (same choice rule) applies on top: a ``multiplier``
  scales every base price; explicit prices replace those kinds.
- Unit prices: the ``[[unit_price]]`` entries of the event's category whose unit converts to the
  event's unit; one naming the event's item beats one that does not, then the latest ``from``,
  then the later entry.

Every :class:`PricedCost` carries the rule it came from, e.g. ``"genai-prices 0.2.3
anthropic/claude-sonnet-4-5"``, ``"prices.toml:12 override anthropic/* x0.8 from 2025-06-01 on
genai-prices 0.2.3 anthropic/claude-sonnet-4-5"`` or ``"prices.toml:30 unit_price human_review
45.00 USD/hour"``, which the ledger stores in ``price_rule``.

Speed and exactness
-------------------
``genai_prices.calc_price`` costs ~0.2 ms, more than a span. It is never called per call: a
model's prices are resolved once per (provider, model, service tier, batch) *and* price period
(the instants where genai-prices' history or a rule of the file changes; calls find theirs with a
bisection) and turned into integers: each token kind's price per million tokens in units of
10**-s dollars, with s the fewest decimals that make that period's prices whole (s = 2 for
$3.75). A call's cost is then ``sum(tokens_k * price_k)`` in integers, converted ONCE per call
to whole nano-dollars: exactly (no rounding at all) when s <= 3, which covers every published
price list, else rounded half to even. Prices keep up to 15 decimals per million tokens (a
multiplier such as 0.85 adds two). A ledger sum equals the sum of its rows exactly.
Resolving once and pricing in integers is what makes a call's price a small fraction of
``calc_price``'s cost (``benchmarks/pricing.py`` keeps the figures).
:meth:`PriceBook.price_counts` is the one pricing entry point (the instrumentation prices each
call and the ledger each row with it): the counts and the call's integer nanoseconds in, a
plain tuple out, with the rate's in-force window kept per model so a call of the same period
skips the bisection; :meth:`PriceBook.price_tokens` is the same with a ``TokenUsage``, a
datetime and a :class:`PricedCost`.
Unit prices are computed with ``Fraction`` (7 minutes at $45/hour is exactly $5.25) and rounded
the same way.

The cost on the span
--------------------
The draft GenAI cost convention (semantic-conventions-genai PR #443) is not released, so the
instrumentation writes our own keys (``attributes.py``): ``costledger.cost.amount`` (decimal
string in major currency units, e.g. ``"0.004275"``: strings so no float ever carries money),
``costledger.cost.currency`` (ISO 4217, ``"USD"``), ``costledger.cost.source`` (the rule) and
``costledger.cost.unpriced_reason`` when there is no price. :attr:`PricedCost.amount` is the
amount to write. The ledger prices again from tokens with its own price book.
"""

from __future__ import annotations

import logging
import os
import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from . import _price_genai as genai
from ._price_file import PriceFileError, PriceRules, TokenRule, UnitRule, load_price_file
from ._price_units import conversion_factor, normalize_unit
from .money import NANOS_PER_USD, nanos_to_decimal
from .usage import TokenUsage

__all__ = [
    "PRICES_ENV",
    "PriceBook",
    "PriceFileError",
    "PricedCost",
    "TokenQuote",
    "get_price_book",
]

logger = logging.getLogger(__name__)

PRICES_ENV = "COSTLEDGER_PRICES"
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
_MIN_NS, _MAX_NS = -(2**127), 2**127


def _ns(at: datetime) -> int:
    """``at`` in nanoseconds since the Unix epoch (price-period starts are whole microseconds)."""
    return (at - _UNIX_EPOCH) // _ONE_MICROSECOND * 1000


@dataclass(frozen=True, slots=True)
class PricedCost:
    """What a cost event costs: nano-units of ``currency`` and the rule, or why it has no price."""

    cost_nanos: int | None  # None = unpriced
    rule: str | None
    unpriced_reason: str | None
    currency: str = "USD"

    @property
    def amount(self) -> Decimal | None:
        """The cost in major units as an exact Decimal."""
        if self.cost_nanos is None:
            return None
        return nanos_to_decimal(self.cost_nanos)


def _unpriced(reason: str) -> PricedCost:
    return PricedCost(None, None, reason)


def _scaled(price: Decimal, unit: int) -> int:
    """``price`` in integer multiples of ``1/unit`` (exact unless it has more decimals)."""
    return int((price * unit).to_integral_value(ROUND_HALF_EVEN))


# Order of the integer price vector of a token rate.
_UNCACHED, _CACHE_READ, _WRITE_5M, _WRITE_1H, _OUTPUT, _REASONING, _REQUEST = range(7)
_FALLBACKS: tuple[tuple[str, ...], ...] = (
    ("input",),
    ("cache_read", "input"),
    ("cache_write_5m", "cache_write", "input"),
    ("cache_write_1h", "cache_write", "input"),
    ("output",),
    ("reasoning", "output"),
    ("per_request",),
)


@dataclass(frozen=True, slots=True)
class _TokenRate:
    """Resolved integer prices of one model for one period and context.

    Prices are integers in units of 10**-scale currency per million tokens (per-request prices
    in the same unit of a call's total), with ``scale`` the fewest decimals that make every
    price of this rate whole (2 for 3.75). A call's total is therefore exact, and its cost in
    nano-units is ``total * 10**(3 - scale)`` (no rounding at all for scale <= 3, i.e. for any
    price list in tenths of a cent per million tokens) or, beyond that, ``total / 10**(scale-3)``
    rounded half to even, once.
    """

    # (total-input threshold, prices): the last band whose threshold the call's input exceeds
    # applies; the first band's threshold is -1 (always).
    bands: tuple[tuple[int, tuple[int, ...]], ...]
    rule: str
    currency: str
    scale: int
    multiplier: int  # 10**(3 - scale) when scale <= 3, else 0
    divisor: int  # 10**(scale - 3) when scale > 3, else 1

    def nanos(
        self,
        uncached: int,
        cache_read: int,
        write_5m: int,
        write_1h: int,
        output: int,
        reasoning: int,
        total_input: int,
    ) -> int | None:
        """The cost in nano-units of non-overlapping token counts (``output`` without the
        reasoning); ``None`` when a count is negative."""
        # Any negative count makes the bitwise OR negative: one test instead of six.
        if (uncached | output | cache_read | write_5m | write_1h | reasoning) < 0:
            return None
        bands = self.bands
        if len(bands) == 1:
            p_uncached, p_read, p_5m, p_1h, p_output, p_reasoning, p_request = bands[0][1]
        else:
            prices = bands[0][1]
            for threshold, band_prices in reversed(bands):
                if total_input > threshold:
                    prices = band_prices
                    break
            p_uncached, p_read, p_5m, p_1h, p_output, p_reasoning, p_request = prices
        total = (
            uncached * p_uncached
            + cache_read * p_read
            + write_5m * p_5m
            + write_1h * p_1h
            + output * p_output
            + reasoning * p_reasoning
            + p_request
        )
        if self.multiplier:
            return total * self.multiplier
        divisor = self.divisor
        nanos, remainder = divmod(total, divisor)
        if remainder * 2 > divisor or (remainder * 2 == divisor and nanos & 1):
            nanos += 1
        return nanos


def _not_adding_up(usage: TokenUsage) -> str:
    return "token counts do not add up: " + "; ".join(usage.problems())


_MAX_SCALE = 15  # decimals of a price per million tokens kept exactly


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _build_rate(prices: Mapping[str, genai.Price], rule: str, currency: str) -> _TokenRate:
    thresholds = sorted(
        {start for p in prices.values() if isinstance(p, genai.Tiered) for start, _ in p.tiers}
    )
    chosen: list[tuple[int, list[Decimal]]] = []
    for threshold in (-1, *thresholds):
        vector = []
        for kinds in _FALLBACKS:
            price = next((prices[k] for k in kinds if k in prices), None)
            if price is None:
                vector.append(Decimal(0))
            else:
                vector.append(
                    price.at_threshold(threshold) if isinstance(price, genai.Tiered) else price
                )
        chosen.append((threshold, vector))
    # per-request prices are per call: 10**6 times finer than per-million prices
    scale = max(
        max(_decimals(v) for _, vector in chosen for v in vector[:_REQUEST]),
        max(_decimals(vector[_REQUEST]) - 6 for _, vector in chosen),
    )
    scale = min(scale, _MAX_SCALE)  # beyond: rounded half-even here (no real price list has it)
    unit = 10**scale
    bands = tuple(
        (
            threshold,
            tuple(
                _scaled(v, unit * 1_000_000 if slot == _REQUEST else unit)
                for slot, v in enumerate(vector)
            ),
        )
        for threshold, vector in chosen
    )
    if scale <= 3:
        return _TokenRate(bands, rule, currency, scale, 10 ** (3 - scale), 1)
    return _TokenRate(bands, rule, currency, scale, 0, 10 ** (scale - 3))


# Names of the price vector's slots, as ``costledger prices`` shows them.
PRICE_SLOTS = (
    "input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
    "per_request",
)


def _display(vector: tuple[int, ...], scale: int) -> dict[str, Decimal]:
    shown = {}
    for slot, value in enumerate(vector):
        exponent = scale + 6 if slot == _REQUEST else scale
        shown[PRICE_SLOTS[slot]] = Decimal(value).scaleb(-exponent).normalize()
    return shown


@dataclass(frozen=True, slots=True)
class TokenQuote:
    """The prices in force for a model at a time, per kind, and the rule they come from.

    ``prices`` are what a call pays per million tokens of each kind after fallbacks (cache reads
    billed at the input price show the input price) and ``per_request`` per call; ``tiers`` are
    the long-context bands: ``(threshold, prices)`` for calls whose total input exceeds
    ``threshold``. ``next_change`` is the next instant a price may change for this model.
    """

    provider: str | None
    model: str
    at: datetime
    rule: str | None
    currency: str
    prices: Mapping[str, Decimal]
    tiers: tuple[tuple[int, Mapping[str, Decimal]], ...]
    unpriced_reason: str | None
    next_change: datetime | None


def _multiply(prices: Mapping[str, genai.Price], factor: Decimal) -> dict[str, genai.Price]:
    return {
        kind: (p.scaled(factor) if isinstance(p, genai.Tiered) else p * factor)
        for kind, p in prices.items()
    }


_TOKEN_KINDS = frozenset(k for kinds in _FALLBACKS for k in kinds)


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
    rates: dict[Any, _TokenRate | PricedCost] = field(default_factory=dict)
    # The rate last used by price_counts and the instants (ns, [start, end)) it is in force.
    window: tuple[int, int, _TokenRate | PricedCost] | None = None


@dataclass(frozen=True, slots=True)
class _UnitRate:
    nanos_per_unit: Fraction  # nano-units of currency per ONE unit of the event's unit
    rule: str
    currency: str


@dataclass(slots=True)
class _UnitEntry:
    candidates: list[tuple[UnitRule, Fraction]]
    starts: list[datetime]
    reason: str
    rates: dict[int, _UnitRate | PricedCost] = field(default_factory=dict)


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
        self._units: dict[tuple[str, str, str | None], _UnitEntry] = {}

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
            if type(rate) is not _TokenRate:
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
    ) -> _TokenRate | PricedCost:
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
        tiers = tuple((t, _display(vector, rate.scale)) for t, vector in rate.bands[1:])
        return TokenQuote(
            provider,
            model,
            at,
            rate.rule,
            rate.currency,
            _display(rate.bands[0][1], rate.scale),
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
    ) -> _TokenRate | PricedCost:
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

    def _resolve_tokens(self, entry: _TokenEntry, at: datetime) -> _TokenRate | PricedCost:
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
            if not _TOKEN_KINDS & prices.keys() and resolved.other_keys:
                prices = None
                reason = (
                    f"{resolved.description} prices only {', '.join(resolved.other_keys)},"
                    " not tokens"
                )
        override = _newest(entry.override_rules, at)
        if override is not None:
            if override.multiplier is not None:
                if prices is None:
                    return _unpriced(f"{reason}; {override.describe()} needs a base price")
                prices = _multiply(prices, override.multiplier)
                rule = f"{override.describe()} on {rule}"
            elif prices is None:
                if not override.prices.keys() >= {"input", "output"}:
                    return _unpriced(f"{reason}; {override.describe()} sets no input/output price")
                prices, rule, currency = (
                    dict(override.prices),
                    override.describe(),
                    override.currency,
                )
            else:
                # Kinds the override names replace the base's; the others keep the base price.
                if override.currency != currency and not override.prices.keys() >= prices.keys():
                    return _unpriced(
                        f"{override.describe()} is in {override.currency} but the base price"
                        f" ({rule}) is in {currency}"
                    )
                prices = {**prices, **override.prices}
                rule, currency = f"{override.describe()} on {rule}", override.currency
        if prices is None:
            return _unpriced(
                f"{reason}; add a [[model]] price for it to your price file"
                f" ({self.price_file or PRICES_ENV})"
            )
        return _build_rate(prices, rule, currency)

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
        try:
            if not unit:
                return _unpriced(f"the {category} cost event names no unit")
            if not isinstance(quantity, Decimal | int) or not Decimal(quantity).is_finite():
                return _unpriced(f"quantity {quantity!r} is not a finite decimal number")
            key = (category.lower(), normalize_unit(unit), item.lower() if item else None)
            entry = self._units.get(key)
            if entry is None:
                entry = self._units[key] = self._unit_entry(*key)
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            index = bisect_right(entry.starts, at)
            rate = entry.rates.get(index)
            if rate is None:
                rate = entry.rates[index] = self._resolve_unit(entry, at)
            if isinstance(rate, PricedCost):
                return rate
            cost = round(Fraction(quantity) * rate.nanos_per_unit)
            return PricedCost(cost, rate.rule, None, rate.currency)
        except Exception as exc:
            logger.exception("costledger: pricing %s %s failed", category, unit)
            return _unpriced(f"pricing failed: {type(exc).__name__}: {exc}")

    def _unit_entry(self, category: str, unit: str, item: str | None) -> _UnitEntry:
        import fnmatch

        same_category = [
            r for r in self.rules.unit_rules if fnmatch.fnmatchcase(category, r.category)
        ]
        candidates = []
        for rule in same_category:
            if rule.item is not None and (item is None or not fnmatch.fnmatchcase(item, rule.item)):
                continue
            factor = conversion_factor(unit, rule.unit)
            if factor is not None:
                candidates.append((rule, factor))
        starts = sorted(
            {t for rule, _ in candidates for t in (rule.start, rule.end) if t is not None}
        )
        what = f"{category}{f' [{item}]' if item else ''} per {unit}"
        if candidates:
            reason = f"no unit price for {what} in force at this time"
        elif same_category:
            units = ", ".join(sorted({r.unit for r in same_category}))
            reason = f"no unit price for {what}: the price file prices {category} per {units}"
        else:
            where = self.price_file or f"a price file ({PRICES_ENV})"
            reason = f"no unit price for {what}; add a [[unit_price]] to {where}"
        return _UnitEntry(candidates, starts, reason)

    def _resolve_unit(self, entry: _UnitEntry, at: datetime) -> _UnitRate | PricedCost:
        best: tuple[UnitRule, Fraction] | None = None
        for rule, factor in entry.candidates:
            if not rule.in_force(at):
                continue
            rank = (rule.item is not None, rule.start or _EPOCH, rule.position)
            if best is None or rank >= (
                best[0].item is not None,
                best[0].start or _EPOCH,
                best[0].position,
            ):
                best = (rule, factor)
        if best is None:
            return _unpriced(entry.reason)
        rule, factor = best
        return _UnitRate(
            Fraction(rule.price) * NANOS_PER_USD * factor, rule.describe(), rule.currency
        )


_books: dict[str | None, PriceBook] = {}
_failures: dict[str | None, PriceFileError] = {}
_lock = threading.Lock()


def get_price_book() -> PriceBook:
    """The process-wide price book for the current ``COSTLEDGER_PRICES``, made on first use.

    An invalid price file raises :class:`PriceFileError` on every call (the error is kept, so a
    bad file is read once): fix the file and restart the process.
    """
    key = os.environ.get(PRICES_ENV) or None
    book = _books.get(key)
    if book is not None:
        return book
    with _lock:
        book = _books.get(key)
        if book is None:
            if key in _failures:
                raise _failures[key]
            try:
                book = _books[key] = PriceBook(key or "")
            except PriceFileError as exc:
                _failures[key] = exc
                raise
    return book
