"""The bills file: shared costs to allocate and direct costs to charge (TOML or YAML).

A shared cost (FinOps: a cost that serves many customers, such as a vector database or an
observability tool) is a ``[[bills]]`` entry; a direct cost that belongs to one customer (human
review hours × rate, a third-party charge) is a ``[[direct_costs]]`` entry::

    precision = "0.01"            # allocations are whole multiples of this (default: a cent)

    [[bills]]
    name = "Pinecone"
    amount = "500.00"             # dollars, written as a string or a number
    period = "2025-05"            # optional: defaults to the period given to `allocate`
    category = "vector_storage"
    method = "proportional"       # proportional | even | weights | fixed
    driver = "usage:vectors"      # see below
    driver_aggregate = "avg"      # usage drivers: sum (default) | avg | max over the period's days

    [[bills]]
    name = "Langfuse"
    amount = 300
    category = "observability"
    method = "proportional"
    driver = "log_events"

    [[bills]]
    name = "Support desk"
    amount = 90
    category = "support"
    method = "weights"
    weights = { cust_a = 2, cust_b = 1 }

    [[bills]]
    name = "Shared GPU"
    amount = 1000
    category = "inference"
    method = "fixed"              # named amounts; the rest is reported as unallocated
    fixed = { cust_a = "600" }

    [[direct_costs]]
    name = "Human review"
    customer_id = "cust_12345"
    category = "human_review"
    quantity = 10
    unit = "hour"
    rate = "60"                   # or: amount = "600"

Drivers (what a proportional split is proportional to, per customer, over the bill's period):

=====================  ==========================================================================
``api_calls``          LLM calls in the ledger (rows of category ``api``/``embedding``)
``tokens``             their input + output tokens (``input_tokens``/``output_tokens`` alone too)
``api_cost``           their cost
``work_items``         distinct ``work_item_id`` values
``log_events``         spans the receiver counted (``span_counts``, from ``costledger serve``)
``usage:<metric>``     usage the user records: imported with ``costledger import usage``
                       (``usage_records``) and/or recorded with a span
                       (``record_cost(..., quantity=2_000_000, unit="<metric>")``)
=====================  ==========================================================================

``even`` splits equally among ``customers`` (when given) or among every customer with ledger
activity in the period; ``customers = [...]`` also restricts a proportional split.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD, to_nanos

from ..errors import ConfigError

METHODS = ("proportional", "even", "weights", "fixed")
LEDGER_DRIVERS = ("api_calls", "tokens", "input_tokens", "output_tokens", "api_cost", "work_items")
DRIVER_AGGREGATES = ("sum", "avg", "max")


@dataclass(frozen=True, slots=True)
class Bill:
    name: str
    amount_nanos: int
    category: str
    method: str
    period: str | None = None
    driver: str | None = None
    driver_aggregate: str = "sum"
    customers: tuple[str, ...] = ()
    weights: dict[str, Decimal] = field(default_factory=dict)
    fixed_nanos: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DirectCost:
    name: str
    customer_id: str
    category: str
    amount_nanos: int
    period: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    rate_nanos: int | None = None


@dataclass(frozen=True, slots=True)
class BillsFile:
    path: str
    precision_nanos: int
    bills: tuple[Bill, ...]
    direct_costs: tuple[DirectCost, ...]


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A TOML (``.toml``) or YAML (``.yaml``/``.yml``) file as a mapping, or ConfigError."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{file} is not valid {file.suffix.lstrip('.') or 'TOML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a table/mapping at the top level")
    return data


def load_bills(path: str | os.PathLike[str]) -> BillsFile:
    data = read_document(path)
    where = str(path)
    precision = _decimal(data.get("precision", "0.01"), f"{where}: precision")
    precision_nanos = to_nanos(precision, what=f"{where}: precision")
    if precision_nanos <= 0:
        raise ConfigError(f'{where}: precision must be positive, e.g. "0.01" for cents')
    bills = tuple(
        _bill(entry, f"{where}: bills[{i}]", precision_nanos)
        for i, entry in enumerate(_entries(data, "bills", where))
    )
    direct = tuple(
        _direct(entry, f"{where}: direct_costs[{i}]")
        for i, entry in enumerate(_entries(data, "direct_costs", where))
    )
    names = [b.name for b in bills] + [d.name for d in direct]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(
            f"{where}: names must be unique; repeated: {', '.join(sorted(duplicates))}"
        )
    if not bills and not direct:
        raise ConfigError(f"{where}: no [[bills]] or [[direct_costs]] entries")
    return BillsFile(where, precision_nanos, bills, direct)


def _entries(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{where}: {key} must be a list of tables ([[{key}]])")
    return entries


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, float):
        # TOML/YAML floats are binary; their shortest repr is what the user wrote.
        value = repr(value)
    try:
        result = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation as exc:
        raise ConfigError(f"{what}: {value!r} is not a number") from exc
    if not result.is_finite():
        raise ConfigError(f"{what}: {value!r} is not a finite number")
    return result


def _required(entry: dict[str, Any], key: str, where: str) -> Any:
    if entry.get(key) in (None, ""):
        raise ConfigError(f"{where}: missing required field {key!r}")
    return entry[key]


def _money(value: Any, what: str) -> int:
    return to_nanos(_decimal(value, what), what=what)


def _bill(entry: dict[str, Any], where: str, precision_nanos: int) -> Bill:
    name = str(_required(entry, "name", where))
    where = f"{where} ({name})"
    amount = _money(_required(entry, "amount", where), f"{where}: amount")
    if amount < 0:
        raise ConfigError(f"{where}: amount must not be negative")
    if amount % precision_nanos:
        raise ConfigError(
            f"{where}: amount has finer fractions than the allocation precision; set a smaller"
            ' top-level precision (e.g. precision = "0.000001")'
        )
    method = str(entry.get("method", "proportional"))
    if method not in METHODS:
        raise ConfigError(f"{where}: method {method!r} is unknown; use one of {', '.join(METHODS)}")
    driver = entry.get("driver")
    if method == "proportional":
        driver = str(_required(entry, "driver", where))
        if not (driver in LEDGER_DRIVERS or driver == "log_events" or driver.startswith("usage:")):
            raise ConfigError(
                f"{where}: driver {driver!r} is unknown; use one of "
                f"{', '.join(LEDGER_DRIVERS)}, log_events, usage:<metric>"
            )
    aggregate = str(entry.get("driver_aggregate", "sum"))
    if aggregate not in DRIVER_AGGREGATES:
        raise ConfigError(
            f"{where}: driver_aggregate must be one of {', '.join(DRIVER_AGGREGATES)}"
        )
    customers = entry.get("customers") or []
    if not isinstance(customers, list):
        raise ConfigError(f"{where}: customers must be a list of customer ids")
    weights = {
        str(k): _decimal(v, f"{where}: weights.{k}")
        for k, v in (entry.get("weights") or {}).items()
    }
    fixed = {
        str(k): _money(v, f"{where}: fixed.{k}") for k, v in (entry.get("fixed") or {}).items()
    }
    if method == "weights" and (not weights or any(w < 0 for w in weights.values())):
        raise ConfigError(f"{where}: method 'weights' needs weights = {{ customer = weight, ... }}")
    if method == "fixed":
        if not fixed:
            raise ConfigError(f"{where}: method 'fixed' needs fixed = {{ customer = amount, ... }}")
        if sum(fixed.values()) > amount:
            raise ConfigError(f"{where}: the fixed amounts add up to more than the bill's amount")
        if any(v % precision_nanos or v < 0 for v in fixed.values()):
            raise ConfigError(f"{where}: fixed amounts must be non-negative multiples of precision")
    return Bill(
        name=name,
        amount_nanos=amount,
        category=str(_required(entry, "category", where)),
        method=method,
        period=str(entry["period"]) if entry.get("period") else None,
        driver=str(driver) if driver else None,
        driver_aggregate=aggregate,
        customers=tuple(str(c) for c in customers),
        weights=weights,
        fixed_nanos=fixed,
    )


def _direct(entry: dict[str, Any], where: str) -> DirectCost:
    name = str(_required(entry, "name", where))
    where = f"{where} ({name})"
    quantity = _decimal(entry["quantity"], f"{where}: quantity") if "quantity" in entry else None
    rate = _money(entry["rate"], f"{where}: rate") if "rate" in entry else None
    if "amount" in entry:
        amount = _money(entry["amount"], f"{where}: amount")
    elif quantity is not None and rate is not None:
        exact = quantity * Decimal(rate) / NANOS_PER_USD
        amount = to_nanos(exact, what=f"{where}: quantity × rate")
    else:
        raise ConfigError(f"{where}: give amount, or quantity and rate")
    if amount < 0 or (quantity is not None and quantity < 0) or (rate is not None and rate < 0):
        raise ConfigError(
            f"{where}: a direct cost is charged to its customer: amount, quantity and rate must"
            " not be negative"
        )
    return DirectCost(
        name=name,
        customer_id=str(_required(entry, "customer_id", where)),
        category=str(_required(entry, "category", where)),
        amount_nanos=amount,
        period=str(entry["period"]) if entry.get("period") else None,
        quantity=quantity,
        unit=str(entry["unit"]) if entry.get("unit") else None,
        rate_nanos=rate,
    )
