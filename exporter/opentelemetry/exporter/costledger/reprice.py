"""Kept importable because the README documented it: the module is :mod:`.ledger.reprice`."""

from __future__ import annotations

from .ledger.reprice import DEFAULT_BATCH_SIZE, RepriceChange, RepriceResult, reprice

__all__ = ["DEFAULT_BATCH_SIZE", "RepriceChange", "RepriceResult", "reprice"]
