"""The currency columns of a ledger export in another currency (``--currency EUR``).

Each ledger row is converted on its own, at the rate in force on its UTC date
(:meth:`..currency.Rates.on`: the latest rate dated on or before it), from its exact
``cost_nanos`` to nano-units of the currency rounded half-even once. Four columns follow
``cost_usd``:

==================  ==========================================================================
cost_currency       the ISO 4217 code (``EUR``); the ledger's own ``currency`` stays ``USD``
cost                the row's cost in that currency, exact to 1e-9 (empty when unpriced)
exchange_rate       units of the currency per 1 USD used, to 12 places (the conversion uses
                    the exact fraction of the rates file, e.g. 1 / 1.1185)
exchange_rate_date  the date of that rate (a Friday's for a Saturday's row)
==================  ==========================================================================

The ledger itself stays USD: ``cost_nanos`` and ``cost_usd`` are unchanged beside them. FOCUS
exports show the same conversion in FOCUS's own columns (:func:`.focus.in_currency`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from ..currency import USD, Rates, dated
from ..errors import InputError

CURRENCY_COLUMNS: dict[str, str] = {
    "cost_currency": "text",
    "cost": "decimal9",
    "exchange_rate": "decimal12",
    "exchange_rate_date": "date",
}
CONVERTED_NANOS = "cost_converted_nanos"  # the integer behind ``cost``, for the export's total


def with_currency(rows: Iterable[dict[str, Any]], rates: Rates) -> Iterator[dict[str, Any]]:
    """The ledger rows with the currency columns (module doc) added."""
    for row in rows:
        rate = rates.on(dated(row["timestamp"]))
        nanos = row["cost_nanos"]
        converted = None if nanos is None else rate.convert(int(nanos))
        if row.get("currency", USD) != USD:
            raise InputError(
                f"ledger row {row.get('id')} is in {row['currency']}: --currency converts USD"
            )
        row["cost_currency"] = rates.currency
        row[CONVERTED_NANOS] = converted
        row["cost"] = None if converted is None else Decimal(converted).scaleb(-9)
        row["exchange_rate"] = Decimal(rate.text)
        row["exchange_rate_date"] = rate.day
        yield row
