"""Money for people: ``$1,234.56`` from integer nano-dollars, exactly rounded (half-even).

Amounts of a dollar or more show cents; smaller non-zero amounts show up to four significant
decimals (``$0.0256``) so a per-call or per-ticket cost does not round to ``$0.00``. The exact
value stays available (:func:`exact_usd`) for tooltips and machine formats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from ..ledger.schema import NANOS_PER_USD


def exact_usd(nanos: int) -> str:
    """Every digit: ``2760000000000`` → ``2760.000000000``."""
    return format((Decimal(nanos) / NANOS_PER_USD).quantize(Decimal("1e-9")), "f")


def format_usd(nanos: int | None, *, places: int | None = None) -> str:
    """``$1,234.56``; ``-$360.00``; ``$0.0256`` below a dollar; ``—`` for None."""
    if nanos is None:
        return "—"
    amount = Decimal(nanos) / NANOS_PER_USD
    if places is None:
        if amount == 0 or abs(amount) >= 1:
            places = 2
        else:
            # Four significant decimals for small amounts, at most nine (the ledger's unit).
            places = min(9, max(2, 3 - abs(amount).adjusted()))
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if places > 2 and abs(rounded) >= 1:  # 0.9999999 rounded up to a whole dollar
        places, rounded = 2, rounded.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    sign = "-" if rounded < 0 else ""
    text = f"{abs(rounded):,.{places}f}"
    if places > 2:
        whole, _, fraction = text.partition(".")
        text = f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"
    return f"{sign}${text}"


def format_pct(ratio: Decimal | float | str | None, places: int = 0) -> str:
    """An exact ratio as a percentage: ``Decimal('0.8625')`` → ``86%``."""
    if ratio is None:
        return "—"
    value = (Decimal(str(ratio)) * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
    return f"{value:,.{places}f}%"
