"""The demo's cast: the seed's four customers, the models their tickets use, the prices of the
third-party services they call, and the texts their tickets are made of.

The customers' relative sizes are those of the seed's Step 3 table (12,340 / 7,850 / 3,200 / 890
API calls); cust_12345 ("Acme Corp", the seed's customer) has its tickets reviewed by people far
more often, which is what makes it unprofitable in the seed's Step 6. :mod:`.traffic` plans a
month of their tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
GPT_MINI = "gpt-4o-mini-2024-07-18"
# What the app asks for; the API answers with the dated snapshot above.
GPT_MINI_ALIAS = "gpt-4o-mini"
EMBEDDING = "text-embedding-3-small"
EMBEDDING_DIMENSIONS = 256

REVIEW_USD_PER_MINUTE = Decimal(1)  # a reviewer at $60/hour
SMS_USD_PER_SEGMENT = Decimal("0.0083")  # Twilio US SMS
TRANSLATE_USD_PER_CHARACTER = Decimal("0.000025")  # DeepL API: $25 per million characters


@dataclass(frozen=True, slots=True)
class Customer:
    """One of the seed's customers and how its tickets behave."""

    id: str
    name: str
    weight: int  # relative share of the month's calls (the seed's Step 3 api_calls)
    utc_offset_hours: int  # business hours are 8:00-19:00 local
    workspaces: tuple[str, ...]
    users: tuple[str, ...]
    kb_tokens: int  # the knowledge base in the cached system prompt of drafts
    draft_model: str
    chat_model: str  # follow-up turns (streamed)
    cache_ttl: Literal["5m", "1h"]
    turns: tuple[int, int]  # follow-up chat turns per ticket, inclusive range
    review_rate: float  # share of tickets a person reviews
    review_minutes: tuple[int, int]
    sms_rate: float
    translate_rate: float
    spike_last_week: float = 1.0  # traffic multiplier for the month's last 7 days


CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        id="cust_67890",
        name="Northwind Traders",
        weight=12_340,
        utc_offset_hours=-5,
        workspaces=("ws_nw_support", "ws_nw_billing", "ws_nw_eu"),
        users=tuple(f"user_nw_{i:02d}" for i in range(1, 19)),
        kb_tokens=5_830,
        draft_model=SONNET,
        chat_model=SONNET,
        cache_ttl="1h",
        turns=(0, 3),
        review_rate=0.01,
        review_minutes=(1, 3),
        sms_rate=0.10,
        translate_rate=0.12,
    ),
    Customer(
        id="cust_12345",
        name="Acme Corp",
        weight=7_850,
        utc_offset_hours=-8,
        workspaces=("workspace_abc", "workspace_def"),
        users=tuple(f"user_acme_{i:02d}" for i in range(1, 12)),
        kb_tokens=4_210,
        draft_model=SONNET,
        chat_model=HAIKU,
        cache_ttl="5m",
        turns=(0, 2),
        review_rate=0.05,
        review_minutes=(1, 3),
        sms_rate=0.05,
        translate_rate=0.02,
    ),
    Customer(
        id="cust_54321",
        name="Globex Corporation",
        weight=3_200,
        utc_offset_hours=1,
        workspaces=("ws_globex",),
        users=tuple(f"user_gx_{i:02d}" for i in range(1, 7)),
        kb_tokens=2_940,
        draft_model=SONNET,
        chat_model=GPT_MINI,
        cache_ttl="5m",
        turns=(0, 2),
        review_rate=0.0,
        review_minutes=(1, 3),
        sms_rate=0.0,
        translate_rate=0.20,
        spike_last_week=2.5,
    ),
    Customer(
        id="cust_11111",
        name="Initech",
        weight=890,
        utc_offset_hours=-6,
        workspaces=("ws_initech",),
        users=("user_it_01", "user_it_02", "user_it_03"),
        kb_tokens=1_630,
        draft_model=HAIKU,
        chat_model=HAIKU,
        cache_ttl="5m",
        turns=(0, 1),
        review_rate=0.0,
        review_minutes=(1, 3),
        sms_rate=0.0,
        translate_rate=0.0,
    ),
)

TICKET_SUBJECTS = (
    "Refund for a duplicate charge on the last invoice",
    "Cannot log in after resetting the password",
    "Export to CSV times out for large reports",
    "How do I add a second admin to our workspace?",
    "Webhook deliveries failing with 401",
    "Invoice shows the wrong VAT number",
    "SSO with Okta stopped working this morning",
    "Need to downgrade our plan at the end of the term",
    "API rate limit reached although usage is low",
    "Mobile app crashes when uploading attachments",
    "Data retention settings for deleted users",
    "Change the billing e-mail address",
    "Dashboard numbers differ from the exported data",
    "Request for a signed DPA",
    "Integration with Salesforce duplicates contacts",
)

REPLY_SENTENCES = (
    "Thanks for reaching out, and sorry for the trouble this caused.",
    "I have checked your account and can confirm what happened.",
    "The charge was captured twice because the first payment timed out on our side.",
    "I have issued a refund for the duplicate amount; it shows up within five business days.",
    "Please sign out on every device and sign in again with the new password.",
    "Large exports now run in the background and you get an e-mail with the download link.",
    "You can add another admin under Settings, Members, then choose the Admin role.",
    "The webhook secret was rotated; copy the new one from the integration page.",
    "Your identity provider certificate expired yesterday, which explains the failed logins.",
    "I have updated the VAT number and re-issued the invoice for last month.",
    "Plan changes take effect at the end of the current billing period.",
    "Let me know if anything is still unclear and I will be happy to help.",
    "Here is a short summary of the steps we took so far.",
    "I have escalated this to our engineering team with the request ids you sent.",
)
