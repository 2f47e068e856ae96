"""The FOCUS column lists, one per supported version, and our own ``x_`` columns.

Each list is the specification's own, in its (alphabetical) order:

* FOCUS 1.2: the 57 columns of https://focus.finops.org/focus-specification/v1-2/ (the
  FinOps Foundation's focus-validator 2.2.1 checks them with its bundled requirements model
  ``model-1.2.0.1.json``).
* FOCUS 1.3: the 65 columns of the Cost and Usage dataset in the specification's 1.3
  requirements model (FOCUS_Spec ``specification/requirements_model/releases/1.3/
  model_rules/datasets/cost_and_usage/costandusage.json``, rule ``CAU-CostAndUsage-D-002-M``):
  the 1.2 columns plus the data generator's split cost allocation (``AllocatedMethodId``,
  ``AllocatedMethodDetails``, ``AllocatedResourceId``, ``AllocatedResourceName``,
  ``AllocatedTags``), ``ContractApplied``, and ``ServiceProviderName`` / ``HostProviderName``
  (which 1.3 adds beside ``ProviderName`` / ``PublisherName``, both still required).
"""

from __future__ import annotations

FOCUS_1_2: tuple[str, ...] = (
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

# What FOCUS 1.3 adds to the Cost and Usage dataset.
NEW_IN_1_3: tuple[str, ...] = (
    "AllocatedMethodDetails",
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
    "ContractApplied",
    "HostProviderName",
    "ServiceProviderName",
)

FOCUS_1_3: tuple[str, ...] = tuple(sorted(FOCUS_1_2 + NEW_IN_1_3))

FOCUS_COLUMNS_BY_VERSION: dict[str, tuple[str, ...]] = {"1.2": FOCUS_1_2, "1.3": FOCUS_1_3}

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
# Appended when the export is in another currency (``--currency``): the rate each row used.
EXCHANGE_RATE_COLUMNS: tuple[str, ...] = ("x_ExchangeRate", "x_ExchangeRateDate")

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
