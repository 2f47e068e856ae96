"""Kept importable because the README documented it: :func:`check_prices` is in
:mod:`.prices.check`, :func:`quote_model` and :func:`list_models` in :mod:`.prices.report`."""

from __future__ import annotations

from .prices.check import check_prices
from .prices.report import list_models, quote_model

__all__ = ["check_prices", "list_models", "quote_model"]
