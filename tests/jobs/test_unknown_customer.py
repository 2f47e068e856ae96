"""A customer the ledger does not know is an error, not $0.00: `normalize --customer cust_99999`
printed a zero table without a word."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.imports.user_data import import_business
from opentelemetry.exporter.costledger.jobs.normalize import category_breakdown
from opentelemetry.exporter.costledger.ledger.customers import UnknownCustomer

from .helpers import insert, row


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def ledger(ledger_url: str) -> str:
    insert(
        ledger_url,
        [
            row("cust_12345", "2025-05-02T10:00", "10"),
            row("cust_54321", "2025-05-03T10:00", "20"),
            row("cust_11111", "2025-04-03T10:00", "30"),
        ],
    )
    return ledger_url


def test_normalize_names_the_closest_customers(ledger: str) -> None:
    result = _run("normalize", "--period", "2025-05", "--customer", "cust_12354", "--db", ledger)
    assert result.exit_code == 1, result.output
    assert "the ledger has no customer 'cust_12354' in 2025-05; closest: cust_12345" in (
        result.output
    )
    assert "$0.00" not in result.output
    with pytest.raises(UnknownCustomer, match="its rows are from 2025-04-03 to 2025-04-03"):
        category_breakdown(ledger, period="2025-05", customer_id="cust_11111")


def test_a_customer_without_cost_but_with_business_data_is_zero(
    ledger: str, tmp_path: Path
) -> None:
    """A customer on a plan who made no call in the period costs $0.00, truly."""
    business = tmp_path / "business.csv"
    business.write_text("customer_id,period,revenue,margin_pct\ncust_00001,2025-05,100,75%\n")
    import_business(ledger, business)
    [total] = category_breakdown(ledger, period="2025-05", customer_id="cust_00001")
    assert (total.category, total.cost_nanos) == ("total", 0)


def test_ledger_says_the_customer_is_unknown(ledger: str) -> None:
    result = _run("ledger", "--customer", "cust_1234", "--db", ledger)
    assert result.exit_code == 1, result.output
    assert "the ledger has no customer 'cust_1234'; closest: cust_12345" in result.output
    # a known customer with no row matching the other filters is an empty answer, not an error
    result = _run("ledger", "--customer", "cust_12345", "--unpriced", "--db", ledger)
    assert result.exit_code == 0, result.output
    assert "0 of 0 matching rows" in result.output
