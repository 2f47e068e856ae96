"""Prices of costs that are not tokens: ``record_cost`` events priced by ``[[unit_price]]``.

A unit price ("$45 per hour") prices an event in any unit of the same dimension ("7 minutes":
``_price_units``), exactly: ``Fraction`` arithmetic, rounded once, half to even, to whole
nano-units. Which entry applies: those of the event's category whose unit converts to the
event's unit; one naming the event's item beats one that does not, then the latest ``from``,
then the later entry of the file. Resolved once per (category, unit, item) and price period.
"""

from __future__ import annotations

import fnmatch
import logging
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from ._price_rules import UnitRule
from ._price_units import conversion_factor, normalize_unit
from ._priced import PricedCost, unpriced
from ._setup import PRICES_ENV
from .money import NANOS_PER_USD

logger = logging.getLogger("opentelemetry.instrumentation.costledger.pricing")

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)  # sorts an entry without ``from`` first


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


class UnitPrices:
    """The ``[[unit_price]]`` entries of one price file, with what they resolved to."""

    def __init__(self, rules: Sequence[UnitRule], price_file: str | None) -> None:
        self._rules = rules
        self._price_file = price_file
        self._entries: dict[tuple[str, str, str | None], _UnitEntry] = {}

    def price(
        self,
        category: str,
        unit: str | None,
        quantity: Decimal,
        at: datetime,
        item: str | None = None,
    ) -> PricedCost:
        """The cost of ``quantity`` ``unit`` of a ``category`` at ``at``. Never raises."""
        try:
            if not unit:
                return unpriced(f"the {category} cost event names no unit")
            if not isinstance(quantity, Decimal | int) or not Decimal(quantity).is_finite():
                return unpriced(f"quantity {quantity!r} is not a finite decimal number")
            key = (category.lower(), normalize_unit(unit), item.lower() if item else None)
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = self._entry(*key)
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            index = bisect_right(entry.starts, at)
            rate = entry.rates.get(index)
            if rate is None:
                rate = entry.rates[index] = self._resolve(entry, at)
            if isinstance(rate, PricedCost):
                return rate
            cost = round(Fraction(quantity) * rate.nanos_per_unit)
            return PricedCost(cost, rate.rule, None, rate.currency)
        except Exception as exc:
            logger.exception("costledger: pricing %s %s failed", category, unit)
            return unpriced(f"pricing failed: {type(exc).__name__}: {exc}")

    def _entry(self, category: str, unit: str, item: str | None) -> _UnitEntry:

        same_category = [r for r in self._rules if fnmatch.fnmatchcase(category, r.category)]
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
            where = self._price_file or f"a price file ({PRICES_ENV})"
            reason = f"no unit price for {what}; add a [[unit_price]] to {where}"
        return _UnitEntry(candidates, starts, reason)

    def _resolve(self, entry: _UnitEntry, at: datetime) -> _UnitRate | PricedCost:
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
            return unpriced(entry.reason)
        rule, factor = best
        return _UnitRate(
            Fraction(rule.price) * NANOS_PER_USD * factor, rule.describe(), rule.currency
        )
