"""Money: integer nano-dollars, exact ``Decimal`` dollars and their decimal text.

The one place that converts between the three forms money takes in costledger:

- **nanos** -- an ``int`` of nano-units (10**-9) of a currency, US dollars unless said otherwise:
  what a call's cost is computed in, what the ledger stores and what the metrics count. Sums of
  any number of them are exact.
- **Decimal** -- the same amount in major units (dollars), exact, for people and for arithmetic
  that needs a fraction of a nano (a share, a ratio) before it is rounded back to nanos.
- **text** -- the decimal text a span carries in ``costledger.cost.amount``: always nine
  decimals, ``"%d.%09d"``, e.g. ``"0.000262000"`` or ``"-1.500000001"``. A span attribute cannot
  hold a ``Decimal``, and a float would not be exact.

Rounding to nanos is half to even (banker's rounding), so that rounding many amounts adds no
bias. Pure functions over the standard library only: safe to import anywhere (the instrumentation
in users' processes and the exporter alike), never a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final

__all__ = [
    "NANOS_PER_USD",
    "decimal_to_nanos",
    "format_usd",
    "nanos_to_decimal",
    "nanos_to_text",
    "text_to_nanos",
]

NANOS_PER_USD: Final = 1_000_000_000
"""Nano-units per major unit (per dollar)."""


def nanos_to_decimal(nanos: int) -> Decimal:
    """``nanos`` in major units, exact: ``262000`` -> ``Decimal("0.000262000")``."""
    return Decimal(nanos).scaleb(-9)


def decimal_to_nanos(amount: Decimal | int | str) -> int:
    """``amount`` in major units as whole nanos, rounded half to even.

    Raises ``ValueError`` for text that is not a finite decimal number.
    """
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    return int((value * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def nanos_to_text(nanos: int) -> str:
    """``nanos`` as the exact nine-decimal text a span carries: ``262000`` -> ``"0.000262000"``,
    ``-1500000001`` -> ``"-1.500000001"``."""
    if nanos >= 0:
        return "%d.%09d" % divmod(nanos, NANOS_PER_USD)  # noqa: UP031
    return "-%d.%09d" % divmod(-nanos, NANOS_PER_USD)  # noqa: UP031


def text_to_nanos(text: str) -> int:
    """Decimal text (any number of decimals) as whole nanos, rounded half to even.

    The inverse of :func:`nanos_to_text`; raises ``ValueError`` for anything else than a finite
    decimal number.
    """
    return decimal_to_nanos(str(text).strip())


def format_usd(amount: Decimal, places: int = 2) -> str:
    """``amount`` in dollars as ``$1,234.57`` (nanos: ``format_usd(nanos_to_decimal(n))``).

    Rounded half to even to ``places`` decimals; negative amounts as ``-$1.50``.
    """
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.{places}f}"
