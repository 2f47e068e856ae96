"""The SDKs this instrumentation wraps, as opentelemetry-instrument checks them.

Any one is enough (``CostLedgerInstrumentor`` lists the ones installed): anthropic 2.x, openai
3.x, google-genai 3.x, botocore (boto3's ``bedrock-runtime`` client) and mistralai, each from the
first release the test suite runs against (``requirements/oldest.txt``) as it does against the
newest (``requirements/lock.txt``).
"""

_instruments = (
    "anthropic >= 2.0, < 3",
    "openai >= 3.0, < 4",
    "google-genai >= 3.6.1, < 4",
    "botocore >= 1.40",
    "mistralai >= 1.9.11",
)
_supports_metrics = False
