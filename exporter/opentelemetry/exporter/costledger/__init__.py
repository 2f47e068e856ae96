"""costledger: everything after a span leaves the app. Spans in, priced rows out, jobs over them.

:class:`CostLedgerSpanExporter` (see :mod:`.ingest.exporter`) is the in-process span exporter,
also registered as the ``costledger`` traces exporter of ``opentelemetry-instrument``.

The package is laid out along the data flow; each folder is a stage that imports only stages
below it (``tests/test_layout.py`` checks it)::

    errors, periods, columns, price_book,  shared vocabulary: imports no stage (money is the
    currency                               instrumentation's ``costledger.money``, below all)
    ledger/    the row, the store, schema and migrations, opening a ledger, reprice
    ingest/    spans -> ledger rows: producers' attributes, the in-process exporter, serve/
    prices/    price reports and checks over the ledger
    imports/   usage, business data, provider invoices and cost reports
    jobs/      aggregate, allocate, normalize, rank, alerts, reconcile, schedule
    report/    HTML page and live dashboard;  export/  CSV, Parquet, FOCUS, billing events
    cli/       the ``costledger`` command: a thin layer over the packages above
    demo/      the self-contained demo: drives everything, imported only by the CLI

The ledger and ingest are one level (ingest writes through the ledger's store, so the ledger
never imports ingest); so are prices and imports, and report and export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ingest.exporter import CostLedgerSpanExporter

__all__ = ["CostLedgerSpanExporter"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `costledger --help` and the jobs do not import the OTel SDK exporter.
    if name == "CostLedgerSpanExporter":
        from .ingest.exporter import CostLedgerSpanExporter

        return CostLedgerSpanExporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
