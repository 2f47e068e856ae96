"""allocate: methods, drivers, exact sums, unallocated, replacement, file errors."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.costledger.errors import ConfigError, InputError
from opentelemetry.exporter.costledger.jobs.aggregate import aggregate, aggregate_rows
from opentelemetry.exporter.costledger.jobs.allocate import (
    UNALLOCATED,
    allocate,
    stored_allocations,
)
from opentelemetry.exporter.costledger.jobs.bills import load_bills
from opentelemetry.exporter.costledger.jobs.shares import largest_remainder
from opentelemetry.exporter.costledger.ledger import db

from .helpers import insert, row, usd


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=30).filter(
        lambda qs: sum(qs) > 0
    ),
)
def test_largest_remainder_always_sums_exactly(units: int, quantities: list[int]) -> None:
    split = largest_remainder(units, {f"c{i}": q for i, q in enumerate(quantities)})
    assert sum(split.values()) == units
    total = sum(quantities)
    for i, q in enumerate(quantities):
        # each share is within one unit of its exact value
        assert abs(split[f"c{i}"] - units * q / total) < 1 + 1e-6


def _bills(tmp_path: Path, text: str, name: str = "bills.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _ledger_total(url: str) -> int:
    engine = db.create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(
            sa.text("SELECT SUM(cost_nanos) FROM ledger_entries WHERE source = 'allocation'")
        ).scalar()
    engine.dispose()
    return int(total or 0)


def test_three_way_split_sums_to_the_cent(ledger_url: str, tmp_path: Path) -> None:
    insert(ledger_url, [row(c, "2025-05-03", "1") for c in ("a", "b", "c")])
    bills = _bills(
        tmp_path,
        """
[[bills]]
name = "Datadog"
amount = "100.00"
category = "observability"
method = "proportional"
driver = "api_calls"
""",
    )
    [allocation] = allocate(ledger_url, bills=bills, period="2025-05")
    amounts = sorted(s.amount_nanos for s in allocation.shares)
    assert amounts == [usd("33.33"), usd("33.33"), usd("33.34")]
    assert sum(amounts) == usd(100)
    assert _ledger_total(ledger_url) == usd(100)


def test_no_driver_data_is_reported_unallocated_not_lost(ledger_url: str, tmp_path: Path) -> None:
    bills = _bills(
        tmp_path,
        """
[[bills]]
name = "Pinecone"
amount = 500
period = "2025-05"
category = "vector_storage"
driver = "usage:vectors"
""",
    )
    insert(ledger_url, [])  # a ledger without usage data
    [allocation] = allocate(ledger_url, bills=bills)
    [share] = allocation.shares
    assert share.customer_id is None and share.amount_nanos == usd(500)
    assert "no usage:vectors data" in (share.reason or "")
    assert _ledger_total(ledger_url) == usd(500)
    [stored] = stored_allocations(ledger_url, period="2025-05")
    # was the string "__unallocated__", read as a customer id; now None with the reason, as
    # allocation_records (the CLI's csv/json) and the cost_allocations table have it
    assert stored.customer_id is None and stored.unallocated is True
    assert stored.amount_usd == Decimal(500) and stored.reason == share.reason
    assert UNALLOCATED not in dataclasses.astuple(stored)


def test_rerun_replaces_and_aggregate_follows(ledger_url: str, tmp_path: Path) -> None:
    insert(ledger_url, [row("a", "2025-05-03", "1"), row("b", "2025-05-03", "1")])
    bills = _bills(
        tmp_path,
        """
[[bills]]
name = "Langfuse"
amount = 300
category = "observability"
method = "even"
""",
    )
    allocate(ledger_url, bills=bills, period="2025-05")
    aggregate(ledger_url, dimensions="category")
    insert(ledger_url, [row("c", "2025-05-04", "1")])
    allocate(ledger_url, bills=bills, period="2025-05")
    assert _ledger_total(ledger_url) == usd(300)
    assert {s.customer_id: s.amount_usd for s in stored_allocations(ledger_url)} == {
        "a": Decimal(100),
        "b": Decimal(100),
        "c": Decimal(100),
    }
    aggregate(ledger_url, dimensions="category")
    observability = {
        r.customer_id: r.cost_usd
        for r in aggregate_rows(ledger_url, dimensions="category")
        if r.category == "observability"
    }
    assert observability == {"a": Decimal(100), "b": Decimal(100), "c": Decimal(100)}


def test_weights_fixed_tokens_and_direct(ledger_url: str, tmp_path: Path) -> None:
    insert(
        ledger_url,
        [
            row("a", "2025-05-03", "1", input_tokens=300, output_tokens=0),
            row("b", "2025-05-03", "1", input_tokens=100, output_tokens=0),
        ],
    )
    bills = _bills(
        tmp_path,
        """
precision: "0.01"
bills:
  - {name: Support, amount: 90, category: support, method: weights, weights: {a: 2, b: 1}}
  - {name: GPU, amount: "1000", category: inference, method: fixed, fixed: {a: "600"}}
  - {name: Gateway, amount: "10", category: gateway, driver: tokens}
direct_costs:
  - {name: Review, customer_id: b, category: human_review, quantity: "2.5", unit: hour, rate: 60}
""",
        name="bills.yaml",
    )
    result = {a.bill: a for a in allocate(ledger_url, bills=bills, period="2025-05")}
    assert {s.customer_id: s.amount_nanos for s in result["Support"].shares} == {
        "a": usd(60),
        "b": usd(30),
    }
    assert {s.customer_id: s.amount_nanos for s in result["GPU"].shares} == {
        "a": usd(600),
        None: usd(400),
    }
    assert {s.customer_id: s.amount_nanos for s in result["Gateway"].shares} == {
        "a": usd("7.50"),
        "b": usd("2.50"),
    }
    assert result["Review"].shares[0].amount_nanos == usd(150)
    assert _ledger_total(ledger_url) == usd(90 + 1000 + 10 + 150)


def test_log_events_come_from_span_counts(sqlite_url: str, tmp_path: Path) -> None:
    from datetime import date

    from opentelemetry.exporter.costledger.ledger.migrations.m0010_span_counts import span_counts

    insert(sqlite_url, [row("a", "2025-05-03", "1")])
    engine = db.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(
            span_counts.insert(),
            [
                {"day": date(2025, 5, 1), "customer_id": "a", "service": "x", "spans": 3},
                {"day": date(2025, 5, 2), "customer_id": "b", "service": "x", "spans": 1},
                {"day": date(2025, 6, 1), "customer_id": "b", "service": "x", "spans": 100},
                {"day": date(2025, 5, 2), "customer_id": None, "service": "x", "spans": 100},
            ],
        )
    engine.dispose()
    bills = _bills(
        tmp_path,
        '[[bills]]\nname = "L"\namount = 4\ncategory = "observability"\ndriver = "log_events"\n',
    )
    [allocation] = allocate(sqlite_url, bills=bills, period="2025-05")
    assert {s.customer_id: s.amount_nanos for s in allocation.shares} == {"a": usd(3), "b": usd(1)}


def test_usage_average_and_ledger_recorded_usage(sqlite_url: str, tmp_path: Path) -> None:
    from opentelemetry.exporter.costledger.imports.user_data import import_usage

    csv = tmp_path / "usage.csv"
    csv.write_text(
        "customer,date,metric,quantity\n"
        "a,2025-05-01,vectors,100\na,2025-05-02,vectors,300\nb,2025-05-01,vectors,100\n"
    )
    import_usage(sqlite_url, csv)
    # usage recorded with a span (record_cost(..., quantity=..., unit="vectors"))
    insert(
        sqlite_url,
        [
            row(
                "b",
                "2025-05-02T12:00",
                "0",
                category="usage",
                quantity=Decimal(100),
                unit="vectors",
            )
        ],
    )
    bills = _bills(
        tmp_path,
        '[[bills]]\nname = "P"\namount = 30\ncategory = "vector_storage"\n'
        'driver = "usage:vectors"\ndriver_aggregate = "avg"\n',
    )
    [allocation] = allocate(sqlite_url, bills=bills, period="2025-05")
    # a: (100 + 300) / 2 = 200; b: (100 + 100) / 2 = 100
    assert {s.customer_id: s.amount_nanos for s in allocation.shares} == {
        "a": usd(20),
        "b": usd(10),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[bills]]\nname = "x"\namount = "abc"\ncategory = "c"\ndriver = "tokens"',
         "not a number"),
        ('[[bills]]\nname = "x"\namount = 1\ncategory = "c"\ndriver = "vibes"', "driver 'vibes'"),
        ('[[bills]]\nname = "x"\namount = 1\ncategory = "c"\nmethod = "random"', "method 'random'"),
        ('[[bills]]\nname = "x"\namount = "1.001"\ncategory = "c"\ndriver = "tokens"', "precision"),
        ('[[bills]]\nname = "x"\namount = 1\ncategory = "c"\nmethod = "fixed"\nfixed = {a = 2}',
         "more than"),
        ('[[bills]]\namount = 1', "missing required field 'name'"),
        ("nothing = 1", "no [[bills]]"),
        ("[[bills]\n", "not valid"),
    ],
)  # fmt: skip
def test_bad_bills_files_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = _bills(tmp_path, text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_bills(path)


def test_missing_period_is_an_input_error(sqlite_url: str, tmp_path: Path) -> None:
    bills = _bills(tmp_path, '[[bills]]\nname = "x"\namount = 1\ncategory = "c"\nmethod = "even"')
    with pytest.raises(InputError, match="--period"):
        allocate(sqlite_url, bills=bills)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_cli_writes_the_unallocated_part_with_no_customer(
    ledger_url: str, tmp_path: Path, fmt: str
) -> None:
    import csv
    import io
    import json

    from click.testing import CliRunner
    from opentelemetry.exporter.costledger.cli.main import main

    bills = _bills(
        tmp_path,
        """
[[bills]]
name = "Support"
amount = 1000
category = "support"
method = "fixed"
fixed = { cust_12345 = "600" }
""",
    )
    insert(ledger_url, [])  # an empty ledger
    result = CliRunner().invoke(
        main,
        ["allocate", str(bills), "--period", "2025-05", "--db", ledger_url, "--format", fmt],
    )
    assert result.exit_code == 0, result.output
    if fmt == "json":
        records = json.loads(result.output)
    else:
        records = list(csv.DictReader(io.StringIO(result.output)))
    by_customer = {r["customer_id"]: r for r in records}
    empty = None if fmt == "json" else ""
    assert set(by_customer) == {"cust_12345", empty}
    assert by_customer[empty]["amount_usd"] == "400.00"
    assert by_customer[empty]["reason"] == "not covered by the fixed amounts"
    assert UNALLOCATED not in result.output


@pytest.mark.parametrize("zone", ["America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_allocations_count_in_their_period_in_every_time_zone(
    ledger_url: str, tmp_path: Path, zone: str
) -> None:
    """allocate ran in UTC; normalize and aggregate in another zone still see the bill in May
    (booked at the period's first instant it was April 30th in New York)."""
    from opentelemetry.exporter.costledger.jobs.normalize import normalize

    insert(ledger_url, [row("a", "2025-05-10", "1"), row("b", "2025-05-20", "3")])
    bills = _bills(
        tmp_path,
        """
[[bills]]
name = "Langfuse"
amount = 300
category = "observability"
method = "even"
""",
    )
    allocate(ledger_url, bills=bills, period="2025-05", time_zone="UTC")
    costs = {
        r.customer_id: r.ai_cost_usd
        for r in normalize(ledger_url, period="2025-05", time_zone=zone)
    }
    assert costs == {"a": Decimal(151), "b": Decimal(153)}
    aggregate(ledger_url, granularity="month", dimensions="category", time_zone=zone)
    observability = [
        r
        for r in aggregate_rows(
            ledger_url, granularity="month", dimensions="category", time_zone=zone
        )
        if r.category == "observability"
    ]
    assert sum(r.cost_usd for r in observability) == Decimal(300)
    assert {str(r.period_start)[:7] for r in observability} == {"2025-05"}
