"""The business side of the demo month: shared bills, vectors stored and revenue per customer.

The jobs after the ledger (``allocate``, ``normalize``, ``rank``) need what no trace carries:
the month's shared bills, how many vectors each customer keeps in the vector database, and each
customer's subscription revenue and margin. :func:`write_demo_inputs` writes them for the demo's
month as the files those commands read, shaped like the seed's Steps 4-6:

- ``bills.toml``: Pinecone (vector storage) split by vectors stored, Langfuse (observability)
  split by LLM calls;
- ``usage.csv``: vectors per customer (10M in all, 2M of them cust_12345's, as in the seed);
- ``business.csv``: revenue and a 75% subscription margin per customer;
- ``prices.toml``: the unit prices of the cost events (review minutes, SMS, translation), for
  ``costledger prices check --prices``.

Amounts are sized for the demo's traffic, not the seed's: ``BUSINESS`` and ``BILLS`` are for
3,000 calls (tens of dollars of AI cost per customer) and scale with ``--calls`` (rounded to the
cent), so that the ranking tells the seed's story at any size: cust_12345 (Acme Corp), with its
many human reviews, costs more than its margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from .customers import REVIEW_USD_PER_MINUTE, SMS_USD_PER_SEGMENT, TRANSLATE_USD_PER_CHARACTER

# (customer, plan, monthly revenue in dollars, vectors stored)
BUSINESS = (
    ("cust_67890", "Enterprise", "240.00", 4_000_000),
    ("cust_12345", "Team", "80.00", 2_000_000),
    ("cust_54321", "Business", "110.00", 3_000_000),
    ("cust_11111", "Starter", "36.00", 1_000_000),
)
MARGIN_PCT = "75"
SIZED_FOR_CALLS = 3_000  # the traffic the amounts below are written for
BILLS = (("Pinecone", "50.00"), ("Langfuse", "29.00"))
UNIT_PRICES = (
    ("human_review", "minute", "support.review", REVIEW_USD_PER_MINUTE),
    ("third_party", "segment", "twilio.sms", SMS_USD_PER_SEGMENT),
    ("third_party", "character", "deepl.translate", TRANSLATE_USD_PER_CHARACTER),
)


@dataclass(frozen=True, slots=True)
class DemoInputs:
    bills: Path
    usage: Path
    business: Path
    prices: Path


def _scaled(amount: str, calls: int) -> Decimal:
    exact = Decimal(amount) * calls / SIZED_FOR_CALLS
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def write_demo_inputs(directory: Path, month: str, calls: int = SIZED_FOR_CALLS) -> DemoInputs:
    """Write the month's bills, usage and business files into ``directory`` (made if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    pinecone, langfuse = (_scaled(amount, calls) for _, amount in BILLS)
    bills = directory / "bills.toml"
    bills.write_text(
        f"""# Shared costs of {month} for `costledger allocate` (written by `costledger demo`).

[[bills]]
name = "Pinecone"
amount = "{pinecone}"
period = "{month}"
category = "vector_storage"
method = "proportional"
driver = "usage:vectors"          # imported from usage.csv

[[bills]]
name = "Langfuse"
amount = "{langfuse}"
period = "{month}"
category = "observability"
method = "proportional"
driver = "api_calls"              # LLM calls in the ledger
""",
        encoding="utf-8",
    )
    usage = directory / "usage.csv"
    usage.write_text(
        "customer_id,period,metric,quantity\n"
        + "".join(f"{c},{month},vectors,{vectors}\n" for c, _, _, vectors in BUSINESS),
        encoding="utf-8",
    )
    business = directory / "business.csv"
    business.write_text(
        "customer_id,period,revenue,margin_pct,plan\n"
        + "".join(
            f"{c},{month},{_scaled(revenue, calls)},{MARGIN_PCT},{plan}\n"
            for c, plan, revenue, _ in BUSINESS
        ),
        encoding="utf-8",
    )
    prices = directory / "prices.toml"
    prices.write_text(
        "# Unit prices of the demo's cost events (written by `costledger demo`). The app records\n"
        "# each event with its amount; these say what one unit costs, for `costledger prices`.\n"
        + "".join(
            f"""
[[unit_price]]
category = "{category}"
unit = "{unit}"
item = "{item}"
price = "{price}"
from = "{month}-01"
"""
            for category, unit, item, price in UNIT_PRICES
        ),
        encoding="utf-8",
    )
    return DemoInputs(bills=bills, usage=usage, business=business, prices=prices)
