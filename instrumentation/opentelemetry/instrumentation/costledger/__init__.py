"""costledger instrumentation (filled by the instrumentation issue)."""
