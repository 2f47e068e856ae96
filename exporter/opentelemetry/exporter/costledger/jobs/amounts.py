"""Reading an exact amount typed by a person: the CLI's ``--tolerance-abs`` and the job options."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def parse_amount(value: Any) -> Decimal | None:
    """``value`` (``0.01``, ``5``, ``$1,000``, or a number) as an exact non-negative Decimal;
    None when it is not one. A float goes through its shortest text, so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        amount: Decimal | None = value
    elif isinstance(value, bool):  # True is an int to Python, not an amount to a person
        return None
    else:
        try:
            amount = Decimal(str(value).strip().replace(",", "").removeprefix("$"))
        except InvalidOperation:
            return None
    if amount is None or not amount.is_finite() or amount < 0:
        return None
    return amount
