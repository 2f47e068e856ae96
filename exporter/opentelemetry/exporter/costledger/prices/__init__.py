"""Prices over the ledger: what ``costledger prices`` shows.

- :mod:`.report`: the prices in force (:func:`~.report.quote_model`,
  :func:`~.report.list_models`, :func:`~.report.price_file_rules`);
- :mod:`.check`: gaps in the ledger and the price-file entry that fills each
  (:func:`~.check.check_prices`);
- :mod:`.update`: fetching newer genai-prices data, only when the user asks.

May import: the shared modules, :mod:`..ledger`, :mod:`..ingest` and the instrumentation's
price book. Never imports, jobs, report, export, cli or demo.
"""
