"""Every CSV import reads the delimiter from the header: a spreadsheet saved with semicolons
got "missing customer_id or customer" (the whole header was one column)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.imports.invoices import import_provider_costs
from opentelemetry.exporter.costledger.imports.user_data import import_business, import_usage
from opentelemetry.exporter.costledger.ledger.tables import (
    business_data,
    provider_costs,
    usage_records,
)

USAGE = "customer_id,date,metric,quantity\ncust_1,2025-05-31,vectors,2000000.5\n"
BUSINESS = "customer_id,period,revenue,margin_pct,plan\ncust_1,2025-05,3200.50,75%,pro\n"
INVOICE = "date,provider,model,cost_usd,input_tokens\n2025-05-02,openai,gpt-4o,12.25,1000\n"


def _rows(url: str, table: sa.Table) -> list[dict[str, object]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(table)).mappings()]
    finally:
        engine.dispose()


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_every_csv_import_reads_other_delimiters(
    delimiter: str, sqlite_url: str, tmp_path: Path
) -> None:
    files = {}
    for name, text in (("usage", USAGE), ("business", BUSINESS), ("invoice", INVOICE)):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_text(text.replace(",", delimiter))
    assert import_usage(sqlite_url, files["usage"]).rows == 1
    assert import_business(sqlite_url, files["business"]).rows == 1
    assert import_provider_costs(sqlite_url, files["invoice"]).rows == 1
    (usage,) = _rows(sqlite_url, usage_records)
    assert (usage["customer_id"], str(usage["quantity"])) == ("cust_1", "2000000.500000000")
    (business,) = _rows(sqlite_url, business_data)
    assert (business["revenue_nanos"], business["plan"]) == (3_200_500_000_000, "pro")
    (cost,) = _rows(sqlite_url, provider_costs)
    assert (cost["model"], cost["cost_nanos"], cost["input_tokens"]) == (
        "gpt-4o",
        12_250_000_000,
        1000,
    )


def test_a_decimal_comma_is_refused_not_guessed(sqlite_url: str, tmp_path: Path) -> None:
    """In a semicolon file "3200,50" is most likely 3200.50 (a decimal comma); reading the
    comma as a thousands separator would import 320,050."""
    path = tmp_path / "business.csv"
    path.write_text("customer_id;period;revenue;margin_pct\ncust_1;2025-05;3200,50;75%\n")
    with pytest.raises(InputError, match=r"business.csv:2: '3200,50': in a file separated by ';'"):
        import_business(sqlite_url, path)
    # a comma-separated file keeps its thousands separators in quotes
    path.write_text('customer_id,period,revenue,margin_pct\ncust_1,2025-05,"3,200.50",75%\n')
    assert import_business(sqlite_url, path).rows == 1
