"""Negative inputs are refused with their file and line, or, where a negative means something
(a credit on a provider's bill, a margin below zero), kept and treated as the README says.

Found: a usage file with -2,000,000 vectors imported and that customer silently dropped out of
the Pinecone split; negative revenue imported and `rank` printed it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.exporter.costledger.errors import ConfigError, InputError
from opentelemetry.exporter.costledger.imports.invoices import import_provider_costs
from opentelemetry.exporter.costledger.imports.user_data import import_business, import_usage
from opentelemetry.exporter.costledger.jobs.bills import load_bills
from opentelemetry.exporter.costledger.jobs.budgets import load_budgets
from opentelemetry.exporter.costledger.jobs.normalize import normalize
from opentelemetry.exporter.costledger.jobs.reconcile import reconcile

from tests.jobs.helpers import insert, row


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_negative_usage_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "usage.csv",
        "customer_id,date,metric,quantity\n"
        "cust_1,2025-05-31,vectors,5000000\ncust_2,2025-05-31,vectors,-2000000\n",
    )
    with pytest.raises(InputError, match=r"usage.csv:3: quantity -2000000 is negative"):
        import_usage(sqlite_url, path)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("-3200,75%,", r"business.csv:2: revenue -3200 is negative: write the period's revenue"),
        ("3200,75%,-5", r"business.csv:2: work_items '-5' is not a count"),
        ("3200,75%,6200.5", r"business.csv:2: work_items '6200.5' is not a count"),
    ],
)
def test_negative_revenue_and_work_items_are_refused(
    sqlite_url: str, tmp_path: Path, cells: str, message: str
) -> None:
    header = "customer_id,period,revenue,margin_pct,work_items\n"
    path = _file(tmp_path, "business.csv", f"{header}cust_1,2025-05,{cells}\n")
    with pytest.raises(InputError, match=message):
        import_business(sqlite_url, path)


def test_a_negative_margin_is_kept(sqlite_url: str, tmp_path: Path) -> None:
    """A plan sold below what it costs to deliver: the customer is unprofitable at any cost."""
    insert(sqlite_url, [row("cust_1", "2025-05-02", "10")])
    path = _file(
        tmp_path, "business.csv", "customer_id,period,revenue,margin\ncust_1,2025-05,100,-20\n"
    )
    import_business(sqlite_url, path)
    [record] = normalize(sqlite_url, period="2025-05")
    assert (record.margin_nanos, record.profitability_nanos) == (-20 * 10**9, -30 * 10**9)


def test_invoice_counts_must_be_whole_and_not_negative(sqlite_url: str, tmp_path: Path) -> None:
    header = "date,provider,model,cost_usd,input_tokens\n"
    for cell, message in (("-1000", "input_tokens '-1000' is negative"),
                          ("10.5", "input_tokens '10.5' is not a whole number")):  # fmt: skip
        path = _file(tmp_path, "bill.csv", f"{header}2025-05-02,openai,gpt-4o,1.00,{cell}\n")
        with pytest.raises(InputError, match=f"bill.csv:2: {message}"):
            import_provider_costs(sqlite_url, path)


def test_a_credit_on_the_bill_lowers_the_billed_cost(sqlite_url: str, tmp_path: Path) -> None:
    insert(sqlite_url, [row("cust_1", "2025-05-02T10:00", "7", model="gpt-4o", provider="openai")])
    path = _file(
        tmp_path,
        "bill.csv",
        "date,provider,model,cost_usd\n2025-05-02,openai,gpt-4o,10\n2025-05-02,openai,gpt-4o,-3\n",
    )
    import_provider_costs(sqlite_url, path)
    [day] = reconcile(sqlite_url, period="2025-05")
    assert (day.provider_cost_nanos, day.difference_nanos) == (7 * 10**9, 0)


def test_negative_budgets_and_direct_costs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="budget for 'cust_1' must be an amount of dollars"):
        load_budgets({"cust_1": "-100"}, "budgets.toml")
    bills = _file(
        tmp_path,
        "bills.toml",
        '[[direct_costs]]\nname = "Review"\ncustomer_id = "c"\ncategory = "human_review"\n'
        'amount = "-600"\n',
    )
    with pytest.raises(ConfigError, match="must not be negative"):
        load_bills(bills)
