"""Exact money for files: nano-dollars in, decimal strings / ``Decimal`` out, never a float."""

from __future__ import annotations

from decimal import Decimal

from ..ledger.schema import NANOS_PER_USD

_NANO = Decimal(1).scaleb(-9)


def nanos_to_decimal(nanos: int) -> Decimal:
    """``1234567`` → ``Decimal('0.001234567')`` (exponent -9, exact)."""
    return (Decimal(nanos) / NANOS_PER_USD).quantize(_NANO)


def nanos_to_text(nanos: int | None) -> str:
    """A plain decimal string with nine places (``""`` for unpriced): parses exactly anywhere."""
    if nanos is None:
        return ""
    return format(nanos_to_decimal(nanos), "f")


def decimal_text(value: Decimal | None) -> str:
    """A ``Decimal`` as a plain (non-exponent) decimal string; ``""`` for NULL."""
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
