"""The README's worked billing example: its policy, its calls and the figures worked by hand.

The README shows these texts verbatim (``test_the_readme_shows_the_worked_example`` checks it).
"""

from __future__ import annotations

POLICY = """\
[defaults]
markup_pct = "20"              # cost plus 20%
fee_per_work_item = "0.25"     # per distinct work item
included = "25.00"             # allowance per period, after the markup
minimum = "50.00"              # the least a customer pays per period

[defaults.token_prices."claude-sonnet-4-5"]   # resold per million tokens, not at cost
input = "3.60"
output = "18.00"
cache_read = "0.36"

[customers.cust_a]
stripe_customer = "cus_A1"
lago_customer = "acme"

[customers.cust_b]
markup_pct = "30"
stripe_customer = "cus_B2"
"""

CALLS = """\
id,timestamp,customer_id,work_item_id,provider,model,input_tokens,output_tokens,cache_read_tokens,category,quantity,unit,cost_usd
a1,2025-05-03T09:00:00Z,cust_a,wi-1,openai,gpt-4.1,1000000,100000,0,,,,80.00
a2,2025-05-04T09:00:00Z,cust_a,wi-2,openai,gpt-4.1,250000,25000,0,,,,20.0125
a3,2025-05-05T09:00:00Z,cust_a,wi-3,anthropic,claude-sonnet-4-5,2500000,400000,500000,,,,13.65
a4,2025-05-06T09:00:00Z,cust_a,wi-3,,,,,,human_review,0.5,hour,25.00
b1,2025-05-07T09:00:00Z,cust_b,wi-9,openai,gpt-4.1,125000,12500,0,,,,10.00
"""

# By hand (dollars; each line rounded to the cent, half-even):
#   cust_a  tokens   2,000,000 uncached input × 3.60/M =   7.20
#                      400,000 output         × 18.00/M =   7.20
#                      500,000 cache read     × 0.36/M  =   0.18
#           cost plus (80.00 + 20.0125 + 25.00) × 1.20 = 150.015 → 150.02
#           fee      3 work items × 0.25               =   0.75
#           usage                                        165.35
#           allowance                                    −25.00
#           minimum 50.00: not reached          total    140.35
#   cust_b  cost plus 10.00 × 1.30 = 13.00; fee 1 × 0.25 = 0.25; usage 13.25
#           allowance −13.25 (no more than the usage); minimum top-up 50.00; total 50.00
EXPECTED = {
    "cust_a": {"cost_usd": "138.6625", "usage_usd": "165.35",
               "allowance_usd": "25.00", "minimum_topup_usd": "0.00",
               "total_usd": "140.35", "work_items": 3, "unpriced_entries": 0},
    "cust_b": {"cost_usd": "10.00", "usage_usd": "13.25",
               "allowance_usd": "13.25", "minimum_topup_usd": "50.00",
               "total_usd": "50.00", "work_items": 1, "unpriced_entries": 0},
}  # fmt: skip

LINES_A = [
    ("tokens", "claude-sonnet-4-5 uncached input: 2,000,000 tokens × $3.60/M", "7.20"),
    ("tokens", "claude-sonnet-4-5 output: 400,000 tokens × $18.00/M", "7.20"),
    ("tokens", "claude-sonnet-4-5 cache read: 500,000 tokens × $0.36/M", "0.18"),
    ("cost_plus", "cost $125.0125 + 20%", "150.02"),
    ("work_item_fee", "3 work items × $0.25", "0.75"),
    ("allowance", "included $25.00", "-25.00"),
]

# A late call of cust_a's first work item: the charge grows by 10.00 × 1.20 = 12.00.
LATE_CALL = "a5,2025-05-20T09:00:00Z,cust_a,wi-1,openai,gpt-4.1,125000,12500,0,,,,10.00\n"
