"""One ledger row as one FOCUS row, for each supported FOCUS version.

:func:`focus_record` fills the columns every version shares, then what the chosen version adds
(:func:`_focus_1_3_columns`). The money columns are filled in one place, :func:`cost_columns`.
How each column is filled is the package's manual (see :mod:`..focus`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from opentelemetry.instrumentation.costledger.money import decimal_text, nanos_to_text

from .columns import CUSTOM_COLUMNS, FOCUS_COLUMNS_BY_VERSION
from .vocabulary import (
    SERVICE_CATEGORIES,
    focus_decimal,
    focus_unit,
    provider_display_name,
)

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
# The attribution of the party an allocated share was charged to (FOCUS 1.3 ``AllocatedTags``).
_ATTRIBUTION_COLUMNS = ("customer_id", "customer_name", "workspace_id", "work_item_id", "user_id")


def columns_of(version: str) -> tuple[str, ...]:
    """The header of a FOCUS export: the version's columns, then our ``x_`` columns."""
    return FOCUS_COLUMNS_BY_VERSION[version] + CUSTOM_COLUMNS


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1024)
def _period_texts(hour: datetime) -> tuple[str, str, str, str]:
    """ChargePeriodStart/End (the hour) and BillingPeriodStart/End (its month) as text."""
    month = hour.replace(day=1, hour=0)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return _iso(hour), _iso(hour + timedelta(hours=1)), _iso(month), _iso(next_month)


def cost_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The money of a row: the four FOCUS costs, the billing currency and ``x_CostNanos``.

    The ledger prices once, at the rate in force for the user, so ``BilledCost`` =
    ``EffectiveCost`` = ``ContractedCost`` = ``ListCost`` = the row's exact cost. FOCUS forbids
    a null cost: an unpriced row has cost ``0`` and ``x_Unpriced`` = ``true``.
    """
    cost_nanos = row["cost_nanos"]
    cost = nanos_to_text(cost_nanos if cost_nanos is not None else 0)
    columns = {
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ContractedCost": cost,
        "ListCost": cost,
        "BillingCurrency": row["currency"] or "USD",
        "x_CostNanos": None if cost_nanos is None else str(cost_nanos),
        "x_Unpriced": "true" if cost_nanos is None else "false",
    }
    if row.get("cost_currency"):
        columns.update(_in_currency(row))
    return columns


def _in_currency(row: dict[str, Any]) -> dict[str, Any]:
    """A row billed in another currency (``--currency``, see :mod:`..converted`): the four
    costs in ``row["cost_currency"]`` (``BillingCurrency``), the USD the ledger priced in as
    ``PricingCurrency`` with its cost as ``PricingCurrencyEffectiveCost``, and the rate used
    (units per 1 USD) and its date in ``x_ExchangeRate`` / ``x_ExchangeRateDate``."""
    converted = row["cost_converted_nanos"]
    cost = nanos_to_text(converted if converted is not None else 0)
    return {
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ContractedCost": cost,
        "ListCost": cost,
        "BillingCurrency": row["cost_currency"],
        "PricingCurrency": row["currency"] or "USD",
        "PricingCurrencyEffectiveCost": nanos_to_text(row["cost_nanos"] or 0),
        "x_ExchangeRate": decimal_text(row["exchange_rate"]),
        "x_ExchangeRateDate": row["exchange_rate_date"].isoformat(),
    }


def _service(row: dict[str, Any], provider: str) -> tuple[str, str, str]:
    """ServiceCategory, ServiceSubcategory and ServiceName of a row."""
    known = SERVICE_CATEGORIES.get(row["category"])
    if known:
        category, subcategory, label = known
    elif row["model"]:
        category, subcategory, label = ("AI and Machine Learning", "Generative AI", "API")
    else:
        category, subcategory, label = ("Other", "Other (Other)", row["category"])
    return category, subcategory, f"{provider} {label}" if row["provider"] else label


def _token_price_details(row: dict[str, Any]) -> dict[str, Any]:
    """The tokens of each type the price of a model call distinguishes (FOCUS 1.3)."""
    return {
        "x_InputTokens": row["uncached_input_tokens"],
        "x_CacheReadTokens": row["cache_read_tokens"],
        "x_CacheWriteTokens": row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"],
        "x_OutputTokens": row["output_tokens"],
    }


def focus_record(
    row: dict[str, Any], allocation: dict[str, Any] | None = None, version: str = "1.2"
) -> dict[str, Any]:
    """One FOCUS row (column → value) of ``version`` for one ledger row.

    ``row`` is as from ``iter_ledger_rows``; ``allocation`` is the ``cost_allocations`` row that
    made this ledger row, if any (see :mod:`..allocations`). Values are strings (exact decimal
    text, ISO date-times, JSON objects) or ``None``; the keys are :func:`columns_of` ``version``.
    """
    ts: datetime = row["timestamp"]
    hour = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    charge_start, charge_end, billing_start, billing_end = _period_texts(hour)
    provider = provider_display_name(row["provider"])
    model = row["model"]
    is_model_call = row["quantity"] is None and bool(row["input_tokens"] or row["output_tokens"])
    service_category, subcategory, service_name = _service(row, provider)

    if is_model_call:
        quantity = str(row["input_tokens"] + row["output_tokens"])
        unit = "Tokens"
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
        if version != "1.2":
            price_details.update(_token_price_details(row))
    if row["unit"] and not is_model_call:
        price_details["x_Unit"] = row["unit"]
    billing_account = row["provider"] or "internal"

    record: dict[str, Any] = dict.fromkeys(columns_of(version))
    record.update(
        {
            "BillingAccountId": billing_account,
            "BillingAccountName": provider,
            "BillingPeriodEnd": billing_end,
            "BillingPeriodStart": billing_start,
            "ChargeCategory": "Adjustment" if row["source"] == "adjustment" else "Usage",
            "ChargeDescription": description,
            "ChargeFrequency": "Recurring" if row["source"] == "allocation" else "Usage-Based",
            "ChargePeriodEnd": charge_end,
            "ChargePeriodStart": charge_start,
            "ConsumedQuantity": focus_decimal(quantity),
            "ConsumedUnit": unit,
            # A provisional invoice: this provider's charges of the month, as costledger states
            # them (the provider's own invoice number is not in the ledger; `reconcile` compares
            # the two). FOCUS allows an InvoiceId generated before the invoice is issued.
            "InvoiceId": f"{billing_account}/{billing_start[:7]}",
            "InvoiceIssuerName": provider,
            "PricingCategory": "Standard",
            "PricingQuantity": focus_decimal(quantity),
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
            "x_CostCategory": row["category"],
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
            "x_PriceRule": row["price_rule"],
            "x_UnpricedReason": row["unpriced_reason"],
            "x_Source": row["source"],
            "x_Flags": row["flags"],
            "x_TraceId": row["trace_id"],
            "x_SpanId": row["span_id"],
            "x_LedgerEntryId": str(row["id"]),
        }
    )
    record.update(cost_columns(row))
    if allocation is not None:
        share = allocation.get("share")
        record["x_AllocationBill"] = allocation["bill"]
        record["x_AllocationMethod"] = allocation["method"]
        record["x_AllocationDriver"] = allocation.get("driver")
        record["x_AllocationShare"] = None if share is None else decimal_text(share)
    if version != "1.2":
        record.update(_focus_1_3_columns(row, allocation, provider, unit))
    return record


def _focus_1_3_columns(
    row: dict[str, Any], allocation: dict[str, Any] | None, provider: str, unit: str
) -> dict[str, Any]:
    """What FOCUS 1.3 adds: who provides and hosts the service, and the split allocation.

    An allocated share of a shared bill (``x_Source`` = ``allocation``) is a data
    generator-calculated split cost allocation: costledger split the bill, so it names the
    method (``costledger.<method>``), the exact ratio and the driver it used, and the customer
    the share went to. Every other row has them null — so has a remainder that ``allocate``
    could not give anyone (no driver data, below the precision): it was not split.
    """
    columns: dict[str, Any] = {"ServiceProviderName": provider, "HostProviderName": provider}
    if allocation is None or row["source"] != "allocation" or allocation.get("share") is None:
        return columns
    element = f'"AllocatedRatio": {decimal_text(allocation["share"])}'
    if allocation.get("driver_quantity") is not None:
        element += (
            f', "UsageQuantity": {decimal_text(allocation["driver_quantity"])}'
            f', "UsageUnit": {json.dumps(focus_unit(allocation["driver"]) or unit)}'
        )
    # Written by hand so that the ratio and the quantity stay exact decimals (json.dumps would
    # need floats); every piece is a JSON number or a json.dumps'd string.
    details = f'{{"Elements": [{{{element}}}], "x_Bill": {json.dumps(allocation["bill"])}}}'
    receiver = row["customer_id"]
    attribution = {key: row[key] for key in _ATTRIBUTION_COLUMNS if row.get(key) is not None}
    columns.update(
        {
            "AllocatedMethodId": f"costledger.{allocation['method']}",
            "AllocatedMethodDetails": details,
            "AllocatedResourceId": receiver,
            "AllocatedResourceName": row["customer_name"] or receiver,
            "AllocatedTags": json.dumps(attribution, sort_keys=True),
        }
    )
    return columns
