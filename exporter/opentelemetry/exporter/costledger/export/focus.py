"""Ledger rows as FinOps FOCUS 1.2 cost and usage rows.

FOCUS (the FinOps Open Cost and Usage Specification, https://focus.finops.org) is the column
set finance tools (FinOps platforms, Azure/AWS/GCP cost exports, warehouses with FOCUS models)
read. ``costledger export --format focus`` writes every one of the 57 FOCUS 1.2 columns in the
specification's (alphabetical) order, then our own columns, all ``x_``-prefixed, as the
specification requires for custom columns. Columns that do not apply to an AI ledger
(commitment discounts, capacity reservations, regions, ...) are present and empty (null).

One ledger row is one FOCUS row (nothing is summed away: ``x_LedgerEntryId``, ``x_TraceId`` and
``x_SpanId`` lead back to the call). How the columns are filled:

* ``BilledCost`` = ``EffectiveCost`` = ``ContractedCost`` = ``ListCost`` = the row's cost in
  dollars, exact to the nano-dollar. The ledger prices at the rate in force for the user
  (list price, or their override from the price file) and keeps no second price, so the four
  agree; ``x_PriceRule`` names the rate. FOCUS forbids null costs: an unpriced row is written
  with cost ``0`` and ``x_Unpriced`` = ``true`` plus ``x_UnpricedReason`` — run
  ``costledger reprice`` first to price it.
* ``ChargeCategory`` ``Usage`` (``Adjustment`` for adjustment rows); ``ChargeClass`` null (the
  ledger never corrects an earlier billing period's row); ``ChargeFrequency`` ``Usage-Based``,
  ``Recurring`` for allocated shares of periodic bills.
* ``ChargePeriodStart``/``End``: the UTC hour of the event; ``BillingPeriodStart``/``End``: its
  UTC calendar month. Date/times are ``YYYY-MM-DDTHH:MM:SSZ``.
* ``ProviderName``/``PublisherName``/``InvoiceIssuerName``: the provider (``Anthropic``,
  ``OpenAI``, ...), ``Internal`` for costs with no provider (human review). ``BillingAccountId``
  / ``BillingAccountName``: the provider's slug (the ledger does not know account numbers).
* ``ServiceCategory``: ``AI and Machine Learning`` for model calls (subcategory
  ``Generative AI``; embeddings ``Natural Language Processing``); vector storage is
  ``Databases``/``Other (Databases)``, observability ``Management and Governance``/
  ``Observability``, others ``Other``/``Other (Other)`` unless a model is named.
* ``ConsumedQuantity``/``PricingQuantity``: tokens (input + output) in ``Tokens`` for model
  calls; the recorded quantity and unit (``Hours``, ``Requests``, ...) otherwise.
* ``SkuId`` ``provider/model``; ``SkuPriceId`` the price rule; ``SkuPriceDetails`` a JSON
  object of the properties that set the price (operation, service tier, batch), keys
  ``x_``-prefixed since FOCUS defines none for AI.
* ``x_Allocation*``: for an allocated share of a shared bill (``x_Source`` = ``allocation``),
  the bill, the split method (proportional, even, weighted, fixed, direct), the driver and the
  exact share, from ``cost_allocations``.
* ``Tags``: JSON object of the attribution — ``customer_id``, ``customer_name``,
  ``workspace_id``, ``work_item_id``, ``user_id`` (the seed's metadata keys) — and the
  dimensions ``agent``, ``feature``, ``session_id``, ``environment``, ``status``,
  ``error_type``, ``attempts``, ``request_hash`` and the user's tags as ``tag.<name>`` (each
  absent when null).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from opentelemetry.instrumentation.costledger.money import decimal_text, nanos_to_text

FOCUS_VERSION = "1.2"

# The FOCUS 1.2 column IDs, in the specification's order.
FOCUS_COLUMNS: tuple[str, ...] = (
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)

CUSTOM_COLUMNS: tuple[str, ...] = (
    "x_CustomerId",
    "x_CustomerName",
    "x_WorkspaceId",
    "x_WorkItemId",
    "x_UserId",
    "x_CostCategory",
    "x_Service",
    "x_Model",
    "x_Operation",
    "x_InputTokens",
    "x_OutputTokens",
    "x_UncachedInputTokens",
    "x_CacheReadTokens",
    "x_CacheWrite5mTokens",
    "x_CacheWrite1hTokens",
    "x_ReasoningTokens",
    "x_CostNanos",
    "x_PriceRule",
    "x_Unpriced",
    "x_UnpricedReason",
    "x_Source",
    "x_Flags",
    "x_TraceId",
    "x_SpanId",
    "x_LedgerEntryId",
    "x_AllocationBill",
    "x_AllocationMethod",
    "x_AllocationDriver",
    "x_AllocationShare",
)

ALL_COLUMNS: tuple[str, ...] = FOCUS_COLUMNS + CUSTOM_COLUMNS

# Which FOCUS columns hold Decimal numbers / date-times (for typed writers such as Parquet).
DECIMAL_COLUMNS = frozenset(
    {
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "ConsumedQuantity",
        "PricingQuantity",
        "ContractedUnitPrice",
        "ListUnitPrice",
        "CommitmentDiscountQuantity",
        "PricingCurrencyContractedUnitPrice",
        "PricingCurrencyEffectiveCost",
        "PricingCurrencyListUnitPrice",
    }
)
DATETIME_COLUMNS = frozenset(
    {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}
)

_PROVIDER_NAMES = {
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "aws.bedrock": "AWS",
    "azure.ai.openai": "Microsoft",
    "azure.ai.inference": "Microsoft",
    "gcp.vertex_ai": "Google Cloud",
    "gcp.gemini": "Google",
    "gcp.gen_ai": "Google",
    "mistral_ai": "Mistral AI",
    "cohere": "Cohere",
    "groq": "Groq",
    "deepseek": "DeepSeek",
    "x_ai": "xAI",
    "perplexity": "Perplexity",
    "ibm.watsonx.ai": "IBM",
}

_SERVICE_CATEGORIES: dict[str, tuple[str, str, str]] = {
    # category: (ServiceCategory, ServiceSubcategory, service label)
    "api": ("AI and Machine Learning", "Generative AI", "API"),
    "embedding": ("AI and Machine Learning", "Natural Language Processing", "Embeddings"),
    "vector_storage": ("Databases", "Other (Databases)", "Vector storage"),
    "observability": ("Management and Governance", "Observability", "Observability"),
    "human_review": ("Other", "Other (Other)", "Human review"),
    "third_party": ("Other", "Other (Other)", "Third-party"),
}

_UNITS = {
    "token": "Tokens",
    "tokens": "Tokens",
    "h": "Hours",
    "hour": "Hours",
    "hours": "Hours",
    "min": "Minutes",
    "minute": "Minutes",
    "minutes": "Minutes",
    "s": "Seconds",
    "second": "Seconds",
    "seconds": "Seconds",
    "call": "Requests",
    "calls": "Requests",
    "request": "Requests",
    "requests": "Requests",
    "vector": "Vectors",
    "vectors": "Vectors",
    "event": "Events",
    "events": "Events",
}


# The ledger columns that go into FOCUS ``Tags`` as they are (text).
_TAG_COLUMNS = (
    "customer_id",
    "customer_name",
    "workspace_id",
    "work_item_id",
    "user_id",
    "agent",
    "feature",
    "session_id",
    "environment",
    "status",
    "error_type",
    "request_hash",
)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1024)
def _period_texts(hour: datetime) -> tuple[str, str, str, str]:
    """ChargePeriodStart/End (the hour) and BillingPeriodStart/End (its month) as text."""
    month = hour.replace(day=1, hour=0)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return _iso(hour), _iso(hour + timedelta(hours=1)), _iso(month), _iso(next_month)


def provider_display_name(provider: str | None) -> str:
    if not provider:
        return "Internal"
    return _PROVIDER_NAMES.get(provider, provider)


def focus_unit(unit: str | None) -> str | None:
    """A FOCUS UnitFormat spelling (capitalised plural) for our free-form units."""
    if unit is None:
        return None
    return _UNITS.get(unit.strip().lower(), unit)


def focus_record(row: dict[str, Any], allocation: dict[str, Any] | None = None) -> dict[str, Any]:
    """One FOCUS row (column → value) for one ledger row (as from ``iter_ledger_rows``).

    ``allocation``: the ``cost_allocations`` row that made this ledger row, if any (see
    :mod:`.allocations`). Values are strings (exact decimal text, ISO date-times, JSON objects)
    or ``None``.
    """
    ts: datetime = row["timestamp"]
    hour = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    charge_start, charge_end, billing_start, billing_end = _period_texts(hour)
    category = row["category"]
    provider = provider_display_name(row["provider"])
    model = row["model"]
    is_model_call = row["quantity"] is None and bool(row["input_tokens"] or row["output_tokens"])
    known = _SERVICE_CATEGORIES.get(category)
    if known:
        service_category, subcategory, label = known
    elif model:
        service_category, subcategory, label = ("AI and Machine Learning", "Generative AI", "API")
    else:
        service_category, subcategory, label = ("Other", "Other (Other)", category)
    service_name = f"{provider} {label}" if row["provider"] else label

    if is_model_call:
        quantity: str | None = str(row["input_tokens"] + row["output_tokens"])
        unit: str | None = "Tokens"
        description = (
            f"{service_name}: {model or 'unknown model'} {row['operation'] or 'call'}, "
            f"{row['input_tokens']} input / {row['output_tokens']} output tokens"
        )
    else:
        quantity = decimal_text(row["quantity"]) if row["quantity"] is not None else "1"
        unit = focus_unit(row["unit"]) or "Requests"
        description = f"{service_name}: {quantity} {unit}"
    if row["customer_id"]:
        description += f" for customer {row['customer_id']}"

    cost_nanos = row["cost_nanos"]
    cost = nanos_to_text(cost_nanos if cost_nanos is not None else 0)
    tags = {key: row[key] for key in _TAG_COLUMNS if row.get(key) is not None}
    if row.get("attempts") is not None:
        tags["attempts"] = str(row["attempts"])
    if row.get("tags"):
        # The user's tags, prefixed so that they never collide with ours.
        tags.update({f"tag.{k}": v for k, v in json.loads(row["tags"]).items()})
    price_details: dict[str, Any] = {}
    if row["operation"]:
        price_details["x_Operation"] = row["operation"]
    if row["service_tier"]:
        price_details["x_ServiceTier"] = row["service_tier"]
    if is_model_call:
        price_details["x_Batch"] = bool(row["batch"])
    if row["unit"] and not is_model_call:
        price_details["x_Unit"] = row["unit"]

    record: dict[str, Any] = dict.fromkeys(ALL_COLUMNS)
    record.update(
        {
            "BilledCost": cost,
            "BillingAccountId": row["provider"] or "internal",
            "BillingAccountName": provider,
            "BillingCurrency": row["currency"] or "USD",
            "BillingPeriodEnd": billing_end,
            "BillingPeriodStart": billing_start,
            "ChargeCategory": "Adjustment" if row["source"] == "adjustment" else "Usage",
            "ChargeDescription": description,
            "ChargeFrequency": "Recurring" if row["source"] == "allocation" else "Usage-Based",
            "ChargePeriodEnd": charge_end,
            "ChargePeriodStart": charge_start,
            "ConsumedQuantity": quantity,
            "ConsumedUnit": unit,
            "ContractedCost": cost,
            "EffectiveCost": cost,
            "InvoiceIssuerName": provider,
            "ListCost": cost,
            "PricingCategory": "Standard",
            "PricingQuantity": quantity,
            "PricingUnit": unit,
            "ProviderName": provider,
            "PublisherName": provider,
            "ServiceCategory": service_category,
            "ServiceName": service_name,
            "ServiceSubcategory": subcategory,
            "SkuId": f"{row['provider']}/{model}" if row["provider"] and model else model,
            "SkuPriceDetails": json.dumps(price_details, sort_keys=True) if price_details else None,
            "SkuPriceId": row["price_rule"],
            "Tags": json.dumps(tags, sort_keys=True),
            "x_CustomerId": row["customer_id"],
            "x_CustomerName": row["customer_name"],
            "x_WorkspaceId": row["workspace_id"],
            "x_WorkItemId": row["work_item_id"],
            "x_UserId": row["user_id"],
            "x_CostCategory": category,
            "x_Service": row["service"],
            "x_Model": model,
            "x_Operation": row["operation"],
            "x_InputTokens": str(row["input_tokens"]),
            "x_OutputTokens": str(row["output_tokens"]),
            "x_UncachedInputTokens": str(row["uncached_input_tokens"]),
            "x_CacheReadTokens": str(row["cache_read_tokens"]),
            "x_CacheWrite5mTokens": str(row["cache_write_5m_tokens"]),
            "x_CacheWrite1hTokens": str(row["cache_write_1h_tokens"]),
            "x_ReasoningTokens": str(row["reasoning_tokens"]),
            "x_CostNanos": None if cost_nanos is None else str(cost_nanos),
            "x_PriceRule": row["price_rule"],
            "x_Unpriced": "true" if cost_nanos is None else "false",
            "x_UnpricedReason": row["unpriced_reason"],
            "x_Source": row["source"],
            "x_Flags": row["flags"],
            "x_TraceId": row["trace_id"],
            "x_SpanId": row["span_id"],
            "x_LedgerEntryId": str(row["id"]),
        }
    )
    if row.get("cost_currency"):
        in_currency(record, row)
    if allocation is not None:
        share = allocation.get("share")
        record["x_AllocationBill"] = allocation["bill"]
        record["x_AllocationMethod"] = allocation["method"]
        record["x_AllocationDriver"] = allocation.get("driver")
        record["x_AllocationShare"] = None if share is None else decimal_text(share)
    return record


# --- another currency (``--currency``): the one place FOCUS rows are converted ----------------

CURRENCY_COLUMNS: tuple[str, ...] = ("x_ExchangeRate", "x_ExchangeRateDate")


def in_currency(record: dict[str, Any], row: dict[str, Any]) -> None:
    """A FOCUS row billed in ``row["cost_currency"]`` (see :mod:`.converted`): the four cost
    columns in that currency (``BillingCurrency``), the USD the ledger priced in as
    ``PricingCurrency`` with its cost as ``PricingCurrencyEffectiveCost``, and the rate used
    (units per 1 USD) and its date in ``x_ExchangeRate`` / ``x_ExchangeRateDate``."""
    converted = row["cost_converted_nanos"]
    cost = nanos_to_text(converted if converted is not None else 0)
    for column in ("BilledCost", "EffectiveCost", "ContractedCost", "ListCost"):
        record[column] = cost
    record["PricingCurrencyEffectiveCost"] = nanos_to_text(row["cost_nanos"] or 0)
    record["PricingCurrency"] = row["currency"] or "USD"
    record["BillingCurrency"] = row["cost_currency"]
    record["x_ExchangeRate"] = decimal_text(row["exchange_rate"])
    record["x_ExchangeRateDate"] = row["exchange_rate_date"].isoformat()
