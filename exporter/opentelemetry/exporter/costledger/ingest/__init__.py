"""Ingest: finished spans in, ledger rows out.

- :mod:`.spans`: :class:`~.spans.SpanData`, the one shape of a finished span every path reads;
- :mod:`.convert`: spans -> priced rows (reading every producer's attributes, counting each
  call once), over :mod:`.producers` (which spans are calls; provider, model, a producer's own
  cost) and :mod:`.producer_usage` (token usage under any producer's keys);
- :mod:`.exporter`: :class:`~.exporter.CostLedgerSpanExporter`, the in-process span exporter;
- :mod:`.serve`: ``costledger serve`` (OTLP gRPC + HTTP receiver) and ``costledger ingest``
  (OTLP JSON files).

May import: the shared modules (``errors``, ``periods``, ``columns``,
``price_book``), :mod:`..ledger`, and the instrumentation's names. Never prices, imports,
jobs, report, export, cli or demo.
"""
