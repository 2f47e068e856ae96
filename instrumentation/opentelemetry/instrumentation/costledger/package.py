"""The SDKs this instrumentation wraps, as opentelemetry-instrument checks them.

Either one is enough (``CostLedgerInstrumentor`` lists the ones installed): the current majors,
anthropic 2.x and openai 3.x, from their first releases, which the test suite runs against
(``requirements/oldest.txt``) as it does against the newest (``requirements/lock.txt``).
"""

_instruments = ("anthropic >= 2.0, < 3", "openai >= 3.0, < 4")
_supports_metrics = False
