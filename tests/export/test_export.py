"""``costledger export`` against a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.export import export_ledger
from opentelemetry.exporter.costledger.ledger.schema import NANOS_PER_USD

from ..report.ledger_data import (
    CUSTOMER_TOTALS_NANOS,
    MAY_TOTAL_NANOS,
    OUTSIDE_NANOS,
    ledger_rows,
    seed_ledger,
)

# The FinOps FOCUS 1.2 columns, from the specification (https://focus.finops.org/focus-specification/v1-2/),
# kept here independently of the exporter's own list.
FOCUS_1_2_COLUMNS = [
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
]
# Mandatory in FOCUS 1.2: present and never null.
FOCUS_1_2_MANDATORY = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
]
FOCUS_DECIMAL = {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity",
                 "PricingQuantity"}  # fmt: skip
FOCUS_DATETIME = {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}
SERVICE_CATEGORIES = {
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
    "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
    "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
    "Storage", "Web", "Other",
}  # fmt: skip
CHARGE_CATEGORIES = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
NUMERIC = re.compile(r"-?\d+(\.\d+)?")  # FOCUS NumericFormat: no exponent, no sign for positive
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[str]:
    engine = seed_ledger(ledger_url)
    engine.dispose()
    yield ledger_url


def test_spec_list_has_the_57_columns() -> None:
    assert len(FOCUS_1_2_COLUMNS) == len(set(FOCUS_1_2_COLUMNS)) == 57


def test_csv_export_is_exact_and_filters_the_period(ledger: str, tmp_path: Path) -> None:
    out = tmp_path / "may.csv"
    result = export_ledger(ledger, fmt="csv", period="2025-05", out=out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    may_rows = [r for r in ledger_rows() if r["timestamp"].month == 5]
    assert result.rows == len(rows) == len(may_rows)
    assert result.unpriced_rows == 1
    assert result.cost_nanos == MAY_TOTAL_NANOS
    # Exact decimal strings, summed with Decimal, equal the integer nanos to the last unit.
    assert sum(Decimal(r["cost_usd"]) for r in rows if r["cost_usd"]) * NANOS_PER_USD == (
        MAY_TOTAL_NANOS
    )
    assert sum(int(r["cost_nanos"]) for r in rows if r["cost_nanos"]) == MAY_TOTAL_NANOS
    by_customer: dict[str, int] = {}
    for r in rows:
        if r["cost_nanos"]:
            by_customer[r["customer_id"]] = by_customer.get(r["customer_id"], 0) + int(
                r["cost_nanos"]
            )
    assert by_customer == CUSTOMER_TOTALS_NANOS
    review = next(r for r in rows if r["category"] == "human_review")
    assert review["cost_usd"] == "600.000000000"
    assert review["quantity"] == "10" and review["unit"] == "hour"
    assert review["timestamp"] == "2025-05-31T12:00:00Z"
    unpriced = next(r for r in rows if r["model"] == "gpt-9-preview")
    assert unpriced["cost_usd"] == "" and unpriced["cost_nanos"] == ""
    assert unpriced["unpriced_reason"] == "no price for openai/gpt-9-preview"
    assert rows[0]["timestamp"] <= rows[-1]["timestamp"]
    assert not list(tmp_path.glob(".may.csv.*")), "the temporary file was renamed into place"


def test_focus_export_follows_focus_1_2(ledger: str, tmp_path: Path) -> None:
    out = tmp_path / "focus.csv"
    export_ledger(ledger, fmt="focus", period="2025-05", out=out)
    reader = csv.DictReader(out.open(encoding="utf-8"))
    header = list(reader.fieldnames or [])
    rows = list(reader)
    # Every FOCUS 1.2 column, names exact, first and in the specification's order ...
    assert header[: len(FOCUS_1_2_COLUMNS)] == FOCUS_1_2_COLUMNS
    # ... then only custom columns, each x_-prefixed (no unprefixed non-spec column).
    custom = header[len(FOCUS_1_2_COLUMNS) :]
    assert custom and all(c.startswith("x_") for c in custom)
    assert len(header) == len(set(header))
    assert len(rows) == len([r for r in ledger_rows() if r["timestamp"].month == 5])
    for row in rows:
        for column in FOCUS_1_2_MANDATORY:
            assert row[column] != "", f"{column} is null in {row}"
        for column in FOCUS_DECIMAL:
            assert NUMERIC.fullmatch(row[column]), (column, row[column])
        for column in FOCUS_DATETIME:
            assert DATETIME.fullmatch(row[column]), (column, row[column])
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert row["BillingPeriodStart"] == "2025-05-01T00:00:00Z"
        assert row["BillingPeriodEnd"] == "2025-06-01T00:00:00Z"
        assert row["ChargeCategory"] in CHARGE_CATEGORIES
        assert row["ServiceCategory"] in SERVICE_CATEGORIES
        assert row["BillingCurrency"] == "USD"
        assert row["BilledCost"] == row["EffectiveCost"] == row["ListCost"] == row["ContractedCost"]
        tags = json.loads(row["Tags"])
        assert isinstance(tags, dict) and tags["customer_id"] == row["x_CustomerId"]
        if row["SkuPriceDetails"]:
            details = json.loads(row["SkuPriceDetails"])
            assert all(key.startswith("x_") for key in details)
    assert sum(Decimal(r["BilledCost"]) for r in rows) * NANOS_PER_USD == MAY_TOTAL_NANOS
    call = next(r for r in rows if r["x_Model"] == "claude-sonnet-4-5")
    assert call["ServiceCategory"] == "AI and Machine Learning"
    assert call["ServiceSubcategory"] == "Generative AI"
    assert call["ProviderName"] == "Anthropic"
    # Quantities keep a fractional digit, so that readers inferring types see a Decimal.
    assert call["ConsumedQuantity"] == "1650.0" and call["ConsumedUnit"] == "Tokens"
    assert call["InvoiceId"] == "anthropic/2025-05"  # the provider's month, provisional
    assert call["ChargePeriodStart"] == "2025-05-01T10:00:00Z"
    assert call["ChargePeriodEnd"] == "2025-05-01T11:00:00Z"
    acme = [r for r in rows if r["x_CustomerId"] == "cust_12345"]
    assert {json.loads(r["Tags"])["workspace_id"] for r in acme} == {"ws_abc"}
    assert any(json.loads(r["Tags"]).get("work_item_id") for r in acme)
    review = next(r for r in rows if r["x_CostCategory"] == "human_review")
    assert (review["PricingQuantity"], review["PricingUnit"]) == ("10.0", "Hours")
    assert review["ProviderName"] == "Internal"
    unpriced = next(r for r in rows if r["x_Model"] == "gpt-9-preview")
    assert unpriced["BilledCost"] == "0.000000000"
    assert unpriced["x_Unpriced"] == "true" and unpriced["x_UnpricedReason"]


def test_parquet_export_keeps_money_exact(ledger: str, tmp_path: Path) -> None:
    pa = pytest.importorskip(
        "pyarrow", reason="pyarrow is missing: pip install costledger[parquet]"
    )
    import pyarrow.parquet as pq

    out = tmp_path / "may.parquet"
    result = export_ledger(ledger, fmt="parquet", period="2025-05", out=out, batch_size=5)
    table = pq.read_table(out)
    assert table.num_rows == result.rows
    assert table.schema.field("cost_usd").type == pa.decimal128(38, 9)
    assert table.schema.field("quantity").type == pa.decimal128(38, 9)
    assert table.schema.field("cost_nanos").type == pa.int64()
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    costs = [c for c in table.column("cost_usd").to_pylist() if c is not None]
    assert all(isinstance(c, Decimal) for c in costs)
    assert sum(costs) * NANOS_PER_USD == MAY_TOTAL_NANOS
    assert sum(c for c in table.column("cost_nanos").to_pylist() if c) == MAY_TOTAL_NANOS


def test_export_streams_in_batches(ledger: str) -> None:
    buffer = io.StringIO()
    result = export_ledger(ledger, fmt="csv", period="all", out=buffer, batch_size=3)
    lines = buffer.getvalue().splitlines()
    assert result.rows == len(ledger_rows()) == len(lines) - 1


def test_periods_follow_the_jobs(ledger: str) -> None:
    buffer = io.StringIO()
    week = export_ledger(ledger, fmt="csv", period="2025-05-01..2025-05-03", out=buffer)
    assert week.period == "2025-05-01..2025-05-03"
    assert week.rows == 5 * 3  # five daily call series, three days
    with pytest.raises(InputError, match="period"):
        export_ledger(ledger, fmt="csv", period="May", out=io.StringIO())
    # A time zone moves the boundaries: April 30th 23:59:59 UTC is in May in Berlin.
    berlin = export_ledger(
        ledger, fmt="csv", period="2025-05", out=io.StringIO(), time_zone="Europe/Berlin"
    )
    assert berlin.cost_nanos == MAY_TOTAL_NANOS + OUTSIDE_NANOS


def test_cli_export_and_errors(ledger: str, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "focus.csv"
    done = runner.invoke(
        main,
        ["export", "--format", "focus", "--period", "2025-05", "--out", str(out), "--db", ledger],
    )
    assert done.exit_code == 0, done.output
    assert "wrote 42 ledger rows (1 without amount)" in done.output
    assert "$7,308.65" in done.output
    assert out.read_text().startswith("AvailabilityZone,BilledCost,")
    stdout = runner.invoke(main, ["export", "--period", "2025-04-30", "--db", ledger])
    assert stdout.exit_code == 0
    assert stdout.output.count("\n") == 2 and "5.000000000" in stdout.output
    bad = runner.invoke(main, ["export", "--period", "May", "--db", ledger])
    assert bad.exit_code != 0 and "invalid period 'May'" in bad.output
    binary = runner.invoke(main, ["export", "--format", "parquet", "--db", ledger])
    assert binary.exit_code != 0 and "--out FILE.parquet" in binary.output


def test_empty_ledger_exports_a_header(sqlite_url: str) -> None:
    engine = seed_ledger(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM ledger_entries"))
    buffer = io.StringIO()
    assert export_ledger(engine, fmt="focus", period="2025-05", out=buffer).rows == 0
    assert buffer.getvalue().startswith("AvailabilityZone,")
    engine.dispose()


BILLS = """
[[bills]]
name = "Pinecone"
amount = "500.00"
period = "2025-05"
category = "vector_storage"
method = "weights"
weights = { cust_12345 = 2, cust_67890 = 5, cust_54321 = 3 }

[[bills]]
name = "Langfuse"
amount = "300.00"
period = "2025-05"
category = "observability"
method = "proportional"
driver = "api_calls"
"""


def test_allocation_results_are_exported(ledger: str, tmp_path: Path) -> None:
    from opentelemetry.exporter.costledger.jobs.allocate import allocate

    bills = tmp_path / "bills.toml"
    bills.write_text(BILLS, encoding="utf-8")
    allocate(ledger, bills=bills, period="2025-05")

    out = tmp_path / "allocations.csv"
    result = export_ledger(ledger, fmt="csv", period="2025-05", dataset="allocations", out=out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert result.rows == len(rows) > 0
    by_bill: dict[str, Decimal] = {}
    for row in rows:
        by_bill[row["bill"]] = by_bill.get(row["bill"], Decimal(0)) + Decimal(row["amount_usd"])
        assert Decimal(row["amount_usd"]) * NANOS_PER_USD == int(row["amount_nanos"])
    assert by_bill == {"Pinecone": Decimal(500), "Langfuse": Decimal(300)}  # shares sum exactly
    pinecone = {r["customer_id"]: r for r in rows if r["bill"] == "Pinecone"}
    assert pinecone["cust_12345"]["amount_usd"] == "100.000000000"
    assert pinecone["cust_12345"]["method"] == "weights"
    assert result.cost_nanos == 800 * NANOS_PER_USD

    focus = tmp_path / "focus.csv"
    export_ledger(ledger, fmt="focus", period="2025-05", out=focus)
    allocated = [
        r
        for r in csv.DictReader(focus.open(encoding="utf-8"))
        if r["x_Source"] == "allocation" and r["x_AllocationBill"]
    ]
    assert {r["x_AllocationBill"] for r in allocated} == {"Pinecone", "Langfuse"}
    langfuse = [r for r in allocated if r["x_AllocationBill"] == "Langfuse"]
    assert {r["x_AllocationMethod"] for r in langfuse} == {"proportional"}
    assert {r["x_AllocationDriver"] for r in langfuse} == {"api_calls"}
    assert sum(Decimal(r["BilledCost"]) for r in langfuse) == Decimal(300)
    # Shares are stored rounded to 12 places; the amounts above are what adds up exactly.
    shares = sum((Decimal(r["x_AllocationShare"]) for r in langfuse), Decimal(0))
    assert abs(shares - 1) < Decimal("1e-11")
    assert all(r["ChargeFrequency"] == "Recurring" for r in allocated)

    pa = pytest.importorskip(
        "pyarrow", reason="pyarrow is missing: pip install 'costledger[parquet]'"
    )
    import pyarrow.parquet as pq

    table = tmp_path / "allocations.parquet"
    export_ledger(ledger, fmt="parquet", period="2025-05", dataset="allocations", out=table)
    read = pq.read_table(table)
    assert read.schema.field("share").type == pa.decimal128(38, 12)
    assert sum(read.column("amount_usd").to_pylist()) == Decimal(800)
    with pytest.raises(InputError, match="FOCUS exports the ledger"):
        export_ledger(
            ledger, fmt="focus", period="2025-05", dataset="allocations", out=io.StringIO()
        )
