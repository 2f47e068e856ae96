"""``record_cost``: costs that are not LLM calls travel the same pipe as LLM calls.

Human review minutes, a Stripe or Twilio call made for a customer, vector storage -- anything with
a quantity and a unit (Step 4 of the seed article)::

    from decimal import Decimal
    from opentelemetry.instrumentation.costledger import attribute_to, record_cost

    with attribute_to(customer_id="cust_12345", work_item_id="ticket_67890"):
        record_cost("human_review", quantity=30, unit="minute")                 # priced later
        record_cost("third_party", quantity=1, unit="call", item="stripe.charge",
                    cost_usd=Decimal("0.30"))                                    # priced now

Each call makes one short INTERNAL span ``cost {category}`` with ``costledger.cost.category``,
``costledger.cost.quantity`` (decimal string), ``costledger.cost.unit``, ``costledger.cost.item``
(when given), ``costledger.cost.amount`` + ``costledger.cost.currency`` (when ``cost_usd`` is
given) and the attribution (the context's, overridden by the keyword arguments). Without
``cost_usd`` the ledger prices the quantity from its price file. Money is never a float:
``cost_usd`` takes a ``Decimal``, an ``int`` or a decimal string. A cost that happened earlier
is recorded at its own time with ``timestamp=`` (a timezone-aware ``datetime``)::

    record_cost("human_review", quantity=30, unit="minute", customer_id="cust_12345",
                timestamp=datetime(2025, 5, 2, 15, 0, tzinfo=UTC))
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from . import attributes as A
from ._setup import get_tracer
from .attribution import attribute_to, current_attribution, merge_attribution

_ATTRIBUTION_ARGS: Final = frozenset(
    {"customer_id", "customer_name", "workspace_id", "work_item_id", "user_id"}
)

# Set by CostLedgerInstrumentor.instrument(tracer_provider=...) so cost spans use that provider;
# the tracer is made once (the global one is a proxy until the app sets its provider).
_tracer: trace.Tracer | None = None


def set_tracer_provider(provider: trace.TracerProvider | None) -> None:
    global _tracer
    _tracer = get_tracer(provider) if provider is not None else None


_global: trace.Tracer | None = None


def _global_tracer() -> trace.Tracer:
    global _global
    if _global is None:
        _global = get_tracer()
    return _global


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise TypeError(
            f"record_cost({name}=...) got a {type(value).__name__}; pass a Decimal, an int or a"
            f" decimal string such as '0.25' (floats cannot hold money exactly)"
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"record_cost({name}={value!r}) is not a decimal number") from None
    else:
        raise TypeError(f"record_cost({name}=...) takes a Decimal, int or str, got {type(value)}")
    if not number.is_finite():
        raise ValueError(f"record_cost({name}={value!r}) must be a finite number")
    return number


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time_ns(timestamp: object) -> int:
    """A past, timezone-aware ``datetime`` as nanoseconds since the epoch (exact)."""
    if not isinstance(timestamp, datetime):
        raise TypeError(
            f"record_cost(timestamp=...) takes a datetime, got {type(timestamp).__name__}"
        )
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError(
            f"record_cost(timestamp={timestamp!r}) has no time zone: pass an aware datetime such"
            " as datetime(2025, 5, 2, 10, 0, tzinfo=UTC), so the cost lands in the right period"
        )
    if timestamp > datetime.now(UTC):
        raise ValueError(
            f"record_cost(timestamp={timestamp.isoformat()}) is in the future: a cost is"
            " recorded when it happened"
        )
    return (timestamp - _EPOCH) // timedelta(microseconds=1) * 1000


def record_cost(
    category: str,
    *,
    quantity: Decimal | int | str,
    unit: str,
    cost_usd: Decimal | int | str | None = None,
    item: str | None = None,
    timestamp: datetime | None = None,
    **attribution: Any,
) -> None:
    """Record one cost event for the current (or the given) customer as a ``cost`` span.

    ``attribution`` takes ``customer_id``, ``customer_name``, ``workspace_id``, ``work_item_id``
    and ``user_id``; they override the context's (see :func:`attribute_to`). ``timestamp`` (a
    timezone-aware ``datetime``, not in the future) records a cost that happened earlier — a
    review done yesterday, a month of past costs — at its own time: the span starts and ends
    then, so the ledger books it in that period, at the unit prices in force then. Default: now.
    """
    if not isinstance(category, str) or not category:
        raise ValueError("record_cost(category) must be a non-empty string such as 'human_review'")
    if not isinstance(unit, str) or not unit:
        raise ValueError("record_cost(unit=...) must be a non-empty string such as 'minute'")
    unknown = set(attribution) - _ATTRIBUTION_ARGS
    if unknown:
        raise TypeError(
            f"record_cost() got unexpected keyword(s) {sorted(unknown)}; attribution keywords"
            f" are {sorted(_ATTRIBUTION_ARGS)}"
        )
    at_ns = None if timestamp is None else _time_ns(timestamp)
    amount_qty = _decimal("quantity", quantity)
    if amount_qty < 0:
        raise ValueError(f"record_cost(quantity={quantity!r}) must not be negative")
    attrs: dict[str, AttributeValue] = {
        A.COST_CATEGORY: category,
        A.COST_QUANTITY: str(amount_qty),
        A.COST_UNIT: unit,
    }
    if item is not None:
        attrs[A.COST_ITEM] = item
    if cost_usd is not None:
        amount = _decimal("cost_usd", cost_usd)
        if amount < 0:
            raise ValueError(
                f"record_cost(cost_usd={cost_usd!r}) must not be negative: the ledger records"
                " costs; a credit or refund belongs in your revenue"
            )
        attrs[A.COST_AMOUNT] = str(amount)
        attrs[A.COST_CURRENCY] = "USD"
    given = attribute_to(**attribution).values if attribution else {}
    attrs.update(merge_attribution(current_attribution(), given))
    tracer = _tracer or _global_tracer()
    span = tracer.start_span(
        f"cost {category}", kind=SpanKind.INTERNAL, attributes=attrs, start_time=at_ns
    )
    span.end(end_time=at_ns)
