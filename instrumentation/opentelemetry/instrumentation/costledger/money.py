"""Money, exactly: the one place costledger converts, divides and formats amounts.

Amounts live as integer nano-dollars (``int``): what a call's cost is computed in, what the
metrics count, what the ledger and the jobs' tables store; sums of any number of them are exact.
They are exact :class:`~decimal.Decimal` dollars in the records the jobs return, and decimal
text on spans (``costledger.cost.amount``: always nine decimals, ``"0.000262000"``, since a span
attribute cannot hold a ``Decimal`` and a float would not be exact) and in files. Every
conversion between those forms, every ratio between two amounts (cost per work item, share of
revenue, margin) and every amount shown to a person goes through a function here. Rounding is
half-even everywhere, so rounding many amounts adds no bias; a float never carries money.

Pure functions over ``int`` / ``Decimal`` / ``str`` with only the standard library: safe to
import anywhere, in users' processes (the instrumentation) and in every stage of the exporter.
Bad text raises :class:`ValueError`; callers that read a user's file wrap it in their own error
naming the file and line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

NANOS_PER_USD = 1_000_000_000
NANO = Decimal(1).scaleb(-9)  # the ledger's unit, in dollars
RATIO_PLACES = 12  # the scale ratios are stored at (NUMERIC(…, 12))
_RATIO_QUANTUM = Decimal(1).scaleb(-RATIO_PLACES)

__all__ = [
    "MONEY_PLACES",
    "NANO",
    "NANOS_PER_USD",
    "PCT_PLACES",
    "RATIO_PLACES",
    "UNIT_COST_PLACES",
    "decimal_text",
    "format_pct",
    "format_unit_cost",
    "format_usd",
    "nanos_to_decimal",
    "nanos_to_text",
    "parse_usd",
    "per_unit",
    "per_unit_nanos",
    "ratio",
    "to_dollars",
    "to_nanos",
]


# --- conversions -------------------------------------------------------------------------


def parse_usd(text: Decimal | int | str, *, what: str = "amount") -> Decimal:
    """``"$1,234.56"`` → ``Decimal('1234.56')``; ``ValueError`` unless a finite number."""
    if isinstance(text, Decimal):
        value = text
    else:
        try:
            value = Decimal(str(text).replace(",", "").replace("$", "").strip())
        except InvalidOperation as exc:
            raise ValueError(f"{what} {text!r} is not a number: write it like 1234.56") from exc
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


def to_nanos(amount: Decimal | int | str, *, what: str = "amount") -> int:
    """Dollars to integer nano-dollars; finer fractions round half-even."""
    value = parse_usd(amount, what=what)
    return int((value * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def to_dollars(nanos: int | None) -> Decimal | None:
    """Nano-dollars to exact dollars (``None`` stays ``None``): the jobs' records' form."""
    if nanos is None:
        return None
    return Decimal(int(nanos)) / NANOS_PER_USD


def nanos_to_decimal(nanos: int) -> Decimal:
    """``1234567`` → ``Decimal('0.001234567')``: always nine places, the ledger's unit."""
    return Decimal(int(nanos)).scaleb(-9)


def nanos_to_text(nanos: int | None) -> str:
    """A plain decimal string with nine places (``""`` for unpriced): parses exactly anywhere.

    ``262000`` → ``"0.000262000"``, ``-1500000001`` → ``"-1.500000001"``: the text a call's
    span carries, made on every call, hence printf-style integer formatting."""
    if nanos is None:
        return ""
    if nanos >= 0:
        return "%d.%09d" % divmod(nanos, NANOS_PER_USD)  # noqa: UP031
    return "-%d.%09d" % divmod(-nanos, NANOS_PER_USD)  # noqa: UP031


def decimal_text(value: Decimal | None) -> str:
    """A ``Decimal`` as a plain (non-exponent) decimal string, no trailing zeros; ``""`` for
    NULL."""
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def usd_text(amount: Decimal) -> str:
    """Exact dollars as plain text with every digit they have and at least two decimals
    (``2760.00``, ``0.445``): the ``X_usd`` fields of the jobs' csv/json and alert webhooks."""
    if amount == amount.to_integral_value() or amount.as_tuple().exponent >= -2:  # type: ignore[operator]
        return f"{amount.quantize(Decimal('0.01')):f}"
    return f"{amount.normalize():f}"


# --- ratios ------------------------------------------------------------------------------


def ratio(numerator: int | Decimal, denominator: int | Decimal | None) -> Decimal | None:
    """``numerator / denominator`` to 12 decimal places (``None`` when there is nothing to
    divide by): share of revenue, AI cost to margin, drift, an allocation's share."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        _RATIO_QUANTUM, rounding=ROUND_HALF_EVEN
    )


def per_unit_nanos(total_nanos: int, count: int | None) -> int | None:
    """An amount per unit (cost per work item) in whole nano-dollars, rounded half-even;
    ``None`` for no units. Integer arithmetic, so exact at any size."""
    if not count:
        return None
    quotient, remainder = divmod(int(total_nanos), int(count))
    twice = 2 * remainder
    if twice > count or (twice == count and quotient % 2):
        quotient += 1
    return quotient


def per_unit(total_nanos: int, count: int | None) -> Decimal | None:
    """:func:`per_unit_nanos` in dollars with nine places: ``unit_economics.cost_per_work_item``."""
    nanos = per_unit_nanos(total_nanos, count)
    return None if nanos is None else nanos_to_decimal(nanos)


# --- for people --------------------------------------------------------------------------
#
# One precision rule for every figure people read — CLI tables, the report page, the dashboard,
# alert and ranking messages (the README's "Precision"): money to the cent; a cost per unit of
# work (per work item) to a tenth of a cent, as the seed's $0.445 per ticket; ratios as whole
# percentages. All rounded half-even; an amount that rounds away is shown as under the smallest
# one (``<$0.01``), never as free. csv/json carry every digit instead (``usd_text``).

MONEY_PLACES = 2
UNIT_COST_PLACES = 3
PCT_PLACES = 0


def format_usd(nanos: int | None, *, places: int = MONEY_PLACES) -> str:
    """An amount for people: ``$1,234.56``, ``-$360.00``; ``—`` for None.

    Rounded half-even to ``places`` (cents unless told: :data:`UNIT_COST_PLACES` for a cost
    per work item, 0 for whole dollars); a real cost that rounds away says it is under the
    smallest amount shown (``<$0.01``, ``>-$0.01``) instead of reading as free.
    """
    if nanos is None:
        return "—"
    amount = Decimal(int(nanos)) / NANOS_PER_USD
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if not rounded and amount:
        smallest = f"${Decimal(1).scaleb(-places):f}"
        return f"<{smallest}" if amount > 0 else f">-{smallest}"
    sign = "-" if rounded < 0 else ""
    return f"{sign}${abs(rounded):,.{places}f}"


def format_unit_cost(nanos: int | None) -> str:
    """A cost per work item for people: ``$0.445`` (:data:`UNIT_COST_PLACES`)."""
    return format_usd(nanos, places=UNIT_COST_PLACES)


def format_pct(value: Decimal | float | str | None, places: int = PCT_PLACES) -> str:
    """A ratio as a percentage for people: ``Decimal('0.8625')`` → ``86%``; ``—`` for None."""
    if value is None:
        return "—"
    scaled = (Decimal(str(value)) * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
    return f"{scaled:,.{places}f}%"
