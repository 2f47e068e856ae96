"""Domain errors. Each message says what went wrong AND what to do; the CLI prints it as is."""

from __future__ import annotations


class CostLedgerError(Exception):
    """Base of every error costledger raises on purpose."""


class ConfigError(CostLedgerError):
    """A user's file (prices, bills, business data) is invalid; names file, line, field."""


class DatabaseError(CostLedgerError):
    """The ledger database cannot be reached or is not a costledger ledger."""


class InputError(CostLedgerError):
    """Bad command-line or imported input (a period, a CSV row, an OTLP file)."""
