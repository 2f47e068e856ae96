"""Exact money conversions shared by every stage: dollars <-> integer nano-dollars, ratios.

Never float. Imports nothing of costledger but :mod:`.errors`: every stage may use it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from .errors import InputError

NANOS_PER_USD = 1_000_000_000


def to_nanos(amount: Decimal | int | str, *, what: str = "amount") -> int:
    """Dollars to integer nano-dollars; finer fractions round half-even (never float)."""
    try:
        value = Decimal(str(amount).replace(",", "").replace("$", "").strip())
    except InvalidOperation as exc:
        raise InputError(f"{what} {amount!r} is not a number: write it like 1234.56") from exc
    if not value.is_finite():
        raise InputError(f"{what} {amount!r} is not a finite number")
    return int((value * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def to_dollars(nanos: int | None) -> Decimal | None:
    if nanos is None:
        return None
    return Decimal(int(nanos)) / NANOS_PER_USD


def ratio(numerator: int | Decimal, denominator: int | Decimal | None) -> Decimal | None:
    """An exact ratio, to 12 decimal places (the NUMERIC scale it is stored at)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("1e-12"), rounding=ROUND_HALF_EVEN
    )
