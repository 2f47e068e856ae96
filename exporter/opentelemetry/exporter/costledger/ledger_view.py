"""Kept importable because the README documented it: the module is :mod:`.ledger.ledger_view`."""

from __future__ import annotations

from .ledger.ledger_view import RECORD_COLUMNS, LedgerPage, ledger_rows

__all__ = ["RECORD_COLUMNS", "LedgerPage", "ledger_rows"]
