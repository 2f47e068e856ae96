"""FOCUS 1.3 export: the specification's 65 columns, the split cost allocation of shared bills,
the service and host providers, and token types in the SKU price details — checked against the
1.3 requirements model's own rules, and its 1.2 part against the FinOps validator."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.export import export_ledger
from opentelemetry.exporter.costledger.jobs.allocate import allocate

from ..jobs.test_seed_jobs import build_may_2025
from .focus_validator import validate
from .test_export import FOCUS_1_2_COLUMNS

# The Cost and Usage columns of FOCUS 1.3, as the specification's 1.3 requirements model lists
# them (FOCUS_Spec specification/requirements_model/releases/1.3/model_rules/datasets/
# cost_and_usage/costandusage.json, rule CAU-CostAndUsage-D-002-M), kept here independently of
# the exporter's own list, sorted as the export writes them.
FOCUS_1_3_COLUMNS = sorted([
    "AllocatedMethodId", "AllocatedMethodDetails", "AllocatedResourceId",
    "AllocatedResourceName", "AllocatedTags", "AvailabilityZone", "BilledCost",
    "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeFrequency",
    "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus",
    "CommitmentDiscountType", "CommitmentDiscountUnit", "CommitmentDiscountQuantity",
    "ConsumedUnit", "ConsumedQuantity", "ContractApplied", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "HostProviderName", "InvoiceId", "InvoiceIssuerName",
    "ListCost", "ListUnitPrice", "PricingCategory", "PricingCurrency",
    "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "SubAccountId", "SubAccountName", "ServiceProviderName", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId",
    "SubAccountType", "Tags",
])  # fmt: skip
# The columns whose rule in that list ends in "-M" (mandatory) and that FOCUS never lets be null
# on a usage row.
FOCUS_1_3_NOT_NULL = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeDescription",
    "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost", "EffectiveCost",
    "HostProviderName", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "ServiceProviderName", "ServiceCategory", "ServiceName",
]  # fmt: skip
UNIT_FORMAT = re.compile(r"[A-Z][A-Za-z0-9]*( [A-Z][A-Za-z0-9]*)*")  # "Vectors", "Log Events"
ALLOCATION_COLUMNS = [
    "AllocatedMethodId", "AllocatedMethodDetails", "AllocatedResourceId",
    "AllocatedResourceName", "AllocatedTags",
]  # fmt: skip


@pytest.fixture
def seed_1_3(ledger_url: str, tmp_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    build_may_2025(ledger_url, tmp_path)
    out = tmp_path / "seed-1.3.csv"
    export_ledger(ledger_url, fmt="focus", focus_version="1.3", period="2025-05", out=out)
    reader = csv.DictReader(out.open(encoding="utf-8"))
    return list(reader.fieldnames or []), list(reader)


def test_the_spec_list_has_65_columns() -> None:
    assert len(FOCUS_1_3_COLUMNS) == len(set(FOCUS_1_3_COLUMNS)) == 65


def test_focus_1_3_columns_and_providers(
    seed_1_3: tuple[list[str], list[dict[str, str]]],
) -> None:
    header, rows = seed_1_3
    assert header[: len(FOCUS_1_3_COLUMNS)] == FOCUS_1_3_COLUMNS
    assert all(c.startswith("x_") for c in header[len(FOCUS_1_3_COLUMNS) :])
    for row in rows:
        for column in FOCUS_1_3_NOT_NULL:
            assert row[column] != "", f"{column} is null in {row}"
        assert row["ServiceProviderName"] == row["HostProviderName"] == row["ProviderName"]
        assert row["ContractApplied"] == ""
    # The seed's money, exactly: cust_12345's $1,800 + $120 of calls, the other customers'
    # calls ($3,012.50 + $730.35 + $165.80), the Pinecone and Langfuse bills ($500 + $300) and
    # the direct costs ($600 + $80).
    parts = ["1800", "120", "3012.50", "730.35", "165.80", "500", "300", "600", "80"]
    total = sum(Decimal(r["BilledCost"]) for r in rows)
    assert total == sum(Decimal(p) for p in parts) == Decimal("7308.65")


def test_tokens_by_type_are_the_sku_price_details(
    seed_1_3: tuple[list[str], list[dict[str, str]]],
) -> None:
    _, rows = seed_1_3
    call = next(r for r in rows if r["x_CostCategory"] == "api")
    assert call["ConsumedUnit"] == call["PricingUnit"] == "Tokens"
    details = json.loads(call["SkuPriceDetails"])
    assert all(key.startswith("x_") for key in details)  # FOCUS defines no token properties
    assert details["x_InputTokens"] == int(call["x_UncachedInputTokens"])
    assert details["x_OutputTokens"] == int(call["x_OutputTokens"])
    assert details["x_CacheReadTokens"] == int(call["x_CacheReadTokens"])
    assert details["x_CacheWriteTokens"] == int(call["x_CacheWrite5mTokens"]) + int(
        call["x_CacheWrite1hTokens"]
    )
    assert Decimal(call["ConsumedQuantity"]) == int(call["x_InputTokens"]) + int(
        call["x_OutputTokens"]
    )


def test_shared_bills_are_split_cost_allocations(
    seed_1_3: tuple[list[str], list[dict[str, str]]],
) -> None:
    """The AllocatedMethodDetails object rules of the 1.3 requirements model
    (CAU-AllocatedMethodDetailsObject-O-001 to -021), including the "dynamic" one the validator
    cannot run: the ratios of one bill's shares add up to exactly 1."""
    _, rows = seed_1_3
    ratios: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["x_Source"] != "allocation":
            assert all(row[c] == "" for c in ALLOCATION_COLUMNS), row
            continue
        assert row["AllocatedMethodId"] == f"costledger.{row['x_AllocationMethod']}"
        details = json.loads(row["AllocatedMethodDetails"], parse_float=Decimal)
        [element] = details["Elements"]
        assert set(element) <= {"AllocatedRatio", "UsageQuantity", "UsageUnit"}
        assert isinstance(element["AllocatedRatio"], Decimal | int)
        if "UsageQuantity" in element:  # then UsageUnit, in UnitFormat (O-016, O-018)
            assert UNIT_FORMAT.fullmatch(element["UsageUnit"]), element
        assert all(k == "Elements" or k.startswith("x_") for k in details)
        ratios[details["x_Bill"]] += Decimal(element["AllocatedRatio"])
        assert row["AllocatedResourceId"] == row["x_CustomerId"]
        assert json.loads(row["AllocatedTags"])["customer_id"] == row["x_CustomerId"]
    assert ratios == {
        "Pinecone": 1,
        "Langfuse": 1,
        "Human review": 1,
        "Stripe and Twilio": 1,
    }
    pinecone = {
        r["x_CustomerId"]: json.loads(r["AllocatedMethodDetails"], parse_float=Decimal)
        for r in rows
        if r["x_AllocationBill"] == "Pinecone"
    }
    # Step 4: cust_12345 stores 2M of the 10M vectors, so a fifth of the $500 bill.
    assert pinecone["cust_12345"]["Elements"] == [
        {"AllocatedRatio": Decimal("0.2"), "UsageQuantity": 2000000, "UsageUnit": "Vectors"}
    ]


def test_a_remainder_given_to_no_one_is_not_a_split_allocation(
    sqlite_url: str, tmp_path: Path
) -> None:
    build_may_2025(sqlite_url, tmp_path)
    bills = tmp_path / "gpu.toml"
    bills.write_text(
        '[[bills]]\nname = "GPU box"\namount = "90.00"\nperiod = "2025-05"\n'
        'category = "third_party"\nmethod = "proportional"\ndriver = "usage:gpu_hours"\n'
    )
    allocate(sqlite_url, bills=bills)
    out = tmp_path / "may-1.3.csv"
    export_ledger(sqlite_url, fmt="focus", focus_version="1.3", period="2025-05", out=out)
    [gpu] = [
        r for r in csv.DictReader(out.open(encoding="utf-8")) if r["x_AllocationBill"] == "GPU box"
    ]
    assert gpu["BilledCost"] == "90.000000000" and gpu["x_CustomerId"] == ""
    assert all(gpu[c] == "" for c in ALLOCATION_COLUMNS), gpu


def test_the_1_3_export_less_its_new_columns_passes_the_validators_1_2_rules(
    seed_1_3: tuple[list[str], list[dict[str, str]]], tmp_path: Path
) -> None:
    """What 1.3 shares with 1.2 is checked by the FinOps validator's bundled 1.2 rules."""
    header, rows = seed_1_3
    shared = [c for c in header if c not in set(FOCUS_1_3_COLUMNS) - set(FOCUS_1_2_COLUMNS)]
    out = tmp_path / "seed-1.3-shared.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, shared, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = validate(out, "1.2", tmp_path / "validator")
    assert not report.problems, report.problems
    assert len(report.passed) > 100


def test_the_cli_chooses_the_version(sqlite_url: str, tmp_path: Path) -> None:
    build_may_2025(sqlite_url, tmp_path)
    runner = CliRunner()
    for version, width in (("1.2", 57), ("1.3", 65)):
        out = tmp_path / f"may-{version}.csv"
        args = ["export", "--format", "focus", "--focus-version", version, "--period", "2025-05"]
        result = runner.invoke(main, [*args, "--out", str(out), "--db", sqlite_url])
        assert result.exit_code == 0, result.output
        assert f"focus {version}" in result.output
        header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert sum(not c.startswith("x_") for c in header) == width
    default = runner.invoke(main, ["export", "--format", "focus", "--db", sqlite_url])
    assert default.exit_code == 0 and "AllocatedMethodId" not in default.output.splitlines()[0]
    wrong = runner.invoke(main, ["export", "--focus-version", "1.3", "--db", sqlite_url])
    assert wrong.exit_code != 0 and "--format focus" in wrong.output
    with pytest.raises(InputError, match="FOCUS version"):
        export_ledger(sqlite_url, fmt="focus", focus_version="1.1", period="all")
