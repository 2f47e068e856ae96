"""The seed article's May 2025 (Steps 3–6) as job inputs: bills, usage, business data."""

from __future__ import annotations

from pathlib import Path

BILLS_TOML = """\
precision = "0.01"

[[bills]]
name = "Pinecone"
amount = "500.00"
period = "2025-05"
category = "vector_storage"
method = "proportional"
driver = "usage:vectors"

[[bills]]
name = "Langfuse"
amount = "300.00"
period = "2025-05"
category = "observability"
method = "proportional"
driver = "log_events"
"""

DIRECT_TOML = """
[[direct_costs]]
name = "Human review"
period = "2025-05"
customer_id = "cust_12345"
category = "human_review"
quantity = 10
unit = "hour"
rate = "60"

[[direct_costs]]
name = "Stripe and Twilio"
period = "2025-05"
customer_id = "cust_12345"
category = "third_party"
amount = "80"
"""

# 10M vectors in all; cust_12345 has 2M (Step 4). The others' shares are part of their Step 3
# totals, which the seed uses as their fully loaded cost in Step 6.
USAGE_CSV = """\
customer_id,date,metric,quantity
cust_12345,2025-05-31,vectors,2000000
cust_67890,2025-05-31,vectors,5000000
cust_54321,2025-05-31,vectors,2000000
cust_11111,2025-05-31,vectors,1000000
"""

# 40,000 log events; cust_12345 generated 8,000 (Step 4).
LOG_EVENTS = {"cust_12345": 8_000, "cust_67890": 20_000, "cust_54321": 8_000, "cust_11111": 4_000}

# API cost of the others = Step 3 total minus their vector storage and observability shares.
OTHER_API_COST = {"cust_67890": "3012.50", "cust_54321": "730.35", "cust_11111": "165.80"}

BUSINESS_CSV = """\
customer_id,period,revenue,margin_pct,plan,work_items
cust_67890,2025-05,"$12,000",75%,enterprise,
cust_12345,2025-05,"$3,200",75%,pro,6200
cust_54321,2025-05,"$5,500",75%,pro,
cust_11111,2025-05,"$1,800",75%,starter,
"""

# The seed's Step 6 table, exactly, with money rounded to whole dollars (half-even).
STEP6 = [
    # rank, customer, revenue, AI cost, margin, profitability, profitability %
    (1, "cust_67890", "12000", "3412", "9000", "5588", "62"),
    (2, "cust_12345", "3200", "2760", "2400", "-360", "-15"),
    (3, "cust_54321", "5500", "890", "4125", "3235", "78"),
    (4, "cust_11111", "1800", "246", "1350", "1104", "82"),
]


def write_inputs(folder: Path) -> dict[str, Path]:
    paths = {
        "bills": folder / "bills.toml",
        "usage": folder / "usage.csv",
        "business": folder / "business.csv",
    }
    paths["bills"].write_text(BILLS_TOML + DIRECT_TOML)
    paths["usage"].write_text(USAGE_CSV)
    paths["business"].write_text(BUSINESS_CSV)
    return paths
