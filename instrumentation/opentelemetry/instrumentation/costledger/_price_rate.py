"""A token rate: one model's prices for one period as integers, and the arithmetic of a call.

A model's prices (``Decimal`` per million tokens, per kind, with long-context bands) become a
:class:`TokenRate` once per price period: each kind's price in integer units of 10**-s currency,
with s the fewest decimals that make that period's prices whole. A call's cost is then a sum of
integer products, converted once to whole nano-units (see ``pricing.py``, "Speed and
exactness").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from . import _price_genai as genai


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
class TokenRate:
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


_MAX_SCALE = 15  # decimals of a price per million tokens kept exactly


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def build_rate(prices: Mapping[str, genai.Price], rule: str, currency: str) -> TokenRate:
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
        return TokenRate(bands, rule, currency, scale, 10 ** (3 - scale), 1)
    return TokenRate(bands, rule, currency, scale, 0, 10 ** (scale - 3))


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


def display(vector: tuple[int, ...], scale: int) -> dict[str, Decimal]:
    shown = {}
    for slot, value in enumerate(vector):
        exponent = scale + 6 if slot == _REQUEST else scale
        shown[PRICE_SLOTS[slot]] = Decimal(value).scaleb(-exponent).normalize()
    return shown


TOKEN_KINDS = frozenset(k for kinds in _FALLBACKS for k in kinds)
