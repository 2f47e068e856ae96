"""Pricing a row while it is made: the price book of the process, and a cost or the reason
there is none.

Token rows are priced at the span's start time (the price in force when the call was made),
with the service tier and the batch flag, by ``PriceBook.price_counts`` (the counts and the
integer nanoseconds as read; the book remembers each model's rate with the instants it is in
force). Cost events are priced by ``PriceBook.price_quantity`` unless the span carries its own
amount. A row no price covers is kept with ``cost_nanos = NULL`` and ``unpriced_reason``;
``costledger reprice`` prices it later. Never raises: a failure of the price book is the row's
unpriced reason.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from opentelemetry.instrumentation.costledger.money import nanos_to_text

from ..ledger.rows import PRODUCER_RULE_PREFIX

if TYPE_CHECKING:
    from opentelemetry.instrumentation.costledger.pricing import PriceBook

logger = logging.getLogger(__name__)

MAX_TEXT = 400  # width of the flags / reason / rule columns

Price = tuple[int | None, str, str | None, str | None]
"""``(cost_nanos, currency, price_rule, unpriced_reason)`` of a row: a cost and its rule, or
``None`` and the reason."""


def clip(text: str) -> str:
    """``text`` cut to the width of the text columns."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def price_failed(provider: str | None, model: str | None, exc: Exception) -> Price:
    """The row's price when ``PriceBook.price_counts`` raised (:mod:`.convert` calls it inline,
    once per call row): unpriced, with the failure as the reason."""
    logger.exception("costledger: pricing %s/%s failed", provider, model)
    return None, "USD", None, f"pricing failed: {type(exc).__name__}: {exc}"


def price_quantity(
    book: PriceBook | None,
    no_book: str,
    category: str,
    unit: str | None,
    quantity: Decimal,
    at: datetime,
    item: str | None,
) -> Price:
    """The price of a cost event of ``quantity`` ``unit`` at ``at``."""
    if book is None:
        return None, "USD", None, no_book
    try:
        priced = book.price_quantity(category, unit, quantity, at, item=item)
    except Exception as exc:
        logger.exception("costledger: pricing %s %s failed", category, item)
        return None, "USD", None, clip(f"pricing failed: {type(exc).__name__}: {exc}")
    return (
        priced.cost_nanos,
        priced.currency,
        clip(priced.rule) if priced.rule else None,
        None if priced.cost_nanos is not None else clip(priced.unpriced_reason or "no price"),
    )


def with_producer_cost(price: Price, producer: tuple[int, str]) -> tuple[Price, str | None]:
    """The price of a call whose producer put its own cost on the span, and a flag.

    No price of ours (``cost_nanos`` None): the producer's cost, with the rule
    ``producer:<name>`` (``costledger reprice`` replaces it once a price covers the model).
    Both known: ours, flagged when the two differ by more than one part in a thousand (a cent in
    ten dollars) — a negotiated rate the producer does not know, or a price one side has wrong.
    A cost of 0 is none: OpenLIT writes 0 for a model it has no price of (or when its price
    download failed), so the row stays unpriced (or at ours, unflagged), never a silent $0; a
    model that is free indeed gets a price of 0 in the price file.
    """
    cost_nanos, currency, rule, _reason = price
    their_nanos, name = producer
    if their_nanos == 0:
        return price, None
    if cost_nanos is None:
        return (their_nanos, "USD", f"{PRODUCER_RULE_PREFIX}{name}", None), None
    if abs(cost_nanos - their_nanos) * 1000 > cost_nanos:
        return price, clip(
            f"{name}'s own cost {nanos_to_text(their_nanos)} USD differs from the price"
            f" {nanos_to_text(cost_nanos)} {currency} ({rule}) by more than 0.1%"
        )
    return price, None


NO_PRICE_BOOK = "no price book available (costledger pricing could not be loaded)"

_reported_failures: set[str] = set()  # logged once per process, not once per batch


def default_price_book() -> tuple[PriceBook | None, str]:
    """The process's price book, else None and the unpriced reason its rows get.

    Rows are still written without it: ``costledger reprice --unpriced`` prices them once the
    cause is fixed, and the reason on each row says what that cause was.
    """
    try:
        from opentelemetry.instrumentation.costledger.pricing import (
            PriceFileError,
            get_price_book,
        )

        return get_price_book(), NO_PRICE_BOOK
    except PriceFileError as exc:
        # The user's file is wrong: its text (file:line, field, what to write) is the whole
        # story, so no traceback.
        reason = clip(f"the price file is invalid: {exc}")
        if reason not in _reported_failures:
            _reported_failures.add(reason)
            logger.error(
                "costledger: %s; rows are recorded unpriced until the file is fixed and the"
                " process restarted, then `costledger reprice --unpriced` prices them",
                reason,
            )
        return None, reason
    except Exception:
        if NO_PRICE_BOOK not in _reported_failures:
            _reported_failures.add(NO_PRICE_BOOK)
            logger.exception("costledger: the price book could not be loaded; rows stay unpriced")
        return None, NO_PRICE_BOOK
