"""What ``costledger prices`` shows: the prices in force and where they come from.

- :func:`quote_model`: one model's prices at a date (per token kind, per long-context band),
  the rule they come from and when they next change;
- :func:`list_models`: every model genai-prices knows for a provider, plus the price file's own
  ``[[model]]`` entries for it, each with its prices at a date;
- :func:`price_file_rules`: the user's price file, one record per rule.

The gaps in the ledger are :mod:`.check`'s; fetching newer data is :mod:`.update`'s.

All return lists of plain records (mappings) that the CLI's ``output`` renders as table/CSV/JSON;
prices are ``Decimal`` USD (or the rule's currency) per million tokens, ``per_request`` per call.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from opentelemetry.instrumentation.costledger.pricing import (
    PRICE_SLOTS,
    PriceBook,
    TokenQuote,
)

from ..errors import InputError

Record = dict[str, Any]


def parse_at(text: str | None, *, now: datetime | None = None) -> datetime:
    """``--at``: a date (its UTC midnight), an ISO datetime (naive = UTC), or None/"now"."""
    if text is None or text.strip().lower() in ("", "now"):
        return now or datetime.now(UTC)
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"invalid --at {text!r}: write a date (2025-06-01) or an ISO datetime"
            " (2025-06-01T12:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- prices in force ------------------------------------------------------------------------


def _quote_records(quote: TokenQuote) -> list[Record]:
    base: Record = {
        "provider": quote.provider,
        "model": quote.model,
        "at": quote.at,
        "band": "all",
        "currency": quote.currency,
        "rule": quote.rule,
        "next_change": quote.next_change,
        "unpriced_reason": quote.unpriced_reason,
    }
    if quote.unpriced_reason is not None:
        return [base]
    records = []
    bands: list[tuple[str, Mapping[str, Decimal]]] = [("all", quote.prices)]
    if quote.tiers:
        first = quote.tiers[0][0]
        bands = [(f"input <= {first:,}", quote.prices)]
        bands += [(f"input > {threshold:,}", prices) for threshold, prices in quote.tiers]
    for band, prices in bands:
        records.append({**base, "band": band, **{slot: prices[slot] for slot in PRICE_SLOTS}})
    return records


def quote_model(
    book: PriceBook,
    model: str,
    *,
    provider: str | None = None,
    at: datetime | None = None,
    service_tier: str | None = None,
    batch: bool = False,
) -> list[Record]:
    """The prices for ``model`` at ``at``: one record per long-context band (usually one).

    Without ``provider``, the model's provider is found as the ledger will know it (every call
    row names one): from a ``[[model]]`` entry of the price file, else from genai-prices. Price
    file rules are per provider, so quoting with no provider would show list prices that no
    call of this model pays.
    """
    provider = provider or _provider_of(book, model)
    quote = book.quote_tokens(
        provider, model, at or datetime.now(UTC), service_tier=service_tier, batch=batch
    )
    return _quote_records(quote)


def _provider_of(book: PriceBook, model: str) -> str | None:
    """The one provider whose ``[[model]]`` entries name ``model``, else genai-prices' provider.

    None when the model is unknown or several providers of the price file name it (the quote
    then says so).
    """
    from opentelemetry.instrumentation.costledger import _price_genai as genai

    named = {
        rule.provider
        for rule in book.rules.token_rules
        if rule.kind == "model"
        and not any(c in rule.provider for c in "*?[")
        and rule.model_rank(model) is not None  # as the price book matches (snapshots too)
    }
    if named:
        return named.pop() if len(named) == 1 else None
    # the book's genai-prices data (a fetched file, or None: the bundled snapshot)
    found = genai.find_model(None, model, book._source)
    return found.provider.id if isinstance(found, genai.GenaiModel) else None


def list_models(
    book: PriceBook,
    provider: str,
    *,
    at: datetime | None = None,
    service_tier: str | None = None,
    batch: bool = False,
) -> list[Record]:
    """Every model of ``provider`` in genai-prices and the price file, priced at ``at``."""
    when = at or datetime.now(UTC)
    names = book.model_names(provider)
    names += [
        rule.model
        for rule in book.rules.token_rules
        if rule.kind == "model" and fnmatch.fnmatchcase(provider.lower(), rule.provider)
    ]
    records: list[Record] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        quote = book.quote_tokens(provider, name, when, service_tier=service_tier, batch=batch)
        records.append(_quote_records(quote)[0])
    if not records:
        raise InputError(
            f"no models known for provider {provider!r}: check the name (anthropic, openai,"
            " aws.bedrock, ...) or add [[model]] entries for it to your price file"
        )
    return records


def _day_or_moment(value: datetime | None) -> date | datetime | None:
    if value is not None and value.utcoffset() == UTC.utcoffset(None) and value.time() == time(0):
        return value.date()
    return value


def price_file_rules(book: PriceBook) -> list[Record]:
    """The price file's rules in file order (empty without a price file)."""
    records: list[Record] = []
    for rule in book.rules.token_rules:
        what = (
            f"x{rule.multiplier}"
            if rule.multiplier is not None
            else ", ".join(f"{k} {v}" for k, v in rule.prices.items())
        )
        records.append(
            {
                "source": rule.source,
                "kind": rule.kind,
                "applies_to": f"{rule.provider}/{rule.model}"
                + (" [batch]" if rule.batch else " [not batch]" if rule.batch is False else "")
                + (f" [service_tier={rule.service_tier}]" if rule.service_tier else ""),
                "price": what,
                "currency": rule.currency,
                "from": _day_or_moment(rule.start),
                "until": _day_or_moment(rule.end),
                "position": rule.position,
            }
        )
    for unit in book.rules.unit_rules:
        records.append(
            {
                "source": unit.source,
                "kind": "unit_price",
                "applies_to": unit.category + (f" [{unit.item}]" if unit.item else ""),
                "price": f"{unit.price} per {unit.unit}",
                "currency": unit.currency,
                "from": _day_or_moment(unit.start),
                "until": _day_or_moment(unit.end),
                "position": unit.position,
            }
        )
    records.sort(key=lambda r: r.pop("position"))
    return records
