"""What pricing answers: the cost of one event (:class:`PricedCost`) and a model's prices at a
time (:class:`TokenQuote`). See ``pricing.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .money import nanos_to_decimal


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


def unpriced(reason: str) -> PricedCost:
    return PricedCost(None, None, reason)


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
