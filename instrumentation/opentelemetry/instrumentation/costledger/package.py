"""The SDKs this instrumentation wraps, as opentelemetry-instrument checks them."""

_instruments = ("anthropic >= 0.40", "openai >= 1.40")
_supports_metrics = False
