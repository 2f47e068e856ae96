"""The SDKs this instrumentation wraps, as opentelemetry-instrument checks them.

Either one is enough (``CostLedgerInstrumentor`` checks them as any-of): anthropic 2.x and
openai 3.x are current; the older majors whose hook points are the same are accepted too
(anthropic from 0.45: before it, ``messages.stream()`` reads its events past any wrapper).
"""

_instruments = ("anthropic >= 0.45, < 3", "openai >= 1.40, < 4")
_supports_metrics = False
