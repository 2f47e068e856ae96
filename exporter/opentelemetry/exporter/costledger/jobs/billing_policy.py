"""The pricing policy file of ``costledger bill`` (TOML or YAML): what each customer pays.

::

    [defaults]
    markup_pct = "20"             # cost plus 20% on the cost no resale price covers
    fee_per_work_item = "0.05"    # dollars per distinct work item (rank's "usage pricing")
    included = "25.00"            # allowance: dollars of the charges above included per period
    minimum = "50.00"             # the least a customer pays per billed period

    [defaults.token_prices."claude-sonnet-4-5"]   # resale price per million tokens, by model
    input = "3.00"                # uncached input
    output = "15.00"              # all output, reasoning included
    cache_read = "0.30"           # optional: else the input price
    cache_write = "3.75"          # optional: else the input price

    [customers.cust_12345]        # overrides, field by field (token_prices model by model)
    markup_pct = "15"
    stripe_customer = "cus_Q2..." # the customer in each billing system (see below)
    lago_customer = "12345"       # default: our customer_id
    openmeter_subject = "12345"   # default: our customer_id

    [destinations.stripe]         # where `bill --to stripe` pushes (see export/billing_push.py)
    url = "https://api.stripe.com"
    api_key_env = "STRIPE_API_KEY"
    event_name = "costledger_charge_cents"

Model names match the ledger's ``model`` exactly or as a shell pattern (``claude-sonnet-4*``);
an exact name wins over a pattern, then the first pattern in the file. Every amount is a decimal
string or number of dollars, never negative; ``included`` and ``minimum`` are whole cents.
The order of operations is :mod:`.billing`'s.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from opentelemetry.instrumentation.costledger.money import parse_usd

from ..errors import ConfigError
from .bills import read_document

DESTINATIONS = ("stripe", "openmeter", "lago")
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
_TERMS = ("markup_pct", "fee_per_work_item", "included", "minimum")
_MAPPINGS = ("stripe_customer", "lago_customer", "openmeter_subject")
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """Resale dollars per million tokens of one model; cache prices default to ``input``."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None

    def per_million(self, kind: str) -> Decimal:
        chosen: Decimal | None = getattr(self, kind)
        return self.input if chosen is None else chosen


@dataclass(frozen=True, slots=True)
class Terms:
    """One customer's terms: the defaults with that customer's overrides."""

    markup_pct: Decimal = Decimal(0)
    fee_per_work_item: Decimal = Decimal(0)
    included: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)
    token_prices: dict[str, TokenPrice] = field(default_factory=dict)
    stripe_customer: str | None = None
    lago_customer: str | None = None
    openmeter_subject: str | None = None

    def token_price(self, model: str | None) -> TokenPrice | None:
        """The resale price of ``model``: exact name first, then the first matching pattern."""
        if not model:
            return None
        if model in self.token_prices:
            return self.token_prices[model]
        for pattern, price in self.token_prices.items():
            if fnmatch.fnmatchcase(model, pattern):
                return price
        return None


@dataclass(frozen=True, slots=True)
class Destination:
    """Where ``bill --to NAME`` pushes: an URL, the environment variable holding the API key,
    and the destination's event name (Stripe's meter ``event_name``, the CloudEvent ``type``,
    Lago's billable metric ``code``)."""

    name: str
    url: str
    api_key_env: str
    event_name: str
    source: str = "costledger"

    def api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise ConfigError(
                f"{self.api_key_env} is not set: export the {self.name} API key in it (or name"
                f" another variable with api_key_env under [destinations.{self.name}])"
            )
        return key


DEFAULT_DESTINATIONS = {
    "stripe": Destination(
        "stripe", "https://api.stripe.com", "STRIPE_API_KEY", "costledger_charge_cents"
    ),
    "openmeter": Destination(
        "openmeter",
        "https://openmeter.cloud/api/v1/events",
        "OPENMETER_API_KEY",
        "costledger.charge",
    ),
    "lago": Destination(
        "lago", "https://api.getlago.com/api/v1/events", "LAGO_API_KEY", "costledger_charge"
    ),
}


@dataclass(frozen=True, slots=True)
class Retry:
    """Push retries: ``max_attempts`` per event and run, waiting ``backoff`` seconds, doubled
    after each failure, on a 5xx, a 429 or a connection error."""

    max_attempts: int = 4
    backoff: Decimal = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class BillingPolicy:
    defaults: Terms
    customers: dict[str, Terms]
    destinations: dict[str, Destination]
    retry: Retry = Retry()
    source: str = ""

    def terms(self, customer_id: str) -> Terms:
        return self.customers.get(customer_id, self.defaults)

    def destination(self, name: str) -> Destination:
        if name not in DESTINATIONS:
            raise ConfigError(f"unknown destination {name!r}: use one of {', '.join(DESTINATIONS)}")
        return self.destinations[name]


def load_policy(path: str | os.PathLike[str]) -> BillingPolicy:
    """Read and check a policy file; a mistake is a ConfigError naming the file and the field."""
    where = str(path)
    return parse_policy(read_document(path), where)


def parse_policy(data: dict[str, Any], where: str = "policy") -> BillingPolicy:
    _known(data, ("defaults", "customers", "destinations", "retry"), where)
    defaults = _terms(_table(data, "defaults", where), Terms(), f"{where}: [defaults]")
    customers = {
        str(customer): _terms(
            _as_table(entry, f"{where}: [customers.{customer}]"),
            defaults,
            f"{where}: [customers.{customer}]",
        )
        for customer, entry in _table(data, "customers", where).items()
    }
    destinations = dict(DEFAULT_DESTINATIONS)
    for name, entry in _table(data, "destinations", where).items():
        if name not in DESTINATIONS:
            raise ConfigError(
                f"{where}: unknown destination [destinations.{name}]: use one of"
                f" {', '.join(DESTINATIONS)}"
            )
        here = f"{where}: [destinations.{name}]"
        table = _as_table(entry, here)
        _known(table, ("url", "api_key_env", "event_name", "source"), here)
        destinations[name] = replace(
            destinations[name], **{k: _text(v, f"{here} {k}") for k, v in table.items()}
        )
    retry_table = _table(data, "retry", where)
    _known(retry_table, ("max_attempts", "backoff"), f"{where}: [retry]")
    retry = Retry(
        max_attempts=int(_amount(retry_table.get("max_attempts", 4), f"{where}: max_attempts")),
        backoff=_amount(retry_table.get("backoff", "0.5"), f"{where}: backoff"),
    )
    if retry.max_attempts < 1:
        raise ConfigError(f"{where}: [retry] max_attempts must be at least 1")
    return BillingPolicy(defaults, customers, destinations, retry, where)


def _terms(table: dict[str, Any], base: Terms, where: str) -> Terms:
    _known(table, (*_TERMS, *_MAPPINGS, "token_prices"), where)
    changes: dict[str, Any] = {}
    for name in _TERMS:
        if name in table:
            value = _amount(table[name], f"{where} {name}")
            if name in ("included", "minimum") and value != value.quantize(_CENT):
                raise ConfigError(f"{where} {name} = {value}: write whole cents, like 25.00")
            changes[name] = value
    for name in _MAPPINGS:
        if name in table:
            changes[name] = _text(table[name], f"{where} {name}")
    if "token_prices" in table:
        prices = dict(base.token_prices)
        for model, entry in _as_table(table["token_prices"], f"{where} token_prices").items():
            prices[str(model)] = _token_price(
                _as_table(entry, f"{where} token_prices.{model}"), f"{where} token_prices.{model}"
            )
        changes["token_prices"] = prices
    return replace(base, **changes)


def _token_price(table: dict[str, Any], where: str) -> TokenPrice:
    _known(table, TOKEN_KINDS, where)
    for required in ("input", "output"):
        if required not in table:
            raise ConfigError(f"{where}: {required} is required (dollars per million tokens)")
    return TokenPrice(
        **{kind: _amount(table[kind], f"{where} {kind}") for kind in TOKEN_KINDS if kind in table}
    )


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ConfigError(f"{where}: expected a number of dollars, got {value!r}")
    try:
        # A TOML float is read through its shortest text (0.05, not 0.05000000000000000277).
        amount = parse_usd(repr(value) if isinstance(value, float) else value, what=where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if amount < 0:
        raise ConfigError(f"{where} = {value}: cannot be negative")
    return amount


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    return _as_table(data.get(key) or {}, f"{where}: [{key}]")


def _as_table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {value!r}")
    return value


def _known(table: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {', '.join(map(str, unknown))}: use {', '.join(names)}"
        )
