"""The exporter's price book: the instrumentation's :class:`PriceBook`, loaded for a command.

A price file that cannot be read becomes a :class:`~.errors.ConfigError` (a message, not a
traceback). Shared by the receiver, the ingest and prices commands and ``reprice``.
"""

from __future__ import annotations

from opentelemetry.instrumentation.costledger.pricing import PriceBook, PriceFileError

from .errors import ConfigError


def load_price_book(price_file: str | None = None) -> PriceBook:
    """The price book of a command: ``price_file``, else ``COSTLEDGER_PRICES`` (ConfigError)."""
    try:
        return PriceBook(price_file)
    except PriceFileError as exc:
        raise ConfigError(str(exc)) from exc
