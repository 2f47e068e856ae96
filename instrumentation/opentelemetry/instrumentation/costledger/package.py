"""The SDKs this instrumentation wraps, as opentelemetry-instrument checks them.

Either one is enough (``CostLedgerInstrumentor`` checks them as any-of): anthropic 2.x and
openai 3.x are current; the older majors whose hook points are the same are accepted too.
"""

_instruments = ("anthropic >= 0.40, < 3", "openai >= 1.40, < 4")
_supports_metrics = False
