"""The real jobs (normalize, rank, alerts) over the test ledger, with the seed's business data."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from opentelemetry.exporter.costledger.imports.user_data import import_business
from opentelemetry.exporter.costledger.jobs.alerts import AlertConfig, run_alerts
from opentelemetry.exporter.costledger.jobs.rank import rank

# The seed's Step 5/6 business data; cust_12345 processed 6,200 tickets in May.
BUSINESS_CSV = """customer_id,period,revenue,margin_pct,plan,work_items
cust_67890,2025-05,12000,75%,enterprise,
cust_12345,2025-05,3200,75%,pro,6200
cust_54321,2025-05,5500,75%,pro,
cust_11111,2025-05,1800,75%,starter,
"""


def run_jobs(database: str, folder: Path) -> None:
    business = folder / "business.csv"
    business.write_text(BUSINESS_CSV, encoding="utf-8")
    import_business(database, business)
    rank(database, period="2025-05")
    run_alerts(
        database,
        period="2025-05",
        config=AlertConfig(granularity="month", budgets={"cust_12345": Decimal(2000)}),
        mark_stdout=False,
    )
