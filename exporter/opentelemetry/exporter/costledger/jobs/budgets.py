"""Budgets for the ``over_budget`` alert: the ``budgets`` option (a table, or the path of a
budgets file) read into ``{customer: amount}``; ``"*"`` is everyone else's budget."""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import InputError
from .bills import read_document


def budgets_table(value: Any, where: str, base: str | os.PathLike[str] | None = None) -> Any:
    """The ``budgets`` option as a mapping: a table as given, or a string naming a budgets file
    (the file ``--budgets`` takes: a ``[budgets]`` table or bare ``customer = amount`` lines),
    read relative to ``base`` (the directory of the file that named it) when given."""
    if isinstance(value, str):
        path = Path(base, value) if base is not None else Path(value)
        document = read_document(path)
        return document.get("budgets", document)
    if not isinstance(value, Mapping):
        raise InputError(
            f'{where}: budgets must be a table (cust_12345 = "2500") or the path of a'
            f" budgets file, not {value!r}"
        )
    return value


def load_budgets(data: Mapping[str, Any], where: str) -> dict[str, Decimal]:
    """``{customer: amount}`` from a config mapping (amounts as strings or numbers)."""
    budgets = {}
    for customer, amount in data.items():
        try:
            budgets[str(customer)] = Decimal(str(amount).replace(",", "").replace("$", ""))
        except ArithmeticError as exc:
            raise InputError(
                f"{where}: budget for {customer!r} is not a number: {amount!r}"
            ) from exc
        if not budgets[str(customer)].is_finite() or budgets[str(customer)] < 0:
            raise InputError(
                f"{where}: budget for {customer!r} must be an amount of dollars, zero or more:"
                f" {amount!r}"
            )
    return budgets
