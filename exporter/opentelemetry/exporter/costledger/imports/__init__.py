"""The user's and the providers' numbers in: files read into the ledger database's tables.

- :mod:`.user_data`: ``costledger import usage`` (allocation drivers -> ``usage_records``) and
  ``costledger import business`` (revenue, margin, plan -> ``business_data``);
- :mod:`.invoices`: ``costledger import invoices`` (provider cost and usage reports ->
  ``provider_costs``), compared with the ledger by :mod:`..jobs.reconcile`;
- :mod:`.calls`: ``costledger import calls`` (past LLM calls and costs -> ledger rows, priced at
  their own time, source ``import``), over :mod:`.call_lines` (the file read line by line, each
  field as its type).

May import: the shared modules, :mod:`..ledger` and :mod:`..ingest`. Never prices, jobs,
report, export, cli or demo.
"""
