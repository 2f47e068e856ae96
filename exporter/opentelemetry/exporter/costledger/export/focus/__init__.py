"""Ledger rows as FinOps FOCUS cost and usage rows, FOCUS 1.2 (the default) or 1.3.

FOCUS (the FinOps Open Cost and Usage Specification, https://focus.finops.org) is the column
set finance tools (FinOps platforms, Azure/AWS/GCP cost exports, warehouses with FOCUS models)
read. ``costledger export --format focus [--focus-version 1.2|1.3]`` writes every column of the
chosen version in the specification's (alphabetical) order — 57 for 1.2, 65 for 1.3 (see
:mod:`.columns`) — then our own columns, all ``x_``-prefixed, as the specification requires for
custom columns. Columns that do not apply to an AI ledger (commitment discounts, capacity
reservations, regions, ...) are present and empty (null). 1.2 stays the default: it is what
most FOCUS readers take today, and a 1.3 file is a superset of it.

One ledger row is one FOCUS row (nothing is summed away: ``x_LedgerEntryId``, ``x_TraceId`` and
``x_SpanId`` lead back to the call). How the columns are filled (:mod:`.record`):

* ``BilledCost`` = ``EffectiveCost`` = ``ContractedCost`` = ``ListCost`` = the row's cost in
  dollars, exact to the nano-dollar (one function, ``record.cost_columns``, fills the money).
  The ledger prices at the rate in force for the user (list price, or their override from the
  price file) and keeps no second price, so the four agree; ``x_PriceRule`` names the rate.
  FOCUS forbids null costs: an unpriced row is written with cost ``0`` and ``x_Unpriced`` =
  ``true`` plus ``x_UnpricedReason`` — run ``costledger reprice`` first to price it.
* ``ChargeCategory`` ``Usage`` (``Adjustment`` for adjustment rows); ``ChargeClass`` null (the
  ledger never corrects an earlier billing period's row); ``ChargeFrequency`` ``Usage-Based``,
  ``Recurring`` for allocated shares of periodic bills.
* ``ChargePeriodStart``/``End``: the UTC hour of the event; ``BillingPeriodStart``/``End``: its
  UTC calendar month. Date/times are ``YYYY-MM-DDTHH:MM:SSZ``.
* ``ProviderName``/``PublisherName``/``InvoiceIssuerName`` (and in 1.3 ``ServiceProviderName``/
  ``HostProviderName``): the provider (``Anthropic``, ``OpenAI``, ``AWS`` for Bedrock, ...),
  ``Internal`` for costs with no provider (human review). ``BillingAccountId`` /
  ``BillingAccountName``: the provider's slug (the ledger does not know account numbers).
  ``InvoiceId``: ``<provider slug>/<YYYY-MM>``, a provisional invoice — the provider's charges of
  that month as costledger states them (``costledger reconcile`` compares them with the
  provider's real invoice, whose number the ledger does not hold).
* ``ServiceCategory``: ``AI and Machine Learning`` for model calls (subcategory
  ``Generative AI``; embeddings ``Natural Language Processing``); vector storage is
  ``Databases``/``Other (Databases)``, observability ``Management and Governance``/
  ``Observability``, others ``Other``/``Other (Other)`` unless a model is named.
* ``ConsumedQuantity``/``PricingQuantity``: tokens (input, cached input included, + output) in
  ``Tokens`` for model calls; the recorded quantity otherwise, its unit in FOCUS UnitFormat
  (``Hours``, ``Requests``, ``Vectors``, ``Log Events``, ...). Quantities always have a
  fractional digit (``1500.0``): FOCUS types them Decimal, and readers that infer a CSV's types
  would take whole numbers for integers.
* ``SkuId`` ``provider/model``; ``SkuPriceId`` the price rule; ``SkuPriceDetails`` a JSON
  object of the properties that set the price (operation, service tier, batch), keys
  ``x_``-prefixed since FOCUS defines none for AI. In 1.3 it also carries, for a model call,
  the tokens of each type its price distinguishes: ``x_InputTokens`` (uncached input),
  ``x_CacheReadTokens``, ``x_CacheWriteTokens``, ``x_OutputTokens``.
* FOCUS 1.3 split cost allocation, for an allocated share of a shared bill (``x_Source`` =
  ``allocation``): ``AllocatedMethodId`` ``costledger.<method>`` (``proportional``, ``even``,
  ``weights``, ``fixed``, ``direct``: the methods of ``costledger allocate``);
  ``AllocatedMethodDetails`` ``{"Elements": [{"AllocatedRatio": <exact share>,
  "UsageQuantity": <driver quantity>, "UsageUnit": <driver unit>}], "x_Bill": <bill>}``;
  ``AllocatedResourceId``/``AllocatedResourceName`` the customer the share went to;
  ``AllocatedTags`` that customer's attribution. Null on every other row, and on a remainder
  ``allocate`` gave no one (no driver data, below the precision). ``ContractApplied`` is null
  (the ledger holds no contract commitments).
* ``x_Allocation*`` (both versions): the bill, the split method, the driver and the exact
  share, from ``cost_allocations``.
* ``Tags``: JSON object of the attribution — ``customer_id``, ``customer_name``,
  ``workspace_id``, ``work_item_id``, ``user_id`` (the seed's metadata keys) — and the
  dimensions ``agent``, ``feature``, ``session_id``, ``environment``, ``status``,
  ``error_type``, ``attempts``, ``request_hash`` and the user's tags as ``tag.<name>`` (each
  absent when null).

The FinOps Foundation's ``focus-validator`` checks these exports in the test suite (see the
README's FOCUS section).

May import: the instrumentation's ``money`` and the modules of this package; it turns ledger
rows it is handed into records (:mod:`..` reads the ledger), so never the ledger, the jobs,
report, cli or demo.
"""

from __future__ import annotations

from .columns import (
    CUSTOM_COLUMNS,
    DATETIME_COLUMNS,
    DECIMAL_COLUMNS,
    EXCHANGE_RATE_COLUMNS,
    FOCUS_1_2,
    FOCUS_1_3,
    FOCUS_COLUMNS_BY_VERSION,
)
from .record import columns_of, cost_columns, focus_record
from .vocabulary import focus_unit, provider_display_name

FOCUS_VERSIONS: tuple[str, ...] = tuple(FOCUS_COLUMNS_BY_VERSION)
DEFAULT_FOCUS_VERSION = "1.2"

__all__ = [
    "CUSTOM_COLUMNS",
    "DATETIME_COLUMNS",
    "DECIMAL_COLUMNS",
    "DEFAULT_FOCUS_VERSION",
    "EXCHANGE_RATE_COLUMNS",
    "FOCUS_1_2",
    "FOCUS_1_3",
    "FOCUS_VERSIONS",
    "columns_of",
    "cost_columns",
    "focus_record",
    "focus_unit",
    "provider_display_name",
]
