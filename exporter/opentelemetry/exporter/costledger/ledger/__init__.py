"""The ledger: the database every stage reads and writes.

- :mod:`.rows`: one ledger row, :class:`~.rows.LedgerRow`, from conversion to store;
- :mod:`.store`: :class:`~.store.LedgerStore`, idempotent batched inserts;
- :mod:`.db`: the database URL and engines; :mod:`.open`: opening a ledger for a command or
  job (:func:`~.open.open_ledger`) with one set of error messages;
- :mod:`.schema`: the tables as they are now; :mod:`.tables`: the jobs' and imports' result
  tables; :mod:`.migrations`: the versioned DDL;
- :mod:`.runs`: the ``job_runs`` log; :mod:`.customers`: is a customer id in the ledger;
- :mod:`.ledger_view`: ``costledger ledger`` (rows without SQL);
- :mod:`.reprice`: pricing stored rows again with the current prices.

May import: the shared modules (``errors``, ``periods``, ``columns``,
``price_book``) and the instrumentation's names. Never ingest, prices, imports, jobs, report,
export, cli or demo.
"""
