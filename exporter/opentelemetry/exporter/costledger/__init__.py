"""costledger: the ledger side. Spans in, priced rows out, jobs over the ledger.

:class:`CostLedgerSpanExporter` (see :mod:`.exporter`) is the in-process span exporter, also
registered as the ``costledger`` traces exporter of ``opentelemetry-instrument``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .exporter import CostLedgerSpanExporter

__all__ = ["CostLedgerSpanExporter"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `costledger --help` and the jobs do not import the OTel SDK exporter.
    if name == "CostLedgerSpanExporter":
        from .exporter import CostLedgerSpanExporter

        return CostLedgerSpanExporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
