"""The price book: what one LLM call or one non-token cost event costs, exactly and cheaply.

Used in two places: the instrumentation puts each call's cost on its span, and the ledger prices
every row again from its tokens. Both ask :func:`get_price_book` (or a :class:`PriceBook` of
their own) and get a :class:`PricedCost`: integer nano-dollars, the rule that made them, or the
reason there is no price. Nothing here raises on an unknown model.

Where prices come from
----------------------
1. **genai-prices** (pydantic's maintained price data) from its *bundled* snapshot: Decimal
   prices per million tokens for input, output, cache read, cache write (5-minute and 1-hour),
   reasoning where billed apart, per-request fees, with their history (a call is priced at the
   price in force at its timestamp, UTC dates as genai-prices uses them), batch and service-tier
   variants (``batch=True`` -> ``processing=batch``; ``service_tier="priority"`` ...) and
   long-context tiers (the whole call pays the tier price once its total input exceeds the
   threshold). Model names as APIs return them (``claude-sonnet-4-5-20250929``,
   ``gpt-4o-2024-08-06``) match as in genai-prices. Nothing is fetched at run time; for
   newer data, upgrade the ``genai-prices`` package, or run ``costledger prices update``, which
   downloads genai-prices' current data to ``$XDG_DATA_HOME/costledger/genai-prices.json``;
   price books then read that file (``genai_data=`` argument, else the
   ``COSTLEDGER_GENAI_PRICES_DATA`` env var, else that default file if it exists; an empty
   value means the bundled snapshot). Where genai-prices lists no batch or tier
   price for the date, the standard price applies and the rule says so.
2. **The user's price file** (``PriceBook(path)``, else the ``COSTLEDGER_PRICES`` env var; TOML
   ``*.toml`` or YAML ``*.yaml``), validated on load; a bad file raises :class:`PriceFileError`
   ``"prices.toml:12: [[override]] #2, field 'multiplier': ..."``. Prices are USD per million
   tokens unless ``currency`` says otherwise; write numbers as you would on an invoice::

       version = 1

       [[model]]                  # a custom or self-hosted model (or a price genai-prices lacks)
       provider = "self-hosted"   # globs: "*", "claude-*"; matched case-insensitively
       model = "llama-3.3-70b*"
       input = "0.20"             # USD per million input tokens
       output = "0.60"
       from = 2025-01-01          # effective date (UTC midnight) or ISO datetime; optional

       [[override]]               # negotiated rate on top of the base price
       provider = "anthropic"
       model = "claude-sonnet-4-5"  # also its dated snapshots: claude-sonnet-4-5-20250929
       multiplier = "0.8"         # 20% off list
       from = 2025-06-01
       until = 2026-06-01         # optional end (exclusive)

       [[override]]               # explicit negotiated prices (kinds not given keep the base)
       provider = "openai"
       model = "gpt-4o*"
       input = "2.00"
       output = "8.00"
       batch = false              # optional: only (non-)batch calls; service_tier = "priority"

       [[unit_price]]             # costs that are not tokens (record_cost events)
       category = "human_review"
       unit = "hour"              # a 30-minute event costs half (minute/hour/day, KB/MB/GB, ...)
       price = "45.00"
       [[unit_price]]
       category = "third_party"
       item = "stripe.charge"     # optional glob on record_cost's item=
       unit = "call"
       price = "0.30"

   Price kinds: ``input``, ``output``, ``cache_read``, ``cache_write`` (both TTLs),
   ``cache_write_5m``, ``cache_write_1h``, ``reasoning`` (default: the output price),
   ``per_request`` (USD per call). A kind a model does not set is billed like genai-prices does:
   cache reads and writes at the input price, 1-hour writes at the generic cache-write price.

How a price is chosen for a call at time *t*
--------------------------------------------
- Base price: the ``[[model]]`` entry matching the provider and model that is in force at *t*
  (``from`` <= *t* < ``until``); if several, one naming the call's dated snapshot itself wins,
  then the latest ``from``, then the later entry in the file. Without one: genai-prices.
  Without either: unpriced, with the reason. A model name without glob characters also
  matches its dated snapshots (``gpt-4o`` matches ``gpt-4o-2024-08-06``, not ``gpt-4o-mini``;
  see ``_price_rules.py``). Which entries match is decided once per model name, when its price
  periods are built, never per call.
- Then the ``[[override]]`` in force at *t* (same choice rule) applies on top: a ``multiplier``
  scales every base price; explicit prices replace those kinds.
- Unit prices: the ``[[unit_price]]`` entries of the event's category whose unit converts to the
  event's unit; one naming the event's item beats one that does not, then the latest ``from``,
  then the later entry.

Every :class:`PricedCost` carries the rule it came from, e.g. ``"genai-prices 0.2.3
anthropic/claude-sonnet-4-5"``, ``"prices.toml:12 override anthropic/* x0.8 from 2025-06-01 on
genai-prices 0.2.3 anthropic/claude-sonnet-4-5"`` or ``"prices.toml:30 unit_price human_review
45.00 USD/hour"``, which the ledger stores in ``price_rule``.

Speed and exactness
-------------------
``genai_prices.calc_price`` costs ~0.2 ms, more than a span. It is never called per call: a
model's prices are resolved once per (provider, model, service tier, batch) *and* price period
(the instants where genai-prices' history or a rule of the file changes; calls find theirs with a
bisection) and turned into integers: each token kind's price per million tokens in units of
10**-s dollars, with s the fewest decimals that make that period's prices whole (s = 2 for
$3.75). A call's cost is then ``sum(tokens_k * price_k)`` in integers, converted ONCE per call
to whole nano-dollars: exactly (no rounding at all) when s <= 3, which covers every published
price list, else rounded half to even. Prices keep up to 15 decimals per million tokens (a
multiplier such as 0.85 adds two). A ledger sum equals the sum of its rows exactly.
Resolving once and pricing in integers is what makes a call's price a small fraction of
``calc_price``'s cost (``benchmarks/pricing.py`` keeps the figures).
:meth:`PriceBook.price_counts` is the one pricing entry point (the instrumentation prices each
call and the ledger each row with it): the counts and the call's integer nanoseconds in, a
plain tuple out, with the rate's in-force window kept per model so a call of the same period
skips the bisection; :meth:`PriceBook.price_tokens` is the same with a ``TokenUsage``, a
datetime and a :class:`PricedCost`.
Unit prices are computed with ``Fraction`` (7 minutes at $45/hour is exactly $5.25) and rounded
the same way.

The cost on the span
--------------------
The draft GenAI cost convention (semantic-conventions-genai PR #443) is not released, so the
instrumentation writes our own keys (``attributes.py``): ``costledger.cost.amount`` (decimal
string in major currency units, e.g. ``"0.004275"``: strings so no float ever carries money),
``costledger.cost.currency`` (ISO 4217, ``"USD"``), ``costledger.cost.source`` (the rule) and
``costledger.cost.unpriced_reason`` when there is no price. :attr:`PricedCost.amount` is the
amount to write. The ledger prices again from tokens with its own price book.

Modules
-------
This module is the public face and keeps the process's books (:func:`get_price_book`, one per
price file). Under it: ``_price_book`` (:class:`PriceBook`: a model's entry and its price
periods), ``_price_rate`` (a period's integer prices and a call's arithmetic), ``_priced``
(:class:`PricedCost`, :class:`TokenQuote`), ``_price_unit_costs`` (``[[unit_price]]`` pricing)
over ``_price_units`` (unit conversions), ``_price_file`` (the user's file, validated) over
``_price_file_syntax`` (its TOML or YAML text) and ``_price_rules`` (its rules), and
``_price_genai`` (genai-prices' data).
"""

from __future__ import annotations

import os
import threading

from ._price_book import PriceBook
from ._price_file_syntax import PriceFileError
from ._price_rate import PRICE_SLOTS
from ._priced import PricedCost, TokenQuote
from ._setup import PRICES_ENV

__all__ = [
    "PRICES_ENV",
    "PRICE_SLOTS",
    "PriceBook",
    "PriceFileError",
    "PricedCost",
    "TokenQuote",
    "get_price_book",
]

_books: dict[str | None, PriceBook] = {}
_failures: dict[str | None, PriceFileError] = {}
_lock = threading.Lock()


def get_price_book(price_file: str | None = None) -> PriceBook:
    """The process-wide price book of ``price_file`` (a path; ``""``: no price file; ``None``,
    the default: the current ``COSTLEDGER_PRICES``), made on first use and kept per file.

    An invalid price file raises :class:`PriceFileError` on every call (the error is kept, so a
    bad file is read once): fix the file and restart the process.
    """
    key = (os.environ.get(PRICES_ENV) if price_file is None else price_file) or None
    book = _books.get(key)
    if book is not None:
        return book
    with _lock:
        book = _books.get(key)
        if book is None:
            if key in _failures:
                raise _failures[key]
            try:
                book = _books[key] = PriceBook(key or "")
            except PriceFileError as exc:
                _failures[key] = exc
                raise
    return book
