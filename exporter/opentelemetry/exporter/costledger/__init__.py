"""costledger: the ledger side. Spans in, priced rows out, jobs over the ledger."""
