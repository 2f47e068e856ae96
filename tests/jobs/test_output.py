"""output: exact machine formats, aligned and rounded tables."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from opentelemetry.exporter.costledger.cli.output import render
from opentelemetry.exporter.costledger.columns import Column

COLUMNS = [
    Column("customer_id", "Customer"),
    Column("ai_cost", "AI cost", "money"),
    Column("share", "Share", "pct"),
    Column("calls", "Calls", "int"),
    Column("flags", "Flags", "flags"),
]
RECORDS = [
    {"customer_id": "cust_67890", "ai_cost": Decimal("3412.50"), "share": Decimal("0.284375"),
     "calls": 12340, "flags": ""},
    {"customer_id": "cust_12345", "ai_cost": Decimal("0.000000001"), "share": None,
     "calls": 7, "flags": "unprofitable,high_ai_share"},
]  # fmt: skip


def test_json_and_csv_are_exact() -> None:
    data = json.loads(render(RECORDS, COLUMNS, "json"))
    assert data[0]["ai_cost"] == "3412.50" and data[0]["calls"] == 12340
    assert data[1]["ai_cost"] == "0.000000001" and data[1]["share"] is None
    rows = list(csv.DictReader(io.StringIO(render(RECORDS, COLUMNS, "csv"))))
    assert rows[0]["ai_cost"] == "3412.50" and rows[0]["share"] == "0.284375"
    assert rows[1]["flags"] == "unprofitable,high_ai_share"


def test_table_rounds_half_even_and_aligns() -> None:
    text = render(RECORDS, COLUMNS, "table", money_places=0)
    assert "$3,412 " in text  # 3,412.50 rounds half-even to 3,412, as in the seed's Step 6
    assert "28%" in text and "12,340" in text and "unprofitable" in text
    lines = [line for line in text.splitlines() if "cust_" in line]
    # 1 nano-dollar is not free: shown as under the smallest amount the table rounds to.
    assert lines[0].index("$3,412") + len("$3,412") == lines[1].index("<$1") + len("<$1")


def test_costs_that_round_away_are_not_shown_as_zero() -> None:
    from opentelemetry.instrumentation.costledger.money import format_usd, to_nanos

    def money_text(value: Decimal, places: int = 2) -> str:
        return format_usd(to_nanos(value), places=places)

    assert money_text(Decimal("0.000626")) == "<$0.01"
    assert money_text(Decimal("-0.000626")) == ">-$0.01"
    assert money_text(Decimal("0.004999"), 2) == "<$0.01"
    assert money_text(Decimal("0.005"), 2) == "<$0.01"  # rounds half-even to 0.00, yet costs
    assert money_text(Decimal("0")) == "$0.00"
    assert money_text(Decimal("0.015")) == "$0.02"
    assert money_text(Decimal("0.4"), 0) == "<$1"


def test_every_table_column_has_a_header() -> None:
    """The reconcile table's flag column had none; every command's and section's has one."""
    import importlib
    import pkgutil

    from opentelemetry.exporter.costledger.cli import commands
    from opentelemetry.exporter.costledger.columns import Column
    from opentelemetry.exporter.costledger.periods import parse_period
    from opentelemetry.exporter.costledger.report import tables
    from opentelemetry.exporter.costledger.report.data import ReportData

    modules = [tables] + [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
    ]
    declared = [
        column
        for module in modules
        for value in vars(module).values()
        if isinstance(value, list)
        for column in value
        if isinstance(column, Column)
    ]
    empty = ReportData(parse_period("2025-05"), datetime.now(UTC), [], [], [], {}, [], [], [], [])
    declared += [c for name in tables.SECTIONS for c in tables.section(empty, name)[1]]
    assert len(declared) > 50
    assert [c.key for c in declared if not c.header.strip()] == []


def test_one_precision_for_people() -> None:
    """Money to the cent, a cost per work item to a tenth of a cent, ratios whole percent."""
    from opentelemetry.instrumentation.costledger.money import (
        format_pct,
        format_unit_cost,
        format_usd,
        to_nanos,
    )

    assert format_usd(to_nanos("0.19901762")) == "$0.20"  # was $0.199 on the report page
    assert format_unit_cost(to_nanos("0.445161290")) == "$0.445"  # was $0.4452
    assert format_usd(to_nanos("2760")) == "$2,760.00"
    assert format_pct(Decimal("0.8625")) == "86%"
