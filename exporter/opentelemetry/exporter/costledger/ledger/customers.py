"""Is this a customer of the ledger? :func:`check_customer`, for every command filtering by one.

A mistyped customer id (``cust_99999`` for ``cust_12345``) matched no row, and
``normalize --customer`` printed a zero table without a word: $0.00 read as a real answer. A
customer is known in a period when the ledger has a row of theirs in it, or imported business
data names them for it (a customer on a plan who made no call costs $0.00, truly). Otherwise
:class:`UnknownCustomer` says so, with the closest ids (:mod:`difflib`) and where else the
customer's rows are. Only the error path lists ids, so a known customer costs one indexed
lookup (``ix_ledger_entries_customer_time``).
"""

from __future__ import annotations

import difflib
from datetime import datetime

import sqlalchemy as sa

from ..errors import InputError
from .schema import ledger_entries
from .tables import business_data

# The ids compared for "closest": enough for any real ledger's customers in a period.
_CANDIDATES = 100_000


class UnknownCustomer(InputError):
    """No row of the customer (and no business data) in the period asked about."""


def check_customer(
    conn: sa.Connection,
    customer_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    period: str | None = None,
) -> None:
    """Raise :class:`UnknownCustomer` unless ``customer_id`` has a ledger row in
    [``start``, ``end``) (either may be open) or business data for ``period`` (its label)."""
    le = ledger_entries
    in_range = [le.c.timestamp >= start] if start is not None else []
    in_range += [le.c.timestamp < end] if end is not None else []
    found = conn.execute(
        sa.select(le.c.id).where(le.c.customer_id == customer_id, *in_range).limit(1)
    ).first()
    if found is not None:
        return
    if period is not None:
        bd = business_data
        imported = conn.execute(
            sa.select(bd.c.customer_id).where(
                bd.c.customer_id == customer_id, bd.c.period == period
            )
        ).first()
        if imported is not None:
            return
    where = f" in {period}" if period else ""
    ids = conn.execute(
        sa.select(le.c.customer_id)
        .where(le.c.customer_id.is_not(None), *in_range)
        .distinct()
        .limit(_CANDIDATES)
    ).scalars()
    close = difflib.get_close_matches(customer_id, list(ids), n=3, cutoff=0.6)
    hint = f"; closest: {', '.join(close)}" if close else ""
    first, last = conn.execute(
        sa.select(sa.func.min(le.c.timestamp), sa.func.max(le.c.timestamp)).where(
            le.c.customer_id == customer_id
        )
    ).one()
    elsewhere = (
        f"; its rows are from {first:%Y-%m-%d} to {last:%Y-%m-%d}: pick that period"
        if first is not None
        else ""
    )
    raise UnknownCustomer(
        f"the ledger has no customer {customer_id!r}{where}{elsewhere}{hint} (costledger ledger"
        f" --period PERIOD lists the rows; customer ids are case-sensitive)"
    )
