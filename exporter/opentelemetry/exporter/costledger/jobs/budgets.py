"""Budgets: the budgets file, and where each budget stands in its period.

A budgets file (TOML or YAML, the file ``costledger alerts --budgets`` takes) has two forms,
which may be mixed:

* the short form, a ``[budgets]`` table (or bare ``customer = amount`` lines) of one amount per
  customer per alerts period, ``"*"`` being everyone else's — the ``over_budget`` alert when a
  customer's cost is above it (:func:`budgets_table`, :func:`load_budgets`, as before);
* ``[[budget]]`` entries that warn ahead (:func:`load_budget_file`, :func:`parse_budgets`)::

      thresholds = [50, 80, 100]     # percent of the amount; this is the default

      [[budget]]
      customer = "cust_12345"        # exactly one scope: customer, workspace, feature, agent,
      amount = "2000"                # or tag = "team=search"; "*" = each one not named otherwise
      period = "month"               # day, week, month or quarter (default: the alerts --by)
      hard_limit = "2500"            # optional: for the in-app guard (none by default)

      [[budget]]
      tag = "team=*"
      amount = 500
      period = "week"
      thresholds = [80, 100]         # this budget's own thresholds

A ``"*"`` budget stands for each value of its scope (each customer, each ``team`` tag value)
that has cost in the period and that no other budget of the same scope and period names.

:func:`.budget_status.budget_status` tells, for each budget and each concrete value, what the
period that ``as_of`` ends or falls in (``start < as_of ≤ end``, in the job's time zone) has
spent up to ``as_of``, against the amount and the hard limit, with a forecast to the period's
end:

    forecast = spent + usage × (period end − as_of) / (as_of − period start)

where ``usage`` is the period's cost so far without the allocated shared costs (``costledger
allocate`` books a bill once per bill period, which is no rate), and ``spent`` is all of it
(fully loaded, as ``over_budget`` counts). The forecast crossing date is the local date at which
that run rate takes ``spent`` past the amount: ``as_of + (amount − spent) × elapsed / usage`` —
``None`` when the forecast stays within the amount or when ``spent`` has reached it already.
All of it is exact: integer nano-dollars and microseconds; the forecast rounds half-even to a
nano-dollar. A threshold is crossed when ``spent`` reaches that percentage of the amount (and
is more than zero).

This module reads the file; :mod:`.budget_status` queries the ledger, and
:mod:`.budget_alerts` raises the threshold and forecast alerts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import InputError
from .amounts import parse_amount
from .bills import read_document

SCOPES = ("customer", "workspace", "feature", "agent", "tag")
BUDGET_PERIODS = ("day", "week", "month", "quarter")
DEFAULT_THRESHOLDS = (Decimal(50), Decimal(80), Decimal(100))
EVERYONE = "*"
_TAG_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_ENTRY_KEYS = ("amount", "period", "thresholds", "hard_limit")


@dataclass(frozen=True, slots=True)
class Budget:
    """One ``[[budget]]`` entry: ``amount`` dollars per ``period`` for one ``scope`` value.

    ``value`` is as written: a customer (``cust_12345``), ``*`` for each one not named
    otherwise, or for ``scope == "tag"`` a ``name=value`` pair (``team=search``, ``team=*``).
    ``thresholds`` are percentages of the amount, ascending; ``hard_limit`` (dollars) is what
    the in-app guard stops at, None for no stop."""

    scope: str
    value: str
    amount: Decimal
    period: str
    thresholds: tuple[Decimal, ...] = DEFAULT_THRESHOLDS
    hard_limit: Decimal | None = None

    @property
    def tag_name(self) -> str | None:
        """The tag a ``tag`` budget reads (``team`` of ``team=search``), else None."""
        return self.value.partition("=")[0] if self.scope == "tag" else None

    @property
    def match(self) -> str:
        """The value the ledger is matched on: the customer, or the tag's value (``search``)."""
        return self.value.partition("=")[2] if self.scope == "tag" else self.value

    @property
    def is_everyone(self) -> bool:
        return self.match == EVERYONE

    @property
    def label(self) -> str:
        """``customer=cust_12345``, ``tag:team=search``: the budget's name in alert keys."""
        return f"tag:{self.value}" if self.scope == "tag" else f"{self.scope}={self.value}"


@dataclass(frozen=True, slots=True)
class BudgetFile:
    """What a budgets file holds: the ``[[budget]]`` entries, the file-level thresholds, and
    the short form's ``{customer: amount}`` (the ``over_budget`` alert's)."""

    budgets: tuple[Budget, ...] = ()
    thresholds: tuple[Decimal, ...] = DEFAULT_THRESHOLDS
    legacy: Mapping[str, Decimal] | None = None


def load_budget_file(path: str | os.PathLike[str], *, default_period: str = "month") -> BudgetFile:
    """Read a budgets file (TOML, or YAML by its suffix); ``default_period`` is the period of
    entries without one (the alerts job passes its ``--by``). InputError/ConfigError naming the
    file and the entry for anything wrong in it."""
    return parse_budgets(read_document(path), str(path), default_period=default_period)


def is_budget_document(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` uses the ``[[budget]]`` form (a ``budget`` list or a ``thresholds``
    list), as opposed to the short ``customer = amount`` form only."""
    return isinstance(data.get("budget"), list) or isinstance(data.get("thresholds"), list)


def parse_budgets(
    data: Mapping[str, Any], where: str, *, default_period: str = "month"
) -> BudgetFile:
    """A budgets document already read (a file's, or a config's inline table) as a
    :class:`BudgetFile`; ``where`` starts the error messages."""
    if default_period not in BUDGET_PERIODS:
        raise InputError(f"{where}: unknown budget period {default_period!r}")
    if not is_budget_document(data):
        short = data.get("budgets", data)
        return BudgetFile(legacy=load_budgets(short, where) if short else None)
    unknown = sorted(str(k) for k in data if k not in ("thresholds", "budget", "budgets"))
    if unknown:
        raise InputError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}: a budgets file has"
            " thresholds = [50, 80, 100], [[budget]] entries and an optional [budgets] table"
        )
    thresholds = _thresholds(data.get("thresholds", DEFAULT_THRESHOLDS), f"{where}: thresholds")
    entries = data.get("budget", [])
    if not isinstance(entries, list):
        raise InputError(f"{where}: budget must be a list of [[budget]] entries")
    budgets = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, entry in enumerate(entries, 1):
        budget = _entry(entry, f"{where}: budget #{index}", thresholds, default_period)
        key = (budget.scope, budget.value, budget.period)
        if key in seen:
            raise InputError(
                f"{where}: budget #{index} repeats budget #{seen[key]} ({budget.label} per"
                f" {budget.period}): keep one"
            )
        seen[key] = index
        budgets.append(budget)
    short = data.get("budgets")
    if short is not None and not isinstance(short, Mapping):
        raise InputError(f'{where}: [budgets] must be a table (cust_12345 = "2500")')
    return BudgetFile(
        budgets=tuple(budgets),
        thresholds=thresholds,
        legacy=load_budgets(short, where) if short else None,
    )


def _entry(entry: Any, where: str, thresholds: tuple[Decimal, ...], default_period: str) -> Budget:
    if not isinstance(entry, Mapping):
        raise InputError(f"{where}: each [[budget]] is a table (customer = ..., amount = ...)")
    scopes = [s for s in SCOPES if s in entry]
    if len(scopes) != 1:
        raise InputError(
            f"{where}: name exactly one of {', '.join(SCOPES)} (e.g. customer ="
            f' "cust_12345" or tag = "team=search"), not {len(scopes) or "none"}'
        )
    scope = scopes[0]
    unknown = sorted(str(k) for k in entry if k not in (*SCOPES, *_ENTRY_KEYS))
    if unknown:
        raise InputError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}: a budget has one of"
            f" {', '.join(SCOPES)}, and {', '.join(_ENTRY_KEYS)}"
        )
    value = entry[scope]
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise InputError(f'{where}: {scope} must be a name (or "*"), not {value!r}')
    value = str(value).strip()
    if scope == "tag":
        name, equals, tag = value.partition("=")
        if not equals or not _TAG_NAME.fullmatch(name) or not tag:
            raise InputError(
                f'{where}: tag = {value!r} must be name=value (tag = "team=search", or'
                " \"team=*\" for each team); a tag name is letters, digits, '_', '.' or '-'"
            )
    if "amount" not in entry:
        raise InputError(f'{where}: {scope} = {value!r} needs amount = "2000" (dollars)')
    amount = _dollars(entry["amount"], f"{where}: amount")
    period = entry.get("period", default_period)
    if period not in BUDGET_PERIODS:
        raise InputError(f"{where}: period = {period!r} is not one of {', '.join(BUDGET_PERIODS)}")
    hard_limit = entry.get("hard_limit")
    return Budget(
        scope=scope,
        value=value,
        amount=amount,
        period=str(period),
        thresholds=_thresholds(entry["thresholds"], f"{where}: thresholds")
        if "thresholds" in entry
        else thresholds,
        hard_limit=None if hard_limit is None else _dollars(hard_limit, f"{where}: hard_limit"),
    )


def _dollars(value: Any, where: str) -> Decimal:
    amount = parse_amount(value) if isinstance(value, str | int | float) else None
    if amount is None:
        raise InputError(f'{where} must be an amount of dollars, zero or more ("2000"): {value!r}')
    return amount


def _thresholds(value: Any, where: str) -> tuple[Decimal, ...]:
    if not isinstance(value, list | tuple):
        raise InputError(f"{where} must be a list of percentages such as [50, 80, 100]")
    found = set()
    for item in value:
        percent = parse_amount(item) if isinstance(item, str | int | float | Decimal) else None
        if percent is None or percent <= 0:
            raise InputError(
                f"{where}: {item!r} is not a percentage above zero (write [50, 80, 100])"
            )
        found.add(percent)
    return tuple(sorted(found))


def budgets_table(value: Any, where: str, base: str | os.PathLike[str] | None = None) -> Any:
    """The ``budgets`` option as a mapping: a table as given, or a string naming a budgets file
    read relative to ``base`` (the directory of the file that named it) when given. A file of
    the short form gives its ``[budgets]`` table (or its bare ``customer = amount`` lines); a
    file with ``[[budget]]`` entries is given whole (:func:`parse_budgets` reads both)."""
    if isinstance(value, str):
        path = Path(base, value) if base is not None else Path(value)
        document = read_document(path)
        if is_budget_document(document):
            return document
        return document.get("budgets", document)
    if not isinstance(value, Mapping):
        raise InputError(
            f'{where}: budgets must be a table (cust_12345 = "2500") or the path of a'
            f" budgets file, not {value!r}"
        )
    return value


def load_budgets(data: Mapping[str, Any], where: str) -> dict[str, Decimal]:
    """``{customer: amount}`` from the short form (amounts as strings or numbers)."""
    if not isinstance(data, Mapping):
        raise InputError(f'{where}: [budgets] must be a table (cust_12345 = "2500")')
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
